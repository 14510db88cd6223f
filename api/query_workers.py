"""Public SPARQL queries run in worker subprocesses that are killed at the time limit.

pyoxigraph has no query timeout and a thread cannot be stopped, so every query from the public
endpoint goes to one of several worker processes (``python -m api.query_workers``). The web
process waits for the answer up to the deadline; past it, the worker is killed (SIGKILL), the
client gets an explicit timeout error, and a fresh worker is started in the background. While one
worker burns on a hostile query the others keep answering, and requests queue for a free worker
(within their own deadline) rather than pile onto a busy one.

Where the workers get their data:

- the embedded store on disk ('oxigraph'): each worker opens the current published generation of
  the public store read-only (``search.snapshots``; never the primary a running ingest writes, and
  never the private store), so the workers share the operating system's page cache instead of
  each holding a copy, and start in well under a second at any size. Before each query a worker
  reads the generation pointer and moves to a newer generation if one was published (by
  ``budgetkg ingest`` or an upload), so it never answers from a half-replaced disclosure.
- a store handed over in memory ('memory', tests), or personal data served
  (``serve_personal_data``, whose graphs live in a second store a query cannot join): the web
  process exports the graphs to an N-Quads file that each worker loads into its own in-memory
  store. ``refresh()`` after an upload writes a new file and replaces the workers generation by
  generation.
- a remote SPARQL server ('sparql'): workers forward the query with an HTTP timeout, restricting
  the dataset to the public named graphs with ``default-graph-uri``/``named-graph-uri``.

Workers serialise results themselves (``api.sparql_results``) and cap them at ``max_rows``,
reporting whether they did. The wire protocol is a frame per message on the worker's stdin and
stdout: 8 bytes (JSON header length, body length, big-endian) then the JSON header and the body.

This module is also the worker's entry point, so it imports nothing heavy at the top.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import struct
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ontology.errors import BudgetKGError, QueryTimeout

log = logging.getLogger("budgetkg.query_workers")

_FRAME = struct.Struct(">II")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Same value as search.store.PRIVATE_GRAPH_PREFIX (a test pins it); not imported, to keep the
# worker's start-up free of rdflib.
PRIVATE_GRAPH_PREFIX = "https://w3id.org/budgetkg/graph/private/"
EMPTY_GRAPH = "urn:budgetkg:empty"


class WorkersBusy(BudgetKGError):
    """Every query worker stayed busy for the whole time limit of a request."""

    def __init__(self, seconds: float, workers: int, reason: str | None = None):
        self.seconds = seconds
        self.workers = workers
        detail = reason or f"all {workers} query workers stayed busy for {seconds:g} s"
        super().__init__(f"the SPARQL endpoint is overloaded: {detail}; retry in a moment")


class QueryFailed(BudgetKGError):
    """The worker evaluating a query failed (crashed, ran out of memory, remote server error)."""

    def __init__(self, reason: str, status: int = 500):
        self.reason = reason
        self.status = status
        super().__init__(reason)


class QuerySyntaxError(BudgetKGError):
    """The engine could not parse the query; the message is the engine's."""


@dataclass
class QueryAnswer:
    body: bytes
    format: str  # key of api.sparql_results formats
    truncated: bool
    count: int  # rows (SELECT) or triples (CONSTRUCT/DESCRIBE) in the body; 1 for ASK
    elapsed_s: float


# ====================================================================== wire protocol


def _write_frame(stream, header: dict, body: bytes = b"") -> None:
    head = json.dumps(header, ensure_ascii=False).encode("utf-8")
    stream.write(_FRAME.pack(len(head), len(body)) + head + body)
    stream.flush()


def _read_frame_sync(stream) -> tuple[dict, bytes] | None:
    prefix = stream.read(_FRAME.size)
    if len(prefix) < _FRAME.size:
        return None
    head_len, body_len = _FRAME.unpack(prefix)
    head = stream.read(head_len)
    body = stream.read(body_len) if body_len else b""
    return json.loads(head), body


async def _read_frame(reader: asyncio.StreamReader) -> tuple[dict, bytes]:
    head_len, body_len = _FRAME.unpack(await reader.readexactly(_FRAME.size))
    head = await reader.readexactly(head_len)
    body = await reader.readexactly(body_len) if body_len else b""
    return json.loads(head), body


# ====================================================================== the worker process


def _evaluate_embedded(store, request: dict) -> tuple[dict, bytes]:
    import pyoxigraph as ox

    from api import sparql_results as fmt

    options: dict = {}
    defaults, named = request.get("default_graphs") or [], request.get("named_graphs") or []
    if defaults or named:
        options["default_graph"] = [ox.NamedNode(g) for g in defaults] or ox.DefaultGraph()
        options["named_graphs"] = [ox.NamedNode(g) for g in named]
    else:
        options["use_default_graph_as_union"] = True
    result = store.query(request["query"], **options)
    return _serialize(result, request, fmt, ox)


def _serialize(result, request: dict, fmt, ox) -> tuple[dict, bytes]:
    """Cap and serialise a pyoxigraph result (QueryBoolean, QuerySolutions or QueryTriples)."""
    key, max_rows = request["format"], int(request["max_rows"])
    if isinstance(result, (bool, ox.QueryBoolean)):
        return {"ok": True, "truncated": False, "count": 1}, fmt.serialize_boolean(bool(result), key)
    if isinstance(result, ox.QuerySolutions):
        variables = [v.value for v in result.variables]
        rows, truncated = [], False
        for solution in result:
            if len(rows) >= max_rows:
                truncated = True
                break
            rows.append([solution[v] for v in variables])
        body = fmt.serialize_solutions(variables, rows, key, truncated=truncated, max_rows=max_rows)
        return {"ok": True, "truncated": truncated, "count": len(rows)}, body
    triples, truncated = [], False
    for triple in result:
        if len(triples) >= max_rows:
            truncated = True
            break
        triples.append(triple)
    return {"ok": True, "truncated": truncated, "count": len(triples)}, fmt.serialize_triples(triples, key)


class _RemoteEvaluator:
    """Forwards queries to a SPARQL 1.1 server; caps and re-serialises what comes back.

    Virtuoso (recognised by its ``Server`` header) needs three things more. It keeps evaluating a
    query its client gave up on, for up to its MaxQueryExecutionTime (60 s in the package's ini),
    so the query carries Virtuoso's ``timeout`` parameter, a little past this request's deadline:
    the pool kills the worker at the deadline as for any server, and Virtuoso stops soon after.
    Stopped that way, Virtuoso answers 200 with whatever it had ("anytime" results, header
    ``X-SQL-State: S1TAT``): such an answer is a timeout, never a result. And it cuts results at
    ResultSetMaxRows, saying so only in ``X-SPARQL-MaxRows``: such a result is marked truncated.
    """

    GRAPHS_TTL_S = 10.0
    VIRTUOSO_GRACE_S = 1.0

    def __init__(self, url: str, include_private: bool):
        import base64

        self.url = url
        self.include_private = include_private
        user, password = os.environ.get("BUDGETKG_SPARQL_USER"), os.environ.get("BUDGETKG_SPARQL_PASSWORD")
        self.auth = ("Basic " + base64.b64encode(f"{user}:{password or ''}".encode()).decode()) if user else None
        self._graphs: list[str] = []
        self._graphs_at = 0.0
        self._has_private = True  # until the first listing says otherwise
        self._server: str | None = None  # the Server header, once an answer told it
        self._server_capped = False  # the last answer was cut by the server's own row cap

    def _post(self, params: list[tuple[str, str]], accept: str, timeout: float) -> tuple[str, bytes]:
        import urllib.error
        import urllib.parse
        import urllib.request

        data = urllib.parse.urlencode(params).encode("utf-8")
        req = urllib.request.Request(self.url, data=data, method="POST", headers={
            "Accept": accept, "Content-Type": "application/x-www-form-urlencoded"})
        if self.auth:
            req.add_header("Authorization", self.auth)
        try:
            with urllib.request.urlopen(req, timeout=max(timeout, 0.1)) as response:
                self._server = response.headers.get("Server", "")
                if (response.headers.get("X-SQL-State") or "").startswith("S1T"):
                    raise QueryFailed("the SPARQL server stopped the query at the time limit (its incomplete "
                                      "answer was discarded)", 504)
                self._server_capped = bool(response.headers.get("X-SPARQL-MaxRows"))
                return response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as exc:
            text = exc.read()[:500].decode("utf-8", "replace")
            self._server = exc.headers.get("Server", "") if exc.headers else self._server
            if exc.code == 400:
                raise SyntaxError(f"the SPARQL server refused the query: {text}") from None
            if "estimated execution time" in text or "S1T00" in text:  # Virtuoso: too costly, or timed out
                raise QueryFailed(f"the SPARQL server refused the query as too expensive: {text}", 504) from None
            raise QueryFailed(f"the SPARQL server answered HTTP {exc.code}: {text}", 502) from None
        except TimeoutError:
            raise QueryFailed("the SPARQL server did not answer within the time limit", 504) from None
        except OSError as exc:
            raise QueryFailed(f"the SPARQL server at {self.url} is unreachable: {exc}", 502) from None

    @staticmethod
    def _plain_bnode_ids(body: bytes) -> bytes:
        """SPARQL JSON results with blank-node labels any parser takes: Virtuoso labels them
        ``nodeID://b10001``, which pyoxigraph refuses (Virtuoso's own graphs hold blank nodes)."""
        import re

        if b'"bnode"' not in body:
            return body
        data = json.loads(body)
        for binding in data.get("results", {}).get("bindings", []):
            for term in binding.values():
                if term.get("type") == "bnode":
                    term["value"] = re.sub(r"[^A-Za-z0-9]", "_", term["value"])
        return json.dumps(data).encode("utf-8")

    def _is_virtuoso(self, timeout: float) -> bool:
        if self._server is None:
            self._post([("query", "ASK {}")], "application/sparql-results+json", timeout)
        return (self._server or "").lower().startswith("virtuoso")

    def public_graphs(self, timeout: float) -> list[str]:
        if time.monotonic() - self._graphs_at > self.GRAPHS_TTL_S:
            import pyoxigraph as ox

            _, body = self._post([("query", "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")],
                                 "application/sparql-results+json", timeout)
            names = [s["g"].value for s in ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)]
            self._graphs = sorted(g for g in names if not g.startswith(PRIVATE_GRAPH_PREFIX))
            self._has_private = any(g.startswith(PRIVATE_GRAPH_PREFIX) for g in names)
            self._graphs_at = time.monotonic()
        return self._graphs

    def __call__(self, request: dict) -> tuple[dict, bytes]:
        import pyoxigraph as ox

        from api import sparql_results as fmt

        timeout = float(request["timeout"])
        params = [("query", request["query"])]
        defaults, named = request.get("default_graphs") or [], request.get("named_graphs") or []
        if not self.include_private:
            public = set(self.public_graphs(timeout))
            if defaults or named:  # the client's dataset, restricted to public graphs
                defaults = [g for g in defaults if g in public] or [EMPTY_GRAPH]
                named = [g for g in named if g in public] or [EMPTY_GRAPH]
            elif self._has_private:
                # budgetkg never writes personal data to the public dataset (search.store_remote),
                # but a server someone else filled might hold some: then list the public graphs
                # (slower on large stores, but nothing private gets out). An empty list would mean
                # "the server's whole store", hence the placeholder graph.
                defaults = named = sorted(public) or [EMPTY_GRAPH]
        params += [("default-graph-uri", g) for g in defaults] + [("named-graph-uri", g) for g in named]
        if self._is_virtuoso(timeout):
            params.append(("timeout", str(int((timeout + self.VIRTUOSO_GRACE_S) * 1000))))
        graph = request["form"] in ("construct", "describe")
        accept = "application/n-triples, text/turtle;q=0.5" if graph else "application/sparql-results+json"
        media, body = self._post(params, accept, timeout)
        media = media.split(";")[0].strip()
        if graph:
            rdf_format = ox.RdfFormat.TURTLE if "turtle" in media else ox.RdfFormat.N_TRIPLES
            triples = (ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=rdf_format))
            header, out = _serialize(triples, request, fmt, ox)
        else:
            results = ox.parse_query_results(self._plain_bnode_ids(body), format=ox.QueryResultsFormat.JSON)
            header, out = _serialize(results, request, fmt, ox)
        if self._server_capped and not header["truncated"]:
            header["truncated"] = True  # the server cut the rows before our cap did
        return header, out


class _SnapshotEvaluator:
    """Queries over the current published generation of an on-disk store, read-only.

    With ``include_private`` (personal data served) the public and private stores are copied into
    one in-memory store, since a query cannot join across two stores; without it the private
    store is not even opened."""

    def __init__(self, store_path: str, include_private: bool = False):
        from search import snapshots

        self.snapshots = snapshots
        self.store_path = store_path
        self.include_private = include_private
        self._open()

    def _open(self) -> None:
        import pyoxigraph as ox

        public, private, self.generation = self.snapshots.open_read_only(self.store_path,
                                                                          private=self.include_private)
        if self.include_private:
            merged = ox.Store()
            for source in filter(None, (public, private)):
                merged.bulk_extend(source.quads_for_pattern(None, None, None))
            public = merged
        self.store = public

    def __call__(self, request: dict) -> tuple[dict, bytes]:
        # One small file read per query: a worker never answers from a generation older than the
        # one current when the query arrived.
        latest = self.snapshots.current_generation(self.store_path)
        if latest is not None and latest != self.generation:
            self._open()
        return _evaluate_embedded(self.store, request)


def _watch_parent(parent_pid: int) -> None:
    # A worker deep in a hostile query would outlive a crashed web process; this ends it.
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(3)


def _limit_memory(extra_mb: int) -> None:
    """Cap the address space at what the loaded worker uses now plus ``extra_mb`` for queries.

    A query that materialises a huge join (ORDER BY over a cross product) would otherwise eat the
    machine's memory before its time limit; past the cap the allocation fails, the worker dies and
    the pool replaces it.
    """
    if extra_mb <= 0:
        return
    import resource

    with open("/proc/self/status", encoding="ascii") as fh:
        vm_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmSize:"))
    limit = vm_kb * 1024 + extra_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def worker_main(argv: list[str] | None = None) -> int:
    """Entry point of a worker process: load data, then answer framed requests until EOF."""
    parser = argparse.ArgumentParser(prog="python -m api.query_workers", description=__doc__.split("\n")[0])
    parser.add_argument("--snapshot", help="N-Quads file to load into an in-memory store (export mode)")
    parser.add_argument("--store", help="folder of an on-disk store: serve its current published generation, "
                                        "read-only, following newer ones (store mode)")
    parser.add_argument("--remote", help="query URL of a SPARQL 1.1 server (remote mode)")
    parser.add_argument("--include-private", action="store_true", help="remote and store modes: serve the "
                                                                        "private graphs too")
    parser.add_argument("--memory-mb", type=int, default=0,
                        help="address space a query may add to the loaded worker, in MiB (0 = no limit)")
    parser.add_argument("--parent", type=int, default=os.getppid(), help="pid of the web process")
    args = parser.parse_args(argv)

    # The protocol owns stdout; anything printed by libraries goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    threading.Thread(target=_watch_parent, args=(args.parent,), daemon=True).start()

    started = time.monotonic()
    try:
        if args.remote:
            evaluate = _RemoteEvaluator(args.remote, args.include_private)
            size = 0
        elif args.store:
            evaluate = _SnapshotEvaluator(args.store, args.include_private)
            size = None  # counting the quads of a large store on disk would take seconds
        else:
            import pyoxigraph as ox

            store = ox.Store()
            if args.snapshot and os.path.getsize(args.snapshot):
                store.bulk_load(path=args.snapshot, format=ox.RdfFormat.N_QUADS)
            size = len(store)
            evaluate = lambda request: _evaluate_embedded(store, request)  # noqa: E731
        _limit_memory(args.memory_mb)
    except Exception as exc:  # tell the pool why, then stop
        _write_frame(out, {"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    _write_frame(out, {"ready": True, "quads": size, "load_s": round(time.monotonic() - started, 3)})

    stdin = sys.stdin.buffer
    while True:
        frame = _read_frame_sync(stdin)
        if frame is None:
            return 0
        request, _ = frame
        try:
            header, body = evaluate(request)
        except SyntaxError as exc:
            header, body = {"ok": False, "kind": "syntax", "message": str(exc)}, b""
        except QueryFailed as exc:
            header, body = {"ok": False, "kind": "failed", "message": exc.reason, "status": exc.status}, b""
        except MemoryError:
            header, body = {"ok": False, "kind": "failed", "message": "the query needs more memory than a "
                            "query worker may use", "status": 500}, b""
        except Exception as exc:  # report and stay alive for the next query
            header, body = {"ok": False, "kind": "failed", "message": f"{type(exc).__name__}: {exc}",
                            "status": 500}, b""
        _write_frame(out, header, body)


# ====================================================================== the pool (web process side)


@dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process
    generation: int
    started: float = field(default_factory=time.monotonic)
    queries: int = 0

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def call(self, request: dict) -> tuple[dict, bytes]:
        assert self.process.stdin is not None and self.process.stdout is not None
        head = json.dumps(request, ensure_ascii=False).encode("utf-8")
        self.process.stdin.write(_FRAME.pack(len(head), 0) + head)
        await self.process.stdin.drain()
        self.queries += 1
        return await _read_frame(self.process.stdout)

    def kill(self) -> None:
        if self.alive:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass


class WorkerPool:
    """Several query workers behind one ``run()``; kills and replaces a worker at the deadline.

    ``size`` workers evaluate at once; further requests wait for a free worker within their own
    deadline. Use from one asyncio event loop (the server's): ``await start()``, ``await run()``,
    ``await refresh()`` after the data changed, ``await close()``.
    """

    def __init__(self, size: int, *, remote_url: str | None = None, store_path: str | Path | None = None,
                 include_private: bool = False, remote_auth: tuple[str | None, str | None] = (None, None),
                 memory_mb: int = 1024, spawn_timeout_s: float = 300.0):
        if size < 1:
            raise ValueError("a worker pool needs at least one worker (setting query_workers)")
        self.size = size
        self.remote_url = remote_url
        # Store mode: workers open the store's published generations themselves (public only).
        self.store_path = Path(store_path) if store_path is not None and remote_url is None else None
        self.include_private = include_private
        self.remote_auth = remote_auth
        self.memory_mb = memory_mb
        self.spawn_timeout_s = spawn_timeout_s
        self.generation = 0
        self._snapshot_dir = Path(tempfile.mkdtemp(prefix="budgetkg-snapshot-"))
        self._snapshot: Path | None = None
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: set[_Worker] = set()
        self._spawning = 0
        self._last_error: str | None = None
        self._tasks: set[asyncio.Task] = set()  # respawns
        self._reaping: set[asyncio.Task] = set()
        self._closed = False
        self.counters = {"queries": 0, "timeouts": 0, "killed": 0, "respawned": 0, "busy": 0, "failed": 0}

    # ------------------------------------------------------------ life cycle

    @property
    def mode(self) -> str:
        return "remote" if self.remote_url else ("store" if self.store_path else "snapshot")

    async def start(self, snapshot: bytes | None = None) -> None:
        """Write the snapshot (export mode) and start ``size`` workers; returns when they are ready."""
        if self.mode == "snapshot":
            self._write_snapshot(snapshot or b"")
        await asyncio.gather(*(self._spawn_one() for _ in range(self.size)))

    async def refresh(self, snapshot: bytes | None = None) -> None:
        """Serve ``snapshot`` from now on: start a new generation, retire the old one. In store
        mode there is nothing to do: each worker moves to a newly published generation itself."""
        if self.mode != "snapshot":
            return
        old = self._snapshot
        self.generation += 1
        self._write_snapshot(snapshot)
        await asyncio.gather(*(self._spawn_one() for _ in range(self.size)))
        self._drop_stale_idle()
        if old is not None and old != self._snapshot:
            old.unlink(missing_ok=True)

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        if self._reaping:  # killed workers exit at once; wait so their pipes are closed cleanly
            await asyncio.wait(list(self._reaping), timeout=5)
        for worker in list(self._workers):
            if worker.process.stdin is not None:
                worker.process.stdin.close()
            worker.kill()
        for worker in list(self._workers):
            try:
                await asyncio.wait_for(worker.process.wait(), 5)
            except (asyncio.TimeoutError, ProcessLookupError):
                pass
        self._workers.clear()
        for path in self._snapshot_dir.glob("*"):
            path.unlink(missing_ok=True)
        self._snapshot_dir.rmdir()

    def _write_snapshot(self, data: bytes) -> None:
        path = self._snapshot_dir / f"public-{self.generation}.nq"
        path.write_bytes(data)
        self._snapshot = path

    # ------------------------------------------------------------ workers

    def _command(self) -> list[str]:
        cmd = [sys.executable, "-m", "api.query_workers", "--parent", str(os.getpid())]
        if self.remote_url:
            cmd += ["--remote", self.remote_url] + (["--include-private"] if self.include_private else [])
        elif self.store_path:
            cmd += ["--store", str(self.store_path)] + (["--include-private"] if self.include_private else [])
        else:
            cmd += ["--snapshot", str(self._snapshot)]
        if self.memory_mb:
            cmd += ["--memory-mb", str(self.memory_mb)]
        return cmd

    async def _spawn_one(self) -> _Worker | None:
        generation = self.generation
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        user, password = self.remote_auth
        for name, value in (("BUDGETKG_SPARQL_USER", user), ("BUDGETKG_SPARQL_PASSWORD", password)):
            if value:
                env[name] = value
        self._spawning += 1
        try:
            process = await asyncio.create_subprocess_exec(
                *self._command(), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                env=env, cwd=str(PROJECT_ROOT), start_new_session=True)
            worker = _Worker(process, generation)
            try:
                ready, _ = await asyncio.wait_for(_read_frame(process.stdout), self.spawn_timeout_s)
            except (asyncio.TimeoutError, asyncio.IncompleteReadError):
                worker.kill()
                ready = {"ready": False, "error": "worker did not start"}
            if not ready.get("ready"):
                worker.kill()
                await process.wait()
                self._last_error = f"query worker failed to start: {ready.get('error')}"
                log.error(self._last_error)
                return None
        finally:
            self._spawning -= 1
        if self._closed or generation != self.generation:
            worker.kill()
            return None
        self._last_error = None
        self._workers.add(worker)
        self._idle.put_nowait(worker)
        return worker

    def _current(self) -> int:
        return sum(1 for w in self._workers if w.alive and w.generation == self.generation)

    def _replace(self, worker: _Worker) -> None:
        """Forget a dead or killed worker and start another in the background."""
        worker.kill()
        self._workers.discard(worker)
        self._reap(worker)
        if not self._closed and self._current() + self._spawning < self.size:
            self.counters["respawned"] += 1
            self._background(self._respawn())

    async def _respawn(self) -> None:
        delay = 0.5
        while not self._closed and self._current() + self._spawning < self.size:
            if await self._spawn_one() is not None:
                return
            await asyncio.sleep(delay)  # a worker that cannot start: back off, keep trying
            delay = min(delay * 2, 30.0)

    def _reap(self, worker: _Worker) -> None:
        """Collect a killed worker's exit status and close its pipes (in the background)."""
        async def reap():
            if worker.process.stdin is not None:
                worker.process.stdin.close()
            await worker.process.wait()

        task = asyncio.get_running_loop().create_task(reap())
        self._reaping.add(task)
        task.add_done_callback(self._reaping.discard)

    def _background(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _drop_stale_idle(self) -> None:
        keep = []
        while not self._idle.empty():
            worker = self._idle.get_nowait()
            if worker.alive and worker.generation == self.generation:
                keep.append(worker)
            else:
                worker.kill()
                self._workers.discard(worker)
                self._reap(worker)
        for worker in keep:
            self._idle.put_nowait(worker)

    def _release(self, worker: _Worker) -> None:
        if worker.alive and worker.generation == self.generation and not self._closed:
            self._idle.put_nowait(worker)
        elif worker.generation != self.generation:
            worker.kill()
            self._workers.discard(worker)
            self._reap(worker)
        else:
            self._replace(worker)

    async def _acquire(self, deadline: float) -> _Worker:
        loop = asyncio.get_running_loop()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError
            worker = await asyncio.wait_for(self._idle.get(), remaining)
            if worker.alive and worker.generation == self.generation:
                return worker
            self._release(worker)

    # ------------------------------------------------------------ queries

    async def run(self, query: str, form: str, fmt: str, *, timeout_s: float, max_rows: int,
                  default_graphs: list[str] | None = None, named_graphs: list[str] | None = None) -> QueryAnswer:
        """Evaluate a guarded query in a worker; ``QueryTimeout`` at the deadline, never a partial answer."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + timeout_s
        self.counters["queries"] += 1
        try:
            worker = await self._acquire(deadline)
        except asyncio.TimeoutError:
            self.counters["busy"] += 1
            reason = self._last_error if not self._workers else None
            raise WorkersBusy(timeout_s, self.size, reason) from None
        request = {"query": query, "form": form, "format": fmt, "max_rows": max_rows,
                   "timeout": max(deadline - loop.time(), 0.01),
                   "default_graphs": default_graphs or [], "named_graphs": named_graphs or []}
        try:
            header, body = await asyncio.wait_for(worker.call(request), deadline - loop.time())
        except asyncio.TimeoutError:
            self.counters["timeouts"] += 1
            self.counters["killed"] += 1
            self._replace(worker)
            raise QueryTimeout(timeout_s) from None
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError):
            self.counters["failed"] += 1
            self._replace(worker)
            raise QueryFailed("the query worker stopped while evaluating this query (it may have needed "
                              "more memory than a worker may use); it has been restarted") from None
        except asyncio.CancelledError:  # the request was abandoned: the worker may still be busy
            self._replace(worker)
            raise
        self._release(worker)
        if not header.get("ok"):
            if header.get("kind") == "syntax":
                raise QuerySyntaxError(f"SPARQL syntax error: {header.get('message')}")
            self.counters["failed"] += 1
            raise QueryFailed(header.get("message") or "query failed", int(header.get("status", 500)))
        return QueryAnswer(body, fmt, bool(header.get("truncated")), int(header.get("count", 0)),
                           loop.time() - started)

    def stats(self) -> dict:
        """Numbers for /api/health: workers alive and idle, generation, counters, RSS of workers."""
        alive = [w for w in self._workers if w.alive]
        store_generation = None
        if self.store_path is not None:
            from search.snapshots import current_generation

            store_generation = current_generation(self.store_path)
        return {"size": self.size, "alive": len(alive), "idle": self._idle.qsize(), "spawning": self._spawning,
                "generation": self.generation, "mode": self.mode, "store_generation": store_generation,
                "last_error": self._last_error, **self.counters,
                "worker_rss_mb": [rss_mb(w.process.pid) for w in alive]}


def rss_mb(pid: int | str = "self") -> float | None:
    """Resident memory of a process in MiB (Linux /proc), or None where unavailable."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


if __name__ == "__main__":
    sys.exit(worker_main())
