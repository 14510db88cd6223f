"""What the table interpreters write into: the ``Disclosure`` under construction.

``DocBuilder`` owns the disclosure and the source (for spans with pages) and offers the few
operations interpreters need: add a figure, a line, a project, a contact; collect citations once;
settle department and unit. ``TableContext`` is one table's title, span and amount unit.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ingest.layouts.table_columns import HeaderBlock
from ingest.layouts.table_rows import Row, amount
from ingest.layouts.table_vocab import Title
from ingest.model import (BudgetLine, Contact, Disclosure, FigureSource, LegalReference, Measure, Project,
                          Span, StatedFigure, TableKind)
from ingest.normalize import find_document_numbers, find_titles, to_wan
from ingest.source import SourceText


class DocBuilder:
    """The disclosure being built from one source text."""

    def __init__(self, source: SourceText, layout: str) -> None:
        self.source = source
        self.doc = Disclosure(source_name=source.name, sha256=source.sha256, layout=layout,
                              line_count=len(source.lines), page_count=source.page_count)
        self._ref_keys: set[str] = set()
        self._contact_keys: set[tuple] = set()

    def span(self, start: int, end: int | None = None) -> Span:
        return Span(start, end if end is not None else start, self.source.page_of(start))

    def figure(self, measure: Measure, value: Decimal, table: TableKind | None, span: Span, quote: str) -> None:
        self.doc.figures.append(StatedFigure(measure, value, FigureSource.TABLE, span,
                                             table.value if table else None, quote))

    def line(self, line: BudgetLine) -> None:
        self.doc.budget_lines.append(line)

    def project(self, project: Project) -> None:
        self.doc.projects.append(project)

    def citations(self, text: str, span: Span) -> list[LegalReference]:
        """Every 文号 and 《title》 in a text; each new one is also listed on the disclosure."""
        found: list[LegalReference] = [m.ref for m in find_document_numbers(text, span)]
        numbered = {r.raw for r in found}
        for title, start, end in find_titles(text):
            if any(title in raw for raw in numbered):
                continue
            found.append(LegalReference(title=title, raw=text[start:end], span=span))
        for ref in found:
            if ref.key not in self._ref_keys:
                self._ref_keys.add(ref.key)
                self.doc.legal_refs.append(ref)
        return found

    def contact(self, role: str, name: str | None, phone: str | None, span: Span) -> None:
        key = (role, name, phone)
        if (name or phone) and key not in self._contact_keys:
            self._contact_keys.add(key)
            self.doc.contacts.append(Contact(role, name, phone, span))

    def department(self, name: str | None, code: str | None) -> None:
        """Record the department printed in a header; the first one printed wins."""
        doc = self.doc
        if name and not doc.department:
            doc.department = name
        if code and not doc.department_code and (name is None or name == doc.department):
            doc.department_code = code


def add_refs(target: list[LegalReference], refs: list[LegalReference]) -> None:
    """Append citations not yet in ``target`` (by key)."""
    keys = {r.key for r in target}
    for ref in refs:
        if ref.key not in keys:
            keys.add(ref.key)
            target.append(ref)


@dataclass
class TableContext:
    """One table being read: its title, where it starts, and the unit its amounts are in."""

    builder: DocBuilder
    title: Title | None
    span: Span
    unit: str | None = None  # None means 万元

    @property
    def table(self) -> TableKind | None:
        return self.title.table if self.title else None

    def money(self, text: str) -> Decimal | None:
        """A cell's amount in 万元."""
        value = amount(text)
        return to_wan(value, self.unit) if value is not None else None


class TableReader:
    """Base of the interpreters of one table kind: fed rows in order, closed at the table's end.

    ``project`` is the project a following indicator block belongs to (forms and 绩效目标表).
    """

    project: Project | None = None

    def __init__(self, ctx: TableContext) -> None:
        self.ctx = ctx
        self.header = HeaderBlock()

    def feed(self, row: Row) -> None:  # pragma: no cover - every reader overrides it
        raise NotImplementedError

    def close(self) -> None:
        """Called when the table ends (a new title, prose, or the end of the text)."""

    @property
    def expected_width(self) -> int:
        """How many cells a complete data row has, as far as the header tells."""
        return self.header.width
