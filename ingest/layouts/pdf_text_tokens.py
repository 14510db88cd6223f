"""Token repair for PDF-extracted tables: repeated page headers, broken numbers, label runs.

Narrow PDF columns break every cell across lines (``9736`` / ``.74``, ``121.`` / ``00``,
``14.2`` / ``2``); flowing text keeps one row per line. Both become one stream of whitespace
tokens, each remembering its 1-based line, and the repairs below work on that stream, so the
table parsers never see line breaks at all.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

_WS = str.maketrans({"\u3000": " ", "\xa0": " ", "\t": " "})


@dataclass(frozen=True)
class Token:
    text: str
    line: int  # 1-based line number in the source


def clean_line(text: str) -> str:
    return text.translate(_WS).strip()


def header_block(lines: list[str], start: int, end: int, last_marker: str = "栏次") -> list[str]:
    """The table's own column header, printed after its title: from the first body line through
    the line starting with ``last_marker`` ("栏次 1 2 3 …"). Empty when there is no such line.

    The header is reprinted at every page break inside the table; knowing its first and last line
    is enough to skip each reprint (``drop_repeated_headers``).
    """
    first = next((i for i in range(start, end) if clean_line(lines[i])), None)
    if first is None:
        return []
    for i in range(first, min(end, first + 120)):
        if clean_line(lines[i]).startswith(last_marker):
            return [clean_line(lines[k]) for k in range(first, i + 1) if clean_line(lines[k])]
    return []


def body_lines(lines: list[str], start: int, end: int, header: list[str]) -> list[tuple[int, str]]:
    """(1-based line number, text) of the non-blank lines of a table body, with the header and
    every reprint of it removed.

    A page number printed before a reprint stays: it cannot be told from the last fragment of a
    broken number ("14.2" / "2"), and the table parsers drop stray integers anyway.
    """
    out: list[tuple[int, str]] = []
    first, last = (header[0], header[-1]) if header else (None, None)
    i = start
    while i < end:
        text = clean_line(lines[i])
        if not text:
            i += 1
            continue
        if first is not None and text == first:
            i = _skip_header(lines, i, end, header)
            continue
        out.append((i + 1, text))
        i += 1
    return out


def _skip_header(lines: list[str], i: int, end: int, header: list[str]) -> int:
    """Index after a header reprint starting at i; the reprint ends at the header's last line."""
    limit = min(end, i + 2 * len(header) + 20)
    for j in range(i + 1, limit):
        if clean_line(lines[j]) == header[-1]:
            return j + 1
    return i + 1


def tokenize(numbered_lines: list[tuple[int, str]]) -> list[Token]:
    return [Token(t, no) for no, text in numbered_lines for t in text.split()]


# ------------------------------------------------------------------ numbers

_COMPLETE = re.compile(r"-?\d[\d,]*\.\d\d")
_NUMERIC = re.compile(r"-?\d[\d,]*\.?\d*|\.\d+")
DASHES = frozenset({"-", "—", "——", "－", "/", "--"})  # a blank cell printed as a dash


def is_numeric(text: str) -> bool:
    return bool(_NUMERIC.fullmatch(text))


def completes(pending: str, text: str) -> bool:
    """True when ``text`` is the rest of a number broken by a narrow column.

    Amounts in 万元 tables carry exactly two decimals, so "9736" + ".74", "121." + "00" and
    "14.2" + "2" are halves of one number, never two numbers.
    """
    if re.fullmatch(r"-?\d[\d,]*", pending):
        return bool(re.fullmatch(r"\.\d{1,2}", text))
    if re.fullmatch(r"-?\d[\d,]*\.", pending):
        return bool(re.fullmatch(r"\d{1,2}", text))
    if re.fullmatch(r"-?\d[\d,]*\.\d", pending):
        return bool(re.fullmatch(r"\d", text))
    return False


def to_decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", "").rstrip("."))


@dataclass
class NumberAssembler:
    """Joins number fragments token by token; bare integers are dropped when the table prints
    amounts with decimals, since they are then row numbers, 栏次 or page numbers."""

    keep_integers: bool = False
    pending: list[Token] = field(default_factory=list)

    def feed(self, token: Token) -> list[tuple[Decimal, list[Token]]]:
        """Numbers finished by this token (each with the tokens it was built from)."""
        done = []
        if self.pending and completes("".join(t.text for t in self.pending), token.text):
            self.pending.append(token)
            if _COMPLETE.fullmatch("".join(t.text for t in self.pending)):
                done.extend(self.flush())
            return done
        done.extend(self.flush())
        if _COMPLETE.fullmatch(token.text):
            done.append((to_decimal(token.text), [token]))
        else:
            self.pending = [token]
        return done

    def flush(self) -> list[tuple[Decimal, list[Token]]]:
        if not self.pending:
            return []
        text = "".join(t.text for t in self.pending)
        tokens, self.pending = self.pending, []
        if "." not in text and not self.keep_integers:
            return []
        return [(to_decimal(text), tokens)]


_UNIT_RE = re.compile(r"单位[：:]\s*(万元|亿元|元)")


def printed_unit(lines: list[str], start: int, end: int) -> str | None:
    """The amount unit a table header declares ("单位：万元", "金额单位：元"), if any."""
    for i in range(start, min(end, start + 60)):
        m = _UNIT_RE.search(lines[i])
        if m:
            return m.group(1)
    return None


def uses_decimals(tokens: list[Token]) -> bool:
    return any(_COMPLETE.fullmatch(t.text) or t.text.startswith(".") for t in tokens)


# ------------------------------------------------------------------ label runs


@dataclass
class LabelRun:
    """A printed label (text tokens joined across line breaks) and the numbers that follow it."""

    label: str
    numbers: list[Decimal]
    label_tokens: list[Token]
    number_tokens: list[Token]

    @property
    def lines(self) -> tuple[int, int]:
        nums = [t.line for t in self.label_tokens + self.number_tokens]
        return min(nums), max(nums)


def label_runs(tokens: list[Token]) -> list[LabelRun]:
    """Split a token stream into label runs: text tokens accumulate into a label until a number
    follows; a bare integer (a 序号 or 栏次) ends a label without numbers."""
    runs: list[LabelRun] = []
    assembler = NumberAssembler(keep_integers=not uses_decimals(tokens))
    label: list[Token] = []
    numbers: list[Decimal] = []
    used: list[Token] = []

    def close() -> None:
        nonlocal label, numbers, used
        if label:
            runs.append(LabelRun("".join(t.text for t in label), numbers, label, used))
        label, numbers, used = [], [], []

    for token in tokens:
        if is_numeric(token.text):
            for value, parts in assembler.feed(token):
                numbers.append(value)
                used.extend(parts)
            continue
        had_pending = bool(assembler.pending)
        flushed = assembler.flush()
        for value, parts in flushed:
            numbers.append(value)
            used.extend(parts)
        # Numbers end a label; so does a dropped bare integer, the 序号 of the next row.
        if numbers or (had_pending and not flushed):
            close()
        label.append(token)
    for value, parts in assembler.flush():
        numbers.append(value)
        used.extend(parts)
    close()
    return runs
