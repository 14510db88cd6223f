"""Interpreters of the tables that name projects.

* ``ProjectListTable``: 项目支出预算表 (本年预算 / 上年结转): one project per row with its 合计;
  the department and unit subtotal rows are skipped.
* ``ProjectForm``: the Shanxi 项目支出绩效目标申报表, a form of label/value cells (项目名称, 项目资金
  in 元, 项目概况, 立项依据 …, 总体目标); 负责人/经办人/联系电话 become contacts and nothing else.
* ``PerformanceTable``: the Hebei 绩效目标表 head (项目编码, 项目名称, 预算数, 资金用途, 资金支出计划,
  绩效目标); the project is named by the table's title until the table names it.

The indicator block under a form or a 绩效目标表 is read by ``table_indicators`` into ``project``.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from ingest.layouts.table_columns import is_total_row
from ingest.layouts.table_context import TableContext, TableReader, add_refs
from ingest.layouts.table_rows import Row, amount, compact, is_amount, is_numbering_row, plain, tidy
from ingest.layouts.table_vocab import TOTAL_LABELS, department_header, is_org_name, label, project_name_from_title
from ingest.model import Project, Span, TableKind
from ingest.normalize import to_wan

_INLINE_RE = re.compile(r"^(?P<label>[^:：]{2,16})[:：](?P<value>.+)$")


def label_pairs(row: Row, known: Callable[[str], bool]) -> list[tuple[str, str, int]]:
    """(label, value, column) for every known label in a row.

    The value is the next filled cell, unless that cell is itself a known label (an empty field);
    "标签：值" printed in one cell is split.
    """
    out = []
    cells = row.cells
    for i, cell in enumerate(cells):
        lab = label(cell)
        if not lab:
            continue
        if not known(lab):
            m = _INLINE_RE.match(cell.strip())
            if m and known(label(m.group("label"))):
                out.append((label(m.group("label")), m.group("value").strip(), i))
            continue
        value = ""
        for nxt in cells[i + 1:]:
            if not nxt.strip():
                continue
            if not known(label(nxt)):
                value = nxt.strip()
            break
        out.append((lab, value, i))
    return out


def _extend(project: Project, span: Span) -> None:
    project.span = Span.cover(project.span, span)


# ------------------------------------------------------------------ 项目支出预算表

class ProjectListTable(TableReader):
    def feed(self, row: Row) -> None:
        if self.header.offer(row) or is_numbering_row(row):
            return
        self.header.data_seen()
        cmap = self.header.columns
        name_col = cmap.first("name") if cmap and cmap.first("name") is not None else 0
        total_col = cmap.amount_column() if cmap else None
        name = tidy(row.cell(name_col))
        if not name or is_total_row(row) or label(name) in TOTAL_LABELS or is_amount(name):
            return
        if total_col is not None:
            value = self.ctx.money(row.cell(total_col))
        else:
            value = next((self.ctx.money(c) for c in row.cells[name_col + 1:] if is_amount(c)), None)
        doc = self.ctx.builder.doc
        if value is None or is_org_name(name) or name == doc.department:
            return  # no amount, or the department/unit subtotal row
        builder = self.ctx.builder
        span = builder.span(row.line_start, row.line_end)
        project = Project(name=name, amount=value, carryover=self.ctx.table == TableKind.PROJECT_CARRYOVER,
                          span=span, sources=["project-table"])
        project.legal_refs = builder.citations(name, span)
        builder.project(project)


# ------------------------------------------------------------------ 绩效目标申报表 (Shanxi form)

_FORM_FIELDS = {"项目名称", "主管部门及代码", "主管部门", "实施单位", "项目属性", "项目期", "项目概况",
                "立项依据", "项目设立必要性", "保证项目实施的制度、措施", "项目实施计划", "总体目标",
                "实施期资金总额", "年度资金总额"}
_CONTACT_LABELS = {"负责人", "经办人", "联系电话", "填报日期", "联系人", "填报人", "单位负责人",
                   "项目负责人", "财务负责人", "电话"}
_PERSON_ROLES = {"负责人", "经办人", "联系人", "填报人", "单位负责人", "项目负责人", "财务负责人"}
_PHONE_RE = re.compile(r"^[\d\-\s()（）+]{7,20}$")


def _is_form_label(text: str) -> bool:
    return text in _FORM_FIELDS or text.startswith("项目资金")


def is_contact_row(row: Row) -> bool:
    return any(label(c) in _CONTACT_LABELS for c in row.cells)


class ProjectForm(TableReader):
    """项目支出绩效目标申报表: one project, its money in the printed unit (usually 元)."""

    def __init__(self, ctx: TableContext) -> None:
        super().__init__(ctx)
        self.project: Project | None = None
        self._unit = ctx.unit
        self._money: dict[str, object] = {}

    def _ensure(self, span: Span) -> Project:
        if self.project is None:
            self.project = Project(name="", span=span, sources=["form"])
            self.ctx.builder.project(self.project)
        return self.project

    def feed(self, row: Row) -> None:
        builder = self.ctx.builder
        span = builder.span(row.line_start, row.line_end)
        if is_contact_row(row):
            self._contacts(row, span)
            if self.project is not None:
                _extend(self.project, span)
            return
        for lab, value, i in label_pairs(row, _is_form_label):
            project = self._ensure(span)
            _extend(project, span)
            if lab == "项目名称":
                project.name = tidy(value)
                add_refs(project.legal_refs, builder.citations(project.name, span))
            elif lab.startswith("项目资金"):
                if "万元" in lab:
                    self._unit = "万元"
                elif "元" in lab:
                    self._unit = "元"
            elif lab in ("年度资金总额", "实施期资金总额"):
                value_amount = amount(value)
                if value_amount is not None:
                    self._money[lab] = value_amount
                    chosen = self._money.get("年度资金总额", self._money.get("实施期资金总额"))
                    project.amount = to_wan(chosen, self._unit)
            elif lab == "总体目标":
                # 实施期 | 年度 targets side by side: the 年度 one is the later filled cell.
                filled = [c for c in row.cells[i + 1:] if c.strip()]
                if filled:
                    project.goal = plain(filled[-1])
            else:
                if lab in ("主管部门及代码", "主管部门"):
                    found = department_header(value)
                    if found:
                        builder.department(found[1], found[0])
                if value:
                    project.extra[lab] = plain(value)
                if lab == "立项依据" and value:
                    add_refs(project.legal_refs, builder.citations(value, span))
                elif value and lab in ("项目概况", "保证项目实施的制度、措施"):
                    builder.citations(value, span)  # listed on the disclosure, not the project's basis

    def _contacts(self, row: Row, span: Span) -> None:
        people: list[list] = []  # [role, name, phone]
        for lab, value, _ in label_pairs(row, lambda t: t in _CONTACT_LABELS):
            if lab in _PERSON_ROLES:
                people.append([lab, tidy(value) or None, None])
            elif lab in ("联系电话", "电话") and value and _PHONE_RE.match(value):
                if people:
                    people[-1][2] = compact(value)
                else:
                    people.append(["联系电话", None, compact(value)])
        for role, name, phone in people:
            self.ctx.builder.contact(role, name, phone, span)

    def close(self) -> None:
        project = self.project
        if project is not None and not project.name:
            try:
                self.ctx.builder.doc.projects.remove(project)
            except ValueError:
                pass


# ------------------------------------------------------------------ 绩效目标表 (Hebei)

_AMOUNT_LABELS = {"预算数", "预算金额", "项目预算数", "年度预算数", "预算总额", "资金总额", "项目资金", "年度资金总额"}
_GOAL_LABELS = {"绩效目标", "年度绩效目标", "总体绩效目标", "年度目标", "总体目标", "项目绩效目标"}
_PERF_FIELDS = {"项目编码", "项目名称", "预算规模及资金用途", "项目概况", "立项依据", "实施单位", "项目类型",
                "项目属性", "资金用途"} | _AMOUNT_LABELS | _GOAL_LABELS


def _is_perf_label(text: str) -> bool:
    return text in _PERF_FIELDS or text.startswith("资金支出计划")


class PerformanceTable(TableReader):
    """The head of a project 绩效目标表: code, name, budget, use of funds, spending plan, goal."""

    def __init__(self, ctx: TableContext) -> None:
        super().__init__(ctx)
        builder = ctx.builder
        name = tidy(project_name_from_title(ctx.title.text if ctx.title else ""))
        self.project = Project(name=name, span=ctx.span, sources=["performance-table"])
        add_refs(self.project.legal_refs, builder.citations(name, ctx.span))
        builder.project(self.project)
        self._pending: tuple[str, list[str]] | None = None  # a label continued on the next row
        self._plan_heads: list[str] = []  # 3月底 6月底 … of the 资金支出计划

    def feed(self, row: Row) -> None:
        builder, project = self.ctx.builder, self.project
        span = builder.span(row.line_start, row.line_end)
        _extend(project, span)
        first = row.cells[0].strip() if row.cells else ""
        if not first and self._pending:
            self._continue(row)
            return
        self._pending = None
        for lab, value, i in label_pairs(row, _is_perf_label):
            if lab == "项目编码":
                project.code = compact(value) or None
            elif lab == "项目名称" and value:
                name = tidy(value)
                if name != project.name:
                    if project.name and project.name not in project.aliases:
                        project.aliases.append(project.name)
                    project.name = name
                    add_refs(project.legal_refs, builder.citations(name, span))
            elif lab in _AMOUNT_LABELS:
                if is_amount(value):
                    project.amount = self.ctx.money(value)
            elif lab in _GOAL_LABELS:
                if value:
                    project.goal = "\n".join(t for t in (tidy(part) for part in value.split("\n")) if t)
            elif lab.startswith("资金支出计划"):
                values = [c.strip() for c in row.cells[i + 1:] if c.strip()]
                if self._plan_heads and values and all(is_amount(v.rstrip("%％")) for v in values):
                    self._pending = ("资金支出计划", self._plan_heads)  # the label repeated (merged cell)
                    self._continue(Row(("",) + tuple(values), row.line_start, row.line_end))
                else:
                    self._plan_heads = values
                    self._pending = ("资金支出计划", values)
            elif lab == "预算规模及资金用途":
                if value and not is_amount(value):
                    project.extra["资金用途"] = plain(value)  # the label repeated beside its text
                else:
                    self._pending = ("资金用途", [])
            elif value:
                project.extra[lab] = plain(value)
                if lab == "立项依据":
                    add_refs(project.legal_refs, builder.citations(value, span))

    def _continue(self, row: Row) -> None:
        key, heads = self._pending
        values = [c.strip() for c in row.cells if c.strip()]
        self._pending = None
        if not values:
            return
        if key == "资金支出计划" and heads and len(heads) == len(values):
            self.project.extra[key] = "；".join(f"{h} {v}" for h, v in zip(heads, values))
        else:
            self.project.extra[key] = plain(" ".join(values))
