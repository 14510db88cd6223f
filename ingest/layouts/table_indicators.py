"""The 绩效指标 block of a 绩效目标表 or 申报表: one ``Indicator`` per row, levels carried down.

Column positions come from the header (一级指标, 二级指标, 三级指标, 绩效指标描述, 指标值,
指标值确定依据; 符号/值/单位 sub-columns where a template splits the value). Shanxi forms print an
实施期 half and an 年度 half side by side; only the first (left) occurrence of each header is
used, because the left half is printed in full and the right one truncated.

A 一级/二级 category printed once for several rows is carried down. Where a row is shifted
against its header (the Shanxi forms have such rows), the row is read by vocabulary instead:
leading category words (产出指标, 数量指标 …), then the indicator name, then its value.
"""
from __future__ import annotations

from ingest.layouts.table_context import DocBuilder, add_refs
from ingest.layouts.table_rows import Row, compact, plain, tidy
from ingest.layouts.table_vocab import is_level1_term, is_level2_term, is_level_term
from ingest.model import Indicator
from ingest.normalize import canonical_level1, parse_target_value

_ROLE_LABELS = [  # (role, exact labels), first match wins
    ("level1", {"一级指标", "一级"}),
    ("level2", {"二级指标", "二级"}),
    ("name", {"三级指标", "三级", "指标名称"}),
    ("description", {"绩效指标描述", "指标描述", "指标内容"}),
    ("value", {"指标值", "目标值", "年度指标值", "预期目标值"}),
    ("basis", {"指标值确定依据", "确定依据", "指标值设定依据", "设定依据"}),
    ("symbol", {"符号"}),
    ("number", {"值", "数值"}),
    ("unit", {"单位", "计量单位"}),
]


def is_indicator_header(row: Row) -> bool:
    """The header row of an indicator block: 一级指标 with 二级指标 or 三级指标."""
    labels = {compact(c) for c in row.cells}
    return "一级指标" in labels and bool(labels & {"二级指标", "三级指标"})


class IndicatorBlock:
    """Reads the rows of one indicator block into ``indicators`` (a project's or the department's)."""

    def __init__(self, header: Row, indicators: list[Indicator], builder: DocBuilder, owner=None) -> None:
        self.indicators = indicators
        self.builder = builder
        self.owner = owner  # the Project the indicators belong to, None for the department
        self.header_line = header.line_start
        self.header_cells = [compact(c) for c in header.cells]
        self.width = len(header.cells)
        self.pos: dict[str, int] = {}
        self._read_header(header)
        self.level1 = ""
        self.level2 = ""
        self.satisfaction_seen = False
        self.rows_read = 0
        self.last_row: Row | None = None

    def _read_header(self, header: Row) -> None:
        for i, cell in enumerate(header.cells):
            text = compact(cell)
            for role, labels in _ROLE_LABELS:
                if text in labels and role not in self.pos:
                    self.pos[role] = i
                    break

    def _sub_header(self, row: Row) -> bool:
        """A second header row (符号 | 值 | 单位 under 指标值): merged into the positions."""
        labels = [compact(c) for c in row.cells]
        if not {"符号", "值", "单位"} & set(labels) or any(is_level_term(c) for c in labels if c):
            return False
        self._read_header(row)
        if "number" in self.pos:
            self.pos.pop("value", None)  # the value is composed of 符号 + 值 + 单位
        return True

    # -------------------------------------------------------------- rows

    def feed(self, row: Row) -> None:
        self.last_row = row
        if self.rows_read == 0 and self._sub_header(row):
            return
        self.rows_read += 1
        cells = [plain(c) for c in row.cells]
        # A label column merged down the block ("绩效指标") is repeated in every row by some readers.
        for i in range(min(self.pos.get("level1", 0), len(cells))):
            if i < len(self.header_cells) and compact(cells[i]) == self.header_cells[i]:
                cells[i] = ""
        parsed = self._aligned(cells) or self._by_vocabulary(cells)
        level1, level2, name, fields = parsed
        if level1:
            self.level1, self.level2 = level1, ""
        if level2:
            self.level2 = level2
        name = tidy(name)
        if not name:
            return
        value = fields.get("value", "")
        if not value and fields.get("number"):
            value = "".join(fields.get(k, "") for k in ("symbol", "number", "unit"))
        target = parse_target_value(value)
        span = self.builder.span(row.line_start, row.line_end)
        basis = fields.get("basis") or None
        indicator = Indicator(level1=self.level1, level2=self.level2, name=name, target_value=target.text,
                              description=tidy(fields["description"]) if fields.get("description") else None,
                              comparator=target.comparator, number=target.number, unit=target.unit,
                              basis=basis, span=span)
        if basis:
            indicator.legal_refs = self.builder.citations(basis, span)
            if self.owner is not None:
                add_refs(self.owner.legal_refs, indicator.legal_refs)
        if canonical_level1(self.level1) == "satisfaction" or "满意" in self.level1:
            self.satisfaction_seen = True
        self.indicators.append(indicator)

    def _get(self, cells: list[str], role: str, shift: int = 0) -> str:
        i = self.pos.get(role)
        if i is None or i + shift < 0 or i + shift >= len(cells):
            return ""
        return cells[i + shift]

    def _aligned(self, cells: list[str]):
        """Read by header position when the row fits the header, else None."""
        p1, p2, p3 = self.pos.get("level1"), self.pos.get("level2"), self.pos.get("name")
        if p1 is None or p2 is None or p3 is None:
            return None
        if any(c for c in cells[:p1]):
            return None
        l1, l2, name = self._get(cells, "level1"), self._get(cells, "level2"), self._get(cells, "name")
        if (l1 and not is_level1_term(l1)) or (l2 and not is_level2_term(l2)) or (name and is_level_term(name)):
            return None
        fields = {role: self._get(cells, role) for role in ("description", "value", "basis", "symbol", "number", "unit")}
        return l1, l2, name, fields

    def _by_vocabulary(self, cells: list[str]):
        """Read a shifted row: [一级] [二级] 三级 then the value (and description/basis by offset)."""
        seq = list(cells)
        while seq and not seq[0]:
            seq.pop(0)
        l1 = l2 = ""
        i = 0
        if i < len(seq) and is_level_term(seq[i]):
            term = seq[i]
            following = seq[i + 1] if i + 1 < len(seq) else ""
            if is_level1_term(term) and (not is_level2_term(term) or is_level_term(following)):
                l1, i = term, i + 1
                if i < len(seq) and is_level2_term(seq[i]):
                    l2, i = seq[i], i + 1
            else:
                l2, i = term, i + 1
        name = seq[i] if i < len(seq) else ""
        if is_level_term(name):
            name = ""
        fields: dict[str, str] = {}
        if name:
            p3 = self.pos.get("name")

            def offset(role: str, default: int | None) -> int | None:
                p = self.pos.get(role)
                return p - p3 if p is not None and p3 is not None and p > p3 else default

            value_at = offset("value", 1)
            value = ""
            for j in range(i + value_at, min(i + value_at + 3, len(seq))):
                if seq[j] and not is_level_term(seq[j]):
                    value = seq[j]
                    break
                if seq[j]:
                    break  # the right half's category starts: no value on this side
            fields["value"] = value
            for role in ("description", "basis"):
                at = offset(role, None)
                if at is not None and i + at < len(seq) and not is_level_term(seq[i + at]):
                    fields[role] = seq[i + at]
        return l1, l2, name, fields

    # -------------------------------------------------------------- end

    def cut_short(self) -> str | None:
        """Why the block looks cut off when the text ends inside it, or None."""
        row = self.last_row
        if row is not None and self.rows_read and row.width < min(self.width, self._value_column() + 1):
            return f"its last row has {row.width} of {self.width} cells"
        if not self.satisfaction_seen:
            return "it has no 满意度 (satisfaction) rows"
        return None

    def _value_column(self) -> int:
        return self.pos.get("value", self.pos.get("number", self.width - 1))
