"""The FastAPI application: ``create_app(settings)`` wires the store, the search index, the SPARQL
query workers, the routers, the error handler and the web pages.

Heavy objects are opened in the lifespan, not at import: the graph store (unless the caller hands
one in), the pool of query workers (started from a snapshot of the public graphs), and the search
index, which loads in a background thread so the endpoint and pages answer while the model loads
(search routes say 503 "loading" until then). ``app_from_env`` is the factory for
``uvicorn --factory api.app:app_from_env`` and for tests that start a real server.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.app_state import IndexHandle, load_index, public_snapshot
from api.http_errors import handle_error
from api.query_workers import WorkerPool
from api.responses import SafeJSONResponse
from api.routers import disclosures, findings, health, ontology, pages, search, sparql
from api.settings import Settings, load_settings
from ontology.errors import BudgetKGError
from search.store import GraphStore

log = logging.getLogger("budgetkg.app")

STATIC_DIR = Path(__file__).parent / "static"
RESULT_HEADERS = ["X-Result-Truncated", "X-Result-Limit", "X-Result-Count", "X-Query-Time", "X-Query-Timeout"]


def create_app(settings: Settings, *, store: GraphStore | None = None) -> FastAPI:
    """The application for ``settings``. A ``store`` passed in is used (and not closed) instead of
    opening the configured one: tests fill a memory store and hand it over."""
    # docs_url/redoc_url off: FastAPI's pages load Swagger UI from a CDN; /docs is rendered by
    # api.routers.pages from the same OpenAPI schema instead.
    app = FastAPI(title="budgetkg", version="0.1.0", lifespan=_lifespan, default_response_class=SafeJSONResponse,
                  docs_url=None, redoc_url=None,
                  description="Knowledge graph of Chinese county budget disclosures: a public SPARQL "
                              "endpoint, search, questions and the disclosures themselves.")
    app.state.settings = settings
    app.state.store = store
    app.state.owns_store = store is None
    app.state.pool = None
    app.state.index = IndexHandle()
    app.state.write_lock = threading.Lock()  # one ingest into the store at a time
    app.state.refresh_lock = asyncio.Lock()  # one index + snapshot refresh at a time
    app.state.started = time.time()
    app.state.templates = pages.make_templates()

    for exc_type in (BudgetKGError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(exc_type, handle_error)

    app.add_middleware(SecurityHeaders)
    # Anyone may query from a browser page on another site: the data is public and nothing is
    # authorised by cookies (uploads use a bearer token), so "*" without credentials is safe.
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "OPTIONS"],
                       allow_headers=["Accept", "Content-Type", "Authorization"], expose_headers=RESULT_HEADERS,
                       max_age=3600)

    for module in (sparql, search, disclosures, findings, health, ontology, pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory api.app:app_from_env``: settings from the environment."""
    return create_app(load_settings())


@asynccontextmanager
async def _lifespan(app: FastAPI):
    state = app.state
    settings: Settings = state.settings
    if state.store is None:
        from api.service import store_from_settings

        state.store = await run_in_threadpool(store_from_settings, settings)
    remote = settings.store == "sparql"
    pool = WorkerPool(settings.query_workers, remote_url=settings.sparql_query_url if remote else None,
                      include_private=settings.serve_personal_data,
                      remote_auth=(settings.sparql_user, settings.sparql_password))
    snapshot = None if remote else await run_in_threadpool(public_snapshot, state.store, settings)
    await pool.start(snapshot)
    state.pool = pool
    loader = threading.Thread(target=load_index, args=(state.index, state.store, settings), daemon=True,
                              name="budgetkg-index-loader")
    loader.start()
    try:
        yield
    finally:
        state.pool = None
        await pool.close()
        if state.owns_store:
            if settings.store == "oxigraph":
                # An index still loading reads the on-disk store: let it finish before closing it.
                await asyncio.get_running_loop().run_in_executor(None, loader.join, 30)
            state.store.close()


class SecurityHeaders:
    """Headers on every response: no MIME sniffing (so a JSON or CSV body is never rendered as
    HTML), no framing, no referrer; pages get a CSP allowing only this server's own scripts and
    styles, so even injected markup could not run inline script."""

    CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                         (b"referrer-policy", b"no-referrer")]
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    extra.append((b"content-security-policy", self.CSP.encode()))
                headers += [(k, v) for k, v in extra if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
