"""The intermediate form the text readers produce and the table interpreters consume.

A document becomes a stream of ``Para`` (a line of running text or a heading) and ``Row`` (one
table row as its cell texts). ``markdown_tsv`` splits tab-separated lines, ``docx_text`` gathers
one-cell-per-line blocks; from there on everything is shared (``ingest.layouts.tables``). This
module also holds the small predicates on cell text that every interpreter needs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from ingest.normalize import ECONOMIC_CODE_RE, FUNCTION_CODE_RE, parse_decimal


@dataclass(frozen=True)
class Para:
    """A line of running text; ``heading`` is the Markdown heading level (0 for plain text)."""

    text: str
    line: int
    heading: int = 0


@dataclass(frozen=True)
class Row:
    """One table row: cell texts in column order (empty cells kept) and its 1-based line range."""

    cells: tuple[str, ...]
    line_start: int
    line_end: int

    def cell(self, index: int | None) -> str:
        if index is None or index < 0 or index >= len(self.cells):
            return ""
        return self.cells[index]

    @property
    def filled(self) -> list[str]:
        return [c for c in self.cells if c.strip()]

    @property
    def width(self) -> int:
        """Number of cells up to the last non-empty one (trailing empty cells do not count)."""
        for i in range(len(self.cells) - 1, -1, -1):
            if self.cells[i].strip():
                return i + 1
        return 0


Element = Para | Row

_SPACE_RE = re.compile(r"[\s\u3000\xa0]+")
# Characters next to which a space is an artefact of line wrapping, not a word break.
_TIGHT = r"\u3400-\u9fff\uf900-\ufaff，。、；：？！“”‘’（）《》〔〕【】—…·「」()\[\]％%"
_LOOSE_SPACE_RE = re.compile(rf"(?<=[{_TIGHT}])\s+|\s+(?=[{_TIGHT}])")
_BOOKMARK_RE = re.compile(r"\[bookmark:[^\]]{0,200}\]")


def compact(text: str) -> str:
    """The text without any whitespace: for comparing labels ("绩效 指标" == "绩效指标")."""
    return _SPACE_RE.sub("", text)


def tidy(text: str) -> str:
    """One-line text with wrap artefacts removed: no spaces next to CJK characters or brackets.

    PDF cells break long names across lines ("中央和省 级财政", "250 号"); the pieces are joined.
    """
    text = _SPACE_RE.sub(" ", text).strip()
    return _LOOSE_SPACE_RE.sub("", text)


def plain(text: str) -> str:
    """Whitespace collapsed to single spaces, nothing else changed (for free-text fields)."""
    return _SPACE_RE.sub(" ", text).strip()


def strip_bookmarks(text: str) -> str:
    """Remove Word bookmark markers ("[bookmark: _Toc_2_2_0000000001]") left by DOCX exporters."""
    return _BOOKMARK_RE.sub("", text)


def is_code(text: str) -> bool:
    """A functional (2xx, 5/7 digits) or economic (3xx/5xx, 5 digits) classification code."""
    t = compact(text)
    return bool(FUNCTION_CODE_RE.match(t) or ECONOMIC_CODE_RE.match(t))


def amount(text: str) -> Decimal | None:
    """A table amount ("4,881.48", "6 670 104") or None."""
    return parse_decimal(compact(text)) if text else None


_TOC_RE = re.compile(r"\.{4,}|…{2,}|·{4,}|-{6,}")


def is_toc(text: str) -> bool:
    """A table-of-contents entry: a title followed by a dot leader."""
    return bool(_TOC_RE.search(text))


def is_numbering_row(row: Row) -> bool:
    """The column-number row under a header ("栏次 1 2 3 …" or "1 2 3 4 5 6 7")."""
    filled = [compact(c) for c in row.filled]
    if not filled:
        return False
    if filled[0] in {"栏次", "行次", "列次"}:
        return True
    if len(filled) < 3 or not all(c.isdigit() and len(c) <= 2 for c in filled):
        return False
    numbers = [int(c) for c in filled]
    return numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def is_amount(text: str) -> bool:
    return amount(text) is not None
