"""The markdown-tsv layout: the Shanxi sample (003) and 000's Hebei tables rendered as TSV.

Expected values were read off the sample text by hand; the sums check that every coded row
landed in its column (children add up to parents, lines add up to the printed 合计).
"""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.layouts import markdown_tsv
from ingest.layouts.markdown_tsv import PARSER, read_elements
from ingest.layouts.table_rows import Para, Row
from ingest.model import ClassificationKind, DocumentKind, Measure, Severity, TableKind
from ingest.registry import get_layout
from ingest.source import SourceText, text_source

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "ingest" / "samples"
SHANXI = SAMPLES / "003_4b03bed591dded21.txt"
HEBEI_TSV = ROOT / "tests" / "data" / "markdown_tsv" / "hebei_000_tables.tsv"
D = Decimal


def source_of(text: str, name: str = "inline.txt") -> SourceText:
    return SourceText(name=name, text=text, sha256="0" * 64)


@pytest.fixture(scope="module")
def shanxi():
    return PARSER.parse(text_source(SHANXI))


@pytest.fixture(scope="module")
def hebei():
    return PARSER.parse(text_source(HEBEI_TSV))


def lines_of(doc, table):
    return [line for line in doc.budget_lines if line.table == table]


def by_code(doc, table):
    return {line.code: line for line in lines_of(doc, table)}


def figures(doc):
    return {(f.measure, f.table): f.value for f in doc.figures}


# ------------------------------------------------------------------ registry and sniffing

def test_registered_under_its_name():
    assert get_layout("markdown-tsv") is PARSER
    assert get_layout("tsv") is PARSER
    assert PARSER.name == "markdown-tsv" and PARSER.description


@pytest.mark.parametrize("name,low,high", [
    ("003_4b03bed591dded21.txt", 0.8, 1.0),
    ("004_2a810ef67890c9d0.txt", 0.0, 0.1),
    ("000_bd07622c98d0036c.txt", 0.0, 0.1),
    ("001_410140da784744fc.txt", 0.0, 0.1),
    ("002_20041eb3cb8715ee.txt", 0.0, 0.1),
], ids=["shanxi-tsv", "docx-text", "pdf-000", "pdf-001", "pdf-002"])
def test_sniff(name, low, high):
    assert low <= PARSER.sniff(text_source(SAMPLES / name)) <= high


def test_sniff_pdf_reader_rendering_is_high():
    assert PARSER.sniff(text_source(HEBEI_TSV)) >= 0.8


def test_elements_strip_markup_and_keep_line_numbers():
    elements = list(read_elements(text_source(SHANXI)))
    first = elements[0]
    assert isinstance(first, Para) and first.text == "兴县医疗保障局" and first.heading == 1 and first.line == 3
    toc = next(e for e in elements if isinstance(e, Row) and e.line_start == 9)
    assert toc.cells == ("第一部分 概况 .....", "1")
    row = next(e for e in elements if isinstance(e, Row) and e.line_start == 162)
    assert row.cells[:3] == ("2101301", "城乡医疗救助", "2622.80") and row.cells[-1] == "760.15"


# ------------------------------------------------------------------ 003: identity

def test_shanxi_identity(shanxi):
    assert shanxi.layout == "markdown-tsv"
    assert shanxi.department == "兴县医疗保障局"
    assert shanxi.department_code == "036"
    assert shanxi.fiscal_year == 2023
    assert shanxi.kind == DocumentKind.BUDGET
    assert not shanxi.truncated and not shanxi.findings


# ------------------------------------------------------------------ 003: budget lines

def test_shanxi_line_counts(shanxi):
    counts = Counter(line.table for line in shanxi.budget_lines)
    assert counts == {TableKind.REVENUE: 27, TableKind.EXPENDITURE: 27, TableKind.GENERAL_EXPENDITURE: 24,
                      TableKind.BASIC_ECONOMIC: 18}


def test_shanxi_empty_tables_yield_nothing(shanxi):
    # 国有资本经营 lists every code with empty amounts; 政府性基金 and 三公 print 本表无数据.
    tables = {line.table for line in shanxi.budget_lines}
    assert TableKind.STATE_CAPITAL not in tables and TableKind.FUND_EXPENDITURE not in tables
    assert shanxi.figure(Measure.THREE_PUBLIC) is None


REVENUE_003 = """
208 社会保障和就业支出 36.60 -
20805 行政事业单位养老支出 35.93 -
2080505 机关事业单位基本养老保险缴费支出 35.93 -
20827 财政对其他社会保险基金的补助 0.67 -
2082702 财政对工伤保险基金的补助 0.67 -
210 卫生健康支出 3952.98 854.45
21004 公共卫生 184.22 -
2100409 重大公共卫生服务 184.22 -
21011 行政事业单位医疗 16.11 -
2101101 行政单位医疗 3.02 -
2101102 事业单位医疗 11.58 -
2101103 公务员医疗补助 1.39 -
2101199 其他行政事业单位医疗支出 0.12 -
21012 财政对基本医疗保险基金的补助 756.80 -
2101202 财政对城乡居民基本医疗保险基金的补助 756.80 -
21013 医疗救助 2622.80 760.15
2101301 城乡医疗救助 2622.80 760.15
21015 医疗保障管理事务 373.04 94.29
2101501 行政运行 146.95 50.00
2101506 医疗保障经办事务 30.00 44.29
2101550 事业运行 196.09 -
221 住房保障支出 32.46 -
22102 住房改革支出 32.46 -
2210201 住房公积金 32.46 -
229 其他支出 - 5.00
22960 彩票公益金安排的支出 - 5.00
2296013 用于城乡医疗救助的彩票公益金支出 - 5.00
"""


def _opt(text: str) -> Decimal | None:
    return None if text == "-" else D(text)


def test_shanxi_revenue_table_every_row(shanxi):
    lines = lines_of(shanxi, TableKind.REVENUE)
    expected = [row.split() for row in REVENUE_003.strip().splitlines()]
    assert [(l.code, l.name, l.amount, l.carryover_amount) for l in lines] == \
        [(code, name, _opt(total), _opt(carry)) for code, name, total, carry in expected]
    assert all(l.kind == ClassificationKind.FUNCTION and not l.inferred_columns for l in lines)
    line = by_code(shanxi, TableKind.REVENUE)["2101301"]
    assert line.span.line_start == 162


EXPENDITURE_003 = """
208 36.60 36.60 -
210 4807.42 312.15 4495.27
21004 184.22 - 184.22
21011 16.11 16.11 -
21012 756.80 - 756.80
21013 3382.95 - 3382.95
2101301 3382.95 - 3382.95
21015 467.33 296.04 171.29
2101501 196.95 99.95 97.00
2101506 74.29 - 74.29
2101550 196.09 196.09 -
221 32.46 32.46 -
229 5.00 - 5.00
2296013 5.00 - 5.00
"""


def test_shanxi_expenditure_basic_and_project_columns(shanxi):
    lines = by_code(shanxi, TableKind.EXPENDITURE)
    for code, total, basic, project in (row.split() for row in EXPENDITURE_003.strip().splitlines()):
        line = lines[code]
        assert (line.amount, line.basic_amount, line.project_amount) == (D(total), _opt(basic), _opt(project)), code


def test_shanxi_general_expenditure(shanxi):
    lines = by_code(shanxi, TableKind.GENERAL_EXPENDITURE)
    assert "229" not in lines  # the general-budget table has no lottery-fund spending
    assert (lines["2101301"].amount, lines["2101301"].project_amount) == (D("2622.80"), D("2622.80"))
    assert (lines["2101501"].basic_amount, lines["2101501"].project_amount) == (D("99.95"), D("47.00"))


@pytest.mark.parametrize("table", [TableKind.REVENUE, TableKind.EXPENDITURE, TableKind.GENERAL_EXPENDITURE])
def test_shanxi_children_add_up_to_parents(shanxi, table):
    lines = lines_of(shanxi, table)
    children = defaultdict(lambda: D(0))
    for line in lines:
        if len(line.code) > 3:
            children[line.code[:-2]] += line.amount or 0
    for line in lines:
        if line.code in children:  # the sample rounds: 210 prints 3952.98 over children of 3952.97
            assert abs(children[line.code] - (line.amount or 0)) <= D("0.01"), line.code


def test_shanxi_lines_add_up_to_table_totals(shanxi):
    figs = figures(shanxi)
    for table, basic_total, project_total in ((TableKind.EXPENDITURE, "381.21", "4500.27"),
                                               (TableKind.GENERAL_EXPENDITURE, "381.21", "3640.82")):
        top = [l for l in lines_of(shanxi, table) if len(l.code) == 3]
        assert sum(l.basic_amount or 0 for l in top) == D(basic_total)
        assert sum(l.project_amount or 0 for l in top) == D(project_total)
        assert figs[(Measure.BASIC_EXPENDITURE, table.value)] == D(basic_total)
        assert figs[(Measure.PROJECT_EXPENDITURE, table.value)] == D(project_total)


def test_shanxi_economic_table_has_names_without_codes(shanxi):
    lines = lines_of(shanxi, TableKind.BASIC_ECONOMIC)
    assert all(l.code is None and l.kind == ClassificationKind.ECONOMIC for l in lines)
    names = [l.name for l in lines]
    assert names[:3] == ["工资福利支出", "基本工资", "津贴补贴"] and names[-1] == "其他商品和服务支出"
    named = {l.name: l for l in lines}
    assert (named["基本工资"].amount, named["基本工资"].personnel_amount) == (D("133.51"), D("133.51"))
    assert named["取暖费"].public_amount == D("1.56") and named["取暖费"].personnel_amount is None
    assert named["商品和服务支出"].public_amount == D("27.08")
    # 工资福利支出 and 商品和服务支出 are the two classes; the items under them add up (the sample
    # rounds: its wage items sum to 354.14 under a printed 354.13).
    assert abs(sum(l.amount for l in lines[1:11]) - named["工资福利支出"].amount) <= D("0.01")
    assert sum(l.amount for l in lines[12:]) == named["商品和服务支出"].amount


# ------------------------------------------------------------------ 003: figures

def test_shanxi_figures(shanxi):
    figs = figures(shanxi)
    assert figs == {
        (Measure.GENERAL_BUDGET_REVENUE, "summary"): D("4022.04"),
        (Measure.CURRENT_YEAR_REVENUE, "summary"): D("4022.04"),
        (Measure.CURRENT_YEAR_EXPENDITURE, "summary"): D("4881.48"),
        (Measure.CARRYOVER, "summary"): D("859.45"),
        (Measure.TOTAL_REVENUE, "summary"): D("4881.48"),
        (Measure.TOTAL_EXPENDITURE, "summary"): D("4881.48"),
        (Measure.CURRENT_YEAR_REVENUE, "revenue"): D("4022.04"),
        (Measure.CARRYOVER, "revenue"): D("859.45"),
        (Measure.GENERAL_BUDGET_REVENUE, "revenue"): D("4022.04"),
        (Measure.BASIC_EXPENDITURE, "expenditure"): D("381.21"),
        (Measure.PROJECT_EXPENDITURE, "expenditure"): D("4500.27"),
        (Measure.GENERAL_BUDGET_REVENUE, "fiscal-summary"): D("4022.04"),
        (Measure.CURRENT_YEAR_REVENUE, "fiscal-summary"): D("4022.04"),
        (Measure.CURRENT_YEAR_EXPENDITURE, "fiscal-summary"): D("4881.48"),
        (Measure.CARRYOVER, "fiscal-summary"): D("859.45"),
        (Measure.TOTAL_REVENUE, "fiscal-summary"): D("4881.48"),
        (Measure.TOTAL_EXPENDITURE, "fiscal-summary"): D("4881.48"),
        (Measure.BASIC_EXPENDITURE, "general-expenditure"): D("381.21"),
        (Measure.PROJECT_EXPENDITURE, "general-expenditure"): D("3640.82"),
        (Measure.PERSONNEL, "basic-economic"): D("354.13"),
        (Measure.PUBLIC, "basic-economic"): D("27.08"),
        (Measure.OPERATING_COSTS, "operating"): D("27.08"),
    }
    assert all(f.source.value == "table" and f.span is not None for f in shanxi.figures)
    # The carry-over breakdown under 上年财政拨款结转 (一、一般公共预算 854.45) is not general revenue.
    assert D("854.45") not in {f.value for f in shanxi.figures}


# ------------------------------------------------------------------ 003: projects

PROJECTS_003 = [
    ("兴财社【2023】76号2023年中央财政医疗服务与保障能力提升补助资金", "30.00", ["兴财社〔2023〕76号"]),
    ("兴财社【2023】77号2023年中央财政医疗救助补助资金", "717.48", ["兴财社〔2023〕77号"]),
    ("兴财社【2023】64号2023年省级财政医疗救助补助资金", "841.28", ["兴财社〔2023〕64号"]),
    ("2023年原建档立卡贫困人员个人缴费医疗救助补助县级配套资金", "667.01", []),
    ("2023年原建档立卡贫困人员补充医疗保险医疗救助补助县级配套资金", "397.03", []),
    ("2023年城乡居民基本医疗保险县级财政配套资金", "756.80", []),
    ("新冠病毒疫苗及接种费用县级补助资金", "184.22", []),
    ("业务工作经费", "10.00", []),
    ("医保局及医保中心专项业务费", "37.00", []),
]
CARRYOVER_003 = [
    ("兴财社(2022)82号关于下达2022年中央和省级财政医疗救助补助资金预算晋财社(2021)250号", "622.17",
     ["兴财社〔2022〕82号", "晋财社〔2021〕250号"]),
    ("兴财社(2022)285号关于下达2022年中央财政医疗救助资金(城乡医疗救助补助资金部分)晋财社(2022)79号", "94.00",
     ["兴财社〔2022〕285号", "晋财社〔2022〕79号"]),
    ("兴财社(2022)359号关于下达2022年市级城乡医疗救助配套资金吕财社(2022)105号", "43.98",
     ["兴财社〔2022〕359号", "吕财社〔2022〕105号"]),
    ("兴财社(2022)86号关于下达2022年中央财政医疗服务与保障能力提升补助资金晋财社(2021)247号-2", "44.29",
     ["兴财社〔2022〕86号", "晋财社〔2021〕247号"]),
    ("兴财社(2022)284号关于下达2022年中央专项彩票公益金支持城乡医疗救助资金-晋财社(2022)78号", "5.00",
     ["兴财社〔2022〕284号", "晋财社〔2022〕78号"]),
    ("兴财社(2022)86号关于下达2022年中央财政医疗服务与保障能力提升补助资金晋财社(2021)247号--1", "50.00",
     ["兴财社〔2022〕86号", "晋财社〔2021〕247号"]),
]


def test_shanxi_project_tables(shanxi):
    table = [p for p in shanxi.projects if p.sources == ["project-table"]]
    current = [(p.name, p.amount, [r.number for r in p.legal_refs]) for p in table if not p.carryover]
    carried = [(p.name, p.amount, [r.number for r in p.legal_refs]) for p in table if p.carryover]
    assert current == [(n, D(a), refs) for n, a, refs in PROJECTS_003]
    assert carried == [(n, D(a), refs) for n, a, refs in CARRYOVER_003]
    assert sum(D(a) for _, a, _ in PROJECTS_003) == D("3640.82")  # the skipped department subtotal
    assert all(p.name != "兴县医疗保障局" for p in shanxi.projects)


FORMS_003 = [  # name, amount in 万元 (元 / 10000), indicators
    ("2023年原建档立卡贫困人口个人缴费医疗救助补助县级配套资金", "667.0104", 8),
    ("2023年原建档立卡卡贫困人口补充医疗保险医疗救助补助县级配套资金", "397.03", 8),
    ("2023年城乡居民基本医疗保险县级财政配套资金", "756.8", 6),
    ("新冠病毒疫苗及接种费用县级补助资金", "184.2236", 6),
    ("医保局及医保中心专项业务费", "37", 6),
    ("业务工作经费", "10", 7),
    ("兴财社【2023】76号2023年中央财政医疗服务与保障能力提升补助资金", "30", 6),
    ("兴财社【2023】64号2023年省级财政医疗救助补助资金", "841.28", 10),
    ("兴财社【2023】77号2023年中央财政医疗救助补助资金", "717.48", 7),
]


@pytest.fixture(scope="module")
def forms(shanxi):
    return [p for p in shanxi.projects if p.sources == ["form"]]


def test_shanxi_forms(forms):
    assert [(p.name, p.amount, len(p.indicators)) for p in forms] == [(n, D(a), k) for n, a, k in FORMS_003]
    assert sum(len(p.indicators) for p in forms) == 64


def test_shanxi_form_fields(forms):
    first = forms[0]
    assert first.goal == "及时足额为全县困难群众资助医疗保险个人缴费"
    assert first.extra["项目属性"] == "一次性项目(1年结束)"
    assert first.extra["项目概况"] == "2023年原建档立卡贫困人口个人缴费医疗救助补助县级配套资金,"
    assert first.extra["立项依据"].startswith("根据晋医保发(2021)17号文件,2021年底建档立卡贫困人口79406人")
    assert first.extra["项目设立必要性"] == "为全县特困人员,低保人员、易返贫致贫人员减轻生活困难"
    assert [r.number for r in first.legal_refs] == ["晋医保发〔2021〕17号"]
    assert first.span.line_start == 526 and first.span.line_end == 552
    assert [r.number for r in forms[2].legal_refs] == ["兴政办发〔2022〕29号"]
    assert [r.number for r in forms[4].legal_refs] == ["晋农合办〔2009〕1号", "吕医保发〔2021〕26号"]
    assert [r.number for r in forms[6].legal_refs] == ["兴财社〔2023〕76号", "晋财社〔2022〕281号"]
    assert forms[6].goal.startswith("按计划稳步完成提升信息化水平")


def _indicator_rows(project):
    return [(i.level1, i.level2, i.name, i.target_value) for i in project.indicators]


def test_shanxi_form_indicators_aligned(forms):
    assert _indicator_rows(forms[0]) == [
        ("产出指标", "数量指标", "医疗救助总人次", "≤79406人"),
        ("产出指标", "质量指标", "重点救助对象自费用年", "≥70%"),
        ("产出指标", "时效指标", "医疗救助一站式即时结算", "县域内全部实现"),
        ("产出指标", "成本指标", "医疗救助总金额", "≥6670104元"),
        ("效益指标", "经济效益指标", "资金支出占当年资金筹集", "≥85%"),
        ("效益指标", "社会效益指标", "扶持因病致贫人口脱贫", "成效明显"),
        ("效益指标", "可持续影响指标", "对健全医疗保障制度体系", "成效明显"),
        ("满意度指标", "服务对象满意度", "医疗救助对象对经办结算", "≥90%"),
    ]
    first = forms[0].indicators[0]
    assert (first.comparator, first.number, first.unit) == ("≤", D("79406"), "人")


def test_shanxi_form_indicators_shifted_rows(forms):
    # Rows printed without their category cells, or shifted one cell left, keep the carried levels.
    assert _indicator_rows(forms[5])[1] == ("产出指标", "数量指标", "网络运行维护次数", "≥12次")
    assert _indicator_rows(forms[5])[5] == ("效益指标", "社会效益指标", "工作正常运转", "保障到位")
    assert _indicator_rows(forms[1])[6] == ("效益指标", "可持续影响指标", "对健全医疗保障制度体系", "成效明显")
    assert _indicator_rows(forms[6]) == [
        ("产出指标", "数量指标", "召开医保工作会议或培训", "≥3次"),
        ("产出指标", "数量指标", "定点医药机构监督检查", "100%"),
        ("产出指标", "质量指标", "医保人才培训合格率", "≥90%"),
        ("产出指标", "时效指标", "国家智能监控系统", "实时监控"),
        ("效益指标", "社会效益指标", "参保重要政策知晓率", "≥90%"),
        ("满意度指标", "服务对象满意度", "参保人员对医保服务的满", "≥90%"),
    ]
    assert _indicator_rows(forms[7])[3:] == [
        ("产出指标", "成本指标", "一站式结算覆盖地区", "不低于上年"),
        ("效益指标", "经济效益指标", "困难群众就医负担减轻程度", "有效缓解"),
        ("效益指标", "社会效益指标", "医疗救助对象覆盖范围", "逐步稳妥"),
        ("效益指标", "生态效益指标", "对健全医疗保障体系的作用", "成效明显"),
        ("效益指标", "生态效益指标", "对健全社会救助体系的影响", "成效明显"),
        ("满意度指标", "服务对象满意度", "工作满意度", "≥85%"),
        ("满意度指标", "服务对象满意度", "政策知晓率", "≥85%"),
    ]


def test_shanxi_contacts_are_kept_apart(shanxi):
    assert [(c.role, c.name, c.phone) for c in shanxi.contacts] == [
        ("负责人", "王宇", None), ("经办人", "郭瑞林", "13633587231")]
    texts = []
    for p in shanxi.projects:
        texts += [p.name, p.goal or "", *p.extra.values(), *p.aliases]
        texts += [v for i in p.indicators for v in (i.name, i.target_value, i.description or "", i.basis or "")]
    texts += [f.quote for f in shanxi.figures] + [l.name for l in shanxi.budget_lines]
    for secret in ("王宇", "郭瑞林", "13633587231"):
        assert not any(secret in t for t in texts)


def test_shanxi_citations_listed_once(shanxi):
    keys = [r.key for r in shanxi.legal_refs]
    assert len(keys) == len(set(keys))
    assert {"兴财社〔2023〕76号", "晋医保发〔2021〕17号", "兴政办发〔2022〕30号", "吕财社〔2022〕252号"} <= set(keys)


# ------------------------------------------------------------------ Hebei tables as TSV (000 rendered)

def test_hebei_identity(hebei):
    assert (hebei.department, hebei.department_code, hebei.fiscal_year) == ("乐亭县医疗保障局", "460", 2023)
    assert hebei.kind == DocumentKind.BUDGET and not hebei.truncated


def test_hebei_line_counts(hebei):
    counts = Counter(line.table for line in hebei.budget_lines)
    assert counts == {TableKind.REVENUE: 21, TableKind.EXPENDITURE: 21, TableKind.GENERAL_EXPENDITURE: 21,
                      TableKind.BASIC_ECONOMIC: 24}


def test_hebei_revenue_across_a_page_break(hebei):
    lines = by_code(hebei, TableKind.REVENUE)
    assert lines["2101202"].amount == D("4175.00") and lines["2101202"].name == "财政对城乡居民基本医疗保险基金的补助"
    assert lines["2101501"].amount == D("529.88")  # after the repeated page header
    assert lines["2210201"].amount == D("32.52")
    assert sum(l.amount for l in lines.values() if len(l.code) == 3) == D("7895.40")


def test_hebei_expenditure_and_economic(hebei):
    exp = by_code(hebei, TableKind.EXPENDITURE)
    assert (exp["2101501"].amount, exp["2101501"].basic_amount, exp["2101501"].project_amount) == \
        (D("529.88"), D("473.88"), D("56.00"))
    assert exp["21012"].basic_amount is None and exp["21012"].project_amount == D("5618.00")
    econ = by_code(hebei, TableKind.BASIC_ECONOMIC)
    assert all(l.kind == ClassificationKind.ECONOMIC for l in econ.values())
    assert (econ["30101"].amount, econ["30101"].personnel_amount) == (D("127.95"), D("127.95"))
    assert econ["30231"].public_amount == D("3.80")
    assert sum(l.amount for l in econ.values() if len(l.code) == 3) == D("601.40")


def test_hebei_figures(hebei):
    figs = figures(hebei)
    assert figs[(Measure.TOTAL_REVENUE, "revenue")] == D("7895.40")  # Hebei's 合计 includes carry-over
    assert figs[(Measure.CURRENT_YEAR_REVENUE, "revenue")] == D("7895.40")  # 本年收入 小计
    assert figs[(Measure.GENERAL_BUDGET_REVENUE, "summary")] == D("7895.40")
    assert figs[(Measure.CURRENT_YEAR_EXPENDITURE, "summary")] == D("7895.40")
    assert figs[(Measure.TOTAL_EXPENDITURE, "summary")] == D("7895.40")
    assert figs[(Measure.BASIC_EXPENDITURE, "expenditure")] == D("601.40")
    assert figs[(Measure.PROJECT_EXPENDITURE, "general-expenditure")] == D("7294.00")
    assert figs[(Measure.PERSONNEL, "basic-economic")] == D("582.50")
    assert figs[(Measure.PUBLIC, "basic-economic")] == D("18.90")
    assert figs[(Measure.THREE_PUBLIC, "three-public")] == D("3.80")
    assert figs[(Measure.FIXED_ASSETS, "assets")] == D("27.89")
    assert (Measure.CARRYOVER, "summary") not in figs  # 上年结转结余 is printed empty


def test_hebei_performance_tables(hebei):
    assert [(p.name, p.sources, len(p.indicators)) for p in hebei.projects] == [
        ("医保鉴定评审费", ["performance-table"], 7),
        ("医保专项业务费", ["performance-table"], 8),
        ("长期照护险", ["performance-table"], 8)]
    first, second, third = hebei.projects
    assert first.goal.startswith("1.从县中两院和其它医院聘请专家进行慢性病鉴定会审。")
    assert "食品药品监督管理部门" in first.goal  # a wrapped word is joined again
    assert third.goal == "长期照护险及时足额发放到位。"  # printed as a paragraph, not a cell
    assert _indicator_rows(first) == [
        ("产出指标", "数量指标", "慢特病审核人次", "2400 人次"),
        ("产出指标", "质量指标", "资金发放率", "≥98%"),
        ("产出指标", "时效指标", "项目完成时间", "2023 年 12 月"),
        ("效益指标", "可持续影响指标", "对健全医疗保障制度体系的作用", "成效明显"),
        ("效益指标", "社会效益指标", "提高医保基金使用效率", "逐步提高"),
        ("效益指标", "经济效益指标", "减轻慢病人员经济负担", "逐步减轻"),
        ("满意度指标", "服务对象满意度指标", "群众满意度", "≥98%"),
    ]
    assert first.indicators[0].basis == "县级年初预算项目"
    assert first.indicators[0].description == "慢特病审核人次"
    assert second.indicators[4].name == "为办理医保业务提供高效便捷的服务，对健全医疗保障制度体系的作用"
    assert second.indicators[6].name == "减轻城乡居民经济负担，降低医保基金风险"


# ------------------------------------------------------------------ generalisation

def test_document_cut_inside_a_coded_table_is_flagged():
    text = SHANXI.read_text(encoding="utf-8").split("\n")
    cut = "\n".join(text[:163] + ["2101501\t行政运"])  # the 收入总表 stops mid-row
    doc = PARSER.parse(source_of(cut))
    assert doc.truncated
    (finding,) = doc.findings
    assert finding.check == "truncated" and finding.severity == Severity.WARNING
    assert "2023年预算收入总表" in finding.message and "line 164" in finding.message
    assert finding.spans[0].line_start == 164
    assert by_code(doc, TableKind.REVENUE)["2101301"].amount == D("2622.80")  # rows before the cut kept


def test_document_cut_before_the_satisfaction_rows_is_flagged():
    text = SHANXI.read_text(encoding="utf-8").split("\n")
    doc = PARSER.parse(source_of("\n".join(text[:546])))  # the first form, cut after 成本指标
    assert doc.truncated
    assert "满意度" in doc.findings[0].message
    assert doc.findings[0].subject == "2023年原建档立卡贫困人口个人缴费医疗救助补助县级配套资金"
    assert len([p for p in doc.projects if p.sources == ["form"]][0].indicators) == 4


def test_final_accounts_title_sets_the_kind():
    text = "# 2022年度部门决算公开\n## 2022年收入决算表\n科目编码\t科目名称\t合计\n210\t卫生健康支出\t12.00\n"
    doc = PARSER.parse(source_of(text))
    assert doc.kind == DocumentKind.FINAL_ACCOUNTS and doc.fiscal_year == 2022
    assert [(l.code, l.amount) for l in doc.budget_lines] == [("210", D("12.00"))]


def test_pipe_tables_read_like_tab_separated_rows():
    text = ("## 2024年部门预算支出总表\n单位：元\n| 科目编码 | 科目名称 | 合计 | 基本支出 | 项目支出 |\n"
            "| --- | --- | --- | --- | --- |\n| 2101501 | 行政运行 | 1,234,500.00 | 1,000,000.00 | 234,500.00 |\n")
    doc = PARSER.parse(source_of(text))
    (line,) = doc.budget_lines
    assert (line.table, line.amount, line.basic_amount, line.project_amount) == \
        (TableKind.EXPENDITURE, D("123.45"), D("100"), D("23.45"))  # 元 converted to 万元


def test_department_indicator_table_with_split_value_columns():
    text = "\n".join([
        "（四）部门整体支出绩效指标",
        "一级指标\t二级指标\t三级指标\t绩效指标描述\t指标值\t\t\t指标值确定依据",
        "\t\t\t\t符号\t值\t单位\t",
        "部门产出\t数量\t城乡居民医疗参保人数\t城乡居民医疗参保人数\t≧\t40\t万\t《大城县2021年度城乡居民基本医疗保险征缴方案》",
        "\t质量\t资金发放率\t资金发放率\t≥\t98\t%\t计划标准",
        "满意度\t服务对象满意度\t参保群众满意度\t\t≥\t95\t%\t计划标准",
    ])
    doc = PARSER.parse(source_of(text))
    assert doc.projects == []
    rows = [(i.level1, i.level2, i.name, i.target_value, i.comparator, i.number, i.unit)
            for i in doc.department_indicators]
    assert rows == [("部门产出", "数量", "城乡居民医疗参保人数", "≥40万", "≥", D("40"), "万"),
                    ("部门产出", "质量", "资金发放率", "≥98%", "≥", D("98"), "%"),
                    ("满意度", "服务对象满意度", "参保群众满意度", "≥95%", "≥", D("95"), "%")]
    assert doc.department_indicators[0].legal_refs[0].title == "大城县2021年度城乡居民基本医疗保险征缴方案"


# ------------------------------------------------------------------ robustness

_PIECES = ["\t", "\t\t", "\n", "\n\n", " ", "合计", "科目编码", "科目名称", "基本支出", "项目支出", "一级指标", "二级指标",
           "三级指标", "指标值", "产出指标", "数量指标", "满意度指标", "2101301", "208", "30101", "3640.82", "6,670,104",
           "≥95%", "项目名称", "年度资金总额:", "负责人:", "联系电话:", "13633587231", "单位：元", "部门名称：某局",
           "2023年预算收入总表", "1.某项目绩效目标表", "项目支出绩效目标申报表", "本年收入合计", "上年结转", "注：本表无数据",
           "# ", "<b>", "| a | b |", "[bookmark: x]", "…………", "〔2022〕1号", "460001某县某局本级", "(2023年度)", "x"]


@pytest.mark.parametrize("seed", range(40))
def test_arbitrary_text_never_crashes(seed):
    rng = random.Random(seed)
    text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 400)))
    doc = PARSER.parse(source_of(text))
    assert doc.layout == "markdown-tsv"
    assert 0.0 <= markdown_tsv.sniff(source_of(text)) <= 1.0


@pytest.mark.parametrize("seed", range(10))
def test_shuffled_sample_lines_never_crash(seed):
    lines = SHANXI.read_text(encoding="utf-8").split("\n")
    random.Random(seed).shuffle(lines)
    PARSER.parse(source_of("\n".join(lines)))


def test_empty_and_blank_text():
    for text in ("", "\n\n", "\t\t\t", "   "):
        doc = PARSER.parse(source_of(text))
        assert doc.budget_lines == [] and doc.projects == [] and not doc.truncated


# ------------------------------------------------------------------ variants agree

def _project_facts(project):
    return (project.name, project.code, project.amount, project.goal, project.extra,
            [(i.level1, i.level2, i.name, i.description, i.target_value, i.basis) for i in project.indicators])


def test_docx_table_rendered_as_tsv_matches_the_docx_text_parse():
    # How a DOCX reader renders 004's first table: one line per row, merged cells repeated.
    from ingest.layouts.docx_text import PARSER as DOCX_PARSER
    tsv = "\n".join([
        "[bookmark: _Toc_4_4_0000000004]1.医保鉴定评审费绩效目标表",
        "460001乐亭县医疗保障局本级\t460001乐亭县医疗保障局本级\t单位：万元",
        "项目编码\t13022524P00CGB110004W\t项目名称\t医保鉴定评审费",
        "预算规模及资金用途\t预算数\t6.00\t其中：财政    资金\t6.00\t其他资金\t",
        "预算规模及资金用途\t主要用于医保鉴定评审费资金的支出。\t主要用于医保鉴定评审费资金的支出。",
        "资金支出计划（%）\t3月底\t6月底\t10月底\t12月底",
        "资金支出计划（%）\t25%\t50%\t75%\t100%",
        "绩效目标\t1.通过聘请县中两院和其它医院的专家，保障慢性病鉴定得到及时有效会审。 "
        "2.通过与财政、食品药品监督管理部门联合鉴定评审，保障每年新增定点药店及定点医疗机构得到及时有效评审。",
        " ",
        "一级指标\t二级指标\t三级指标\t绩效指标描述\t指标值\t指标值确定依据",
        "产出指标\t数量指标\t慢特病审核人次\t慢特病审核人次\t≥2400人次\t县级预算安排",
        "产出指标\t质量指标\t资金发放率\t资金发放率\t≥95%\t县级预算安排",
        "产出指标\t时效指标\t项目完成时间\t项目完成时间\t2024年12月\t县级预算安排",
        "产出指标\t成本指标\t各种费用拨付率\t各种费用拨付率\t≥95%\t县级预算安排",
        "效益指标\t经济效益指标\t减轻慢病人员经济负担\t减轻慢病人员经济负担\t逐步减轻\t县级预算安排",
        "效益指标\t社会效益指标\t提高医保基金使用效率\t提高医保基金使用效率\t逐步提高\t县级预算安排",
        "满意度指标\t服务对象满意度指标\t群众满意度\t群众满意度\t≥95%\t县级预算安排",
    ])
    from_tsv = PARSER.parse(source_of(tsv))
    docx_lines = (SAMPLES / "004_2a810ef67890c9d0.txt").read_text(encoding="utf-8").split("\n")
    from_docx = DOCX_PARSER.parse(source_of("\n".join(docx_lines[:150])))
    (tsv_project,), (docx_project,) = from_tsv.projects, from_docx.projects
    tsv_facts, docx_facts = _project_facts(tsv_project), _project_facts(docx_project)
    assert tsv_facts[3].replace("\n", "") == docx_facts[3].replace("\n", "")  # goal: cell paragraphs
    assert tsv_facts[:3] + tsv_facts[4:] == docx_facts[:3] + docx_facts[4:]
    assert (from_tsv.department, from_tsv.department_code) == (from_docx.department, from_docx.department_code)
    assert not from_tsv.truncated and not from_docx.truncated


def test_form_with_its_label_column_repeated_reads_the_same():
    lines = SHANXI.read_text(encoding="utf-8").split("\n")
    form = lines[521:552]  # the first 申报表
    repeated = [("绩效指标" + line) if line.startswith("\t") and "指标" in line else line for line in form]
    original = [p for p in PARSER.parse(source_of("\n".join(form))).projects]
    variant = [p for p in PARSER.parse(source_of("\n".join(repeated))).projects]
    assert [_project_facts(p) for p in variant] == [_project_facts(p) for p in original]
    assert len(original[0].indicators) == 8


# ------------------------------------------------------------------ the format readers' renderings

FIXTURES = ROOT / "tests" / "data" / "fixtures"


def _read_rendering(name: str) -> SourceText:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"{name} not generated (tests/data/make_fixtures.py)")
    if path.suffix == ".pdf":
        from ingest.formats.pdf import read_pdf as read
    else:
        from ingest.formats.docx import read_docx as read
    return read(path, 50 * 1024 * 1024)


def _all_facts(doc):
    return {
        "identity": (doc.department, doc.department_code, doc.fiscal_year, doc.kind, doc.truncated),
        "lines": sorted((l.table.value, l.code or "", l.name, l.amount, l.basic_amount, l.project_amount,
                         l.carryover_amount, l.personnel_amount, l.public_amount) for l in doc.budget_lines),
        "figures": sorted((f.measure.value, f.table, f.value) for f in doc.figures),
        "projects": [_project_facts(p) + (p.sources, p.carryover, [r.key for r in p.legal_refs])
                     for p in doc.projects],
        "contacts": [(c.role, c.name, c.phone) for c in doc.contacts],
    }


@pytest.mark.parametrize("name", ["003_shanxi_budget.pdf", "003_shanxi_budget.docx"])
def test_shanxi_renderings_agree_with_the_text(shanxi, name):
    rendered = PARSER.parse(_read_rendering(name))
    assert _all_facts(rendered) == _all_facts(shanxi)


@pytest.mark.parametrize("name", ["000_hebei_budget.pdf", "000_hebei_budget.docx"])
def test_hebei_renderings(hebei, name):
    doc = PARSER.parse(_read_rendering(name))
    assert (doc.department, doc.department_code, doc.fiscal_year, doc.kind) == \
        ("乐亭县医疗保障局", "460", 2023, DocumentKind.BUDGET)
    assert Counter(l.table for l in doc.budget_lines) == Counter(l.table for l in hebei.budget_lines)
    fixture_lines = {(l.table, l.code): l for l in hebei.budget_lines}
    for line in doc.budget_lines:  # the hand-made TSV and the reader agree on every line
        twin = fixture_lines[(line.table, line.code)]
        assert (line.name, line.amount, line.basic_amount, line.project_amount, line.personnel_amount,
                line.public_amount) == (twin.name, twin.amount, twin.basic_amount, twin.project_amount,
                                        twin.personnel_amount, twin.public_amount)
    assert set(figures(hebei).items()) <= set(figures(doc).items())
    assert [(p.name, len(p.indicators)) for p in doc.projects] == [
        ("医保鉴定评审费", 7), ("医保专项业务费", 8), ("长期照护险", 8), ("城乡居民医疗保险", 7),
        ("改制企业人员大病保险", 7), ("公费医疗", 7), ("省级财政城乡居民医保村级代办员补助资金", 7), ("医疗救助", 8),
        ("中央-医疗服务与保障能力提升补助资金", 7)]
    assert _indicator_rows(doc.projects[7])[1] == \
        ("产出指标", "数量指标", "享受待遇人次（普通医疗救助、脱贫人口救助）", "7500 人次")
    assert _indicator_rows(doc.projects[8])[5] == ("效益指标", "社会效益指标", "医保重要政策知晓率", "≥90%")
    assert all(i.span.page for p in doc.projects for i in p.indicators) or name.endswith(".docx")
