"""``budgetkg mcp``: the graph for AI assistants, as a Model Context Protocol server over stdio.

Read-only tools, each answering with the very JSON of the HTTP API plus a short text summary:

=============================  ==========================================================
tool                           same as
=============================  ==========================================================
``ask(question)``              ``GET /api/ask?q=``
``sparql(query, timeout_s)``   ``GET /sparql`` (SPARQL 1.1 JSON results; JSON-LD graphs)
``search(text, k, type)``      ``GET /api/search``
``similar(text, k)``           ``GET /api/similar``
``disclosure(id)``             ``GET /api/disclosures/{id}``
=============================  ==========================================================

"Same" is meant literally: the server runs the HTTP application (``api.app.create_app``) in
process, with its lifespan (store opened read-only, the pool of killable SPARQL query workers,
the search index loading in the background), and every tool call is an in-process request to
the route above. So the SPARQL guard (Update, LOAD and SERVICE refused), the time limits, the row
cap and the personal-data rules are the endpoint's own, not a second copy that could drift; a
refusal or a timeout comes back as a tool error carrying the API's error JSON
(``{"error": {"code", "message", "detail"}}``).

Each call is bounded: the route's own limit (SPARQL: ``min(timeout_s, query_timeout_s)``, the
worker is killed at the deadline) and, around it, ``query_timeout_s`` plus a little slack for
every tool. Waiting for the search index to finish loading after start-up is not counted
against a query's limit (at most ``INDEX_WAIT_S``).

The MCP SDK owns stdout while serving (stray prints from libraries go to stderr), so logs and
the model's loading messages never corrupt the protocol.
"""
from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager
from typing import Annotated, Any, Callable

from pydantic import Field  # tool parameters are described with it (annotations are read at start-up)

log = logging.getLogger("budgetkg.mcp")

# The in-process requests go to this base; permalinks are rewritten from it (to ``public_url``
# when set, else relative), so no made-up host ever reaches a client.
INPROCESS_BASE = "http://budgetkg.mcp.invalid"
INDEX_WAIT_S = 120.0
SLACK_S = 2.0
SUMMARY_ITEMS = 5
SPARQL_ACCEPT = "application/sparql-results+json, application/ld+json;q=0.9"

INSTRUCTIONS = (
    "budgetkg: a knowledge graph of Chinese county budget disclosures (部门预算/决算公开). Amounts are in "
    "万元 (ten thousand yuan). Every row and hit carries its source (file, lines, page): cite it. Prefer "
    "`ask` for questions, `search` to find indicators/projects/documents/passages by meaning or by exact "
    "code or 文号, `similar` for comparable performance indicators, `disclosure` for one document in "
    "full, and `sparql` (read-only, time-limited, row-capped) for anything else; the ontology's "
    "namespace is https://w3id.org/budgetkg/ontology# (prefix bkg:).")


class Backend:
    """The HTTP application, run in this process, and a client that calls its routes."""

    def __init__(self, settings, store=None):
        self.settings = settings
        self.app = None
        self.client = None
        self._store = store

    @asynccontextmanager
    async def running(self):
        import httpx
        from starlette.concurrency import run_in_threadpool

        from api.app import create_app
        from api.service import store_from_settings

        # Read-only: an MCP client must never write, and `budgetkg serve` or `ingest` may hold the
        # store's writer lock at the same time.
        if self._store is None:
            self._store = await run_in_threadpool(lambda: store_from_settings(self.settings, read_only=True))
        self.app = create_app(self.settings, store=self._store)
        try:
            async with self.app.router.lifespan_context(self.app):
                transport = httpx.ASGITransport(app=self.app)
                async with httpx.AsyncClient(transport=transport, base_url=INPROCESS_BASE) as client:
                    self.client = client
                    yield self
        finally:
            self.client = None
            # The index loads in a background thread that reads the store: if the client left
            # before it finished, leave the store to the process's exit rather than pull it away.
            if getattr(getattr(self.app.state, "index", None), "status", None) != "loading":
                try:
                    self._store.close()
                except RuntimeError as exc:  # a read-only Oxigraph store cannot flush; it closes when collected
                    log.debug("store close: %s", exc)

    async def get(self, path: str, params: dict | None = None, headers: dict | None = None):
        return await self.client.get(path, params={k: v for k, v in (params or {}).items() if v is not None},
                                     headers=headers)

    async def wait_for_index(self, limit_s: float = INDEX_WAIT_S) -> None:
        """Return once the search index is loaded, or unavailable (the route then says why)."""
        import anyio

        with anyio.move_on_after(limit_s):
            while True:
                status = (await self.get("/api/health")).json().get("index", {}).get("status")
                if status != "loading":
                    return
                await anyio.sleep(0.25)

    def public_link(self, link: str | None) -> str | None:
        if not link or not link.startswith(INPROCESS_BASE):
            return link
        return (getattr(self.settings, "public_url", None) or "").rstrip("/") + link[len(INPROCESS_BASE):]


# ------------------------------------------------------------------ results


def tool_result(payload: dict, summary: str):
    """A successful call: the summary, then the JSON as text (for clients that read only text
    content, as the MCP spec recommends), and the JSON as structured content."""
    from mcp.types import CallToolResult, TextContent

    text = json.dumps(payload, ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=summary), TextContent(type="text", text=text)],
                          structured_content=payload)


def tool_error(error: dict):
    """A refused or failed call: ``is_error`` with the HTTP API's error JSON."""
    from mcp.types import CallToolResult, TextContent

    body = {"error": error}
    message = f"{error.get('code')}: {error.get('message')}"
    return CallToolResult(content=[TextContent(type="text", text=message),
                                   TextContent(type="text", text=json.dumps(body, ensure_ascii=False))],
                          structured_content=body, is_error=True)


def _error_of(response) -> dict:
    try:
        error = response.json().get("error")
    except ValueError:
        error = None
    if isinstance(error, dict) and "code" in error:
        return {"code": error.get("code"), "message": error.get("message"), "detail": error.get("detail")}
    return {"code": "http_error", "message": f"HTTP {response.status_code}: {response.text[:300]}", "detail": None}


# ------------------------------------------------------------------ summaries


def _source(src: dict | None) -> str:
    if not src:
        return ""
    lines = src.get("lines")
    where = ""
    if lines:
        where = f":{lines[0]}" if lines[0] == lines[-1] else f":{lines[0]}-{lines[-1]}"
    page = f" p.{src['page']}" if src.get("page") is not None else ""
    return f"{src.get('file') or ''}{where}{page}"


def _item_line(n: int, item: dict) -> str:
    bits = [item.get("county"), item.get("department"), str(item.get("fiscal_year") or "")]
    where = " ".join(b for b in bits if b)
    amount = f", {item['amount']:,.2f} 万元" if isinstance(item.get("amount"), (int, float)) else ""
    target = f", target {item['target_value']}" if item.get("target_value") else ""
    kind = f"[{item['type']}] " if item.get("type") else ""
    return f"{n}. {kind}{item.get('label') or item.get('iri')}{amount}{target} — {where} ({_source(item.get('source'))})"


def summarize_ask(payload: dict) -> str:
    rows = payload.get("answers") or []
    lines = [payload.get("summary") or "", f"{len(rows)} rows."]
    lines += [_item_line(i, r) for i, r in enumerate(rows[:SUMMARY_ITEMS], 1)]
    if len(rows) > SUMMARY_ITEMS:
        lines.append(f"… {len(rows) - SUMMARY_ITEMS} more in the JSON.")
    if payload.get("permalink"):
        lines.append(f"Permalink: {payload['permalink']}")
    return "\n".join(line for line in lines if line)


def summarize_hits(payload: dict) -> str:
    hits = payload.get("hits") or []
    lines = [f"{len(hits)} hits for {payload.get('query')!r}."]
    lines += [_item_line(i, h) for i, h in enumerate(hits[:SUMMARY_ITEMS], 1)]
    if len(hits) > SUMMARY_ITEMS:
        lines.append(f"… {len(hits) - SUMMARY_ITEMS} more in the JSON.")
    return "\n".join(lines)


def summarize_sparql(payload: dict) -> str:
    if "boolean" in payload:
        return f"ASK: {str(payload['boolean']).lower()}"
    if "results" in payload:
        variables = payload.get("head", {}).get("vars", [])
        rows = payload["results"].get("bindings", [])
        capped = " (capped: the result has more rows)" if payload.get("truncated") else ""
        lines = [f"{len(rows)} rows{capped}; columns: {', '.join(variables)}"]
        for row in rows[:SUMMARY_ITEMS]:
            lines.append("  " + "; ".join(f"{v}={row[v]['value']}" for v in variables if v in row))
        return "\n".join(lines)
    nodes = payload.get("@graph", []) if isinstance(payload, dict) else []
    return f"graph (JSON-LD) with {len(nodes)} nodes"


def summarize_disclosure(payload: dict) -> str:
    totals = payload.get("totals") or {}
    total = totals.get("totalExpenditure", totals.get("currentYearExpenditure"))
    money = f", total expenditure {total:,.2f} 万元" if isinstance(total, (int, float)) else ""
    return (f"{payload.get('label') or payload.get('id')} ({payload.get('county') or ''} "
            f"{payload.get('fiscal_year') or ''}, {payload.get('kind') or ''}){money}: "
            f"{len(payload.get('projects') or [])} projects, {len(payload.get('budget_lines') or [])} budget lines, "
            f"{len(payload.get('findings') or [])} findings; source {payload.get('file') or ''}. "
            f"Web page: /disclosures/{payload.get('id')}")


# ------------------------------------------------------------------ the server


def build_server(settings, store=None):
    """The MCP server for ``settings`` (``api.settings.Settings``); ``run()`` serves stdio. A ``store``
    passed in (opened read-only) is used and closed with the server."""
    import anyio
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    # No uploads through the in-process app, whatever the environment says.
    backend = Backend(settings.model_copy(update={"admin_token": None}), store)
    limit_s = float(settings.query_timeout_s)

    @asynccontextmanager
    async def lifespan(_server):
        async with backend.running():
            yield {}

    server = MCPServer("budgetkg", title="budgetkg: Chinese county budget disclosures", version="0.1.0",
                       instructions=INSTRUCTIONS, lifespan=lifespan, log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                open_world_hint=False)

    async def call(path: str, params: dict, summarize: Callable[[dict], str], *, needs_index: bool,
                   headers: dict | None = None, seconds: float | None = None):
        if needs_index:
            await backend.wait_for_index()
        seconds = limit_s if seconds is None else seconds
        try:
            with anyio.fail_after(seconds + SLACK_S):
                response = await backend.get(path, params, headers)
        except TimeoutError:
            return tool_error({"code": "query_timeout", "message": f"the call did not finish within its time "
                               f"limit of {seconds:g} s (setting query_timeout_s)", "detail": {"limit_s": seconds}})
        if response.status_code >= 400:
            return tool_error(_error_of(response))
        payload: Any = response.json()
        if isinstance(payload, dict) and "permalink" in payload:
            payload["permalink"] = backend.public_link(payload["permalink"])
        if not isinstance(payload, dict):  # JSON-LD of a CONSTRUCT can be a bare list
            payload = {"@graph": payload}
        return tool_result(payload, summarize(payload))

    @server.tool(annotations=read_only)
    async def ask(question: Annotated[str, Field(min_length=1, max_length=500, description=(
            "A question in Chinese or English, e.g. '哪些县有医疗救助项目' or 'what is the total 2023 budget of "
            "兴县医疗保障局'."))]):
        """Answer a question from the graph: rows (county, department, fiscal_year, label, amount in 万元,
        source file/lines/page, IRI), the SPARQL it ran, evidence passages, a summary and a permalink.
        Where the question cannot be answered it says so; it never invents a row."""
        return await call("/api/ask", {"q": question}, summarize_ask, needs_index=True)

    @server.tool(annotations=read_only)
    async def sparql(query: Annotated[str, Field(min_length=1, description=(
            "A SPARQL 1.1 SELECT, ASK, CONSTRUCT or DESCRIBE query. The default graph is the union of the "
            "disclosures' graphs; prefix bkg: <https://w3id.org/budgetkg/ontology#>."))],
            timeout_s: Annotated[float | None, Field(gt=0, description=(
                "Time limit in seconds; at most the server's query_timeout_s."))] = None):
        """Run a read-only SPARQL query, exactly as the public /sparql endpoint does: SPARQL 1.1 JSON
        results for SELECT/ASK (with 'truncated' when the row cap was hit), JSON-LD for CONSTRUCT/
        DESCRIBE. Update, LOAD and SERVICE are refused; the query is stopped at its time limit."""
        seconds = min(timeout_s or limit_s, limit_s)
        return await call("/sparql", {"query": query, "timeout": f"{seconds:g}"}, summarize_sparql,
                          needs_index=False, headers={"Accept": SPARQL_ACCEPT}, seconds=seconds)

    @server.tool(annotations=read_only)
    async def search(text: Annotated[str, Field(min_length=1, max_length=500, description=(
            "What to look for, in Chinese or English; a classification code (2101202) or a 文号 works too."))],
            k: Annotated[int, Field(ge=1, le=100, description="Number of hits (1-100).")] = 10,
            type: Annotated[str | None, Field(max_length=20, description=(
                "Only hits of this type: indicator, project, legal, text or line."))] = None):
        """Hybrid (semantic + lexical) search over performance indicators, projects, legal documents,
        budget lines and text passages; each hit has its source file and lines."""
        return await call("/api/search", {"q": text, "k": k, "type": type}, summarize_hits, needs_index=True)

    @server.tool(annotations=read_only)
    async def similar(text: Annotated[str, Field(min_length=1, max_length=500, description=(
            "An indicator's IRI, or free text describing an indicator (e.g. '群众满意度')."))],
            k: Annotated[int, Field(ge=1, le=100, description="Number of hits (1-100).")] = 10):
        """Performance indicators most similar to one indicator or to a description, across
        departments, counties and years, with their targets and sources."""
        return await call("/api/similar", {"q": text, "k": k}, summarize_hits, needs_index=True)

    @server.tool(annotations=read_only)
    async def disclosure(id: Annotated[str, Field(min_length=1, max_length=120, description=(
            "The disclosure's identifier, e.g. '2023-budget-6a4225031f02' (the part after /disclosure/ in "
            "its IRI)."))]):
        """One disclosure in full: department, county, year, totals, budget lines, projects with their
        performance indicators, findings of the accounting checks, cited documents and the source file."""
        from urllib.parse import quote

        return await call(f"/api/disclosures/{quote(id, safe='')}", {}, summarize_disclosure, needs_index=False)

    return server


def serve(settings) -> None:
    """Serve MCP over this process's stdin/stdout until the client closes it. The store is opened
    first, so a missing or unreadable store is one error line before any protocol starts."""
    from api.service import store_from_settings

    store = store_from_settings(settings, read_only=True)
    build_server(settings, store).run("stdio")


def register(app, get_settings: Callable) -> None:
    """Add ``budgetkg mcp`` to the CLI (``api.cli`` calls this)."""
    import typer

    @app.command()
    def mcp():
        """Serve the graph to AI assistants (Model Context Protocol over stdio, read-only).

        Tools ask, sparql, search, similar and disclosure answer with the HTTP API's JSON."""
        try:
            import mcp as _sdk  # noqa: F401
        except ImportError:
            typer.echo("error: the MCP SDK is not installed (pip install mcp)", err=True)
            raise typer.Exit(1) from None
        from ontology.errors import BudgetKGError

        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        try:
            serve(get_settings())
        except BudgetKGError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
