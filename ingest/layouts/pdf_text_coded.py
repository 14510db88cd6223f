"""Coded tables (收入总表, 支出总表, 一般公共预算支出表, 基本支出表, fund tables) -> ``BudgetLine``s.

Rows are found in the repaired token stream: a row starts with the next expected 序号 followed by a
classification code (possibly broken: "2080" / "505") or the 合计 label; everything up to the next
row start is that row's name fragments and numbers, wherever the page breaks put them. Column
placement of the numbers is left to ``pdf_text_columns``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ingest.layouts import pdf_text_columns as columns
from ingest.layouts.pdf_text_tokens import DASHES, NumberAssembler, Token, completes, is_numeric, uses_decimals
from ingest.model import (BudgetLine, ClassificationKind, FigureSource, Finding, Measure, Severity, Span,
                          StatedFigure, TableKind)
from ingest.normalize import economic_parent, function_parent, join_fragments

_TOTAL_LABELS = ("合计", "总计")

SCHEMAS = {
    TableKind.REVENUE: columns.REVENUE,
    TableKind.EXPENDITURE: columns.EXPENDITURE,
    TableKind.GENERAL_EXPENDITURE: columns.BASIC_PROJECT,
    TableKind.FUND_EXPENDITURE: columns.BASIC_PROJECT,
    TableKind.STATE_CAPITAL: columns.BASIC_PROJECT,
    TableKind.BASIC_ECONOMIC: columns.ECONOMIC,
}
CODED_KINDS = frozenset(SCHEMAS)

# Schema column -> BudgetLine field.
_FIELDS = {"basic": "basic_amount", "project": "project_amount", "carryover": "carryover_amount",
           "personnel": "personnel_amount", "public": "public_amount"}
# Figures stated by the 合计 row: (table, schema column or "total") -> measure.
# Every table that prints a figure states it (the checks compare them), whatever the layout.
_TOTAL_FIGURES = {
    TableKind.REVENUE: [("total", Measure.TOTAL_REVENUE), ("subtotal", Measure.CURRENT_YEAR_REVENUE),
                        ("carryover", Measure.CARRYOVER)],
    TableKind.EXPENDITURE: [("basic", Measure.BASIC_EXPENDITURE), ("project", Measure.PROJECT_EXPENDITURE)],
    TableKind.GENERAL_EXPENDITURE: [("basic", Measure.BASIC_EXPENDITURE), ("project", Measure.PROJECT_EXPENDITURE)],
    TableKind.BASIC_ECONOMIC: [("personnel", Measure.PERSONNEL), ("public", Measure.PUBLIC)],
}


@dataclass
class RawRow:
    number: int | None
    code: str | None
    label: str | None
    names: list[str] = field(default_factory=list)
    amounts: list[Decimal] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def span(self, page_of) -> Span:
        return Span(min(self.lines), max(self.lines), page_of(min(self.lines)))


@dataclass
class CodedResult:
    lines: list[BudgetLine]
    figures: list[StatedFigure]
    findings: list[Finding]
    rows: list[RawRow]
    complete: bool  # False when the table looks cut off (see ``looks_complete``)


def _code_rules(kind: TableKind) -> tuple[str, tuple[int, ...]]:
    """(allowed first digits, allowed lengths) of the classification codes of a table."""
    if kind == TableKind.BASIC_ECONOMIC:
        return "35", (3, 5)
    return "2", (3, 5, 7)


def take_code(tokens: list[Token], j: int, kind: TableKind) -> tuple[str, int] | None:
    """(code, tokens used) when tokens[j:] start with a classification code, joining fragments
    ("2080" + "505" -> 2080505) until the length is a valid one."""
    first_digits, lengths = _code_rules(kind)
    code, k = "", j
    while k < len(tokens) and tokens[k].text.isdigit() and len(code) + len(tokens[k].text) <= max(lengths):
        # Narrow columns break a code after its 类 part at the earliest ("2080" / "505").
        if not code and (tokens[k].text[0] not in first_digits or len(tokens[k].text) < 3):
            return None
        code += tokens[k].text
        k += 1
        if len(code) in lengths and not _code_goes_on(tokens, k, code, lengths):
            break
    return (code, k - j) if len(code) in lengths and k > j else None


def _code_goes_on(tokens: list[Token], k: int, code: str, lengths: tuple[int, ...]) -> bool:
    # A valid-length code still continues when the next digits make another valid length and a name,
    # not a number, follows them: "20805" / "01" / "行政…" is 2080501.
    if k + 1 >= len(tokens):
        return False
    nxt, after = tokens[k].text, tokens[k + 1].text
    return nxt.isdigit() and len(code) + len(nxt) in lengths and not is_numeric(after)


def _label_at(tokens: list[Token], j: int) -> tuple[str, int] | None:
    if j < len(tokens) and tokens[j].text in _TOTAL_LABELS:
        return tokens[j].text, 1
    if j + 1 < len(tokens) and tokens[j].text + tokens[j + 1].text in _TOTAL_LABELS:  # "合 计"
        return tokens[j].text + tokens[j + 1].text, 2
    return None


def split_rows(tokens: list[Token], kind: TableKind) -> list[RawRow]:
    """The rows of a coded table body, numbers repaired, names joined."""
    numbered = bool(tokens) and tokens[0].text == "1"
    expected = 1
    rows: list[RawRow] = []
    current: RawRow | None = None
    numbers = NumberAssembler(keep_integers=not uses_decimals(tokens))
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if numbers.pending and _completes(numbers, token):
            _add_numbers(current, numbers.feed(token))
            i += 1
            continue
        start = _row_start(tokens, i, kind, expected if numbered else None)
        if start:
            _add_numbers(current, numbers.flush())
            row, used = start
            rows.append(row)
            current = row
            expected = (row.number or expected) + 1
            i += used
            continue
        if is_numeric(token.text):
            _add_numbers(current, numbers.feed(token))
        elif current is not None and token.text not in DASHES:
            _add_numbers(current, numbers.flush())
            current.names.append(token.text)
            current.lines.append(token.line)
        i += 1
    _add_numbers(current, numbers.flush())
    return rows


def _completes(numbers: NumberAssembler, token: Token) -> bool:
    return completes("".join(t.text for t in numbers.pending), token.text)


def _add_numbers(row: RawRow | None, finished: list[tuple[Decimal, list[Token]]]) -> None:
    if row is None:
        return
    for value, parts in finished:
        row.amounts.append(value)
        row.lines.extend(t.line for t in parts)


def _row_start(tokens: list[Token], i: int, kind: TableKind, expected: int | None) -> tuple[RawRow, int] | None:
    """A new row at tokens[i]: [序号] then a code or the 合计 label."""
    number = None
    j = i
    if expected is not None:
        text = tokens[i].text
        # Tolerate one 序号 lost by the extractor.
        if not (text.isdigit() and int(text) in (expected, expected + 1)):
            return None
        number, j = int(text), i + 1
    label = _label_at(tokens, j)
    if label:
        row = RawRow(number, None, label[0], lines=[t.line for t in tokens[i:j + label[1]]])
        return row, j - i + label[1]
    code = take_code(tokens, j, kind)
    if code:
        row = RawRow(number, code[0], None, lines=[t.line for t in tokens[i:j + code[1]]])
        return row, j - i + code[1]
    return None


def parse_coded(kind: TableKind, title: str, tokens: list[Token], page_of) -> CodedResult:
    """Budget lines, 合计 figures and ambiguity notes of one coded table."""
    rows = split_rows(tokens, kind)
    schema = SCHEMAS[kind]
    parent_of = economic_parent if kind == TableKind.BASIC_ECONOMIC else function_parent
    root_row = next((r for r in rows if r.label), None)
    root = columns.Node(None, root_row.amounts if root_row else [],
                        columns.row_options(root_row.amounts, schema) if root_row else [])
    nodes = [columns.Node(r.code, r.amounts, columns.row_options(r.amounts, schema)) for r in rows if r.code]
    columns.build_tree(root, nodes, parent_of)
    columns.resolve(root, schema)
    coded_rows = [r for r in rows if r.code]
    lines, findings = [], []
    class_kind = ClassificationKind.ECONOMIC if kind == TableKind.BASIC_ECONOMIC else ClassificationKind.FUNCTION
    for row, node in zip(coded_rows, nodes):
        line = _budget_line(kind, class_kind, row, node, page_of)
        lines.append(line)
        if node.choice is None and len(row.amounts) > 1:
            findings.append(Finding(
                "ambiguous-columns", Severity.INFO,
                f"{title}: the columns of {row.code} {line.name} {' '.join(map(str, row.amounts))} "
                "cannot be told apart by arithmetic; only 合计 is recorded",
                spans=[line.span], subject=row.code))
    figures = _total_figures(kind, title, root_row, root, page_of)
    # A last row that arithmetic cannot place usually lost numbers to a cut.
    complete = (looks_complete(kind, rows, uses_decimals(tokens)) and bool(nodes) and nodes[-1].choice is not None
                and root.adds_up and all(n.adds_up for n in nodes))
    return CodedResult(lines, figures, findings, rows, complete)


def looks_complete(kind: TableKind, rows: list[RawRow], decimals: bool) -> bool:
    """False for a table that stops early: no 合计, a last row that is not a leaf code (项 or 款)
    or prints fewer numbers than a row must, a broken last number, or a parent whose children do
    not add up to it (its later children are missing)."""
    total = next((r for r in rows if r.label), None)
    coded = [r for r in rows if r.code]
    if total is None or not total.amounts or not coded:
        return False
    last = coded[-1]
    _, lengths = _code_rules(kind)
    if len(last.code) != max(lengths) or len(last.amounts) < min(2, len(total.amounts)):
        return False
    if decimals and any(a.as_tuple().exponent != -2 for a in last.amounts):
        return False
    parent_of = economic_parent if kind == TableKind.BASIC_ECONOMIC else function_parent
    by_code = {r.code: r for r in coded}
    sums: dict[str | None, list[Decimal]] = {}
    for row in coded:
        parent = parent_of(row.code)
        if row.amounts:
            sums.setdefault(parent if parent in by_code else None, []).append(row.amounts[0])
    totals = {code: r.amounts[0] for code, r in by_code.items() if r.amounts}
    totals[None] = total.amounts[0]
    return all(p in totals and columns.near(sum(v), totals[p], len(v)) for p, v in sums.items())


def _budget_line(kind: TableKind, class_kind: ClassificationKind, row: RawRow, node: columns.Node,
                 page_of) -> BudgetLine:
    line = BudgetLine(kind, class_kind, row.code, join_fragments(row.names),
                      amount=row.amounts[0] if row.amounts else None, span=row.span(page_of),
                      inferred_columns=node.inferred)
    for column, value in (node.choice or {}).items():
        if column in _FIELDS:
            setattr(line, _FIELDS[column], value)
    return line


def _total_figures(kind: TableKind, title: str, row: RawRow | None, root: columns.Node,
                   page_of) -> list[StatedFigure]:
    if row is None or not row.amounts:
        return []
    out = []
    quote = f"{title}: {row.label} " + " ".join(str(a) for a in row.amounts)
    for column, measure in _TOTAL_FIGURES.get(kind, []):
        value = row.amounts[0] if column == "total" else (root.choice or {}).get(column)
        if value is not None:
            out.append(StatedFigure(measure, value, FigureSource.TABLE, row.span(page_of), kind.value, quote))
    return out
