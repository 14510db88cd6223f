"""Every project's disclosure, amount and topics, kept per index generation, so that a question
that ranks or adds up projects over many disclosures does not make the store join them one by one.

Why: on the embedded store a scan of one predicate is fast (614,000 ``bkg:amount`` triples counted
in 0.3 s at 10,000 disclosures) but a join is a lookup per row (~40 µs): "the largest project"
joins 58,000 amounts to their projects and took 2.1-2.6 s, a topic's total across counties 2 s.
This table holds the rows those questions select — ``(project, disclosure, amount)`` as the query
``?d bkg:hasProject ?p OPTIONAL { ?p bkg:amount ?v }`` returns them, each disclosure's department,
area and year, each project's topic tags — built with three queries when an index generation is
first used and saved beside it (``SearchIndex.persisted``), like the question parser's gazetteer.

``search.templates`` asks it for two things, only for the selections it can reproduce exactly
(projects by topic tag or all projects, in a scope of departments, areas and years, without a
comparison): the top rows of a ranking, and the count/total/valued figures of an aggregate. The
template then runs with those rows (``VALUES``) in place of the scan, so the store still supplies
every label, source line and context column, and computes the average itself. The full query is
what ``ask`` shows as the answer's SPARQL: rerunning it gives the same rows (tests compare both on
the samples and on a synthetic corpus). A table from an older generation than the store (an upload
whose index refresh has not finished) answers as the index does: as of that generation.

The table also holds every disclosure's measures (支出总计, 基本支出, 项目支出 ... as
``(disclosure, value)`` rows per measure): the count, total and average of a measure across the
disclosures in scope ("2025年各县平均项目支出是多少": 1,145 disclosures at 10,000) come from it as
constants instead of a second pass over those disclosures beside the listed rows (0.11-0.13 s).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from rdflib import Literal
from rdflib.namespace import XSD

from search.sparql import PREFIXES
from search.store import select_all

# Bump when what the table holds changes: a table saved by an older version is built again.
FORMAT = 3

_DECIMAL = str(XSD.decimal)
_NUMERIC = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


@dataclass
class ProjectFacts:
    """Rows ``(project, disclosure index, amount)`` in the store's terms; amount None when the
    project has none. ``decimal_only`` is False when an amount is not an xsd:decimal (the table then
    declines to answer: the store's arithmetic on other types is not reproduced here)."""

    disclosures: list[str] = field(default_factory=list)
    departments: list[tuple[str, ...]] = field(default_factory=list)  # per disclosure
    areas: list[tuple[str, ...]] = field(default_factory=list)  # per disclosure: its departments' areas
    years: list[tuple[int, ...]] = field(default_factory=list)  # per disclosure
    projects: list[str] = field(default_factory=list)
    disclosure_of: list[int] = field(default_factory=list)
    amounts: list[Decimal | None] = field(default_factory=list)
    topic_rows: dict[str, list[int]] = field(default_factory=dict)  # topic -> rows of its projects
    by_amount: list[int] = field(default_factory=list)  # valued rows, largest amount first
    decimal_only: bool = True
    # measure IRI -> distinct (disclosure index, value) rows, as ``?d ?measure ?value_`` gives them
    measures: dict[str, list[tuple[int, Decimal]]] = field(default_factory=dict)
    measures_decimal: bool = True  # False: a measure value is not an xsd:decimal (declines, as above)

    def __len__(self) -> int:
        return len(self.projects)


def build_project_facts(store) -> ProjectFacts:
    """Read the table from the store's public graphs (three queries; ~10 s at 10,000 disclosures)."""
    facts = ProjectFacts()
    position: dict[str, int] = {}
    grouped: dict[str, tuple[set, set, set]] = {}
    for r in select_all(store, PREFIXES + """
SELECT ?d ?dept ?area ?year WHERE {
  ?d a bkg:Disclosure .
  OPTIONAL { ?d bkg:publishedBy ?dept . OPTIONAL { ?dept bkg:area ?area } }
  OPTIONAL { ?d bkg:fiscalYear ?year }
}"""):
        depts, areas, years = grouped.setdefault(str(r["d"]), (set(), set(), set()))
        if r.get("dept") is not None:
            depts.add(str(r["dept"]))
        if r.get("area") is not None:
            areas.add(str(r["area"]))
        if isinstance(r.get("year"), Literal):
            try:
                years.add(int(r["year"].toPython()))
            except (TypeError, ValueError):
                pass
    for d, (depts, areas, years) in grouped.items():
        position[d] = len(facts.disclosures)
        facts.disclosures.append(d)
        facts.departments.append(tuple(sorted(depts)))
        facts.areas.append(tuple(sorted(areas)))
        facts.years.append(tuple(sorted(years)))
    seen: set[tuple[str, str, str | None]] = set()
    for r in select_all(store, PREFIXES + """
SELECT DISTINCT ?d ?p ?v WHERE {
  ?d bkg:hasProject ?p .
  OPTIONAL { ?p bkg:amount ?v }
}"""):
        d = str(r["d"])
        key = (d, str(r["p"]), None if r.get("v") is None else str(r["v"]))
        if key in seen:  # unordered pages (a remote store) may repeat a row
            continue
        seen.add(key)
        if d not in position:  # a project of something not typed a disclosure: no scope to match
            position[d] = len(facts.disclosures)
            facts.disclosures.append(d)
            facts.departments.append(())
            facts.areas.append(())
            facts.years.append(())
        amount = r.get("v")
        facts.projects.append(str(r["p"]))
        facts.disclosure_of.append(position[d])
        facts.amounts.append(_decimal(amount, facts))
    rows_of: dict[str, list[int]] = {}
    for i, p in enumerate(facts.projects):
        rows_of.setdefault(p, []).append(i)
    for r in select_all(store, PREFIXES + "SELECT DISTINCT ?p ?t WHERE { ?p bkg:topic ?t }"):
        facts.topic_rows.setdefault(str(r["t"]), []).extend(rows_of.get(str(r["p"]), ()))
    _read_measures(store, facts, position)
    valued = [i for i, a in enumerate(facts.amounts) if a is not None]
    valued.sort(key=lambda i: (facts.disclosures[facts.disclosure_of[i]], facts.projects[i]))
    valued.sort(key=lambda i: facts.amounts[i], reverse=True)  # stable: ties keep the order above
    facts.by_amount = valued
    return facts


def _read_measures(store, facts: ProjectFacts, position: dict[str, int]) -> None:
    """Every disclosure's measures (one query: ~60,000 rows at 10,000 disclosures)."""
    from search.questions import MEASURES  # (the question parser's list of measures)

    values = " ".join(f"bkg:{m}" for m in MEASURES)
    seen: set[tuple[str, str, str]] = set()
    for r in select_all(store, PREFIXES + f"SELECT DISTINCT ?d ?m ?v WHERE {{ VALUES ?m {{ {values} }} ?d ?m ?v }}"):
        d, m, v = str(r["d"]), str(r["m"]), r["v"]
        if (d, m, str(v)) in seen:  # unordered pages (a remote store) may repeat a row
            continue
        seen.add((d, m, str(v)))
        if not isinstance(v, Literal) or str(v.datatype) != _DECIMAL or not _NUMERIC.match(str(v)):
            facts.measures_decimal = False
            continue
        if d not in position:  # a measure of something not typed a disclosure: no scope to match
            position[d] = len(facts.disclosures)
            facts.disclosures.append(d)
            facts.departments.append(())
            facts.areas.append(())
            facts.years.append(())
        facts.measures.setdefault(m, []).append((position[d], Decimal(str(v))))


def _decimal(term, facts: ProjectFacts) -> Decimal | None:
    if term is None:
        return None
    if not isinstance(term, Literal) or str(term.datatype) != _DECIMAL or not _NUMERIC.match(str(term)):
        facts.decimal_only = False
        return None
    return Decimal(str(term))


@dataclass
class Selected:
    """The rows of the table (positions, in table order) that a template's selection matches:
    distinct ``(project, disclosure, amount)`` as the store's ``SELECT DISTINCT`` gives them."""

    facts: ProjectFacts
    rows: list[int]



def select(facts: ProjectFacts, *, topics: set[str] | None, departments: set[str], areas: set[str],
           years: set[int]) -> Selected:
    """Rows of projects (tagged with one of ``topics``, when given) whose disclosure is in scope:
    published by one of ``departments`` (when given; otherwise of one of ``areas``, when given) and
    of one of ``years`` (when given), exactly as ``search.templates.scope`` restricts ``?d``."""
    if topics is None:
        candidates: list[int] | range = range(len(facts.projects))
    else:
        found: set[int] = set()
        for t in topics:
            found.update(facts.topic_rows.get(t, ()))
        candidates = sorted(found)
    if not (departments or areas or years):
        return Selected(facts, list(candidates))
    in_scope: dict[int, bool] = {}
    rows = []
    for r in candidates:
        di = facts.disclosure_of[r]
        ok = in_scope.get(di)
        if ok is None:
            ok = in_scope[di] = scoped(facts, di, departments, areas, years)
        if ok:
            rows.append(r)
    return Selected(facts, rows)


def scoped(facts: ProjectFacts, di: int, departments: set[str], areas: set[str], years: set[int]) -> bool:
    """Whether disclosure ``di`` is in the scope ``search.templates.scope`` writes: published by
    one of ``departments`` (when given; otherwise of one of ``areas``, when given) and of one of
    ``years`` (when given)."""
    ok = True
    if departments:
        ok = any(x in departments for x in facts.departments[di])
    elif areas:
        ok = any(x in areas for x in facts.areas[di])
    if ok and years:
        ok = any(y in years for y in facts.years[di])
    return ok


def measure_figures(facts: ProjectFacts, measure: str, *, departments: set[str], areas: set[str],
                    years: set[int]) -> dict:
    """Over the distinct ``(disclosure, value)`` rows of ``measure`` whose disclosure is in scope,
    what the measure query's aggregate computes: ``count`` (distinct disclosures), ``total`` (the
    sum of the values; None without rows) and ``rows`` (the divisor of its AVG)."""
    rows = [(di, v) for di, v in facts.measures.get(measure, ())
            if not (departments or areas or years) or scoped(facts, di, departments, areas, years)]
    return {"count": len({di for di, _ in rows}), "rows": len(rows),
            "total": sum((v for _, v in rows), Decimal(0)) if rows else None}


def top(selected: Selected, n: int, descending: bool) -> list[tuple[str, str, Decimal]]:
    """The ``n`` rows with the largest (smallest) amount, ties in a fixed order (disclosure, then
    project IRI), so the same table always gives the same rows (the store's ``ORDER BY … LIMIT``
    leaves ties to chance). Walks the table's amount order until ``n`` selected rows are found."""
    f = selected.facts
    wanted = set(selected.rows) if len(selected.rows) < len(f.projects) else None
    order = f.by_amount if descending else reversed(f.by_amount)
    out = []
    for i in order:
        if wanted is None or i in wanted:
            out.append((f.projects[i], f.disclosures[f.disclosure_of[i]], f.amounts[i]))
            if len(out) >= n:
                break
    return out


def aggregate(facts: ProjectFacts, selected: Selected, count_what: str, with_value: bool) -> dict:
    """``count``, and with ``with_value`` ``total`` (amounts, an unvalued project adding nothing)
    and ``valued`` (projects with an amount), as the template's aggregate subquery computes them:
    ``COUNT(DISTINCT ?iri | ?d | ?area_)``, ``SUM(COALESCE(?value_, 0))``, ``COUNT(?value_)``."""
    rows = selected.rows
    if count_what == "?d":
        count = len({facts.disclosure_of[i] for i in rows})
    elif count_what == "?area_":
        count = len({a for di in {facts.disclosure_of[i] for i in rows} for a in facts.areas[di]})
    else:
        count = len({facts.projects[i] for i in rows})
    out = {"count": count}
    if with_value:
        values = [facts.amounts[i] for i in rows if facts.amounts[i] is not None]
        out["valued"] = len(values)
        out["total"] = sum(values, Decimal(0)) if values else None  # None: SUM of integer zeros
    return out


def values_literal(amount: Decimal | None) -> str:
    """A SPARQL term for a total or amount: an xsd:decimal, or the integer 0 of an empty SUM."""
    if amount is None:
        return "0"
    text = format(amount, "f")
    return f'"{text}"^^<{_DECIMAL}>'
