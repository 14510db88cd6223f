"""Which column does each printed number belong to? Resolved by arithmetic, not by position.

PDF text keeps the numbers of a row but not the blank cells between them: "20805 行政事业单位养老支出
53.67 53.67" in a 合计/基本支出/项目支出 table says 合计 53.67 and one more 53.67 somewhere.
Each row therefore gets every column assignment its own arithmetic allows (合计 = 基本 + 项目 …),
and the tree of classification codes picks among them: the children of a resolved parent must sum
to the parent column by column. Resolution runs top-down from the 合计 row; a row that stays
ambiguous keeps no split rather than a guessed one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from itertools import combinations, product
from typing import Callable

Assignment = dict[str, Decimal]  # column name -> value; absent means blank
_MAX_COMBOS = 50_000


def near(a: Decimal, b: Decimal, terms: int) -> bool:
    # Every printed figure is rounded to 0.01, so a sum of n of them may be off by n * 0.005.
    return abs(a - b) <= Decimal("0.005") * max(terms, 1) + Decimal("0.0001")


@dataclass(frozen=True)
class Schema:
    """The value columns of a coded table after 合计, and the arithmetic a row must satisfy."""

    columns: tuple[str, ...]
    primary: frozenset[str]  # the columns that are usually filled; others only when needed
    tested: tuple[str, ...]  # the columns that identify an option and are summed over children
    balanced: Callable[[Decimal, Assignment], bool]


def _sum_is_total(columns: tuple[str, ...]) -> Callable[[Decimal, Assignment], bool]:
    def check(total: Decimal, a: Assignment) -> bool:
        return near(total, sum((a.get(c, Decimal(0)) for c in columns), Decimal(0)), len(a))
    return check


def _revenue_balanced(total: Decimal, a: Assignment) -> bool:
    sources = [c for c in REVENUE.columns if c not in ("subtotal", "carryover")]
    subtotal = a.get("subtotal", Decimal(0))
    source_sum = sum((a.get(c, Decimal(0)) for c in sources), Decimal(0))
    return (near(total, subtotal + a.get("carryover", Decimal(0)), 2)
            and near(subtotal, source_sum, len(a)))


_EXPENDITURE_COLS = ("basic", "project", "operating", "upper", "subsidiary")
EXPENDITURE = Schema(_EXPENDITURE_COLS, frozenset({"basic", "project"}), _EXPENDITURE_COLS,
                     _sum_is_total(_EXPENDITURE_COLS))
BASIC_PROJECT = Schema(("basic", "project"), frozenset({"basic", "project"}), ("basic", "project"),
                       _sum_is_total(("basic", "project")))
ECONOMIC = Schema(("personnel", "public"), frozenset({"personnel", "public"}), ("personnel", "public"),
                  _sum_is_total(("personnel", "public")))
REVENUE = Schema(("subtotal", "fiscal", "special", "business", "operating", "upper", "affiliated", "other",
                  "carryover"),
                 frozenset({"subtotal", "fiscal", "carryover"}), ("subtotal", "carryover"), _revenue_balanced)


def row_options(amounts: list[Decimal], schema: Schema) -> list[Assignment]:
    """Every way to place a row's numbers after 合计 into the schema's columns, in printed order,
    that keeps the row's own arithmetic; options that differ only in untested columns merge.

    Rare columns are tried only when the usual ones cannot explain the row. When nothing balances
    (the row's own arithmetic is wrong) the numbers are read positionally and the checks report it.
    """
    if len(amounts) <= 1:
        return [{}]
    total, rest = amounts[0], amounts[1:]
    for tier in (schema.primary, frozenset(schema.columns)):
        cols = [c for c in schema.columns if c in tier]
        found: dict[tuple, Assignment] = {}
        for positions in combinations(range(len(cols)), len(rest)):
            a = {cols[p]: v for p, v in zip(positions, rest)}
            if schema.balanced(total, a):
                found.setdefault(_key(a, schema), a)
        if found:
            return list(found.values())
    if len(rest) <= len(schema.columns):
        return [dict(zip(schema.columns, rest))]
    return []


def _key(a: Assignment, schema: Schema) -> tuple:
    return tuple(a.get(c) for c in schema.tested)


@dataclass
class Node:
    """One coded row (or the 合计 row at the root) during resolution."""

    code: str | None
    amounts: list[Decimal]
    options: list[Assignment]
    children: list["Node"] = field(default_factory=list)
    choice: Assignment | None = None
    inferred: bool = False
    adds_up: bool = True  # False when no choice of the children's options sums to this node


def build_tree(root: Node, nodes: list[Node], parent_of: Callable[[str], str | None]) -> None:
    """Attach each coded node under its nearest printed ancestor, else under the root."""
    by_code = {n.code: n for n in nodes if n.code}
    for node in nodes:
        parent = None
        code = node.code
        while code and parent is None:
            code = parent_of(code)
            parent = by_code.get(code) if code else None
        (parent or root).children.append(node)


def resolve(root: Node, schema: Schema) -> None:
    """Choose one option per node where arithmetic allows it, top-down from the root."""
    if len(root.options) == 1:
        root.choice = root.options[0]
    elif len(root.options) > 1:
        feasible = [o for o in root.options if any(_feasible_options(o, root.children, schema))]
        if len(feasible) == 1:
            root.choice, root.inferred = feasible[0], True
    queue = [root]
    while queue:
        node = queue.pop(0)
        _choose_children(node, schema)
        queue.extend(node.children)


def _choose_children(node: Node, schema: Schema) -> None:
    kids = node.children
    if not kids:
        return
    feasible = _feasible_options(node.choice, kids, schema) if node.choice is not None else []
    node.adds_up = node.choice is None or any(feasible)
    for i, kid in enumerate(kids):
        if len(kid.options) == 1:
            kid.choice = kid.options[0]
        elif feasible and len(feasible[i]) == 1:
            kid.choice, kid.inferred = feasible[i][0], True


def _feasible_options(choice: Assignment, kids: list[Node], schema: Schema) -> list[list[Assignment]]:
    """For each child, the options that belong to at least one way of making the children sum to
    the parent in every tested column; empty lists when no way exists."""
    exact = _subset_sum(choice, kids, schema)
    if any(exact):
        return exact
    return _tolerant_enumeration(choice, kids, schema)


def _cents(a: Assignment, schema: Schema) -> tuple[int, ...]:
    return tuple(int((a.get(c, Decimal(0)) * 100).to_integral_value()) for c in schema.tested)


def _subset_sum(choice: Assignment, kids: list[Node], schema: Schema) -> list[list[Assignment]]:
    """Exact multi-column subset sum in integer cents: forward and backward reachable partial
    sums; an option is feasible when some prefix, the option and some suffix hit the target."""
    target = _cents(choice, schema)
    zero = tuple(0 for _ in target)
    options = [k.options or [{}] for k in kids]
    cents = [[_cents(o, schema) for o in opts] for opts in options]
    none: list[list[Assignment]] = [[] for _ in kids]
    # With no negative amounts a partial sum above the target can never come back down.
    monotone = min((v for steps in cents for c in steps for v in c), default=0) >= 0

    def grow(states: set, steps: list[tuple[int, ...]]) -> set:
        out = {_add(s, c) for s in states for c in set(steps)}
        return {s for s in out if all(x <= t for x, t in zip(s, target))} if monotone else out

    forward = [{zero}]
    for steps in cents:
        forward.append(grow(forward[-1], steps))
        if len(forward[-1]) > _MAX_COMBOS:
            return none
    if target not in forward[-1]:
        return none
    backward = [set() for _ in range(len(kids) + 1)]
    backward[-1] = {zero}
    for i in range(len(kids) - 1, -1, -1):
        backward[i] = grow(backward[i + 1], cents[i])
        if len(backward[i]) > _MAX_COMBOS:
            return none
    out = []
    for i, opts in enumerate(options):
        keep = [o for o, c in zip(opts, cents[i])
                if any(_sub(_sub(target, c), s) in backward[i + 1] for s in forward[i])]
        out.append(keep)
    return out


def _add(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(x + y for x, y in zip(a, b))


def _sub(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(x - y for x, y in zip(a, b))


def _tolerant_enumeration(choice: Assignment, kids: list[Node], schema: Schema) -> list[list[Assignment]]:
    """When rounding keeps the sums a cent or two off, try every combination (small cases only)."""
    lists = [k.options or [{}] for k in kids]
    size = 1
    for options in lists:
        size *= len(options)
    if size > 4096:
        return [[] for _ in kids]
    keep: list[dict[tuple, Assignment]] = [{} for _ in kids]
    for combo in product(*lists):
        if all(near(sum((o.get(c, Decimal(0)) for o in combo), Decimal(0)), choice.get(c, Decimal(0)), len(combo))
               for c in schema.tested):
            for i, o in enumerate(combo):
                keep[i].setdefault(_key(o, schema), o)
    return [list(k.values()) for k in keep]
