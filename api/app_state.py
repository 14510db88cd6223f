"""The heavy objects the application holds between requests, and how they follow the store.

- ``IndexHandle``: the search index (loaded in a background thread at start-up) with the lock that
  serialises its use and, while it is missing, the reason.
- ``public_snapshot``: what the public SPARQL workers load (public graphs, private ones only when
  personal data is served).
- ``refresh_after_write``: after an upload, bring the index (and topic tags) up to date, then move
  the query workers to a new snapshot, in that order so the snapshot includes the new tags.
"""
from __future__ import annotations

import logging
import threading

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
                                     threads=settings.embedding_threads, options=settings.index_options())
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
    async with state.refresh_lock:
        await run_in_threadpool(_refresh_index, state.index)
        if state.pool is not None and state.settings.store != "sparql":
            snapshot = await run_in_threadpool(public_snapshot, state.store, state.settings)
            await state.pool.refresh(snapshot)
