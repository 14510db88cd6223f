"""Header rows and what each column means.

A standard table prints one to three header rows above its data, with merged cells left empty
in the rows below or beside them ("项目 | | 本年收入 | … | 上年结转" over "科目编码 | 科目名称 | 合计
| 一般公共预算 | …"). Each column's role is read from its lowest non-empty header cell, the most
specific one, with the cells above it kept as context ("本年收入 合计" is this year's revenue).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ingest.layouts.table_rows import Row, compact, is_amount, is_code
from ingest.layouts.table_vocab import TOTAL_LABELS, label

# Words that make a row a header row when no cell holds a code or an amount.
_HEADER_WORDS = ("科目编码", "科目名称", "编码", "名称", "合计", "小计", "基本支出", "项目支出", "人员经费",
                 "公用经费", "上年结转", "本年收入", "一般公共预算", "政府性基金", "国有资本经营", "财政专户",
                 "单位资金", "预算数", "金额", "收入", "支出", "项目", "序号", "经济科目", "功能分类",
                 "数量", "价值", "资金来源", "资金性质")


def is_total_row(row: Row) -> bool:
    """A 合计 row: the first label is 合计/总计 and every other filled cell is a number."""
    filled = [c for c in row.filled if not (compact(c).isdigit() and len(compact(c)) <= 3)]
    if not filled or label(filled[0]) not in TOTAL_LABELS:
        return False
    return all(is_amount(c) for c in filled[1:])


def is_header_row(row: Row) -> bool:
    """A header row: no code, no amount, and at least one header word."""
    filled = row.filled
    if not filled or is_total_row(row):
        return False
    for cell in filled:
        c = compact(cell)
        if is_code(c) or (is_amount(c) and not (c.isdigit() and len(c) <= 2)):
            return False
    return any(word in compact(cell) for cell in filled for word in _HEADER_WORDS)


def _role(text: str) -> str | None:
    """The role of a column from one header label (compact text)."""
    t = text
    if t in {"序号", "栏次", "行次"}:
        return "seq"
    if "编码" in t or t in {"代码", "科目代码"}:
        return "code"
    if "上年结转" in t or t.startswith(("年初结转", "上年财政拨款结转")):
        return "carryover"
    if "人员经费" in t:
        return "personnel"
    if "公用经费" in t:
        return "public"
    if "基本支出" in t:
        return "basic"
    if "项目支出" in t:
        return "project"
    if "名称" in t:
        return "name"
    if t in TOTAL_LABELS or t.endswith("合计"):
        return "amount"
    if "小计" in t:
        return "subtotal"
    if t.startswith("一般公共预算"):
        return "general"
    if "价值" in t or "金额" in t:
        return "value"
    if t.endswith("预算数") or t.endswith("决算数"):
        return "budget"
    return None


@dataclass
class ColumnMap:
    """Column indices by role (several for repeated roles) and each column's header text."""

    roles: dict[str, list[int]] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)  # all header labels of a column, top to bottom
    width: int = 0

    def first(self, role: str) -> int | None:
        found = self.roles.get(role)
        return found[0] if found else None

    def all(self, role: str) -> list[int]:
        return list(self.roles.get(role, []))

    def amount_column(self) -> int | None:
        """The 合计 column, else 小计, else a 预算数/金额 column."""
        for role in ("amount", "subtotal", "budget", "value"):
            col = self.first(role)
            if col is not None:
                return col
        return None

    @classmethod
    def from_rows(cls, rows: list[Row]) -> "ColumnMap":
        width = max((len(r.cells) for r in rows), default=0)
        cmap = cls(width=width)
        for col in range(width):
            labels = [compact(r.cell(col)) for r in rows if compact(r.cell(col))]
            cmap.texts.append("".join(labels))
            role = None
            for text in reversed(labels):  # lowest (most specific) label first
                role = _role(text)
                if role:
                    break
            if role:
                cmap.roles.setdefault(role, []).append(col)
        return cmap


class HeaderBlock:
    """The header rows of the table being read; a header after data rows starts a new block
    (tables that run over several pages repeat their header)."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self._data_seen = False
        self._columns: ColumnMap | None = None

    def offer(self, row: Row) -> bool:
        """Take the row if it is a header row; True when taken."""
        if not is_header_row(row):
            return False
        if self._data_seen:
            self.rows, self._data_seen = [], False
        self.rows.append(row)
        self._columns = None
        return True

    def data_seen(self) -> None:
        self._data_seen = True

    @property
    def columns(self) -> ColumnMap | None:
        if not self.rows:
            return None
        if self._columns is None:
            self._columns = ColumnMap.from_rows(self.rows)
        return self._columns

    @property
    def width(self) -> int:
        return max((len(r.cells) for r in self.rows), default=0)
