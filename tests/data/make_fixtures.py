"""Render the content of the seed disclosures into real PDF and DOCX files for the format tests.

    .venv/bin/python tests/data/make_fixtures.py        # writes tests/data/fixtures/*.pdf|*.docx

The seeds (``ingest/samples/*.txt``) are text already extracted from published PDF/DOCX files.
This script rebuilds documents from them: paragraphs, headings and *real ruled tables* (cells,
merged header cells, 一级指标 cells merged down their group, narrow columns that make cells and
numbers wrap onto several lines the way seed 001 shows, tables continued over pages with their
caption and header repeated on each page). Two seeds are rendered:

- 000 (Hebei template, flowing PDF text): the seed lost the column of every figure, so the table
  *headers* of the provincial template are transcribed here once, and each row's figures are put
  back in their columns from the row itself, with 基本/项目 (and 人员/公用) decided by the sums
  the parent rows state. The pages of the PDF are the seed's pages (a seed line starting with a
  space opens a page), so a fact's page in the fixture is its page in the original.
- 003 (Shanxi template, Markdown with tab-separated cells): every tab-separated line is a table
  row as it stands; a blank line inside a table is where the original turned the page.

PDF: reportlab with its built-in CID font STSong-Light (Adobe-GB1, not embedded, so fixtures stay
small; pdfminer maps it back to Unicode). DOCX: python-docx, with the ``lastRenderedPageBreak``
marks Word writes at each page start, so DOCX lines get pages too. Needs reportlab (a test extra);
no system fonts. The output is deterministic (fixed creation dates and document ids).
"""
from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import product
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SEEDS = ROOT / "ingest" / "samples"
OUT = HERE / "fixtures"

FONT = "STSong-Light"
BODY_SIZE = 10.5
TABLE_SIZE = 8.0
HEADING_SIZES = {1: 16.0, 2: 14.0, 3: 12.5, 4: 12.5}
PAGE_MARGIN = 56.0


# ====================================================================== document model


@dataclass
class Para:
    text: str
    level: int = 0  # 0 = body text, 1.. = heading level


@dataclass
class Caption:
    """The line printed above a table on every page it covers (unit code, year, unit)."""

    parts: list[str]


@dataclass
class PageBreak:
    pass


@dataclass
class Table:
    rows: list[list[str]]
    widths: list[float]  # points; they add up to the text width
    header_rows: int = 0  # repeated at the top of every continuation page
    spans: list[tuple[int, int, int, int]] = field(default_factory=list)  # (row0, col0, row1, col1) inclusive
    breaks: list[int] = field(default_factory=list)  # body-row indexes that open a new page
    caption: Caption | None = None
    font_size: float = TABLE_SIZE
    number_font_size: float | None = None  # narrower figures: they wrap in narrow columns, like seed 001


Block = Para | Caption | PageBreak | Table


def width_units(text: str) -> int:
    """Display width: CJK characters count 2, others 1."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


_NUMBER = re.compile(r"^-?\d[\d,]*(\.\d+)?$")


def is_number(text: str) -> bool:
    return bool(_NUMBER.match(text))


# ====================================================================== seed 000: Hebei template

TEXT_WIDTH = 595.27 - 2 * PAGE_MARGIN  # A4 portrait


def _scaled(widths: list[float]) -> list[float]:
    total = sum(widths)
    return [w * TEXT_WIDTH / total for w in widths]


@dataclass(frozen=True)
class HebeiTable:
    """One standard table of the Hebei provincial template: header transcribed, body parsed."""

    kind: str  # how a body row is put into columns
    header: list[list[str]]
    spans: list[tuple[int, int, int, int]]
    widths: list[float]
    number_font_size: float | None = None


def _coded(figures: list[str], group: str = "功能分类科目") -> tuple[list[list[str]], list]:
    """Header of a 序号 | 科目编码 | 科目名称 | figures... table with a two-row figure header."""
    top = ["序号", group, ""] + figures
    second = ["", "科目编码", "科目名称"] + [""] * len(figures)
    numbers = ["栏次"] + [str(i) for i in range(1, len(figures) + 3)]
    spans = [(0, 0, 1, 0), (0, 1, 0, 2)] + [(0, 3 + i, 1, 3 + i) for i in range(len(figures))]
    return [top, second, numbers], spans


_EXP_HEADER, _EXP_SPANS = _coded(["合计", "基本支出", "项目支出", "经营支出", "上解上级支出", "对附属单位补助支出"])
_GEN_HEADER, _GEN_SPANS = _coded(["合计", "基本支出", "项目支出"])

HEBEI_TABLES: dict[str, HebeiTable] = {
    "部门预算收支总表": HebeiTable(
        "summary",
        [["序号", "收入", "", "支出", ""], ["", "项 目", "预算数", "项 目", "预算数"], ["栏次", "1", "2", "3", "4"]],
        [(0, 0, 1, 0), (0, 1, 0, 2), (0, 3, 0, 4)],
        _scaled([28, 150, 62, 170, 62])),
    "部门预算收入总表": HebeiTable(
        "fill",
        [["序号", "功能分类科目", "", "合计", "本年收入", "", "", "", "", "", "", "", "上年结转"],
         ["", "科目编码", "科目名称", "", "小计", "财政拨款收入", "财政专户收入", "事业收入", "经营收入",
          "上级补助收入", "附属单位上缴收入", "其他收入", ""],
         ["栏次"] + [str(i) for i in range(1, 13)]],
        [(0, 0, 1, 0), (0, 1, 0, 2), (0, 3, 1, 3), (0, 4, 0, 11), (0, 12, 1, 12)],
        [24.0, 44.0, TEXT_WIDTH - 24 - 44 - 10 * 25.0] + [25.0] * 10,  # figures wrap: 7895.4 / 0
        number_font_size=8.0),
    "部门预算支出总表": HebeiTable("split:基本支出|项目支出", _EXP_HEADER, _EXP_SPANS,
                                   _scaled([28, 48, 135, 48, 48, 48, 40, 40, 48])),
    "部门预算财政拨款收支总表": HebeiTable(
        "fiscal",
        [["序号", "收入", "", "支出", "", "", "", ""],
         ["", "项 目", "金额", "项 目", "合计", "一般公共预算财政拨款", "政府性基金预算财政拨款", "国有资本经营预算财政拨款"],
         ["栏次", "1", "2", "3", "4", "5", "6", "7"]],
        [(0, 0, 1, 0), (0, 1, 0, 2), (0, 3, 0, 7)],
        _scaled([28, 110, 48, 130, 48, 50, 50, 50])),
    "部门预算一般公共预算财政拨款支出表": HebeiTable("split:基本支出|项目支出", _GEN_HEADER, _GEN_SPANS,
                                             _scaled([28, 60, 200, 65, 65, 65])),
    "部门预算一般公共预算财政拨款基本支出表": HebeiTable(
        "split:人员经费|公用经费",
        [["序号", "支出部门经济分类科目", "", "一般公共预算基本支出", "", ""],
         ["", "科目编码", "科目名称", "合计", "人员经费", "公用经费"],
         ["栏次", "1", "2", "3", "4", "5"]],
        [(0, 0, 1, 0), (0, 1, 0, 2), (0, 3, 0, 5)],
        _scaled([28, 60, 200, 65, 65, 65])),
    "部门预算政府基金预算财政拨款支出表": HebeiTable("split:基本支出|项目支出", _GEN_HEADER, _GEN_SPANS,
                                             _scaled([28, 60, 200, 65, 65, 65])),
    "部门预算国有资本经营预算财政拨款支出表": HebeiTable("split:基本支出|项目支出", _GEN_HEADER, _GEN_SPANS,
                                               _scaled([28, 60, 200, 65, 65, 65])),
    "部门预算财政拨款“三公”经费支出表": HebeiTable(
        "fill-named",
        [["序号", "项 目", "资 金 性 质", "", "", ""],
         ["", "", "合计", "一般公共预算财政拨款", "政府性基金预算拨款", "国有资本经营预算财政拨款"],
         ["栏次", "1", "2", "3", "4", "5"]],
        [(0, 0, 1, 0), (0, 1, 1, 1), (0, 2, 0, 5)],
        _scaled([28, 190, 60, 70, 60, 70])),
    "部门政府采购预算": HebeiTable(
        "none",
        [["政府采购项目来源", "", "采购物品名称", "政府采购目录序号", "计量单位", "数量", "单价",
          "政府采购金额（当年部门预算安排资金）", "", "", "", "", "", "", "2023年预留中小微企业份额"],
         ["项目名称", "预算资金", "", "", "", "", "", "合计", "一般公共预算拨款", "基金预算拨款", "国有资本经营预算拨款",
          "财政专户核拨单位资金", "财政拨款结转", "非财政拨款结转结余", ""]],
        [(0, 0, 0, 1), (0, 2, 1, 2), (0, 3, 1, 3), (0, 4, 1, 4), (0, 5, 1, 5), (0, 6, 1, 6), (0, 7, 0, 13),
         (0, 14, 1, 14)],
        _scaled([40, 34, 36, 36, 26, 26, 26, 30, 32, 30, 34, 34, 32, 34, 40])),
    "部门固定资产占用情况表": HebeiTable("assets", [["项 目", "数量", "价值（金额单位：万元）"]], [],
                                      _scaled([240, 100, 140])),
}

_CAPTION = re.compile(r"^\d{3,} \S+ (预算年度|单位|截止时间)")
_PERF_TITLE = re.compile(r"^\d+、.+绩效目标表$")
_LEVEL1 = ("产出指标", "效益指标", "满意度指标", "效果指标", "成本指标")
_LIST_START = re.compile(r"^(（[一二三四五六七八九十]+）|[一二三四五六七八九十]+、|\d+[.、](?!\d)|[①-⑳]|[一二三四五六七八九十]+是)")
_HEADING = re.compile(r"^(第[一二三四]部分.*|.+年部门预算信息公开情况说明)$")
_FULL_LINE = 95  # display width of a seed line that ran to the right margin (its paragraph goes on)


def hebei_blocks(text: str) -> list[Block]:
    """Seed 000's content as blocks, keeping its pages."""
    lines = text.split("\n")
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(Para("".join(para) if all(_cjk_edge(a, b) for a, b in zip(para, para[1:]))
                               else " ".join(para)))
            para.clear()

    i = 0
    while i < len(lines):
        raw = lines[i]
        line = raw.strip()
        if not line:
            i += 1
            continue
        if raw.startswith(" ") and i > 0:
            flush()
            blocks.append(PageBreak())
        if line in HEBEI_TABLES:
            flush()
            i = _hebei_table(lines, i, blocks)
            continue
        if _PERF_TITLE.match(line):
            flush()
            i = _performance_table(lines, i, blocks)
            continue
        if line == "部门机构设置情况":  # a small table inside the narrative
            flush()
            blocks.append(Para(line))
            following = [k for k in range(i + 1, i + 8) if lines[k].strip()][:2]
            rows = [lines[k].split() for k in following]
            blocks.append(Table(rows, _scaled([180, 100, 100, 100]), font_size=9))
            i = following[-1] + 1
            continue
        if _HEADING.match(line):
            flush()
            blocks.append(Para(line, level=1))
            i += 1
            continue
        if para and (_LIST_START.match(line) or para[-1].endswith("。") or width_units(para[-1]) < _FULL_LINE):
            flush()
        para.append(line)
        i += 1
    flush()
    return blocks


def _cjk_edge(a: str, b: str) -> bool:
    return not (a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum())


def _hebei_table(lines: list[str], i: int, blocks: list[Block]) -> int:
    """Parse one standard table starting at its title line; return the index after it."""
    title = lines[i].strip()
    spec = HEBEI_TABLES[title]
    blocks.append(Para(title, level=2))
    i += 1
    caption = None
    if i < len(lines) and _CAPTION.match(lines[i].strip()):
        caption = Caption(re.split(r" (?=预算年度|单位：|截止时间)", lines[i].strip()))
        i += 1
    body: list[list[str]] = []
    breaks: list[int] = []
    notes: list[str] = []
    started = spec.kind in ("assets",)
    while i < len(lines):
        raw, line = lines[i], lines[i].strip()
        if not line:
            i += 1
            continue
        if line.startswith("栏次"):
            started = True
            i += 1
            continue
        if _CAPTION.match(line) and raw.startswith(" "):  # the table goes on over the page
            breaks.append(len(body))
            started = False
            i += 1
            continue
        if line.startswith("注："):
            notes.append(line)
            i += 1
            continue
        if raw.startswith(" ") or line in HEBEI_TABLES or _PERF_TITLE.match(line) or re.match(r"^第[一二三四]部分", line):
            break
        if spec.kind == "assets" and line.startswith("项 目"):
            i += 1
            continue
        if started and spec.kind != "none":
            body.append(line.split(" "))
        i += 1
    ncols = len(spec.header[0])
    rows = _place_figures(spec, body, ncols)
    spans = list(spec.spans)
    for r, row in enumerate(rows):  # 合计 is printed across the code and name columns
        if row[1] == "合计" and row[2] == "" and spec.kind not in ("summary", "fiscal", "fill-named"):
            spans.append((len(spec.header) + r, 1, len(spec.header) + r, 2))
    blocks.append(Table(spec.header + rows, spec.widths, header_rows=len(spec.header), spans=spans,
                        breaks=breaks, caption=caption, number_font_size=spec.number_font_size))
    blocks.extend(Para(n) for n in notes)
    return i


def _place_figures(spec: HebeiTable, body: list[list[str]], ncols: int) -> list[list[str]]:
    """Put each seed row's figures back into their columns."""
    kind = spec.kind
    if kind == "none":
        return []
    if kind == "assets":
        out = []
        for tokens in body:
            figures = []
            while len(tokens) > 1 and is_number(tokens[-1]):  # only trailing numbers: "单价在 20 万元以上"
                figures.insert(0, tokens.pop())
            out.append([" ".join(tokens)] + [""] * (2 - len(figures)) + figures)
        return out
    if kind == "summary" or kind == "fiscal":
        return [_two_sided(tokens, ncols, kind) for tokens in body]
    if kind == "fill-named":
        out = []
        for tokens in body:
            seq, rest = tokens[0], tokens[1:]
            names = [t for t in rest if not is_number(t)]
            figures = [t for t in rest if is_number(t)]
            out.append([seq, " ".join(names)] + figures + [""] * (ncols - 2 - len(figures)))
        return out
    rows = []
    for tokens in body:
        seq, rest = tokens[0], tokens[1:]
        if rest[0] == "合计":
            code, name, figures = "合计", "", rest[1:]
        else:
            code = rest[0]
            name = " ".join(t for t in rest[1:] if not is_number(t))
            figures = [t for t in rest[1:] if is_number(t)]
        rows.append([seq, code, name, figures])
    if kind == "fill":
        return [[s, c, n] + f + [""] * (ncols - 3 - len(f)) for s, c, n, f in rows]
    assert kind.startswith("split:"), kind
    return _split_by_sums(rows, ncols)


def _two_sided(tokens: list[str], ncols: int, kind: str) -> list[str]:
    """收支总表 rows: 收入 item and figure on the left, 支出 item and figure(s) on the right."""
    seq, rest = tokens[0], tokens[1:]
    groups: list[list[str]] = []  # [name, figures...]
    for t in rest:
        if is_number(t) and groups:
            groups[-1].append(t)
        else:
            groups.append([t])
    left: list[str] = []
    right: list[str] = []
    if len(groups) == 2:
        left, right = groups
    elif groups:
        name = groups[0][0]
        is_income = ("收入" in name or "拨款" in name or "结转" in name) and "支出" not in name
        left, right = (groups[0], []) if is_income else ([], groups[0])
    left_cells = (left + ["", ""])[:2]
    right_cells = (right + [""] * (ncols - 3))[:ncols - 3]
    return [seq] + left_cells + right_cells


def _split_by_sums(rows: list, ncols: int) -> list[list[str]]:
    """Tables whose rows print 合计 and one of two columns (基本/项目, 人员/公用): decide which.

    A row that prints three figures gives both columns. A row with one figure besides its total
    belongs to whichever column makes its siblings add up to what their parent states; a parent
    with only one column filled passes that column to all its children.
    """
    parsed = []
    for seq, code, name, figures in rows:
        total = figures[0] if figures else ""
        a = b = None
        if len(figures) >= 3:
            a, b = figures[1], figures[2]
        parsed.append({"seq": seq, "code": code, "name": name, "total": total, "a": a, "b": b,
                       "n": len(figures)})

    def parent_of(code: str) -> str:
        if code == "合计":
            return ""
        return {3: "合计", 5: code[:3], 7: code[:5]}.get(len(code), "合计")

    for r in parsed:  # top-down: parents come first in these tables
        children = [c for c in parsed if parent_of(c["code"]) == r["code"] and c["n"] == 2]
        if not children:
            continue
        known = [c for c in parsed if parent_of(c["code"]) == r["code"] and c["n"] != 2]
        target_a = Decimal(r["a"] or "0") - sum(Decimal(c["a"] or "0") for c in known)
        for choice in product((True, False), repeat=len(children)):  # True: the figure is column a
            got = sum((Decimal(c["total"]) for c, is_a in zip(children, choice) if is_a), Decimal("0"))
            if abs(got - target_a) < Decimal("0.005"):
                for c, is_a in zip(children, choice):
                    c["a"], c["b"] = (c["total"], None) if is_a else (None, c["total"])
                    c["n"] = 3
                break
        else:
            raise ValueError(f"cannot place the figures of the children of {r['code']}")
    return [[r["seq"], r["code"], r["name"], r["total"], r["a"] or "", r["b"] or ""] + [""] * (ncols - 6)
            for r in parsed]


def _performance_table(lines: list[str], i: int, blocks: list[Block]) -> int:
    """A 项目绩效目标表: title, 绩效目标 text, then indicator rows with 一级 merged down its group."""
    blocks.append(Para(lines[i].strip(), level=2))
    i += 1
    goal: list[str] = []
    while not lines[i].strip().startswith("一级指标"):
        line = lines[i].strip()
        if line.startswith("绩效目标"):
            line = line[len("绩效目标"):].strip()
        if line:
            if goal and not re.match(r"^\d+\.", line):
                goal[-1] += line  # a wrapped line of the same item
            else:
                goal.append(line)
        i += 1
    i += 1  # the header line
    rows: list[list[str]] = []  # 一级, 二级, 三级, 描述, 指标值, 依据
    groups: list[int] = []  # rows that open a 一级 group
    level1, new_group = "", False
    pending: list[str] = []
    while i < len(lines):
        raw, line = lines[i], lines[i].strip()
        if raw.startswith(" "):  # the next page: the next section
            break
        i += 1
        if not line:
            continue
        if line in _LEVEL1:
            level1, new_group = line, True
            continue
        pending.append(line)
        if not line.endswith("项目"):  # the 依据 column ends every row (县级年初预算项目, 上级专款项目)
            continue
        row = _indicator_row(pending)
        pending = []
        if row[0]:
            level1, new_group = row[0], True
        row[0] = level1 if new_group else ""
        if new_group:
            groups.append(len(rows))
        new_group = False
        rows.append(row)
    header = [["绩效目标", "\n".join(goal), "", "", "", ""],
              ["一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值", "指标值确定依据"]]
    spans = [(0, 1, 0, 5)]
    for g, start in enumerate(groups):
        end = (groups[g + 1] if g + 1 < len(groups) else len(rows)) - 1
        if end > start:
            spans.append((2 + start, 0, 2 + end, 0))
    blocks.append(Table(header + rows, _scaled([52, 64, 96, 96, 62, 92]), spans=spans))
    return i


def _indicator_row(parts: list[str]) -> list[str]:
    """One indicator row from its seed line(s): [一级 (if printed), 二级, 三级, 描述, 指标值, 依据].

    The seed prints 三级指标 and 绩效指标描述 with the same words; that repetition splits the row.
    """
    head = parts[0].split(" ")
    level1 = head.pop(0) if head[0] in _LEVEL1 else ""
    if len(parts) == 1:
        level2, basis, middle = head[0], head[-1], head[1:-1]
        for j in range(1, len(middle) // 2 + 1):
            if middle[:j] == middle[j:2 * j] and len(middle) > 2 * j:
                name = " ".join(middle[:j])
                return [level1, level2, name, name, " ".join(middle[2 * j:]), basis]
        raise ValueError(f"cannot split indicator row {parts!r}")
    wrapped = "".join(parts[1:-1])  # the narrow 三级/描述 cells, broken over lines
    half = len(wrapped) // 2
    if wrapped[:half] != wrapped[half:]:
        raise ValueError(f"cannot split wrapped indicator row {parts!r}")
    tail = parts[-1].split(" ")
    return [level1, head[0], wrapped[:half], wrapped[:half], " ".join(tail[:-1]), tail[-1]]


# ====================================================================== seed 003: Markdown + TSV

_TAGS = re.compile(r"</?b>|\*\*")


def markdown_blocks(text: str) -> list[Block]:
    """Seed 003's content as blocks: '#' lines are headings, tab-separated lines are table rows."""
    lines = text.split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "\t" in line:
            rows: list[list[str]] = []
            breaks: list[int] = []
            while i < len(lines):
                if "\t" in lines[i]:
                    rows.append([_TAGS.sub("", c).strip() for c in lines[i].split("\t")])
                    i += 1
                    continue
                k = i
                while k < len(lines) and not lines[k].strip():
                    k += 1
                if k > i and k < len(lines) and "\t" in lines[k]:  # blank lines inside a table: a page turn
                    breaks.append(len(rows))
                    i = k
                    continue
                break
            blocks.append(_tsv_table(rows, breaks))
            continue
        text_line = _TAGS.sub("", line).strip()
        i += 1
        if not text_line:
            continue
        heading = re.match(r"^(#+)\s*(.*)$", text_line)
        if heading:
            blocks.append(Para(heading.group(2).strip(), level=min(len(heading.group(1)), 4)))
        else:
            blocks.append(Para(text_line))
    return blocks


def _tsv_table(rows: list[list[str]], breaks: list[int]) -> Table:
    ncols = max(len(r) for r in rows)
    rows = [r + [""] * (ncols - len(r)) for r in rows]
    header_rows = 0
    if breaks:
        while header_rows < min(3, len(rows) - 1) and not any(is_number(c) for c in rows[header_rows]):
            header_rows += 1
    spans = []
    starts_span: set[tuple[int, int]] = set()
    for r, row in enumerate(rows):  # long text followed by empty cells was one merged cell
        c = 0
        while c < ncols:
            end = c
            if row[c] and not is_number(row[c]) and width_units(row[c]) >= 16:
                while end + 1 < ncols and not row[end + 1]:
                    end += 1
            if end > c:
                spans.append((r, c, r, end))
                starts_span.add((r, c))
            c = end + 1
    natural = []
    for c in range(ncols):
        cells = [width_units(r[c]) for k, r in enumerate(rows) if (k, c) not in starts_span]
        natural.append(min(max(cells + [4]), 28))
    return Table(rows, _scaled(natural), header_rows=header_rows, spans=spans,
                 breaks=[b - header_rows for b in breaks])


# ====================================================================== renderers


def _fragments(table: Table) -> list[tuple[int, int]]:
    """Body-row ranges printed on one page each (the breaks come from the seed's pages)."""
    body = len(table.rows) - table.header_rows
    cuts = [0] + [b for b in table.breaks if 0 < b < body] + [body]
    return list(zip(cuts, cuts[1:]))


def render_pdf(blocks: list[Block], path: Path, title: str) -> int:
    """Write a PDF; return its page count."""
    from reportlab import rl_config
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak as RLPageBreak
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
    from reportlab.platypus import Table as RLTable
    from reportlab.platypus import TableStyle
    from xml.sax.saxutils import escape

    rl_config.invariant = 1  # fixed dates and ids: the same seed gives the same bytes
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    body = ParagraphStyle("body", fontName=FONT, fontSize=BODY_SIZE, leading=BODY_SIZE * 1.6,
                          wordWrap="CJK", firstLineIndent=2 * BODY_SIZE, spaceAfter=BODY_SIZE * 0.4)
    headings = {level: ParagraphStyle(f"h{level}", fontName=FONT, fontSize=size, leading=size * 1.5,
                                      wordWrap="CJK", alignment=TA_CENTER if level <= 2 else TA_LEFT,
                                      spaceBefore=size * 0.5, spaceAfter=size * 0.5)
                for level, size in HEADING_SIZES.items()}

    def cell_style(size: float, align=TA_LEFT) -> ParagraphStyle:
        return ParagraphStyle(f"cell{size}{align}", fontName=FONT, fontSize=size, leading=size * 1.3,
                              wordWrap="CJK", alignment=align)

    story: list = []
    for block in blocks:
        if isinstance(block, Para):
            story.append(Paragraph(escape(block.text), headings[block.level] if block.level else body))
        elif isinstance(block, PageBreak):
            story.append(RLPageBreak())
        elif isinstance(block, Table):
            fragments = _fragments(block)
            for k, (start, end) in enumerate(fragments):
                if k:
                    story.append(RLPageBreak())
                if block.caption:
                    parts = block.caption.parts
                    aligns = [TA_LEFT, TA_CENTER, TA_RIGHT] if len(parts) == 3 else [TA_LEFT, TA_RIGHT]
                    cap = RLTable([[Paragraph(escape(p), cell_style(9, a)) for p, a in zip(parts, aligns)]],
                                  colWidths=[TEXT_WIDTH / len(parts)] * len(parts))
                    cap.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0),
                                             ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
                    story.append(cap)
                    story.append(Spacer(1, 3))
                h = block.header_rows
                rows = block.rows[:h] + block.rows[h + start:h + end]
                story.append(_rl_table(block, rows, start, RLTable, TableStyle, Paragraph, colors, cell_style, escape))
                story.append(Spacer(1, 6))

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 9)
        canvas.drawCentredString(A4[0] / 2, PAGE_MARGIN / 2, f"- {doc.page} -")
        canvas.restoreState()

    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=PAGE_MARGIN, rightMargin=PAGE_MARGIN,
                            topMargin=PAGE_MARGIN, bottomMargin=PAGE_MARGIN, title=title,
                            author="budgetkg tests/data/make_fixtures.py", creator="reportlab")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return doc.page


def _rl_table(block: Table, rows, start, RLTable, TableStyle, Paragraph, colors, cell_style, escape):
    h = block.header_rows
    size = block.font_size
    cells = []
    for r, row in enumerate(rows):
        out = []
        for c, text in enumerate(row):
            figure = is_number(text) and r >= h
            style = cell_style(block.number_font_size or size if figure else size)
            out.append(Paragraph("<br/>".join(escape(t) for t in text.split("\n")), style) if text else "")
        cells.append(out)
    commands = [("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]
    for r0, c0, r1, c1 in block.spans:
        if r1 < h:  # header spans repeat on every part
            commands.append(("SPAN", (c0, r0), (c1, r1)))
        elif r0 >= h + start and r1 < h + start + len(rows) - h:
            commands.append(("SPAN", (c0, r0 - start), (c1, r1 - start)))
    table = RLTable(cells, colWidths=block.widths, repeatRows=h)
    table.setStyle(TableStyle(commands))
    return table


def render_docx(blocks: list[Block], path: Path, title: str, page_marks: bool) -> None:
    """Write a DOCX with real tables; with ``page_marks``, Word's marks of where pages start.

    Marks are only written where the seed's pages are known (000); elsewhere they would be guesses.
    """
    import datetime
    import io
    import zipfile

    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.size = Pt(BODY_SIZE)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    when = datetime.datetime(2024, 1, 1, 0, 0, 0)
    props = doc.core_properties
    props.created = props.modified = props.last_printed = when
    props.title, props.author, props.last_modified_by = title, "budgetkg tests/data/make_fixtures.py", "budgetkg"
    page_mark = [False]

    def mark(paragraph) -> None:
        """Word's mark that a page starts here (what the reader counts)."""
        if not (page_mark[0] and page_marks):
            return
        run = paragraph.runs[0] if paragraph.runs else paragraph.add_run()
        run._r.insert(0, OxmlElement("w:lastRenderedPageBreak"))
        page_mark[0] = False

    for block in blocks:
        if isinstance(block, Para):
            p = doc.add_heading(block.text, level=block.level) if block.level else doc.add_paragraph(block.text)
            if not block.level:
                p.paragraph_format.first_line_indent = Pt(2 * BODY_SIZE)
            mark(p)
        elif isinstance(block, PageBreak):
            doc.add_page_break()
            page_mark[0] = True
        elif isinstance(block, Table):
            if block.caption:
                mark(doc.add_paragraph(" ".join(block.caption.parts)))
            ncols = len(block.rows[0])
            table = doc.add_table(rows=len(block.rows), cols=ncols)
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            covered = set()
            for r0, c0, r1, c1 in block.spans:
                table.cell(r0, c0).merge(table.cell(r1, c1))
                covered |= {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)} - {(r0, c0)}
            for r, row in enumerate(block.rows):
                for c, text in enumerate(row):
                    if (r, c) in covered:
                        continue
                    cell = table.cell(r, c)
                    lines = text.split("\n")
                    cell.text = lines[0]
                    for extra in lines[1:]:
                        cell.add_paragraph(extra)
                    for p in cell.paragraphs:
                        for run in p.runs:
                            run.font.size = Pt(block.font_size)
            for r in range(block.header_rows):  # Word repeats these rows on every page
                table.rows[r]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
            for c, width in enumerate(block.widths):
                for cell in table.columns[c].cells:
                    cell.width = Pt(width)
            if page_mark[0]:
                mark(table.cell(0, 0).paragraphs[0])
            for b in block.breaks:  # the original turned the page before these rows
                if 0 < b < len(block.rows) - block.header_rows:
                    page_mark[0] = True
                    mark(table.cell(block.header_rows + b, 0).paragraphs[0])
            doc.add_paragraph()
    buffer = io.BytesIO()
    doc.save(buffer)
    # python-docx stamps zip entries with the current time; fix them so the bytes are reproducible.
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))


# ====================================================================== main

FIXTURES = {
    # fixture stem: (seed file, converter, title)
    "000_hebei_budget": ("000_bd07622c98d0036c.txt", hebei_blocks, "乐亭县医疗保障局 2023 年部门预算"),
    "003_shanxi_budget": ("003_4b03bed591dded21.txt", markdown_blocks, "兴县医疗保障局 2023 年度部门预算公开"),
}


def seed_page_count(text: str) -> int:
    """Pages of a seed whose pages open with a line starting with a space (seed 000)."""
    return 1 + sum(1 for k, line in enumerate(text.split("\n")) if k and line.startswith(" ") and line.strip())


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for stem, (seed, convert, title) in FIXTURES.items():
        text = (SEEDS / seed).read_text(encoding="utf-8")
        blocks = convert(text)
        pages = render_pdf(blocks, OUT / f"{stem}.pdf", title)
        render_docx(blocks, OUT / f"{stem}.docx", title, page_marks=convert is hebei_blocks)
        print(f"{stem}: {len(blocks)} blocks, PDF {pages} pages "
              f"({(OUT / f'{stem}.pdf').stat().st_size // 1024} KB), "
              f"DOCX {(OUT / f'{stem}.docx').stat().st_size // 1024} KB")
        if convert is hebei_blocks and pages != seed_page_count(text):
            print(f"  PDF has {pages} pages, the seed {seed_page_count(text)}: pages no longer match", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
