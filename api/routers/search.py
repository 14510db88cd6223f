"""``/api/search``, ``/api/similar``, ``/api/ask``: the search issue's commands over HTTP.

Parameters and JSON shapes follow ``budgetkg search|similar|ask --json``. Input is bounded (text
length, ``k``) and reaches SPARQL only through the search layer's escaped literals and checked
IRIs. Every request runs under a time limit (setting ``request_timeout_s``; the ``timeout``
parameter may shorten it) through ``api.bounded.RequestRunner``: no lock is shared between
requests, at most one per core computes at a time, ask's SPARQL runs in the killable query
workers, and a request past its limit gets a 504 ``query_timeout`` error with a hint.
"""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from api import answer_formats as formats
from api.deps import IndexDep, RequestsDep, StoreDep

router = APIRouter(tags=["search"])

MAX_TEXT = 500
Text = Annotated[str, Query(min_length=1, max_length=MAX_TEXT, description="Search text, question, or an "
                                                                          "indicator IRI (similar).")]
K = Annotated[int, Query(ge=1, le=100, description="Number of hits (1-100).")]
ItemType = Annotated[str | None, Query(max_length=20, description="Only hits of this type: indicator, project, "
                                                                   "legal, text (or line for budget lines).")]
Mode = Annotated[Literal["hybrid", "dense", "lexical"], Query(description="Ranking: hybrid (default), dense "
                                                                        "or lexical.")]
Timeout = Annotated[str | None, Query(max_length=20, description="Time limit in seconds; at most the server's "
                                                                 "request_timeout_s (a longer one is shortened).")]


@router.get("/api/search", summary="Hybrid (dense + lexical) search over indicators, projects, documents, text",
            responses=formats.DOWNLOAD_RESPONSES)
async def api_search(request: Request, q: Text, index: IndexDep, requests: RequestsDep, k: K = 10,
                     type: ItemType = None, mode: Mode = "hybrid", timeout: Timeout = None,
                     format: formats.OutFormat = "json") -> dict:
    limit = requests.limit(timeout)
    hits = await requests.search(index.require(), q, limit, k=k, type=type, mode=mode)
    return await formats.respond(request, "search", {"query": q, "k": k, "type": type, "hits": hits}, format)


@router.get("/api/similar", summary="Performance indicators similar to an indicator (IRI) or to free text",
            responses=formats.DOWNLOAD_RESPONSES)
async def api_similar(request: Request, q: Text, index: IndexDep, requests: RequestsDep, k: K = 10,
                      timeout: Timeout = None, format: formats.OutFormat = "json") -> dict:
    limit = requests.limit(timeout)
    hits = await requests.similar(index.require(), q, limit, k=k)
    return await formats.respond(request, "similar", {"query": q, "k": k, "hits": hits}, format)


@router.get("/api/ask", summary="Answer a question (Chinese or English) from the graph, with sources and SPARQL",
            responses=formats.DOWNLOAD_RESPONSES)
async def api_ask(request: Request, q: Text, index: IndexDep, store: StoreDep, requests: RequestsDep,
                  timeout: Timeout = None, format: formats.OutFormat = "json") -> dict:
    limit = requests.limit(timeout)
    return await formats.respond(request, "ask", await ask(request, q, store, index.require(), limit), format)


async def ask(request: Request, question: str, store, index, limit_s: float) -> dict:
    """``search.qa.ask`` under ``limit_s`` with its SPARQL in the server's query workers."""
    state = request.app.state
    return await state.requests.ask(question, store, index, limit_s, get_pool=lambda: state.pool)
