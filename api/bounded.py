"""Questions and searches under a time limit, none holding up another.

``/sparql`` evaluates in killable worker processes (``api.query_workers``); this module gives
``ask``, ``search`` and ``similar`` the same guarantees, in the web process and on the CLI:

- **A time limit per request** (setting ``request_timeout_s``, default 10 s; a client may ask for
  less). Past it the caller gets ``RequestTimeout`` (HTTP 504, code ``query_timeout``, the shape
  of ``/sparql``'s timeout) with a hint, never a late or partial answer.
- **ask's SPARQL in a process that can be killed.** ``search.qa.ask`` receives a ``BoundedStore``:
  its ``query()`` runs in the web server's ``WorkerPool`` (or, on the CLI, in a ``QueryChild``
  process that opens the store read-only) under the request's remaining time, and the SPARQL JSON
  that comes back is parsed into a ``search.store.QueryResult``. Parsing the question and writing
  the summary stay in the calling process: they are cheap and bounded.
- **No global lock.** In the web process (``RequestRunner``) each request's work runs in a thread;
  a semaphore sized to the CPU cores (``request_concurrency``) bounds how many compute at once, so
  a burst queues instead of thrashing. A request waits for a slot only until its deadline, and an
  ``ask`` gives its slot back while a query worker evaluates its SPARQL. The event loop awaits the
  thread only until the deadline: a search that overruns finishes its (bounded) work in the
  background while its client already has the timeout error.

Values the index caches once per generation (the question parser's gazetteer) are computed with
the store itself, outside the pool (``BoundedIndex.cached``): they are start-up work shared by all
later questions, warmed when the index loads, and must not be killed by one impatient request.

This module is also the CLI's query child (``python -m api.bounded``): it reads the settings as
one JSON line on stdin, opens the store read-only, then answers one JSON line per query.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import os
import select
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from ontology.errors import BudgetKGError, QueryRejected, QueryTimeout, StoreError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Rows a query may return when its caller sets no cap (the gazetteer's name lists): effectively all.
UNCAPPED_ROWS = 10**9
# ask's own queries are generated, not user text; the guard still checks them (read-only forms).
MAX_INTERNAL_QUERY_BYTES = 4 * 1024 * 1024

HINTS = {
    "ask": "narrow the question (name a county, a department or a year), or run its SPARQL yourself on "
           "/sparql (or `budgetkg sparql`) with a LIMIT",
    "search": "use fewer or more specific words, a type filter, or a smaller k",
    "similar": "ask for fewer hits (a smaller k) or give an indicator's IRI instead of free text",
}
# A question that maps to no SPARQL query: asking it builds and caches the question parser's
# gazetteer (names of areas, departments, projects) and the topic matcher, and runs one search.
WARM_UP_QUESTION = "预算"
WHAT = {"ask": "the question", "search": "the search", "similar": "the similar-indicator search"}


class RequestTimeout(QueryTimeout):
    """A question or search ran into its time limit; ``stage`` says where it was."""

    def __init__(self, seconds: float, kind: str, stage: str):
        super().__init__(seconds)
        self.kind = kind
        self.stage = stage
        self.hint = HINTS.get(kind, "narrow the request")
        self.args = (f"{WHAT.get(kind, kind)} stopped after its time limit of {seconds:g} s ({stage}); "
                     f"{self.hint}",)


def request_limit(requested: str | float | None, limit: float) -> float:
    """The client's time limit in seconds, never above the server's ``limit``; a value that is
    not a positive number is refused (``QueryRejected``, HTTP 400), not ignored."""
    if requested is None or requested == "":
        return limit
    try:
        value = float(requested)
    except (TypeError, ValueError):
        value = float("nan")
    if not value > 0:  # also catches NaN
        raise QueryRejected(f"timeout must be a positive number of seconds, not {requested!r}")
    return min(value, limit)


def default_concurrency(configured: int) -> int:
    """Requests computed at once: the setting, or the number of CPU cores this process may use."""
    if configured > 0:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


# ====================================================================== per-request state


class RequestContext:
    """One request's deadline and where its work is (for the timeout message)."""

    def __init__(self, kind: str, limit_s: float, deadline: float):
        self.kind = kind
        self.limit_s = limit_s
        self.deadline = deadline
        self.stage = "starting"

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def timeout(self, stage: str | None = None) -> RequestTimeout:
        return RequestTimeout(self.limit_s, self.kind, stage or self.stage)

    def check(self, stage: str, *, record: bool = True) -> None:
        """Record the stage (``record``: not for work running beside the request's main line, such
        as the evidence search beside the SPARQL query, which must not relabel the main line's
        timeout); raise the timeout if the deadline has passed already."""
        if record:
            self.stage = stage
        if self.remaining() <= 0:
            raise self.timeout(stage)

    def sparql(self, query: str, max_rows: int | None):
        """Evaluate one SPARQL query within the remaining time (subclasses say where)."""
        raise NotImplementedError


def accepts_deadline(fn) -> bool:
    """True when ``fn`` takes a ``deadline`` keyword (the index's search and similar: interface 4)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "deadline" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def with_deadline(ctx: RequestContext, stage: str, fn, *args, record: bool = True, **kwargs):
    """Call ``fn`` (a search method), passing the deadline where it takes one; its own
    ``QueryTimeout`` becomes this request's timeout (``record``: see ``RequestContext.check``)."""
    ctx.check(stage, record=record)
    if accepts_deadline(fn):
        kwargs["deadline"] = ctx.deadline
    try:
        return fn(*args, **kwargs)
    except RequestTimeout:
        raise
    except QueryTimeout:
        raise ctx.timeout(stage) from None


class BoundedStore:
    """A ``GraphStore`` for ``search.qa.ask`` whose queries run through ``ctx.sparql`` (a killable
    worker) within the request's deadline. ``graph_names`` and anything else come from ``store``.

    ``direct`` (set by ``BoundedIndex.cached`` while a cached value is built) and queries over
    private graphs go to ``store`` itself: the query workers serve public data only.
    """

    def __init__(self, store, ctx: RequestContext):
        self.store = store
        self.ctx = ctx
        self.direct = False
        self.name = getattr(store, "name", "bounded")

    def query(self, sparql: str, *, include_private: bool = False, max_rows: int | None = None):
        if self.direct or include_private:
            return self.store.query(sparql, include_private=include_private, max_rows=max_rows)
        self.ctx.check("SPARQL query")
        return self.ctx.sparql(sparql, max_rows)

    def graph_names(self) -> list[str]:
        return self.store.graph_names()

    def __getattr__(self, name):
        return getattr(self.store, name)


class BoundedIndex:
    """The search index as ``search.qa.ask`` sees it within one request: its ``store`` is the
    request's ``BoundedStore``; ``search`` and ``similar`` get the deadline; the rest is the index."""

    def __init__(self, index, store: BoundedStore):
        self._index = index
        self.store = store

    def cached(self, key: str, build):
        # Built once per index generation and shared by every later question: with the store
        # itself, not through the pool (see the module docstring).
        self.store.direct = True
        try:
            return self._index.cached(key, build)
        finally:
            self.store.direct = False

    def search(self, text: str, k: int = 10, type: str | None = None, *, mode: str = "hybrid") -> list[dict]:
        # ``search.qa`` runs the evidence search beside the SPARQL query: the stage stays the query's.
        return with_deadline(self.store.ctx, "evidence search", self._index.search, text, k=k, type=type,
                             mode=mode, record=False)

    def similar(self, text_or_iri: str, k: int = 10) -> list[dict]:
        return with_deadline(self.store.ctx, "similar search", self._index.similar, text_or_iri, k=k)

    def __len__(self) -> int:
        return len(self._index)

    def __getattr__(self, name):
        return getattr(self._index, name)


def ask_bounded(ctx: RequestContext, question: str, store, index) -> dict:
    """``search.qa.ask`` with its SPARQL through ``ctx`` and its searches under ``ctx``'s deadline."""
    from search.qa import ask as qa_ask

    bounded = BoundedStore(store, ctx)
    ctx.check("question parsing")
    try:
        return qa_ask(question.strip(), bounded, BoundedIndex(index, bounded))
    except RequestTimeout:
        raise
    except QueryTimeout:
        raise ctx.timeout() from None


def warm_up(index, store) -> None:
    """Load the embedding model and build what the question parser caches per index generation
    (its gazetteer of area, department and project names, the project table, the topic matcher)
    with the store itself: start-up work, done before the first question's time limit starts."""
    index.search("医疗保障", k=1)
    try:
        from search.qa import ask, prepare
    except ImportError:
        return
    prepare(store, index)  # loaded when the ingest saved them with this generation
    ask(WARM_UP_QUESTION, store, index)


def search_bounded(ctx: RequestContext, index, text: str, *, k: int, type: str | None = None,
                   mode: str = "hybrid") -> list[dict]:
    return with_deadline(ctx, "search", index.search, text.strip(), k=k, type=type, mode=mode)


def similar_bounded(ctx: RequestContext, index, text_or_iri: str, *, k: int) -> list[dict]:
    return with_deadline(ctx, "similar search", index.similar, text_or_iri.strip(), k=k)


def _parse_result(body: bytes | dict, truncated: bool):
    from search.store import result_from_json

    result = result_from_json(body)
    result.truncated = truncated
    return result


def _query_form(query: str) -> str:
    from api.sparql_guard import check_query

    form = check_query(query, max_bytes=MAX_INTERNAL_QUERY_BYTES).form
    if form not in ("select", "ask"):
        raise StoreError(f"a bounded question query must be SELECT or ASK, not {form.upper()}")
    return form


# ====================================================================== the web process


class _Slot:
    """One request's claim on a compute slot (used on the event loop's thread only)."""

    def __init__(self, semaphore: asyncio.Semaphore):
        self.semaphore = semaphore
        self.held = False

    async def acquire(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            await asyncio.wait_for(self.semaphore.acquire(), remaining)
        except asyncio.TimeoutError:
            return False
        self.held = True
        return True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.semaphore.release()


class WebContext(RequestContext):
    """A request in the web process: SPARQL goes to the server's ``WorkerPool``."""

    def __init__(self, kind, limit_s, deadline, runner: "RequestRunner", loop, slot: _Slot, get_pool):
        super().__init__(kind, limit_s, deadline)
        self.runner = runner
        self.loop = loop
        self.slot = slot
        self.get_pool = get_pool

    def sparql(self, query: str, max_rows: int | None):
        form = _query_form(query)
        future = asyncio.run_coroutine_threadsafe(self._in_pool(query, form, max_rows), self.loop)
        # The pool answers by the deadline; the margin only covers a server shutting down under us.
        body, truncated = future.result(timeout=max(self.remaining(), 0) + 5)
        self.check("reading the SPARQL result")
        return _parse_result(body, truncated)

    async def _in_pool(self, query: str, form: str, max_rows: int | None):
        from api.query_workers import QuerySyntaxError, WorkersBusy

        pool = self.get_pool()
        if pool is None:
            raise StoreError("the SPARQL query workers are not running yet; retry in a moment")
        remaining = self.remaining()
        if remaining <= 0:
            raise self.timeout("SPARQL query")
        self.slot.release()  # a worker process does this part: the CPU slot is free meanwhile
        self.runner.counters["sparql"] += 1
        try:
            answer = await pool.run(query, form, "json", timeout_s=remaining,
                                    max_rows=UNCAPPED_ROWS if max_rows is None else max_rows)
        except WorkersBusy:
            raise self.timeout("waiting for a SPARQL query worker") from None
        except QueryTimeout:
            raise self.timeout("SPARQL query") from None
        except QuerySyntaxError as exc:  # as the embedded store reports it: a bug, not the user's
            raise StoreError(str(exc)) from None
        if not await self.slot.acquire(self.deadline):
            raise self.timeout("waiting for a free slot after the SPARQL query")
        return answer.body, answer.truncated


class RequestRunner:
    """Runs the web process's questions and searches: a deadline each, at most ``concurrency``
    computing at once (FIFO), work in threads the event loop never waits on past the deadline.

    ``start()`` and ``close()`` are called from the app's lifespan (the semaphore belongs to the
    running event loop).
    """

    def __init__(self, timeout_s: float, concurrency: int = 0, max_threads: int = 32):
        self.timeout_s = timeout_s
        self.concurrency = default_concurrency(concurrency)
        # Threads = requests computing + asks waiting on a query worker + overrunning searches
        # finishing in the background: more than the slots, few in practice.
        self.max_threads = max(max_threads, 4 * self.concurrency)
        self._semaphore: asyncio.Semaphore | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.waiting = 0
        self.running = 0
        self.counters = {"requests": 0, "timeouts": 0, "sparql": 0}

    def start(self) -> None:
        self._semaphore = asyncio.Semaphore(self.concurrency)
        self._executor = ThreadPoolExecutor(self.max_threads, thread_name_prefix="budgetkg-request")

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def limit(self, requested: str | float | None) -> float:
        return request_limit(requested, self.timeout_s)

    async def run(self, kind: str, limit_s: float, work: Callable[[RequestContext], object], *,
                  get_pool: Callable[[], object] = lambda: None):
        """``work(ctx)`` in a thread, answered within ``limit_s`` seconds or ``RequestTimeout``."""
        if self._semaphore is None or self._executor is None:
            raise StoreError("the server is starting or stopping; retry in a moment")
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + limit_s
        self.counters["requests"] += 1
        slot = _Slot(self._semaphore)
        self.waiting += 1
        try:
            got = await slot.acquire(deadline)
        finally:
            self.waiting -= 1
        if not got:
            self.counters["timeouts"] += 1
            raise RequestTimeout(limit_s, kind, "waiting for a free slot: the server is busy")
        ctx = WebContext(kind, limit_s, deadline, self, loop, slot, get_pool)
        try:
            future = self._executor.submit(self._call, ctx, work)
        except RuntimeError:  # the executor is shut down
            slot.release()
            raise StoreError("the server is stopping") from None
        self.running += 1
        future.add_done_callback(lambda _f: self._finished(loop, slot))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), max(deadline - time.monotonic(), 0.001))
        except asyncio.TimeoutError:
            # The thread goes on to the end of its (bounded) work; its slot is freed when it is done.
            self.counters["timeouts"] += 1
            raise ctx.timeout() from None
        except RequestTimeout:
            self.counters["timeouts"] += 1
            raise

    @staticmethod
    def _call(ctx: RequestContext, work):
        ctx.check("waiting for a thread")
        return work(ctx)

    def _finished(self, loop, slot: _Slot) -> None:
        def done():
            self.running -= 1
            slot.release()

        try:
            loop.call_soon_threadsafe(done)
        except RuntimeError:  # the loop is closed: the server has stopped
            pass

    # ------------------------------------------------------------ the three requests

    async def ask(self, question: str, store, index, limit_s: float, get_pool: Callable[[], object]) -> dict:
        return await self.run("ask", limit_s, lambda ctx: ask_bounded(ctx, question, store, index),
                              get_pool=get_pool)

    async def search(self, index, text: str, limit_s: float, *, k: int, type: str | None = None,
                     mode: str = "hybrid") -> list[dict]:
        return await self.run("search", limit_s,
                              lambda ctx: search_bounded(ctx, index, text, k=k, type=type, mode=mode))

    async def similar(self, index, text_or_iri: str, limit_s: float, *, k: int) -> list[dict]:
        return await self.run("similar", limit_s, lambda ctx: similar_bounded(ctx, index, text_or_iri, k=k))

    def stats(self) -> dict:
        """For /api/health: the limit, the slots, requests computing and waiting, counters."""
        return {"timeout_s": self.timeout_s, "concurrency": self.concurrency, "running": self.running,
                "waiting": self.waiting, **self.counters}


# ====================================================================== the command line


class QueryChild:
    """A child process that opens the store read-only and answers ask's SPARQL for the CLI.

    Started before the index loads (it is ready by the time the first question needs it); a query
    past its deadline kills it. ``close()`` ends it.
    """

    def __init__(self, settings):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen([sys.executable, "-m", "api.bounded", "--parent", str(os.getpid())],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                        cwd=str(PROJECT_ROOT))
        self._buffer = b""
        self._ready = False
        # Settings (with any password) travel on the pipe, not in argv or the environment.
        self._send(json.loads(settings.model_dump_json()))

    def _send(self, message: dict) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")
        self.process.stdin.flush()

    def _read_line(self, deadline: float) -> bytes | None:
        """One line from the child, or None at the deadline."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise StoreError("the query process stopped unexpectedly")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def query(self, ctx: RequestContext, sparql: str, max_rows: int | None):
        if not self._ready:
            line = self._read_line(ctx.deadline)
            if line is None:
                self.close()
                raise ctx.timeout("starting the query process")
            status = json.loads(line)
            if not status.get("ready"):
                self.close()
                raise StoreError(f"the query process could not open the store: {status.get('error')}")
            self._ready = True
        self._send({"query": sparql, "max_rows": max_rows})
        line = self._read_line(ctx.deadline)
        if line is None:
            self.close()  # killed at the deadline: the query stops here
            raise ctx.timeout("SPARQL query")
        answer = json.loads(line)
        if not answer.get("ok"):
            raise StoreError(answer.get("error") or "query failed")
        return _parse_result(answer["result"], bool(answer.get("truncated")))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


class CliContext(RequestContext):
    """A CLI request: SPARQL goes to a ``QueryChild`` (or, with no child, to the store itself)."""

    def __init__(self, kind: str, limit_s: float, child: QueryChild | None, store=None):
        super().__init__(kind, limit_s, time.monotonic() + limit_s)
        self.child = child
        self.store = store

    def sparql(self, query: str, max_rows: int | None):
        if self.child is None:  # an in-memory store: nothing on disk for a child to open
            return self.store.query(query, max_rows=max_rows)
        return self.child.query(self, query, max_rows)


def start_query_child(settings) -> QueryChild | None:
    """The CLI's query process, where the store can be opened by another process."""
    if settings.store == "memory":
        return None
    return QueryChild(settings)


def run_with_deadline(ctx: RequestContext, work: Callable[[RequestContext], object], grace_s: float = 0.25):
    """``work(ctx)`` in a daemon thread, waited for until the deadline (+ ``grace_s``).

    Returns its value or raises its error. At the deadline it raises ``RequestTimeout`` and leaves
    the thread running: a CLI then prints the error and ends the process (``os._exit``), which is
    the one way to stop a computation a thread cannot interrupt.
    """
    box: dict = {}

    def target():
        try:
            box["value"] = work(ctx)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc
        box["late"] = ctx.remaining() < 0

    thread = threading.Thread(target=target, name=f"budgetkg-{ctx.kind}", daemon=True)
    thread.start()
    # The grace lets work that watches the deadline itself (a killed query) end with its own error.
    thread.join(max(ctx.remaining(), 0) + grace_s)
    if thread.is_alive():
        timeout = ctx.timeout()
        timeout.still_running = True
        raise timeout
    if "error" in box:
        raise box["error"]
    if box.get("late"):  # finished, but after the limit: as the HTTP API, no late answers
        raise ctx.timeout()
    return box.get("value")


# ====================================================================== the child process


def _watch_parent(parent: int) -> None:
    # A query child outlives a CLI killed from outside; this ends it.
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(3)


def child_main(argv: list[str] | None = None) -> int:
    """``python -m api.bounded``: open the store read-only, answer one JSON line per query."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m api.bounded", description=__doc__.split("\n")[0])
    parser.add_argument("--parent", type=int, default=os.getppid(), help="pid of the CLI process")
    args = parser.parse_args(argv)
    out = os.fdopen(os.dup(1), "wb")  # the protocol owns stdout; library chatter goes to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    threading.Thread(target=_watch_parent, args=(args.parent,), daemon=True).start()

    def write(message: dict) -> None:
        out.write(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")
        out.flush()

    stdin = sys.stdin.buffer
    try:
        from api.service import store_from_settings
        from api.settings import Settings

        settings = Settings(**json.loads(stdin.readline()))
        store = store_from_settings(settings, read_only=True)
    except Exception as exc:  # report why, then stop
        write({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    write({"ready": True})
    for line in stdin:
        request = json.loads(line)
        try:
            result = store.query(request["query"], max_rows=request.get("max_rows"))
            write({"ok": True, "result": result.to_json(), "truncated": result.truncated})
        except BudgetKGError as exc:
            write({"ok": False, "error": str(exc)})
        except Exception as exc:  # report and stay alive for the next query
            write({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return 0  # the store was opened read-only: nothing to flush, the process exit releases it


if __name__ == "__main__":
    sys.exit(child_main())
