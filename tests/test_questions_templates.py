"""Every SPARQL template ``ask`` uses is safe from the OPTIONAL explosion of issue 8.

The walker below reads a query's algebra (rdflib) and tracks, for each pattern, the variables bound
on every branch ("certain") and on some branch ("maybe"). An OPTIONAL is unsafe when it uses a
variable that what precedes it binds only on some branches (the old indicator template's UNION left
``?project`` unbound for department-wide indicators, so ``OPTIONAL { ?project rdfs:label ?x }``
joined every label of the graph), or when it shares no certainly-bound variable with what precedes
it (a cross product). Every template is generated here, for every shape and option, from parsed
questions and from questions built field by field, and walked.
"""
from __future__ import annotations

import itertools

import pytest
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Variable

from search.gazetteer import Department, Gazetteer, Holding, Place
from search.quantities import Comparison
from search.questions import Question
from search.templates import build_query
from search.topics import TopicMatch, load_topics

# ------------------------------------------------------------------ the walker


def _variables(x, *, into_exists: bool = True) -> set[Variable]:
    """Every variable mentioned in an expression or pattern fragment (not those only inside a
    FILTER (NOT) EXISTS pattern, with ``into_exists=False``: that pattern is evaluated per row)."""
    out: set[Variable] = set()
    if isinstance(x, Variable):
        out.add(x)
    elif isinstance(x, CompValue):
        if not into_exists and x.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
            return out
        for k, v in x.items():
            if k == "_vars":  # rdflib's cache of every variable below, EXISTS patterns included
                continue
            out |= _variables(v, into_exists=into_exists)
    elif isinstance(x, (list, tuple, set)):
        for v in x:
            out |= _variables(v, into_exists=into_exists)
    elif isinstance(x, dict):
        for k, v in x.items():
            out |= _variables(k, into_exists=into_exists) | _variables(v, into_exists=into_exists)
    return out


class Walker:
    def __init__(self):
        self.problems: list[str] = []

    def walk(self, node) -> tuple[set, set]:
        """(certainly bound, possibly bound) variables of a pattern."""
        name = getattr(node, "name", None)
        if name == "BGP":
            v = _variables(node.triples)
            return v, v
        if name == "values":
            rows = node.res or []
            keys = set().union(*(set(r) for r in rows)) if rows else set()
            certain = {k for k in keys if all(r.get(k) is not None for r in rows)}
            return certain, keys
        if name in ("Join",):
            c1, m1 = self.walk(node.p1)
            c2, m2 = self.walk(node.p2)
            return c1 | c2, m1 | m2
        if name == "LeftJoin":
            c1, m1 = self.walk(node.p1)
            c2, m2 = self.walk(node.p2)
            shared_unsafe = (m2 & m1) - c1
            if shared_unsafe:
                self.problems.append(f"OPTIONAL uses {sorted(map(str, shared_unsafe))}, bound before it on some "
                                     "branches only")
            if m2 and not (m2 & c1):
                self.problems.append(f"OPTIONAL over {sorted(map(str, m2))} shares no variable bound before it")
            expr_vars = _variables(node.expr, into_exists=False) - m2 if node.expr is not None else set()
            if expr_vars - c1:
                self.problems.append(f"OPTIONAL's FILTER uses {sorted(map(str, expr_vars - c1))}, not bound before it")
            return c1, m1 | m2
        if name == "Union":
            c1, m1 = self.walk(node.p1)
            c2, m2 = self.walk(node.p2)
            return c1 & c2, m1 | m2
        if name == "Minus":
            return self.walk(node.p1)
        if name == "Filter":
            return self.walk(node.p)
        if name == "Extend":
            c, m = self.walk(node.p)
            uses = _variables(node.expr)
            return (c | {node.var}) if uses <= c else c, m | {node.var}
        if name == "Project":
            c, m = self.walk(node.p)
            pv = set(node.PV)
            return c & pv, m & pv
        if name == "AggregateJoin":
            c, m = self.walk(node.p)
            results = {a.res for a in node.A}
            counts = {a.res for a in node.A if a.name == "Aggregate_Count"}
            return (c & self._group_vars(node.p)) | counts, (m & self._group_vars(node.p)) | results
        if name in ("Group", "Distinct", "Reduced", "Slice", "OrderBy", "ToMultiSet", "SelectQuery", "Graph"):
            return self.walk(node.p)
        raise AssertionError(f"walker does not know algebra node {name}")

    @staticmethod
    def _group_vars(group) -> set:
        return _variables(group.expr) if getattr(group, "expr", None) else set()


def problems(sparql: str) -> list[str]:
    walker = Walker()
    walker.walk(translateQuery(parseQuery(sparql)).algebra)
    return walker.problems


# ------------------------------------------------------------------ the walker catches the old bug

OLD_INDICATOR_TEMPLATE = """PREFIX bkg: <https://w3id.org/budgetkg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?iri (SAMPLE(?projectLabel_) AS ?project) WHERE {
  { ?d bkg:hasProject ?project . ?project bkg:hasIndicator ?iri . }
  UNION { ?d a bkg:Disclosure ; bkg:hasIndicator ?iri . }
  OPTIONAL { ?project rdfs:label ?projectLabel_ }
} GROUP BY ?iri"""


def test_the_walker_flags_the_indicator_template_that_exploded():
    found = problems(OLD_INDICATOR_TEMPLATE)
    assert found and "project" in found[0]


def test_the_walker_flags_an_optional_unconnected_to_what_precedes_it():
    assert problems("SELECT ?a WHERE { ?a <http://x/p> ?b OPTIONAL { ?c <http://x/q> ?e } }")


def test_the_walker_accepts_nested_optionals_keyed_on_bound_variables():
    assert not problems("SELECT ?a WHERE { ?a <http://x/p> ?b OPTIONAL { ?b <http://x/q> ?c "
                        "OPTIONAL { ?c <http://x/r> ?e } } }")


# ------------------------------------------------------------------ every template

_TOPICS = {t.slug: t for t in load_topics()}
BASE = "https://w3id.org/budgetkg/id/"


def _gazetteer(tags: bool) -> Gazetteer:
    place = Place(BASE + "area/x1", "乐亭县", "county", BASE + "area/x0", ["乐亭县", "乐亭"])
    province = Place(BASE + "area/x0", "河北省", "province", None, ["河北省", "河北"])
    dept = Department(BASE + "department/d1", "乐亭县医疗保障局", place.iri, "医疗保障局")
    gaz = Gazetteer(places=[place, province], departments=[dept],
                    holdings=[Holding(BASE + "disclosure/k1", dept.iri, place.iri, 2023)],
                    doc_numbers=["冀财社〔2022〕218号"], years=[2023],
                    project_names={"长期照护险": "zh", "医疗救助": "zh"}, classifications=[("城乡医疗救助", "2101301")])
    gaz.has_topic_tags = tags
    return gaz


def _question(intent: str, operation: str, *, per_group: bool, scoped: bool, gaz: Gazetteer) -> Question:
    q = Question(text="t", language="en", intent=intent, operation=operation, per_group=per_group)
    if scoped:
        q.places = [gaz.places[0]]
        q.years = [2023]
    q.topics = [TopicMatch(_TOPICS["medical-assistance"], "label 医疗救助", 1.0)]
    if intent in ("projects", "basis", "indicators") or operation == "change":
        q.projects = ["长期照护险"]
    if intent == "cites":
        q.documents = ["冀财社〔2022〕218号"]
    if intent == "lines":
        q.codes = ["2101301"] if not per_group else []
    if intent == "measure":
        q.measures = ["totalExpenditure", "basicExpenditure"]
    if intent == "indicators":
        q.categories = ["satisfaction"]
        q.kinds = ["覆盖率"]
    if operation == "rank":
        q.rank = "desc"
        q.limit = 3 if per_group else None
    if operation == "compare":
        q.comparison = Comparison(">", 95.0, "percent" if intent == "indicators" else "money", "more than 95")
    if operation == "count":
        q.counted = "county" if scoped else "item"
    return q


INTENTS = ["topic", "topic-amount", "projects", "cites", "lines", "indicators", "basis", "disclosures", "measure"]
OPERATIONS = ["list", "rank", "count", "sum", "average", "compare", "negate", "change"]
# (per_group, scoped, topic tags in the store)
VARIANTS = [(False, False, True), (True, True, True), (False, True, False), (True, False, False)]


def _all_templates() -> dict[str, str]:
    """Every distinct query the builders make, with the first (intent, operation, variant) making it."""
    out: dict[str, str] = {}
    for intent, operation, (per_group, scoped, tags) in itertools.product(INTENTS, OPERATIONS, VARIANTS):
        gaz = _gazetteer(tags)
        sparql = build_query(_question(intent, operation, per_group=per_group, scoped=scoped, gaz=gaz), gaz)
        if sparql is not None:
            out.setdefault(sparql, f"{intent}/{operation}/{'group' if per_group else 'all'}/"
                                   f"{'scoped' if scoped else 'anywhere'}/{'tags' if tags else 'notags'}")
    return out


TEMPLATES = _all_templates()


def test_templates_cover_every_intent_and_operation():
    made = {"/".join(name.split("/")[:2]) for name in TEMPLATES.values()}
    # topic/change is the same query as topic/sum (per-disclosure totals side by side).
    assert {f"topic/{op}" for op in OPERATIONS if op != "change"} <= made
    assert {"projects/rank", "projects/change", "indicators/compare", "indicators/average", "lines/rank",
            "measure/change", "measure/sum", "basis/list", "cites/count", "disclosures/count"} <= made


@pytest.mark.parametrize("sparql", list(TEMPLATES), ids=list(TEMPLATES.values()))
def test_every_template_binds_what_its_optionals_use(sparql):
    assert problems(sparql) == [], sparql


QUESTIONS = [
    "which counties fund long-term care insurance", "哪些县有医疗救助项目", "霸州市的绩效指标有哪些关于满意度",
    "哪个项目金额最大", "the two largest projects of 乐亭县 in 2023", "largest project in each county",
    "how many counties fund medical assistance", "total spent on medical assistance across counties",
    "how much does each county spend on medical assistance", "average satisfaction target of 霸州市",
    "which counties aim for more than 95% satisfaction", "which counties do not fund long-term care insurance",
    "how did 乐亭县's 医保专项业务费 change from 2023 to 2024", "which projects cite 冀财社〔2022〕218号",
    "top 3 budget lines of 霸州市", "兴县的项目引用了哪些文件", "which county has the largest total budget",
    "how did the total budget of 兴县 change compared with the previous year", "河北省有哪些县公开了预算",
    "indicators with targets of at least 2000 people", "projects over 500万元", "quality indicators of Xing County",
]


@pytest.fixture(scope="module")
def seeded_env():
    from search_support import seeded

    store, index, _ = seeded()
    return store, index


@pytest.mark.parametrize("question", QUESTIONS)
def test_templates_of_real_questions_are_safe(seeded_env, question):
    from search.qa import ask

    store, index = seeded_env
    answer = ask(question, store, index)
    assert answer["sparql"], answer["summary"]
    assert problems(answer["sparql"]) == [], answer["sparql"]
