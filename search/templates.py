"""The SPARQL behind each question shape, built so that it stays bounded on a large graph.

Every query has the same skeleton::

    SELECT ?iri <label, amount, county, department, year, file, lines ...> <aggregates>
    WHERE {
      { SELECT DISTINCT ?iri ?d [?value_] WHERE { <what is asked> <scope> } [ORDER BY ...] LIMIT n }
      [ { SELECT [?d] (COUNT(...) AS ?count_) (SUM(...) AS ?total_) ... WHERE { ... } [GROUP BY ?d] } ]
      OPTIONAL { ?iri rdfs:label ?label_ } ...          # context, only for the rows kept
    } GROUP BY ?iri ORDER BY ...

- the selection (which resources, in which areas and years, filtered, ranked) runs in a subquery
  with its LIMIT, so context (labels, county, file, lines) is fetched only for the rows returned:
  a broad question on 10,000 disclosures touches its matches once, not matches × context;
- rankings order by the value inside that subquery (top N overall, or per disclosure with a
  count of larger siblings), counts/sums/averages are ``COUNT``/``SUM``/``AVG`` in SPARQL;
- scopes, topics and categories are VALUES lists resolved beforehand (areas within areas from the
  gazetteer, narrower topics from topics.ttl, narrower categories from codelists.ttl), never
  zero-or-more paths: Oxigraph joins a VALUES list by lookup but evaluates such a path first;
- every variable an OPTIONAL shares with the rest of the query is bound before it on every branch
  (``tests/test_questions_templates.py`` walks the algebra of every template to check it), so no
  OPTIONAL can join a whole column of the graph — the 4-minute "霸州市 满意度" query of issue 8;
- a ranking or aggregate over projects (all, or of a topic) may take its top rows and figures from
  the project table of the index generation (``search.project_facts``, ``build_queries``) as VALUES
  instead of the scan: at 10,000 disclosures every row the store joins costs ~40 µs, so "the
  largest project" took 2.1-2.6 s by scan and 3 ms this way. The full query is still returned as the
  one that answers (same rows; tests/test_project_facts.py).

Question text reaches a query only through ``sparql.literal``/``number``/``iri``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from rdflib import Graph, URIRef
from rdflib.namespace import SKOS

from ontology import ONTOLOGY_DIR
from ontology.iris import indicator_category_iri, table_iri
from ontology.terms import ONTOLOGY_IRI
from search.gazetteer import Gazetteer
from search.project_facts import ProjectFacts, Selected, measure_figures, top, values_literal
from search.project_facts import aggregate as aggregate_facts
from search.project_facts import select as select_facts
from search.quantities import UNITS
from search.questions import MEASURES, Question
from search.sparql import PREFIXES, iri, literal, number
from search.topics import load_topics

MAX_ROWS = 200  # rows an answer lists (the query asks for one more, to know it was cut)
DEFAULT_TOP = 10  # rows of a ranking that names no N ("the largest projects")

CONTEXT_VARS = ("(SAMPLE(?county_) AS ?county) (SAMPLE(?department_) AS ?department) "
                "(SAMPLE(?year_) AS ?fiscal_year) (SAMPLE(?file_) AS ?file) (SAMPLE(?ls_) AS ?line_start) "
                "(SAMPLE(?le_) AS ?line_end) (SAMPLE(?page_) AS ?page)")


def context(source: str = "?iri") -> str:
    """County, department, year and file of ?d; the source lines of ``source``."""
    return f"""
  OPTIONAL {{ ?d bkg:publishedBy ?dept_ . OPTIONAL {{ ?dept_ rdfs:label ?department_ }}
             OPTIONAL {{ ?dept_ bkg:area ?area_ . OPTIONAL {{ ?area_ rdfs:label ?county_ }} }} }}
  OPTIONAL {{ ?d bkg:fiscalYear ?year_ }}
  OPTIONAL {{ ?d bkg:fileName ?file_ }}
  OPTIONAL {{ {source} bkg:lineStart ?ls_ }}
  OPTIONAL {{ {source} bkg:lineEnd ?le_ }}
  OPTIONAL {{ {source} bkg:page ?page_ }}"""


@dataclass
class Selection:
    """What a question selects: ``where`` binds ?iri and ?d on every branch; ``value`` (when not
    None) is a pattern binding ?value_, the number to rank, compare or add up."""

    where: str
    value: str | None = None
    value_required: bool = False  # drop items without a value (rankings, comparisons)
    inner_vars: str = ""  # further variables the subquery hands out (bound on every branch)
    extra_vars: str = ""  # further output columns
    extra: str = ""  # OPTIONALs for those columns, keyed on ?iri, ?d or inner_vars
    order: str = "?county ?fiscal_year ?label"
    source: str = "?iri"
    group: str = "?iri"
    label: str = "rdfs:label"
    # Whether the items can carry a bkg:amount (projects and budget lines; not indicators, legal
    # documents or disclosures): otherwise the amount column stays empty without a lookup per row.
    amounts: bool = True


# ------------------------------------------------------------------ scope


def scope(q: Question) -> str:
    """Restrict ?d to the departments, areas and years the question names.

    Areas are listed with every area inside them (``Question.scope_areas``, from the gazetteer),
    so the query starts from a VALUES list: Oxigraph joins a VALUES list by lookup, but a path to
    a constant (``?d bkg:publishedBy/bkg:area/bkg:partOf* <area>``) by scanning every disclosure's
    items first (7 s instead of 16 ms for one county at 1,000 disclosures)."""
    parts = []
    if q.departments:
        parts.append("VALUES ?scopeDept_ { " + " ".join(iri(d.iri) for d in q.departments) + " }\n"
                     "  ?d bkg:publishedBy ?scopeDept_ .")
    elif q.places:
        areas = q.scope_areas or [p.iri for p in q.places]
        parts.append("VALUES ?scopeArea_ { " + " ".join(iri(a) for a in areas) + " }\n"
                     "  ?d bkg:publishedBy/bkg:area ?scopeArea_ .")
    if q.years:
        parts.append("VALUES ?scopeYear_ { " + " ".join(number(y) for y in q.years) + " }\n"
                     "  ?d bkg:fiscalYear ?scopeYear_ .")
    return "\n  ".join(parts)


def _topic_iris(q: Question) -> list[str]:
    """The question's topics and every narrower one."""
    wanted: list[str] = []
    for m in q.topics:
        wanted += [t.iri for t in _with_narrower(m.topic)]
    return list(dict.fromkeys(wanted))


def _topics_below(q: Question, var: str = "?t_") -> str:
    """The question's topics and every narrower one, as a VALUES list (see ``scope`` for why not
    a ``skos:broader*`` path)."""
    return f"VALUES {var} {{ " + " ".join(iri(i) for i in _topic_iris(q)) + " }"


def _categories_below(categories: list[str], var: str = "?c_") -> str:
    """Indicator categories and the ones under them (codelists.ttl), as a VALUES list."""
    wanted: list[str] = []
    for c in categories:
        wanted += _narrower_categories(str(indicator_category_iri(c)))
    return f"VALUES {var} {{ " + " ".join(iri(i) for i in dict.fromkeys(wanted)) + " }"


@lru_cache(maxsize=64)
def _narrower_categories(top: str) -> tuple[str, ...]:
    graph = _codelists()
    out, todo = [], [URIRef(top)]
    while todo:
        c = todo.pop(0)
        if str(c) not in out:
            out.append(str(c))
            todo.extend(sorted(graph.subjects(SKOS.broader, c)))
    return tuple(out)


@lru_cache(maxsize=1)
def _codelists() -> Graph:
    return Graph().parse(ONTOLOGY_DIR / "codelists.ttl", format="turtle")


def _topic_label_filter(q: Question, var: str) -> str:
    """Without topic tags in the store: the topics' (and narrower topics') zh labels in a name."""
    labels = sorted({l.text for m in q.topics for t in _with_narrower(m.topic) for l in t.labels if l.lang == "zh"},
                    key=len)
    ors = " || ".join(f"CONTAINS(STR({var}), {literal(l)})" for l in labels) or "false"
    return f"FILTER({ors})"


def _with_narrower(topic) -> list:
    """The topic and every topic below it, at any depth."""
    topics = load_topics()
    out, todo = [], [topic.iri]
    while todo:
        current = todo.pop(0)
        for t in topics:
            if (t.iri == current or current in t.broader) and t not in out:
                out.append(t)
                if t.iri != current:
                    todo.append(t.iri)
    return out


def _project_names(q: Question, gaz: Gazetteer, var: str) -> str:
    """Projects named in the question, matched by label in the query (a name may label many)."""
    values = " ".join(literal(n, gaz.project_names.get(n)) for n in q.projects)
    return f"VALUES ?pname_ {{ {values} }}\n  {var} rdfs:label|skos:altLabel ?pname_ ."


def _units(q: Question) -> str:
    """Indicator targets as numbers in the base unit of the question's unit family."""
    family = q.comparison.family if q.comparison else None
    if family is None and q.operation in ("rank", "average", "sum") and _rate_like(q):
        family = "percent"
    rows = [(u, f) for u, (fam, f) in sorted(UNITS.items()) if family is None or fam == family]
    values = " ".join(f"({literal(u)} {number(float(f))})" for u, f in rows)
    return (f"?iri bkg:targetNumber ?n_ ; bkg:unit ?u_ .\n  VALUES (?u_ ?f_) {{ {values} }}\n"
            "  BIND(?n_ * ?f_ AS ?value_)")


def _rate_like(q: Question) -> bool:
    return bool(q.categories and any("satisfaction" in c for c in q.categories)) or \
        any(k.endswith(("率", "度")) for k in q.kinds)


def _comparison_filter(q: Question, var: str = "?value_") -> str:
    c = q.comparison
    if c is None:
        return ""
    return f"FILTER({var} {c.op} {number(float(c.value))})"


# ------------------------------------------------------------------ selections per intent


def topic_selection(q: Question, gaz: Gazetteer) -> Selection:
    if gaz.has_topic_tags:
        # Tags written by search.topics (label and embedding evidence); narrower topics count
        # too. Only funded projects (money or a target table) are tagged.
        where = f"""{_topics_below(q)}
  ?iri bkg:topic ?t_ .
  ?d bkg:hasProject ?iri ."""
    else:
        where = f"""?d bkg:hasProject ?iri .
  ?iri rdfs:label|skos:altLabel ?name_ .
  {_topic_label_filter(q, "?name_")}
  FILTER(EXISTS {{ ?iri bkg:amount ?amt_ }} || EXISTS {{ ?iri bkg:hasIndicator ?ind_ }})"""
    if not gaz.has_topic_tags:
        return Selection(where, value="?iri bkg:amount ?value_ .")
    return Selection(where, value="?iri bkg:amount ?value_ .",
                     extra_vars=' (GROUP_CONCAT(DISTINCT ?topicLabel_; separator="; ") AS ?topics)',
                     extra="""
  OPTIONAL { ?iri bkg:topic ?tt_ . ?tt_ skos:prefLabel ?topicLabel_ FILTER(LANG(?topicLabel_) = "zh") }""")


def project_selection(q: Question, gaz: Gazetteer) -> Selection:
    where = "?d bkg:hasProject ?iri ."
    if q.projects:
        where += "\n  " + _project_names(q, gaz, "?iri")
    return Selection(where, value="?iri bkg:amount ?value_ .")


def cites_selection(q: Question, gaz: Gazetteer) -> Selection:
    # One path from the 文号: as a UNION, Oxigraph scanned every project's indicators for the
    # second branch (0.7-1.6 s for a 文号 cited 4,576 times at 10,000 disclosures; 0.1 s this way).
    where = f"""?doc_ bkg:documentNumber {literal(q.documents[0])} .
  ?iri bkg:legalBasis|bkg:hasIndicator/bkg:legalBasis ?doc_ .
  ?d bkg:hasProject ?iri ."""
    return Selection(where, value="?iri bkg:amount ?value_ .")


def lines_selection(q: Question, gaz: Gazetteer) -> Selection:
    """Budget lines of the codes a question names, from the table that shows the full split: the
    支出总表 for functional codes, the 基本支出表 for economic ones. Without codes (the largest
    lines of a county): the lowest-level (项) functional lines of the 支出总表."""
    if q.codes:
        tables = " ".join(iri(str(table_iri(t))) for t in ("expenditure", "basic-economic"))
        where = f"""VALUES ?code_ {{ {" ".join(literal(c) for c in q.codes)} }}
  VALUES ?table_ {{ {tables} }}
  ?c_ skos:notation ?code_ .
  ?iri bkg:classification ?c_ ; bkg:sourceTable ?table_ .
  ?d bkg:hasBudgetLine ?iri ."""
    else:
        # The 项 level (seven-digit functional codes): a test on the code itself, since a
        # FILTER NOT EXISTS looking for sub-lines took a minute at 10,000 disclosures.
        where = f"""?d bkg:hasBudgetLine ?iri .
  ?iri bkg:sourceTable {iri(str(table_iri("expenditure")))} ; bkg:classification ?c_ .
  ?c_ skos:notation ?leafCode_ .
  FILTER(STRLEN(?leafCode_) = 7)"""
    return Selection(where, value="?iri bkg:amount ?value_ .",
                     extra_vars=" (SAMPLE(?codeOut_) AS ?code) (SAMPLE(?basic_) AS ?basic)"
                                " (SAMPLE(?projectAmount_) AS ?project_amount)",
                     extra="""
  OPTIONAL { ?iri bkg:classification/skos:notation ?codeOut_ }
  OPTIONAL { ?iri bkg:basicAmount ?basic_ }
  OPTIONAL { ?iri bkg:projectAmount ?projectAmount_ }""",
                     order="?county ?fiscal_year ?code")


def indicator_selection(q: Question, gaz: Gazetteer) -> Selection | None:
    # Project and department-wide indicators alike point to their disclosure.
    parts = ["?iri a bkg:PerformanceIndicator ; bkg:fromDisclosure ?d ."]
    if q.projects:
        parts.append(_project_names(q, gaz, "?pj_") + "\n  ?pj_ bkg:hasIndicator ?iri .")
    elif q.topics and gaz.has_topic_tags:
        parts.append(f"""{_topics_below(q)}
  ?pj_ bkg:topic ?t_ ; bkg:hasIndicator ?iri .""")
    elif q.topics:
        parts.append(f"?pj_ bkg:hasIndicator ?iri ; rdfs:label ?pjname_ .\n  {_topic_label_filter(q, '?pjname_')}")
    if q.categories:
        parts.append(f"""{_categories_below(q.categories)}
  ?iri bkg:indicatorLevel1|bkg:indicatorLevel2 ?c_ .""")
    if q.kinds:
        ors = " || ".join(f"CONTAINS(STR(?il_), {literal(k)})" for k in q.kinds)
        parts.append(f"?iri rdfs:label ?il_ .\n  FILTER({ors})")
    if len(parts) == 1 and not (q.places or q.departments or q.years or q.comparison):
        return None  # "list every indicator": not a question
    needs_value = q.comparison is not None or q.operation in ("rank", "average", "sum")
    return Selection("\n  ".join(parts), value=_units(q) if needs_value else None, value_required=needs_value,
                     extra_vars=(" (SAMPLE(?projectLabel_) AS ?project) (SAMPLE(?tv_) AS ?target_value)"
                                 " (SAMPLE(?unitOut_) AS ?unit) (SAMPLE(?l1_) AS ?level1) (SAMPLE(?l2_) AS ?level2)"),
                     extra="""
  OPTIONAL { ?pjx_ bkg:hasIndicator ?iri . ?pjx_ a bkg:Project ; rdfs:label ?projectLabel_ }
  OPTIONAL { ?iri bkg:targetValue ?tv_ }
  OPTIONAL { ?iri bkg:unit ?unitOut_ }
  OPTIONAL { ?iri bkg:indicatorLevel1/skos:prefLabel ?l1_ FILTER(LANG(?l1_) = "zh") }
  OPTIONAL { ?iri bkg:indicatorLevel2/skos:prefLabel ?l2_ FILTER(LANG(?l2_) = "zh") }""",
                     order="?county ?fiscal_year ?project ?line_start ?iri", amounts=False)


def basis_selection(q: Question, gaz: Gazetteer) -> Selection | None:
    """The legal documents a project (named, or about a topic) cites, itself or in its indicators;
    one row per (document, citing project), with the project's lines as the evidence."""
    if q.projects:
        selector = _project_names(q, gaz, "?project") + "\n  ?d bkg:hasProject ?project ."
    elif q.topics and gaz.has_topic_tags:
        selector = f"{_topics_below(q)}\n  ?project bkg:topic ?t_ .\n  ?d bkg:hasProject ?project ."
    elif q.places or q.departments:
        selector = "?d bkg:hasProject ?project ."  # every project of the area/department in scope
    else:
        return None
    where = selector + """
  { ?project bkg:legalBasis ?iri } UNION { ?project bkg:hasIndicator ?i_ . ?i_ bkg:legalBasis ?iri }"""
    # ?project is projected as well as grouped on: Virtuoso folds groups by the projected keys.
    return Selection(where, inner_vars=" ?project", group="?iri ?project",
                     extra_vars=" ?project (SAMPLE(?projectLabel_) AS ?project_label) (SAMPLE(?title_) AS ?title)",
                     extra="""
  OPTIONAL { ?project rdfs:label ?projectLabel_ }
  OPTIONAL { ?iri dct:title ?title_ }""",
                     order="?county ?fiscal_year ?project_label ?label", source="?project", amounts=False)


def disclosure_selection(q: Question, gaz: Gazetteer) -> Selection:
    return Selection("?d a bkg:Disclosure .\n  BIND(?d AS ?iri)", amounts=False)


# ------------------------------------------------------------------ the skeleton


def items_query(sel: Selection, q: Question, *, aggregate: str | None = None, count_what: str = "?iri",
                change: bool = False, facts: Selected | None = None,
                facts_table: ProjectFacts | None = None) -> str:
    """The skeleton above for a selection: ranked/filtered/limited items with their context, and
    optionally the aggregates ``aggregate`` ("count", "sum", "average") overall or per disclosure.
    The aggregate subqueries come last: joined before the context OPTIONALs they made Oxigraph
    evaluate those OPTIONALs over the whole graph (2.8 s against 0.1 s for one county at 1,000).

    With ``facts`` (the selection's rows from ``search.project_facts``), the ranking's top rows
    and the overall aggregate figures enter as ``VALUES`` instead of being computed from a scan;
    everything else is the same query."""
    ranked = q.operation == "rank" or (q.rank is not None and q.operation in ("compare", "list"))
    value_needed = sel.value is not None and (ranked or q.comparison is not None or sel.value_required)
    inner_vars = "?iri ?d" + sel.inner_vars + (" ?value_" if value_needed else "")
    body = [scope(q), sel.where]
    if value_needed:
        body.append(sel.value)
        if q.comparison is not None and _comparable(q):
            body.append(_comparison_filter(q))
    where = "\n  ".join(b for b in body if b)
    direction = "ASC" if q.rank == "asc" else "DESC"
    limit = _limit(q, ranked)
    if ranked and value_needed and q.per_group:
        inner = _per_group_top(inner_vars, where, direction, q.limit or 1)
    elif ranked and value_needed and facts is not None and not sel.inner_vars and (
            rows := top(facts, limit, direction == "DESC")):
        # (No rows: the scan, which finds none either. An empty VALUES makes Oxigraph evaluate
        # the context OPTIONALs below over every disclosure: 8 s at 10,000.)
        inner = ("SELECT * WHERE { VALUES (?iri ?d ?value_) { "
                 + " ".join(f"({iri(p, base=None)} {iri(d, base=None)} {values_literal(v)})" for p, d, v in rows) + " } }")
    elif ranked and value_needed:
        inner = (f"SELECT DISTINCT {inner_vars} WHERE {{\n  {where}\n}}\n"
                 f"  ORDER BY {direction}(?value_) LIMIT {limit}")
    else:
        inner = f"SELECT DISTINCT {inner_vars} WHERE {{\n  {where}\n}} LIMIT {limit}"
    agg_block, agg_vars = "", ""
    # Counting counties beside a sum: the store's form counts no area there (its items carry none).
    areas_beside_sum = count_what == "?area_" and aggregate in ("sum", "average") and sel.value is not None
    from_facts = None
    if aggregate and facts is not None and facts_table is not None and not areas_beside_sum:
        from_facts = _aggregate_from_facts(sel, facts_table, facts, aggregate, count_what,
                                           value_in_where=value_needed, per_group=q.per_group)
    if from_facts is not None:
        agg_block, agg_vars = from_facts
    elif aggregate:
        base = "\n  ".join(b for b in (scope(q), sel.where) if b)
        agg_block, agg_vars = _aggregate(sel, where if value_needed else base, aggregate, count_what,
                                         per_group=q.per_group, value_in_where=value_needed,
                                         previous=(q.operation == "change"))
    value_vars = " (SAMPLE(?value_) AS ?value)" if value_needed else ""
    amount = "\n  OPTIONAL { ?iri bkg:amount ?amount_ }" if sel.amounts else ""
    change_block, change_vars = (_project_change() if change else ("", ""))
    if ranked and value_needed:
        order = f"{direction}(?value) " + ("?county ?fiscal_year " if q.per_group else "") + "?county ?label"
        if q.per_group:
            order = f"?county ?fiscal_year {direction}(?value) ?label"
    else:
        order = sel.order
    query = PREFIXES + f"""SELECT ?iri (SAMPLE(?label_) AS ?label) (SAMPLE(?amount_) AS ?amount) {CONTEXT_VARS}{value_vars}{sel.extra_vars}{agg_vars}{change_vars}
WHERE {{
  {{ {inner} }}
  OPTIONAL {{ ?iri {sel.label} ?label_ }}{amount}{sel.extra}{change_block}{context(sel.source)}{agg_block}
}}
GROUP BY {sel.group}
ORDER BY {order}"""
    return query if sel.group == "?iri" else _iri_sampled_from_its_group(query)


def _iri_sampled_from_its_group(query: str) -> str:
    """The item grouped as ``?item_`` and output as ``(SAMPLE(?item_) AS ?iri)`` (one value per
    group, so the same rows): grouped by two keys (a document and the project citing it),
    Virtuoso 7.2 outputs one and the same ``?iri`` on every row while ``SAMPLE(STR(?iri))`` shows
    the right ones (tests/test_virtuoso_queries.py compares every ``ask`` query on both engines)."""
    renamed = re.sub(r"\?iri\b", "?item_", query)
    return renamed.replace("SELECT ?item_ ", "SELECT (SAMPLE(?item_) AS ?iri) ", 1)


def _comparable(q: Question) -> bool:
    """A comparison applies to the selection's value: money to amounts, other units to targets."""
    c = q.comparison
    if c is None:
        return False
    return q.intent == "indicators" or c.family in ("money", None)


def _limit(q: Question, ranked: bool) -> int:
    if q.limit:
        return q.limit
    if ranked and q.operation == "rank" and q.singular:
        return 1
    return MAX_ROWS + 1


def _per_group_top(inner_vars: str, where: str, direction: str, n: int) -> str:
    """The top ``n`` items of each disclosure: an item is kept when fewer than ``n`` items of its
    disclosure rank above it (a count of larger siblings, joined on ?d)."""
    beats = ">" if direction == "DESC" else "<"
    return f"""SELECT {inner_vars} WHERE {{
    {{ SELECT DISTINCT {inner_vars} WHERE {{
      {where}
    }} }}
    OPTIONAL {{ {{ SELECT DISTINCT ?d (?iri AS ?other_) (?value_ AS ?otherValue_) WHERE {{
      {where}
    }} }}
      FILTER(?otherValue_ {beats} ?value_ || (?otherValue_ = ?value_ && STR(?other_) < STR(?iri))) }}
  }} GROUP BY {inner_vars} HAVING(COUNT(?other_) < {n}) LIMIT {MAX_ROWS + 1}"""


def _aggregate(sel: Selection, where: str, aggregate: str, count_what: str, *, per_group: bool,
               value_in_where: bool, previous: bool = False) -> tuple[str, str]:
    """COUNT/SUM/AVG over the whole selection (not just the rows listed): overall, or per ?d and
    overall (columns ``all_count``, ``all_total`` ...); with ``previous``, each disclosure's total
    beside the total of the same department's year before (``previous``, ``change``).
    ``where`` is the selection with its scope (and its value, when ``value_in_where``)."""
    with_value = aggregate in ("sum", "average") and sel.value is not None
    if with_value and not value_in_where:
        # Items without a value still count; SUM/AVG skip them.
        where += f"\n      OPTIONAL {{ {sel.value} }}"
    inner_vars = "?iri ?d" + (" ?value_" if with_value or value_in_where else "")
    items = f"""{{ SELECT DISTINCT {inner_vars} WHERE {{
      {where}
    }} }}"""
    if count_what in ("?area_", "?d") and not with_value:
        # Counting counties or disclosures: the distinct disclosures first, then their areas
        # (one lookup per disclosure instead of one per item).
        items = f"""{{ SELECT DISTINCT ?d WHERE {{
      {where}
    }} }}""" + ("\n    ?d bkg:publishedBy/bkg:area ?area_ ." if count_what == "?area_" else "")

    def columns(prefix: str) -> tuple[list[str], str]:
        cols = [f"(COUNT(DISTINCT {count_what}) AS ?{prefix}count_)"]
        out = f" (SAMPLE(?{prefix}count_) AS ?{prefix}count)"
        if with_value:
            # An unbound value would make SUM/AVG an error (unbound): items without one add
            # nothing, and ?valued_ says how many had one (the average divides by it).
            cols += [f"(SUM(COALESCE(?value_, 0)) AS ?{prefix}total_)", f"(COUNT(?value_) AS ?{prefix}valued_)"]
            out += f" (SAMPLE(?{prefix}total_) AS ?{prefix}total) (SAMPLE(?{prefix}valued_) AS ?{prefix}valued)"
            if aggregate == "average":
                cols.append(f"(SUM(COALESCE(?value_, 0)) / COUNT(?value_) AS ?{prefix}average_)")
                out += f" (SAMPLE(?{prefix}average_) AS ?{prefix}average)"
        return cols, out

    cols, out = columns("")
    if not per_group:
        return f"""
  {{ SELECT {" ".join(cols)} WHERE {{
    {items}
  }} }}""", out
    block = f"""
  {{ SELECT ?d {" ".join(cols)} WHERE {{
    {items}
  }} GROUP BY ?d }}"""
    all_cols, all_out = columns("all_")
    block += f"""
  {{ SELECT {" ".join(all_cols)} WHERE {{
    {items}
  }} }}"""
    out += all_out
    if previous and with_value:
        block += f"""
  ?d bkg:publishedBy ?sameDept_ ; bkg:fiscalYear ?thisYear_ .
  BIND(?thisYear_ - 1 AS ?prevYear_)
  OPTIONAL {{ {{ SELECT ?sameDept_ ?prevYear_ (SUM(COALESCE(?value_, 0)) AS ?previous_) WHERE {{
      {items}
      ?d bkg:publishedBy ?sameDept_ ; bkg:fiscalYear ?prevYear_ .
    }} GROUP BY ?sameDept_ ?prevYear_ }} }}"""
        out += " (SAMPLE(?previous_) AS ?previous) ((SAMPLE(?total_) - SAMPLE(?previous_)) AS ?change)"
    return block, out


# Per-disclosure figures enter as one VALUES row per disclosure: past this many the query text
# (~120 bytes a row) costs more to send and parse than the scan it saves.
MAX_GROUP_VALUES = 2000


def _aggregate_from_facts(sel: Selection, table: ProjectFacts, facts: Selected, aggregate: str, count_what: str,
                          *, value_in_where: bool, per_group: bool) -> tuple[str, str] | None:
    """The aggregate of ``_aggregate`` (same columns, same arithmetic) from the project table:
    count, total and valued as constants, overall and (``per_group``) per disclosure, the average
    divided by the store. None when there are too many disclosures to list (the scan runs)."""
    with_value = aggregate in ("sum", "average") and sel.value is not None
    if value_in_where:  # the selection keeps only valued rows (a ranking or comparison)
        facts = Selected(table, [i for i in facts.rows if table.amounts[i] is not None])
    groups: dict[int, list[int]] = {}
    if per_group:
        for i in facts.rows:
            groups.setdefault(table.disclosure_of[i], []).append(i)
        if len(groups) > MAX_GROUP_VALUES:
            return None

    def columns(prefix: str) -> tuple[list[str], str, str]:
        names = [f"?{prefix}count_"]
        out = f" (SAMPLE(?{prefix}count_) AS ?{prefix}count)"
        bind = ""
        if with_value:
            names += [f"?{prefix}total_", f"?{prefix}valued_"]
            out += f" (SAMPLE(?{prefix}total_) AS ?{prefix}total) (SAMPLE(?{prefix}valued_) AS ?{prefix}valued)"
            if aggregate == "average":
                bind = f"\n  BIND(?{prefix}total_ / ?{prefix}valued_ AS ?{prefix}average_)"
                out += f" (SAMPLE(?{prefix}average_) AS ?{prefix}average)"
        return names, out, bind

    def terms(selected: Selected) -> str:
        figures = aggregate_facts(table, selected, count_what, with_value)
        out = [str(figures["count"])]
        if with_value:
            out += [values_literal(figures["total"]), str(figures["valued"])]
        return " ".join(out)

    names, out, bind = columns("")
    if not per_group:
        return f"\n  VALUES ({' '.join(names)}) {{ ({terms(facts)}) }}" + bind, out
    rows = " ".join(f"({iri(table.disclosures[d], base=None)} {terms(Selected(table, members))})"
                    for d, members in groups.items())
    block = f"\n  VALUES (?d {' '.join(names)}) {{ {rows} }}" + bind
    all_names, all_out, all_bind = columns("all_")
    block += f"\n  VALUES ({' '.join(all_names)}) {{ ({terms(facts)}) }}" + all_bind
    return block, out + all_out


def _project_change() -> tuple[str, str]:
    """The same department's project of the same name in the year before, and the difference."""
    block = """
  ?d bkg:publishedBy ?sameDept_ ; bkg:fiscalYear ?thisYear_ .
  BIND(?thisYear_ - 1 AS ?prevYear_)
  OPTIONAL { ?iri rdfs:label ?sameName_ .
             ?prevD_ bkg:publishedBy ?sameDept_ ; bkg:fiscalYear ?prevYear_ ; bkg:hasProject ?prevP_ .
             ?prevP_ rdfs:label ?sameName_ ; bkg:amount ?previous_ . }"""
    return block, (" (SAMPLE(?previous_) AS ?previous) ((SAMPLE(?amount_) - SAMPLE(?previous_)) AS ?change)")


# ------------------------------------------------------------------ measures


def measure_query(q: Question, gaz: Gazetteer, table: ProjectFacts | None = None) -> str:
    """Disclosure-level measures (支出总计, 基本支出 ...) of the disclosures in scope: one row per
    (disclosure, measure); ranked, compared, summed/averaged across disclosures, or set beside the
    same department's previous year. With ``table`` (a question ``measure_facts_apply`` to), the count,
    total and average come from the project table's measures as constants (``_measure_figures``)."""
    measures = q.measures or ["totalExpenditure"]
    values = " ".join(f"(bkg:{m} {literal(MEASURES[m][0], 'zh')})" for m in measures)
    ranked = q.operation == "rank" or q.rank is not None
    direction = "ASC" if q.rank == "asc" else "DESC"
    where = "\n    ".join(b for b in (scope(q), f"VALUES ?measure {{ {' '.join('bkg:' + m for m in measures)} }}",
                                      # (the measures' domain is bkg:Disclosure: a type test
                                      # would be a lookup per disclosure, 0.4 s at 10,000)
                                      "?d ?measure ?value_ .",
                                      _comparison_filter(q) if q.comparison is not None else "") if b)
    limit = q.limit or MAX_ROWS + 1
    # By value alone: a tie-break on ?d decodes every disclosure IRI (0.6 s of 0.67 at 10,000);
    # rows tied at the cut are the engine's choice, ties above it are ordered by county below.
    order_inner = f" ORDER BY {direction}(?value_)" if ranked else ""
    agg_block, agg_vars = "", ""
    if q.operation in ("sum", "average", "count"):
        cols = ["(COUNT(DISTINCT ?d) AS ?count_)"]
        agg_vars = " (SAMPLE(?count_) AS ?count)"
        if q.operation in ("sum", "average"):
            cols += ["(SUM(?value_) AS ?total_)", "(AVG(?value_) AS ?average_)"]
            agg_vars += " (SAMPLE(?total_) AS ?total) (SAMPLE(?average_) AS ?average)"
        agg_block = f"""
  {{ SELECT ?measure {" ".join(cols)} WHERE {{
    {{ SELECT DISTINCT ?d ?measure ?value_ WHERE {{
    {where}
    }} }}
  }} GROUP BY ?measure }}"""
        if table is not None:
            agg_block = _measure_figures(q, measures, table)
    change_block, change_vars = "", ""
    if q.operation == "change":
        # The year before (fiscal year - 1) of the same department, when the graph holds it.
        # Every join variable of the OPTIONAL is bound before it, so it is a lookup per row.
        change_block = """
  ?d bkg:publishedBy ?sameDept_ ; bkg:fiscalYear ?thisYear_ .
  BIND(?thisYear_ - 1 AS ?prevYear_)
  OPTIONAL { ?prevD_ bkg:publishedBy ?sameDept_ ; bkg:fiscalYear ?prevYear_ ; ?measure ?previous_ . }"""
        change_vars = (" (SAMPLE(?previous_) AS ?previous) (SAMPLE(?prevYear_) AS ?previous_year)"
                       " ((SAMPLE(?amount_) - SAMPLE(?previous_)) AS ?change)")
    order = f"{direction}(?amount) ?county" if ranked else "?county ?fiscal_year ?measure"
    return PREFIXES + f"""SELECT ?iri ?measure (SAMPLE(?label_) AS ?label) (SAMPLE(?amount_) AS ?amount) {CONTEXT_VARS}{agg_vars}{change_vars}
WHERE {{
  {{ SELECT DISTINCT ?d ?measure ?value_ WHERE {{
    {where}
  }}{order_inner} LIMIT {limit} }}
  VALUES (?measure ?measureLabel_) {{ {values} }}
  BIND(?d AS ?iri)
  BIND(?value_ AS ?amount_)
  OPTIONAL {{ ?d rdfs:label ?docLabel_ }}
  BIND(CONCAT(COALESCE(STR(?docLabel_), ""), STR(" — "), STR(?measureLabel_)) AS ?label_){change_block}{context("?d")}{agg_block}
}}
GROUP BY ?iri ?measure
ORDER BY {order}"""


def measure_facts_apply(q: Question) -> bool:
    """Whether the table's measures reproduce the question's aggregate: a count, total or
    average of measures across the disclosures in scope, without a comparison."""
    return q.intent == "measure" and q.operation in ("sum", "average", "count") and q.comparison is None


def _measure_figures(q: Question, measures: list[str], table: ProjectFacts) -> str:
    """The aggregate block of ``measure_query`` from the table: per measure with rows in scope,
    ``COUNT(DISTINCT ?d)``, ``SUM(?value_)`` and the row count ``AVG`` divides by, as a VALUES row;
    the average divided by the store as AVG does. A measure without rows has no row (as GROUP BY
    gives none)."""
    scope_of = {"departments": {d.iri for d in q.departments},
                "areas": set(q.scope_areas or [p.iri for p in q.places]) if q.places else set(),
                "years": {int(y) for y in q.years}}
    with_value = q.operation in ("sum", "average")
    rows = []
    for m in measures:
        figures = measure_figures(table, ONTOLOGY_IRI + "#" + m, **scope_of)
        if not figures["rows"]:
            continue
        terms = [f"bkg:{m}", str(figures["count"])]
        if with_value:
            terms += [values_literal(figures["total"]), str(figures["rows"])]
        rows.append("(" + " ".join(terms) + ")")
    names = "?measure ?count_" + (" ?total_ ?rows_" if with_value else "")
    block = f"\n  VALUES ({names}) {{ {' '.join(rows)} }}"
    if with_value:
        block += "\n  BIND(?total_ / ?rows_ AS ?average_)"
    return block


# ------------------------------------------------------------------ negation


def negation_query(q: Question, gaz: Gazetteer) -> str:
    """Disclosures in scope none of whose funded projects is about the topic (or has the name):
    one row per disclosure, so the year that lacks it is stated. ``MINUS`` (an anti-join on ?d),
    not ``FILTER NOT EXISTS``: Oxigraph re-evaluates the latter per disclosure (29 s against
    0.01 s at 1,000 disclosures)."""
    if q.topics and gaz.has_topic_tags:
        inner = f"""?d bkg:hasProject ?p_ .
      ?p_ bkg:topic ?t_ .
      {_topics_below(q)}"""
    elif q.topics:
        inner = f"""?d bkg:hasProject ?p_ .
      ?p_ rdfs:label|skos:altLabel ?name_ .
      {_topic_label_filter(q, "?name_")}"""
    else:
        inner = _project_names(q, gaz, "?p_") + "\n      ?d bkg:hasProject ?p_ ."
    where = "\n    ".join(b for b in (scope(q), "?d a bkg:Disclosure .") if b)
    return PREFIXES + f"""SELECT ?iri (SAMPLE(?label_) AS ?label) (SAMPLE(?amount_) AS ?amount) {CONTEXT_VARS}
WHERE {{
  {{ SELECT DISTINCT ?d WHERE {{
    {where}
    MINUS {{
      {inner}
    }}
  }} LIMIT {MAX_ROWS + 1} }}
  BIND(?d AS ?iri)
  OPTIONAL {{ ?d rdfs:label ?label_ }}
  OPTIONAL {{ ?d bkg:totalExpenditure ?amount_ }}{context("?d")}
}}
GROUP BY ?iri
ORDER BY ?county ?fiscal_year"""


# ------------------------------------------------------------------ dispatch


def build_query(q: Question, gaz: Gazetteer) -> str | None:
    """The SPARQL for a parsed question, or None when its shape has no query."""
    return build_queries(q, gaz)[0]


def build_queries(q: Question, gaz: Gazetteer, table: Callable[[], ProjectFacts | None] | None = None
                  ) -> tuple[str | None, str | None]:
    """The SPARQL for a parsed question (None when its shape has no query) and, when the project
    table (``table()``, asked for only then) can stand in for its scan (``search.project_facts``),
    the same query with the table's rows and figures in place of the scan: the one to run (None:
    run the first)."""
    full = _build_query(q, gaz, None, None)
    if full is not None and table is not None and q.intent == "measure":
        facts = table() if measure_facts_apply(q) else None
        if facts is None or not facts.measures_decimal:
            return full, None
        fast = measure_query(q, gaz, facts)
        return full, (fast if fast != full else None)
    if full is None or table is None or not _facts_apply(q, gaz):
        return full, None
    table = table()
    if table is None:
        return full, None
    facts = _facts_for(q, gaz, table)
    if facts is None:
        return full, None
    fast = _build_query(q, gaz, facts, table)
    return full, (fast if fast != full else None)


def _facts_apply(q: Question, gaz: Gazetteer) -> bool:
    """Whether the project table reproduces the question's selection exactly: projects (all, or
    tagged with the question's topics) in a scope of departments, areas and years, ranked overall
    or added up (overall and per disclosure); no comparison, no year-over-year change."""
    if q.comparison is not None:
        return False
    # Only where the query scans: a ranking, or an aggregate beside the rows (per county too; a
    # ranking per county keeps its own form).
    aggregates = q.operation in ("count", "sum", "average") or (q.operation == "list" and q.intent == "topic-amount")
    ranks = q.operation == "rank" or (q.operation == "list" and q.rank is not None)
    if not (aggregates or (ranks and not q.per_group)):
        return False
    if q.intent in ("topic", "topic-amount"):
        return gaz.has_topic_tags and bool(q.topics)
    return q.intent == "projects" and not q.projects


def _facts_for(q: Question, gaz: Gazetteer, table: ProjectFacts) -> Selected | None:
    """The project table's rows for the question's selection (see ``_facts_apply``)."""
    if not table.decimal_only:
        return None
    topics = set(_topic_iris(q)) if q.intent in ("topic", "topic-amount") else None
    areas = set(q.scope_areas or [p.iri for p in q.places]) if q.places else set()
    return select_facts(table, topics=topics, departments={d.iri for d in q.departments}, areas=areas,
                        years={int(y) for y in q.years})


def _build_query(q: Question, gaz: Gazetteer, facts: Selected | None, table: ProjectFacts | None) -> str | None:
    op = q.operation
    if q.intent == "measure":
        return measure_query(q, gaz)
    if op == "negate" and q.intent in ("topic", "topic-amount", "projects"):
        return negation_query(q, gaz)
    selection = {"topic": topic_selection, "topic-amount": topic_selection, "projects": project_selection,
                 "cites": cites_selection, "lines": lines_selection, "indicators": indicator_selection,
                 "basis": basis_selection, "disclosures": disclosure_selection}.get(q.intent)
    if selection is None:
        return None
    sel = selection(q, gaz)
    if sel is None:
        return None
    aggregate = {"count": "count", "sum": "sum", "average": "average"}.get(op)
    if q.intent == "topic-amount" and op == "list":
        aggregate = "sum"
    if op == "change" and q.intent in ("topic", "topic-amount"):
        aggregate = "sum"
    count_what = {"county": "?area_", "disclosure": "?d"}.get(q.counted or "", "?iri")
    if aggregate and not sel.value and aggregate != "count":
        aggregate = "count"
    return items_query(sel, q, aggregate=aggregate, count_what=count_what,
                       change=(op == "change" and q.intent == "projects"), facts=facts, facts_table=table)
