"""Answers and search hits out to spreadsheets: the rows of ``ask``, ``search`` and ``similar`` as
CSV or Excel (.xlsx), and the permalink every answer carries.

One flattening (``table_of``) serves every output, so the CSV, the workbook and the JSON agree:

- leading columns: county, department, fiscal_year, label, ``amount (万元)``;
- then the fields of the answer's own shape that any row has (target_value, project, level1/2,
  code, measure, topics, document_number, … for answers; type and score first for hits), in a
  fixed order, unknown fields after them so a new field of the search layer flows through;
- trailing columns: source_file, lines (``12–15``; an en dash, so Excel never reads it as a
  date), page, iri.

Spreadsheet safety: CSV is UTF-8 with a byte-order mark (Excel opens Chinese correctly only with
it), RFC 4180 quoting with CRLF line ends; a text cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return gets a leading apostrophe (OWASP's CSV-injection rule), so document
text can never become a formula in Excel, LibreOffice or Google Sheets. Numbers (amounts, years,
pages, scores) stay numbers. The same text rule applies in the workbook.

``respond`` is the hook of the HTTP routes (``format=json|csv|xlsx``), ``cli_format``/``emit`` the
hooks of the CLI commands (``--format table|json|csv``); both add the ``permalink``.
"""
from __future__ import annotations

import csv
import io
import json
import re
import sys
from datetime import datetime, timezone
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import Query

KINDS = ("ask", "search", "similar")
HTTP_FORMATS = ("json", "csv", "xlsx")
CLI_FORMATS = ("table", "json", "csv")
CLI_HELP = ("table (default), json (the HTTP API's JSON, with a permalink) or csv (the rows for a "
            "spreadsheet: UTF-8 with BOM, formula-safe).")

CSV_MEDIA = "text/csv; charset=utf-8"
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"

# Query parameter of /api/ask, /api/search, /api/similar (shared so the routes stay one line).
OutFormat = Annotated[Literal["json", "csv", "xlsx"], Query(
    description="json (default), csv (UTF-8 with BOM, for Excel) or xlsx: the answer's rows or the hits "
                "as a table with county, department, fiscal_year, label, amount (万元), the shape's own "
                "fields, source file, lines, page and IRI.")]
# OpenAPI: the other media types these routes can return.
DOWNLOAD_RESPONSES = {200: {"content": {"text/csv": {}, XLSX_MEDIA: {}},
                            "description": "JSON, or with format=csv|xlsx a download of the rows"}}

LEAD = [("county", "county"), ("department", "department"), ("fiscal_year", "fiscal_year"),
        ("label", "label"), ("amount", "amount (万元)")]
TAIL = [("source_file", "source_file"), ("lines", "lines"), ("page", "page"), ("iri", "iri")]
# Fields of the answer/hit shapes, in the order a reader wants them; others follow alphabetically.
SHAPE_ORDER = ["type", "score", "target_value", "project", "level1", "level2", "code", "measure", "topics",
               "title", "document_number", "classification_kind", "aliases", "cited_by", "text"]
# Not columns: provenance is spread over the trailing columns; ranking internals are not data.
NOT_COLUMNS = {"source", "scores", "iri"} | {key for key, _ in LEAD}

_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot hold (openpyxl refuses them); document text may carry stray ones.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# ------------------------------------------------------------------ one table for every output


def rows_of(kind: str, payload: dict) -> list[dict]:
    """The records a payload lists: an answer's ``answers``, or the ``hits`` of search/similar."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    return list(payload.get("answers" if kind == "ask" else "hits") or [])


def table_of(kind: str, payload: dict) -> tuple[list[str], list[list[Any]]]:
    """(headers, rows of cell values) of a payload; values are str, int, float, bool or None."""
    records = rows_of(kind, payload)
    present = {key for r in records for key, value in r.items() if key not in NOT_COLUMNS and _has_value(value)}
    shape = [k for k in SHAPE_ORDER if k in present] + sorted(present - set(SHAPE_ORDER))
    headers = [h for _, h in LEAD] + shape + [h for _, h in TAIL]
    rows = []
    for r in records:
        source = r.get("source") if isinstance(r.get("source"), dict) else {}
        cells = [_cell(r.get(key)) for key, _ in LEAD] + [_cell(r.get(key)) for key in shape]
        cells += [_cell(source.get("file")), lines_text(source.get("lines")), _cell(source.get("page")),
                  _cell(r.get("iri"))]
        rows.append(cells)
    return headers, rows


def lines_text(lines) -> str | None:
    """``[12, 15]`` → ``"12–15"``, ``[12, 12]`` → ``"12"`` (text: a spreadsheet must not do sums on it)."""
    if not lines:
        return None
    start, end = (list(lines) + [None])[:2]
    return str(start) if end in (None, start) else f"{start}–{end}"


def _has_value(value) -> bool:
    return value not in (None, "", [], {})


def _cell(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, set)):
        return "; ".join(str(v) for v in value if v is not None)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def neutralise(text: str) -> str:
    """A text cell that a spreadsheet would evaluate (``=…``, ``+…``, ``-…``, ``@…``) made inert with a
    leading apostrophe; other text unchanged."""
    return "'" + text if text.startswith(_DANGEROUS_START) else text


# ------------------------------------------------------------------ CSV and XLSX


def to_csv(kind: str, payload: dict, *, bom: bool = True) -> bytes:
    """RFC 4180 CSV (CRLF, minimal quoting) in UTF-8, with a byte-order mark unless ``bom=False``."""
    headers, rows = table_of(kind, payload)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return ((BOM if bom else "") + buffer.getvalue()).encode("utf-8")


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # 1414.0, 2023: plain numbers, never neutralised (a negative amount stays one)
    return neutralise(value)


def to_xlsx(kind: str, payload: dict, *, permalink: str | None = None) -> bytes:
    """A workbook: sheet ``rows`` (header row, numbers as numbers, amounts as #,##0.00) and sheet
    ``about`` (what was asked, the permalink, the summary and SPARQL of an answer)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    headers, rows = table_of(kind, payload)
    book = Workbook()
    sheet = book.active
    sheet.title = "answers" if kind == "ask" else "hits"
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_xlsx_cell(v) for v in row])
    amount_col = headers.index("amount (万元)") + 1
    for (cell,) in sheet.iter_rows(min_row=2, min_col=amount_col, max_col=amount_col):
        cell.number_format = "#,##0.00"
    sheet.freeze_panes = "A2"
    for i, header in enumerate(headers, start=1):
        longest = max([_display_width(header)] + [_display_width(r[i - 1]) for r in rows[:200]])
        sheet.column_dimensions[get_column_letter(i)].width = min(max(longest + 2, 8), 60)

    about = book.create_sheet("about")
    for key, value in about_rows(kind, payload, permalink):
        about.append([key, _xlsx_cell(value)])
    about.column_dimensions["A"].width = 14
    about.column_dimensions["B"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def about_rows(kind: str, payload: dict, permalink: str | None) -> list[tuple[str, Any]]:
    asked = payload.get("question") if kind == "ask" else payload.get("query")
    rows: list[tuple[str, Any]] = [("kind", kind), ("question" if kind == "ask" else "query", asked)]
    for key in ("k", "type"):
        if payload.get(key) is not None:
            rows.append((key, payload[key]))
    rows += [("rows", len(rows_of(kind, payload))), ("permalink", permalink),
             ("generated", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")),
             ("amounts", "万元 (ten thousand yuan)")]
    if kind == "ask":
        rows += [("summary", payload.get("summary")), ("sparql", payload.get("sparql"))]
    return rows


def _xlsx_cell(value):
    if isinstance(value, str):
        return neutralise(_ILLEGAL_XML.sub("", value))
    return value


def _display_width(value) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


# ------------------------------------------------------------------ permalinks and file names


def permalink(kind: str, params: dict, base: str = "") -> str:
    """The address that reproduces a result: the answer page ``/?q=`` for ask; the API call (without
    ``format``) for search and similar. Relative when ``base`` is empty."""
    base = base.rstrip("/")
    if kind == "ask":
        return f"{base}/?{urlencode({'q': params.get('q') or ''})}"
    order = ("q", "k", "type", "mode")
    query = [(key, params[key]) for key in order if params.get(key) not in (None, "")
             and not (key == "mode" and params[key] == "hybrid")]  # the default adds nothing
    return f"{base}/api/{kind}?{urlencode(query)}"


def params_of(kind: str, payload: dict) -> dict:
    """The request parameters a payload records (the question or query, k, type)."""
    if kind == "ask":
        return {"q": payload.get("question")}
    return {"q": payload.get("query"), "k": payload.get("k"), "type": payload.get("type")}


def with_permalink(kind: str, payload: dict, base: str = "", extra: dict | None = None) -> dict:
    """``payload`` with ``permalink`` added (a new dict; the input is not changed)."""
    return {**payload, "permalink": permalink(kind, {**params_of(kind, payload), **(extra or {})}, base)}


def file_name(kind: str, payload: dict, ext: str) -> tuple[str, str]:
    """(ASCII fallback, UTF-8 name) of a download, e.g. ``budgetkg-ask.csv`` and
    ``budgetkg-ask-霸州市的绩效指标有哪些关于满意度.csv``."""
    asked = str(params_of(kind, payload).get("q") or "")
    slug = re.sub(r"[^\w\u3400-\u9fff]+", "-", asked).strip("-_")[:40].strip("-_")
    plain = f"budgetkg-{kind}.{ext}"
    return plain, (f"budgetkg-{kind}-{slug}.{ext}" if slug else plain)


def content_disposition(kind: str, payload: dict, ext: str) -> str:
    """``attachment`` with an ASCII ``filename`` and the UTF-8 ``filename*`` of RFC 6266 / 5987."""
    plain, utf8 = file_name(kind, payload, ext)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(utf8, safe='')}"


# ------------------------------------------------------------------ hooks: HTTP


def public_base(request) -> str:
    """Where permalinks point: the ``public_url`` setting, else the address the request came to."""
    settings = request.app.state.settings
    configured = getattr(settings, "public_url", None)
    return (configured or str(request.base_url)).rstrip("/")


async def respond(request, kind: str, payload: dict, fmt: str = "json"):
    """What an HTTP route returns: the payload with its permalink as JSON (a dict FastAPI
    serialises), or a CSV / XLSX download of its rows (rendered in a worker thread, so a large
    workbook never holds up the event loop)."""
    from fastapi.responses import Response
    from starlette.concurrency import run_in_threadpool

    extra = {"mode": request.query_params.get("mode")} if kind == "search" else None
    payload = with_permalink(kind, payload, public_base(request), extra)
    if fmt == "json":
        return payload
    if fmt not in HTTP_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(HTTP_FORMATS)}")
    if fmt == "csv":
        body, media = await run_in_threadpool(to_csv, kind, payload), CSV_MEDIA
    else:
        body, media = await run_in_threadpool(lambda: to_xlsx(kind, payload, permalink=payload["permalink"])), \
            XLSX_MEDIA
    return Response(body, media_type=media, headers={
        "Content-Disposition": content_disposition(kind, payload, fmt), "Cache-Control": "no-store"})


# ------------------------------------------------------------------ hooks: CLI


def cli_format(fmt: str, as_json: bool = False) -> str:
    """The output format of ``ask``/``search``/``similar`` (``--json`` is ``--format json``);
    an unknown one is a usage error naming the known ones."""
    import typer

    fmt = "json" if as_json else (fmt or "table").lower()
    if fmt not in CLI_FORMATS:
        raise typer.BadParameter(f"unknown format {fmt!r}; use one of {', '.join(CLI_FORMATS)}",
                                 param_hint="'--format'")
    return fmt


def emit(kind: str, payload: dict, fmt: str, settings=None, stream=None, **extra) -> bool:
    """Print ``payload`` as JSON (with its permalink) or CSV and return True; False for ``table``,
    which the command prints itself. CSV carries the BOM like the HTTP download, so
    ``budgetkg ask … --format csv > answer.csv`` opens in Excel with its Chinese intact."""
    if fmt == "table":
        return False
    base = (getattr(settings, "public_url", None) or "") if settings is not None else ""
    payload = with_permalink(kind, payload, base, {k: v for k, v in extra.items() if v is not None} or None)
    out = stream if stream is not None else sys.stdout.buffer
    if fmt == "json":
        out.write((json.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    elif fmt == "csv":
        out.write(to_csv(kind, payload))
    else:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(CLI_FORMATS)}")
    out.flush()
    return True
