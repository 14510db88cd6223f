"""Answers and hits out to spreadsheets: ``format=csv|xlsx`` on the HTTP API of a real server on
127.0.0.1 (the prepared store of the samples, the real model), ``--format csv`` on the CLI, and
the permalink every answer carries.

The CSV must open in Excel with its Chinese intact (UTF-8 with BOM), parse back with Python's
``csv`` to exactly the JSON's rows, and never let document text become a formula: 大城县's 2021
indicator tables print targets such as ``=100%``, which Excel would evaluate (to 1) without the
leading apostrophe.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
from urllib.parse import quote, unquote

import httpx
import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from api import answer_formats
from api.settings import Settings
from tests.http_support import LiveServer, prepared_home

pytestmark = pytest.mark.server

BOM = b"\xef\xbb\xbf"
QUESTIONS = {"amounts": "哪些县有医疗救助项目", "indicators": "霸州市的绩效指标有哪些关于满意度"}
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
LEAD = ["county", "department", "fiscal_year", "label", "amount (万元)"]
TAIL = ["source_file", "lines", "page", "iri"]


@pytest.fixture(scope="module")
def live():
    home, info = prepared_home()
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet")
    server = LiveServer(home).start(wait_for_index=True)
    yield server
    server.stop()


def get(live, path: str, **params) -> httpx.Response:
    response = httpx.get(live.url + path, params=params, timeout=120)
    assert response.status_code == 200, response.text[:500]
    return response


def inert(text: str) -> str:
    """What a text cell must read in a spreadsheet (the rule under test, stated independently)."""
    return "'" + text if text.startswith(DANGEROUS) else text


def expected_row(record: dict) -> dict:
    """The CSV row a JSON answer row or hit must become, as strings."""
    source = record.get("source") or {}
    lines = source.get("lines")
    out = {"county": record.get("county") or "", "department": record.get("department") or "",
           "fiscal_year": "" if record.get("fiscal_year") is None else str(record["fiscal_year"]),
           "label": inert(record.get("label") or ""), "source_file": source.get("file") or "",
           "lines": "" if not lines else (str(lines[0]) if lines[0] == lines[1] else f"{lines[0]}–{lines[1]}"),
           "page": "" if source.get("page") is None else str(source["page"]), "iri": record["iri"]}
    for key, value in record.items():
        if key in out or key in ("amount", "source", "scores") or value in (None, "", []):
            continue
        if isinstance(value, float):
            out[key] = repr(value)
        elif isinstance(value, list):
            out[key] = inert("; ".join(str(v) for v in value))
        else:
            out[key] = inert(str(value))
    return out


def parse_csv(body: bytes) -> tuple[list[str], list[dict]]:
    assert body.startswith(BOM), "UTF-8 with a byte-order mark, so Excel reads the Chinese"
    text = body[len(BOM):].decode("utf-8")
    assert text.split("\n", 1)[0].endswith("\r") and text.endswith("\r\n"), "RFC 4180 line ends (CRLF)"
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    return header, [dict(zip(header, row)) for row in reader]


def assert_rows_match(header: list[str], rows: list[dict], records: list[dict]):
    assert header[:5] == LEAD and header[-4:] == TAIL
    assert len(rows) == len(records) and records
    for row, record in zip(rows, records):
        amount = row.pop("amount (万元)")
        assert (amount == "") if record.get("amount") is None else float(amount) == pytest.approx(record["amount"])
        expected = expected_row(record)
        assert {k: v for k, v in row.items() if v != "" or expected.get(k, "") != ""} == \
            {k: v for k, v in expected.items() if v != ""}, record["iri"]


# ---------------------------------------------------------------- CSV


@pytest.mark.parametrize("kind", sorted(QUESTIONS))
def test_answer_csv_parses_back_to_the_json_rows(live, kind):
    question = QUESTIONS[kind]
    answer = get(live, "/api/ask", q=question).json()
    response = get(live, "/api/ask", q=question, format="csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="budgetkg-ask.csv"')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == f"budgetkg-ask-{question}.csv"
    header, rows = parse_csv(response.content)
    assert_rows_match(header, rows, answer["answers"])
    if kind == "indicators":  # the shape's own fields are columns
        assert {"target_value", "project", "level1", "level2"} <= set(header)
        assert {r["level1"] for r in rows} == {"满意度指标"}


def test_search_and_similar_hits_download_as_csv(live):
    for path, params in (("/api/search", {"q": "2101202", "k": 5}),
                         ("/api/search", {"q": "长期照护险", "k": 8, "type": "project"}),
                         ("/api/similar", {"q": "群众满意度", "k": 6})):
        hits = get(live, path, **params).json()["hits"]
        header, rows = parse_csv(get(live, path, **params, format="csv").content)
        assert_rows_match(header, rows, hits)
        if path == "/api/search":
            assert header[5:7] == ["type", "score"]


def test_document_text_never_becomes_a_formula(live):
    # 大城县 2021 prints the target of 医疗救助率 as "=100%".
    hits = get(live, "/api/search", q="医疗救助率", type="indicator", k=10).json()["hits"]
    risky = [h for h in hits if (h.get("target_value") or "").startswith("=")]
    assert risky, "the samples print targets starting with '='"
    _, rows = parse_csv(get(live, "/api/search", q="医疗救助率", type="indicator", k=10, format="csv").content)
    by_iri = {r["iri"]: r for r in rows}
    for hit in risky:
        assert by_iri[hit["iri"]]["target_value"] == "'" + hit["target_value"]
    book = load_workbook(io.BytesIO(get(live, "/api/search", q="医疗救助率", type="indicator", k=10,
                                        format="xlsx").content))
    sheet = book["hits"]
    column = [c.value for c in sheet[1]].index("target_value")
    cells = [row[column] for row in sheet.iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in cells), "text cells, no formulas"
    assert {c.value for c in cells} >= {"'" + h["target_value"] for h in risky}


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_prefix_is_neutralised_and_numbers_stay_numbers(live, prefix):
    answer = get(live, "/api/ask", q=QUESTIONS["amounts"]).json()
    hostile = dict(answer, answers=[{**a, "label": prefix + "HYPERLINK(\"http://evil\",\"x\")", "amount": -a["amount"]}
                                    for a in answer["answers"] if a.get("amount")])
    _, rows = parse_csv(answer_formats.to_csv("ask", hostile))
    assert rows and all(r["label"].startswith("'" + prefix) for r in rows)
    assert all(float(r["amount (万元)"]) < 0 for r in rows), "a negative amount is a number, not neutralised"
    sheet = load_workbook(io.BytesIO(answer_formats.to_xlsx("ask", hostile)))["answers"]
    labels = [row[3] for row in sheet.iter_rows(min_row=2)]
    assert all(c.data_type == "s" and c.value.startswith("'") for c in labels)


# ---------------------------------------------------------------- XLSX


def test_answer_xlsx_has_the_same_columns_with_numbers_as_numbers(live):
    question = QUESTIONS["amounts"]
    answer = get(live, "/api/ask", q=question).json()
    csv_header, csv_rows = parse_csv(get(live, "/api/ask", q=question, format="csv").content)
    response = get(live, "/api/ask", q=question, format="xlsx")
    assert response.headers["content-type"] == answer_formats.XLSX_MEDIA
    assert "budgetkg-ask.xlsx" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["answers"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == csv_header
    assert sheet["A1"].font.b, "a bold header row"
    assert len(rows) - 1 == len(answer["answers"])
    col = {name: i for i, name in enumerate(csv_header)}
    for values, record, csv_row in zip(rows[1:], answer["answers"], csv_rows):
        assert values[col["fiscal_year"]] == record["fiscal_year"] and isinstance(values[col["fiscal_year"]], int)
        if record["amount"] is not None:
            assert isinstance(values[col["amount (万元)"]], (int, float)), "a number cell (800.0 reads back as 800)"
            assert values[col["amount (万元)"]] == pytest.approx(record["amount"])
        assert values[col["iri"]] == record["iri"] and values[col["county"]] == record["county"]
        assert values[col["lines"]] == (csv_row["lines"] or None)
    about = {key: value for key, value in book["about"].iter_rows(values_only=True)}
    assert about["question"] == question and about["permalink"] == answer["permalink"]
    assert about["sparql"] == answer["sparql"] and about["rows"] == len(answer["answers"])


def test_a_query_starting_with_equals_is_inert_in_the_workbook(live):
    book = load_workbook(io.BytesIO(get(live, "/api/search", q="=SUM(1,2)", format="xlsx").content))
    cell = next(row[1] for row in book["about"].iter_rows() if row[0].value == "query")
    assert cell.data_type == "s" and cell.value == "'=SUM(1,2)"


def test_unknown_format_is_a_clear_error(live):
    response = httpx.get(live.url + "/api/ask", params={"q": "医疗救助", "format": "pdf"}, timeout=60)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and "csv" in error["message"]


# ---------------------------------------------------------------- permalinks


def test_every_answer_carries_a_permalink_that_reproduces_it(live):
    question = QUESTIONS["indicators"]
    answer = get(live, "/api/ask", q=question).json()
    assert answer["permalink"] == f"{live.url}/?q={quote(question)}"
    page = httpx.get(answer["permalink"], timeout=120, headers={"Accept": "text/html"}).text
    assert 'id="answer-table"' in page and answer["answers"][0]["label"] in page
    assert f'href="/api/ask?q={quote(question)}&amp;format=csv"' in page

    hits = get(live, "/api/search", q="长护险参保人数", k=3, type="indicator", mode="dense").json()
    assert hits["permalink"].startswith(f"{live.url}/api/search?")
    again = httpx.get(hits["permalink"], timeout=120).json()
    assert again["hits"] == hits["hits"] and again["permalink"] == hits["permalink"]
    similar = get(live, "/api/similar", q="群众满意度", k=4).json()
    assert httpx.get(similar["permalink"], timeout=120).json()["hits"] == similar["hits"]


# ---------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """``budgetkg ask|search|similar`` in-process over a copy of the prepared store (the server
    above holds the original)."""
    from api.cli_search import register

    source, info = prepared_home()
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet")
    home = tmp_path_factory.mktemp("cli-home")
    for name in ("store", "index"):
        shutil.copytree(source / name, home / name)
    settings = Settings(home=home, store="oxigraph")
    app = typer.Typer()
    register(app, lambda: settings)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_cli_format_csv_matches_the_json(cli):
    question = QUESTIONS["indicators"]
    as_csv = cli("ask", question, "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    as_json = cli("ask", question, "--format", "json")
    answer = json.loads(as_json.stdout_bytes)
    assert answer["permalink"] == f"/?q={quote(question)}", "relative without public_url"
    header, rows = parse_csv(as_csv.stdout_bytes)
    assert_rows_match(header, rows, answer["answers"])
    alias = cli("ask", question, "--json")
    assert json.loads(alias.stdout_bytes) == answer, "--json is --format json"


def test_cli_search_and_similar_csv(cli):
    for args, kind in ((("search", "医疗救助率", "--type", "indicator", "--k", "6"), "search"),
                       (("similar", "群众满意度", "--k", "4"), "similar")):
        result = cli(*args, "--format", "csv")
        assert result.exit_code == 0, result.output
        header, rows = parse_csv(result.stdout_bytes)
        hits = json.loads(cli(*args, "--format", "json").stdout_bytes)["hits"]
        assert_rows_match(header, rows, hits)
    table = cli("similar", "群众满意度", "--k", "4", "--format", "table")
    assert table.exit_code == 0 and "(4 hits)" in table.output


def test_cli_unknown_format_is_a_usage_error(cli):
    result = cli("ask", "医疗救助", "--format", "xml")
    assert result.exit_code == 2
    text = " ".join(result.output.replace("│", " ").split())  # unwrap the boxed error message
    assert "unknown format 'xml'" in text and "table, json, csv" in text
