"""Question answering over the real seed graph: resolved answers with amounts and sources, the SPARQL
that produced them, and user text that cannot change a query's shape."""
from __future__ import annotations

import pytest

from ontology.errors import QueryRejected
from search.qa import ask
from search.questions import normalize_doc_number
from search.sparql import iri, literal
from search.store import open_store
from search_support import seeded

HOSTILE = [
    'a"b',
    "x'; DROP ALL; #",
    '} } ; DELETE WHERE { ?s ?p ?o } #',
    "line one\nline two\r\n\ttab",
    '" . } UNION { ?s ?p ?o } #',
    "back\\slash \\u0022 \\\"",
    'SELECT * WHERE { ?s ?p ?o } LIMIT 1',
    "<https://evil.example/> ?p ?o",
    "# comment only",
]


@pytest.fixture(scope="module")
def env():
    store, index, _ = seeded()
    return store, index


# ------------------------------------------------------------------ the escaping helper


@pytest.mark.parametrize("text", HOSTILE, ids=[f"hostile-{i}" for i in range(len(HOSTILE))])
def test_literal_round_trips_hostile_text_unchanged(text):
    store = open_store("memory")
    result = store.query(f"SELECT ?x WHERE {{ BIND({literal(text)} AS ?x) }}")
    assert len(result.rows) == 1 and str(result.rows[0]["x"]) == text


def test_literal_language_tag_is_validated():
    assert literal("医疗救助", "zh") == '"医疗救助"@zh'
    with pytest.raises(QueryRejected):
        literal("x", 'zh" } #')


@pytest.mark.parametrize("bad", ["https://w3id.org/budgetkg/id/x> ?p ?o . <a", "https://w3id.org/budgetkg/id/{x}",
                                 "https://w3id.org/budgetkg/id/a b", "javascript:alert(1)",
                                 "https://evil.example/x", 'https://w3id.org/budgetkg/id/"'])
def test_iri_rejects_anything_that_could_close_or_escape_it(bad):
    with pytest.raises(QueryRejected):
        iri(bad)


def test_iri_accepts_store_iris():
    assert iri("https://w3id.org/budgetkg/id/disclosure/2023-budget-abc/project/1") == \
        "<https://w3id.org/budgetkg/id/disclosure/2023-budget-abc/project/1>"


@pytest.mark.parametrize("raw,expected", [
    ("冀财社[2022]218号", "冀财社〔2022〕218号"),
    ("冀财社[2022]218 号", "冀财社〔2022〕218号"),
    ("冀财社（2022）218号", "冀财社〔2022〕218号"),
    ("which projects cite 冀财社〔2022〕218号?", "冀财社〔2022〕218号"),
    ("吕财社(2021)171号", "吕财社〔2021〕171号"),
])
def test_document_numbers_are_normalised(raw, expected):
    assert normalize_doc_number(raw) == expected


def test_document_number_issuer_is_cut_from_running_text_using_the_store():
    known = ["冀财社〔2022〕218号", "冀财社〔2022〕172号"]
    assert normalize_doc_number("哪些项目引用了冀财社[2022]218号", known) == "冀财社〔2022〕218号"


# ------------------------------------------------------------------ answers on the seeds


def _rerun(store, answer):
    rows = store.query(answer["sparql"]).rows
    return [(str(r["iri"]), None if r.get("amount") is None else float(r["amount"].toPython())) for r in rows]


def test_which_counties_fund_long_term_care_insurance(env):
    store, index = env
    answer = ask("which counties fund long-term care insurance", store, index)
    assert {"question", "answers", "sparql", "evidence", "summary"} <= set(answer)
    leting = [a for a in answer["answers"] if a["county"] == "乐亭县" and a["label"] == "长期照护险"]
    assert leting, answer["answers"]
    row = leting[0]
    assert row["amount"] == pytest.approx(1414.0)
    assert row["fiscal_year"] == 2023 and row["department"] == "乐亭县医疗保障局"
    assert row["source"]["file"].startswith("000_") and row["source"]["lines"][0] > 0
    # The SPARQL it reports, run again, gives the same rows.
    assert _rerun(store, answer) == [(a["iri"], a["amount"]) for a in answer["answers"]]
    assert "乐亭县" in answer["summary"] and "1,414" in answer["summary"]


def test_the_same_question_in_chinese(env):
    store, index = env
    answer = ask("哪些县有长护险项目", store, index)
    assert "乐亭县" in {a["county"] for a in answer["answers"]}


def test_medical_assistance_projects_in_chinese(env):
    store, index = env
    answer = ask("哪些县有医疗救助项目", store, index)
    counties = {a["county"] for a in answer["answers"]}
    assert {"乐亭县", "霸州市", "大城县", "兴县"} <= counties
    assert _rerun(store, answer) == [(a["iri"], a["amount"]) for a in answer["answers"]]


def test_covid_vaccination_in_english_resolves_by_meaning(env):
    store, index = env
    answer = ask("which counties fund COVID vaccination", store, index)
    assert {"霸州市", "兴县"} <= {a["county"] for a in answer["answers"]}


def test_total_budget_of_a_department(env):
    store, index = env
    answer = ask("what is the total 2023 budget of 兴县医疗保障局", store, index)
    assert [a["county"] for a in answer["answers"]] == ["兴县"]
    assert answer["answers"][0]["amount"] == pytest.approx(4881.48)
    assert _rerun(store, answer) == [(a["iri"], a["amount"]) for a in answer["answers"]]


def test_projects_citing_a_document_number(env):
    store, index = env
    answer = ask("which projects cite 冀财社[2022]218号", store, index)
    labels = {(a["county"], a["label"]) for a in answer["answers"]}
    assert any(county == "霸州市" and "医疗服务与保障能力提升" in label for county, label in labels), labels
    assert '"冀财社〔2022〕218号"' in answer["sparql"]


def test_counties_with_disclosures_in_a_province(env):
    store, index = env
    answer = ask("which counties in Shanxi have disclosures", store, index)
    assert {a["county"] for a in answer["answers"]} == {"兴县"}
    answer = ask("河北省有哪些县公开了预算", store, index)
    assert {"乐亭县", "霸州市", "大城县"} <= {a["county"] for a in answer["answers"]}


def test_how_much_a_county_spends_on_a_topic(env):
    store, index = env
    answer = ask("how much does 乐亭县 spend on medical assistance", store, index)
    assert answer["answers"] and {a["county"] for a in answer["answers"]} == {"乐亭县"}
    assert any(a["amount"] == pytest.approx(800.0) for a in answer["answers"])


@pytest.mark.parametrize("question, county", [
    ("how much does Laoting county spend on medical assistance", "乐亭县"),
    ("how much does Leting spend on medical assistance", "乐亭县"),
    ("what is the total 2023 budget of Xing County", "兴县"),
    ("which projects in Bazhou fund COVID-19 vaccination", "霸州市"),
])
def test_english_place_names_resolve(env, question, county):
    store, index = env
    answer = ask(question, store, index)
    assert answer["answers"] and {a["county"] for a in answer["answers"]} == {county}, answer["summary"]


def test_indicators_of_a_county_by_category(env):
    store, index = env
    answer = ask("霸州市的绩效指标有哪些关于满意度", store, index)
    assert answer["interpretation"]["indicator_categories"] == ["satisfaction"]
    assert len(answer["answers"]) >= 8 and {a["county"] for a in answer["answers"]} == {"霸州市"}
    assert all(a["level1"] == "满意度指标" for a in answer["answers"])
    assert _rerun(store, answer) == [(a["iri"], a["amount"]) for a in answer["answers"]]
    english = ask("quality indicators of Xing County", store, index)
    assert english["answers"] and {a["county"] for a in english["answers"]} == {"兴县"}
    assert {a["level2"] for a in english["answers"]} == {"质量指标"}


def test_largest_and_smallest_are_ranked_by_amount(env):
    store, index = env
    answer = ask("which county has the largest total budget", store, index)
    amounts = [a["amount"] for a in answer["answers"]]
    assert amounts == sorted(amounts, reverse=True) and answer["answers"][0]["county"] == "霸州市"
    assert answer["summary"].startswith("Largest") and "DESC(?amount)" in answer["sparql"]
    assert _rerun(store, answer) == [(a["iri"], a["amount"]) for a in answer["answers"]]
    least = ask("2023年哪个县项目支出最少", store, index)
    assert least["answers"][0]["county"] == "兴县" and least["summary"].startswith("最低")
    assert {a["fiscal_year"] for a in least["answers"]} == {2023}


def test_legal_basis_of_projects(env):
    store, index = env
    answer = ask("which documents is the village insurance agents subsidy based on", store, index)
    numbers = {a["label"] for a in answer["answers"]}
    assert {"唐财社〔2022〕126号", "唐财社〔2023〕177号", "冀财社〔2022〕172号"} <= numbers
    assert all(a["source"]["lines"] for a in answer["answers"])
    assert _rerun(store, answer) == [(a["iri"], a["amount"]) for a in answer["answers"]]
    named = ask("what is the legal basis of 2023年城乡居民基本医疗保险县级财政配套资金", store, index)
    assert [a["label"] for a in named["answers"]] == ["兴政办发〔2022〕29号"]
    none = ask("霸州市新冠疫苗项目的立项依据是什么", store, index)
    assert none["answers"] == [] and "没有" in none["summary"]


def test_budget_lines_by_classification_code(env):
    store, index = env
    answer = ask("how much is budgeted under 2101301 in each county", store, index)
    got = {(a["county"], a["amount"]) for a in answer["answers"]}
    assert got == {("乐亭县", 800.0), ("兴县", 3382.95), ("霸州市", 821.0)}
    assert _rerun(store, answer) == [(a["iri"], a["amount"]) for a in answer["answers"]]
    scoped = ask("列出乐亭县2023年功能分类2101202的金额", store, index)
    assert [(a["county"], a["amount"]) for a in scoped["answers"]] == [("乐亭县", 4175.0)]
    most = ask("which county spends most on 30201", store, index)
    assert most["answers"][0]["county"] == "霸州市" and most["summary"].startswith("Largest")


@pytest.mark.parametrize("question", ["which counties in Guangdong fund medical assistance", "广东省有哪些县公开了预算"])
def test_a_province_without_disclosures_gets_no_rows_for_elsewhere(env, question):
    store, index = env
    answer = ask(question, store, index)
    assert answer["answers"] == [] and "广东" in answer["summary"]


def test_legal_basis_of_every_project_of_a_county(env):
    store, index = env
    answer = ask("兴县的项目引用了哪些文件", store, index)
    assert {a["county"] for a in answer["answers"]} == {"兴县"}
    assert {"晋医保发〔2021〕17号", "兴政办发〔2022〕29号"} <= {a["label"] for a in answer["answers"]}


def test_a_classification_line_named_by_its_name(env):
    store, index = env
    answer = ask("霸州市城乡医疗救助科目的金额", store, index)
    assert answer["interpretation"]["codes"] == ["2101301"]
    assert [(a["county"], a["amount"]) for a in answer["answers"]] == [("霸州市", 821.0)]


def test_indicators_of_a_project(env):
    store, index = env
    answer = ask("list the indicators of the 长期照护险 project", store, index)
    labels = {a["label"] for a in answer["answers"]}
    assert {"长护险参保人数", "享受长护险待遇人数"} <= labels
    assert all(a.get("target_value") for a in answer["answers"])


def test_evidence_carries_source_lines(env):
    store, index = env
    answer = ask("which counties fund long-term care insurance", store, index)
    assert answer["evidence"]
    assert all(e["source"]["file"] for e in answer["evidence"])


@pytest.mark.parametrize("suffix", ['" } ; DROP ALL ; #', '\n} UNION { ?s ?p ?o } #', "'; SELECT * WHERE {?s ?p ?o}"])
def test_hostile_question_cannot_change_the_query_shape(env, suffix):
    store, index = env
    before = store.count_triples()
    clean = ask("which counties fund long-term care insurance", store, index)
    hostile = ask("which counties fund long-term care insurance" + suffix, store, index)
    assert hostile["sparql"] == clean["sparql"]
    assert [a["iri"] for a in hostile["answers"]] == [a["iri"] for a in clean["answers"]]
    assert store.count_triples() == before


def test_hostile_document_number_question_stays_a_literal(env):
    store, index = env
    answer = ask('which projects cite 冀财社[2022]218号" } ; DROP ALL #', store, index)
    assert '"冀财社〔2022〕218号"' in answer["sparql"] and "DROP" not in answer["sparql"]


def test_unanswerable_question_says_so_and_falls_back_to_search(env):
    store, index = env
    answer = ask("what will the weather be tomorrow", store, index)
    assert answer["answers"] == [] and answer["sparql"] is None
    assert "could not" in answer["summary"]
    assert answer["evidence"]


def test_empty_question_is_rejected(env):
    store, index = env
    with pytest.raises(QueryRejected):
        ask("   ", store, index)


def test_without_topic_tags_the_topic_labels_are_matched_directly(tmp_path):
    # A store whose topics were never tagged (ingested by another tool): the query matches the
    # topic's zh labels in project names instead, and still reproduces its rows.
    from search.index import SearchIndex
    from search_support import SEED_FILES, ingest_seeds

    store = open_store("memory")
    ingest_seeds(store, SEED_FILES[:1])
    index = SearchIndex.open(store, tmp_path / "idx")
    assert not [g for g in store.graph_names() if "/graph/topics/" in g]
    answer = ask("哪些县有长期照护险项目", store, index)
    assert [(a["county"], a["label"]) for a in answer["answers"]] == [("乐亭县", "长期照护险")]
    assert "CONTAINS" in answer["sparql"] and "bkg:topic" not in answer["sparql"]
    assert [str(r["iri"]) for r in store.query(answer["sparql"]).rows] == [a["iri"] for a in answer["answers"]]
