"""The department-wide indicator table (部门整体支出绩效指标) -> ``Indicator``s.

Two layouts occur. The standard one has the project table's columns and is parsed like a project
table. The other adds 评（扣）分标准 and splits 指标值 into 符号 / 值 / 单位; its columns are so
narrow that every cell is printed one short line at a time, without any line holding two cells.
That layout is read by repetition: 三级指标, 评（扣）分标准 and 绩效指标描述 usually carry the same
words wrapped at different widths, so a row is "X X X" (or "Y X X" when the 三级 differs), then a
value starting with a comparator ("≧" / "2000" / "0" / "次"), then an optional 《basis》.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.layouts.pdf_text_cells import UNITS, compact
from ingest.layouts.pdf_text_performance import cell_lines, indicators, is_header_line
from ingest.layouts.pdf_text_tokens import body_lines, clean_line
from ingest.model import Indicator, Span
from ingest.normalize import LEVEL1_NAMES, LEVEL2_NAMES, clean_text, find_document_numbers, parse_target_value

_LEVEL1 = set(LEVEL1_NAMES)
_LEVEL2 = set(LEVEL2_NAMES)
_COMPARATOR_RE = re.compile(r"^(?:≥|≤|>=|<=|>|<|=|≈)")
_NUMBER_UNIT_RE = re.compile(r"^\d+(?:\.\d+)?[^\d\s]{1,3}$")
_MAX_COPY_LINES = 7


@dataclass
class _Item:
    line: int
    text: str  # compact, comparator glyphs unified


def parse_department_table(lines: list[str], start: int, end: int, page_of) -> list[Indicator]:
    """Indicators of a department-wide table whose body spans lines[start:end] (0-based)."""
    header = _split_header(lines, start, end)
    if header is None:
        standard = next((i for i in range(start, end) if is_header_line(clean_line(lines[i]))), None)
        return indicators(cell_lines(lines, standard + 1, end), page_of) if standard is not None else []
    items = [_Item(no, compact(text)) for no, text in body_lines(lines, start, end, header)]
    return _read_items([i for i in items if i.text], page_of)


def _split_header(lines: list[str], start: int, end: int) -> list[str] | None:
    """The header of the split-value layout: through the line naming the 符号/值/单位 columns."""
    texts = [(i, clean_line(lines[i])) for i in range(start, min(end, start + 60))]
    last = next((i for i, t in texts if "符号" in t and "单位" in t), None)
    if last is None:
        return None
    return [t for i, t in texts if t and i <= last]


def _read_items(items: list[_Item], page_of) -> list[Indicator]:
    out: list[Indicator] = []
    level1 = level2 = ""
    k = 0
    while k < len(items):
        level = _level_at(items, k)
        if level:
            name, used = level
            if name in _LEVEL1 and (name not in _LEVEL2 or _level_at(items, k + used)):
                level1, level2 = name, ""
            else:
                level2 = name
            k += used
            continue
        row = _row_at(items, k)
        if row is None:
            k += 1  # a stray fragment, e.g. the tail of the previous 三级 pushed past a page break
            continue
        name, description, after = row
        value, after_value = _value_at(items, after)
        basis, after_basis = _basis_at(items, after_value)
        span = Span(items[k].line, items[after_basis - 1].line, page_of(items[k].line))
        target = parse_target_value(value)
        refs = [m.ref for m in find_document_numbers(basis or "", span)]
        out.append(Indicator(level1, level2, name, value, description,
                             target.comparator, target.number, target.unit, basis, refs, span))
        k = after_basis
    return out


def _level_at(items: list[_Item], k: int) -> tuple[str, int] | None:
    """A level name printed on one line, or wrapped over two short ones ("社会效" / "益")."""
    if k >= len(items):
        return None
    if items[k].text in _LEVEL1 | _LEVEL2:
        return items[k].text, 1
    if k + 1 < len(items) and len(items[k].text) <= 3 and len(items[k + 1].text) <= 3:
        joined = items[k].text + items[k + 1].text
        if joined in _LEVEL1 | _LEVEL2:
            return joined, 2
    return None


def _same_cell(a: str, b: str) -> bool:
    # A copy may lose its last character or two to a page break or a full stop.
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 2 and long_.startswith(short) and len(long_) - len(short) <= 2


def _copy_ends(items: list[_Item], start: int, text: str) -> int | None:
    """Index after a run of lines starting at ``start`` that spells ``text`` again."""
    acc = ""
    for end in range(start, min(len(items), start + _MAX_COPY_LINES)):
        if _is_value_start(items[end].text) or _level_at(items, end):
            return None
        acc += items[end].text
        if _same_cell(acc, text):
            nxt = end + 1
            # Prefer the longer reading when the next line still belongs to this copy.
            if nxt < len(items) and _same_cell(acc + items[nxt].text, text) and len(acc) < len(text):
                continue
            return nxt
        if len(acc) > len(text) + 2:
            return None
    return None


def _row_at(items: list[_Item], k: int) -> tuple[str, str, int] | None:
    """(三级, 描述, index after the row's text) for a row starting at k."""
    repeated = _repeats_at(items, k)
    if repeated:
        return repeated
    if len(items[k].text) <= 2:
        return None
    acc = ""
    for y_end in range(k + 1, min(len(items), k + _MAX_COPY_LINES)):
        acc += items[y_end - 1].text
        if _is_value_start(items[y_end - 1].text) or _level_at(items, y_end - 1):
            return None
        found = _repeats_at(items, y_end)
        if found and len(acc) >= 3:
            return clean_text(acc), found[1], found[2]
    return None


def _repeats_at(items: list[_Item], k: int) -> tuple[str, str, int] | None:
    """X X [X] starting at k: (三级, 描述, index after the last copy)."""
    acc = ""
    for first_end in range(k + 1, min(len(items), k + _MAX_COPY_LINES)):
        if _is_value_start(items[first_end - 1].text) or _level_at(items, first_end - 1):
            return None
        acc += items[first_end - 1].text
        second_end = _copy_ends(items, first_end, acc)
        if second_end is None:
            continue
        second = "".join(i.text for i in items[first_end:second_end])
        third_end = _copy_ends(items, second_end, second)
        last_end = third_end or second_end
        last = "".join(i.text for i in items[(second_end if third_end else first_end):last_end])
        name = max((acc, second), key=len)
        return clean_text(name), clean_text(last), last_end
    return None


def _is_value_start(text: str) -> bool:
    return bool(_COMPARATOR_RE.match(text) or _NUMBER_UNIT_RE.match(text))


def _value_at(items: list[_Item], k: int) -> tuple[str, int]:
    """The 符号 / 值 / 单位 cells joined ("≥20000次"), or a short qualitative value ("有效减轻")."""
    if k >= len(items):
        return "", k
    text = items[k].text
    j = k + 1
    if _COMPARATOR_RE.match(text) or _NUMBER_UNIT_RE.match(text):
        while j < len(items) and re.fullmatch(r"[\d.]+", items[j].text):
            text += items[j].text
            j += 1
        unit = re.sub(r"^\D*[\d.]+", "", text)
        while j < len(items) and _is_unit_fragment(items, j) and _unit_prefix(unit + items[j].text):
            unit += items[j].text
            text += items[j].text
            j += 1
        return text, j
    if text.startswith("《") or len(text) > 4 or _level_at(items, k):
        return "", k
    while j < len(items) and len(items[j].text) <= 4 and not items[j].text.startswith("《") \
            and not _level_at(items, j) and j - k < 3:
        text += items[j].text
        j += 1
    return text, j


def _unit_prefix(text: str) -> bool:
    """True when the text is a known unit or the start of one ("百分" of 百分数)."""
    return any(u.startswith(text) for u in UNITS)


def _is_unit_fragment(items: list[_Item], j: int) -> bool:
    text = items[j].text
    return len(text) <= 2 and not text.startswith("《") and not _level_at(items, j) \
        and not _is_value_start(text) and bool(re.fullmatch(r"[\u4e00-\u9fff%]+", text))


def _basis_at(items: list[_Item], k: int) -> tuple[str | None, int]:
    """A 《title》 basis, followed to its closing bracket (titles nest: 《廊坊《大城县…》…》)."""
    if k >= len(items) or not items[k].text.startswith("《"):
        return None, k
    depth, parts = 0, []
    for j in range(k, len(items)):
        parts.append(items[j].text)
        depth += items[j].text.count("《") - items[j].text.count("》")
        if depth <= 0:
            return clean_text("".join(parts)), j + 1
    return clean_text("".join(parts)), len(items)
