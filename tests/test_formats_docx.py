"""The DOCX reader (``ingest.formats.docx``) on DOCX files rendered from the seeds, and on small
documents built here for the cases the fixtures do not show (content controls, grid offsets,
nested tables, explicit page breaks, tabs and soft breaks inside paragraphs).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from formats_support import NO_LIMIT, read, seed_of, tsv_form, unheaded
from ingest.formats.docx import read_docx

HEBEI = "000_hebei_budget"
SHANXI = "003_shanxi_budget"


def test_docx_and_pdf_of_the_same_document_read_the_same():
    """Both renderings of seed 000 give the same lines on the same pages (headings aside)."""
    docx_source, pdf_source = read(HEBEI, ".docx"), read(HEBEI, ".pdf")
    assert docx_source.format == "docx"
    assert [unheaded(x) for x in docx_source.lines] == [unheaded(x) for x in pdf_source.lines]
    assert docx_source.pages == pdf_source.pages
    assert docx_source.page_count == pdf_source.page_count == 40


def test_merged_cells_give_their_text_once():
    lines = read(HEBEI, ".docx").lines
    k = lines.index("## 3、长期照护险绩效目标表")
    assert lines[k + 1] == "绩效目标\t长期照护险及时足额发放到位。\t\t\t\t"  # gridSpan over five columns
    assert lines[k + 3].startswith("产出指标\t数量指标\t长护险参保人数\t")  # vMerge restart
    assert lines[k + 4].startswith("\t数量指标\t享受长护险待遇人数\t")  # vMerge continue: not repeated
    # header cells merged both ways (序号 down two rows, 功能分类科目 across two columns)
    assert "序号\t功能分类科目\t\t合计\t基本支出\t项目支出" in lines
    assert "\t科目编码\t科目名称\t\t\t" in lines


def test_cell_paragraphs_are_joined_into_one_cell():
    lines = read(HEBEI, ".docx").lines
    assert ("绩效目标\t1.强化医疗救助规范化管理。2.持续实施重特大疾病医疗救助。3.医疗救助金及时足额发放到位。"
            "\t\t\t\t") in lines


def test_shanxi_rows_and_paragraphs_are_the_seeds():
    source = read(SHANXI, ".docx")
    seed = [tsv_form(line) for line in seed_of(SHANXI).read_text(encoding="utf-8").split("\n")]
    assert [s for s in map(tsv_form, source.lines) if s] == [s for s in seed if s]
    assert source.pages is None, "no page marks in this file: no pages may be invented"


def test_headings_become_markdown_headings():
    lines = read(SHANXI, ".docx").lines
    assert "# 兴县医疗保障局" in lines
    assert "## 2023年预算收支总表" in lines
    assert "#### 一、部门预算收支数据变动情况及原因" in lines


# ------------------------------------------------------------------ built here


def _grid_span(cell, n: int) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    span = OxmlElement("w:gridSpan")
    span.set(qn("w:val"), str(n))
    tc_pr.append(span)


@pytest.fixture
def crafted(tmp_path: Path) -> Path:
    """A document with what Word and WPS write but the fixtures do not."""
    doc = Document()
    doc.add_heading("部门预算", level=1)
    p = doc.add_paragraph("绩效目标：")
    p.add_run().add_tab()
    p.add_run("一是")
    p.add_run().add_break()  # a soft line break inside the paragraph
    p.add_run("二是")
    doc.add_page_break()
    doc.add_paragraph("第二页")

    table = doc.add_table(rows=3, cols=3)
    table.cell(0, 0).text, table.cell(0, 1).text, table.cell(0, 2).text = "科目编码", "科目名称", "合计"
    table.cell(1, 0).text, table.cell(1, 1).text, table.cell(1, 2).text = "2101202", "财政对城乡居民基本医疗\t保险", "4175.00"
    nested = table.cell(2, 1).add_table(rows=1, cols=2)
    nested.cell(0, 0).text, nested.cell(0, 1).text = "内", "表"
    table.cell(2, 0).text = "注"
    # row 3: a row that starts one grid column late (w:gridBefore) and whose cell spans two columns
    row = table.add_row()
    tr = row._tr
    tr.remove(tr.tc_lst[0])
    tr_pr = tr.get_or_add_trPr()
    before = OxmlElement("w:gridBefore")
    before.set(qn("w:val"), "1")
    tr_pr.append(before)
    tr.remove(tr.tc_lst[-1])
    row.cells[0].text = "跨两列"
    _grid_span(row.cells[0], 2)

    # a paragraph wrapped in a content control (w:sdt)
    sdt = OxmlElement("w:sdt")
    content = OxmlElement("w:sdtContent")
    inner = doc.add_paragraph("控件内的段落")._p
    inner.getparent().remove(inner)
    content.append(inner)
    sdt.append(content)
    doc.element.body.insert(len(doc.element.body) - 1, sdt)
    path = tmp_path / "crafted.docx"
    doc.save(path)
    return path


def test_crafted_document(crafted: Path):
    source = read_docx(crafted, NO_LIMIT)
    assert source.lines[0] == "# 部门预算"
    assert source.lines[1] == "绩效目标： 一是二是"  # tab made a space, soft break joined
    assert "第二页" in source.lines
    rows = [line for line in source.lines if "\t" in line]
    assert rows[1] == "2101202\t财政对城乡居民基本医疗 保险\t4175.00"  # a tab inside a cell is not a separator
    assert rows[2] == "注\t内表\t"  # nested table flattened into its cell
    assert rows[3] == "\t跨两列\t"  # gridBefore, then gridSpan
    assert "控件内的段落" in source.lines


def test_explicit_page_breaks_give_pages_when_word_left_no_marks(crafted: Path):
    source = read_docx(crafted, NO_LIMIT)
    assert source.pages is not None
    assert source.pages[source.lines.index("第二页")] == 2
    assert source.pages[0] == 1
    assert source.page_count == 2


def test_a_document_without_breaks_has_no_pages(tmp_path: Path):
    doc = Document()
    doc.add_paragraph("部门预算收支总表")
    path = tmp_path / "plain.docx"
    doc.save(path)
    source = read_docx(path, NO_LIMIT)
    assert source.lines == ["部门预算收支总表"]
    assert source.pages is None and source.page_count is None
