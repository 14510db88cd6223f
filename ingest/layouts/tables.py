"""Table semantics shared by the text layouts: a stream of paragraphs and rows -> ``Disclosure``.

Both ``markdown_tsv`` and ``docx_text`` first rebuild rows of cells, then call ``interpret``.
The walker keeps one open table at a time: a title line (收入总表, 绩效目标申报表, N.xxx绩效目标表 …)
opens it with the interpreter for its kind, header lines (部门名称, 单位：万元, 预算年度) adjust it,
prose or a section heading closes it. An indicator header row (一级指标 | 二级指标 | …) opens an
indicator block that belongs to the project of the open form or 绩效目标表, else to the department.

At the end: the fiscal year (header fields, then titles, then form years, and as a last resort
the year of the 时效 targets), the document kind, and a ``truncated`` finding when the text
stops inside a table.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from ingest.layouts.table_context import DocBuilder, TableContext, TableReader
from ingest.layouts.table_indicators import IndicatorBlock, is_indicator_header
from ingest.layouts.table_lines import CodedTable, SummaryTable, TotalsTable
from ingest.layouts.table_projects import PerformanceTable, ProjectForm, ProjectListTable, is_contact_row
from ingest.layouts.table_rows import Element, Para, Row, compact, is_toc, plain, strip_bookmarks
from ingest.layouts.table_vocab import (TitleKind, budget_year, classify_title, department_header, form_year,
                                        title_year, unit_of)
from ingest.model import Disclosure, DocumentKind, Finding, Project, Severity, Span
from ingest.source import SourceText


class _Ignored(TableReader):
    """A recognised table with nothing to extract (or a section holding only indicator blocks)."""

    def feed(self, row: Row) -> None:
        pass


_READERS = {
    TitleKind.CODED: CodedTable,
    TitleKind.SUMMARY: SummaryTable,
    TitleKind.TOTALS: TotalsTable,
    TitleKind.PROJECT_LIST: ProjectListTable,
    TitleKind.PROJECT_FORM: ProjectForm,
    TitleKind.PERFORMANCE: PerformanceTable,
    TitleKind.DEPARTMENT_PERFORMANCE: _Ignored,
    TitleKind.IGNORED: _Ignored,
}

# Section headings end the open table and the project context: 第二部分, 六、, （三）, 1、 (not 1.5)
_SECTION_RE = re.compile(r"^(第[一二三四五六七八九十]+部分|[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十]+[)）]"
                         r"|\d{1,2}[、．]|\d{1,2}\.(?!\d))")
_SENTENCE_RE = re.compile(r"[。；;！？]")
_FINAL_ACCOUNTS_RE = re.compile(r"部门决算|单位决算|决算公开|决算报告|决算表")
_NOTE_RE = re.compile(r"^注[：:]|本表无数据|空表列示|无数据")
_DATE_YEAR_RE = re.compile(r"^[≤≥=<>]?((?:19|20)\d\d)\s*(?:年|\.|-)\s*\d{1,2}")
_PROJECT_CODE_RE = re.compile(r"^([1-6]\d{5})\d{2}[A-Z]")
_GOAL_START_RE = re.compile(r"^(?:年度)?绩效目标(?:[：:\s]+(?P<rest>.*))?$")
# Inside a goal printed as paragraphs only a major section ends it ("1." items belong to it).
_MAJOR_SECTION_RE = re.compile(r"^(第[一二三四五六七八九十]+部分|[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十]+[)）])")

# Year evidence, strongest first.
_YEAR_FIELD, _YEAR_TITLE, _YEAR_FORM, _YEAR_TARGETS = range(4)


class TableWalker:
    """Feeds elements to the interpreter of the open table; see the module docstring."""

    def __init__(self, source: SourceText, layout: str) -> None:
        self.builder = DocBuilder(source, layout)
        self.reader: TableReader | None = None
        self.block: IndicatorBlock | None = None
        self.project_hint: Project | None = None  # the project of the last form/绩效目标表 title
        self.goal_capture: list[str] | None = None  # goal text printed as paragraphs
        self.pending_unit: str | None = None
        self.years: dict[int, list[int]] = {}
        self.final_accounts = False
        self.last: Element | None = None

    # -------------------------------------------------------------- paragraphs

    def feed(self, element: Element) -> None:
        if isinstance(element, Row):
            self._row(element)
        else:
            self._para(element)

    def _para(self, para: Para) -> None:
        text = strip_bookmarks(para.text).strip()
        if not text or is_toc(text):
            return
        self.last = para
        span = self.builder.span(para.line)
        if self._title(text, span):
            return
        if self._metadata(text):
            return
        year = form_year(text)
        if year:
            self._year(_YEAR_FORM, year)
            return
        short = compact(text)
        if len(short) <= 40:
            year = title_year(text)
            if year:
                self._year(_YEAR_TITLE, year)
            if _FINAL_ACCOUNTS_RE.search(short):
                self.final_accounts = True
        if _NOTE_RE.search(short):
            return
        if self._goal_paragraph(text):
            return
        section = para.heading > 0 or bool(_SECTION_RE.match(text))
        if section or len(short) > 30 or _SENTENCE_RE.search(text):
            self._close()
        if section:
            self.project_hint = None
            self.goal_capture = None

    def _goal_paragraph(self, text: str) -> bool:
        """A 绩效目标 printed as paragraphs between a 绩效目标表 title and its indicator table."""
        project = self.project_hint
        if project is None or self.block is not None:
            return False
        m = _GOAL_START_RE.match(text.strip())
        if m and self.goal_capture is None and not project.goal:
            rest = (m.group("rest") or "").strip()
            self.goal_capture = [rest] if rest else []
            project.goal = rest or None
            return True
        if self.goal_capture is not None and not _MAJOR_SECTION_RE.match(text) and len(compact(text)) < 200:
            self.goal_capture.append(plain(text))
            project.goal = "\n".join(p for p in self.goal_capture if p) or None
            return True
        return False

    def _title(self, text: str, span: Span) -> bool:
        title = classify_title(text)
        if title is None:
            return False
        self._close()
        self.goal_capture = None
        if title.final_accounts:
            self.final_accounts = True
        year = title_year(text)
        if year:
            self._year(_YEAR_TITLE, year)
        ctx = TableContext(self.builder, title, span, unit=self.pending_unit)
        self.pending_unit = None
        self.reader = _READERS[title.kind](ctx)
        self.project_hint = self.reader.project if title.kind != TitleKind.DEPARTMENT_PERFORMANCE else None
        return True

    def _metadata(self, text: str) -> bool:
        """Apply department / unit / budget-year header fields; True when the text is only that."""
        if len(compact(text)) > 60:
            return False
        found = False
        dept = department_header(text)
        if dept:
            self.builder.department(dept[1], dept[0])
            found = True
        unit = unit_of(text)
        if unit:
            if self.reader is not None:
                self.reader.ctx.unit = unit
            else:
                self.pending_unit = unit
            found = True
        year = budget_year(text)
        if year:
            self._year(_YEAR_FIELD, year)
            found = True
        return found

    # -------------------------------------------------------------- rows

    def _row(self, row: Row) -> None:
        filled = row.filled
        if not filled:
            return
        if any(is_toc(c) for c in filled):
            return
        self.last = row
        self.goal_capture = None
        span = self.builder.span(row.line_start, row.line_end)
        if len(filled) == 1 and self._title(filled[0].strip(), span):
            return
        if all(self._is_metadata_cell(c) for c in filled):
            for cell in filled:
                self._metadata(cell)
            return
        if is_indicator_header(row):
            self._start_block(row)
            return
        if self.block is not None:
            if not is_contact_row(row):
                self.block.feed(row)
                if self.block.owner is not None:
                    self.block.owner.span = Span.cover(self.block.owner.span, span)
                return
            self.block = None
        if self.reader is not None:
            self.reader.feed(row)

    def _is_metadata_cell(self, cell: str) -> bool:
        text = cell.strip()
        if len(compact(text)) > 60:
            return False
        return bool(department_header(text) or unit_of(text) or budget_year(text) or _NOTE_RE.search(compact(text)))

    def _start_block(self, header: Row) -> None:
        owner = self.reader.project if self.reader is not None and self.reader.project is not None else None
        if owner is None and self.reader is None:
            owner = self.project_hint
        target = owner.indicators if owner is not None else self.builder.doc.department_indicators
        self.block = IndicatorBlock(header, target, self.builder, owner)

    def _close(self) -> None:
        if self.reader is not None:
            self.reader.close()
        self.reader = None
        self.block = None

    def _year(self, strength: int, year: int) -> None:
        self.years.setdefault(strength, []).append(year)

    # -------------------------------------------------------------- end

    def finish(self) -> Disclosure:
        self._truncation()
        self._close()
        doc = self.builder.doc
        doc.fiscal_year = doc.fiscal_year or self._fiscal_year(doc)
        doc.kind = self._kind(doc)
        if not doc.admin_code:
            doc.admin_code = _admin_code(doc)
        return doc

    def _truncation(self) -> None:
        """A finding when the text ends inside a table: a cut row or a block without 满意度 rows."""
        last = self.last
        if not isinstance(last, Row):
            return
        reason = where = subject = None
        if self.block is not None and self.block.last_row is last:
            reason = self.block.cut_short()
            owner = self.block.owner
            subject = owner.name if owner is not None else None
            where = f"the indicator table of project 「{owner.name}」" if owner is not None else \
                "the department's indicator table"
        elif self.reader is not None:
            width = self.reader.expected_width
            if width >= 3 and len(last.cells) < width:
                reason = f"its last row has {len(last.cells)} of {width} cells"
                title = self.reader.ctx.title.text if self.reader.ctx.title else "an untitled table"
                subject = title
                where = f"the table 「{title}」"
        if not reason:
            return
        doc = self.builder.doc
        span = self.builder.span(last.line_start, last.line_end)
        doc.truncated = True
        doc.findings.append(Finding(
            check="truncated", severity=Severity.WARNING,
            message=f"the document ends inside {where} at line {last.line_end}: {reason}; "
                    "everything before the cut was kept",
            spans=[span], subject=subject))

    def _fiscal_year(self, doc: Disclosure) -> int | None:
        targets = []
        for project in doc.projects:
            for ind in project.indicators:
                if "时效" in ind.level2 or "时间" in ind.name:
                    m = _DATE_YEAR_RE.match(compact(ind.target_value))
                    if m:
                        targets.append(int(m.group(1)))
        if targets:
            self._year(_YEAR_TARGETS, Counter(targets).most_common(1)[0][0])
        for strength in sorted(self.years):
            years = self.years[strength]
            if years:
                return Counter(years).most_common(1)[0][0]
        return None

    def _kind(self, doc: Disclosure) -> DocumentKind:
        if self.final_accounts:
            return DocumentKind.FINAL_ACCOUNTS
        has_budget = bool(doc.budget_lines or doc.figures or
                          any("project-table" in p.sources for p in doc.projects))
        has_targets = bool(doc.department_indicators or any(p.indicators for p in doc.projects))
        if has_targets and not has_budget:
            return DocumentKind.PERFORMANCE_TARGETS
        return DocumentKind.BUDGET


def _admin_code(doc: Disclosure) -> str | None:
    """The GB/T 2260 code that Hebei project codes start with (13022524P… -> 130225), if unanimous."""
    found = {m.group(1) for p in doc.projects if p.code for m in [_PROJECT_CODE_RE.match(p.code)] if m}
    return found.pop() if len(found) == 1 else None


def interpret(elements: Iterable[Element], source: SourceText, layout: str) -> Disclosure:
    """Interpret a stream of paragraphs and table rows into a ``Disclosure``."""
    walker = TableWalker(source, layout)
    for element in elements:
        walker.feed(element)
    return walker.finish()


__all__ = ["interpret", "TableWalker"]
