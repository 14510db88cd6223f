"""The project table (search/project_facts.py) stands in for the store's scan of every project in
rankings and aggregates, and of every disclosure's measures in their counts, totals and averages:
the rows ``ask`` returns from it must be the rows of the full query it shows, on the samples and on
a synthetic corpus (more counties, years and tied amounts)."""
from __future__ import annotations

import shutil
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.answers import to_row  # noqa: E402
from search.project_facts import build_project_facts  # noqa: E402
from search.qa import ask, gazetteer, project_facts  # noqa: E402
from search.sparql import PREFIXES  # noqa: E402
from search_support import ingest_seeds, seeded  # noqa: E402

# Question shapes whose SPARQL scans every project in scope (rankings, counts, totals, averages,
# also per county),
# filled with a county and year the graph holds. Topics are the ontology's, not answers.
SHAPES = [
    "哪个项目金额最大",
    "the 5 smallest projects",
    "top 3 projects of {county}",
    "{year}年金额最大的三个项目",
    "total spent on medical assistance across counties",
    "how many counties fund medical assistance",
    "how many disclosures fund medical assistance",
    "how many projects fund long-term care insurance",
    "average amount of medical assistance projects",
    "how many projects does {county} have in {year}",
    "{county}{year}年所有项目金额合计",
    "{year}年医疗救助项目金额合计",
    "largest long-term care insurance project",
    "最小的医疗救助项目",
    "{year}年各县平均项目支出是多少",
    "how many projects does each county have",
    "各县医疗救助项目金额合计",
    # measures of the disclosures in scope, counted, added up and averaged across them
    "{county}{year}年基本支出合计",
    "average total budget of the counties in {year}",
    "各县基本支出和项目支出平均是多少",
    "{year}年各县支出总计之和是多少",
]


def _questions(store, index) -> list[str]:
    gaz = gazetteer(store, index)
    held = [h for h in gaz.holdings if h.area and h.year]
    first = held[0]
    county = next(p.label for p in gaz.places if p.iri == first.area)
    return [s.format(county=county, year=first.year) for s in SHAPES]


FIGURES = ("count", "total", "valued", "average")


def _comparable(rows: list[dict], ranked: bool, cut: bool) -> list:
    """Rows as compared: GROUP_CONCAT lists as sets, and rows in a fixed order (the engine orders
    within ties and joins in its own order). For a ranking, the ranked values and figures only (the
    store breaks ties at the cut by chance, the table by IRI). For a list cut at 200 rows, which
    200 is the engine's choice (no ORDER BY before the LIMIT): the figures about the whole
    selection only (``all_*`` beside per-county figures, else the plain ones)."""
    out = []
    for r in rows:
        r = dict(r)
        if r.get("topics"):
            r["topics"] = sorted(r["topics"].split("; "))
        if ranked:
            r = {k: r.get(k) for k in ("value", *FIGURES)}
        elif cut:
            overall = [f"all_{k}" for k in FIGURES] if "all_count" in r else list(FIGURES)
            r = {k: r.get(k) for k in overall}
        out.append(r)
    return sorted(out, key=repr)


def _check(store, index, question: str) -> dict:
    answer = ask(question, store, index)
    assert answer["sparql"], f"no query for {question!r}"
    result = store.query(answer["sparql"], max_rows=200)
    full = [to_row(r) for r in result.rows]
    ranked = answer["interpretation"].get("operation") == "rank"
    assert len(answer["answers"]) == len(full), question
    cut = result.truncated
    assert _comparable(answer["answers"], ranked, cut) == _comparable(full, ranked, cut), question
    return answer


@pytest.fixture(scope="module")
def samples():
    store, index, _ = seeded()
    return store, index


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """25 synthetic disclosures (five per template), tagged and indexed with the real model."""
    from benchmarks.synthetic import generate
    from search.index import SearchIndex, refresh_after_ingest
    from search.store import open_store

    out = tmp_path_factory.mktemp("facts-corpus")
    manifest = generate(25, out, 11)
    store = open_store("memory")
    ingest_seeds(store, [out / e["file"] for e in manifest["documents"]])
    index_dir = Path(tempfile.mkdtemp(prefix="budgetkg-facts-index-"))
    refresh_after_ingest(store, index_dir, "use-multilingual", 1)
    yield store, SearchIndex.open(store, index_dir, "use-multilingual", 1)
    shutil.rmtree(index_dir, ignore_errors=True)


def test_the_table_holds_every_project_row_the_store_holds(samples):
    store, _ = samples
    facts = build_project_facts(store)
    rows = store.query(PREFIXES + """
SELECT DISTINCT ?d ?p ?v WHERE { ?d bkg:hasProject ?p . OPTIONAL { ?p bkg:amount ?v } }""").rows
    expected = sorted((str(r["p"]), str(r["d"]), Decimal(str(r["v"])) if r.get("v") is not None else None)
                      for r in rows)
    held = sorted((p, facts.disclosures[d], a) for p, d, a in zip(facts.projects, facts.disclosure_of, facts.amounts))
    assert held == expected and len(held) > 20
    tagged = store.query(PREFIXES + """
SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?d bkg:hasProject ?p . ?p bkg:topic ?t }""").rows[0]["n"]
    assert len({facts.projects[i] for rows in facts.topic_rows.values() for i in rows}) == int(tagged)
    assert [facts.amounts[i] for i in facts.by_amount] == sorted(
        (a for a in facts.amounts if a is not None), reverse=True)
    measures = store.query(PREFIXES + """
SELECT DISTINCT ?d ?m ?v WHERE { ?d ?m ?v FILTER(?m IN (bkg:totalExpenditure, bkg:basicExpenditure,
  bkg:projectExpenditure, bkg:totalRevenue)) }""").rows
    held = {(facts.disclosures[d], m, v) for m, rows in facts.measures.items() for d, v in rows}
    assert {(str(r["d"]), str(r["m"]), Decimal(str(r["v"]))) for r in measures} <= held and len(measures) >= 10


@pytest.mark.parametrize("shape", range(len(SHAPES)), ids=SHAPES)
def test_rankings_and_totals_from_the_table_are_the_full_querys_rows_on_the_samples(samples, shape):
    store, index = samples
    question = _questions(store, index)[shape]
    answer = _check(store, index, question)
    shape = answer["interpretation"]
    if answer["answers"] and shape["intent"] in ("topic", "topic-amount", "projects", "measure") \
            and not shape["comparison"] and shape["operation"] in ("rank", "sum", "count", "average") \
            and not (shape["intent"] == "measure" and shape["operation"] == "rank"):
        # The shortcut ran (else this test would only compare the full query with itself).
        assert "executed_sparql" in answer, question
        assert "VALUES" in answer["executed_sparql"] and answer["executed_sparql"] != answer["sparql"]


def test_rankings_and_totals_from_the_table_are_the_full_querys_rows_on_a_synthetic_corpus(synthetic):
    store, index = synthetic
    used = 0
    for question in _questions(store, index):
        used += "executed_sparql" in _check(store, index, question)
    assert used >= len(SHAPES) // 2


def test_a_question_with_a_comparison_or_per_county_groups_is_not_answered_from_the_table(samples):
    store, index = samples
    for question in ("projects over 1000万元", "the largest project in each county"):
        answer = ask(question, store, index)
        assert "executed_sparql" not in answer, question


def test_without_an_index_the_full_query_runs(samples):
    store, index = samples
    question = _questions(store, index)[0]
    answer = ask(question, store, None)
    assert "executed_sparql" not in answer and answer["answers"]
    assert project_facts(store, None) is None
