"""Figures and project lists stated in the narrative (情况说明), not in tables.

Sentences like ``2023年支出预算7895.40万元：…其中：基本支出601.40万元…项目支出7294.00万元，包括
医保专项业务费50.00万元，…`` give disclosure-level ``StatedFigure``s (source NARRATIVE) that the
checks compare with the tables, and the projects listed after 项目支出. Only the current year's
figures count: a figure under another year (2022年预算安排…), or one that is a change (增加, 减少,
比上年…), is skipped.

Input is prose that ``ingest.paragraphs`` already rejoined and tidied, so a figure broken over two
PDF lines (``人员经费`` / ``582.50 万元``) reads as one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ingest.model import FigureSource, Measure, Project, Span, StatedFigure
from ingest.normalize import to_wan
from ingest.paragraphs import Block

# (measure, label pattern). Labels are tried at every position; the longest label at a position wins.
_LABELS: list[tuple[Measure, str]] = [
    (Measure.TOTAL_REVENUE, r"部门预算收入总计|预算收入总计|收入预算总计|收入总计|收入预算|预算收入|收入总预算"),
    (Measure.TOTAL_EXPENDITURE, r"部门预算支出总计|预算支出总计|支出预算总计|支出总计|支出预算|预算支出|支出总预算"),
    (Measure.CURRENT_YEAR_REVENUE, r"本年收入(?:合计)?|当年拨款收入"),
    # Not 本年预算安排: in some templates 本年支出合计 includes carried-over spending, and that does not.
    (Measure.CURRENT_YEAR_EXPENDITURE, r"本年支出合计"),
    (Measure.GENERAL_BUDGET_REVENUE, r"一般公共预算(?:财政)?(?:拨款)?收入"),
    (Measure.BASIC_EXPENDITURE, r"基本支出"),
    (Measure.PROJECT_EXPENDITURE, r"项目支出"),
    (Measure.PERSONNEL, r"人员(?:类)?(?:项目)?经费"),
    (Measure.PUBLIC, r"(?:日常)?公用(?:类)?(?:项目)?经费"),
    (Measure.CARRYOVER, r"上年结转(?:结余)?(?:收入|资金)?"),
    (Measure.THREE_PUBLIC, r"[“\"'‘]?三公[”\"'’]?经费"),
    (Measure.OPERATING_COSTS, r"机关运行经费"),
    (Measure.PROCUREMENT, r"政府采购预算(?:总额)?"),
    (Measure.FIXED_ASSETS, r"(?<!购置)固定资产(?:金额|总值|原值)"),
]
_AMOUNT = r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*(?P<unit>万元|亿元|元)"
# Between label and amount: a few words (共计安排, 为, 预算), no number, no clause break.
_GAP = r"(?P<gap>[^，。；;,、：:\d（(]{0,10}?)"
_FIGURE_RES = [(measure, re.compile(rf"(?P<label>{label}){_GAP}{_AMOUNT}")) for measure, label in _LABELS]

# A change or a comparison, not a level.
_CHANGE_RE = re.compile(r"增|减|比|较|同比|相比|变动|差额|占")
# Labels that are part of a longer label of another source of funds (一般公共预算支出 is not 支出预算).
_FUND_PREFIX_RE = re.compile(r"(?:公共|基金|资本|经营|专户|核拨|政府性|财政)$")
_YEAR_RE = re.compile(r"((?:19|20)\d\d)\s*年")
_CLAUSE_BREAK = "，。；;,！？"
_SENTENCE_BREAK = "。；;！？"


def _amount(num: str, unit: str) -> Decimal | None:
    try:
        return to_wan(Decimal(num.replace(",", "")), unit)
    except InvalidOperation:
        return None


def _clause_start(text: str, pos: int, breaks: str = _CLAUSE_BREAK) -> int:
    k = pos
    while k > 0 and text[k - 1] not in breaks:
        k -= 1
    return k


def _clause_end(text: str, pos: int, breaks: str = _SENTENCE_BREAK) -> int:
    k = pos
    while k < len(text) and text[k] not in breaks:
        k += 1
    return k


def _is_current_year(text: str, label_start: int, year: int | None) -> bool:
    """False when the sentence dates the figure to another year (2022 年预算安排 8141.01 万元).

    The nearest year before the label in its sentence decides, skipping years that are only
    compared with (较 2022 年, 与 2022 年相比).
    """
    if year is None:
        return True
    start = _clause_start(text, label_start, _SENTENCE_BREAK)
    for m in reversed(list(_YEAR_RE.finditer(text, start, label_start))):
        before = text[max(start, m.start() - 2):m.start()]
        after = text[m.end():m.end() + 2]
        if re.search(r"[与较比同]$", before) or re.match(r"相比|比较|同期|底|末", after):
            continue
        return int(m.group(1)) == year
    return True


@dataclass
class FigureMatch:
    figure: StatedFigure
    block: Block
    end: int  # offset after the amount in the block's text


def find_figures(blocks: list[Block], fiscal_year: int | None, page_of=None) -> list[FigureMatch]:
    """Narrative figures in reading order; a measure stated twice with the same value is kept once."""
    found: list[FigureMatch] = []
    seen: set[tuple[Measure, Decimal]] = set()
    for block in blocks:
        text = block.text
        candidates: dict[int, tuple[int, Measure, re.Match[str]]] = {}
        for measure, pattern in _FIGURE_RES:
            for m in pattern.finditer(text):
                start = m.start("label")
                length = m.end("label") - start
                # The longest label at a position wins (预算收入总计 over 收入总计).
                if start not in candidates or length > candidates[start][0]:
                    candidates[start] = (length, measure, m)
        claimed: list[tuple[int, int]] = []
        for start in sorted(candidates):
            length, measure, m = candidates[start]
            label_end = start + length
            if any(s <= start < e for s, e in claimed):
                continue  # inside a longer label (一般公共预算收入 holds 预算收入)
            if _CHANGE_RE.search(m.group("gap")):
                continue
            before = text[max(0, start - 4):start]
            if measure in (Measure.TOTAL_REVENUE, Measure.TOTAL_EXPENDITURE) and _FUND_PREFIX_RE.search(before):
                continue
            if measure not in (Measure.CARRYOVER, Measure.FIXED_ASSETS) and before.endswith(("上年", "去年")):
                continue
            if not _is_current_year(text, start, fiscal_year):
                continue
            value = _amount(m.group("num"), m.group("unit"))
            if value is None:
                continue
            claimed.append((start, label_end))
            if (measure, value) in seen:
                continue
            seen.add((measure, value))
            first, last = block.lines_at(m.start("num"), m.end("unit"))
            # The sentence around the figure, at most 40 characters either side of it.
            quote_start = max(_clause_start(text, start, _SENTENCE_BREAK), start - 40)
            quote_end = min(_clause_end(text, m.end()), m.end() + 40)
            span = Span(first, last, page_of(first) if page_of else None)
            figure = StatedFigure(measure=measure, value=value, source=FigureSource.NARRATIVE, span=span,
                                  quote=text[quote_start:quote_end].strip())
            found.append(FigureMatch(figure, block, m.end()))
    return found


# ------------------------------------------------------------------ projects

_LIST_TRIGGER_RE = re.compile(r"(?:主要包括|具体包括|主要为|主要是|主要用于|包括|其中)[:：]?")
_MENTION_LIST_RE = re.compile(r"项目(?:主要)?(?:有|包括)[:：]?")
_ITEM_AMOUNT_RE = re.compile(rf"^(?P<name>.*?)\s*{_AMOUNT}$")
_NOT_PROJECTS = re.compile(r"^(?:本级支出|本级|人员经费|公用经费|基本支出|其他)$|人员支出|公用经费|人员经费|基本支出")


def _split_depth0(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Item ranges of a list (separated by ，、, outside brackets) between start and end."""
    items, depth, item_start = [], 0, start
    for k in range(start, end):
        ch = text[k]
        if ch in "（(【[":
            depth += 1
        elif ch in "）)】]":
            depth = max(0, depth - 1)
        elif depth == 0 and ch in "，、,":
            items.append((item_start, k))
            item_start = k + 1
    items.append((item_start, end))
    return items


def _list_end(text: str, start: int) -> int:
    """Where a list ends: the first 。 or ； outside brackets."""
    depth = 0
    for k in range(start, len(text)):
        ch = text[k]
        if ch in "（(【[":
            depth += 1
        elif ch in "）)】]":
            depth = max(0, depth - 1)
        elif depth == 0 and ch in _SENTENCE_BREAK:
            return k
    return len(text)


def _depth(text: str, start: int, pos: int) -> int:
    depth = 0
    for ch in text[start:pos]:
        if ch in "（(【[":
            depth += 1
        elif ch in "）)】]":
            depth = max(0, depth - 1)
    return depth


def _strip_brackets(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"[（(][^（()）]*[)）]", "", text)
    return text


def _items(block: Block, start: int, end: int, page_of) -> list[Project]:
    text = block.text
    projects = []
    parsed = []
    for s, e in _split_depth0(text, start, end):
        raw = _strip_brackets(text[s:e]).strip()
        raw = re.sub(r"^(?:和|及|以及|与|还有)", "", raw)
        raw = re.sub(r"等$", "", raw).strip()
        m = _ITEM_AMOUNT_RE.match(raw)
        name, amount = (m.group("name").strip(), _amount(m.group("num"), m.group("unit"))) if m else (raw, None)
        name = re.sub(r"(?:等|共计|合计|为)$", "", name).strip(" ：:")
        if len(name) < 2 or not re.search(r"[\u4e00-\u9fff]", name) or _NOT_PROJECTS.search(name):
            continue
        offset = s + (len(text[s:e]) - len(text[s:e].lstrip()))
        parsed.append((name, amount, offset))
    for name, amount, offset in parsed:
        first, _ = block.lines_at(offset, offset + len(name))
        source = "narrative" if amount is not None else "narrative-mention"
        projects.append(Project(name=name, amount=amount, sources=[source],
                                span=Span(first, first, page_of(first) if page_of else None)))
    return projects


def find_projects(figures: list[FigureMatch], blocks: list[Block], page_of=None) -> list[Project]:
    """Projects listed after the 项目支出 figure (with amounts when printed) and in 项目有… lists."""
    projects: list[Project] = []
    for match in figures:
        if match.figure.measure != Measure.PROJECT_EXPENDITURE:
            continue
        text = match.block.text
        end = _list_end(text, match.end)
        triggers = [t for t in _LIST_TRIGGER_RE.finditer(text, match.end, end)
                    if _depth(text, match.end, t.start()) == 0]
        if not triggers:
            continue
        projects.extend(_items(match.block, triggers[-1].end(), end, page_of))
    for block in blocks:
        for m in _MENTION_LIST_RE.finditer(block.text):
            projects.extend(_items(block, m.end(), _list_end(block.text, m.end()), page_of))
    return projects
