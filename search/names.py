"""Finding known names in a question fast, however many names the graph holds.

A ``NameIndex`` keeps its names in one dictionary per name length, so finding every name that
occurs in a question costs one dictionary lookup per (start position, name length) pair: a few
thousand lookups for a long question, whether the index holds fifty names or five hundred
thousand (the old loop tried a regular expression per name: ~1 s per question at 10,000
disclosures). Chinese names match anywhere; ASCII names (English and pinyin place names) match
case-insensitively on word boundaries.

Matches are returned longest first, and a match inside a longer one is dropped, so 兴县 inside
兴县医疗保障局 does not count as a second name.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Generic, Iterable, TypeVar

T = TypeVar("T")


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


class NameIndex(Generic[T]):
    """Names mapped to the objects they name (one name may name several objects)."""

    def __init__(self, entries: Iterable[tuple[str, T]] = ()):
        self._cjk: dict[int, dict[str, list[T]]] = defaultdict(dict)
        self._ascii: dict[int, dict[str, list[T]]] = defaultdict(dict)
        self._size = 0
        for name, obj in entries:
            self.add(name, obj)

    def __len__(self) -> int:
        return self._size

    def add(self, name: str, obj: T) -> None:
        name = (name or "").strip()
        if not name:
            return
        table = self._ascii if name.isascii() else self._cjk
        key = name.lower() if name.isascii() else name
        bucket = table[len(key)].setdefault(key, [])
        # Identity, not ==: dataclass equality compares every field, and names repeat a lot.
        if not any(o is obj for o in bucket):
            bucket.append(obj)
            self._size += 1

    def get(self, name: str) -> list[T]:
        """The objects named exactly ``name``."""
        key = name.lower() if name.isascii() else name
        table = self._ascii if name.isascii() else self._cjk
        return list(table.get(len(key), {}).get(key, []))

    def find(self, text: str, *, min_length: int = 1) -> list[tuple[T, str, tuple[int, int]]]:
        """(object, name, span) of every name occurring in ``text``, longest first, none inside
        a longer match. ASCII names are matched on word boundaries, case-insensitively."""
        # Lower-cased character by character so that spans line up with ``text``.
        lowered = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
        raw: list[tuple[int, int, str, list[T]]] = []
        for table, hay, ascii_ in ((self._cjk, text, False), (self._ascii, lowered, True)):
            for length, names in table.items():
                if length < min_length or length > len(hay):
                    continue
                for start in range(len(hay) - length + 1):
                    objs = names.get(hay[start:start + length])
                    if objs is None:
                        continue
                    end = start + length
                    if ascii_ and ((start > 0 and _is_word_char(hay[start - 1]))
                                   or (end < len(hay) and _is_word_char(hay[end]))):
                        continue
                    raw.append((start, end, text[start:end], objs))
        raw.sort(key=lambda m: (-(m[1] - m[0]), m[0]))
        taken: list[tuple[int, int]] = []
        out: list[tuple[T, str, tuple[int, int]]] = []
        for start, end, name, objs in raw:
            if any(start >= a and end <= b for a, b in taken):
                continue
            taken.append((start, end))
            out.extend((obj, name, (start, end)) for obj in objs)
        return out
