"""The web pages: server-rendered Jinja templates (``api/templates``) with a little vanilla JS and
CSS (``api/static``), no CDN and no internet needed.

- ``/``: question box (Chinese or English) with the answer table, its sources and the SPARQL it
  ran (linked to the editor), search hits, and the list of disclosures;
- ``/disclosures/{id}``: totals, a chart of spending by functional class (inline SVG drawn here),
  projects with their indicators, findings and the source file;
- ``/indicator?iri=…``: one performance indicator and the indicators most similar to it;
- ``/findings``: every finding of the accounting checks;
- ``/sparql-editor``: a query editor with example queries, running against ``/sparql``;
- ``/docs``: the API reference, rendered from the OpenAPI schema (``/openapi.json``).

Document text is data: the Jinja environment autoescapes everything, the JS only ever sets
``textContent``, and the pages are served with a CSP that allows no inline script.
"""
from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import jinja2
from fastapi import APIRouter, Path as PathParam, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.catalog import Catalog
from api.deps import SettingsDep, StoreDep
from api.http_errors import ApiError, describe
from api.routers.search import ask

router = APIRouter(include_in_schema=False)

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

EXAMPLE_QUERIES = [
    ("Disclosures with department, county, year and total expenditure", """PREFIX bkg: <https://w3id.org/budgetkg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?disclosure ?department ?county ?year ?totalExpenditure WHERE {
  ?disclosure a bkg:Disclosure ; bkg:publishedBy ?dept .
  ?dept rdfs:label ?department .
  OPTIONAL { ?dept bkg:area/rdfs:label ?county }
  OPTIONAL { ?disclosure bkg:fiscalYear ?year }
  OPTIONAL { ?disclosure bkg:totalExpenditure ?totalExpenditure }
}
ORDER BY ?county ?year"""),
    ("The 20 largest projects (万元)", """PREFIX bkg: <https://w3id.org/budgetkg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?project ?amount ?department ?year WHERE {
  ?d bkg:hasProject ?p ; bkg:publishedBy/rdfs:label ?department .
  ?p rdfs:label ?project ; bkg:amount ?amount .
  OPTIONAL { ?d bkg:fiscalYear ?year }
}
ORDER BY DESC(?amount)
LIMIT 20"""),
    ("Indicators with a numeric target of at least 98", """PREFIX bkg: <https://w3id.org/budgetkg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?project ?indicator ?target WHERE {
  ?p bkg:hasIndicator ?i ; rdfs:label ?project .
  ?i rdfs:label ?indicator ; bkg:targetValue ?target ; bkg:targetNumber ?n .
  FILTER(?n >= 98)
}
LIMIT 100"""),
    ("Spending by functional class (类) per disclosure", """PREFIX bkg: <https://w3id.org/budgetkg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?disclosure ?code ?class ?amount WHERE {
  ?d bkg:hasBudgetLine ?line ; rdfs:label ?disclosure .
  ?line bkg:sourceTable <https://w3id.org/budgetkg/id/concept/table/expenditure> ;
        bkg:classification ?c ; bkg:amount ?amount ; rdfs:label ?class .
  ?c skos:notation ?code .
  FILTER(STRLEN(?code) = 3)
}
ORDER BY ?disclosure DESC(?amount)"""),
    ("Findings of the accounting checks", """PREFIX bkg: <https://w3id.org/budgetkg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?disclosure ?check ?severity ?message ?expected ?found WHERE {
  ?d bkg:hasFinding ?f ; rdfs:label ?disclosure .
  ?f bkg:checkName ?check ; bkg:severity ?severity .
  OPTIONAL { ?f rdfs:comment ?message }
  OPTIONAL { ?f bkg:expectedValue ?expected }
  OPTIONAL { ?f bkg:foundValue ?found }
}"""),
    ("Most cited legal documents (文号)", """PREFIX bkg: <https://w3id.org/budgetkg/ontology#>
SELECT ?number (COUNT(DISTINCT ?d) AS ?disclosures) WHERE {
  ?d bkg:cites ?doc . ?doc bkg:documentNumber ?number .
}
GROUP BY ?number
ORDER BY DESC(?disclosures) ?number
LIMIT 20"""),
]


# Display names of the disclosure-level figures (ingest.model.Measure values).
MEASURE_LABELS = {
    "totalRevenue": "收入总计 Total revenue", "totalExpenditure": "支出总计 Total expenditure",
    "currentYearRevenue": "本年收入合计 Current-year revenue",
    "currentYearExpenditure": "本年支出合计 Current-year expenditure",
    "generalBudgetRevenue": "一般公共预算拨款收入 General budget appropriation",
    "basicExpenditure": "基本支出 Basic expenditure", "projectExpenditure": "项目支出 Project expenditure",
    "carryover": "上年结转 Carry-over", "personnelExpenditure": "人员经费 Personnel",
    "publicExpenditure": "公用经费 Public expenses", "threePublicCosts": "“三公”经费 Three public costs",
    "operatingCosts": "机关运行经费 Operating costs", "procurementBudget": "政府采购预算 Procurement",
    "fixedAssetsValue": "固定资产 Fixed assets",
}


def make_templates() -> jinja2.Environment:
    """The page templates, autoescaped (document text can never become markup)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["amount"] = format_amount
    env.filters["source"] = format_source
    env.globals["measure_labels"] = MEASURE_LABELS
    return env


def format_amount(value) -> str:
    if value is None or value == "":
        return ""
    try:
        return f"{Decimal(str(value)):,.2f}"
    except ArithmeticError:
        return str(value)


def format_source(source) -> str:
    """'file, lines a–b' from the source shapes the API uses (dict, or text)."""
    if not source:
        return ""
    if isinstance(source, str):
        return source
    if isinstance(source, dict):
        parts = [str(source.get(k)) for k in ("file", "disclosure") if source.get(k)]
        lines = source.get("lines") or [source.get("line_start"), source.get("line_end")]
        start, end = (list(lines) + [None, None])[:2]
        if start is not None:
            parts.append(f"lines {start}–{end}" if end not in (None, start) else f"line {start}")
        if source.get("page") is not None:
            parts.append(f"p. {source['page']}")
        return ", ".join(parts)
    return str(source)


def render(request: Request, name: str, **context) -> HTMLResponse:
    template = request.app.state.templates.get_template(name)
    return HTMLResponse(template.render(request=request, **context))


def catalog(request: Request) -> Catalog:
    state = request.app.state
    return Catalog(state.store, include_private=state.settings.serve_personal_data)


QuestionParam = Annotated[str | None, Query(max_length=500)]


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, q: QuestionParam = None):
    handle = request.app.state.index
    answer = hits = error = None
    question = (q or "").strip()
    if question:
        if handle.index is None:
            error = f"Search is not available yet: {handle.error}"
        else:
            # The answer and the search hits side by side, both within the one time limit.
            requests, limit = request.app.state.requests, request.app.state.settings.request_timeout_s
            index = handle.index
            answer, hits = await asyncio.gather(ask(request, question, request.app.state.store, index, limit),
                                                requests.search(index, question, limit, k=10),
                                                return_exceptions=True)
            if isinstance(answer, Exception):  # show the error on the page, in the API's words
                error, answer = describe(answer).message, None
            if isinstance(hits, Exception):
                error, hits = error or describe(hits).message, None
    disclosures = await run_in_threadpool(lambda: catalog(request).disclosures())
    return render(request, "index.html", question=question, answer=answer, hits=hits, error=error,
                  disclosures=disclosures, index_status=handle.status)


@router.get("/disclosures/{key}", response_class=HTMLResponse)
async def disclosure_page(request: Request,
                          key: Annotated[str, PathParam(max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]):
    d = await run_in_threadpool(lambda: catalog(request).disclosure(key))
    if d is None:
        raise ApiError(404, "not_found", f"no disclosure with id {key!r}")
    return render(request, "disclosure.html", d=d, chart=chart_geometry(d["chart"]))


@router.get("/indicator", response_class=HTMLResponse)
async def indicator_page(request: Request, iri: Annotated[str, Query(min_length=1, max_length=500)]):
    indicator = await run_in_threadpool(lambda: catalog(request).indicator(iri))
    if indicator is None:
        raise ApiError(404, "not_found", "no performance indicator with this IRI")
    handle = request.app.state.index
    similar, similar_error = [], None
    if handle.index is None:
        similar_error = f"Similar indicators are not available yet: {handle.error}"
    else:
        requests = request.app.state.requests
        try:
            similar = await requests.similar(handle.require(), iri, request.app.state.settings.request_timeout_s,
                                             k=10)
        except Exception as exc:
            similar_error = describe(exc).message
    return render(request, "indicator.html", ind=indicator, similar=similar, similar_error=similar_error)


@router.get("/findings", response_class=HTMLResponse)
async def findings_page(request: Request):
    items = await run_in_threadpool(lambda: catalog(request).findings())
    return render(request, "findings.html", findings=items)


@router.get("/sparql-editor", response_class=HTMLResponse)
async def sparql_editor(request: Request, settings: SettingsDep, store: StoreDep,
                        query: Annotated[str | None, Query(max_length=100_000)] = None):
    return render(request, "sparql_editor.html", query=query or EXAMPLE_QUERIES[0][1], examples=EXAMPLE_QUERIES,
                  timeout=settings.query_timeout_s, max_rows=settings.max_result_rows)


@router.get("/docs", response_class=HTMLResponse)
async def api_docs(request: Request):
    """The API reference, rendered here from the OpenAPI schema (Swagger UI would need a CDN)."""
    schema = request.app.openapi()
    operations = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            params = [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                       "description": p.get("description") or p.get("schema", {}).get("description", ""),
                       "type": _schema_type(p.get("schema", {}))} for p in op.get("parameters", [])]
            operations.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                               "description": op.get("description", ""), "tag": (op.get("tags") or [""])[0],
                               "params": params, "body": "requestBody" in op})
    return render(request, "api_docs.html", schema=schema, operations=operations)


def _schema_type(schema: dict) -> str:
    if "anyOf" in schema:
        return " | ".join(_schema_type(s) for s in schema["anyOf"])
    if schema.get("enum"):
        return " | ".join(map(str, schema["enum"]))
    bounds = [f"{k} {schema[k]}" for k in ("minimum", "maximum", "minLength", "maxLength") if k in schema]
    return schema.get("type", "") + (f" ({', '.join(bounds)})" if bounds else "")


# ---------------------------------------------------------------- the chart


def chart_geometry(chart: dict, width: int = 640, bar_height: int = 26, label_width: int = 230) -> dict:
    """Positions of the bars of the spending chart, computed here so the page needs no script."""
    bars = chart.get("bars") or []
    total = chart.get("total") or 0
    top = max((b["amount"] for b in bars), default=0)
    room = width - label_width - 120
    out = []
    for i, bar in enumerate(bars):
        share = (bar["amount"] / total * 100) if total else 0
        length = int(room * bar["amount"] / top) if top else 0
        out.append({**bar, "y": i * bar_height, "width": max(length, 1), "share": f"{share:.1f}%",
                    "text_x": label_width + max(length, 1) + 6})
    return {"table": chart.get("table"), "total": total, "bars": out, "width": width,
            "height": max(len(out) * bar_height, bar_height), "label_width": label_width,
            "bar_height": bar_height - 6}
