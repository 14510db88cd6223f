"""Interpreters of the standard money tables: coded budget lines, summary tables, single totals.

* ``CodedTable`` turns every coded row (功能分类 2xx / 经济分类 3xx) into a ``BudgetLine`` with the
  合计 column as amount and the 基本/项目/上年结转/人员/公用 columns where the header has them; its
  合计 row becomes stated figures. 003's economic table prints names without codes: those rows
  become lines with ``code=None``. Rows without any amount (empty tables that still list codes)
  yield nothing.
* ``SummaryTable`` reads the label/amount pairs of 收支总表 and 财政拨款收支总表 (本年收入合计,
  上年结转, 收入总计 …), whatever column they sit in.
* ``TotalsTable`` reads the one total of the 三公, 机关运行经费 and 固定资产 tables.
"""
from __future__ import annotations

import re
from decimal import Decimal

from ingest.layouts.table_columns import ColumnMap, is_total_row
from ingest.layouts.table_context import TableReader
from ingest.layouts.table_rows import Row, compact, is_amount, is_code, is_numbering_row, tidy
from ingest.layouts.table_vocab import TOTAL_LABELS, label
from ingest.model import BudgetLine, ClassificationKind, Measure, TableKind
from ingest.normalize import FUNCTION_CODE_RE

_CODE_NAME_RE = re.compile(r"^\s*(?P<code>[235]\d{2}(?:\d{2}(?:\d{2})?)?)\s+(?P<name>\D.*)$")
_EXPENDITURE_TABLES = {TableKind.EXPENDITURE, TableKind.GENERAL_EXPENDITURE, TableKind.FUND_EXPENDITURE,
                       TableKind.STATE_CAPITAL}


def _is_seq(cell: str) -> bool:
    c = compact(cell)
    return c.isdigit() and len(c) <= 3 and not is_code(c)


class CodedTable(TableReader):
    """收入总表, 支出总表, 一般公共预算支出表, 基本支出表, 政府性基金/国有资本经营支出表."""

    def feed(self, row: Row) -> None:
        if self.header.offer(row) or is_numbering_row(row):
            return
        self.header.data_seen()
        cmap = self.header.columns
        if is_total_row(row):
            self._total(row, cmap)
            return
        line = self._line(row, cmap)
        if line is not None:
            self.ctx.builder.line(line)

    # -------------------------------------------------------------- data rows

    def _code_column(self, cmap: ColumnMap | None) -> int | None:
        """The code column; of several (a 收支 table with both sides) the one before 合计."""
        if cmap is None:
            return None
        codes = cmap.all("code")
        total = cmap.amount_column()
        if len(codes) > 1 and total is not None:
            before = [c for c in codes if c < total]
            return before[-1] if before else codes[0]
        return codes[0] if codes else None

    def _locate(self, row: Row, cmap: ColumnMap | None) -> tuple[str | None, str, int]:
        """(code, name, column shift) of a data row; code None when the row carries none."""
        code_col = self._code_column(cmap)
        name_col = cmap.first("name") if cmap else None
        if code_col is not None:
            cell = row.cell(code_col)
            if is_code(cell):
                return compact(cell), row.cell(name_col) if name_col is not None else "", 0
            m = _CODE_NAME_RE.match(cell)
            if m:
                return m.group("code"), m.group("name"), 0
        # Misaligned or header-less rows: the first cell holding a code, the name after it.
        for i, cell in enumerate(row.cells[:4]):
            m = _CODE_NAME_RE.match(cell)
            if is_code(cell) or m:
                code = compact(cell) if is_code(cell) else m.group("code")
                name = "" if is_code(cell) else m.group("name")
                if not name:
                    name = next((c for c in row.cells[i + 1:] if c.strip() and not is_amount(c)), "")
                shift = i - code_col if code_col is not None else 0
                return code, name, shift
        if cmap is not None and code_col is None and self.ctx.table == TableKind.BASIC_ECONOMIC:
            # 003 prints its economic table by name only (部门预算支出经济科目名称).
            return None, row.cell(name_col if name_col is not None else 0), 0
        return None, "", 0

    def _line(self, row: Row, cmap: ColumnMap | None) -> BudgetLine | None:
        code, name, shift = self._locate(row, cmap)
        table = self.ctx.table
        name = tidy(name)
        if not name or label(name) in TOTAL_LABELS or (code is None and table != TableKind.BASIC_ECONOMIC):
            return None
        if code is None or not FUNCTION_CODE_RE.match(code):
            kind = ClassificationKind.ECONOMIC
        else:
            kind = ClassificationKind.FUNCTION
        line = BudgetLine(table=table, kind=kind, code=code, name=name,
                          span=self.ctx.builder.span(row.line_start, row.line_end))
        money = self.ctx.money
        total_col = cmap.amount_column() if cmap else None
        if total_col is not None:
            def at(role: str) -> Decimal | None:
                col = cmap.first(role)
                return money(row.cell(col + shift)) if col is not None else None

            line.amount = money(row.cell(total_col + shift))
            line.basic_amount = at("basic")
            line.project_amount = at("project")
            line.carryover_amount = at("carryover")
            line.personnel_amount = at("personnel")
            line.public_amount = at("public")
        else:
            # No header to go by: the first number is the 合计; three numbers in an expenditure
            # table are 合计/基本/项目 in the standard order.
            numbers = [money(c) for c in row.cells if is_amount(c) and not is_code(c) and not _is_seq(c)]
            line.inferred_columns = True
            if numbers:
                line.amount = numbers[0]
            if len(numbers) == 3 and table in _EXPENDITURE_TABLES:
                line.basic_amount, line.project_amount = numbers[1], numbers[2]
            if len(numbers) == 3 and table == TableKind.BASIC_ECONOMIC:
                line.personnel_amount, line.public_amount = numbers[1], numbers[2]
        amounts = (line.amount, line.basic_amount, line.project_amount, line.carryover_amount,
                   line.personnel_amount, line.public_amount)
        return line if any(a is not None for a in amounts) else None

    # -------------------------------------------------------------- 合计 row

    def _total(self, row: Row, cmap: ColumnMap | None) -> None:
        table = self.ctx.table
        if cmap is None:
            return
        builder, money = self.ctx.builder, self.ctx.money
        span = builder.span(row.line_start, row.line_end)
        quote = " ".join(c.strip() for c in row.filled)

        def emit(role: str, measure: Measure, context: str | None = None) -> None:
            for col in cmap.all(role):
                if context is not None and context not in cmap.texts[col]:
                    continue
                value = money(row.cell(col))
                if value is not None:
                    builder.figure(measure, value, table, span, quote)
                return

        if table == TableKind.REVENUE:
            col = cmap.first("amount")
            if col is not None and (value := money(row.cell(col))) is not None:
                measure = Measure.CURRENT_YEAR_REVENUE if "本年" in cmap.texts[col] else Measure.TOTAL_REVENUE
                builder.figure(measure, value, table, span, quote)
            emit("subtotal", Measure.CURRENT_YEAR_REVENUE, "本年")
            emit("carryover", Measure.CARRYOVER)
            emit("general", Measure.GENERAL_BUDGET_REVENUE)
        elif table in (TableKind.EXPENDITURE, TableKind.GENERAL_EXPENDITURE):
            emit("basic", Measure.BASIC_EXPENDITURE)
            emit("project", Measure.PROJECT_EXPENDITURE)
        elif table == TableKind.BASIC_ECONOMIC:
            emit("personnel", Measure.PERSONNEL)
            emit("public", Measure.PUBLIC)


# ------------------------------------------------------------------ summary tables

_GENERAL_REVENUE_RE = re.compile(r"^一般公共预算(?:财政)?(?:拨款)?(?:收入)?$")


def _summary_measure(text: str) -> Measure | None:
    if text in {"本年收入合计", "本年收入总计"}:
        return Measure.CURRENT_YEAR_REVENUE
    if text in {"本年支出合计", "本年支出总计"}:
        return Measure.CURRENT_YEAR_EXPENDITURE
    if text.startswith(("上年结转", "上年财政拨款结转", "年初财政拨款结转", "年初结转", "上年结余")):
        return Measure.CARRYOVER
    if text == "收入总计":
        return Measure.TOTAL_REVENUE
    if text == "支出总计":
        return Measure.TOTAL_EXPENDITURE
    return None


class SummaryTable(TableReader):
    """收支总表 / 财政拨款收支总表: totals printed as label, amount pairs on either side."""

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._after_current = False  # rows below 本年收入合计 break down the carry-over

    def feed(self, row: Row) -> None:
        self.header.offer(row)  # only to know the table's width; every row is scanned for pairs
        builder = self.ctx.builder
        cells = row.cells
        first_label = True
        for i, cell in enumerate(cells):
            text = label(cell)
            if not text or is_amount(cell):
                continue
            value = self._value_after(cells, i)
            measure = _summary_measure(text)
            if measure is None and first_label and not self._after_current and _GENERAL_REVENUE_RE.match(text):
                measure = Measure.GENERAL_BUDGET_REVENUE
            first_label = False
            if measure == Measure.CURRENT_YEAR_REVENUE:
                self._after_current = True
            if measure is not None and value is not None:
                builder.figure(measure, value, self.ctx.table, builder.span(row.line_start, row.line_end),
                               f"{cell.strip()} {value}")

    def _value_after(self, cells: tuple[str, ...], i: int) -> Decimal | None:
        for cell in cells[i + 1:i + 3]:
            if not cell.strip():
                continue
            return self.ctx.money(cell) if is_amount(cell) else None
        return None


# ------------------------------------------------------------------ single totals

_TOTAL_MEASURES = {
    TableKind.THREE_PUBLIC: (Measure.THREE_PUBLIC, TOTAL_LABELS),
    TableKind.OPERATING: (Measure.OPERATING_COSTS, TOTAL_LABELS),
    TableKind.ASSETS: (Measure.FIXED_ASSETS, TOTAL_LABELS | {"资产总额", "资产总计"}),
}


class TotalsTable(TableReader):
    """三公经费表, 机关运行经费表, 固定资产占用情况表: the first total row is the figure."""

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._done = False

    def feed(self, row: Row) -> None:
        if self.header.offer(row) or is_numbering_row(row) or self._done:
            return
        self.header.data_seen()
        measure, labels = _TOTAL_MEASURES.get(self.ctx.table, (None, set()))
        filled = [(i, c) for i, c in enumerate(row.cells) if c.strip() and not _is_seq(c)]
        if measure is None or not filled or label(filled[0][1]) not in labels:
            return
        cmap = self.header.columns
        col = cmap.amount_column() if cmap else None
        value = self.ctx.money(row.cell(col)) if col is not None else None
        if value is None and col is None:
            value = next((self.ctx.money(c) for _, c in filled[1:] if is_amount(c)), None)
        if value is None:
            return
        self._done = True
        builder = self.ctx.builder
        builder.figure(measure, value, self.ctx.table, builder.span(row.line_start, row.line_end),
                       " ".join(c.strip() for _, c in filled))
