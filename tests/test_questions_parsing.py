"""Reading questions without a store: the name index, places not held, quantities and the shape
words, in Chinese and English (phrasings beyond the ones the parser was written with)."""
from __future__ import annotations

import pytest

from ingest.gazetteer import PROVINCES as INGEST_PROVINCES
from search.names import NameIndex
from search.places import PROVINCES, chinese_place_mentions, department_types, english_place_mentions
from search.quantities import find_comparison
from search.questions import _operation, _top_n, Question, ranking

# ------------------------------------------------------------------ the name index


def test_name_index_finds_the_longest_name_and_drops_names_inside_it():
    index = NameIndex([("兴县", "county"), ("兴县医疗保障局", "department"), ("医疗救助", "project")])
    found = index.find("兴县医疗保障局的医疗救助项目")
    assert [(obj, name) for obj, name, _ in found] == [("department", "兴县医疗保障局"), ("project", "医疗救助")]


def test_name_index_matches_ascii_names_on_word_boundaries_in_any_case():
    index = NameIndex([("xing county", "兴县"), ("laoting", "乐亭县")])
    assert [obj for obj, _, _ in index.find("Budget of Xing County and LAOTING")] == ["兴县", "乐亭县"]
    assert index.find("xing countyside laotingx") == []


def test_name_index_keeps_every_object_of_a_shared_name():
    index = NameIndex([("医疗救助", "p1"), ("医疗救助", "p2")])
    assert sorted(obj for obj, _, _ in index.find("医疗救助")) == ["p1", "p2"]
    assert index.get("医疗救助") == ["p1", "p2"]


# ------------------------------------------------------------------ places the graph may not hold


def test_the_province_table_is_the_one_ingest_uses():
    assert [(full, short) for full, short, _ in PROVINCES] == [(p.name, p.short) for p in INGEST_PROVINCES]


@pytest.mark.parametrize("text, name", [
    ("涿州市有哪些项目", "涿州市"), ("石家庄市的绩效指标", "石家庄市"), ("在保定市的医疗救助", "保定市"),
    ("河北省霸州市", "霸州市"), ("新河湾县2023年的预算", "新河湾县"), ("临县的预算", "临县"),
    ("伊金霍洛旗医疗保障局", "伊金霍洛旗"),
])
def test_chinese_place_names_are_recognised(text, name):
    assert name in [m.name for m in chinese_place_mentions(text)]


@pytest.mark.parametrize("text", [
    "哪些县有长期照护险项目", "县级财政配套资金", "跨省直接结算统筹地区覆盖率", "开发区的项目", "全市的预算",
    "各县医疗救助支出", "贫困县有哪些", "城乡居民医保缴费", "大城市的医疗救助", "每个县的项目支出", "市场监管",
])
def test_ordinary_words_are_not_taken_for_places(text):
    assert chinese_place_mentions(text) == []


@pytest.mark.parametrize("text, name", [
    ("which projects does Zhuozhou fund", "涿州市"), ("how much does zhuozhou spend", "涿州市"),
    ("what does Shijiazhuang City spend on", "石家庄市"), ("counties in Guangdong", "广东省"),
    ("projects of Fooville County", "Fooville County"), ("counties in Inner Mongolia", "内蒙古自治区"),
])
def test_english_place_names_are_recognised(text, name):
    assert name in [m.name for m in english_place_mentions(text)]


@pytest.mark.parametrize("text", ["which county has the largest budget", "in each county", "the guide to budgets",
                                  "what is the total budget", "long-term care insurance"])
def test_english_words_are_not_taken_for_places(text):
    assert english_place_mentions(text) == []


def test_department_types_in_both_languages():
    assert [kind for kind, _ in department_types("乐亭县财政局和education bureau")] == ["财政局", "教育局"]
    assert [kind for kind, _ in department_types("兴县医保局")] == ["医疗保障局"]


# ------------------------------------------------------------------ quantities


@pytest.mark.parametrize("text, op, value, family", [
    ("which counties aim for more than 95% satisfaction", ">", 95, "percent"),
    ("参保人数不少于1万人的指标", ">=", 10000, "people"),
    ("目标值在95%以上的指标", ">=", 95, "percent"),
    ("indicators with a target of 100%", "=", 100, "percent"),
    ("at least 300,000 people", ">=", 300000, "people"),
    ("满意度低于98%", "<", 98, "percent"),
    ("costs no more than 5万元", "<=", 5, "money"),
    ("projects over 1000万元", ">", 1000, "money"),
    ("payments within 30 days or less", "<=", 30, "days"),
    ("补助超过50000元的项目", ">", 5, "money"),
])
def test_comparisons_are_read_with_their_units(text, op, value, family):
    comparison, _ = find_comparison(text, allow_bare=True)
    assert comparison is not None and (comparison.op, comparison.family) == (op, family)
    assert comparison.value == pytest.approx(value)


@pytest.mark.parametrize("text", ["how much is budgeted under 2101301", "2023年的项目", "which projects cite 冀财社〔2022〕218号"])
def test_codes_years_and_document_numbers_are_not_quantities(text):
    assert find_comparison(text, allow_bare=True)[0] is None


# ------------------------------------------------------------------ shape words


@pytest.mark.parametrize("text, n", [("top 3 projects", 3), ("the two largest projects", 2), ("前三个项目", 3),
                                     ("金额最大的5个项目", 5), ("largest four budget lines", 4), ("bottom 2", 2)])
def test_top_n(text, n):
    assert _top_n(text)[0] == n


@pytest.mark.parametrize("text, direction", [("which county spends most", "desc"), ("哪个项目金额最小", "asc"),
                                             ("the cheapest project", None), ("最低的指标", "asc")])
def test_ranking_direction(text, direction):
    assert ranking(text) == direction


@pytest.mark.parametrize("text, operation", [
    ("how many projects does it have", "count"), ("大城县有几个项目", "count"), ("number of indicators", "count"),
    ("total spent on it across counties", "sum"), ("医疗救助资金合计多少", "sum"), ("the combined amount", "sum"),
    ("各县医疗救助资金之和", "sum"),
    ("average satisfaction target", "average"), ("平均项目支出", "average"),
    ("which counties do not fund it", "negate"), ("哪些县没有安排", "negate"), ("counties without it", "negate"),
    ("有没有这个项目", "list"), ("目标不低于98%", "list"),
])
def test_operation_words(text, operation):
    from search.topics import TopicMatch, load_topics

    q = Question(text=text, language="en")
    q.topics = [TopicMatch(load_topics()[0], "label", 1.0)]
    assert _operation(q, text.lower(), text.lower())[0] == operation
