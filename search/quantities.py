"""Quantities in questions and in indicator targets: numbers with units, and comparisons on them.

Indicators carry ``bkg:targetNumber``, ``bkg:unit`` and ``bkg:comparator`` ("≥98%" -> 98, "%", "≥").
A question such as "which counties aim for more than 95% satisfaction" or "参保人数不少于1万人的指标"
becomes a ``Comparison``: an operator, a number in the base unit of a unit family, and the family.
Units of one family convert to its base (万人 = 10,000 人; 元 = 0.0001 万元), so "more than 2000
people" also finds a target of "34.93万人"; the conversion is done inside the SPARQL from the
``UNITS`` table (``unit_values``), never by fetching every indicator.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Unit as printed -> (family, factor to the family's base unit).
UNITS: dict[str, tuple[str, float]] = {
    "%": ("percent", 1.0), "百分比": ("percent", 1.0), "百分数": ("percent", 1.0), "%推进": ("percent", 1.0),
    "人": ("people", 1.0), "名": ("people", 1.0), "万人": ("people", 10000.0),
    "人次": ("person-times", 1.0), "万人次": ("person-times", 10000.0),
    "元": ("money", 0.0001), "万元": ("money", 1.0), "亿元": ("money", 10000.0), "万": ("count", 10000.0),
    "次": ("times", 1.0), "万次": ("times", 10000.0), "场": ("times", 1.0), "期": ("times", 1.0),
    "月": ("months", 1.0), "个月": ("months", 1.0),
    "天": ("days", 1.0), "日": ("days", 1.0), "工作日": ("days", 1.0), "个工作日": ("days", 1.0),
    "户": ("households", 1.0), "万户": ("households", 10000.0),
    "家": ("institutions", 1.0), "个": ("items", 1.0), "项": ("items", 1.0), "篇": ("items", 1.0),
    "年": ("years", 1.0), "分钟": ("minutes", 1.0), "小时": ("hours", 1.0),
}
FAMILY_NAMES = {"percent": ("%", "percent"), "people": ("人", "people"), "person-times": ("人次", "person-times"),
                "money": ("万元", "10k yuan"), "times": ("次", "times"), "months": ("月", "months"),
                "days": ("天", "days"), "households": ("户", "households"), "institutions": ("家", "institutions"),
                "items": ("个", "items"), "years": ("年", "years"), "minutes": ("分钟", "minutes"),
                "hours": ("小时", "hours"), "count": ("", "")}

# Units as a question writes them -> (family, factor). Longest first in the pattern below.
_QUESTION_UNITS: dict[str, tuple[str, float]] = {
    **{u: v for u, v in UNITS.items() if u not in ("万", "个", "项", "年", "期", "场", "篇", "名", "日")},
    "％": ("percent", 1.0), "percent": ("percent", 1.0), "per cent": ("percent", 1.0), "pct": ("percent", 1.0),
    "个百分点": ("percent", 1.0),
    "people": ("people", 1.0), "persons": ("people", 1.0), "person": ("people", 1.0), "residents": ("people", 1.0),
    "beneficiaries": ("people", 1.0), "insured people": ("people", 1.0),
    "person-times": ("person-times", 1.0), "person times": ("person-times", 1.0), "visits": ("person-times", 1.0),
    "yuan": ("money", 0.0001), "rmb": ("money", 0.0001), "cny": ("money", 0.0001),
    "10k yuan": ("money", 1.0), "ten thousand yuan": ("money", 1.0), "wan yuan": ("money", 1.0),
    "million yuan": ("money", 100.0), "万元": ("money", 1.0),
    "times": ("times", 1.0), "sessions": ("times", 1.0), "events": ("times", 1.0),
    "months": ("months", 1.0), "month": ("months", 1.0), "days": ("days", 1.0), "day": ("days", 1.0),
    "working days": ("days", 1.0), "households": ("households", 1.0), "families": ("households", 1.0),
    "hours": ("hours", 1.0), "minutes": ("minutes", 1.0), "institutions": ("institutions", 1.0),
}
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(_QUESTION_UNITS, key=len, reverse=True))
_NUMBER = r"(\d+(?:,\d{3})*(?:\.\d+)?)\s*(万|千)?"
_QUANTITY = re.compile(_NUMBER + r"\s*(" + _UNIT_ALT + r")(?![a-z])", re.IGNORECASE)
_BARE = re.compile(_NUMBER + r"(?![\d.%])")

# Comparators written before a number ("more than 95%", "不低于98%") or after it ("95%以上").
_BEFORE = [
    (">=", ("at least", "no less than", "not less than", "no fewer than", "not fewer than", "a minimum of",
            "minimum of", "大于等于", "大于或等于", "不低于", "不少于", "不小于", "至少", "≥", ">=")),
    ("<=", ("at most", "no more than", "not more than", "no higher than", "not higher than", "up to",
            "a maximum of", "maximum of", "not exceeding", "小于等于", "小于或等于", "不超过", "不高于", "不大于",
            "不多于", "至多", "最多", "≤", "<=")),
    (">", ("more than", "greater than", "higher than", "larger than", "bigger than", "above", "over", "exceeding",
           "exceeds", "exceed", "beyond", "超过", "高于", "大于", "多于", "超出", ">")),
    ("<", ("less than", "fewer than", "lower than", "smaller than", "below", "under", "beneath", "低于", "少于",
           "小于", "不到", "不足", "<")),
    ("=", ("equal to", "equals", "exactly", "a target of", "target of", "targets of", "set at", "等于", "为",
           "是", "=", "of")),
]
_AFTER = [(">=", ("以上", "及以上", "或以上", "or more", "or above", "or higher", "and above", "or greater", "plus")),
          ("<=", ("以下", "及以下", "或以下", "以内", "or less", "or below", "or fewer", "or lower", "and below")),
          (">", ("多", "余")), ]
COMPARATOR_WORDS = [w for _, words in _BEFORE + _AFTER for w in words if len(w) > 1 and w not in ("of", "为", "是")]


_CODE_LIKE = re.compile(r"2\d{4}(?:\d{2})?|[35]\d{4}|(?:19|20)\d{2}")


@dataclass(frozen=True)
class Comparison:
    """``op`` (">", ">=", "<", "<=", "=") applied to a target in ``family``'s base unit."""

    op: str
    value: float  # in the family's base unit (people, %, 万元 ...)
    family: str | None  # None: a bare number, compared whatever the unit
    text: str  # the words it was read from

    def describe(self) -> dict:
        return {"op": self.op, "value": self.value, "family": self.family, "text": self.text}


def _number(raw: str, scale: str | None) -> float:
    value = float(raw.replace(",", ""))
    return value * {"万": 10000.0, "千": 1000.0}.get(scale or "", 1.0)


def find_comparison(text: str, *, allow_bare: bool = False) -> tuple[Comparison | None, tuple[int, int] | None]:
    """The first comparison in a question, and the span it covers (to keep its number from being
    read as a year or a count). A quantity with a unit and no comparator word means "=" ; a bare
    number counts only next to a comparator word, and only when ``allow_bare``."""
    lowered = text.lower()
    for m in _QUANTITY.finditer(lowered):
        unit = m.group(3)
        family, factor = _QUESTION_UNITS.get(unit, _QUESTION_UNITS.get(unit.lower(), (None, 1.0)))
        # "万元" written as 5万元 is "5" + 万元, not 5万 + 元: the scale belongs to the unit.
        scale = m.group(2)
        if scale == "万" and unit in ("元", "人", "人次", "次", "户"):
            family, factor = _QUESTION_UNITS["万" + unit]
            scale = None
        value = _number(m.group(1), scale) * factor
        op, span = _comparator(lowered, m.start(), m.end())
        if op is None:
            op = "="
        return Comparison(op, value, family, text[span[0]:span[1]]), span
    if allow_bare:
        for m in _BARE.finditer(lowered):
            if _CODE_LIKE.fullmatch(m.group(1)) or re.match(r"\s*年", lowered[m.end():]):
                continue  # a classification code (2101301, 30201) or a year, not a quantity
            op, span = _comparator(lowered, m.start(), m.end())
            if op is not None:
                return Comparison(op, _number(m.group(1), m.group(2)), None, text[span[0]:span[1]]), span
    return None, None


def _comparator(lowered: str, start: int, end: int) -> tuple[str | None, tuple[int, int]]:
    before = lowered[:start].rstrip()
    for op, words in _BEFORE:
        for word in sorted(words, key=len, reverse=True):
            if before.endswith(word) and (not word.isascii() or not word[0].isalpha()
                                          or len(before) == len(word) or not before[-len(word) - 1].isalpha()):
                if word == "of" and not re.search(r"(target|goal|aim|rate|value)s?\s+of$", before):
                    continue
                return op, (len(before) - len(word), end)
    after = lowered[end:]
    stripped = after.lstrip()
    for op, words in _AFTER:
        for word in sorted(words, key=len, reverse=True):
            if stripped.startswith(word):
                return op, (start, end + (len(after) - len(stripped)) + len(word))
    return None, (start, end)


def unit_values() -> str:
    """The SPARQL VALUES rows (unit, family, factor) of every known unit."""
    from search.sparql import literal

    rows = []
    for unit, (family, factor) in sorted(UNITS.items()):
        rows.append(f"({literal(unit)} {literal(family)} {factor!r})")
    return " ".join(rows)
