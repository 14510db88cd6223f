"""PDF reader: a PDF's text layer as paragraphs and tab-separated table rows, with pages.

Uses pdfplumber (MIT) for characters with positions and for tables found from ruling lines. The
output is the "markdown-tsv" text the layout parser of that name reads:

- every table row is one line of cells joined by ``\\t``; a cell's own line breaks (a narrow column
  wrapping ``9736`` / ``.74`` or ``财政对城乡居民`` / ``基本医疗保险``) are joined back, which is
  what positions repair that plain text extraction cannot; a merged cell gives its text once and
  empty strings for the grid cells it covers;
- a table continued over pages is one block: the caption lines and header rows repeated at the top
  of each continuation page are dropped;
- a paragraph wrapped over several lines (or over a page break) is one line; lines set in a larger
  font than the body are Markdown headings (``#``); page numbers in the margins are dropped;
- ``SourceText.pages`` gives the page of every output line.

Scanned (image-only) and encrypted PDFs, and truncated files, are refused with an ``InputError``.
"""
from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from ingest.formats.guards import check_pdf_bytes, check_text_layer
from ingest.formats.wrap import clean_line, join_wrapped
from ingest.normalize import join_fragments, parse_decimal
from ingest.source import SourceText, read_bytes, sha256_hex
from ontology.errors import InputError

# Ruled tables only: text-aligned "tables" guessed from whitespace split narrative into columns.
TABLE_SETTINGS = {
    "vertical_strategy": "lines",
    "horizontal_strategy": "lines",
    "snap_tolerance": 3,
    "join_tolerance": 3,
    "intersection_tolerance": 3,
}
_X_TOL = 3
_Y_TOL = 3
_HEADING_RATIO = 1.15  # a line this much larger than the body text is a heading
_MARGIN_BAND = 0.08  # top/bottom share of the page where running page numbers live
_PAGE_NUMBER = re.compile(r"^[-—–\s]*(第\s*)?\d{1,4}(\s*页)?(\s*/\s*(共\s*)?\d{1,4}\s*页?)?[-—–\s]*$")


@dataclass
class _Line:
    text: str
    page: int
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    page_width: float
    page_height: float
    lead: float = 0.0  # width of the first word: if it had fit on the line above, that line ended
    end_page: int = 0  # page of the last physical line once wrapped lines are joined

    def __post_init__(self) -> None:
        self.end_page = self.end_page or self.page


@dataclass
class _Table:
    rows: list[list[str]]
    page: int
    x0: float
    x1: float
    top: float
    bottom: float
    col_edges: list[float]
    row_pages: list[int] = field(default_factory=list)


def read_pdf(path: Path, max_bytes: int) -> SourceText:
    """Read a PDF disclosure into ``SourceText`` (format "pdf", with the page of every line).

    Raises ``InputError`` naming the file for oversized, truncated, corrupt, password-protected
    and scanned (no text layer) PDFs.
    """
    data = read_bytes(path, max_bytes)  # size checked before reading
    check_pdf_bytes(path, data)
    elements, page_count, stats = _extract(path, data)
    check_text_layer(path, stats["visible"], stats["unmapped"], page_count)
    elements = _drop_page_furniture(elements, page_count)
    elements = _join_continued_tables(elements)
    body_size = _body_size(elements)
    lines, pages = _render(_reflow(elements, body_size), body_size)
    return SourceText(name=path.name, text="\n".join(lines), sha256=sha256_hex(data), format="pdf",
                      pages=pages, page_count=page_count)


# ------------------------------------------------------------------ extraction


def _open(path: Path, data: bytes):
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        _ = pdf.pages  # forces the page tree to be read
        return pdf
    except Exception as exc:  # pdfplumber wraps pdfminer's errors; unwrap to say which
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
        if isinstance(cause, PDFPasswordIncorrect) or "password" in str(cause).lower():
            raise InputError(str(path), "PDF is encrypted and needs a password to open; save an unprotected "
                                        "copy (e.g. `qpdf --decrypt`) and ingest that") from None
        raise InputError(str(path), f"PDF is corrupt and cannot be opened ({type(cause).__name__}: {cause}); "
                                    "download or export it again") from None


def _extract(path: Path, data: bytes) -> tuple[list, int, dict]:
    """Lines and tables of every page, in reading order, plus character statistics."""
    pdf = _open(path, data)
    elements: list = []
    stats = {"visible": 0, "unmapped": 0}
    try:
        page_count = len(pdf.pages)
        for number, page in enumerate(pdf.pages, start=1):
            try:
                elements.extend(_page_elements(page, number, stats))
            except InputError:
                raise
            except Exception as exc:  # a damaged content stream: name the page, not a traceback
                raise InputError(str(path), f"PDF page {number} cannot be read "
                                            f"({type(exc).__name__}: {exc}); the file is damaged") from None
            finally:
                page.flush_cache()
    finally:
        pdf.close()
    return elements, page_count, stats


def _page_elements(page, number: int, stats: dict) -> list:
    if _has_overprint(page.chars):  # "fake bold" prints each character twice, a hair apart
        page = page.dedupe_chars()
    for ch in page.chars:
        text = ch.get("text", "")
        if text.startswith("(cid:"):
            stats["unmapped"] += 1
        elif text.strip():
            stats["visible"] += 1
    tables = [t for t in page.find_tables(TABLE_SETTINGS) if len(t.rows) * len(t.columns) > 1]
    boxes = [t.bbox for t in tables]
    chars = page.chars

    def outside(obj) -> bool:
        if obj.get("object_type") != "char":
            return True
        x, y = _anchor(obj)
        return not any(x0 <= x < x1 and top <= y < bottom for x0, top, x1, bottom in boxes)

    out: list = []
    text_page = page.filter(outside) if boxes else page
    for raw in text_page.extract_text_lines(strip=True, return_chars=True, x_tolerance=_X_TOL, y_tolerance=_Y_TOL):
        text = clean_line(raw["text"])
        if not text:
            continue
        sizes = [c["size"] for c in raw["chars"] if c["text"].strip()] or [0.0]
        out.append(_Line(text, number, raw["x0"], raw["x1"], raw["top"], raw["bottom"],
                         round(sorted(sizes)[len(sizes) // 2], 1), float(page.width), float(page.height),
                         _first_word_width(raw["chars"])))
    for table in tables:
        rows = [r for r in _table_rows(table, chars) if any(r)]
        if not rows:
            continue
        x0, top, x1, bottom = table.bbox
        edges = [c.bbox[0] for c in table.columns] + [table.columns[-1].bbox[2]]
        out.append(_Table(rows, number, x0, x1, top, bottom, edges, [number] * len(rows)))
    out.sort(key=lambda e: (round(e.top), e.x0))
    return out


def _has_overprint(chars: list[dict]) -> bool:
    """Whether some character is printed twice at (nearly) the same place; cheap, unlike deduping."""
    seen = set()
    for c in chars:
        key = (c["text"], round(c["x0"]), round(c["top"]))
        if key in seen:
            return True
        seen.add(key)
    return False


def _first_word_width(chars: list[dict]) -> float:
    """Width of a line's first word: a run of Latin letters/digits, else its first character."""
    visible = [c for c in chars if c["text"].strip()]
    if not visible:
        return 0.0
    end = 0
    while end + 1 < len(visible) and visible[end]["text"].isascii() and visible[end + 1]["text"].isascii() \
            and visible[end + 1]["x0"] - visible[end]["x1"] < 1.0:
        end += 1
    return visible[end]["x1"] - visible[0]["x0"]


def _anchor(char: dict) -> tuple[float, float]:
    """The point that decides which cell a character belongs to.

    Near its left edge, not its centre: CJK punctuation that may not open a line (、，。) is hung
    past the right border of a narrow cell, and by its centre it would land in the next cell.
    """
    return char["x0"] + min(1.0, (char["x1"] - char["x0"]) / 4), (char["top"] + char["bottom"]) / 2


def _table_rows(table, chars: list[dict]) -> list[list[str]]:
    """The cells of a table as text, a merged cell giving "" for the grid cells it covers."""
    from pdfplumber.utils import extract_text

    anchored = [(c, *_anchor(c)) for c in chars]
    rows = []
    for row in table.rows:
        x0, top, x1, bottom = row.bbox
        in_row = [(c, x, y) for c, x, y in anchored if x0 <= x < x1 and top <= y < bottom]
        cells = []
        for cell in row.cells:
            if cell is None:
                cells.append("")
                continue
            cx0, ctop, cx1, cbottom = cell
            mine = [c for c, x, y in in_row if cx0 <= x < cx1 and ctop <= y < cbottom]
            cells.append(_cell(extract_text(mine, x_tolerance=_X_TOL, y_tolerance=_Y_TOL)) if mine else "")
        rows.append(cells)
    return rows


def _cell(value: str | None) -> str:
    if not value:
        return ""
    return clean_line(join_wrapped(value.split("\n")))


# ------------------------------------------------------------------ page structure


def _drop_page_furniture(elements: list, page_count: int) -> list:
    """Drop what the margins repeat: page numbers, and running headers or footers (a line printed
    in the top or bottom band of at least half the pages, and of three at least).

    A table's caption repeated over its continuation pages is not furniture (it sits on a few pages
    only); ``_join_continued_tables`` handles it.
    """
    def in_band(e: _Line) -> bool:
        band = e.page_height * _MARGIN_BAND
        return e.top < band or e.bottom > e.page_height - band

    pages_of: dict[str, set[int]] = defaultdict(set)
    for e in elements:
        if isinstance(e, _Line) and in_band(e):
            pages_of[e.text].add(e.page)
    running = {text for text, pages in pages_of.items() if len(pages) >= max(3, page_count / 2)}
    return [e for e in elements
            if not (isinstance(e, _Line) and in_band(e) and (e.text in running or _PAGE_NUMBER.match(e.text)))]


def _join_continued_tables(elements: list) -> list:
    """Merge a table continued on the next page into the table it continues.

    A continuation is a table that opens its page (after, at most, a repeat of the caption lines
    printed above the table's first part), directly follows a table that closed the previous page,
    and has the same columns. Its leading rows that repeat the first part's header are dropped, and
    so are the repeated caption lines.
    """
    out: list = []
    captions: dict[int, list[str]] = {}
    for page_elements in _by_page(elements):
        head = out[-1] if out and isinstance(out[-1], _Table) else None
        first_table = next((k for k, e in enumerate(page_elements) if isinstance(e, _Table)), None)
        if head is not None and first_table is not None:
            lead = [e.text for e in page_elements[:first_table]]
            part = page_elements[first_table]
            caption = captions.get(id(head), [])
            if part.page == head.row_pages[-1] + 1 and _same_columns(head, part) \
                    and (not lead or (len(lead) <= len(caption) and lead == caption[-len(lead):])):
                _append_continuation(head, part)
                page_elements = page_elements[first_table + 1:]
        for e in page_elements:
            if isinstance(e, _Table):
                captions[id(e)] = _caption_before(out, e)
            out.append(e)
    return out


def _by_page(elements: list) -> list[list]:
    pages: list[list] = []
    for e in elements:
        if not pages or pages[-1][0].page != e.page:
            pages.append([])
        pages[-1].append(e)
    return pages


def _caption_before(out: list, table: _Table) -> list[str]:
    """The lines printed on the same page just above a table (its caption, unit, header notes)."""
    caption: list[str] = []
    for e in reversed(out):
        if not isinstance(e, _Line) or e.page != table.page:
            break
        caption.insert(0, e.text)
        if len(caption) == 3:
            break
    return caption


_EDGE_TOL = 2.5


def _same_columns(a: _Table, b: _Table) -> bool:
    """Same outer edges, and one table's column edges all among the other's.

    A part may be coarser than the rest (the first part of a form holding only a row whose cell
    spans every column); its cells are then put on the finer grid when the parts are joined.
    """
    ea, eb = a.col_edges, b.col_edges
    if abs(ea[0] - eb[0]) > _EDGE_TOL or abs(ea[-1] - eb[-1]) > _EDGE_TOL:
        return False
    return _subset(ea, eb) or _subset(eb, ea)


def _subset(small: list[float], big: list[float]) -> bool:
    return all(any(abs(x - y) <= _EDGE_TOL for y in big) for x in small)


def _regrid(table: _Table, edges: list[float]) -> None:
    """Put a table's cells on a finer grid of column edges (each cell at the column it starts in)."""
    if len(edges) == len(table.col_edges):
        return
    starts = [min(range(len(edges) - 1), key=lambda k: abs(edges[k] - x)) for x in table.col_edges[:-1]]
    for r, row in enumerate(table.rows):
        fine = [""] * (len(edges) - 1)
        for text, k in zip(row, starts):
            fine[k] = text
        table.rows[r] = fine
    table.col_edges = list(edges)


def _append_continuation(head: _Table, part: _Table) -> None:
    finer = head.col_edges if len(head.col_edges) >= len(part.col_edges) else part.col_edges
    _regrid(head, finer)
    _regrid(part, finer)
    skip = 0
    while skip < len(part.rows) - 1 and skip < len(head.rows) and part.rows[skip] == head.rows[skip]:
        skip += 1
    if skip < len(part.rows) and head.rows and _finishes_split_row(head.rows[-1], part.rows[skip]):
        # Word and LibreOffice let a row break across a page: its tail opens the next page.
        head.rows[-1] = [join_fragments([a, b]) if b.strip() else a for a, b in zip(head.rows[-1], part.rows[skip])]
        skip += 1
    head.rows.extend(part.rows[skip:])
    head.row_pages.extend([part.page] * (len(part.rows) - skip))
    head.bottom = part.bottom


_ROW_START = re.compile(r"^(\d{3}(\d{2}){0,2}$|[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[)）]|\d+[、.．]|合\s*计|小\s*计)")


def _finishes_split_row(last: list[str], first: list[str]) -> bool:
    """Whether the first row of a continuation page is the tail of the last row of the page before.

    The tail of a split row carries only text, in cells where the row above has text, and no
    figure nor anything that opens a row of its own (a code, 一、, （一）, 合计): either its first
    cell is empty below a filled one (the tail of a name in the second column), or its only text is
    in the first column."""
    filled = [i for i, cell in enumerate(first) if cell.strip()]
    if not filled or len(first) != len(last):
        return False
    if any(parse_decimal(first[i]) is not None or not last[i].strip() or parse_decimal(last[i]) is not None
           or _ROW_START.match(first[i].strip()) for i in filled):
        return False
    if not first[0].strip():
        # A tail leaves the first cell (code, row number) empty; a row above with an empty first
        # cell is a row of that shape (a summary table's right half), not a split one.
        return bool(last[0].strip())
    return filled == [0]


# ------------------------------------------------------------------ paragraphs


def _body_size(elements: list) -> float:
    weights: Counter = Counter()
    for e in elements:
        if isinstance(e, _Line):
            weights[e.size] += len(e.text)
    return weights.most_common(1)[0][0] if weights else 0.0


def _reflow(elements: list, body_size: float) -> list:
    """Join the lines of a paragraph wrapped at the right margin into one line."""
    by_size: dict[tuple[float, float], tuple[list[float], list[float]]] = {}
    for e in elements:  # text block edges per page size, from body lines over the whole document
        if isinstance(e, _Line) and abs(e.size - body_size) <= 0.5:
            lefts, rights = by_size.setdefault((round(e.page_width), round(e.page_height)), ([], []))
            lefts.append(e.x0)
            rights.append(e.x1)
    # A high quantile, not the maximum: one overlong line (a URL) must not move the margin.
    edges = {key: (min(lefts), sorted(rights)[int(0.95 * (len(rights) - 1))])
             for key, (lefts, rights) in by_size.items()}
    out: list = []
    for e in elements:
        prev = out[-1] if out else None
        if isinstance(e, _Line) and isinstance(prev, _Line) and _continues(prev, e, edges, body_size):
            # The joined line keeps its first page (provenance) and its last line's geometry.
            out[-1] = replace(e, text=join_wrapped([prev.text, e.text]), page=prev.page, end_page=e.end_page)
            continue
        out.append(e)
    return out


def _continues(prev: _Line, line: _Line, edges: dict, body_size: float) -> bool:
    size = prev.size
    if abs(size - line.size) > 0.5 or size >= body_size * _HEADING_RATIO or size <= 0:
        return False
    left, right = edges.get((round(line.page_width), round(line.page_height)), (line.x0, line.x1))
    # The previous line ended its paragraph if the next line's first word would have fitted on it.
    if prev.x1 < right - max(2.0 * size, line.lead + 0.5 * size):
        return False
    if line.x0 > left + 0.5 * size:  # indented: a new paragraph
        return False
    if line.page == prev.end_page:
        return 0 <= line.top - prev.bottom <= 1.2 * size
    return line.page == prev.end_page + 1  # wrapped over the page break


# ------------------------------------------------------------------ output


def _render(elements: list, body_size: float) -> tuple[list[str], list[int]]:
    heading_sizes = sorted({e.size for e in elements if isinstance(e, _Line) and body_size
                            and e.size >= body_size * _HEADING_RATIO}, reverse=True)
    lines: list[str] = []
    pages: list[int] = []
    for e in elements:
        if isinstance(e, _Line):
            text = e.text
            if e.size in heading_sizes:
                text = "#" * min(heading_sizes.index(e.size) + 1, 4) + " " + text
            lines.append(text)
            pages.append(e.page)
        else:
            for row, page in zip(e.rows, e.row_pages):
                lines.append("\t".join(row))
                pages.append(page)
            lines.append("")  # a blank line ends the table, so two tables in a row stay apart
            pages.append(e.row_pages[-1])
    return lines, pages
