"""The pdf-text layout family on the real seed disclosures 000, 001 and 002.

Expectations were written by reading the seed texts (ingest/samples); they check every coded line
of the 支出总表, every indicator's levels, name and value, and the arithmetic of every coded table.
A page break inside a performance table and copies cut mid-table are tested on tmp copies.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ingest.layouts.pdf_text import PARSER
from ingest.model import (ClassificationKind, Disclosure, DocumentKind, FigureSource, Measure, Severity,
                          TableKind)
from ingest.normalize import economic_parent, function_parent
from ingest.registry import get_layout
from ingest.source import SourceText, text_source

SAMPLES = Path(__file__).resolve().parents[1] / "ingest" / "samples"
S000, S001, S002 = "000_bd07622c98d0036c.txt", "001_410140da784744fc.txt", "002_20041eb3cb8715ee.txt"
S003, S004 = "003_4b03bed591dded21.txt", "004_2a810ef67890c9d0.txt"


def D(text: str | None) -> Decimal | None:
    return None if text in (None, "-") else Decimal(text)


@pytest.fixture(scope="module")
def parsed() -> dict[str, Disclosure]:
    return {name: PARSER.parse(text_source(SAMPLES / name)) for name in (S000, S001, S002)}


def lines_of(d: Disclosure, kind: TableKind) -> list:
    return [b for b in d.budget_lines if b.table == kind]


def by_code(d: Disclosure, kind: TableKind) -> dict:
    return {b.code: b for b in lines_of(d, kind)}


def figure(d: Disclosure, measure: Measure, table: TableKind) -> Decimal | None:
    found = [f.value for f in d.figures if f.measure == measure and f.table == table.value]
    return found[0] if found else None


def cut_copy(tmp_path: Path, name: str, keep_lines: int) -> Disclosure:
    """Parse a copy of a seed cut after ``keep_lines`` lines, as an unseen truncated file would be."""
    text = (SAMPLES / name).read_text(encoding="utf-8").split("\n")[:keep_lines]
    path = tmp_path / f"cut_{keep_lines}_{name}"
    path.write_text("\n".join(text), encoding="utf-8")
    return PARSER.parse(text_source(path))


def parse_text(text: str, name: str = "synthetic.txt") -> Disclosure:
    return PARSER.parse(SourceText(name=name, text=text, sha256="0" * 64))


# ------------------------------------------------------------------ sniffing and identity


@pytest.mark.parametrize("name", [S000, S001, S002])
def test_sniff_is_confident_on_pdf_text(name):
    assert PARSER.sniff(text_source(SAMPLES / name)) >= 0.8


@pytest.mark.parametrize("name", [S003, S004], ids=["markdown-tsv", "docx-text"])
def test_sniff_declines_other_layout_families(name):
    assert PARSER.sniff(text_source(SAMPLES / name)) < 0.2


def test_sniff_declines_unrelated_text():
    assert PARSER.sniff(SourceText(name="x.txt", text="hello\nworld\n" * 50, sha256="0" * 64)) < 0.2


def test_registry_serves_this_parser():
    assert get_layout("pdf-text") is PARSER and get_layout("pdf") is PARSER


@pytest.mark.parametrize("name, department, code, year", [
    (S000, "乐亭县医疗保障局", "460", 2023),
    (S001, "霸州市医疗保障局", "807", 2023),
    (S002, "大城县医疗保障局", None, None),  # 002 has no coded tables; its year is in the prose
])
def test_identity_from_table_headers(parsed, name, department, code, year):
    d = parsed[name]
    assert (d.department, d.department_code, d.fiscal_year) == (department, code, year)
    assert d.kind == DocumentKind.BUDGET and d.layout == "pdf-text" and not d.truncated


def test_budget_kind_ignores_the_cited_title_about_final_accounts(parsed):
    # 002 cites 《地方预决算公开操作规程》 in its first sentence: still a budget.
    assert parsed[S002].kind == DocumentKind.BUDGET


def test_final_accounts_detected_from_the_title():
    text = (SAMPLES / S000).read_text(encoding="utf-8").replace("部门预算收支总表", "部门决算收支总表", 1)
    assert parse_text(text).kind == DocumentKind.FINAL_ACCOUNTS


# ------------------------------------------------------------------ coded tables


@pytest.mark.parametrize("name, counts", [
    (S000, {TableKind.REVENUE: 21, TableKind.EXPENDITURE: 21, TableKind.GENERAL_EXPENDITURE: 21,
            TableKind.BASIC_ECONOMIC: 24, TableKind.FUND_EXPENDITURE: 0, TableKind.STATE_CAPITAL: 0}),
    (S001, {TableKind.REVENUE: 22, TableKind.EXPENDITURE: 22, TableKind.GENERAL_EXPENDITURE: 22,
            TableKind.BASIC_ECONOMIC: 32, TableKind.FUND_EXPENDITURE: 0, TableKind.STATE_CAPITAL: 0}),
    (S002, {}),
], ids=["000", "001", "002"])
def test_coded_line_counts(parsed, name, counts):
    d = parsed[name]
    for kind, count in counts.items():
        assert len(lines_of(d, kind)) == count, kind
    assert len(d.budget_lines) == sum(counts.values())


EXPENDITURE = {S000: """
208 58.67 53.67 5.00
20805 53.67 53.67 -
2080501 10.31 10.31 -
2080505 43.36 43.36 -
20899 5.00 - 5.00
2089999 5.00 - 5.00
210 7804.21 515.21 7289.00
21011 841.33 41.33 800.00
2101101 819.65 19.65 800.00
2101103 21.68 21.68 -
21012 5618.00 - 5618.00
2101202 4175.00 - 4175.00
2101299 1443.00 - 1443.00
21013 800.00 - 800.00
2101301 800.00 - 800.00
21015 544.88 473.88 71.00
2101501 529.88 473.88 56.00
2101599 15.00 - 15.00
221 32.52 32.52 -
22102 32.52 32.52 -
2210201 32.52 32.52 -
""", S001: """
208 113.48 108.48 5.00
20805 108.48 108.48 -
2080501 14.22 14.22 -
2080505 79.48 79.48 -
2080506 14.78 14.78 -
20899 5.00 - 5.00
2089999 5.00 - 5.00
210 9557.59 1307.28 8250.31
21011 24.87 24.87 -
2101101 24.87 24.87 -
21012 7370.31 - 7370.31
2101201 202.31 - 202.31
2101202 7168.00 - 7168.00
21013 821.00 - 821.00
2101301 821.00 - 821.00
21015 1341.41 1282.41 59.00
2101501 1282.41 1282.41 -
2101502 30.00 - 30.00
2101505 29.00 - 29.00
221 65.67 65.67 -
22102 65.67 65.67 -
2210201 65.67 65.67 -
"""}


@pytest.mark.parametrize("name", [S000, S001], ids=["000-flowing", "001-narrow"])
def test_expenditure_table_every_line_every_column(parsed, name):
    """code 合计 基本支出 项目支出 for each row of 部门预算支出总表 ('-' = blank cell)."""
    got = by_code(parsed[name], TableKind.EXPENDITURE)
    expected = [row.split() for row in EXPENDITURE[name].strip().splitlines()]
    assert list(got) == [row[0] for row in expected]
    for code, amount, basic, project in expected:
        line = got[code]
        assert (line.amount, line.basic_amount, line.project_amount) == (D(amount), D(basic), D(project)), code


def test_general_expenditure_table_matches_expenditure_table(parsed):
    # Both departments are funded by the general budget only: the two tables print the same rows.
    for name in (S000, S001):
        general = by_code(parsed[name], TableKind.GENERAL_EXPENDITURE)
        total = by_code(parsed[name], TableKind.EXPENDITURE)
        assert {c: (b.amount, b.basic_amount, b.project_amount) for c, b in general.items()} == \
            {c: (b.amount, b.basic_amount, b.project_amount) for c, b in total.items()}


def test_revenue_carryover_column(parsed):
    rev = by_code(parsed[S001], TableKind.REVENUE)
    assert (rev["2101301"].amount, rev["2101301"].carryover_amount) == (Decimal("821.00"), Decimal("121.00"))
    assert {c for c, b in rev.items() if b.carryover_amount} == {"210", "21013", "2101301"}
    assert all(b.carryover_amount is None for b in lines_of(parsed[S000], TableKind.REVENUE))
    assert by_code(parsed[S000], TableKind.REVENUE)["2101202"].amount == Decimal("4175.00")


@pytest.mark.parametrize("name", [S000, S001])
def test_basic_economic_personnel_and_public(parsed, name):
    # 工资福利 (301) and 对个人和家庭的补助 (303) are 人员经费; 商品和服务支出 (302) is 公用经费.
    for line in lines_of(parsed[name], TableKind.BASIC_ECONOMIC):
        assert line.kind == ClassificationKind.ECONOMIC
        if line.code.startswith(("301", "303")):
            assert (line.personnel_amount, line.public_amount) == (line.amount, None), line.code
        else:
            assert (line.personnel_amount, line.public_amount) == (None, line.amount), line.code


def test_expenditure_2101202_reads_project_column(parsed):
    line = by_code(parsed[S000], TableKind.EXPENDITURE)["2101202"]
    assert (line.amount, line.basic_amount, line.project_amount) == (Decimal("4175.00"), None, Decimal("4175.00"))
    assert line.inferred_columns  # "4175.00 4175.00": the second number's column came from the sums


def test_rows_printing_every_column_are_not_marked_inferred(parsed):
    lines = by_code(parsed[S000], TableKind.EXPENDITURE)
    assert not lines["208"].inferred_columns and not lines["2101501"].inferred_columns
    assert lines["20805"].inferred_columns and lines["2089999"].inferred_columns


_FIELDS = ("amount", "basic_amount", "project_amount", "carryover_amount", "personnel_amount", "public_amount")


@pytest.mark.parametrize("name", [S000, S001])
@pytest.mark.parametrize("kind", [TableKind.REVENUE, TableKind.EXPENDITURE, TableKind.GENERAL_EXPENDITURE,
                                  TableKind.BASIC_ECONOMIC])
def test_coded_tables_add_up_column_by_column(parsed, name, kind):
    """Children sum to their parent in every column, and 合计 = the parts, as the tables print them."""
    lines = by_code(parsed[name], kind)
    parent_of = economic_parent if kind == TableKind.BASIC_ECONOMIC else function_parent
    sums: dict[str, dict[str, Decimal]] = {}
    for code, line in lines.items():
        parent = parent_of(code)
        if parent in lines:
            for f in _FIELDS:
                sums.setdefault(parent, {}).setdefault(f, Decimal(0))
                sums[parent][f] += getattr(line, f) or 0
    for parent, cols in sums.items():
        for f, total in cols.items():
            assert total == (getattr(lines[parent], f) or 0), (parent, f)
    for line in lines.values():
        parts = (line.basic_amount or 0) + (line.project_amount or 0) + (line.personnel_amount or 0) \
            + (line.public_amount or 0)
        if kind != TableKind.REVENUE:
            assert parts == line.amount, line.code


_SMALL_TABLE = """部门预算支出总表
460 测试局 预算年度：2023 单位：万元
序号
合计 基本支出 项目支出
栏次 1 2 3 4 5
1 合计 10.00 10.00
2 208 社会保障和就业支出 10.00 10.00
3 20805 行政事业单位养老支出 10.00 - 10.00
4 2080505 机关事业单位基本养老保险缴费支出 10.00 10.00
第二部分 说明"""


def test_ambiguous_split_is_left_empty_not_guessed():
    """With 合计 10.00 and one more 10.00 everywhere, 基本 and 项目 cannot be told apart."""
    d = parse_text(_SMALL_TABLE)
    assert [(b.code, b.amount, b.basic_amount, b.project_amount) for b in d.budget_lines] == [
        ("208", Decimal("10.00"), None, None), ("20805", Decimal("10.00"), None, None),
        ("2080505", Decimal("10.00"), None, None)]
    assert d.budget_lines[1].name == "行政事业单位养老支出"  # the dash is a blank cell, not a name
    assert [f.subject for f in d.findings if f.check == "ambiguous-columns"] == ["208", "20805", "2080505"]
    assert all(f.severity == Severity.INFO for f in d.findings)


def test_the_split_follows_once_the_total_row_is_unambiguous():
    d = parse_text(_SMALL_TABLE.replace("1 合计 10.00 10.00", "1 合计 12.00 10.00 2.00").replace(
        "第二部分", "5 210 卫生健康支出 2.00 2.00\n6 21015 医疗保障管理事务 2.00 2.00\n"
                  "7 2101599 其他医疗保障管理事务支出 2.00 2.00\n第二部分"))
    got = {b.code: (b.basic_amount, b.project_amount, b.inferred_columns) for b in d.budget_lines}
    assert got["2080505"] == (Decimal("10.00"), None, True)
    assert got["2101599"] == (None, Decimal("2.00"), True)


def test_tables_printed_in_yuan_are_converted_to_wan():
    text = (SAMPLES / S000).read_text(encoding="utf-8").replace("单位：万元", "单位：元")
    d = parse_text(text)
    assert by_code(d, TableKind.EXPENDITURE)["2101202"].project_amount == Decimal("0.4175")
    assert figure(d, Measure.TOTAL_REVENUE, TableKind.SUMMARY) == Decimal("0.789540")


def test_names_broken_across_lines_and_pages_are_joined(parsed):
    rev = by_code(parsed[S001], TableKind.REVENUE)
    assert rev["2080505"].name == "机关事业单位基本养老保险缴费支出"
    assert rev["2101101"].name == "行政单位医疗"  # "医疗" printed after the page header
    assert rev["2089999"].name == "其他社会保障和就业支出"
    eco = by_code(parsed[S001], TableKind.BASIC_ECONOMIC)
    assert eco["302"].name == "商品和服务支出" and eco["30213"].name == "维修(护)费"
    assert by_code(parsed[S001], TableKind.EXPENDITURE)["2101202"].name == "财政对城乡居民基本医疗保险基金的补助"


def test_broken_codes_and_numbers_are_repaired(parsed):
    rev = by_code(parsed[S001], TableKind.REVENUE)
    assert rev["2080501"].amount == Decimal("14.22")  # "14.2" / "2"
    assert rev["21011"].amount == Decimal("24.87")  # code "2101" / "1", amount "24.8" / "7"
    assert rev["210"].amount == Decimal("9557.59")  # "9557" / ".59"


def test_coded_line_spans_cover_broken_rows(parsed):
    line = by_code(parsed[S001], TableKind.REVENUE)["2080501"]
    assert (line.span.line_start, line.span.line_end) == (313, 336)
    line = by_code(parsed[S000], TableKind.EXPENDITURE)["2101202"]
    assert (line.span.line_start, line.span.line_end) == (249, 249)


def test_no_unresolved_columns_on_the_seeds(parsed):
    for d in parsed.values():
        assert [f.message for f in d.findings] == []


# ------------------------------------------------------------------ figures


FIGURES = {
    S000: {
        (Measure.CURRENT_YEAR_REVENUE, TableKind.SUMMARY): "7895.40",
        (Measure.CURRENT_YEAR_EXPENDITURE, TableKind.SUMMARY): "7895.40",
        (Measure.TOTAL_REVENUE, TableKind.SUMMARY): "7895.40",
        (Measure.TOTAL_EXPENDITURE, TableKind.SUMMARY): "7895.40",
        (Measure.GENERAL_BUDGET_REVENUE, TableKind.SUMMARY): "7895.40",
        (Measure.CURRENT_YEAR_REVENUE, TableKind.FISCAL_SUMMARY): "7895.40",
        (Measure.CURRENT_YEAR_EXPENDITURE, TableKind.FISCAL_SUMMARY): "7895.40",
        (Measure.TOTAL_REVENUE, TableKind.FISCAL_SUMMARY): "7895.40",
        (Measure.TOTAL_EXPENDITURE, TableKind.FISCAL_SUMMARY): "7895.40",
        (Measure.GENERAL_BUDGET_REVENUE, TableKind.FISCAL_SUMMARY): "7895.40",
        (Measure.TOTAL_REVENUE, TableKind.REVENUE): "7895.40",
        (Measure.CURRENT_YEAR_REVENUE, TableKind.REVENUE): "7895.40",
        (Measure.BASIC_EXPENDITURE, TableKind.GENERAL_EXPENDITURE): "601.40",
        (Measure.PROJECT_EXPENDITURE, TableKind.GENERAL_EXPENDITURE): "7294.00",
        (Measure.BASIC_EXPENDITURE, TableKind.EXPENDITURE): "601.40",
        (Measure.PROJECT_EXPENDITURE, TableKind.EXPENDITURE): "7294.00",
        (Measure.PERSONNEL, TableKind.BASIC_ECONOMIC): "582.50",
        (Measure.PUBLIC, TableKind.BASIC_ECONOMIC): "18.90",
        (Measure.THREE_PUBLIC, TableKind.THREE_PUBLIC): "3.80",
        (Measure.FIXED_ASSETS, TableKind.ASSETS): "27.89",
    },
    S001: {
        (Measure.CURRENT_YEAR_REVENUE, TableKind.SUMMARY): "9615.74",
        (Measure.CURRENT_YEAR_EXPENDITURE, TableKind.SUMMARY): "9736.74",
        (Measure.CARRYOVER, TableKind.SUMMARY): "121.00",
        (Measure.TOTAL_REVENUE, TableKind.SUMMARY): "9736.74",
        (Measure.TOTAL_EXPENDITURE, TableKind.SUMMARY): "9736.74",
        (Measure.GENERAL_BUDGET_REVENUE, TableKind.SUMMARY): "9615.74",
        (Measure.CURRENT_YEAR_REVENUE, TableKind.FISCAL_SUMMARY): "9615.74",
        (Measure.CURRENT_YEAR_EXPENDITURE, TableKind.FISCAL_SUMMARY): "9736.74",
        (Measure.CARRYOVER, TableKind.FISCAL_SUMMARY): "121.00",
        (Measure.TOTAL_REVENUE, TableKind.FISCAL_SUMMARY): "9736.74",
        (Measure.TOTAL_EXPENDITURE, TableKind.FISCAL_SUMMARY): "9736.74",
        (Measure.GENERAL_BUDGET_REVENUE, TableKind.FISCAL_SUMMARY): "9615.74",
        (Measure.TOTAL_REVENUE, TableKind.REVENUE): "9736.74",
        (Measure.CARRYOVER, TableKind.REVENUE): "121.00",
        (Measure.CURRENT_YEAR_REVENUE, TableKind.REVENUE): "9615.74",
        (Measure.BASIC_EXPENDITURE, TableKind.GENERAL_EXPENDITURE): "1481.43",
        (Measure.PROJECT_EXPENDITURE, TableKind.GENERAL_EXPENDITURE): "8255.31",
        (Measure.BASIC_EXPENDITURE, TableKind.EXPENDITURE): "1481.43",
        (Measure.PROJECT_EXPENDITURE, TableKind.EXPENDITURE): "8255.31",
        (Measure.PERSONNEL, TableKind.BASIC_ECONOMIC): "1347.82",
        (Measure.PUBLIC, TableKind.BASIC_ECONOMIC): "133.61",
        (Measure.THREE_PUBLIC, TableKind.THREE_PUBLIC): "9.82",
        (Measure.FIXED_ASSETS, TableKind.ASSETS): "427.69",
    },
    S002: {(Measure.FIXED_ASSETS, TableKind.ASSETS): "81.62"},
}


@pytest.mark.parametrize("name", [S000, S001, S002], ids=["000", "001", "002"])
def test_table_figures(parsed, name):
    d = parsed[name]
    got = {(f.measure, TableKind(f.table)): f.value for f in d.figures}
    assert got == {k: Decimal(v) for k, v in FIGURES[name].items()}
    assert all(f.source == FigureSource.TABLE and f.span is not None for f in d.figures)


def test_figure_spans_point_at_the_printed_row(parsed):
    d = parsed[S001]
    carry = next(f for f in d.figures if f.measure == Measure.CARRYOVER and f.table == "fiscal-summary")
    assert (carry.span.line_start, carry.span.line_end) == (1720, 1726)  # "年初财政" / … / "121.00"
    total = next(f for f in d.figures if f.measure == Measure.TOTAL_REVENUE and f.table == "revenue")
    assert (total.span.line_start, total.span.line_end) == (245, 260)  # "1 合计" / "9736" / ".74" …


# ------------------------------------------------------------------ performance tables


INDICATORS = {S000: """
## 医保鉴定评审费
产出指标|数量指标|慢特病审核人次|2400人次
产出指标|质量指标|资金发放率|≥98%
产出指标|时效指标|项目完成时间|2023年12月
效益指标|可持续影响指标|对健全医疗保障制度体系的作用|成效明显
效益指标|社会效益指标|提高医保基金使用效率|逐步提高
效益指标|经济效益指标|减轻慢病人员经济负担|逐步减轻
满意度指标|服务对象满意度指标|群众满意度|≥98%
## 医保专项业务费
产出指标|数量指标|居民医保参保人数|32.5万人
产出指标|数量指标|参加检查的人次|1700人次
产出指标|质量指标|日常检查覆盖率|100%
产出指标|时效指标|项目完成时间|2023年12月
效益指标|可持续影响指标|为办理医保业务提供高效便捷的服务，对健全医疗保障制度体系的作用|成效明显
效益指标|社会效益指标|提高参保群众政策知晓率和居民医疗待遇保障水平|逐步提高
效益指标|经济效益指标|减轻城乡居民经济负担，降低医保基金风险|逐步减轻和降低
满意度指标|服务对象满意度指标|群众满意度|≥98%
## 长期照护险
产出指标|数量指标|长护险参保人数|34.93万人
产出指标|数量指标|享受长护险待遇人数|3000人
产出指标|质量指标|资金发放率|≥98%
产出指标|时效指标|项目完成时间|2023年12月
效益指标|可持续影响指标|对健全医疗保障制度体系的作用|成效明显
效益指标|社会效益指标|提高居民幸福指数|逐步提高
效益指标|经济效益指标|减轻城乡居民负担|逐步减轻
满意度指标|服务对象满意度指标|群众满意度|≥98%
## 城乡居民医疗保险
产出指标|数量指标|城乡居民医疗保险参保人数|32.5万人
产出指标|质量指标|资金发放率|≥98%
产出指标|时效指标|项目完成时间|2023年12月
效益指标|可持续影响指标|对健全医疗保障制度体系的作用|成效明显
效益指标|社会效益指标|提高居民幸福度|逐步提高
效益指标|经济效益指标|减轻城乡居民看病经济负担|逐步减轻
满意度指标|服务对象满意度指标|群众满意度|≥98%
## 改制企业人员大病保险
产出指标|数量指标|改制企业大病保险人数|2155人
产出指标|质量指标|资金发放率|≥98%
产出指标|时效指标|项目完成时间|2023年12月
效益指标|可持续影响指标|保障改制企业人员享受大病保险|惠及所有改制企业人员
效益指标|社会效益指标|实现“病有所医”，提高幸福度|逐步提高
效益指标|经济效益指标|减轻改制企业人员经济负担|逐步减轻
满意度指标|服务对象满意度指标|群众满意度|≥98%
## 公费医疗
产出指标|数量指标|享受公费医疗待遇的人次|≥600人次
产出指标|质量指标|资金发放率|100%
产出指标|时效指标|项目完成时间|2023年12月
效益指标|可持续影响指标|对健全医疗保障制度体系的作用|成效明显
效益指标|社会效益指标|提升享受公费医疗待遇人员幸福感|逐步提高
效益指标|经济效益指标|减轻享受公费医疗待遇人员经济负担|逐步减轻
满意度指标|服务对象满意度指标|群众满意度|≥98%
## 省级财政城乡居民医保村级代办员补助资金
产出指标|数量指标|村级代办员人数|293人
产出指标|质量指标|发放到位率|100%
产出指标|时效指标|项目完成时间|2023年12月
效益指标|经济效益指标|减轻城乡居民负担|逐步减轻
效益指标|社会效益指标|提高居民幸福指数|逐步提高
效益指标|可持续影响指标|对健全医疗保障制度体系的作用|成效明显
满意度指标|服务对象满意度指标|群众满意度|≥98%
## 医疗救助
产出指标|数量指标|资助参保人数|14440人
产出指标|数量指标|享受待遇人次（普通医疗救助、脱贫人口救助）|7500人次
产出指标|质量指标|资金发放率|≥98%
产出指标|时效指标|项目完成时间|2023年12月
效益指标|可持续影响指标|对健全医疗保障制度体系的作用|成效明显
效益指标|社会效益指标|提升享受待遇人员幸福度|逐步提高
效益指标|经济效益指标|减轻享受待遇人员经济负担|逐步减轻
满意度指标|服务对象满意度指标|群众满意度|≥98%
## 中央-医疗服务与保障能力提升补助资金
产出指标|数量指标|医保政策宣传|≥2次
产出指标|数量指标|召开医保工作会议或培训|≥5次
产出指标|质量指标|定点医药机构监督检查覆盖率|100%
产出指标|质量指标|医保人才培训合格率|90%
产出指标|时效指标|项目完成时间|2023年12月
效益指标|社会效益指标|医保重要政策知晓率|≥90%
满意度指标|服务对象满意度指标|参保人员对医保服务的满意度|≥98%
""", S001: """
## 档案整理及法律服务费
产出指标|数量指标|档案归档率|100百分比
产出指标|质量指标|档案归档质量|档案归档保质保量
产出指标|质量指标|法律纠纷的处理率|100百分比
产出指标|时效指标|完成时间|≤11月
产出指标|成本指标|成本控制|≤18万
效益指标|可持续影响指标|档案整理归集后保存更安全长久、持续时间更长|尽可能长时间的安全保存档案
满意度指标|服务对象满意度指标|对服务对象进行调查问卷|≥90百分比
## 基金监管法律宣传活动经费
产出指标|数量指标|基金监管宣传月活动时间|≥1个月
产出指标|质量指标|定点医药机构培训率|100百分比
产出指标|时效指标|基金监管宣传完成时点|≤10月份
产出指标|成本指标|基金监管宣传成本控制|≤8万元
效益指标|社会效益指标|政策知晓率|100百分比
效益指标|社会效益指标|社会环境优化情况|明显优化
满意度指标|服务对象满意度指标|普法宣传对象满意度(%)|≥95百分比
## 办公场所改造项目工程资金
产出指标|数量指标|工程量完成率（%）|100百分比
产出指标|质量指标|工程验收合格率（%）|100百分比
产出指标|质量指标|合格率（%）|100百分比
产出指标|时效指标|工程按期完成率（%）|100百分比
产出指标|成本指标|工程单位建设成本|≤22万元
效益指标|社会效益指标|隐患消除情况|≥3项
满意度指标|服务对象满意度指标|服务对象满意度|≥95百分比
## 城乡居民医疗保险县级补助资金
产出指标|数量指标|参保补贴率|100百分比
产出指标|质量指标|办理结算的及时率|100百分比
产出指标|时效指标|资金拨付及时率|100百分比
产出指标|成本指标|补助金额总量|≤7168万元
效益指标|社会效益指标|县域内政策范围内个人就医费用负担比例|≤30百分比
效益指标|社会效益指标|个人就医费用负担减轻|效果明显
效益指标|社会效益指标|居民医保政策知晓率|≥90百分比
满意度指标|服务对象满意度指标|参加城乡居民医疗保险满意度|≥95百分比
## 关于提前下达 2023 年省级财政城乡社会保险代办员补助资金的通知（冀财社[2022]172 号）
产出指标|数量指标|补助行政村数|15个
产出指标|质量指标|提升服务效能|≥80百分比
产出指标|成本指标|财政资金到位金额|5万元
产出指标|时效指标|财政资金到位时间|及时
效益指标|社会效益指标|提供优质服务|保持经办服务顺利开展
满意度指标|服务对象满意度指标|服务对象满意度指标|≥90百分比
## 关于提前下达 2023 年中央财政医疗服务与保障能力提升补助资金预算的通知（冀财社[2022]218 号）
产出指标|数量指标|召开医保工作市级新闻发布会、政策吹风会次数|≥2次
产出指标|数量指标|召开医保工作政府信息公开市级工作会议或培训次数|≥2次
产出指标|质量指标|医保信息系统验收合格率|≥90百分比
产出指标|质量指标|医保信息系统正常运行率|≥90百分比
产出指标|质量指标|医保信息系统重大安全事件影响时间|≤60分钟
产出指标|质量指标|定点医药机构监督检查覆盖率|100百分比
产出指标|质量指标|门诊慢特并相关治疗费用跨省直接结算统筹地区覆盖率|100百分比
产出指标|时效指标|电子医疗凭证运行时间|≤12月
产出指标|成本指标|该项目运行成本控制|≤11万元
效益指标|社会效益指标|跨省异地就医直接结算率|≥90百分比
效益指标|社会效益指标|参保群众政策知晓率|≥90百分比
满意度指标|服务对象满意度指标|参保人员对医保服务的满意度|≥95百分比
## 关于下达 2022 年省级财政困难群众基本生活补助资金的通知(冀财社[2022]178 号)
产出指标|数量指标|门诊救助人次|≥4339人
产出指标|质量指标|门诊医疗费用救助比例|≥50百分比
产出指标|质量指标|住院医疗费用救助比例|≥80百分比
产出指标|时效指标|“一站式”即时结算覆盖地区|全覆盖
产出指标|数量指标|住院救助人次|≥771人
产出指标|数量指标|资助参保人次|≥2694人
效益指标|社会效益指标|医疗救助对象覆盖范围|应覆盖全覆盖
效益指标|社会效益指标|困难群众看病就医方便程度|比较方便
效益指标|社会效益指标|困难群众医疗费用负担减轻程度|明显减轻
效益指标|可持续影响指标|对健全社会救助体系的影响|效果明显
效益指标|可持续影响指标|对健全医疗保障制度体系的作用|效果明显
满意度指标|服务对象满意度指标|政策知晓率|≥95百分比
满意度指标|服务对象满意度指标|工作满意度|≥95百分比
## 新冠疫苗及接种费用县级财政补助资金
产出指标|数量指标|接种人次数|≥808552人
产出指标|质量指标|接种率|≥90百分比
产出指标|时效指标|支付及时性|≤3月份
产出指标|成本指标|总成本|≤202.31万元
效益指标|社会效益指标|实现全民免费接种新冠疫苗|有所提升
满意度指标|服务对象满意度指标|群众对提供各种政务等服务的满意程度|≥95百分比
## 医疗救助补助资金
产出指标|数量指标|医疗救助申报覆盖率|100百分比
产出指标|质量指标|参保资助率（%）|100百分比
产出指标|时效指标|资金拨付及时率|≥97百分比
产出指标|成本指标|补助金额总量|≤700万
效益指标|社会效益指标|困难群众参保保证率|100百分比
满意度指标|服务对象满意度指标|接受救济对象的满意度（%）|≥95百分比
""", S002: """
## 建档立卡贫困帮扶专项经费
产出指标|数量指标|发放建档立卡贫困户|=6户
产出指标|质量指标|发放金额达标率|≥90%
产出指标|时效指标|发放及时到位|=12月
产出指标|成本指标|1.2 万|1.2万
效果指标|经济效益指标|减轻贫困户经济负担的效果|显著
效果指标|社会效益指标|维护社会稳定|显著
满意度指标|服务对象满意度指标|发放人员满意度|≥95%
## 医保缴费奖励资金
产出指标|数量指标|奖励数量|=3个
产出指标|质量指标|资金发放率|=100%
产出指标|时效指标|奖励时间|——
产出指标|成本指标|奖励金额|5万元
效果指标|社会效益指标|2021年参保率|≥90%
效果指标|可持续影响指标|城乡医保参保率|提高
满意度指标|服务对象满意度指标|受益人口满意度|≥90%
## 城乡居民医疗保险日常经费
产出指标|数量指标|日常工作涉及的各项内容数量|=20万次
产出指标|质量指标|工作完成率|=100%
产出指标|时效指标|工作完成时间|=12月
产出指标|成本指标|日常开展工作所需经费|=3万
效果指标|社会效益指标|提高政策知晓率|≥90%
效果指标|可持续影响指标|提高医疗保险覆盖率|≥95%
满意度指标|服务对象满意度指标|受益人口满意度|≥90%
## 大病医疗救助资金
产出指标|数量指标|医疗救助人员数|≥2000人
产出指标|质量指标|医疗救助率|=100%
产出指标|时效指标|医疗救助资金到位率|2021.12月
产出指标|成本指标|低保、特困、支出困难人员 医疗救助资金|≤10000/人次
效果指标|社会效益指标|助力脱贫，防贫|≥98%
效果指标|可持续影响指标|构建小康社会，实现脱贫攻坚|=改善
满意度指标|服务对象满意度指标|救助人员满意率|≥95%
## 城乡居民医保缴费（免缴）项目
产出指标|数量指标|免缴人员参加医疗保险率|=100%
产出指标|质量指标|县级财政资助率|=100%
产出指标|时效指标|资助完成时间|=12个月
产出指标|成本指标|县财政对困难人员个人缴费补助标准|=280元
效果指标|社会效益指标|政策知晓率|≥90%
效果指标|可持续影响指标|缓解困难群体参保压力|=100%
满意度指标|服务对象满意度指标|受益人口满意度|≥90%
## 基金监管专项资金
产出指标|数量指标|对定点医药机构监督检查|≤720次
产出指标|质量指标|通过学习经验和提升监管手段，提高监管水平|=100%
产出指标|时效指标|支出时效|=12月
产出指标|成本指标|人均财政投入水平|≤50万次
产出指标|可持续影响|规范医药机构医疗服务行为|=100%
满意度指标|服务对象满意度指标|群众患者满意度|≥98%
## 城乡居民医疗保险缴费（普通）
产出指标|数量指标|参保缴费人数|≤40万人
产出指标|质量指标|县级财政补助率|=100%
产出指标|时效指标|补助完成时间|=12个月
产出指标|成本指标|人均财政投入水平|=116元
效果指标|社会效益指标|政策知晓率|≥90%
效果指标|可持续影响指标|提高医疗保险覆盖率|≥95%
满意度指标|服务对象满意度指标|受益人员满意度|≥90%
## 提前下达 2021 年医疗救助资金（疾病应急救助补助资金）-上级
产出指标|数量指标|医疗救助人员数|≥2000人
产出指标|质量指标|医疗救助率|=100%
产出指标|时效指标|医疗救助资金到位率|2021.12月
产出指标|成本指标|低保、特困、支出困难人员 医疗救助资金|≤10000/人次
效果指标|社会效益指标|助力脱贫，防贫|≥98%
效果指标|可持续影响指标|构建小康社会，实现脱贫攻坚|=改善
满意度指标|服务对象满意度指标|救助人员满意率|≥95%
## 劳务派遣人员工资及保险
产出指标|数量指标|工资发放人数|=10人
产出指标|质量指标|考核达标率|≥90%
产出指标|时效指标|工资发放及时率、保险缴纳及时率。|=12月
产出指标|成本指标|37.9 万|=37.9万元
效果指标|社会效益指标|维稳效益|≥90%
效果指标|可持续影响指标|工作效益|≥90%
满意度指标|服务对象满意度指标|群众满意度|≥90%
## 城乡医疗救助-中央上级
产出指标|数量指标|医疗救助人员数|≥2000人
产出指标|质量指标|医疗救助率|=100%
产出指标|时效指标|医疗救助资金到位率|2021.12月
产出指标|成本指标|低保、特困、支出困难人员 医疗救助资金|≤10000/人次
效果指标|社会效益指标|助力脱贫，防贫|≥98%
效果指标|可持续影响指标|构建小康社会，实现脱贫攻坚|=改善
满意度指标|服务对象满意度指标|救助人员满意率|≥95%
## 门诊特殊疾病鉴定项目
产出指标|数量指标|聘请专家|=5人
产出指标|质量指标|评审人员|≥3500人
产出指标|时效指标|评审工作完成|=12月
产出指标|成本指标|专家评审费|=0.6万元
效果指标|社会效益指标|提高报销率减轻个人负担|≥70%
满意度指标|服务对象满意度指标|评审结果|≥90%
## 城乡医疗救助-上级
产出指标|数量指标|医疗救助人员数|≥2000人
产出指标|质量指标|医疗救助率|=100%
产出指标|时效指标|医疗救助资金到位率|2021.12月
产出指标|成本指标|低保、特困、支出困难人员 医疗救助资金|≤10000/人次
效果指标|社会效益指标|助力脱贫，防贫|≥98%
效果指标|可持续影响指标|构建小康社会，实现脱贫攻坚|=改善
满意度指标|服务对象满意度指标|救助人员满意率|≥95%
## 档案整理经费项目
产出指标|数量指标|整理档案数量|≥3万人次
产出指标|质量指标|整理档案情况|≥99%
产出指标|时效指标|档案整理的及时性|=12月
产出指标|成本指标|档案整理经费|=2万元
效果指标|社会效益指标|档案有序存放|≥95%
效果指标|可持续影响指标|医疗保险档案管理工作稳步进行|—
满意度指标|服务对象满意度指标|受益人口满意度|≥90%
## 城乡居民医保村级代办员补助资金
产出指标|数量指标|全年参保人数|≥370000人
产出指标|质量指标|各乡镇完成参保率|≥90%
产出指标|时效指标|奖励时间|
产出指标|成本指标|奖励资金|5万
效果指标|社会效益指标|2021年参保率|≥90%
效果指标|可持续影响指标|城乡医保参保率|提高
满意度指标|服务对象满意度指标|受益人口满意度|≥90%
## department
部门产出|数量|城乡居民医疗参保人数|≥40万
部门产出|数量|宣传医疗保险政策|≥20000次
部门产出|数量|监督管理定点医疗机构，医务室，零售药店（家）|≤71家
部门产出|数量|全年门特申报人数|≥4000人
部门产出|数量|医疗救助率|≥90人次
部门产出|质量|城乡居民医疗保险参保覆盖率|≥95百分数
部门产出|质量|医疗救助人员救助率|≥95百分数
部门产出|时效|居民医疗县级财政补助到位率|2021年
部门产出|时效|医疗待遇按月发放及时率|≥98百分数
部门产出|成本|城乡居民基本医疗保险县级财政补助标准|116元
部门产出|成本|免缴人员医疗保险财政代缴部分|280元
部门产出|社会效益|实现有病所医，减轻患者医疗负担。|有效减轻
部门产出|满意度|患者对本单位各项工作的满意度|≥95百分数
"""}


def _expected(name: str) -> dict[str, list[tuple[str, ...]]]:
    out: dict[str, list[tuple[str, ...]]] = {}
    for block in INDICATORS[name].strip().split("## ")[1:]:
        title, *rows = block.strip().splitlines()
        out[title] = [tuple(row.split("|")) for row in rows]
    return out


@pytest.mark.parametrize("name", [S000, S001, S002], ids=["000", "001", "002"])
def test_every_indicator_levels_name_and_value(parsed, name):
    """(一级, 二级, 三级, 指标值) of every row of every 绩效目标表, as printed in the seed."""
    d = parsed[name]
    expected = _expected(name)
    department = expected.pop("department", [])
    assert [p.name for p in d.projects] == list(expected)
    for project in d.projects:
        got = [(i.level1, i.level2, i.name, i.target_value) for i in project.indicators]
        assert got == expected[project.name], project.name
    assert [(i.level1, i.level2, i.name, i.target_value) for i in d.department_indicators] == department


@pytest.mark.parametrize("name, counts", [
    (S000, [7, 8, 8, 7, 7, 7, 7, 8, 7]),
    (S001, [7, 7, 7, 8, 6, 12, 13, 6, 6]),
    (S002, [7, 7, 7, 7, 7, 6, 7, 7, 7, 7, 6, 7, 7, 7]),
], ids=["000", "001", "002"])
def test_project_and_indicator_counts(parsed, name, counts):
    projects = parsed[name].projects
    assert [len(p.indicators) for p in projects] == counts
    assert all(p.sources == ["performance-table"] and p.span for p in projects)


def test_department_wide_table_of_002(parsed):
    found = parsed[S002].department_indicators
    assert len(found) == 13
    first = found[0]
    assert (first.level1, first.level2, first.name, first.target_value) == ("部门产出", "数量", "城乡居民医疗参保人数", "≥40万")
    assert (first.comparator, first.number, first.unit) == ("≥", Decimal("40"), "万")
    second = found[1]  # "≧" / "2000" / "0" / "次" printed one fragment per line
    assert (second.target_value, second.number, second.unit) == ("≥20000次", Decimal("20000"), "次")
    assert found[4].name == "医疗救助率" and found[4].description == "贫困人员住院人数"
    assert found[9].basis == "《廊坊市城乡居民基本医疗保险实施细则》"


def test_project_names_goals_and_document_numbers(parsed):
    projects = parsed[S001].projects
    fifth = projects[4]
    assert fifth.name == "关于提前下达 2023 年省级财政城乡社会保险代办员补助资金的通知（冀财社[2022]172 号）"
    assert [r.number for r in fifth.legal_refs] == ["冀财社〔2022〕172号"]
    assert projects[5].name.endswith("（冀财社[2022]218 号）")  # title wrapped: "…绩效目" / "标表"
    assert projects[0].goal.startswith("1.由于医保参保问题尤其是外伤问题经常有纠纷发生")
    assert parsed[S000].projects[2].goal == "长期照护险及时足额发放到位。"
    assert parsed[S002].projects[4].name == "城乡居民医保缴费（免缴）项目"  # "5、.城乡…"
    assert {"冀财社〔2022〕172号", "冀财社〔2022〕218号", "冀财社〔2022〕178号"} <= \
        {r.number for r in parsed[S001].legal_refs}


def test_indicator_cells_of_a_narrow_row(parsed):
    first = parsed[S001].projects[0].indicators[0]
    assert first.name == "档案归档率" and first.description == "对所有参保居民住院档案进行归档"
    assert (first.target_value, first.comparator, first.number, first.unit) == ("100百分比", None, Decimal("100"), "%")
    assert first.basis == "计划标准"
    assert (first.span.line_start, first.span.line_end) == (2447, 2451)


def test_indicator_basis_document_numbers(parsed):
    row = parsed[S001].projects[5].indicators[0]
    assert row.basis == "冀财社[2022]218 号" and [r.number for r in row.legal_refs] == ["冀财社〔2022〕218号"]
    row = parsed[S002].projects[10].indicators[0]
    assert [r.number for r in row.legal_refs] == ["廊人社发〔2015〕226号", "廊人社规〔2017〕1号"]


def test_level1_printed_once_is_carried_down(parsed):
    rows = parsed[S000].projects[0].indicators
    assert [i.level1 for i in rows[:3]] == ["产出指标"] * 3
    assert [i.level1 for i in rows[3:6]] == ["效益指标"] * 3


def test_level2_printed_once_is_carried_down():
    text = "\n".join([
        "1、测试项目绩效目标表", "绩效目标 测试。", "一级指标 二级指标 三级指标 绩效指标描述 指标值 指标值确定依据",
        "产出指标", "数量指标 参保人数 参保人数 32.5 万人 县级年初预算项目",
        "检查人次 检查人次 1700 人次 县级年初预算项目",
        "质量指标 资金发放率 资金发放率 ≥98% 县级年初预算项目",
        "满意度指标 服务对象满意度指标 群众满意度 群众满意度 ≥98% 县级年初预算项目", "六、其他"])
    rows = parse_text(text).projects[0].indicators
    assert [(i.level2, i.name, i.target_value) for i in rows] == [
        ("数量指标", "参保人数", "32.5万人"), ("数量指标", "检查人次", "1700人次"),
        ("质量指标", "资金发放率", "≥98%"), ("服务对象满意度指标", "群众满意度", "≥98%")]


def test_page_break_inside_a_performance_table(parsed):
    """001 project 6 continues after a reprinted column header on the next page."""
    sixth = parsed[S001].projects[5]
    names = [i.name for i in sixth.indicators]
    assert names.index("电子医疗凭证运行时间") + 1 == names.index("该项目运行成本控制")
    assert sixth.indicators[-1].name == "参保人员对医保服务的满意度"


def test_reprinted_header_inside_a_wrapped_row_changes_nothing(parsed, tmp_path):
    """A 001-style page break (header reprinted, page number) in the middle of 000's wrapped row."""
    lines = (SAMPLES / S000).read_text(encoding="utf-8").split("\n")
    at = lines.index("服务，对健全医疗保障制度体系") + 1  # inside the first copy of the 三级 cell
    lines[at:at] = ["17", " 一级指标 二级指标 三级指标 绩效指标描述 指标值 指标值确定依据", ""]
    path = tmp_path / "page_break.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    broken = PARSER.parse(text_source(path)).projects[1].indicators
    original = parsed[S000].projects[1].indicators
    assert [(i.level2, i.name, i.target_value) for i in broken] == \
        [(i.level2, i.name, i.target_value) for i in original]


# ------------------------------------------------------------------ truncation and robustness


@pytest.mark.parametrize("name, keep, table", [
    (S001, 700, "部门预算收入总表"),  # inside the narrow revenue table
    (S000, 240, "部门预算支出总表"),  # flowing expenditure table, after row 8
    (S001, 2600, "3、办公场所改造项目工程资金绩效目标表"),  # mid performance table
    (S002, 300, "（四）部门整体支出绩效指标"),
], ids=["001-revenue", "000-expenditure", "001-performance", "002-department"])
def test_copy_cut_mid_table_is_reported(tmp_path, name, keep, table):
    d = cut_copy(tmp_path, name, keep)
    assert d.truncated
    finding = next(f for f in d.findings if f.check == "truncated")
    assert finding.severity == Severity.WARNING and table in finding.message
    assert finding.spans and finding.spans[0].line_end <= keep


def test_copy_cut_after_a_complete_table_is_not_truncated(tmp_path):
    d = cut_copy(tmp_path, S000, 586)  # ends with the "三公" table's last row, before the prose
    assert not d.truncated


@pytest.mark.parametrize("text", ["", "\n\n\n", "hello world", "1 合计", "\x0c%PDF-1.4 ÿþ" * 40,
                                  "第一部分 说明\n本部门无其他需要说明的事项。"])
def test_garbage_gives_an_empty_disclosure(text):
    d = parse_text(text)
    assert not (d.budget_lines or d.figures or d.projects or d.department_indicators or d.findings)


@pytest.mark.parametrize("text", [
    "部门预算收入总表\n1 合计 .5 . 3\n2 2 2 2", "部门预算支出总表\n栏次 1 2\n1 合计 .5 . 3\n2 2 2 2 2 2 2 2",
    "1、x绩效目标表\n一级指标 二级指标 三级指标\n产出指标\n数量指标", "（四）部门整体支出绩效指标\n符号 单位\n≧",
    "部门固定资产占用情况表\n资产总额 —— ——", "1、x绩效目标表\n一级指标 二级指标\n数量指标  \n质量指标 《未闭合",
])
def test_table_fragments_do_not_crash(text):
    d = parse_text(text)
    assert all(f.check != "table-unreadable" for f in d.findings)
    assert not d.budget_lines or all(b.code and len(b.code) in (3, 5, 7) for b in d.budget_lines)


# ------------------------------------------------------------------ final accounts (决算) titles

_FINAL_ACCOUNTS_TITLES = [("部门预算收支总表", "部门收入支出决算总表"), ("部门预算收入总表", "部门收入决算表"),
                          ("部门预算支出总表", "部门支出决算表"), ("部门预算财政拨款收支总表", "部门财政拨款收入支出决算总表"),
                          ("部门预算一般公共预算财政拨款支出表", "一般公共预算财政拨款支出决算表"),
                          ("部门预算一般公共预算财政拨款基本支出表", "一般公共预算财政拨款基本支出决算表"),
                          ("部门预算信息公开情况说明", "部门决算信息公开情况说明"), ("第一部分 部门预算", "第一部分 部门决算")]


def test_final_accounts_table_titles_are_recognised(tmp_path):
    """A 决算 disclosure names the standard tables 收入决算表, 支出决算表 …: same tables, same lines.
    (Built from seed 000 with the 决算 titles; no real 决算 disclosure is among the seeds.)"""
    from ingest.model import DocumentKind
    from ingest.pipeline import parse_path

    text = (SAMPLES / S000).read_text(encoding="utf-8")
    for budget_title, final_title in _FINAL_ACCOUNTS_TITLES:
        assert budget_title in text
        text = text.replace(budget_title, final_title)
    path = tmp_path / "final_accounts.txt"
    path.write_text(text, encoding="utf-8")
    d = parse_path(path)
    assert d.kind == DocumentKind.FINAL_ACCOUNTS
    counts = {kind: sum(1 for line in d.budget_lines if line.table == kind) for kind in
              (TableKind.REVENUE, TableKind.EXPENDITURE, TableKind.GENERAL_EXPENDITURE, TableKind.BASIC_ECONOMIC)}
    assert counts == {TableKind.REVENUE: 21, TableKind.EXPENDITURE: 21, TableKind.GENERAL_EXPENDITURE: 21,
                      TableKind.BASIC_ECONOMIC: 24}
