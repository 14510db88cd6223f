"""Read-side views of the graph for the JSON API and the web pages: disclosures, their projects,
indicators, budget lines and findings, one indicator, the list of findings.

Every function runs SPARQL over the public graphs (private ones only when the settings serve
personal data) and returns plain dicts ready for JSON. User input reaches the queries only as
escaped literals (``search.sparql.literal``), numbers (``search.sparql.number``), or IRIs checked
by ``search.sparql.iri`` (also the IRIs taken from earlier results, for defence in depth).
"""
from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

from rdflib import Literal

from ingest.model import Measure
from search.sparql import PREFIXES, iri as checked_iri, literal, number
from search.store import GraphStore

PREFIXES_ALL = PREFIXES + "PREFIX dct: <http://purl.org/dc/terms/>\n"
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
# Tables whose functional lines show where the money goes, best first.
CHART_TABLES = ("expenditure", "general-expenditure", "revenue", "fund-expenditure")


class Catalog:
    """Queries over one store; ``include_private`` follows ``settings.serve_personal_data``."""

    def __init__(self, store: GraphStore, *, include_private: bool = False):
        self.store = store
        self.include_private = include_private

    def _rows(self, sparql: str) -> list[dict]:
        result = self.store.query(PREFIXES_ALL + sparql, include_private=self.include_private)
        return [{k: _py(v) for k, v in row.items()} for row in result.rows]

    # ------------------------------------------------------------ disclosures

    def disclosures(self, *, department: str | None = None, county: str | None = None,
                    year: int | None = None) -> list[dict]:
        """Every disclosure with department, area, year, kind, totals and counts (filters optional)."""
        filters = []
        if department:
            filters.append(f"FILTER(CONTAINS(STR(?department), {literal(department)}))")
        if county:
            filters.append(f"FILTER(CONTAINS(STR(?county), {literal(county)}) || "
                           f"CONTAINS(STR(?prefecture), {literal(county)}) || "
                           f"CONTAINS(STR(?province), {literal(county)}))")
        if year is not None:
            filters.append(f"FILTER(?fiscal_year = {number(int(year))})")
        rows = self._rows(f"""
SELECT ?d ?id ?label ?fiscal_year ?kind ?department ?county ?prefecture ?province ?file ?truncated
       (SAMPLE(?nprojects) AS ?projects) (SAMPLE(?nfindings) AS ?findings)
WHERE {{
  ?d a bkg:Disclosure ; dct:identifier ?id .
  OPTIONAL {{ ?d rdfs:label ?label }}
  OPTIONAL {{ ?d bkg:fiscalYear ?fiscal_year }}
  OPTIONAL {{ ?d bkg:documentKind/skos:notation ?kind0 }}
  OPTIONAL {{ ?d bkg:documentKind ?kindIri }}
  BIND(COALESCE(?kind0, REPLACE(STR(?kindIri), "^.*/", "")) AS ?kind)
  OPTIONAL {{ ?d bkg:fileName ?file }}
  OPTIONAL {{ ?d bkg:truncated ?truncated }}
  OPTIONAL {{ ?d bkg:publishedBy ?dept . ?dept rdfs:label ?department .
             OPTIONAL {{ ?dept bkg:area ?area . ?area rdfs:label ?county .
                        OPTIONAL {{ ?area bkg:partOf+ ?pref . ?pref bkg:adminLevel "prefecture" ; rdfs:label ?prefecture }}
                        OPTIONAL {{ ?area bkg:partOf+ ?prov . ?prov bkg:adminLevel "province" ; rdfs:label ?province }} }} }}
  OPTIONAL {{ SELECT ?d (COUNT(DISTINCT ?p) AS ?nprojects) WHERE {{ ?d bkg:hasProject ?p }} GROUP BY ?d }}
  OPTIONAL {{ SELECT ?d (COUNT(DISTINCT ?f) AS ?nfindings) WHERE {{ ?d bkg:hasFinding ?f }} GROUP BY ?d }}
  {" ".join(filters)}
}}
GROUP BY ?d ?id ?label ?fiscal_year ?kind ?department ?county ?prefecture ?province ?file ?truncated
ORDER BY ?county ?department ?fiscal_year ?id""")
        totals = self._totals()
        out = []
        for r in rows:
            out.append({"id": r["id"], "iri": r["d"], "label": r.get("label"), "department": r.get("department"),
                        "county": r.get("county"), "prefecture": r.get("prefecture"),
                        "province": r.get("province"), "fiscal_year": r.get("fiscal_year"),
                        "kind": r.get("kind"), "file": r.get("file"), "truncated": bool(r.get("truncated")),
                        "projects": r.get("projects") or 0, "findings": r.get("findings") or 0,
                        "totals": totals.get(r["d"], {})})
        return out

    def _totals(self, disclosure: str | None = None) -> dict[str, dict[str, float]]:
        props = " ".join(f"bkg:{m.value}" for m in Measure)
        where = f"VALUES ?d {{ {disclosure} }}" if disclosure else "?d a bkg:Disclosure ."
        rows = self._rows(f"""
SELECT ?d ?p ?v WHERE {{ {where} VALUES ?p {{ {props} }} ?d ?p ?v }}""")
        totals: dict[str, dict] = defaultdict(dict)
        for r in rows:
            totals[r["d"]][r["p"].rsplit("#", 1)[-1]] = r["v"]
        return totals

    def disclosure_iri(self, key: str) -> str | None:
        """The IRI of the disclosure with identifier ``key``, or None (also for a malformed key)."""
        if not KEY_RE.match(key):
            return None
        rows = self._rows(f"SELECT ?d WHERE {{ ?d a bkg:Disclosure ; dct:identifier {literal(key)} }} LIMIT 1")
        return rows[0]["d"] if rows else None

    def disclosure(self, key: str) -> dict | None:
        """One disclosure in full: meta, totals, budget lines, chart data, projects with indicators,
        department-wide indicators, findings, cited documents and its source file."""
        d_iri = self.disclosure_iri(key)
        if d_iri is None:
            return None
        d = checked_iri(d_iri)
        meta = next((x for x in self.disclosures() if x["iri"] == d_iri), {"id": key, "iri": d_iri})
        source = self._rows(f"""
SELECT ?file ?sha256 ?layout ?lines ?pages ?truncated WHERE {{
  OPTIONAL {{ {d} bkg:fileName ?file }} OPTIONAL {{ {d} bkg:sha256 ?sha256 }}
  OPTIONAL {{ {d} bkg:layout ?layout }} OPTIONAL {{ {d} bkg:lineCount ?lines }}
  OPTIONAL {{ {d} bkg:pageCount ?pages }} OPTIONAL {{ {d} bkg:truncated ?truncated }} }}""")
        lines = self.budget_lines(d_iri)
        projects = self._projects(d_iri)
        out = {**meta, "source": source[0] if source else {}, "budget_lines": lines,
               "chart": spending_by_function(lines), "projects": projects,
               "department_indicators": self._indicators_of([d_iri]).get(d_iri, []),
               "findings": self.findings(disclosure=d_iri), "cites": self._cited(d_iri)}
        file = out["source"].get("file")
        if file:  # every fact of this disclosure was read from its one file
            items = lines + projects + out["department_indicators"] + [i for p in projects for i in p["indicators"]]
            for item in items:
                if item.get("source"):
                    item["source"].setdefault("file", file)
        return out

    def budget_lines(self, d_iri: str) -> list[dict]:
        # Classification concepts are shared by every disclosure (each adds the name it printed),
        # so a line's name is read from its own label ("210 卫生健康支出"), not the concept's.
        rows = self._rows(f"""
SELECT DISTINCT ?line ?label ?code ?kind ?table ?amount ?basic ?project ?ls ?le WHERE {{
  {checked_iri(d_iri)} bkg:hasBudgetLine ?line .
  ?line bkg:classification ?c .
  OPTIONAL {{ ?line rdfs:label ?label }}
  OPTIONAL {{ ?c skos:notation ?code }}
  OPTIONAL {{ ?line bkg:classificationKind ?kind }}
  OPTIONAL {{ ?line bkg:sourceTable ?t . BIND(REPLACE(STR(?t), "^.*/", "") AS ?table) }}
  OPTIONAL {{ ?line bkg:amount ?amount }} OPTIONAL {{ ?line bkg:basicAmount ?basic }}
  OPTIONAL {{ ?line bkg:projectAmount ?project }}
  OPTIONAL {{ ?line bkg:lineStart ?ls }} OPTIONAL {{ ?line bkg:lineEnd ?le }}
}} ORDER BY ?table ?ls ?code""")
        return [{"iri": r["line"], "code": r.get("code"), "name": _line_name(r.get("label"), r.get("code")),
                 "kind": r.get("kind"), "table": r.get("table"), "amount": r.get("amount"),
                 "basic_amount": r.get("basic"), "project_amount": r.get("project"),
                 "source": _span(r)} for r in rows]

    def _projects(self, d_iri: str) -> list[dict]:
        rows = self._rows(f"""
SELECT DISTINCT ?p ?label ?amount ?code ?goal ?ls ?le (GROUP_CONCAT(DISTINCT ?alt; SEPARATOR="\\u001f") AS ?alts)
WHERE {{
  {checked_iri(d_iri)} bkg:hasProject ?p .
  OPTIONAL {{ ?p rdfs:label ?label }} OPTIONAL {{ ?p bkg:amount ?amount }}
  OPTIONAL {{ ?p bkg:projectCode ?code }} OPTIONAL {{ ?p bkg:goal ?goal }}
  OPTIONAL {{ ?p skos:altLabel ?alt }}
  OPTIONAL {{ ?p bkg:lineStart ?ls }} OPTIONAL {{ ?p bkg:lineEnd ?le }}
}} GROUP BY ?p ?label ?amount ?code ?goal ?ls ?le ORDER BY ?ls ?label""")
        by_project = self._indicators_of([r["p"] for r in rows])
        legal = self._legal_of([r["p"] for r in rows])
        return [{"iri": r["p"], "label": r.get("label"), "amount": r.get("amount"), "code": r.get("code"),
                 "goal": r.get("goal"), "aliases": [a for a in (r.get("alts") or "").split("\x1f") if a],
                 "legal_basis": legal.get(r["p"], []), "indicators": by_project.get(r["p"], []),
                 "source": _span(r)} for r in rows]

    def _indicators_of(self, parents: list[str]) -> dict[str, list[dict]]:
        if not parents:
            return {}
        values = " ".join(checked_iri(p) for p in parents)
        rows = self._rows(f"""
SELECT DISTINCT ?parent ?i ?label ?level1 ?level2 ?value ?comparator ?number ?unit ?basis ?description ?ls ?le WHERE {{
  VALUES ?parent {{ {values} }}
  ?parent bkg:hasIndicator ?i . ?i a bkg:PerformanceIndicator .
  OPTIONAL {{ ?i rdfs:label ?label }}
  OPTIONAL {{ ?i bkg:indicatorLevel1/skos:prefLabel ?level1 FILTER(LANG(?level1) = "zh") }}
  OPTIONAL {{ ?i bkg:indicatorLevel2/skos:prefLabel ?level2 FILTER(LANG(?level2) = "zh") }}
  OPTIONAL {{ ?i bkg:targetValue ?value }} OPTIONAL {{ ?i bkg:comparator ?comparator }}
  OPTIONAL {{ ?i bkg:targetNumber ?number }} OPTIONAL {{ ?i bkg:unit ?unit }}
  OPTIONAL {{ ?i bkg:valueBasis ?basis }} OPTIONAL {{ ?i bkg:indicatorDescription ?description }}
  OPTIONAL {{ ?i bkg:lineStart ?ls }} OPTIONAL {{ ?i bkg:lineEnd ?le }}
}}""")
        out: dict[str, list[dict]] = defaultdict(list)
        seen = set()
        for r in sorted(rows, key=lambda r: (r["parent"], _index_of(r["i"]))):
            if (r["parent"], r["i"]) in seen:  # a second label language would repeat the row
                continue
            seen.add((r["parent"], r["i"]))
            out[r["parent"]].append(_indicator(r))
        return out

    def _legal_of(self, subjects: list[str]) -> dict[str, list[dict]]:
        if not subjects:
            return {}
        values = " ".join(checked_iri(s) for s in subjects)
        rows = self._rows(f"""
SELECT DISTINCT ?s ?l ?label ?title WHERE {{
  VALUES ?s {{ {values} }} ?s bkg:legalBasis ?l .
  OPTIONAL {{ ?l rdfs:label ?label }} OPTIONAL {{ ?l dct:title ?title }} }} ORDER BY ?label""")
        out: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            out[r["s"]].append({"iri": r["l"], "label": r.get("label"), "title": r.get("title")})
        return out

    def _cited(self, d_iri: str) -> list[dict]:
        rows = self._rows(f"""
SELECT DISTINCT ?l ?label ?number ?title WHERE {{
  {checked_iri(d_iri)} bkg:cites ?l . OPTIONAL {{ ?l rdfs:label ?label }}
  OPTIONAL {{ ?l bkg:documentNumber ?number }} OPTIONAL {{ ?l dct:title ?title }} }} ORDER BY ?label""")
        merged: dict[str, dict] = {}
        for r in rows:
            merged.setdefault(r["l"], {"iri": r["l"], "label": r.get("label"), "number": r.get("number"),
                                       "title": r.get("title")})
        return list(merged.values())

    # ------------------------------------------------------------ findings

    def findings(self, *, disclosure: str | None = None, severity: str | None = None,
                 check: str | None = None) -> list[dict]:
        """Findings of the accounting checks, optionally of one disclosure (IRI), severity or check."""
        filters = []
        if disclosure:
            filters.append(f"VALUES ?d {{ {checked_iri(disclosure)} }}")
        if severity:
            filters.append(f"FILTER(STR(?severity) = {literal(severity)})")
        if check:
            filters.append(f"FILTER(STR(?check) = {literal(check)})")
        rows = self._rows(f"""
SELECT DISTINCT ?d ?id ?dlabel ?file ?f ?check ?severity ?message ?expected ?found ?difference ?tolerance ?subject ?ls ?le
WHERE {{
  {" ".join(f for f in filters if f.startswith("VALUES"))}
  ?d bkg:hasFinding ?f ; dct:identifier ?id .
  OPTIONAL {{ ?d rdfs:label ?dlabel }} OPTIONAL {{ ?d bkg:fileName ?file }}
  OPTIONAL {{ ?f bkg:checkName ?check }}
  OPTIONAL {{ ?f bkg:severity ?sev . BIND(REPLACE(STR(?sev), "^.*/", "") AS ?severity) }}
  OPTIONAL {{ ?f rdfs:comment ?message }}
  OPTIONAL {{ ?f bkg:expectedValue ?expected }} OPTIONAL {{ ?f bkg:foundValue ?found }}
  OPTIONAL {{ ?f bkg:difference ?difference }} OPTIONAL {{ ?f bkg:tolerance ?tolerance }}
  OPTIONAL {{ ?f bkg:subjectLabel ?subject }}
  OPTIONAL {{ ?f bkg:lineStart ?ls }} OPTIONAL {{ ?f bkg:lineEnd ?le }}
  {" ".join(f for f in filters if f.startswith("FILTER"))}
}} ORDER BY ?id ?ls ?f""")
        order = {"error": 0, "warning": 1, "info": 2}
        out = [{"iri": r["f"], "disclosure": r["id"], "disclosure_label": r.get("dlabel"),
                "check": r.get("check"), "severity": r.get("severity"), "message": r.get("message"),
                "expected": r.get("expected"), "found": r.get("found"), "difference": r.get("difference"),
                "tolerance": r.get("tolerance"), "subject": r.get("subject"), "source": _span(r)} for r in rows]
        out.sort(key=lambda f: (f["disclosure"], order.get(f["severity"] or "", 3)))
        return out

    # ------------------------------------------------------------ one indicator

    def indicator(self, text_iri: str) -> dict | None:
        """A performance indicator with its project, disclosure and legal basis, or None."""
        node = checked_iri(text_iri)  # raises QueryRejected (400) unless a budgetkg resource IRI
        rows = self._rows(f"""
SELECT ?parent ?i ?label ?level1 ?level2 ?value ?comparator ?number ?unit ?basis ?description ?ls ?le
       ?project ?projectLabel ?d ?id ?dlabel ?department ?county ?fiscal_year ?file WHERE {{
  BIND({node} AS ?i)
  ?i a bkg:PerformanceIndicator . ?parent bkg:hasIndicator ?i .
  OPTIONAL {{ ?i rdfs:label ?label }}
  OPTIONAL {{ ?i bkg:indicatorLevel1/skos:prefLabel ?level1 FILTER(LANG(?level1) = "zh") }}
  OPTIONAL {{ ?i bkg:indicatorLevel2/skos:prefLabel ?level2 FILTER(LANG(?level2) = "zh") }}
  OPTIONAL {{ ?i bkg:targetValue ?value }} OPTIONAL {{ ?i bkg:comparator ?comparator }}
  OPTIONAL {{ ?i bkg:targetNumber ?number }} OPTIONAL {{ ?i bkg:unit ?unit }}
  OPTIONAL {{ ?i bkg:valueBasis ?basis }} OPTIONAL {{ ?i bkg:indicatorDescription ?description }}
  OPTIONAL {{ ?i bkg:lineStart ?ls }} OPTIONAL {{ ?i bkg:lineEnd ?le }}
  OPTIONAL {{ ?parent a bkg:Project ; rdfs:label ?projectLabel . BIND(?parent AS ?project) }}
  ?i bkg:fromDisclosure ?d . ?d dct:identifier ?id .
  OPTIONAL {{ ?d rdfs:label ?dlabel }} OPTIONAL {{ ?d bkg:fiscalYear ?fiscal_year }}
  OPTIONAL {{ ?d bkg:fileName ?file }}
  OPTIONAL {{ ?d bkg:publishedBy ?dept . ?dept rdfs:label ?department .
             OPTIONAL {{ ?dept bkg:area/rdfs:label ?county }} }}
}} LIMIT 1""")
        if not rows:
            return None
        r = rows[0]
        out = _indicator(r)
        out.update({"project": r.get("projectLabel"), "project_iri": r.get("project"),
                    "disclosure": r.get("id"), "disclosure_label": r.get("dlabel"),
                    "department": r.get("department"), "county": r.get("county"),
                    "fiscal_year": r.get("fiscal_year"), "file": r.get("file"),
                    "legal_basis": self._legal_of([r["i"]]).get(r["i"], [])})
        return out


# ---------------------------------------------------------------- helpers


def _py(term):
    """A result term as a JSON-ready value: amounts (xsd:decimal) become numbers."""
    if isinstance(term, Literal):
        value = term.toPython()
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
        if isinstance(value, (str, int, float, bool)):
            return value
        return str(term)
    return str(term)


def _span(row: dict) -> dict | None:
    """Where a fact was read, in the shape the search API uses: {"file", "lines": [start, end]}."""
    if row.get("ls") is None:
        return None
    out = {"lines": [row["ls"], row.get("le", row["ls"])]}
    if row.get("file"):
        out["file"] = row["file"]
    return out


def _line_name(label: str | None, code: str | None) -> str | None:
    if label and code and label.startswith(code + " "):
        return label[len(code) + 1:]
    return label


def _index_of(indicator_iri: str) -> tuple[int, str]:
    tail = indicator_iri.rsplit("/", 1)[-1]
    return (int(tail), "") if tail.isdigit() else (1 << 30, tail)


def _indicator(r: dict) -> dict:
    return {"iri": r["i"], "label": r.get("label"), "level1": r.get("level1"), "level2": r.get("level2"),
            "target_value": r.get("value"), "comparator": r.get("comparator"), "target_number": r.get("number"),
            "unit": r.get("unit"), "basis": r.get("basis"), "description": r.get("description"),
            "source": _span(r)}


def spending_by_function(lines: list[dict]) -> dict:
    """Bars for the chart: amounts of the 类-level (3-digit) functional classes, from the first
    table (expenditure, then general expenditure, then revenue) that has them."""
    for table in CHART_TABLES:
        bars = [{"code": ln["code"], "name": ln["name"], "amount": ln["amount"]} for ln in lines
                if ln["table"] == table and ln["kind"] == "function" and ln.get("code")
                and len(ln["code"]) == 3 and ln.get("amount") is not None]
        if bars:
            bars.sort(key=lambda b: -b["amount"])
            total = round(sum(b["amount"] for b in bars), 2)
            return {"table": table, "total": total, "bars": bars}
    return {"table": None, "total": None, "bars": []}
