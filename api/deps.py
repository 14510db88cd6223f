"""Shared FastAPI dependencies as ``Annotated`` aliases.

The heavy objects (settings, graph store, search index, query-worker pool, request runner) are opened once in
``api.app``'s lifespan and kept on ``app.state``; routes receive them through these aliases, and
tests swap them with ``app.dependency_overrides[get_store] = ...``.
"""
from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request

from api.app_state import IndexHandle
from api.bounded import RequestRunner
from api.http_errors import ApiError
from api.query_workers import WorkerPool
from api.settings import Settings
from search.store import GraphStore


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_store(request: Request) -> GraphStore:
    return request.app.state.store


def get_pool(request: Request) -> WorkerPool:
    pool = request.app.state.pool
    if pool is None:
        raise ApiError(503, "unavailable", "the SPARQL query workers are not running yet; retry in a moment")
    return pool


def get_index(request: Request) -> IndexHandle:
    """The search-index handle; routes call ``handle.require()`` (after their input is validated)."""
    return request.app.state.index


def get_requests(request: Request) -> RequestRunner:
    """The runner of questions and searches (time limit, compute slots: ``api.bounded``)."""
    return request.app.state.requests


def require_admin(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> None:
    """Uploads need ``Authorization: Bearer <admin_token>``; without a configured token they are off."""
    if not settings.admin_token:
        raise ApiError(403, "uploads_disabled", "adding documents over HTTP is disabled on this server: "
                                                "set BUDGETKG_ADMIN_TOKEN to enable POST /api/disclosures")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "send the admin token as 'Authorization: Bearer <token>'")
    if not secrets.compare_digest(token.strip().encode(), settings.admin_token.encode()):
        raise ApiError(401, "unauthorized", "wrong admin token")


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[GraphStore, Depends(get_store)]
PoolDep = Annotated[WorkerPool, Depends(get_pool)]
IndexDep = Annotated[IndexHandle, Depends(get_index)]
RequestsDep = Annotated[RequestRunner, Depends(get_requests)]
AdminDep = Annotated[None, Depends(require_admin)]
