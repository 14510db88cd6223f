"""The HTTP API's one error shape and the one handler that produces it.

Every error, whatever raised it (a refused SPARQL query, a timeout, a validation failure, a
missing page, a bug), leaves the server as::

    {"error": {"code": "query_timeout", "message": "one sentence naming the problem and the fix",
               "detail": <object or null>}}

with a fitting status. Pages for browsers get the same fields rendered as HTML. ``describe``
maps exception types to (status, code, message, detail); ``handle_error`` is the handler
``api.app`` registers for all of them. ``tests/test_http_errors.py`` pins the shape (and
``tests/test_http_limits.py`` the timeout of questions and searches: 504 ``query_timeout`` like
``/sparql``'s, with ``limit_s``, the request kind, the stage it reached and a hint).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from http import HTTPStatus

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.bounded import RequestTimeout
from api.query_workers import QueryFailed, QuerySyntaxError, WorkersBusy
from api.sparql_guard import GuardRejected
from api.sparql_results import NotAcceptable, safe_json
from ontology.errors import (BudgetKGError, IndexMismatch, InputError, QueryRejected, QueryTimeout, StoreError,
                             UnknownFormat)

log = logging.getLogger("budgetkg.http")


class ApiError(BudgetKGError):
    """An error the API raises on purpose, with its status and code."""

    def __init__(self, status: int, code: str, message: str, detail: object = None,
                 headers: dict[str, str] | None = None):
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.headers = headers or {}
        super().__init__(message)


@dataclass
class ErrorInfo:
    status: int
    code: str
    message: str
    detail: object = None
    headers: dict | None = None

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "detail": self.detail}}


_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 406: "not_acceptable", 411: "length_required",
                 413: "too_large", 414: "uri_too_long", 415: "unsupported_media_type", 422: "invalid_request",
                 429: "too_many_requests", 500: "internal_error", 503: "unavailable", 504: "timeout"}


def describe(exc: Exception) -> ErrorInfo:
    """Status, code, message and detail for any exception."""
    if isinstance(exc, ApiError):
        return ErrorInfo(exc.status, exc.code, exc.message, exc.detail, exc.headers)
    if isinstance(exc, GuardRejected):
        return ErrorInfo(exc.status, exc.code, exc.reason)
    if isinstance(exc, QueryRejected):
        return ErrorInfo(exc.status, "invalid_request", exc.reason)
    if isinstance(exc, QuerySyntaxError):
        return ErrorInfo(400, "query_syntax", str(exc))
    if isinstance(exc, RequestTimeout):  # ask, search, similar: the /sparql timeout's shape, their own hint
        return ErrorInfo(504, "query_timeout", str(exc), {"limit_s": exc.seconds, "request": exc.kind,
                                                         "stage": exc.stage, "hint": exc.hint})
    if isinstance(exc, QueryTimeout):
        return ErrorInfo(504, "query_timeout", f"{exc}; simplify the query (add LIMIT, narrow the patterns)",
                         {"limit_s": exc.seconds})
    if isinstance(exc, WorkersBusy):
        return ErrorInfo(503, "busy", str(exc), {"workers": exc.workers}, {"Retry-After": "2"})
    if isinstance(exc, QueryFailed):
        return ErrorInfo(exc.status, "query_failed", exc.reason)
    if isinstance(exc, NotAcceptable):
        return ErrorInfo(406, "not_acceptable", str(exc), {"available": exc.offered})
    if isinstance(exc, UnknownFormat):
        return ErrorInfo(415, "unsupported_format", str(exc))
    if isinstance(exc, InputError):
        return ErrorInfo(422, "bad_document", str(exc), {"file": exc.path, "line": exc.line, "reason": exc.reason})
    if isinstance(exc, IndexMismatch):
        return ErrorInfo(503, "index_unavailable", str(exc))
    if isinstance(exc, StoreError):
        return ErrorInfo(503, "store_unavailable", str(exc))
    if isinstance(exc, BudgetKGError):
        return ErrorInfo(400, "bad_request", str(exc))
    if isinstance(exc, RequestValidationError):
        problems = [{"where": ".".join(str(p) for p in err.get("loc", ())), "problem": err.get("msg", "")}
                    for err in exc.errors()]
        summary = "; ".join(f"{p['where']}: {p['problem']}" for p in problems[:3])
        return ErrorInfo(422, "invalid_request", f"invalid request: {summary}", problems)
    if isinstance(exc, StarletteHTTPException):
        status = exc.status_code
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
        if status == 404 and message == "Not Found":
            message = "no such page or resource; see /docs for the API"
        return ErrorInfo(status, _STATUS_CODES.get(status, f"http_{status}"), message, None,
                         dict(exc.headers or {}))
    log.exception("unhandled error", exc_info=exc)
    return ErrorInfo(500, "internal_error", "internal error: the server failed on this request; it has been "
                                            "logged")


def wants_html(request: Request) -> bool:
    """Browsers asking for a page (not the API, not the SPARQL endpoint) get HTML errors."""
    path = request.url.path
    if path.startswith(("/api", "/sparql", "/docs", "/openapi", "/static")) and path != "/sparql-editor":
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept


async def handle_error(request: Request, exc: Exception) -> Response:
    """The one exception handler: the error shape as JSON, or as a page for browsers."""
    info = describe(exc)
    headers = dict(info.headers or {})
    if info.status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    templates = getattr(request.app.state, "templates", None)
    if templates is not None and wants_html(request):
        return HTMLResponse(templates.get_template("error.html").render(request=request, error=info.body()["error"],
                                                                         status=info.status),
                            status_code=info.status, headers=headers)
    return Response(safe_json(info.body()), status_code=info.status, media_type="application/json",
                    headers=headers)
