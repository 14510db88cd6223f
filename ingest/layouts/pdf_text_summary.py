"""Labelled tables without codes (收支总表, 财政拨款收支总表, "三公"经费表, 固定资产表) -> figures.

These tables are read as label runs: the printed label (joined across broken lines, "本年收入" /
"合计") and the numbers right after it. Only the labels that state a disclosure-level figure are
kept; the first occurrence in a table wins, which matters for 财政拨款收支总表 where "一、一般公共
预算拨款" is printed twice (revenue, then the carry-over breakdown).
"""
from __future__ import annotations

import re
from decimal import Decimal

from ingest.layouts.pdf_text_tokens import LabelRun, Token, label_runs
from ingest.model import FigureSource, Measure, Span, StatedFigure, TableKind

# (label endings, measure, which number of the run: 0 first, -1 last)
_SUMMARY_LABELS: list[tuple[tuple[str, ...], Measure, int]] = [
    (("本年收入合计",), Measure.CURRENT_YEAR_REVENUE, 0),
    (("本年支出合计",), Measure.CURRENT_YEAR_EXPENDITURE, 0),
    (("上年结转结余", "上年结转", "上年结余", "年初财政拨款结转和结余", "年初结转和结余"), Measure.CARRYOVER, 0),
    (("收入总计",), Measure.TOTAL_REVENUE, 0),
    (("支出总计",), Measure.TOTAL_EXPENDITURE, 0),
    (("一般公共预算拨款收入", "一般公共预算拨款", "一般公共预算财政拨款收入", "一般公共预算财政拨款"),
     Measure.GENERAL_BUDGET_REVENUE, 0),
]
_THREE_PUBLIC_LABELS = [(("合计",), Measure.THREE_PUBLIC, 0), (("小计",), Measure.THREE_PUBLIC, 0)]
_ASSET_LABELS = [(("资产总额", "资产合计"), Measure.FIXED_ASSETS, -1)]

LABELS = {
    TableKind.SUMMARY: _SUMMARY_LABELS,
    TableKind.FISCAL_SUMMARY: _SUMMARY_LABELS,
    TableKind.THREE_PUBLIC: _THREE_PUBLIC_LABELS,
    TableKind.ASSETS: _ASSET_LABELS,
}
SUMMARY_KINDS = frozenset(LABELS)


def _label_text(run: LabelRun) -> str:
    # Dashes stand for an empty 数量 cell ("资产总额 —— 427.69"); quotes vary (“三公”).
    return re.sub(r"[—\-－\s]+$", "", run.label)


def parse_summary(kind: TableKind, title: str, tokens: list[Token], page_of) -> list[StatedFigure]:
    """The figures a labelled table states, one per measure (first occurrence)."""
    figures: dict[Measure, StatedFigure] = {}
    runs = [r for r in label_runs(tokens) if r.numbers]
    # For the "三公" table the 合计 row, when printed, outranks the 小计 row: try labels in order.
    for endings, measure, which in LABELS[kind]:
        if measure in figures:
            continue
        for run in runs:
            ending = next((e for e in endings if _label_text(run).endswith(e)), None)
            if ending:
                start, end = _tail_lines(run, ending)
                figures[measure] = StatedFigure(
                    measure, run.numbers[which], FigureSource.TABLE, Span(start, end, page_of(start)),
                    kind.value, f"{title}: {ending} " + " ".join(str(n) for n in run.numbers))
                break
    return list(figures.values())


def _tail_lines(run: LabelRun, ending: str) -> tuple[int, int]:
    """Lines from the label token that starts ``ending`` to the last number: a run can begin with
    header text when a table prints no 栏次 line to end its header."""
    text = ""
    first = run.lines[0]
    for token in reversed(run.label_tokens):
        text = token.text + text
        first = token.line
        if ending in re.sub(r"[—\-－\s]+$", "", text):
            break
    return first, run.lines[1]


def summary_complete(kind: TableKind, tokens: list[Token], figures: list[StatedFigure]) -> bool:
    """False for a labelled table that stops early (used when the document ends inside it)."""
    if kind in (TableKind.SUMMARY, TableKind.FISCAL_SUMMARY):
        return any(f.measure == Measure.TOTAL_EXPENDITURE for f in figures)
    if kind == TableKind.THREE_PUBLIC:
        # The standard "三公" table always closes with its 公务接待费 row.
        return "公务接待" in "".join(t.text for t in tokens[-12:])
    if kind == TableKind.ASSETS:
        return _assets_add_up(tokens, figures)
    return bool(tokens)


def _assets_add_up(tokens: list[Token], figures: list[StatedFigure]) -> bool:
    """The numbered asset classes ("1、房屋", "2、车辆" …) sum to 资产总额 once all are printed."""
    total = next((f.value for f in figures if f.measure == Measure.FIXED_ASSETS), None)
    if total is None:
        return False
    items = []
    for run in label_runs(tokens):
        starts = [m.start() for m in re.finditer(r"\d、", run.label)]
        if starts and run.numbers and "其中" not in run.label[starts[-1]:]:
            items.append(run.numbers[-1])
    return bool(items) and abs(sum(items) - total) <= Decimal("0.005") * (len(items) + 1)
