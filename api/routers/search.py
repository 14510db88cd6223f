"""``/api/search``, ``/api/similar``, ``/api/ask``: the search issue's commands over HTTP.

Parameters and JSON shapes follow ``budgetkg search|similar|ask --json``. Input is bounded (text
length, ``k``) and reaches SPARQL only through the search layer's escaped literals and checked
IRIs. The embedding model and the FAISS index are used by one request at a time (a lock): they
are fast (milliseconds) but not documented as thread-safe.
"""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from api import answer_formats as formats
from api.deps import IndexDep, StoreDep

router = APIRouter(tags=["search"])

MAX_TEXT = 500
Text = Annotated[str, Query(min_length=1, max_length=MAX_TEXT, description="Search text, question, or an "
                                                                          "indicator IRI (similar).")]
K = Annotated[int, Query(ge=1, le=100, description="Number of hits (1-100).")]
ItemType = Annotated[str | None, Query(max_length=20, description="Only hits of this type: indicator, project, "
                                                                   "legal, text (or line for budget lines).")]
Mode = Annotated[Literal["hybrid", "dense", "lexical"], Query(description="Ranking: hybrid (default), dense "
                                                                        "or lexical.")]


@router.get("/api/search", summary="Hybrid (dense + lexical) search over indicators, projects, documents, text",
            responses=formats.DOWNLOAD_RESPONSES)
async def api_search(request: Request, q: Text, index: IndexDep, k: K = 10, type: ItemType = None,
                     mode: Mode = "hybrid", format: formats.OutFormat = "json") -> dict:
    search_index = index.require()
    hits = await run_in_threadpool(_locked, index, lambda: search_index.search(q.strip(), k=k, type=type, mode=mode))
    return await formats.respond(request, "search", {"query": q, "k": k, "type": type, "hits": hits}, format)


@router.get("/api/similar", summary="Performance indicators similar to an indicator (IRI) or to free text",
            responses=formats.DOWNLOAD_RESPONSES)
async def api_similar(request: Request, q: Text, index: IndexDep, k: K = 10,
                      format: formats.OutFormat = "json") -> dict:
    search_index = index.require()
    hits = await run_in_threadpool(_locked, index, lambda: search_index.similar(q.strip(), k=k))
    return await formats.respond(request, "similar", {"query": q, "k": k, "hits": hits}, format)


@router.get("/api/ask", summary="Answer a question (Chinese or English) from the graph, with sources and SPARQL",
            responses=formats.DOWNLOAD_RESPONSES)
async def api_ask(request: Request, q: Text, index: IndexDep, store: StoreDep,
                  format: formats.OutFormat = "json") -> dict:
    index.require()
    return await formats.respond(request, "ask", await run_in_threadpool(ask, q, store, index), format)


def ask(question: str, store, handle) -> dict:
    """``search.qa.ask`` under the index lock; the answer dict as the CLI prints it."""
    from search.qa import ask as qa_ask

    return _locked(handle, lambda: qa_ask(question.strip(), store, handle.index))


def _locked(handle, call):
    with handle.lock:
        return call()
