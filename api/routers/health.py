"""``/api/health``: is the service up, what does it serve, how are the query workers doing.

``readiness`` says which parts are ready (store, query workers, search index, warm-up of the model
and the question parser) and how many seconds after the process started each became ready;
``requests`` shows the time limit of questions and searches, how many compute or wait, and counters.

Cheap enough to poll: counts come from the query workers' snapshot and the store's graph list,
and memory figures from /proc (the load test reads them to watch for growth). The graph list is
read again on every poll while that is cheap; once a reading takes more than
``SLOW_COUNT_S`` (0.17-0.34 s at 10,000 disclosures: a readiness probe polling every 0.1 s during
start-up took that much CPU from the start-up itself), at most every ``GRAPH_COUNT_TTL_S`` seconds
or when the store publishes a new generation.
"""
from __future__ import annotations

import threading
import time

from fastapi import APIRouter, Request

from api.deps import SettingsDep, StoreDep
from api.query_workers import rss_mb
from search.store import is_private_graph

router = APIRouter(tags=["service"])

# How old the graph counts in a health answer may be when reading them is slow (an upload that
# publishes a new store generation shows up at once; other writes within this many seconds).
GRAPH_COUNT_TTL_S = 5.0
SLOW_COUNT_S = 0.05
_counts_lock = threading.Lock()


@router.get("/api/health", summary="Service status, data counts and query-worker state")
def health(request: Request, settings: SettingsDep, store: StoreDep) -> dict:
    state = request.app.state
    public_graphs, disclosures = _graph_counts(state, store)
    handle = state.index
    if handle.index is not None:
        index = {"status": "ready", **_index_stats(handle)}
    else:
        index = {"status": handle.status, "reason": handle.error}
    pool = state.pool
    return {
        "status": "ok" if pool is not None else "starting",
        "store": settings.store,
        "public_graphs": public_graphs,
        "disclosures": disclosures,
        "index": index,
        "sparql": {"timeout_s": settings.query_timeout_s, "max_result_rows": settings.max_result_rows,
                   "max_query_bytes": settings.max_query_bytes,
                   "workers": pool.stats() if pool is not None else None},
        "requests": state.requests.stats(),
        "readiness": state.readiness.as_dict(),
        "uploads_enabled": bool(settings.admin_token),
        "personal_data_served": settings.serve_personal_data,
        "uptime_s": round(time.time() - state.started, 1),
        "rss_mb": rss_mb(),
    }


def _graph_counts(state, store) -> tuple[int, int]:
    """Public graphs and disclosure graphs in the store (see the module docstring for when a
    reading is reused); concurrent polls wait for one reading instead of each making one."""
    key = (id(store), getattr(store, "generation", None))
    with _counts_lock:
        cached = getattr(state, "graph_counts", None)
        if cached is not None and cached[0] == key and time.monotonic() < cached[1]:
            return cached[2]
        started = time.monotonic()
        graphs = [g for g in store.graph_names() if not is_private_graph(g)]
        counts = (len(graphs), sum(1 for g in graphs if "/graph/disclosure/" in g))
        now = time.monotonic()
        reuse_until = now + GRAPH_COUNT_TTL_S if now - started > SLOW_COUNT_S else now
        # (the reading may have moved a reader store to a newer generation: key it by that one)
        state.graph_counts = ((id(store), getattr(store, "generation", None)), reuse_until, counts)
        return counts


def _index_stats(handle) -> dict:
    try:
        stats = handle.index.stats()
    except Exception:  # stats are nice to have; health must not fail on them
        return {}
    return {k: stats.get(k) for k in ("model", "items", "graphs") if k in stats}
