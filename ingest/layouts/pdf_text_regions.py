"""Cut PDF-extracted text into table regions: where each table starts, what kind it is, where it ends.

A region runs from a table title ("部门预算收入总表", "1、医保鉴定评审费绩效目标表",
"（四）部门整体支出绩效指标") to the next title or to the first line that cannot belong to a table
(a section heading, a prose paragraph). Regions know nothing of cells; the table parsers do.
Line indexes here are 0-based positions in ``SourceText.lines``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.model import TableKind

PERFORMANCE = "performance"  # a project/fund 绩效目标表
DEPARTMENT_INDICATORS = "department-indicators"  # 部门整体(支出)绩效指标 table

# Coded and summary table titles: the first keyword found decides the kind. Order matters:
# "财政拨款收支总表" before "收支总表", "基本支出表" before "一般公共预算".
# 决算 (final accounts) documents name the same tables 收入支出决算总表, 收入决算表, 支出决算表 …
_TITLE_KEYWORDS: list[tuple[str, TableKind]] = [
    ("财政拨款收支总表", TableKind.FISCAL_SUMMARY),
    ("财政拨款收入支出决算总表", TableKind.FISCAL_SUMMARY),
    ("收支总表", TableKind.SUMMARY),
    ("收入支出决算总表", TableKind.SUMMARY),
    ("收入总表", TableKind.REVENUE),
    ("收入决算表", TableKind.REVENUE),
    ("支出总表", TableKind.EXPENDITURE),
    ("三公", TableKind.THREE_PUBLIC),
    ("基本支出表", TableKind.BASIC_ECONOMIC),
    ("基本支出决算表", TableKind.BASIC_ECONOMIC),
    ("基金", TableKind.FUND_EXPENDITURE),
    ("国有资本", TableKind.STATE_CAPITAL),
    ("一般公共预算", TableKind.GENERAL_EXPENDITURE),
    ("支出决算表", TableKind.EXPENDITURE),
    ("机关运行经费", TableKind.OPERATING),
    ("上年结转", TableKind.PROJECT_CARRYOVER),
    ("项目支出", TableKind.PROJECT),
    ("政府采购", TableKind.PROCUREMENT),
    ("资产", TableKind.ASSETS),
]

_PERF_TITLE_RE = re.compile(r"^(?:\d{1,3}\s*[、.．]\s*[、.．]?\s*)?(?P<name>\S.*?)\s*绩效目标表$")
_NUMBERED_RE = re.compile(r"^\d{1,3}\s*[、.．]")
_DEPT_TITLE_RE = re.compile(r"部门整体.{0,8}绩效(?:指标|目标)")
# Section headings end a performance table; coded tables have rows like "一、一般公共预算拨款收入"
# so only part headings ("第二部分 …") end those.
_HEADING_RE = re.compile(r"^(?:第[一二三四五六七八九十]+部分|[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)")
_PART_RE = re.compile(r"^第[一二三四五六七八九十]+部分")


@dataclass
class Region:
    kind: str  # a TableKind value, PERFORMANCE or DEPARTMENT_INDICATORS
    title: str  # as printed, wrapped title lines joined
    title_start: int
    start: int  # first body line
    end: int  # one past the last body line
    reaches_eof: bool  # no end marker was met: the document may have been cut inside this table


def _strip(line: str) -> str:
    return line.replace("\u3000", " ").replace("\xa0", " ").strip()


def _next_nonblank(lines: list[str], i: int) -> int | None:
    for j in range(i + 1, min(len(lines), i + 4)):
        if _strip(lines[j]):
            return j
    return None


def performance_title(lines: list[str], i: int) -> tuple[str, int] | None:
    """(project name, index of the last title line) when line i starts a 绩效目标表 title.

    A long title can wrap: "…（冀财社[2022]218 号）绩效目" / "标表"; then the next line completes it.
    """
    text = _strip(lines[i])
    if not text or len(text) > 160 or "。" in text:
        return None
    m = _PERF_TITLE_RE.match(text)
    if m:
        return m.group("name").strip(" 、.．"), i
    j = _next_nonblank(lines, i)
    if j is not None and _NUMBERED_RE.match(text):
        tail = _strip(lines[j])
        if len(tail) <= 6:
            m = _PERF_TITLE_RE.match(text + tail)
            if m:
                return m.group("name").strip(" 、.．"), j
    return None


def table_title_kind(text: str) -> TableKind | None:
    """The kind of a standard table from its title line, or None when the line is not a title."""
    text = _strip(text)
    if not (4 <= len(text) <= 40) or any(p in text for p in "，。；：:"):
        return None
    # Header cells such as "一般公共预算" also end in 预算; only the procurement table's title does.
    if not (text.endswith("表") or (text.endswith("预算") and "采购" in text)):
        return None
    for keyword, kind in _TITLE_KEYWORDS:
        if keyword in text:
            return kind
    return None


def department_title(text: str) -> bool:
    text = _strip(text)
    return len(text) <= 30 and "。" not in text and bool(_DEPT_TITLE_RE.search(text))


def _is_prose(text: str) -> bool:
    """A narrative paragraph line: table cells are short and carry no sentence punctuation."""
    return "。" in text or (len(text) > 20 and "，" in text)


# Tables whose rows are themselves numbered "一、…" (收支总表, "三公"表) or coded: only a part
# heading or prose ends them. The others end at any section heading too.
_ROWS_WITH_NUMERALS = {TableKind.SUMMARY.value, TableKind.FISCAL_SUMMARY.value, TableKind.THREE_PUBLIC.value,
                       TableKind.REVENUE.value, TableKind.EXPENDITURE.value, TableKind.GENERAL_EXPENDITURE.value,
                       TableKind.BASIC_ECONOMIC.value, TableKind.FUND_EXPENDITURE.value,
                       TableKind.STATE_CAPITAL.value}


def _ends_region(kind: str, text: str) -> bool:
    if kind in (PERFORMANCE, DEPARTMENT_INDICATORS):
        return bool(_HEADING_RE.match(text))
    if kind not in _ROWS_WITH_NUMERALS and _HEADING_RE.match(text):
        return True
    return bool(_PART_RE.match(text)) or _is_prose(text)


def _title_at(lines: list[str], i: int) -> tuple[str, str, int] | None:
    """(kind, title, last title line) when a table title starts at line i."""
    perf = performance_title(lines, i)
    if perf:
        name, last = perf
        title = "".join(_strip(lines[k]) for k in range(i, last + 1))
        return PERFORMANCE, title, last
    text = _strip(lines[i])
    if department_title(text):
        return DEPARTMENT_INDICATORS, text, i
    kind = table_title_kind(text)
    if kind is not None:
        return kind.value, text, i
    return None


def find_regions(lines: list[str]) -> list[Region]:
    """Every table region of the document, in order."""
    regions: list[Region] = []
    current: Region | None = None
    i = 0
    while i < len(lines):
        text = _strip(lines[i])
        found = _title_at(lines, i) if text else None
        if found:
            if current:
                current.end, current.reaches_eof = i, False
            kind, title, last = found
            current = Region(kind, title, i, last + 1, len(lines), True)
            regions.append(current)
            i = last + 1
            continue
        if current and current.reaches_eof and text and _ends_region(current.kind, text):
            current.end, current.reaches_eof = i, False
            current = None
        i += 1
    return regions
