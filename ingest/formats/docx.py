"""DOCX reader: paragraphs and tables in document order as "markdown-tsv" text.

Uses python-docx (MIT). Output, line by line:

- a paragraph is one line (soft line breaks inside it joined); a paragraph in a Heading/标题 style
  becomes a Markdown heading (``#`` per level);
- a table row is one line of cells joined by ``\\t``, one cell per grid column: a cell merged
  across columns (``gridSpan``) or continued from the row above (``vMerge``) gives its text once
  and empty strings for the grid cells it covers; a blank line ends each table;
- ``SourceText.pages`` is filled when the file records where its pages began: Word stores a
  ``lastRenderedPageBreak`` mark at every page start when it saves; files without those marks
  but with explicit page breaks are counted by the breaks; files with neither get no pages.

Content controls (``w:sdt``) are read through, and a one-cell table (a frame drawn around
content) is read as the content it frames; headers, footers, comments and text boxes are page
furniture and left out. Zip bombs and corrupt files are refused before python-docx runs
(``ingest.formats.guards``).
"""
from __future__ import annotations

import io
import re
from pathlib import Path

from ingest.formats.guards import ZipLimits, check_docx_zip
from ingest.formats.wrap import clean_line, join_wrapped
from ingest.source import SourceText, read_bytes, sha256_hex
from ontology.errors import InputError

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING = re.compile(r"^(heading|标题)\s*(\d)", re.IGNORECASE)


def read_docx(path: Path, max_bytes: int, limits: ZipLimits = ZipLimits()) -> SourceText:
    """Read a DOCX disclosure into ``SourceText`` (format "docx").

    Raises ``InputError`` naming the file for oversized, corrupt or truncated files, zip bombs and
    zips that are not Word documents.
    """
    data = read_bytes(path, max_bytes)  # size checked before reading
    check_docx_zip(path, data, limits).close()
    document = _open(path, data)
    walker = _Walker(document)
    walker.walk(document.element.body)
    if not any(line.strip() for line in walker.lines):
        raise InputError(str(path), "DOCX contains no text (an empty document, or only images: "
                                    "OCR is not supported)")
    pages = walker.pages() if walker.page_marks_seen else None
    return SourceText(name=path.name, text="\n".join(walker.lines), sha256=sha256_hex(data), format="docx",
                      pages=pages, page_count=max(pages) if pages else None)


def _open(path: Path, data: bytes):
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        return docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise InputError(str(path), f"DOCX is corrupt or incomplete ({type(exc).__name__}: {exc}); "
                                    "open and re-save it in Word/WPS, or export a PDF") from None
    except Exception as exc:  # lxml.etree.XMLSyntaxError and friends: damaged XML inside the zip
        raise InputError(str(path), f"DOCX is corrupt: its XML cannot be parsed ({type(exc).__name__}: {exc})") from None


class _Walker:
    """Walks the body in document order, collecting lines and the page each starts on."""

    def __init__(self, document) -> None:
        body = document.element.body
        self.rendered_marks = bool(body.findall(f".//{_W}lastRenderedPageBreak"))
        self.page_marks_seen = False
        self.page = 1
        self.lines: list[str] = []
        self._pages: list[int] = []
        self._styles = {s.style_id: s.name for s in document.styles}

    def pages(self) -> list[int]:
        return self._pages

    # -- structure

    def walk(self, parent) -> None:
        for child in parent.iterchildren():
            tag = child.tag
            if tag == f"{_W}p":
                self._paragraph(child)
            elif tag == f"{_W}tbl":
                self._table(child)
            elif tag in (f"{_W}sdt", f"{_W}sdtContent", f"{_W}customXml", f"{_W}smartTag"):
                self.walk(child)

    def _emit(self, text: str, page: int) -> None:
        self.lines.append(text)
        self._pages.append(page)

    def _paragraph(self, p) -> None:
        start_page = self._advance_pages(p)
        text = _paragraph_text(p)
        if not text:
            return
        level = self._heading_level(p)
        self._emit(("#" * level + " " + text) if level else text, start_page)

    def _table(self, tbl) -> None:
        cells = tbl.findall(f"{_W}tr/{_W}tc")
        if len(cells) == 1:  # a one-cell table is a frame drawn around content, not a table
            self.walk(cells[0])
            return
        rows = []
        vmerge_cols: set[int] = set()
        for tr in tbl.iterchildren(f"{_W}tr"):
            start_page = self._advance_pages(tr)
            cells: list[str] = []
            tr_pr = tr.find(f"{_W}trPr")
            cells.extend([""] * _grid_skip(tr_pr, "gridBefore"))
            for tc in _row_cells(tr):
                span = _int_attr(tc.find(f"{_W}tcPr/{_W}gridSpan"), 1)
                vmerge = tc.find(f"{_W}tcPr/{_W}vMerge")
                col = len(cells)
                if vmerge is not None and vmerge.get(f"{_W}val") in (None, "continue"):
                    text = ""  # continues the cell above: its text was given there once
                else:
                    text = _cell_text(tc)
                    if vmerge is not None:
                        vmerge_cols.add(col)
                cells.append(text)
                cells.extend([""] * (span - 1))
            cells.extend([""] * _grid_skip(tr_pr, "gridAfter"))
            if any(cells):
                rows.append((cells, start_page))
        if not rows:
            return
        width = max(len(c) for c, _ in rows)
        for cells, page in rows:
            self._emit("\t".join(cells + [""] * (width - len(cells))), page)
        self._emit("", rows[-1][1])

    # -- pages

    def _advance_pages(self, element) -> int:
        """Count the page starts inside an element; return the page its text begins on."""
        start = self.page
        first_text_seen = False
        for node in element.iter(f"{_W}lastRenderedPageBreak", f"{_W}br", f"{_W}t", f"{_W}pageBreakBefore"):
            tag = node.tag
            if tag == f"{_W}t":
                first_text_seen = first_text_seen or bool(node.text and node.text.strip())
                continue
            if self.rendered_marks:
                if tag != f"{_W}lastRenderedPageBreak":
                    continue
            elif tag == f"{_W}br" and node.get(f"{_W}type") != "page":
                continue
            elif tag == f"{_W}pageBreakBefore" and node.get(f"{_W}val") in ("0", "false"):
                continue
            self.page += 1
            self.page_marks_seen = True
            if not first_text_seen:
                start = self.page  # the break precedes this element's text
        return start

    def _heading_level(self, p) -> int:
        style = p.find(f"{_W}pPr/{_W}pStyle")
        if style is None:
            return 0
        name = self._styles.get(style.get(f"{_W}val"), style.get(f"{_W}val") or "")
        match = _HEADING.match(name or "")
        if match:
            return min(int(match.group(2)), 6)
        if (name or "").lower() == "title":
            return 1
        return 0


def _row_cells(tr):
    """The cells of a row, looking through content controls that wrap cells."""
    for child in tr.iterchildren():
        if child.tag == f"{_W}tc":
            yield child
        elif child.tag in (f"{_W}sdt", f"{_W}customXml"):
            content = child.find(f"{_W}sdtContent") if child.tag == f"{_W}sdt" else child
            if content is not None:
                yield from _row_cells(content)


def _grid_skip(tr_pr, name: str) -> int:
    return _int_attr(tr_pr.find(f"{_W}{name}") if tr_pr is not None else None, 0)


def _int_attr(node, default: int) -> int:
    if node is None:
        return default
    try:
        return max(int(node.get(f"{_W}val")), 0)
    except (TypeError, ValueError):
        return default


def _paragraph_text(p) -> str:
    """A paragraph's visible text; soft line breaks joined like wrapped lines, tabs made spaces."""
    parts: list[str] = []
    current = []
    for node in p.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr"):
        tag = node.tag
        if tag == f"{_W}t":  # deleted tracked text is w:delText, so it is not read
            current.append(node.text or "")
        elif tag == f"{_W}tab":
            current.append(" ")
        elif tag in (f"{_W}br", f"{_W}cr") and node.get(f"{_W}type") in (None, "textWrapping"):
            parts.append("".join(current))
            current = []
    parts.append("".join(current))
    return clean_line(join_wrapped(parts))


def _cell_text(tc) -> str:
    """A cell's paragraphs (and any nested table's) joined into one line."""
    parts = [_paragraph_text(p) for p in tc.iter(f"{_W}p")]
    return clean_line(join_wrapped(parts))

