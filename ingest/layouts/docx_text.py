"""Layout family "docx-text": a Word document exported as text with each table cell on its own line.

In this rendering (sample 004) a cell is a line starting with one TAB, a line holding only a TAB
is an empty cell, the cells of a row follow each other and a blank line ends the row; a cell with
several paragraphs continues on untabbed lines right below it. Paragraphs outside tables are
plain lines, often prefixed by Word bookmark markers ("[bookmark: _Toc…]"). Rows of cells are
rebuilt here; their meaning is read by the shared table semantics (``ingest.layouts.tables``).
"""
from __future__ import annotations

from collections.abc import Iterator

from ingest.layouts.table_rows import Element, Para, Row, strip_bookmarks
from ingest.layouts.tables import interpret
from ingest.model import Disclosure
from ingest.source import SourceText

_SNIFF_LINES = 5000


def read_elements(source: SourceText) -> Iterator[Element]:
    """Paragraphs and rows of a one-cell-per-line text, with 1-based line numbers."""
    cells: list[str] | None = None
    start = end = 0
    for number, raw in enumerate(source.lines, 1):
        line = strip_bookmarks(raw)
        if line.startswith("\t"):
            if cells is None:
                cells, start = [], number
            cells.append(line[1:].replace("\t", " ").replace("\xa0", " ").strip())
            end = number
            continue
        if not line.strip():
            if cells is not None:
                yield Row(tuple(cells), start, end)
                cells = None
            continue
        if cells is not None:
            # A further paragraph of the cell above (no blank line in between).
            cells[-1] = f"{cells[-1]}\n{line.strip()}" if cells[-1] else line.strip()
            end = number
            continue
        yield Para(line.strip(), number)
    if cells is not None:
        yield Row(tuple(cells), start, end)


def sniff(source: SourceText) -> float:
    """High when most lines are single tab-indented cells, higher with Word bookmark markers;
    low for tab-separated rows (markdown-tsv) and for space-separated PDF text."""
    lines = [line for line in source.lines[:_SNIFF_LINES] if line.strip() or line == "\t"]
    if not lines:
        return 0.0
    single = multi = 0
    for line in lines:
        if line.startswith("\t"):
            if line.count("\t") == 1:
                single += 1
            else:
                multi += 1
        elif "\t" in line.strip("\t"):
            multi += 1
    bookmarks = sum("[bookmark:" in line for line in lines)
    score = min(1.0, 1.6 * single / len(lines)) * 0.85 + (0.15 if bookmarks else 0.0)
    if multi > single:
        score *= 0.3
    return round(min(1.0, score), 3)


class DocxTextParser:
    name = "docx-text"
    description = "Word document exported as text: one table cell per tab-indented line, rows split by blank lines"

    def sniff(self, source: SourceText) -> float:
        return sniff(source)

    def parse(self, source: SourceText) -> Disclosure:
        return interpret(read_elements(source), source, self.name)


PARSER = DocxTextParser()
