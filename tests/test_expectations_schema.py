"""Self-check of the hand-written ground truth in ``tests/expectations/*.json``.

The expectation files were typed by reading the seed disclosures (see tests/expectations/README.md);
``test_accuracy.py`` measures the parsers against them. This module keeps the files honest without
any parser: counts agree with the lists, every amount is a decimal, the budget tables add up (类 =
sum of 款, 款 = sum of 项, 合计 = 基本 + 项目, table total = sum of 类) except where a finding records
the discrepancy, and every transcribed number and indicator can be found in the seed text near the
line it is attributed to.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPECTATIONS = ROOT / "tests" / "expectations"
SAMPLES = ROOT / "ingest" / "samples"
SEEDS = sorted(p.stem for p in EXPECTATIONS.glob("*.json"))

LINE_COLUMNS = ("amount", "basic", "project", "carryover", "personnel", "public")
LINE_TABLES = {"revenue", "expenditure", "general-expenditure", "basic-economic"}
FIGURE_MEASURES = {  # Measure values (ingest.model.Measure), kept literal so this file needs no project import
    "totalRevenue", "totalExpenditure", "currentYearRevenue", "currentYearExpenditure",
    "generalBudgetRevenue", "basicExpenditure", "projectExpenditure", "carryover",
    "personnelExpenditure", "publicExpenditure", "threePublicCosts", "operatingCosts",
    "procurementBudget", "fixedAssetsValue",
}
ROUNDING = Decimal("0.01")  # 万元; a discrepancy up to one cent of the last printed digit is rounding
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
DOC_NUMBER = re.compile(r"^[^\s〔〕\[\]【】()（）]*〔\d{4}〕\d+号$")
WHITESPACE = re.compile(r"\s+")


def load(seed: str) -> dict:
    return json.loads((EXPECTATIONS / f"{seed}.json").read_text(encoding="utf-8"))


def dec(text: str) -> Decimal:
    assert isinstance(text, str) and NUMBER.match(text), f"not a printed decimal: {text!r}"
    return Decimal(text)


def squash(text: str) -> str:
    return WHITESPACE.sub("", text)


def seed_lines(doc: dict) -> list[str]:
    return (SAMPLES / doc["file"]).read_text(encoding="utf-8").split("\n")


def window(lines: list[str], line: int, after: int) -> str:
    """The seed text from ``line`` (1-based) on, whitespace removed: cells broken across lines rejoin."""
    return squash("".join(lines[line - 1: line - 1 + after]))


def recorded(doc: dict) -> set[tuple]:
    """Discrepancies the expectation file owns up to, keyed like the checks below."""
    keys = set()
    for f in doc["findings"]:
        subject = f.get("code") or f.get("name") or f.get("row")
        keys.add((f["check"], f.get("table"), subject, f.get("column")))
    return keys


def row_key(row: dict) -> str:
    return row["code"] or row["name"]


def children_of(rows: list[dict], index: int) -> list[dict]:
    """Direct children of a row: by code prefix (3 -> 5 -> 7 digits), or by level for uncoded rows."""
    row = rows[index]
    if row["code"] is None:
        kids = []
        for other in rows[index + 1:]:
            if other.get("level", 1) <= row.get("level", 1):
                break
            kids.append(other)
        return kids
    code = row["code"]
    return [r for r in rows if r["code"] and len(r["code"]) == len(code) + 2 and r["code"].startswith(code)]


def column(row: dict, name: str) -> Decimal:
    return dec(row[name]) if name in row else Decimal(0)


@pytest.fixture(params=SEEDS)
def doc(request) -> dict:
    return load(request.param)


def test_all_five_seeds_have_expectations():
    assert SEEDS == ["000", "001", "002", "003", "004"]
    for seed in SEEDS:
        assert (SAMPLES / load(seed)["file"]).is_file()


def test_counts_match_lists(doc):
    counts = doc["counts"]
    assert counts["budget_lines"] == {t: len(rows) for t, rows in doc["budget_lines"].items()}
    assert counts["budget_lines_total"] == sum(len(rows) for rows in doc["budget_lines"].values())
    assert counts["projects"] == len(doc["projects"])
    assert counts["project_indicators"] == sum(len(p["indicators"]) for p in doc["projects"])
    assert counts["department_indicators"] == len(doc["department_indicators"])
    assert counts["legal_refs"] == len(doc["legal_refs"])
    assert counts["figures"] == len(doc["figures"])
    for project in doc["projects"]:
        assert project["indicator_count"] == len(project["indicators"]), project["name"]


def test_metadata(doc):
    assert doc["kind"] in {"budget", "performance-targets"}
    assert isinstance(doc["fiscal_year"], int) and 2015 <= doc["fiscal_year"] <= 2030
    assert doc["department"].endswith("医疗保障局") and doc["county"] in doc["department"]
    assert doc["province"] in {"河北省", "山西省"}
    assert doc["admin_code"] is None or re.fullmatch(r"\d{6}", doc["admin_code"])
    assert doc["provenance"].startswith("written by reading the seed text")


def test_every_amount_is_a_decimal(doc):
    assert set(doc["budget_lines"]) <= LINE_TABLES
    for table, rows in doc["budget_lines"].items():
        for row in rows:
            assert row["code"] is None or re.fullmatch(r"\d{3}(\d{2}){0,2}", row["code"]), row
            assert any(c in row for c in LINE_COLUMNS), row
            for c in LINE_COLUMNS:
                if c in row:
                    dec(row[c])
            assert isinstance(row["line"], int)
    for measure, figure in {**doc["figures"], **doc.get("extra_figures", {})}.items():
        assert measure in FIGURE_MEASURES
        dec(figure["value"])
        assert figure["lines"] and all(isinstance(n, int) for n in figure["lines"])
        assert set(figure.get("alt_measures", [])) <= FIGURE_MEASURES
    for project in doc["projects"]:
        if project["amount"] is not None:
            dec(project["amount"])
            assert project["amount"] in project.get("amounts_accepted", [project["amount"]])
        for amount in project.get("amounts_accepted", []):
            dec(amount)
    for total in doc["table_totals"].values():
        for c in LINE_COLUMNS:
            if c in total:
                dec(total[c])


def test_indicators_are_complete(doc):
    indicators = [i for p in doc["projects"] for i in p["indicators"]] + doc["department_indicators"]
    for ind in indicators:
        for field in ("level1", "level2", "name"):
            assert ind[field] and squash(ind[field]) == ind[field], ind
        assert isinstance(ind["value"], str) and squash(ind["value"]) == ind["value"], ind
        assert isinstance(ind["line"], int)
        for alternative in ind.get("alternatives", []):
            assert ind.get("uncertain"), ind
            assert set(alternative) <= {"level1", "level2", "name", "value", "description"}


def test_project_names_are_distinct(doc):
    seen = {}
    for project in doc["projects"]:
        assert project["name"] == project["names"][0]
        for name in project["names"]:
            key = squash(name)
            assert key not in seen or seen[key] is project, f"{name} names two projects"
            seen[key] = project
        if project.get("code"):
            assert project["code"].startswith(doc["admin_code"]), project["code"]


def test_legal_references_are_normalised(doc):
    for ref in doc["legal_refs"]:
        assert ref["number"] or ref["title"], ref
        if ref["number"]:
            assert DOC_NUMBER.match(ref["number"]), ref["number"]
        if ref["title"]:
            assert "《" not in ref["title"][:1] and not ref["title"].endswith("》"), ref["title"]


def test_budget_tables_add_up_except_recorded_findings(doc):
    """Children sum to parents, 合计 = 基本 + 项目 (= 人员 + 公用), table totals = sum of top rows."""
    owned = recorded(doc)
    unexplained = []

    def compare(key, expected, found):
        if expected != found and key not in owned:
            unexplained.append((key, str(expected), str(found)))

    for table, rows in doc["budget_lines"].items():
        for i, row in enumerate(rows):
            kids = children_of(rows, i)
            for c in LINE_COLUMNS:
                if kids and (c in row or any(c in k for k in kids)):
                    compare(("children-sum", table, row_key(row), c),
                            sum((column(k, c) for k in kids), Decimal(0)), column(row, c))
            if "amount" in row and ("basic" in row or "project" in row):
                compare(("basic-plus-project", table, row_key(row), "amount"),
                        column(row, "basic") + column(row, "project"), column(row, "amount"))
            if "amount" in row and ("personnel" in row or "public" in row):
                compare(("personnel-plus-public", table, row_key(row), "amount"),
                        column(row, "personnel") + column(row, "public"), column(row, "amount"))
        total = doc["table_totals"].get(table)
        if total:
            top = [r for r in rows if (r["code"] and len(r["code"]) == 3) or r.get("level") == 1]
            for c in LINE_COLUMNS:
                if c in total:
                    compare(("children-sum", table, "合计", c),
                            sum((column(r, c) for r in top), Decimal(0)), dec(total[c]))
            if "basic" in total:
                compare(("basic-plus-project", table, "合计", "amount"),
                        column(total, "basic") + column(total, "project"), column(total, "amount"))
    assert not unexplained, f"arithmetic not recorded in findings: {unexplained}"


def test_findings_are_classified(doc):
    for finding in doc["findings"]:
        assert finding["lines"], finding
        assert isinstance(finding["rounding"], bool) and isinstance(finding["real"], bool)
        assert not (finding["rounding"] and finding["real"])
        if finding["rounding"]:
            gap = abs(dec(finding["found"]) - dec(finding["expected"]))
            assert Decimal(0) < gap <= ROUNDING, finding


def test_findings_match_what_the_tables_show():
    """The discrepancies the README promises: rounding-only in 003's tables, two real ones in 003's
    forms, 004 cut mid-table; the Hebei budgets 000 and 001 add up."""
    assert [f for f in load("000")["findings"] if f["real"]] == []
    assert [f for f in load("001")["findings"] if f["real"]] == []
    real = [f for f in load("003")["findings"] if f["real"]]
    assert [f["check"] for f in real] == ["printed-formula", "printed-formula"]
    assert real[0]["lines"] == [599]
    doc4 = load("004")
    assert doc4["truncated"] and doc4["truncation"]["cut_at_line"] == 517
    assert [load(s)["truncated"] for s in SEEDS] == [False, False, False, False, True]


def test_personal_data_only_where_printed():
    assert all(not load(s)["personal_data"] for s in ("000", "001", "002", "004"))
    people = {p.get("name") or p.get("phone") for p in load("003")["personal_data"]}
    assert people == {"王宇", "郭瑞林", "13633587231"}


def test_transcriptions_are_in_the_seed_text(doc):
    """Every number, code and indicator cell typed by hand occurs in the seed near its recorded line."""
    lines = seed_lines(doc)
    whole = squash("\n".join(lines))
    missing = []

    def near(text, line, after):
        if text and squash(text) not in window(lines, line, after):
            missing.append((text, line))

    for rows in doc["budget_lines"].values():
        for row in rows:
            near(row["code"], row["line"], 4)
            for c in LINE_COLUMNS:
                near(row.get(c), row["line"], 80)
            if not row.get("split_across_page") and squash(row["name"]) not in whole:
                missing.append((row["name"], row["line"]))
    for project in doc["projects"]:
        for name in project["names"]:
            if squash(name) not in whole:
                missing.append((name, project["lines"][0]))
        for ind in project["indicators"]:
            near(ind["name"], ind["line"], 30)
            near(ind["value"], ind["line"], 40)
    for ind in doc["department_indicators"]:
        near(ind["name"], ind["line"], 40)
        near(ind["value"], ind["line"], 50)
    for measure, figure in doc["figures"].items():
        value = Decimal(figure["value"])
        for line in figure["lines"]:
            # cells stay apart here (unlike window()): adjacent table cells must not run together
            text = " ".join(lines[line - 1: line + 2]).replace(",", "")
            printed = {Decimal(n) for n in re.findall(r"\d+(?:\.\d+)?", text)}
            if value not in printed:
                missing.append((measure, line))
    assert not missing, f"not found in {doc['file']}: {missing}"
