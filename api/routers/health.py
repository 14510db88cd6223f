"""``/api/health``: is the service up, what does it serve, how are the query workers doing.

``readiness`` says which parts are ready (store, query workers, search index, warm-up of the model
and the question parser) and how many seconds after the process started each became ready;
``requests`` shows the time limit of questions and searches, how many compute or wait, and counters.

Cheap enough to poll: counts come from the query workers' snapshot and the store's graph list,
and memory figures from /proc (the load test reads them to watch for growth).
"""
from __future__ import annotations

import time

from fastapi import APIRouter, Request

from api.deps import SettingsDep, StoreDep
from api.query_workers import rss_mb
from search.store import is_private_graph

router = APIRouter(tags=["service"])


@router.get("/api/health", summary="Service status, data counts and query-worker state")
def health(request: Request, settings: SettingsDep, store: StoreDep) -> dict:
    state = request.app.state
    graphs = [g for g in store.graph_names() if not is_private_graph(g)]
    handle = state.index
    if handle.index is not None:
        index = {"status": "ready", **_index_stats(handle)}
    else:
        index = {"status": handle.status, "reason": handle.error}
    pool = state.pool
    return {
        "status": "ok" if pool is not None else "starting",
        "store": settings.store,
        "public_graphs": len(graphs),
        "disclosures": sum(1 for g in graphs if "/graph/disclosure/" in g),
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


def _index_stats(handle) -> dict:
    try:
        stats = handle.index.stats()
    except Exception:  # stats are nice to have; health must not fail on them
        return {}
    return {k: stats.get(k) for k in ("model", "items", "graphs") if k in stats}
