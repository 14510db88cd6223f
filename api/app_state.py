"""The heavy objects the application holds between requests, and how they follow the store.

- ``IndexHandle``: the search index (loaded in a background thread at start-up) with the lock that
  serialises its use and, while it is missing, the reason.
- ``public_snapshot``: what the public SPARQL workers load when they cannot open the store's
  published generations themselves (a store handed over in memory).
- ``serves_snapshots`` / ``open_writer`` / ``publish_upload``: serving the on-disk store, the web
  process holds a reader of its published generations; an upload opens the primary for its write
  (refused while another process, e.g. ``budgetkg ingest``, holds it), brings the index and topic
  tags up to date from it, publishes, and the reader follows.
- ``refresh_after_write``: after an upload to a store held in memory, bring the index (and topic
  tags) up to date, then move the query workers to a new snapshot, in that order so the snapshot
  includes the new tags.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Iterator

from starlette.concurrency import run_in_threadpool

from api.settings import Settings
from search.store import GraphStore

log = logging.getLogger("budgetkg.app")

LOADING = "the search index is loading"


class IndexHandle:
    """The search index and a lock: the embedding model and FAISS serve one request at a time."""

    def __init__(self):
        self.index = None
        self.error: str | None = LOADING
        self.lock = threading.Lock()

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

    The loaded index reads the writer while it refreshes (the reader does not hold the new
    document yet) and the reader again once that has followed."""
    with handle.lock:
        index = handle.index
        try:
            if index is not None:
                index.store = writer
                try:
                    index.refresh(tag_topics=True)
                except Exception:  # the document is stored; search catches up on the next refresh
                    log.exception("search index refresh after upload failed")
            writer.publish()
            reader.reopen_if_stale(force=True)
        finally:
            if index is not None:
                index.store = reader


def public_snapshot(store: GraphStore, settings: Settings) -> bytes:
    """N-Quads of what the public endpoint serves (personal-data graphs only if configured)."""
    return store.export("nq", include_private=settings.serve_personal_data)


def load_index(handle: IndexHandle, store: GraphStore, settings: Settings) -> None:
    """Open (and if needed build) the search index; record why not where it cannot."""
    try:
        from search.index import SearchIndex
    except ImportError as exc:
        handle.error = f"the search module is not installed ({exc})"
        return
    try:
        with handle.lock:
            index = SearchIndex.open(store, settings.index_path, settings.embedding_model,
                                     threads=settings.embedding_threads)
            index.search("医疗保障", k=1)  # load the model now, not on the first user's request
        handle.index, handle.error = index, None
    except Exception as exc:  # the endpoint and pages still work without search
        log.exception("search index could not be opened")
        handle.error = f"the search index could not be opened: {exc}"


def _refresh_index(handle: IndexHandle) -> None:
    if handle.index is None:
        return
    try:
        with handle.lock:
            handle.index.refresh(tag_topics=True)
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
