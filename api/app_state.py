"""The heavy objects the application holds between requests, and how they follow the store.

- ``IndexHandle``: the search index (loaded in a background thread at start-up, then warmed up)
  and, while it is missing, the reason. There is no lock: requests use whichever index object the
  handle holds when they start (``api.bounded`` bounds them); a refresh builds a new index object
  beside the serving one and swaps it in when it is ready, so searches never wait for a refresh.
- ``Readiness``: what is ready since start-up (store, query workers, search index, warm-up of the
  model and the question parser's gazetteer) and after how many seconds; ``serve`` logs the line.
- ``public_snapshot``: what the public SPARQL workers load (public graphs, private ones only when
  personal data is served).
- ``serves_snapshots`` / ``open_writer`` / ``publish_upload``: serving the on-disk store, the web
  process holds a reader of its published generations; an upload opens the primary for its write
  (refused while another process, e.g. ``budgetkg ingest``, holds it), brings the index and topic
  tags up to date from it, publishes, and the reader follows.
- ``refresh_after_write``: after an upload to a store held in memory, bring the index (and topic tags) up to date, then move
  the query workers to a new snapshot, in that order so the snapshot includes the new tags.
"""
from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterator

from starlette.concurrency import run_in_threadpool

from api.bounded import warm_up
from api.settings import Settings
from search.store import GraphStore

log = logging.getLogger("budgetkg.app")
# uvicorn's own server log: where `budgetkg serve` users look for "ready" (it honours --log-level).
server_log = logging.getLogger("uvicorn.error")

LOADING = "the search index is loading"


def process_age_s() -> float | None:
    """Seconds since this process started (Linux /proc), or None where unknown."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            start_ticks = int(fh.read().rpartition(")")[2].split()[19])
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class Readiness:
    """Which parts of the service are ready, and how many seconds after the process started."""

    PARTS = ("store", "workers", "index", "warm_up")
    NAMES = {"store": "store", "workers": "query workers", "index": "search index", "warm_up": "warm-up"}

    def __init__(self):
        age = process_age_s()
        self.started = time.monotonic() - (age if age is not None else 0.0)
        self.at: dict[str, float] = {}
        self.failed: dict[str, str] = {}
        self.logged = False

    def mark(self, part: str, error: str | None = None) -> None:
        """``part`` is ready (or, with ``error``, will not be: the rest of the service still runs)."""
        self.at[part] = round(time.monotonic() - self.started, 2)
        if error:
            self.failed[part] = error
        if not self.logged and all(p in self.at for p in self.PARTS):
            self.logged = True
            parts = ", ".join(f"{self.NAMES[p]} {self.at[p]:g} s" + (" (unavailable)" if p in self.failed else "")
                              for p in self.PARTS)
            server_log.info("budgetkg ready in %g s after start (%s)", max(self.at.values()), parts)

    @property
    def ready(self) -> bool:
        return all(p in self.at for p in self.PARTS)

    def as_dict(self) -> dict:
        """For /api/health: each part's state and seconds after start, and the start-up time."""
        parts = {p: {"ready": p in self.at and p not in self.failed, "at_s": self.at.get(p)}
                 | ({"error": self.failed[p]} if p in self.failed else {}) for p in self.PARTS}
        # "ready": start-up is over; "unavailable" names the parts that failed (the rest still serves).
        return {"ready": self.ready, "unavailable": sorted(self.failed),
                "startup_s": max(self.at.values()) if self.ready else None,
                "since_start_s": round(time.monotonic() - self.started, 1), "parts": parts}


class IndexHandle:
    """The search index in use (replaced whole by a refresh) and, while there is none, why."""

    def __init__(self, readiness: Readiness | None = None):
        self.index = None
        self.error: str | None = LOADING
        self.readiness = readiness or Readiness()

    def require(self):
        """The loaded ``search.index.SearchIndex``, or a 503 saying why there is none yet."""
        if self.index is None:
            from api.http_errors import ApiError

            raise ApiError(503, "index_unavailable", f"search is not available: {self.error}",
                           headers={"Retry-After": "5"})
        return self.index

    @property
    def status(self) -> str:
        if self.index is not None:
            return "ready"
        return "loading" if self.error == LOADING else "unavailable"


def serves_snapshots(store: GraphStore) -> bool:
    """Whether ``store`` reads the published generations of an on-disk store (writes then go to
    the primary, opened for each upload)."""
    return bool(getattr(store, "read_only", False)) and getattr(store, "path", None) is not None


@contextmanager
def open_writer(store: GraphStore) -> Iterator[GraphStore]:
    """The store to write to: the primary behind a snapshot reader (opened now, closed after),
    or ``store`` itself. Raises ``StoreError`` while another process holds the primary."""
    if not serves_snapshots(store):
        yield store
        return
    from search.store import open_store

    writer = open_store("oxigraph", path=store.path)
    try:
        yield writer
    finally:
        writer.close()


def publish_upload(handle: IndexHandle, reader: GraphStore, writer: GraphStore) -> None:
    """After an upload into ``writer``: index it and tag its topics (into the writer), publish,
    and move ``reader`` to the new generation — so it is searchable and queryable on return.

    The refresh runs in a new index object reading the writer (the reader does not hold the new
    document yet); searches keep using the current one meanwhile and the new one is swapped in
    once the reader has followed — no lock between the upload and the searches."""
    current, fresh = handle.index, None
    if current is not None:
        try:
            from search.index import SearchIndex

            fresh = SearchIndex.open(writer, current.index_dir, current.model, threads=current.threads,
                                     refresh=False, options=current.options)
            fresh.refresh(tag_topics=True)
        except Exception:  # the document is stored; search catches up on the next refresh
            log.exception("search index refresh after upload failed")
            fresh = None
    writer.publish()
    reader.reopen_if_stale(force=True)
    if fresh is not None:
        fresh.store = reader
        try:
            warm_up(fresh, reader)
        except Exception:  # questions build what they need themselves
            log.exception("warming up the question parser after upload failed")
        handle.index = fresh


def public_snapshot(store: GraphStore, settings: Settings) -> bytes:
    """N-Quads of what the public endpoint serves (personal-data graphs only if configured)."""
    return store.export("nq", include_private=settings.serve_personal_data)


def load_index(handle: IndexHandle, store: GraphStore, settings: Settings) -> None:
    """Open (and if needed build or bring up to date) the search index and warm it up; record why
    not where it cannot.

    Search is offered as soon as the model answers; the question parser's gazetteer is warmed
    after that (a question asked meanwhile builds it itself). The index on disk is compared with
    the store in the quick form (which disclosure graphs, which file hashes: 0.9 s at 10,000
    disclosures) and refreshed first when they differ; the full comparison, which also counts the
    resources of every graph (7 s), is left to ``budgetkg ingest``, which refreshes the index
    after every batch anyway.
    """
    try:
        from search.index import SearchIndex
    except ImportError as exc:
        handle.error = f"the search module is not installed ({exc})"
        handle.readiness.mark("index", handle.error)
        handle.readiness.mark("warm_up", handle.error)
        return
    # First, so that the reads overlap the model's loading: started after the index was ready
    # instead, the store's reads competed with the first questions (cold start at 10,000:
    # ask p95 1,626 ms, against 348 ms started here and 684 ms with no prefetch).
    _prefetch(settings)
    try:
        index = SearchIndex.open(store, settings.index_path, settings.embedding_model,
                                 threads=settings.embedding_threads, options=settings.index_options(),
                                 refresh=False)
        # The comparison with the store (a query: 1.4 s at 10,000 disclosures) runs beside the
        # model's loading (~2.5 s), not before it: start-up is the longer of the two, not both.
        with ThreadPoolExecutor(1, thread_name_prefix="budgetkg-stale-check") as pool:
            stale = pool.submit(lambda: index.generation is None or index.is_stale(quick=True))
            index.embedder.encode_query("医疗保障")  # load the model now, not on the first user's request
            if stale.result():
                index.refresh()  # a new store, an ingest stopped before its refresh, another writer
        index.search("医疗保障", k=1)
        handle.index, handle.error = index, None
        handle.readiness.mark("index")
    except Exception as exc:  # the endpoint and pages still work without search
        log.exception("search index could not be opened")
        handle.error = f"the search index could not be opened: {exc}"
        handle.readiness.mark("index", handle.error)
        handle.readiness.mark("warm_up", handle.error)
        return
    try:
        warm_up(index, store)
        handle.readiness.mark("warm_up")
    except Exception as exc:  # questions build what they need themselves
        log.exception("warming up the question parser failed")
        handle.readiness.mark("warm_up", f"warm-up failed: {exc}")


def _prefetch(settings: Settings) -> None:
    """Start warming the page cache with the index's files, then the embedded store's
    (``search.prefetch``): the index first, as every search reads it."""
    from search.index_build import Layout
    from search.prefetch import prefetch_in_background

    layout = Layout(settings.index_path)
    folders = [layout.ann, layout.items, layout.lexical]
    if settings.store == "oxigraph":
        folders.append(settings.store_path / "public")
    prefetch_in_background(folders, settings.prefetch_share, report=lambda stats: server_log.info(
        "budgetkg: %.0f MB of index and store files sent to the page cache in %.1f s (prefetch_share %.2f; "
        "%d files left out: over that share, or unreadable)", stats["bytes"] / 2**20, stats["seconds"], settings.prefetch_share,
        stats["skipped_files"]))


def _refresh_index(handle: IndexHandle) -> None:
    """Bring the index up to date in a new index object, warm it, then swap it in: searches keep
    using the current one meanwhile, without waiting."""
    current = handle.index
    if current is None:
        return
    try:
        from search.index import SearchIndex

        fresh = SearchIndex.open(current.store, current.index_dir, current.model, threads=current.threads,
                                 refresh=False, options=current.options)
        fresh.refresh(tag_topics=True)
        warm_up(fresh, current.store)
        handle.index = fresh
    except Exception:  # the document is stored; search catches up on the next refresh
        log.exception("search index refresh after upload failed")


async def refresh_after_write(app) -> None:
    """Index first (topic tags land in the store), then a new snapshot for the query workers.

    One refresh at a time: a snapshot taken later is always served later, so two uploads in quick
    succession cannot leave the workers on the older of two snapshots.
    """
    state = app.state
    if serves_snapshots(state.store):
        return  # ``publish_upload`` did it all; the query workers follow the new generation themselves
    async with state.refresh_lock:
        await run_in_threadpool(_refresh_index, state.index)
        if state.pool is not None and state.settings.store != "sparql":
            snapshot = await run_in_threadpool(public_snapshot, state.store, state.settings)
            await state.pool.refresh(snapshot)
