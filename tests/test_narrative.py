"""The prose layer on the real seeds in all four renderings: passages rejoined across PDF line and
page breaks with tables left out, narrative figures of the current year only, the projects listed
after 项目支出, and personal data kept out of passages."""
import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pytest

from ingest.model import Disclosure, FigureSource, Measure, SectionKind
from ingest.narrative import enrich_narrative
from ingest.paragraphs import BlockKind, read_blocks, tidy
from ingest.source import SourceText, sha256_hex, text_source

SAMPLES = Path(__file__).resolve().parent.parent / "ingest" / "samples"


@lru_cache(maxsize=None)
def sample(prefix: str) -> SourceText:
    return text_source(next(SAMPLES.glob(f"{prefix}_*.txt")))


@lru_cache(maxsize=None)
def enriched(prefix: str) -> Disclosure:
    source = sample(prefix)
    disclosure = Disclosure(source_name=source.name, sha256=source.sha256, layout="test")
    enrich_narrative(disclosure, source)
    return disclosure


def synthetic(text: str) -> SourceText:
    return SourceText(name="synthetic.txt", text=text, sha256=sha256_hex(text.encode("utf-8")))


def narrative_values(d: Disclosure) -> dict[Measure, set[Decimal]]:
    values: dict[Measure, set[Decimal]] = {}
    for f in d.figures:
        values.setdefault(f.measure, set()).add(f.value)
    return values


# ------------------------------------------------------------------ figures

EXPECTED_FIGURES = {
    "000": {Measure.TOTAL_REVENUE: "7895.40", Measure.TOTAL_EXPENDITURE: "7895.40",
            Measure.GENERAL_BUDGET_REVENUE: "7895.40", Measure.BASIC_EXPENDITURE: "601.40",
            Measure.PROJECT_EXPENDITURE: "7294.00", Measure.PERSONNEL: "582.50", Measure.PUBLIC: "18.90",
            Measure.THREE_PUBLIC: "3.80", Measure.OPERATING_COSTS: "18.90", Measure.PROCUREMENT: "0",
            Measure.FIXED_ASSETS: "27.89"},
    "001": {Measure.TOTAL_REVENUE: "9736.74", Measure.TOTAL_EXPENDITURE: "9736.74",
            Measure.GENERAL_BUDGET_REVENUE: "9615.74", Measure.CARRYOVER: "121", Measure.BASIC_EXPENDITURE: "1481.43",
            Measure.PROJECT_EXPENDITURE: "8255.31", Measure.PERSONNEL: "1347.82", Measure.PUBLIC: "133.61",
            Measure.THREE_PUBLIC: "9.82", Measure.OPERATING_COSTS: "133.61", Measure.FIXED_ASSETS: "427.69"},
    "002": {Measure.TOTAL_REVENUE: "6325.23", Measure.TOTAL_EXPENDITURE: "6325.23",
            Measure.BASIC_EXPENDITURE: "394.53", Measure.PROJECT_EXPENDITURE: "5930.7",
            Measure.PERSONNEL: "363.27", Measure.PUBLIC: "31.26", Measure.THREE_PUBLIC: "6",
            Measure.OPERATING_COSTS: "31.26", Measure.FIXED_ASSETS: "81.62"},
    "003": {Measure.TOTAL_REVENUE: "4881.48", Measure.TOTAL_EXPENDITURE: "4881.48",
            Measure.CURRENT_YEAR_REVENUE: "4022.04", Measure.GENERAL_BUDGET_REVENUE: "4022.04",
            Measure.CARRYOVER: "859.45", Measure.BASIC_EXPENDITURE: "381.21", Measure.PROJECT_EXPENDITURE: "4500.27",
            Measure.PERSONNEL: "354.13", Measure.PUBLIC: "27.08", Measure.OPERATING_COSTS: "27.08",
            Measure.PROCUREMENT: "50"},
}


@pytest.mark.parametrize("prefix", sorted(EXPECTED_FIGURES))
def test_narrative_figures(prefix):
    values = narrative_values(enriched(prefix))
    expected = {m: {Decimal(v)} for m, v in EXPECTED_FIGURES[prefix].items()}
    assert {m: values.get(m) for m in expected} == expected


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003"])
def test_each_measure_has_one_narrative_value(prefix):
    assert all(len(v) == 1 for v in narrative_values(enriched(prefix)).values())


@pytest.mark.parametrize("prefix, not_figures", [
    # 2022 年预算安排 8141.01; 比上年减少 245.61; 人员经费增加 143.84; 日常公用经费减少 23.45; 项目经费减少 366.00
    ("000", ["8141.01", "245.61", "143.84", "23.45", "366.00", "0.96"]),
    # 较 2022 年预算减少 584.89; 基本支出增加 229.02; 项目支出减少 813.91
    ("001", ["584.89", "229.02", "813.91", "0.3"]),
    ("002", ["16463.54", "2.64", "16466.18", "3"]),
    # 上年财政拨款预算 24.12; 比上年增加 2715.65; 2021 年结余结转 103.93
    ("003", ["24.12", "2715.65", "103.93", "1856.21", "2.96"]),
])
def test_no_previous_year_or_change_amounts(prefix, not_figures):
    values = {f.value for f in enriched(prefix).figures}
    assert values.isdisjoint({Decimal(v) for v in not_figures})


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003"])
def test_figures_point_at_their_line_and_quote_their_sentence(prefix):
    source = sample(prefix)
    for f in enriched(prefix).figures:
        assert f.source == FigureSource.NARRATIVE
        whole = str(f.value).split(".")[0]
        assert whole in source.lines[f.span.line_start - 1].replace(",", ""), f
        assert whole in f.quote.replace(",", ""), f


def test_figure_broken_over_two_pdf_lines():
    # 001: "包括人员经费" / "1347.82 万元" — the amount is on the next printed line.
    f = next(f for f in enriched("001").figures if f.measure == Measure.PERSONNEL)
    assert f.value == Decimal("1347.82")
    assert "1347.82" in sample("001").lines[f.span.line_start - 1]
    assert "人员经费" not in sample("001").lines[f.span.line_start - 1]


def test_no_figures_from_the_glossary_or_tables():
    # 000's tables print 7804.21 (卫生健康支出) and 529.88 (行政运行); no sentence states them.
    values = {f.value for f in enriched("000").figures}
    assert Decimal("7804.21") not in values and Decimal("529.88") not in values


def test_performance_targets_document_states_no_budget_figures():
    assert enriched("004").figures == []


# ------------------------------------------------------------------ projects

def test_projects_listed_with_amounts_in_000():
    projects = [p for p in enriched("000").projects if p.sources == ["narrative"]]
    assert [(p.name, p.amount) for p in projects] == [
        ("医保专项业务费", Decimal("50.00")), ("医保鉴定评审费", Decimal("6.00")),
        ("中央财政医疗服务与保障能力提升补助资金", Decimal("15.00")),
        ("财政对城乡居民医保基金补助", Decimal("4175.00")),
        ("省级财政城乡居民医保村级代办员补助资金", Decimal("5.00")), ("长期照护险", Decimal("1414.00")),
        ("城乡居民医疗救助补助资金", Decimal("800.00")), ("公费医疗", Decimal("800.00")),
        ("改制企业人员大病保险", Decimal("29.00")),
    ]
    assert sum(p.amount for p in projects) == Decimal("7294.00")
    assert all(p.span and 652 <= p.span.line_start <= 660 for p in projects)


def test_parenthesised_sub_items_are_not_projects():
    names = {p.name for p in enriched("000").projects}
    assert "县级城乡居民医疗保险" not in names and "县级财政医疗救助补助资金" not in names


@pytest.mark.parametrize("prefix, names", [
    ("001", ["新冠疫苗及接种费用县级财政补助资金", "城乡居民医疗保险县级补助资金", "医疗救助补助资金"]),
    ("002", ["医疗救助", "劳务派遣人员工资", "城乡医疗保险缴费"]),
])
def test_projects_mentioned_without_amounts(prefix, names):
    projects = enriched(prefix).projects
    assert [p.name for p in projects] == names
    assert all(p.amount is None and p.sources == ["narrative-mention"] for p in projects)


def test_a_county_none_of_the_seeds_is_from():
    text = ("某某县教育局 2024 年部门预算信息公开情况说明\n"
            "二、部门预算安排的总体情况\n"
            "2024 年支出预算 1234.56 万元，其中：基本支出 1000.00 万元，项目支出 234.56 万元，包括学生资助\n"
            "200.00 万元，校舍维修 34.56 万元。2023 年预算安排 999.00 万元。\n")
    d = Disclosure(source_name="other.txt", sha256="0" * 64, layout="test", fiscal_year=2024)
    enrich_narrative(d, synthetic(text))
    assert narrative_values(d) == {Measure.TOTAL_EXPENDITURE: {Decimal("1234.56")},
                                   Measure.BASIC_EXPENDITURE: {Decimal("1000.00")},
                                   Measure.PROJECT_EXPENDITURE: {Decimal("234.56")}}
    assert [(p.name, p.amount) for p in d.projects] == [("学生资助", Decimal("200.00")),
                                                        ("校舍维修", Decimal("34.56"))]


def test_figures_dated_to_another_year_are_skipped():
    text = ("一、机关运行经费安排情况\n"
            "2022年，机关运行经费共计安排16.00万元。2024年，机关运行经费共计安排18.00万元，与2023年相比增加2万元。\n"
            "二、收支说明\n与2023年相比，2024年支出预算500.00万元。\n")
    d = Disclosure(source_name="y.txt", sha256="0" * 64, layout="test", fiscal_year=2024)
    enrich_narrative(d, synthetic(text))
    assert narrative_values(d) == {Measure.OPERATING_COSTS: {Decimal("18.00")},
                                   Measure.TOTAL_EXPENDITURE: {Decimal("500.00")}}


def test_amounts_in_yuan_are_converted():
    d = Disclosure(source_name="y.txt", sha256="0" * 64, layout="test", fiscal_year=2024)
    enrich_narrative(d, synthetic("一、收支说明\n2024年支出预算1,234,500元，其中：基本支出234,500元。\n"))
    assert narrative_values(d)[Measure.TOTAL_EXPENDITURE] == {Decimal("123.45")}


# ------------------------------------------------------------------ passages

@pytest.mark.parametrize("prefix, kinds", [
    ("000", {SectionKind.DUTIES, SectionKind.OVERVIEW, SectionKind.OPERATING, SectionKind.THREE_PUBLIC,
             SectionKind.PERFORMANCE_GOALS, SectionKind.SAFEGUARDS, SectionKind.PROCUREMENT, SectionKind.ASSETS,
             SectionKind.GLOSSARY}),
    ("001", {SectionKind.DUTIES, SectionKind.OVERVIEW, SectionKind.OPERATING, SectionKind.THREE_PUBLIC,
             SectionKind.PERFORMANCE_GOALS, SectionKind.SAFEGUARDS, SectionKind.PROCUREMENT, SectionKind.ASSETS,
             SectionKind.GLOSSARY}),
    ("002", {SectionKind.DUTIES, SectionKind.OVERVIEW, SectionKind.OPERATING, SectionKind.THREE_PUBLIC,
             SectionKind.PERFORMANCE_GOALS, SectionKind.SAFEGUARDS, SectionKind.PROCUREMENT, SectionKind.ASSETS,
             SectionKind.GLOSSARY}),
    ("003", {SectionKind.DUTIES, SectionKind.ORGANISATION, SectionKind.OVERVIEW, SectionKind.OPERATING,
             SectionKind.THREE_PUBLIC, SectionKind.PROCUREMENT, SectionKind.PERFORMANCE_GOALS, SectionKind.ASSETS,
             SectionKind.GLOSSARY}),
    ("004", {SectionKind.PERFORMANCE_GOALS, SectionKind.SAFEGUARDS}),
])
def test_passage_kinds_in_every_rendering(prefix, kinds):
    assert {p.kind for p in enriched(prefix).passages} >= kinds


def passage(prefix: str, title: str):
    return next(p for p in enriched(prefix).passages if p.title == title)


def test_pdf_line_breaks_are_rejoined_without_spaces():
    # 000 prints "…现将乐亭县" / "医疗保障局 2023年部门预算公开如下："
    intro = enriched("000").passages[0]
    assert "现将乐亭县医疗保障局2023年部门预算公开如下：" in intro.text
    duties = passage("000", "部门职责")
    assert "规章以及政策、制度、规划和标准。" in duties.text
    assert duties.span.line_start == 594 and duties.span.line_end == 627


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_passages_have_no_spurious_spaces_markup_or_page_numbers(prefix):
    for p in enriched(prefix).passages:
        # No space next to Chinese punctuation or between a number and its unit; between two Chinese
        # characters only after an organ name (中共廊坊市委 廊坊市人民政府, as printed).
        assert not re.search(r"[，。、；：（）] | [，。、；：（）]|\d [\u4e00-\u9fff]|[\u4e00-\u9fff] \d", p.text), p.title
        assert not re.search(r"[\u4e00-\u9fff](?<![委府局厅部院会室办署]) +[\u4e00-\u9fff]", p.text), p.title
        assert not re.search(r"<b>|</b>|\*\*|^#|\[bookmark", p.text, re.M), p.title
        assert not any(re.fullmatch(r"\s*\d{1,4}\s*", line) for line in p.text.split("\n")), p.title


def test_page_break_inside_a_sentence():
    # 002: "…特定目标类项目支出 5930.7 万" / (new page) " 元，包括本级支出，…"
    assert "项目支出5930.7万元，包括本级支出" in passage("002", "支出说明").text
    # 001: a page number "34" sits between the 三公 heading and its text
    three = passage("001", "财政拨款“三公”经费预算情况及增减变化原因")
    assert three.text.startswith("2023年，我部门财政拨款“三公”经费预算安排9.82万元。")


@pytest.mark.parametrize("prefix, table_words", [
    ("000", ["一级指标", "科目编码", "单位名称", "政府采购项目来源", "7895.40 7895.40"]),
    ("001", ["一级指标", "栏次", "预算年度", "单位资金"]),
    ("002", ["一级", "城乡居民医疗参保人", "评（扣）分标准", "=6户"]),
    ("003", ["一级指标", "项目名称", "科目编码", "负责人"]),
    ("004", ["一级指标", "项目编码", "460001", "资金支出计划"]),
])
def test_table_rows_are_not_passages(prefix, table_words):
    for p in enriched(prefix).passages:
        for word in table_words:
            assert word not in p.text, (p.title, word)


def test_sub_headings_stay_inside_their_section():
    # 001 numbers the safeguards (一)…(八) at the same level as the section itself; items ending in 。
    # that mention 绩效 are items of 工作保障措施, not new performance sections.
    safeguards = passage("001", "工作保障措施")
    assert "（八）加强宣传培训调研等。" in safeguards.text
    assert safeguards.span.line_end == 2430
    glossary = passage("003", "名词解释")
    assert "十二、财政拨款" in glossary.text


def test_markdown_and_docx_headings():
    assert passage("003", "本部门职责").kind == SectionKind.DUTIES
    assert passage("003", "机构设置情况").kind == SectionKind.ORGANISATION
    assert passage("004", "总体绩效目标").text.startswith("坚持稳中求进工作总基调")


def test_project_goal_text_under_a_table_title_is_not_a_passage():
    texts = "\n".join(p.text for p in enriched("000").passages)
    assert "从县中两院和其它医院聘请专家进行慢性病鉴定会审" not in texts
    texts = "\n".join(p.text for p in enriched("004").passages)
    assert "通过聘请县中两院和其它医院的专家" not in texts


@pytest.mark.parametrize("raw, tidied", [
    ("2023 年支出预算 7895.40 万元", "2023年支出预算7895.40万元"),
    ("在医疗、 医保、医药", "在医疗、医保、医药"),
    ("中央和省 级财政", "中央和省级财政"),  # a wrap artifact inside a word
    ("中共廊坊市委 廊坊市人民政府关于", "中共廊坊市委 廊坊市人民政府关于"),  # two issuers
    ("Excel 2019 表格", "Excel 2019表格"),
])
def test_tidy_spaces(raw, tidied):
    assert tidy(raw) == tidied


def test_blocks_keep_source_lines_per_character():
    blocks = read_blocks(sample("000"))
    prose = next(b for b in blocks if b.kind == BlockKind.PROSE and "现将乐亭县医疗保障局" in b.text)
    k = prose.text.index("医疗保障局2023年")
    assert prose.lines_at(k, k + 5) == (590, 590)
    assert prose.first_line == 588


# ------------------------------------------------------------------ personal data

def test_contacts_of_003():
    contacts = {(c.role, c.name, c.phone) for c in enriched("003").contacts}
    assert contacts == {("负责人", "王宇", "13633587231"), ("经办人", "郭瑞林", "13633587231")}
    assert all(c.span.line_start == 552 for c in enriched("003").contacts)


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_no_personal_data_in_passages_or_quotes(prefix):
    d = enriched(prefix)
    texts = [p.text for p in d.passages] + [p.title for p in d.passages] + [f.quote for f in d.figures]
    for text in texts:
        assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text)
        assert "王宇" not in text and "郭瑞林" not in text


def test_phones_and_names_in_prose_are_masked():
    text = ("一、部门职责\n负责全县医疗保障工作，联系人：张三，联系电话：13812345678，办公电话 0358-6543210。\n")
    d = Disclosure(source_name="p.txt", sha256="0" * 64, layout="test")
    enrich_narrative(d, synthetic(text))
    assert {(c.role, c.name, c.phone) for c in d.contacts} == {("联系人", "张三", "13812345678")}
    body = d.passages[0].text
    assert "13812345678" not in body and "1**********" in body
    assert "0358-6543210" not in body and "张三" not in body


# ------------------------------------------------------------------ robustness

@pytest.mark.parametrize("text", [
    "", "\n", "\x00\x01\x02", "《" * 500, "（" * 300 + "冀财社[2022", "项目支出5万元，包括" + "、" * 200,
    "\t" * 50, "一、\n（一）\n1.\n①\n第一部分\n", "2023年支出预算" + "9" * 400 + "万元",
    "\n".join("一二三四五六七八九十" * 20 for _ in range(200)),
])
def test_odd_text_never_raises(text):
    d = Disclosure(source_name="odd.txt", sha256="0" * 64, layout="test")
    enrich_narrative(d, synthetic(text))
    assert d.findings == []


# ------------------------------------------------------------------ renderings agree

FIXTURES = Path(__file__).resolve().parent / "data" / "fixtures"


def _facts(source: SourceText):
    from ingest.identity import enrich_identity

    d = Disclosure(source_name=source.name, sha256=source.sha256, layout="test")
    enrich_identity(d, source)
    enrich_narrative(d, source)
    return {
        "identity": (d.department, d.county, d.prefecture, d.province, d.admin_code, d.fiscal_year, d.kind),
        "figures": sorted((f.measure.value, f.value) for f in d.figures),
        "projects": [(p.name, p.amount, tuple(p.sources)) for p in d.projects],
        "citations": sorted((r.number or "", r.title or "") for r in d.legal_refs),
        "passages": [(p.kind, p.title, p.text) for p in d.passages],
        "contacts": sorted((c.role, c.name or "", c.phone or "") for c in d.contacts),
    }


@pytest.mark.parametrize("prefix, fixture", [
    ("000", "000_hebei_budget.pdf"), ("000", "000_hebei_budget.docx"),
    ("003", "003_shanxi_budget.pdf"), ("003", "003_shanxi_budget.docx"),
])
def test_pdf_and_docx_renderings_give_the_same_prose_facts(prefix, fixture):
    from ingest.pipeline import read_source

    path = FIXTURES / fixture
    if not path.exists():
        pytest.skip(f"{fixture} not built (tests/data/make_fixtures.py)")
    assert _facts(read_source(path)) == _facts(sample(prefix))
