"""The PDF reader (``ingest.formats.pdf``) on real PDFs rendered from the seeds.

The fixtures are the content of seed 000 (Hebei template: coded tables continued over pages with
caption and header repeated, a revenue table whose narrow columns wrap the figures the way seed
001 shows, nine 绩效目标表 with 一级指标 merged down and wrapped 三级指标 cells) and seed 003 (Shanxi
template). The reader must give one line per paragraph and one tab-separated line per table row,
with the page of every line; these tests check that text, and that the pages reach the facts.
"""
from __future__ import annotations

import re

import pdfplumber
import pytest

from formats_support import fixture, parsed, read, seed_of, seed_page_of, seed_pages, tsv_form, unheaded

HEBEI = "000_hebei_budget"
SHANXI = "003_shanxi_budget"


@pytest.fixture(scope="module")
def hebei():
    return read(HEBEI, ".pdf")


@pytest.fixture(scope="module")
def hebei_seed() -> str:
    return seed_of(HEBEI).read_text(encoding="utf-8")


def test_every_line_has_a_page_and_the_page_count_is_the_seeds(hebei, hebei_seed):
    assert hebei.format == "pdf"
    assert len(hebei.pages) == len(hebei.lines)
    assert hebei.pages == sorted(hebei.pages), "pages go backwards"
    assert hebei.page_count == max(seed_pages(hebei_seed)) == 40


@pytest.mark.parametrize("row", [
    # 一般公共预算财政拨款支出表: 序号, code, name, 合计, 基本支出 (empty), 项目支出
    "13\t2101202\t财政对城乡居民基本医疗保险基金的补助\t4175.00\t\t4175.00",
    # 部门预算支出总表: the same row with its three empty columns
    "13\t2101202\t财政对城乡居民基本医疗保险基金的补助\t4175.00\t\t4175.00\t\t\t",
    # 基本支出表, 人员经费 empty: the figure stays in the 公用经费 column
    "14\t30201\t办公费\t4.18\t\t4.18",
    # 收支总表: an expenditure row with the income side empty
    "10\t\t\t十、卫生健康支出\t7804.21",
    # 合计 printed across the code and name columns: text once, the covered cell empty
    "1\t合计\t\t601.40\t582.50\t18.90",
], ids=["general", "expenditure", "economic", "summary", "total-row"])
def test_table_rows_are_tab_separated_cells(hebei, row):
    assert row in hebei.lines


def test_figures_broken_by_narrow_columns_are_joined(hebei):
    """The revenue table's figure columns are too narrow: the PDF wraps 7895.40 inside its cell
    (checked on the raw table), and the reader puts every figure back together."""
    with pdfplumber.open(fixture(HEBEI, ".pdf")) as pdf:
        raw = pdf.pages[3].extract_tables()[0]  # page 4: 部门预算收入总表
    wrapped = [cell for row in raw for cell in row if cell and re.fullmatch(r"[\d.\n]+", cell) and "\n" in cell]
    assert wrapped, "the fixture no longer wraps figures; the test would prove nothing"
    assert "8\t210\t卫生健康支出\t7804.21\t7804.21\t7804.21" + "\t" * 7 in hebei.lines
    assert "13\t2101202\t财政对城乡居民基本医疗保险基金的补助\t4175.00\t4175.00\t4175.00" + "\t" * 7 in hebei.lines
    # header cells wrapped the same way ("财政专" / "户收入") come back whole
    assert any("\t财政专户收入\t" in line for line in hebei.lines)


def test_a_table_continued_over_pages_is_one_block_without_repeated_headers(hebei):
    """Caption and header rows printed again on each continuation page appear once per table."""
    lines = hebei.lines
    captions = [k for k, line in enumerate(lines) if line == "460 乐亭县医疗保障局 预算年度：2023 单位：万元"]
    headers = [k for k, line in enumerate(lines) if line.startswith("栏次\t")]
    assert len(captions) == 9  # one per standard table, although 6 of them cover two pages
    assert len(headers) == 9
    start = lines.index("1\t一、一般公共预算拨款收入\t7895.40\t一、一般公共服务支出\t")
    seqs = [line.split("\t")[0] for line in lines[start:start + 34]]
    assert seqs == [str(n) for n in range(1, 35)], "收支总表 rows are not contiguous"
    assert hebei.pages[start] + 1 == hebei.pages[start + 18], "row 19 is on the next page"


def test_cells_wrapped_in_narrow_columns_are_one_cell(hebei):
    assert ("\t可持续影响指标\t为办理医保业务提供高效便捷的服务，对健全医疗保障制度体系的作用"
            "\t为办理医保业务提供高效便捷的服务，对健全医疗保障制度体系的作用\t成效明显\t县级年初预算项目") \
        in "\n".join(hebei.lines)


def test_merged_cells_give_their_text_once(hebei):
    """一级指标 is merged down its group; 绩效目标's text is merged across five columns."""
    k = hebei.lines.index("## 3、长期照护险绩效目标表")
    table = hebei.lines[k + 1:k + 12]
    assert table[0] == "绩效目标\t长期照护险及时足额发放到位。\t\t\t\t"
    assert table[2].startswith("产出指标\t数量指标\t长护险参保人数\t")
    assert table[3].startswith("\t数量指标\t享受长护险待遇人数\t")
    assert table[6].startswith("效益指标\t可持续影响指标\t")


def test_wrapped_paragraph_lines_are_one_line(hebei):
    assert ("（一）贯彻执行中央、省、市有关城镇职工和城乡居民医疗保险、生育保险、医疗救助等医疗保障法律法规、规章"
            "以及政策、制度、规划和标准。") in hebei.lines
    # a wrap just before a figure: the figure stays whole and the sentence one line
    assert any(line.startswith("2023 年支出预算 7895.40 万元") and "包括人员经费582.50 万元和公用经费" in line
               for line in hebei.lines)


def test_headings_and_page_furniture(hebei):
    assert "# 第一部分 部门预算" in hebei.lines
    assert "## 部门预算收支总表" in hebei.lines
    assert not [line for line in hebei.lines if re.fullmatch(r"- \d+ -", line)], "page numbers kept"
    assert not [line for line in hebei.lines if "\t" in line and not line.strip("\t")], "empty rows kept"


@pytest.mark.parametrize("title", ["部门预算收支总表", "部门预算一般公共预算财政拨款基本支出表", "部门预算财政拨款“三公”经费支出表",
                                   "1、医保鉴定评审费绩效目标表", "9、中央-医疗服务与保障能力提升补助资金绩效目标表",
                                   "部门固定资产占用情况表"])
def test_line_pages_are_the_pages_of_the_original(hebei, hebei_seed, title):
    """The fixture keeps the seed's pagination, so a title's page is its page in the original PDF."""
    k = [unheaded(line) for line in hebei.lines].index(title)
    assert hebei.pages[k] == seed_page_of(hebei_seed, title)


def test_pages_reach_every_fact(hebei_seed):
    """Span.page of projects, indicators, lines and figures: the page their table is printed on."""
    disclosure = parsed(fixture(HEBEI, ".pdf"))
    care = next(p for p in disclosure.projects if p.name == "长期照护险")
    page = seed_page_of(hebei_seed, "3、长期照护险绩效目标表")
    assert care.span is not None and care.span.page == page
    assert care.indicators and {i.span.page for i in care.indicators} == {page}
    line = next(b for b in disclosure.budget_lines if b.code == "2101599" and b.table.value == "expenditure")
    assert line.span.page == seed_pages(hebei_seed)[hebei_seed.split("\n").index("19 2101599 其他医疗保障管理事务支出 15.00 15.00")]
    assert all(f.span is None or f.span.page is not None for f in disclosure.figures)
    assert all(b.span.page is not None for b in disclosure.budget_lines)


# ------------------------------------------------------------------ seed 003


@pytest.fixture(scope="module")
def shanxi():
    return read(SHANXI, ".pdf")


def test_shanxi_rows_and_paragraphs_are_the_seeds(shanxi):
    """Seed 003 is tab-separated already: the PDF reader must give back exactly its lines
    (tags and whitespace inside cells aside), every table row with all its cells."""
    seed = [tsv_form(line) for line in seed_of(SHANXI).read_text(encoding="utf-8").split("\n")]
    got = [tsv_form(line) for line in shanxi.lines]
    assert [s for s in got if s] == [s for s in seed if s]


def test_hung_punctuation_stays_in_its_cell(shanxi):
    """、 hung past a narrow cell's border belongs to that cell, not to the next one."""
    rows = [line for line in shanxi.lines if line.startswith("保证项目实施的制度、措施\t")]
    assert len(rows) == 9
    assert not [line for line in shanxi.lines if "\t、" in line]


def test_a_table_split_after_its_first_row_is_rejoined(shanxi):
    """A form whose first part holds only its full-width 项目名称 row continues on a finer grid."""
    k = shanxi.lines.index("项目名称\t2023年原建档立卡卡贫困人口补充医疗保险医疗救助补助县级配套资金" + "\t" * 6)
    assert shanxi.lines[k + 1].startswith("主管部门及代码\t036-兴县医疗保障局\t")
    assert shanxi.pages[k] + 1 == shanxi.pages[k + 1]


# ------------------------------------------------------------------ built here


def test_running_headers_dropped_and_auto_split_table_rejoined(tmp_path):
    """A layout the fixtures do not use: a running header and footer on every page, and one long
    table that reportlab splits by itself, repeating its header row on each page."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    from ingest.formats.pdf import read_pdf

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))

    def furniture(canvas, doc):
        canvas.setFont("STSong-Light", 9)
        canvas.drawString(56, A4[1] - 30, "乐亭县医疗保障局2023年部门预算")
        canvas.drawCentredString(A4[0] / 2, 25, f"第 {doc.page} 页")

    rows = [["科目编码", "科目名称", "合计"]] + [[f"2101{n:03d}", f"测试科目{n}", f"{n}.00"] for n in range(1, 121)]
    table = Table(rows, colWidths=[100, 200, 100], repeatRows=1)
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "STSong-Light", 10),
                               ("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    path = tmp_path / "long-table.pdf"
    style = ParagraphStyle("b", fontName="STSong-Light", fontSize=10.5, leading=16)
    SimpleDocTemplate(str(path), pagesize=A4).build([Paragraph("部门预算支出表", style), table],
                                                    onFirstPage=furniture, onLaterPages=furniture)
    source = read_pdf(path, 10**8)
    assert source.page_count >= 3
    assert "乐亭县医疗保障局2023年部门预算" not in source.lines
    assert not [line for line in source.lines if line.startswith("第 ")]
    rows_out = [line for line in source.lines if "\t" in line]
    assert rows_out == ["\t".join(r) for r in rows], "header repeated or rows lost"
    assert source.pages[source.lines.index("2101120\t测试科目120\t120.00")] == source.page_count


@pytest.mark.parametrize("suffix", [".libreoffice.pdf", ".libreoffice.docx"])
@pytest.mark.parametrize("stem, n_lines, n_indicators", [(HEBEI, 87, 66), ("003_shanxi_budget", 96, 64)])
def test_a_file_from_another_producer_gives_the_same_facts(stem, n_lines, n_indicators, suffix):
    """LibreOffice's rendering of the DOCX fixture (its own fonts, ruling and page breaks, rows
    broken across pages) reads back to exactly the facts of the text seed: the reader keys on
    positions and ruling lines, not on how our fixture script draws tables."""
    seed = parsed(seed_of(stem))
    other = parsed(fixture(stem, suffix))
    lines = lambda d: {(b.table, b.code, b.name, b.amount, b.basic_amount, b.project_amount,  # noqa: E731
                        b.carryover_amount) for b in d.budget_lines}
    indicators = lambda d: {(p.name, i.level1, i.level2, i.name, i.target_value.replace(" ", ""))  # noqa: E731
                            for p in d.projects for i in p.indicators}
    assert lines(other) == lines(seed) and len(lines(seed)) == n_lines
    assert indicators(other) == indicators(seed) and len(indicators(seed)) == n_indicators
    assert sorted(p.name for p in other.projects) == sorted(p.name for p in seed.projects)
    assert {(f.measure, f.value) for f in other.figures} >= {(f.measure, f.value) for f in seed.figures
                                                             if f.source.value == "table"}
    if suffix.endswith(".pdf"):
        assert other.page_count and all(p.span and p.span.page for p in other.projects)


def test_a_row_broken_across_a_page_is_rejoined():
    """Regression: LibreOffice splits 003's project-table row 2023年原建 / 档立卡… over pages 10-11."""
    source = read("003_shanxi_budget", ".libreoffice.pdf")
    assert "2023年原建档立卡贫困人员补充医疗保险医疗救助补助县级配套资金\t397.03\t397.03\t\t\t\t" in source.lines
    assert not any(line.startswith("档立卡贫困人员") for line in source.lines)
