"""Split one 绩效目标表 row into its cells: 三级指标, 绩效指标描述, 指标值, 指标值确定依据.

PDF text keeps a row's cells in column order but not their borders: a line may hold several
cells separated by spaces, a long cell wraps over several lines, and cells themselves contain
spaces ("2023 年 12 月", "冀财社[2022]218 号"). The split works from the right, where the cells are
easiest to recognise:

1. the 指标值 is the last group of tokens that reads as a target ("≥98%", "2400 人次", "2023 年 12
   月", "=改善", "——"), followed only by the 依据 (one piece per line, a 文号 or a 《title》);
2. failing that the value is qualitative ("成效明显"): the 依据 is the last piece, and the value is
   what is left after the repeated 三级/描述 text, or the piece before the 依据;
3. what precedes the value is 三级 + 描述: two equal halves when they repeat (the flowing
   layout prints them identically), else the first cell ends where its text stops filling the
   column width, or at the first space between two Chinese words.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ingest.normalize import LEVEL1_NAMES, LEVEL2_NAMES, clean_text, find_document_numbers, join_fragments

EMPTY = "\u2205"  # an empty cell, printed as a run of spaces inside a line
_LEVELS = set(LEVEL1_NAMES) | set(LEVEL2_NAMES)

_UNITS = ("%|‰|百分比|百分数|万人次|万次|人次|万人|万户|人|户|家|个月|个|次|项|万元|亿元|元|万|亿|月份|月底|月末|月|"
          "年底|年|天|日|小时|分钟|周|件|份|场|期|批|所|台|辆|册|本|篇|条|张|套|分|名|位|岁|平方米|亩|公里|"
          "座|间|处|类|种|部|块|床|例|起|轮|遍|吨|立方米|季度")
UNITS = tuple(_UNITS.split("|"))
_QUANTITY_RE = re.compile(rf"^(?P<cmp>≥|≤|>=|<=|>|<|=|≈)?\d+(?:\.\d+)?(?P<unit>{_UNITS})?"
                          rf"(?P<per>/[\u4e00-\u9fff]{{1,3}})?$")
_DATE_RE = re.compile(r"^(?:≥|≤|=)?(?:19|20)\d\d(?:年|\.|-|/)\d{1,2}月?(?:份|底|末|前)?$")
_CMP_WORD_RE = re.compile(r"^(?:≥|≤|>|<|=|≈)[\u4e00-\u9fff]{1,8}$")
_DASHES = {"—", "——", "-", "--", "/", "－", "———"}


@dataclass
class CellLine:
    line: int  # 1-based source line
    tokens: list[str]
    gap_after: bool  # a blank line follows it in the source: wrapped cells usually leave one


@dataclass
class RowCells:
    name: str
    description: str | None
    value: str
    basis: str | None


@dataclass(frozen=True)
class _Tok:
    pos: int  # position in the row's token stream: equal texts stay distinct tokens
    line: int  # index into the row's CellLines
    text: str
    group: int | None  # protected span (文号, 《title》) the token belongs to


def width(text: str) -> int:
    """Display width: Chinese characters and full-width forms count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF" and not ch.isdigit()


def compact(text: str) -> str:
    return re.sub(r"\s+", "", clean_text(text)).replace(EMPTY, "")


def is_target_value(text: str) -> bool:
    """True for a printed target value: a quantity with comparator or unit, a date, "=改善", a dash."""
    t = compact(text) if text != EMPTY else EMPTY
    if t == EMPTY or t in _DASHES:
        return True
    m = _QUANTITY_RE.match(t)
    if m and (m.group("cmp") or m.group("unit") or m.group("per")):
        return True
    return bool(_DATE_RE.match(t) or _CMP_WORD_RE.match(t))


# ------------------------------------------------------------------ token stream


def _protected_groups(lines: list[CellLine]) -> list[list[int | None]]:
    """For each token, the id of the 文号 or 《title》 it is part of (titles may span lines)."""
    joined, offsets = "", []
    for cl in lines:
        row = []
        for tok in cl.tokens:
            row.append((len(joined), len(joined) + len(tok)))
            joined += tok + " "
        offsets.append(row)
        joined = joined[:-1] + "\n" if cl.tokens else joined + "\n"
    spans = [(m.start, m.end) for m in find_document_numbers(joined)] + _title_spans(joined)
    out = []
    for row in offsets:
        out.append([next((k for k, (s, e) in enumerate(spans) if a < e and b > s), None) for a, b in row])
    return out


def _title_spans(text: str) -> list[tuple[int, int]]:
    spans, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "《":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "》" and depth:
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
    if depth:
        spans.append((start, len(text)))
    return spans


def _stream(lines: list[CellLine]) -> list[_Tok]:
    groups = _protected_groups(lines)
    flat = [(i, tok, groups[i][k]) for i, cl in enumerate(lines) for k, tok in enumerate(cl.tokens)]
    return [_Tok(pos, i, tok, group) for pos, (i, tok, group) in enumerate(flat)]


def _joins(a: _Tok, b: _Tok) -> bool:
    """True when the space between two tokens of one line is inside a cell, not between cells:
    the extractor puts spaces around digits ("2023 年"), while cells meet between two words."""
    if a.group is not None and a.group == b.group:
        return True
    if a.text == EMPTY or b.text == EMPTY:
        return False
    return not (_wide(a.text[-1]) and _wide(b.text[0]))


def pieces(toks: list[_Tok]) -> list[list[_Tok]]:
    """Group the tokens of one line into cell pieces."""
    out: list[list[_Tok]] = []
    for tok in toks:
        if out and out[-1][-1].line == tok.line and _joins(out[-1][-1], tok):
            out[-1].append(tok)
        else:
            out.append([tok])
    return out


def render(toks: list[_Tok]) -> str:
    """Text of a token run: spaces inside a line as printed, wrapped lines joined."""
    parts: list[str] = []
    last_line = None
    for tok in toks:
        if tok.text == EMPTY:
            continue
        if tok.line == last_line:
            parts[-1] += " " + tok.text
        else:
            parts.append(tok.text)
            last_line = tok.line
    return clean_text(join_fragments(parts))


def _by_line(toks: list[_Tok]) -> list[list[_Tok]]:
    out: list[list[_Tok]] = []
    for tok in toks:
        if out and out[-1][0].line == tok.line:
            out[-1].append(tok)
        else:
            out.append([tok])
    return out


# ------------------------------------------------------------------ value and basis


def _find_value(toks: list[_Tok]) -> tuple[int, int] | None:
    """Token range [i, j] of a quantitative/dash value, scanning from the right."""
    for j in range(len(toks) - 1, -1, -1):
        if toks[j].group is not None:
            continue
        for i in range(max(0, j - 3), j + 1):
            run = toks[i:j + 1]
            if any(t.line != toks[j].line or t.group is not None for t in run):
                continue
            # A value is one cell: its tokens meet at digits ("2023 年 12 月"), never word to word.
            if any(not _joins(a, b) for a, b in zip(run, run[1:])):
                continue
            if any(t.text == EMPTY for t in run) and len(run) > 1:
                continue
            text = EMPTY if run[0].text == EMPTY else "".join(t.text for t in run)
            if is_target_value(text):
                return (i, j) if _basis_like(toks[j + 1:]) else None
    return None


def _basis_like(toks: list[_Tok]) -> bool:
    """What follows a value can only be the 依据: at most one piece per line, a few lines."""
    lines = _by_line(toks)
    return len(lines) <= 6 and all(len(pieces(line)) <= 1 for line in lines)


def _split_tail(toks: list[_Tok]) -> tuple[list[_Tok], list[_Tok], list[_Tok]]:
    """(before value, value, basis) of a row's tokens after the level names."""
    found = _find_value(toks)
    if found:
        i, j = found
        return toks[:i], toks[i:j + 1], toks[j + 1:]
    last = pieces(_by_line(toks)[-1])[-1]
    start = last[0].pos - toks[0].pos
    if last[0].group is not None:  # a 《title》 basis that began on an earlier line
        start = next(k for k, t in enumerate(toks) if t.group == last[0].group)
    before, basis = toks[:start], toks[start:]
    if not before:
        return [], [], basis
    repeated = _repeat_then_rest(before)
    if repeated:
        head, rest = repeated
        return head, rest, basis
    value = pieces(_by_line(before)[-1])[-1]
    return before[:value[0].pos - before[0].pos], value, basis


def _boundaries(toks: list[_Tok]) -> range:
    return range(1, len(toks))


def _repeat_then_rest(toks: list[_Tok]) -> tuple[list[_Tok], list[_Tok]] | None:
    """(X X, V) when the tokens read X X V with V not empty: a qualitative value after 三级 and
    描述 printed identically (the value may then wrap too)."""
    texts = [compact(t.text) for t in toks]
    best = None
    for cut in _boundaries(toks):
        x = "".join(texts[:cut])
        acc = ""
        for end in range(cut, len(toks)):
            acc += texts[end]
            if len(acc) >= len(x):
                if acc == x and end + 1 < len(toks):
                    best = (toks[:end + 1], toks[end + 1:])
                break
    return best


# ------------------------------------------------------------------ 三级 and 描述


def _equal_halves(toks: list[_Tok]) -> int | None:
    texts = [compact(t.text) for t in toks]
    total = "".join(texts)
    acc = ""
    for cut in _boundaries(toks):
        acc += texts[cut - 1]
        if len(acc) * 2 == len(total) and total == acc * 2:
            return cut
    return None


def _split_name(toks: list[_Tok], lines: list[CellLine], name_width: int) -> tuple[str, str | None]:
    if not toks:
        return "", None
    cut = _equal_halves(toks)
    if cut:
        return render(toks[:cut]), render(toks[cut:])
    rows = _by_line(toks)
    first = pieces(rows[0])
    if len(first) >= 2 or len(rows) == 1:
        return _split_first_piece(first[0], toks)
    taken = 1
    while taken < len(rows) - 1 and _wraps(rows[taken - 1], lines, name_width) \
            and compact(render([t for r in rows[:taken] for t in r])) not in _LEVELS:
        taken += 1
    name = [t for r in rows[:taken] for t in r]
    return render(name), render(toks[len(name):])


def _wraps(row: list[_Tok], lines: list[CellLine], name_width: int) -> bool:
    """A 三级 line continues on the next line when it fills the column and a blank line follows.

    Wide characters wrap as soon as two more columns do not fit, so a full line is at most one
    column short of the widest first fragment in the table.
    """
    text = " ".join(t.text for t in row)
    return width(text) >= name_width - 1 and lines[row[-1].line].gap_after


def _split_first_piece(piece: list[_Tok], toks: list[_Tok]) -> tuple[str, str | None]:
    """The 三级 is the first piece of the line, up to a quantity printed after a word: in
    "工资发放人数 10 人" or "评审人员 4000 人 达到评审条件人数" the number opens the 描述 cell."""
    end = len(piece)
    for k in range(1, len(piece)):
        if _wide(piece[k - 1].text[-1]) and piece[k].text[:1].isdigit():
            end = k
            break
    return render(toks[:end]), render(toks[end:]) or None


# ------------------------------------------------------------------ entry points


def first_token_width(lines: list[CellLine]) -> int:
    for cl in lines:
        if cl.tokens:
            return width(cl.tokens[0])
    return 0


def split_row(lines: list[CellLine], name_width: int) -> RowCells | None:
    """The cells of one indicator row, or None when the row holds no text at all."""
    toks = _stream(lines)
    if not toks:
        return None
    before, value, basis = _split_tail(toks)
    name, description = _split_name(before, lines, name_width)
    value_text = EMPTY if value and value[0].text == EMPTY else render(value)
    return RowCells(name, description or None, "" if value_text == EMPTY else value_text,
                    render(basis) or None)


def row_complete(lines: list[CellLine]) -> bool:
    """True when the lines already hold a whole row: a target value with its 依据, or a last line
    with at least two cells (value and 依据)."""
    toks = _stream(lines)
    if not toks:
        return False
    return _find_value(toks) is not None or len(pieces(_by_line(toks)[-1])) >= 2


def line_pieces(cl: CellLine) -> list[str]:
    """The cell pieces of a single line, as text (used to find rows that share a level name)."""
    toks = _stream([cl])
    return [render(p) for p in pieces(toks)]
