"""Project 绩效目标表 -> ``Project`` with its goal and ``Indicator`` rows.

A table is: the title ("5、…（冀财社[2022]172 号）绩效目标表"), a 绩效目标 text, the column header
("一级指标 二级指标 三级指标 绩效指标描述 指标值 指标值确定依据", reprinted after a page break),
then rows. A row starts where a 一级/二级 level name starts a line; a level printed once covers the
rows below it until the next one (carry-down, literally: a 一级 cell merged over rows of another
category stays as printed rather than being replaced by the template's category). The cells of
each row are split by ``pdf_text_cells``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.layouts.pdf_text_cells import EMPTY, CellLine, first_token_width, line_pieces, row_complete, split_row
from ingest.layouts.pdf_text_tokens import clean_line
from ingest.model import Indicator, LegalReference, Project, Span
from ingest.normalize import LEVEL1_NAMES, LEVEL2_NAMES, clean_text, find_document_numbers, join_fragments, parse_target_value

_LEVEL1 = set(LEVEL1_NAMES)
_LEVEL2 = set(LEVEL2_NAMES)
def is_header_line(text: str) -> bool:
    return "一级指标" in text and ("二级指标" in text or "三级指标" in text)


def split_cells(text: str) -> list[str]:
    """Whitespace tokens of a line; a run of two or more spaces inside it is an empty cell."""
    text = text.replace("\u3000", " ").replace("\xa0", " ").strip()
    out: list[str] = []
    for k, chunk in enumerate(re.split(r" {2,}", text)):
        if k:
            out.append(EMPTY)
        out.extend(chunk.split())
    return out


def cell_lines(lines: list[str], start: int, end: int) -> list[CellLine]:
    """The table's lines as cell tokens, without the column header reprinted after a page break
    nor the page number printed just before it."""
    out = []
    for i in range(start, end):
        text = clean_line(lines[i])
        if not text or is_header_line(text) or _is_page_number(lines, i, end):
            continue
        gap = i + 1 < len(lines) and not clean_line(lines[i + 1])
        out.append(CellLine(i + 1, split_cells(text), gap))
    return out


def _is_page_number(lines: list[str], i: int, end: int) -> bool:
    if not re.fullmatch(r"\d{1,3}", clean_line(lines[i])):
        return False
    nxt = next((clean_line(lines[j]) for j in range(i + 1, min(end, i + 4)) if clean_line(lines[j])), "")
    return is_header_line(nxt)


# ------------------------------------------------------------------ levels and segments


@dataclass
class Segment:
    """The lines of one row (or of several rows sharing a printed level)."""

    level1: str
    level2: str
    first_line: int
    lines: list[CellLine] = field(default_factory=list)


def _norm(token: str) -> str:
    return clean_text(token).replace(" ", "")


def _next_token(lines: list[CellLine], i: int, k: int) -> str | None:
    if k + 1 < len(lines[i].tokens):
        return lines[i].tokens[k + 1]
    return lines[i + 1].tokens[0] if i + 1 < len(lines) and lines[i + 1].tokens else None


def _leading_levels(lines: list[CellLine], i: int, open_row: list[CellLine]) -> tuple[str | None, str | None, int]:
    """(一级, 二级, tokens used) printed at the start of line i.

    A bare word such as "满意度" or "质量" is also a fragment of wrapped cells ("参加城乡居民医疗保险"
    / "满意度"), so it counts as a level only once the row before it is complete.
    """
    level1 = level2 = None
    k = 0
    tokens = lines[i].tokens
    while k < len(tokens) and level2 is None:
        name = _norm(tokens[k])
        if k == 0 and not name.endswith("指标") and open_row and not row_complete(open_row):
            break
        in1, in2 = name in _LEVEL1, name in _LEVEL2
        if in1 and level1 is None and (not in2 or _norm(_next_token(lines, i, k) or "") in _LEVEL2):
            level1 = name
        elif in2:
            level2 = name
        else:
            break
        k += 1
    return level1, level2, k


def segments(lines: list[CellLine]) -> list[Segment]:
    out: list[Segment] = []
    level1 = level2 = ""
    for i, cl in enumerate(lines):
        new1, new2, used = _leading_levels(lines, i, out[-1].lines if out else [])
        if new1:
            level1, level2 = new1, ""
        rest = CellLine(cl.line, cl.tokens[used:], cl.gap_after)
        if new2:
            level2 = new2
            out.append(Segment(level1, level2, cl.line))
        elif new1 and not rest.tokens:
            continue
        elif new1 or not out:  # a row under a 一级 with no 二级 printed, or text before any level
            out.append(Segment(level1, level2, cl.line))
        if rest.tokens:
            out[-1].lines.append(rest)
    return [s for s in out if s.lines]


def _row_groups(segment: Segment, bases: set[str]) -> list[list[CellLine]]:
    """Split a segment holding several complete one-line rows under one printed level: a line
    ending with a known 依据 after at least two other cells closes a row."""
    groups: list[list[CellLine]] = [[]]
    for k, cl in enumerate(segment.lines):
        groups[-1].append(cl)
        if k < len(segment.lines) - 1:
            parts = line_pieces(cl)
            if len(parts) >= 3 and parts[-1] in bases:
                groups.append([])
    return [g for g in groups if g]


# ------------------------------------------------------------------ indicators and projects


def _indicator(level1: str, level2: str, group: list[CellLine], first_line: int, name_width: int,
               page_of) -> Indicator | None:
    cells = split_row(group, name_width)
    if cells is None:
        return None
    target = parse_target_value(cells.value)
    value = _compact_value(cells.value)
    span = Span(first_line, group[-1].line, page_of(first_line))
    refs = [m.ref for m in find_document_numbers(cells.basis or "", span)]
    return Indicator(level1, level2, cells.name, value, cells.description, target.comparator, target.number,
                     target.unit, cells.basis, refs, span)


def _compact_value(value: str) -> str:
    # The extractor spaces digits off words ("2400 人次"); the value is recorded as printed in the
    # cell ("2400人次"), with comparator glyphs unified.
    text = clean_text(value)
    return "".join(text.split()) if any(ch.isdigit() for ch in text) else text


def indicators(lines: list[CellLine], page_of) -> list[Indicator]:
    """Every indicator row of a table body (header lines already removed)."""
    segs = segments(lines)
    name_width = max((first_token_width(s.lines) for s in segs), default=0)
    first_pass = [_indicator(s.level1, s.level2, s.lines, s.first_line, name_width, page_of) for s in segs]
    bases = {i.basis for i in first_pass if i and i.basis}
    out: list[Indicator] = []
    for seg in segs:
        groups = _row_groups(seg, bases)
        first = seg.first_line
        for group in groups:
            ind = _indicator(seg.level1, seg.level2, group, first, name_width, page_of)
            if ind:
                out.append(ind)
            first = group[-1].line + 1
    return out


def _goal(lines: list[str], start: int, end: int) -> tuple[str | None, int]:
    """The 绩效目标 text and the index of the column header line (or ``end``)."""
    header = next((i for i in range(start, end) if is_header_line(clean_line(lines[i]))), end)
    label = next((i for i in range(start, header) if clean_line(lines[i]).startswith("绩效目标")), None)
    if label is None:
        return None, header
    parts = [clean_line(lines[label])[len("绩效目标"):].lstrip("：: ")]
    parts += [clean_line(lines[i]) for i in range(label + 1, header)]
    text = clean_text(join_fragments([p for p in parts if p]))
    return text or None, header


def parse_performance(name: str, title_start: int, start: int, end: int, lines: list[str],
                      page_of) -> Project:
    """One project from its 绩效目标表 (0-based line indexes for the title, body start and end)."""
    goal, header = _goal(lines, start, end)
    body = cell_lines(lines, header + 1, end) if header < end else []
    span = Span(title_start + 1, max(end, title_start + 1), page_of(title_start + 1))
    refs = [m.ref for m in find_document_numbers(name, Span(title_start + 1, start, page_of(title_start + 1)))]
    return Project(name=clean_text(name), goal=goal, indicators=indicators(body, page_of),
                   legal_refs=_unique(refs), span=span, sources=["performance-table"])


def _unique(refs: list[LegalReference]) -> list[LegalReference]:
    seen, out = set(), []
    for ref in refs:
        if ref.key not in seen:
            seen.add(ref.key)
            out.append(ref)
    return out

