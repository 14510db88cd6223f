"""Each question shape of ``ask`` on the real seed graph, in Chinese and English: the rows and their
order, the SPARQL re-run giving the same rows, a summary that states no number outside the rows,
hostile text that cannot change a query's shape, and places, departments and years the graph does
not hold answered with no rows and a sentence saying what it holds.

Several phrasings per shape are ones the parser was not written around (they check the shape is
read, not the sentence)."""
from __future__ import annotations

import re

import pytest

from search.qa import ask
from search_support import seeded


@pytest.fixture(scope="module")
def env():
    store, index, _ = seeded()
    return store, index


def _ask(env, question):
    store, index = env
    answer = ask(question, store, index)
    _check_rerun(store, answer)
    _check_summary_numbers(answer)
    return answer


_COLUMNS = ("amount", "count", "total", "average", "value", "change", "previous")


def _check_rerun(store, answer):
    """The SPARQL shown, run again, gives the same rows (resource, amount and aggregates)."""
    if not answer["sparql"]:
        return
    rows = store.query(answer["sparql"]).rows

    def num(term):
        return None if term is None else round(float(term.toPython()), 6)

    again = [(str(r["iri"]), *(num(r.get(c)) for c in _COLUMNS)) for r in rows]
    shown = [(a["iri"], *(None if a.get(c) is None else round(float(a[c]), 6) for c in _COLUMNS))
             for a in answer["answers"]]
    assert again == shown


_NUMBER = re.compile(r"(?<![A-Za-z0-9_.,])-?\d[\d,]*(?:\.\d+)?")


def _check_summary_numbers(answer):
    """Every number in the summary is in a row (any field, labels and target values included),
    is the number of rows, or comes from the question itself."""
    allowed: set[float] = {float(len(answer["answers"]))}
    texts = [answer["question"]] + [t["label_en"] for t in answer["interpretation"]["topics"]]
    for a in answer["answers"]:
        for key, v in a.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                allowed.add(round(float(v), 2))
            elif isinstance(v, str):
                texts.append(v)
    for t in texts:
        allowed |= {round(float(n.replace(",", "")), 2) for n in _NUMBER.findall(t)}
    summary = answer["summary"].split("Sources:")[0].split("来源：")[0]
    for n in _NUMBER.findall(summary):
        value = round(float(n.replace(",", "")), 2)
        assert value in allowed or abs(value) in allowed, f"{n} in {answer['summary']!r} is in no row"


def _rows(answer, *keys):
    return [tuple(a.get(k) for k in keys) for a in answer["answers"]]


# ------------------------------------------------------------------ rankings


@pytest.mark.parametrize("question", ["the two largest projects of 乐亭县 in 2023", "乐亭县2023年金额最大的两个项目",
                                      "Laoting's top 2 projects in 2023 by amount"])
def test_ranking_of_projects_is_ordered_by_amount_in_the_query(env, question):
    answer = _ask(env, question)
    assert _rows(answer, "label", "amount") == [("城乡居民医疗保险", 4175.0), ("长期照护险", 1414.0)]
    assert "ORDER BY DESC(?value_)" in answer["sparql"] and "LIMIT 2" in answer["sparql"]


@pytest.mark.parametrize("question", ["哪个项目金额最大", "which project has the largest amount",
                                      "what is the single biggest project?"])
def test_the_largest_project_overall(env, question):
    answer = _ask(env, question)
    assert _rows(answer, "county", "label", "amount") == [("乐亭县", "城乡居民医疗保险", 4175.0)]


@pytest.mark.parametrize("question", ["which project of Xing County has the smallest amount", "兴县金额最小的项目是哪个"])
def test_the_smallest_project_of_a_county(env, question):
    answer = _ask(env, question)
    assert [(a["county"], a["amount"]) for a in answer["answers"]] == [("兴县", 5.0)]
    assert answer["summary"].startswith(("Smallest", "最低"))


def test_the_largest_project_of_each_disclosure(env):
    answer = _ask(env, "the largest project in each county")
    got = {(a["county"], a["fiscal_year"]): (a["label"], a["amount"]) for a in answer["answers"]}
    assert got[("乐亭县", 2023)] == ("城乡居民医疗保险", 4175.0)
    assert got[("乐亭县", 2024)] == ("医保专项业务费", 45.0)
    assert got[("兴县", 2023)][1] == 841.28
    assert len(answer["answers"]) == 3  # 霸州市 and 大城县 print no project amounts


@pytest.mark.parametrize("question", ["top 3 budget lines of 霸州市", "霸州市金额最大的三个支出科目"])
def test_ranking_of_budget_lines_takes_the_lowest_level(env, question):
    answer = _ask(env, question)
    assert [(a["code"], a["amount"]) for a in answer["answers"]] == [("2101202", 7168.0), ("2101501", 1282.41),
                                                                       ("2101301", 821.0)]


def test_ranking_of_indicator_targets_converts_units(env):
    answer = _ask(env, "which indicator of 乐亭县 has the highest target in people")
    assert _rows(answer, "label", "value") == [("长护险参保人数", 349300.0)]  # 34.93万人


# ------------------------------------------------------------------ counts, sums, averages


@pytest.mark.parametrize("question, count", [
    ("how many projects does 乐亭县 have in 2023", 9), ("大城县2021年有几个项目", 14),
    ("how many counties fund medical assistance", 4), ("有多少个县安排了长期照护险", 1),
    ("How many indicators does the 长期照护险 project have?", 8), ("number of disclosures from Hebei", 4),
])
def test_counts_are_computed_in_the_query(env, question, count):
    answer = _ask(env, question)
    assert answer["answers"] and {a["count"] for a in answer["answers"]} == {count}
    assert "COUNT(DISTINCT" in answer["sparql"] and str(count) in answer["summary"]


@pytest.mark.parametrize("question, total", [
    ("what is the combined amount of all of 乐亭县's 2023 projects", 7294.0),
    ("兴县医疗救助资金合计多少", 3387.95),
    ("total spent on medical assistance across counties", 4187.95),
])
def test_sums_are_computed_in_the_query(env, question, total):
    answer = _ask(env, question)
    totals = {round(a.get("all_total", a.get("total")), 2) for a in answer["answers"]}
    assert totals == {round(total, 2)}
    assert "SUM(" in answer["sparql"]


def test_sums_per_county_keep_each_disclosure_and_the_overall_total(env):
    answer = _ask(env, "how much does each county spend on medical assistance")
    per = {(a["county"], a["fiscal_year"]): a.get("total") for a in answer["answers"]}
    assert per[("乐亭县", 2023)] == pytest.approx(800.0) and per[("兴县", 2023)] == pytest.approx(3387.95)
    assert {round(a["all_total"], 2) for a in answer["answers"]} == {4187.95}


@pytest.mark.parametrize("question, average", [
    ("average satisfaction target in 乐亭县's 2023 budget", 98.0),
    ("2023年各县平均项目支出是多少", 6683.193333),
    ("what is the mean amount of Xing County's projects", 300.017333),
])
def test_averages_are_computed_in_the_query(env, question, average):
    answer = _ask(env, question)
    assert {round(a["average"], 4) for a in answer["answers"]} == {round(average, 4)}


# ------------------------------------------------------------------ comparisons on targets


@pytest.mark.parametrize("question", ["Which of 大城县's indicators aim higher than 98%?", "大城县目标高于98%的指标有哪些"])
def test_comparison_on_percent_targets(env, question):
    answer = _ask(env, question)
    assert answer["answers"] and all(a["value"] > 98 and a["unit"] == "%" for a in answer["answers"])
    labels = {a["label"] for a in answer["answers"]}
    assert {"资金发放率", "整理档案情况"} <= labels and "群众患者满意度" not in labels  # ≥98% is not above 98%


@pytest.mark.parametrize("question", ["which indicators aim for at least 300,000 people", "哪些指标的目标不少于30万人"])
def test_comparison_converts_between_units(env, question):
    answer = _ask(env, question)
    labels = {(a["county"], a["label"]) for a in answer["answers"]}
    assert ("乐亭县", "长护险参保人数") in labels  # 34.93万人
    assert ("大城县", "全年参保人数") in labels  # ≥370000人
    assert all(a["value"] >= 300000 for a in answer["answers"])


@pytest.mark.parametrize("question", ["which counties aim for more than 95% satisfaction", "哪些县的满意度目标超过95%"])
def test_comparison_on_a_kind_of_indicator(env, question):
    answer = _ask(env, question)
    assert {a["county"] for a in answer["answers"]} == {"乐亭县", "兴县", "大城县"}
    assert all(a["level1"] == "满意度指标" and a["value"] > 95 for a in answer["answers"])


@pytest.mark.parametrize("question", ["Which projects have more than 1000万元?", "金额超过1000万元的项目"])
def test_comparison_on_project_amounts(env, question):
    answer = _ask(env, question)
    assert sorted(_rows(answer, "label", "amount")) == [("城乡居民医疗保险", 4175.0), ("长期照护险", 1414.0)]


# ------------------------------------------------------------------ negation


@pytest.mark.parametrize("question", ["Which counties do not fund COVID-19 vaccination?", "哪些县没有新冠疫苗接种项目",
                                      "counties without a covid vaccine subsidy"])
def test_negation_lists_the_disclosures_lacking_the_topic(env, question):
    answer = _ask(env, question)
    assert set(_rows(answer, "county", "fiscal_year")) == {("乐亭县", 2023), ("乐亭县", 2024), ("大城县", 2021)}
    assert "MINUS" in answer["sparql"]


def test_negation_in_chinese_with_another_topic(env):
    answer = _ask(env, "哪些县没有村级代办员补助")
    assert _rows(answer, "county", "fiscal_year") == [("兴县", 2023)]


# ------------------------------------------------------------------ year over year


def test_change_of_a_project_from_one_year_to_the_next(env):
    answer = _ask(env, "how did 乐亭县's 医保专项业务费 change from 2023 to 2024")
    rows = {a["fiscal_year"]: a for a in answer["answers"]}
    assert rows[2024]["previous"] == 50.0 and rows[2024]["change"] == -5.0 and rows[2023]["amount"] == 50.0


def test_change_of_a_topic_total(env):
    answer = _ask(env, "How did Laoting's special business expenses for medical insurance change from 2023 to 2024?")
    rows = {a["fiscal_year"]: a for a in answer["answers"]}
    assert rows[2024]["total"] == 45.0 and rows[2024]["previous"] == 50.0 and rows[2024]["change"] == -5.0


# ------------------------------------------------------------------ what the graph does not hold


@pytest.mark.parametrize("question, named", [
    ("How much does Zhuozhou spend on medical assistance?", "涿州市"),
    ("石家庄市的绩效指标有哪些", "石家庄市"),
    ("霸州市财政局2023年的预算总额", "霸州市财政局"),
    ("Which projects does the education bureau fund?", "教育局"),
    ("What was Laoting's total budget in 2019?", "2019"),
    ("兴县2021年的项目有哪些", "兴县"),
    ("which counties in Guangdong fund medical assistance", "广东"),
    ("Fooville County's indicators about satisfaction", "Fooville County"),
])
def test_a_place_department_or_year_not_held_gets_no_rows_and_says_what_is_held(env, question, named):
    store, index = env
    answer = ask(question, store, index)
    assert answer["answers"] == [] and answer["sparql"] is None
    assert named in answer["summary"] and ("holds" in answer["summary"] or "图中" in answer["summary"])
    assert any(county in answer["summary"] for county in ("乐亭县", "兴县", "霸州市", "大城县"))


@pytest.mark.parametrize("question", ["哪些县有城乡居民医保县级财政配套资金", "跨省直接结算统筹地区覆盖率指标有哪些",
                                      "which counties fund long-term care in each county", "各县的预算总额"])
def test_ordinary_words_are_not_places_the_graph_lacks(env, question):
    store, index = env
    answer = ask(question, store, index)
    assert answer["interpretation"]["missing"] == [], answer["interpretation"]


# ------------------------------------------------------------------ hostile text


@pytest.mark.parametrize("question", ["the two largest projects of 乐亭县 in 2023", "how many counties fund medical assistance",
                                      "which counties aim for more than 95% satisfaction",
                                      "which counties do not fund long-term care insurance",
                                      "total spent on medical assistance across counties"])
@pytest.mark.parametrize("suffix", ['" } ; DROP ALL ; #', "\n} UNION { ?s ?p ?o } #", "'; SELECT * WHERE {?s ?p ?o}"])
def test_hostile_text_cannot_change_the_shape_of_any_template(env, question, suffix):
    store, index = env
    before = store.count_triples()
    clean = ask(question, store, index)
    hostile = ask(question + suffix, store, index)
    assert hostile["sparql"] == clean["sparql"]
    assert [a["iri"] for a in hostile["answers"]] == [a["iri"] for a in clean["answers"]]
    assert store.count_triples() == before


# ------------------------------------------------------------------ topics in other words


def test_every_topic_has_at_least_three_english_paraphrases():
    from search.topics import load_topics

    for topic in load_topics():
        paraphrases = [l for l in topic.labels if l.lang == "en" and l.kind == "altLabel"]
        assert len(paraphrases) >= 3, topic.slug


@pytest.mark.parametrize("question, slug", [
    ("who pays for the care of disabled elderly people", "long-term-care-insurance"),
    ("which counties help poor people pay their insurance premiums", "insurance-premium-subsidy"),
    ("which counties fight fraud against the medical insurance fund", "fund-supervision"),
    ("哪些县给困难群众发放生活补助", "hardship-living-assistance"),
    ("哪些县有办公室装修的项目", "office-renovation"),
])
def test_topics_named_in_other_words_are_found(env, question, slug):
    store, index = env
    answer = ask(question, store, index)
    assert [t["slug"] for t in answer["interpretation"]["topics"]] == [slug]
    assert answer["answers"], answer["summary"]
