"""Layout family "markdown-tsv": text whose table rows are lines of tab-separated cells.

This is the Shanxi template's text (Markdown headings, ``<b>`` tags, one table row per line with
TAB between cells) and also what the PDF and DOCX format readers produce: every table row they
extract becomes one tab-separated line, every paragraph a plain line. Markdown pipe tables
(``| a | b |``) are read the same way. The lines are turned into paragraphs and rows; the table
semantics are shared with the other text layouts (``ingest.layouts.tables``).
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from ingest.layouts.table_rows import Element, Para, Row, is_amount, is_code, strip_bookmarks
from ingest.layouts.tables import interpret
from ingest.model import Disclosure
from ingest.normalize import strip_markup
from ingest.source import SourceText

_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s")
_PIPE_ROW_RE = re.compile(r"^\s*\|.*\|\s*$")
_PIPE_RULE_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_SNIFF_LINES = 5000


def _cell(text: str) -> str:
    return strip_markup(strip_bookmarks(text)).replace("\xa0", " ").strip()


def read_elements(source: SourceText) -> Iterator[Element]:
    """Paragraphs and rows of a tab-separated (or pipe-table) text, with 1-based line numbers."""
    for number, line in enumerate(source.lines, 1):
        if not line.strip():
            continue
        if "\t" in line:
            yield Row(tuple(_cell(c) for c in line.split("\t")), number, number)
        elif _PIPE_ROW_RE.match(line):
            if not _PIPE_RULE_RE.match(line):
                yield Row(tuple(_cell(c) for c in line.strip().strip("|").split("|")), number, number)
        else:
            heading = _HEADING_RE.match(line)
            text = _cell(line)
            if text:
                yield Para(text, number, len(heading.group(1)) if heading else 0)


def _tabular(line: str) -> tuple[bool, bool]:
    """(is a row of two or more filled cells, has a code or amount cell)."""
    if "\t" in line:
        cells = [c.strip() for c in line.split("\t")]
    elif _PIPE_ROW_RE.match(line) and not _PIPE_RULE_RE.match(line):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
    else:
        return False, False
    filled = [c for c in cells if c]
    if len(filled) < 2:
        return False, False
    return True, any(is_amount(c) or is_code(c) for c in filled)


def sniff(source: SourceText) -> float:
    """High when many lines are rows of several tab-separated cells holding numbers or codes,
    or are Markdown headings; low for space-separated PDF text and one-cell-per-line DOCX text."""
    lines = [line for line in source.lines[:_SNIFF_LINES] if line.strip()]
    if not lines:
        return 0.0
    rows = data_rows = headings = single_cells = 0
    for line in lines:
        is_row, has_data = _tabular(line)
        rows += is_row
        data_rows += has_data
        headings += bool(_HEADING_RE.match(line))
        single_cells += line.startswith("\t") and line.count("\t") == 1
    share = rows / len(lines)
    score = min(1.0, 2.5 * share) * 0.7 + (0.2 if data_rows >= 3 else 0.0)
    score += min(0.1, 2 * headings / len(lines))
    if single_cells > rows:  # one cell per line: the DOCX text family
        score *= 0.3
    return round(min(1.0, score), 3)


class MarkdownTsvParser:
    name = "markdown-tsv"
    description = ("Text with tab-separated table rows (Shanxi Markdown template; the PDF/DOCX readers' "
                   "rendering of tables)")

    def sniff(self, source: SourceText) -> float:
        return sniff(source)

    def parse(self, source: SourceText) -> Disclosure:
        return interpret(read_elements(source), source, self.name)


PARSER = MarkdownTsvParser()
