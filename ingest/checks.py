"""Accounting checks: the arithmetic a disclosure's own figures must satisfy, as ``Finding``s.

Each check compares an expected figure with the one found, with a tolerance for rounding: a
difference of at most 0.01 万元 per summed item is rounding (severity INFO), beyond that it is an
inconsistency (ERROR). Checks only compare what the document states; a missing figure is no
finding. They run on the domain model, so every layout and format gets the same checks.

Checks: children sum to parents (类/款/项, and table 合计 rows); 基本支出 + 项目支出 = 合计 per
line and overall; 本年收入 + 上年结转 = 收入总计; 收入总计 = 支出总计; 人员经费 + 公用经费 =
基本支出; narrative figures = table figures (文数一致性); project lists add up to 项目支出;
arithmetic printed in the text ("640元*10%*65%=35.2元") is right.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from decimal import Decimal

from ingest.model import (BudgetLine, ClassificationKind, Disclosure, FigureSource, Finding, Measure, Severity,
                          Span, StatedFigure, TableKind)
from ingest.normalize import economic_parent, function_parent

ROUNDING = Decimal("0.01")
_COLUMNS = [("amount", "合计"), ("basic_amount", "基本支出"), ("project_amount", "项目支出"),
            ("carryover_amount", "上年结转"), ("personnel_amount", "人员经费"), ("public_amount", "公用经费")]


def tolerance_for(items: int) -> Decimal:
    """Rounding tolerance for a sum of ``items`` printed figures: 0.01 万元 per pair of items."""
    return ROUNDING * max(1, math.ceil(items / 2))


def _compare(disclosure: Disclosure, check: str, what: str, expected: Decimal, found: Decimal, items: int,
             spans: list[Span | None], subject: str | None = None) -> None:
    diff = abs(expected - found)
    if diff == 0:
        return
    tol = tolerance_for(items)
    severity = Severity.INFO if diff <= tol else Severity.ERROR
    kind = "rounding difference" if severity == Severity.INFO else "inconsistency"
    disclosure.findings.append(Finding(
        check=check, severity=severity,
        message=f"{what}: expected {expected}, found {found} ({kind} of {diff} 万元)",
        expected=expected, found=found, tolerance=tol, spans=[s for s in spans if s], subject=subject))


# ------------------------------------------------------------------ tables


def check_children_sum(disclosure: Disclosure) -> None:
    """Every 类/款 line equals the sum of its 款/项 children in the same table, column by column."""
    by_table: dict[TableKind, list[BudgetLine]] = defaultdict(list)
    for line in disclosure.budget_lines:
        if line.code:
            by_table[line.table].append(line)
    for table, lines in by_table.items():
        codes = {line.code: line for line in lines}
        children: dict[str, list[BudgetLine]] = defaultdict(list)
        for line in lines:
            parent = (function_parent if line.kind == ClassificationKind.FUNCTION else economic_parent)(line.code)
            if parent in codes:
                children[parent].append(line)
        for parent_code, kids in children.items():
            parent = codes[parent_code]
            for attr, label in _COLUMNS:
                expected = getattr(parent, attr)
                values = [getattr(k, attr) for k in kids]
                if expected is None or all(v is None for v in values):
                    continue
                found = sum((v for v in values if v is not None), Decimal(0))
                _compare(disclosure, "children-sum",
                         f"{table.value} table: {label} of {parent_code} {parent.name} vs the sum of its "
                         f"{len(kids)} sub-items", expected, found, len(kids),
                         [parent.span] + [k.span for k in kids], subject=parent_code)


def check_table_totals(disclosure: Disclosure) -> None:
    """The table's 合计 row (stated figures) equals the sum of its top-level (类) lines."""
    top_level = defaultdict(list)
    for line in disclosure.budget_lines:
        if line.code and len(line.code) == 3:
            top_level[line.table].append(line)
    pairs = [(TableKind.EXPENDITURE, Measure.BASIC_EXPENDITURE, "basic_amount"),
             (TableKind.EXPENDITURE, Measure.PROJECT_EXPENDITURE, "project_amount"),
             (TableKind.BASIC_ECONOMIC, Measure.PERSONNEL, "personnel_amount"),
             (TableKind.BASIC_ECONOMIC, Measure.PUBLIC, "public_amount")]
    for table, measure, attr in pairs:
        figure = _table_figure(disclosure, measure, table)
        lines = top_level.get(table, [])
        values = [getattr(line, attr) for line in lines if getattr(line, attr) is not None]
        if figure is None or not values:
            continue
        _compare(disclosure, "table-total", f"{table.value} table: 合计 {attr} vs the sum of its {len(values)} 类 "
                 "lines", figure.value, sum(values, Decimal(0)), len(values),
                 [figure.span] + [line.span for line in lines])


def check_basic_plus_project(disclosure: Disclosure) -> None:
    """基本支出 + 项目支出 = 合计 on every line that prints all three."""
    for line in disclosure.budget_lines:
        if None in (line.amount, line.basic_amount, line.project_amount):
            continue
        _compare(disclosure, "basic-plus-project",
                 f"{line.table.value} table: {line.code or ''} {line.name} 合计 vs 基本支出 + 项目支出",
                 line.amount, line.basic_amount + line.project_amount, 2, [line.span], subject=line.code)


# ------------------------------------------------------------------ disclosure figures


def _table_figure(disclosure: Disclosure, measure: Measure, table: TableKind | None = None) -> StatedFigure | None:
    for figure in disclosure.figures:
        if figure.measure == measure and figure.source == FigureSource.TABLE and (
                table is None or figure.table == table.value or figure.table == table):
            return figure
    return None


def _any_figure(disclosure: Disclosure, measure: Measure) -> StatedFigure | None:
    return disclosure.figure(measure)


def check_balances(disclosure: Disclosure) -> None:
    """本年收入 + 上年结转 = 收入总计; 收入总计 = 支出总计; 基本 + 项目 = 支出; 人员 + 公用 = 基本."""
    f = lambda m: _any_figure(disclosure, m)  # noqa: E731 - a local shorthand keeps the rules readable
    current, carry, total_rev = f(Measure.CURRENT_YEAR_REVENUE), f(Measure.CARRYOVER), f(Measure.TOTAL_REVENUE)
    if current and total_rev:
        carried = carry.value if carry else Decimal(0)
        _compare(disclosure, "revenue-balance", "收入总计 vs 本年收入合计 + 上年结转", total_rev.value,
                 current.value + carried, 2, [total_rev.span, current.span, carry.span if carry else None])
    total_exp = f(Measure.TOTAL_EXPENDITURE)
    if total_rev and total_exp:
        _compare(disclosure, "revenue-equals-expenditure", "支出总计 vs 收入总计", total_rev.value,
                 total_exp.value, 1, [total_rev.span, total_exp.span])
    basic, project = f(Measure.BASIC_EXPENDITURE), f(Measure.PROJECT_EXPENDITURE)
    if basic and project and total_exp:
        _compare(disclosure, "basic-plus-project", "支出总计 vs 基本支出 + 项目支出", total_exp.value,
                 basic.value + project.value, 2, [total_exp.span, basic.span, project.span])
    personnel, public = f(Measure.PERSONNEL), f(Measure.PUBLIC)
    if personnel and public and basic:
        _compare(disclosure, "personnel-plus-public", "基本支出 vs 人员经费 + 公用经费", basic.value,
                 personnel.value + public.value, 2, [basic.span, personnel.span, public.span])


def check_narrative_vs_table(disclosure: Disclosure) -> None:
    """文数一致性: a figure stated in the narrative equals the same figure in the tables."""
    for measure in Measure:
        table = [x for x in disclosure.figures if x.measure == measure and x.source == FigureSource.TABLE]
        prose = [x for x in disclosure.figures if x.measure == measure and x.source == FigureSource.NARRATIVE]
        if not table or not prose:
            continue
        reference = table[0]
        for stated in prose:
            _compare(disclosure, "narrative-vs-table",
                     f"{measure.value}: narrative ('{stated.quote[:60]}') vs table", reference.value, stated.value,
                     1, [reference.span, stated.span], subject=measure.value)


def check_project_sums(disclosure: Disclosure) -> None:
    """A complete list of projects with amounts adds up to 项目支出 (narrative or table)."""
    target = _any_figure(disclosure, Measure.PROJECT_EXPENDITURE)
    if target is None:
        return
    for source in ("project-table", "narrative"):
        listed = [p for p in disclosure.projects if source in p.sources]
        if len(listed) < 2 or any(p.amount is None for p in listed):
            continue
        total = sum((p.amount for p in listed), Decimal(0))
        _compare(disclosure, "projects-sum", f"项目支出 vs the sum of the {len(listed)} projects listed in the "
                 f"{source.replace('-', ' ')}", target.value, total, len(listed),
                 [target.span] + [p.span for p in listed])
        return


# ------------------------------------------------------------------ printed arithmetic

_TERM = r"\d+(?:\.\d+)?%?"
_EXPR_RE = re.compile(rf"(?P<expr>{_TERM}(?:[元人次万]*\s*[*×xX/]\s*{_TERM}[元人次万]*)+)\s*[=＝]\s*(?P<result>\d+(?:\.\d+)?)")


def _evaluate(expr: str) -> Decimal | None:
    """Evaluate a product/quotient like '640元*10%*65%' with Decimals; None if not that shape."""
    tokens = re.findall(rf"({_TERM})|([*×xX/])", re.sub(r"[元人次万\s]", "", expr))
    value, op = None, "*"
    for number, operator in tokens:
        if operator:
            op = "/" if operator == "/" else "*"
            continue
        n = Decimal(number.rstrip("%")) / (100 if number.endswith("%") else 1)
        if value is None:
            value = n
        elif op == "*":
            value *= n
        elif n != 0:
            value /= n
        else:
            return None
    return value


def check_printed_arithmetic(disclosure: Disclosure) -> None:
    """Formulas printed in project descriptions or prose ("640元*10%*65%=35.2元") are right."""
    texts: list[tuple[str, Span | None, str | None]] = []
    for project in disclosure.projects:
        for value in project.extra.values():
            texts.append((value, project.span, project.name))
        if project.goal:
            texts.append((project.goal, project.span, project.name))
    for passage in disclosure.passages:
        texts.append((passage.text, passage.span, None))
    seen = set()
    for text, span, subject in texts:
        for m in _EXPR_RE.finditer(text):
            if m.group(0) in seen:
                continue
            seen.add(m.group(0))
            computed = _evaluate(m.group("expr"))
            printed = Decimal(m.group("result"))
            if computed is None:
                continue
            places = -printed.as_tuple().exponent if printed.as_tuple().exponent < 0 else 0
            rounded = computed.quantize(Decimal(1).scaleb(-places)) if places else computed.quantize(Decimal(1))
            if abs(rounded - printed) > Decimal(1).scaleb(-places) / 2 and abs(computed - printed) > ROUNDING:
                disclosure.findings.append(Finding(
                    check="printed-arithmetic", severity=Severity.ERROR,
                    message=f"the text computes '{m.group(0)}', but {m.group('expr')} = {computed.normalize()}",
                    expected=computed.normalize(), found=printed, tolerance=ROUNDING,
                    spans=[span] if span else [], subject=subject))


ALL_CHECKS = [check_children_sum, check_table_totals, check_basic_plus_project, check_balances,
              check_narrative_vs_table, check_project_sums, check_printed_arithmetic]


def run_checks(disclosure: Disclosure) -> list[Finding]:
    """Run every check, append the findings to the disclosure and return the new ones."""
    before = len(disclosure.findings)
    for check in ALL_CHECKS:
        check(disclosure)
    return disclosure.findings[before:]
