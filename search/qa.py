"""Questions in Chinese or English answered from the graph, with the SPARQL that answers them.

``ask(question, store, index)`` reads the question (``search.questions``: topics, areas,
departments, years, 文号, measures, codes, quantities, and its shape: list, ranking, count, sum,
average, comparison, negation, change), builds one SPARQL query for it (``search.templates``), runs
it through ``store.query`` and returns::

    {"question", "interpretation", "answers": [{county, department, fiscal_year, label, amount,
     iri, source: {file, lines, page}, ...}], "sparql", "evidence": [search hits], "summary"}

Every answer row is a row of that query's result, so rerunning ``sparql`` on the store gives the
same rows (where ``executed_sparql`` is present, that is what ran: ``sparql`` with the rows and
figures of the project table, ``search.project_facts``, in place of a scan of every project); rankings, counts, sums and averages are computed by the SPARQL (extra columns such as
``count``, ``total``, ``average``, ``value``, ``change``). Question text enters the query only
through ``sparql.literal`` / ``number`` / ``iri``. A place, department or year the graph does not
hold gives no rows and a sentence saying so and what the graph holds; a question it cannot map says
so and returns search hits as evidence. No row is ever made up, and at most one query runs per
question.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ontology.errors import QueryRejected
from search import gazetteer as gazmod
from search.answers import absent_text, cannot_text, summarise, to_row
from search.questions import MEASURES, Question, parse_question
from search.store import GraphStore
from search.project_facts import FORMAT as FACTS_FORMAT
from search.project_facts import ProjectFacts, build_project_facts
from search.templates import MAX_ROWS, build_queries
from search.topics import TopicMatcher, load_topics

if TYPE_CHECKING:
    from search.index import SearchIndex

EVIDENCE_K = 5


def ask(question: str, store: GraphStore, index: "SearchIndex | None" = None) -> dict:
    """Answer a question from the graph (see the module docstring for the shape)."""
    question = (question or "").strip()
    if not question:
        raise QueryRejected("empty question")
    gaz = gazetteer(store, index)
    q = parse_question(question[:1000], gaz, _matcher(index))
    answers: list[dict] = []
    sparql = shortcut = None
    summary = None
    # The evidence search does not depend on the answer (only the order of its hits does): it
    # runs beside the SPARQL query, which on a server or in ``serve``'s query workers is another
    # process (35-50 ms of search at 10,000 disclosures no longer added to every question).
    hits = _EVIDENCE_POOL.submit(_evidence_hits, q, index)
    if q.intent == "absent":
        summary = absent_text(q, gaz)
    else:
        sparql, shortcut = build_queries(q, gaz, lambda: project_facts(store, index))
        if sparql is not None:
            result = store.query(shortcut or sparql, max_rows=MAX_ROWS)
            answers = [to_row(r) for r in result.rows]
            summary = summarise(q, answers, gaz, result.truncated)
    if summary is None:
        summary = cannot_text(q)
    evidence = _evidence(hits.result(), answers)
    out = {"question": question, "interpretation": q.describe(), "answers": answers, "sparql": sparql,
           "evidence": evidence, "summary": summary}
    if sparql is not None and shortcut is not None:
        # What ran: ``sparql`` with the project table's rows in place of its scan; rerunning
        # ``sparql`` itself gives the same rows, slower.
        out["executed_sparql"] = shortcut
    return out


# Bump when ``search.gazetteer`` changes what it holds: a gazetteer saved by an older version is
# then built again instead of loaded.
GAZETTEER_FORMAT = 1


def gazetteer(store: GraphStore, index) -> gazmod.Gazetteer:
    """The store's gazetteer, cached per index generation when the index wraps this store."""
    if index is not None and getattr(index, "store", None) is store:
        build = lambda: gazmod.build_gazetteer(store).warm()  # noqa: E731
        persisted = getattr(index, "persisted", None)  # index stand-ins (benchmarks) may not save
        if persisted is not None:
            return index.cached("gazetteer", lambda: persisted("gazetteer", GAZETTEER_FORMAT, build))
        return index.cached("gazetteer", build)
    return gazmod.build_gazetteer(store)


def project_facts(store: GraphStore, index) -> ProjectFacts | None:
    """The project table of the index generation that wraps this store (saved beside it), or None
    without one: the templates then scan the store."""
    if index is None or getattr(index, "store", None) is not store:
        return None
    persisted = getattr(index, "persisted", None)
    if persisted is None:
        return None
    return index.cached("project-facts",
                        lambda: persisted("project-facts", FACTS_FORMAT, lambda: build_project_facts(store)))


def prepare(store: GraphStore, index) -> dict[str, float]:
    """Build (and save beside the index generation) what questions read besides the store: the
    gazetteer and the project table, so that the first question after an ingest does not wait for
    them (~5 s and ~15 s at 10,000 disclosures). Seconds per part."""
    spent = {}
    for name, build in (("gazetteer", gazetteer), ("project_facts", project_facts)):
        t0 = time.perf_counter()
        build(store, index)
        spent[f"{name}_s"] = round(time.perf_counter() - t0, 3)
    return spent


def _matcher(index) -> TopicMatcher:
    if index is not None:
        return index.topic_matcher()
    return TopicMatcher(load_topics(), None)


# ------------------------------------------------------------------ evidence


# Threads for evidence searches beside their question's SPARQL; a search holds no lock, and one
# waiting for a thread here only delays its own question.
_EVIDENCE_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="budgetkg-evidence")


def _evidence_hits(q: Question, index) -> list[dict]:
    """Search hits for what the question is about (``EVIDENCE_K * 4``, ordered by ``_evidence``)."""
    if index is None or not len(index):
        return []
    # Search for what the question is about, not for its scaffolding ("which counties ...").
    where = [d.label for d in q.departments] or [p.label for p in q.places]
    query = q.text
    if q.documents:
        query = q.documents[0]
    elif q.topics:
        query = " ".join([m.topic.zh for m in q.topics] + where)
    elif q.intent == "measure":
        query = " ".join(where + [MEASURES[m][0] for m in q.measures or ["totalExpenditure"]] + ["预算"])
    elif q.intent in ("disclosures", "projects") and not q.projects:
        query = " ".join(where + ["部门预算", "项目支出" if q.intent == "projects" else "情况说明"])
    elif q.projects:
        query = q.projects[0]
    try:
        return index.search(query, k=EVIDENCE_K * 4)
    except Exception:  # evidence is a courtesy: a search failure must not lose the answer
        return []


def _evidence(hits: list[dict], answers: list[dict]) -> list[dict]:
    """Passages and items that support (or, without answers, approach) the question: the hits
    outside the answer, those from the answer's counties first."""
    answer_iris = {a["iri"] for a in answers}
    counties = {a["county"] for a in answers if a.get("county")}
    if answers:
        preferred = [h for h in hits if h["iri"] not in answer_iris and (not counties or h.get("county") in counties)]
        rest = [h for h in hits if h not in preferred and h["iri"] not in answer_iris]
        hits = preferred + rest
    out = []
    for h in hits[:EVIDENCE_K]:
        out.append({k: h.get(k) for k in ("iri", "type", "label", "text", "county", "department", "fiscal_year",
                                           "project", "source", "score")})
    return out
