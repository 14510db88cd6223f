"""English (Hanyu Pinyin) names of Chinese places, so English questions can name them:
乐亭县 -> "Laoting", "Laoting County"; 兴县 -> "Xing County", "Xingxian"; 吕梁市 -> "Lvliang",
"Luliang", "Lüliang".

pypinyin's phrase dictionary gives place readings that differ from the everyday one (乐亭 is
Lào-tíng, not Lè-tíng), which is why it is used rather than a per-character table.
"""
from __future__ import annotations

from functools import lru_cache

from pypinyin import lazy_pinyin

# Suffix of an area name -> the English words that follow a romanised name.
_SUFFIX_WORDS = [
    ("自治县", ("autonomous county",)), ("自治州", ("autonomous prefecture",)), ("县", ("county",)),
    ("市", ("city", "county", "prefecture")), ("区", ("district",)), ("省", ("province",)), ("盟", ("league",)),
    ("旗", ("banner",)),
]


def _variants(syllables: list[str]) -> set[str]:
    joined = "".join(syllables)
    # "lv" is pypinyin's spelling of lü; people write lu or lü.
    return {joined, joined.replace("lv", "lu"), joined.replace("lv", "lü"), joined.replace("nv", "nu")}


@lru_cache(maxsize=100_000)
def _phrase(text: str) -> tuple[str, ...]:
    return tuple(lazy_pinyin(text))


@lru_cache(maxsize=20_000)
def _char(ch: str) -> str:
    return lazy_pinyin(ch)[0]


def english_names(label: str) -> list[str]:
    """Lower-case English names of an area label (empty for labels that are not Chinese)."""
    if not label or label.isascii():
        return []
    base, words, suffix = label, (), ""
    for suffix_zh, suffix_words in _SUFFIX_WORDS:
        if label.endswith(suffix_zh) and len(label) > len(suffix_zh):
            base, words, suffix = label[: -len(suffix_zh)], suffix_words, suffix_zh
            break
    names: set[str] = set()
    # The place reading from the phrase dictionary, and the everyday per-character reading that
    # people who do not know the place reading type (乐亭: Laoting and Leting).
    stems = _variants(_phrase(base)) | _variants([_char(ch) for ch in base])
    for stem in stems:
        for word in words:
            names.add(f"{stem} {word}")
        if len(base) >= 2:
            names.add(stem)  # "laoting", "bazhou": distinctive enough on their own
        elif suffix:
            # One-character names are only safe with their suffix: "xingxian", "xing xian".
            suffix_py = "".join(lazy_pinyin(suffix))
            names.update({stem + suffix_py, f"{stem} {suffix_py}"})
    return sorted(names)
