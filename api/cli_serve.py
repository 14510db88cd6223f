"""``budgetkg serve``: run the HTTP service (SPARQL endpoint, JSON API, web pages) under uvicorn.

Binds 127.0.0.1 by default: putting it on a public interface is a deliberate ``--host 0.0.0.0``.
The admin token for uploads comes from the environment (``BUDGETKG_ADMIN_TOKEN``), never from the
command line, where other users of the machine could read it in the process list.

Running uvicorn directly also works (``uvicorn --factory api.app:app_from_env``); pass
``--h11-max-incomplete-event-size`` as ``request_head_limit`` computes, or GET queries over ~16 KB
are cut off by uvicorn before the endpoint sees them.
"""
from __future__ import annotations

from typing import Callable, Optional

import typer

from api.settings import Settings


def request_head_limit(settings: Settings) -> int:
    """Bytes of request line + headers uvicorn accepts: room for a GET carrying a query of
    ``max_query_bytes`` (URL-encoded), so the endpoint, not uvicorn, answers an oversized one."""
    from api.routers.sparql import body_limit

    return max(16 * 1024, body_limit(settings) + 8 * 1024)


def register(app: typer.Typer, get_settings: Callable[[], Settings]) -> None:
    """Add the ``serve`` command to the ``budgetkg`` CLI."""

    @app.command()
    def serve(host: Optional[str] = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1, "
                                                                        "setting host)."),
              port: Optional[int] = typer.Option(None, "--port", help="Port to listen on (default 8000, "
                                                                      "setting port)."),
              workers: Optional[int] = typer.Option(None, "--query-workers", min=1, max=64,
                                                    help="Worker processes evaluating public SPARQL queries."),
              timeout: Optional[float] = typer.Option(None, "--query-timeout", min=0.1,
                                                      help="Time limit of one SPARQL query in seconds."),
              request_timeout: Optional[float] = typer.Option(None, "--request-timeout", min=0.1,
                                                              help="Time limit of one question or search "
                                                                   "(/api/ask, /api/search, /api/similar) in "
                                                                   "seconds."),
              log_level: str = typer.Option("info", "--log-level", help="uvicorn log level (debug, info, "
                                                                        "warning, error).")):
        """Serve the SPARQL endpoint, the JSON API and the web pages."""
        import uvicorn

        from api.app import create_app
        from ontology.errors import BudgetKGError

        updates = {k: v for k, v in {"host": host, "port": port, "query_workers": workers,
                                     "query_timeout_s": timeout, "request_timeout_s": request_timeout}.items()
                   if v is not None}
        settings = get_settings().model_copy(update=updates)
        uploads = "enabled (admin token set)" if settings.admin_token else "disabled (no BUDGETKG_ADMIN_TOKEN)"
        typer.echo(f"budgetkg serving {settings.store} store on http://{settings.host}:{settings.port}/ "
                   f"— SPARQL at /sparql, API docs at /docs, uploads {uploads}", err=True)
        from api.service import store_from_settings

        # Opened here, not in the app's start-up, so an unreachable store is one clear line. The
        # on-disk store is read from its published generations: `budgetkg ingest` may run meanwhile.
        try:
            store = store_from_settings(settings, read_only=True, create=True)
        except BudgetKGError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1)
        try:
            uvicorn.run(create_app(settings, store=store), host=settings.host, port=settings.port,
                        log_level=log_level, timeout_graceful_shutdown=5,
                        h11_max_incomplete_event_size=request_head_limit(settings))
        finally:
            store.close()
