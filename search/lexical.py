"""Lexical (BM25) retrieval over the same items as the vector index.

Dense vectors blur exact strings: budget codes (2101202), document numbers (冀财社〔2022〕218号) and
short domain words (长护险) need an exact-match index beside them. Texts are tokenised into
jieba search-mode words, CJK character bigrams (so a word jieba splits differently still matches),
whole digit runs (codes, years) and normalised document numbers, then scored with ``bm25s``.
"""
from __future__ import annotations

import json
import re
import threading
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

_JIEBA_LOCK = threading.Lock()
_jieba = None

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_WORD = re.compile(r"[a-z]+|\d+(?:\.\d+)?")
_CODE = re.compile(r"[0-9a-z]{5,}")
# Document number: issuer characters, a bracketed year, a serial, 号 ("冀财社[2022]218 号").
_OPEN = "〔\\[(（【［﹝〖"
_CLOSE = "〕\\])）】］﹞〗"
DOC_NUMBER = re.compile(f"([{_CJK}A-Za-z]*)\\s*[{_OPEN}]\\s*((?:19|20)\\d\\d)\\s*[{_CLOSE}]\\s*(\\d+(?:-\\d+)?)\\s*号")

# Function words that carry no meaning for retrieval (jieba keeps them as tokens).
_STOP = {"的", "了", "和", "与", "及", "在", "对", "是", "为", "等", "或", "中", "其", "有", "哪些", "什么",
         "the", "of", "and", "or", "in", "for", "to", "a", "an", "is", "are", "what", "which", "how", "on",
         "does", "do", "with", "by"}


def _get_jieba():
    global _jieba
    with _JIEBA_LOCK:
        if _jieba is None:
            import logging

            import jieba

            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba = jieba
    return _jieba


def normalize_text(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII) and lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


def doc_number_tokens(text: str) -> list[str]:
    """Tokens for every document number in a text: ``〔2022〕218号`` plus issuer-suffixed forms.

    The issuer's left edge is unknowable from the text alone ("…资金预算晋财社(2021)250号"), so the
    number is emitted with the last 1-4 issuer characters; a query emits the same set and the
    forms agree on the true issuer.
    """
    out = []
    for m in DOC_NUMBER.finditer(unicodedata.normalize("NFKC", text or "")):
        issuer, year, serial = m.group(1), m.group(2), m.group(3)
        core = f"〔{year}〕{serial}号"
        out.append(core)
        for n in range(2, min(4, len(issuer)) + 1):
            out.append(issuer[-n:] + core)
    return out


def tokenize(text: str) -> list[str]:
    """Index/query tokens of a text (see the module docstring)."""
    jieba = _get_jieba()
    norm = normalize_text(text)
    tokens = doc_number_tokens(text)
    for word in jieba.cut_for_search(norm):
        word = word.strip()
        if not word or word in _STOP:
            continue
        if _CJK_RUN.fullmatch(word) or _WORD.fullmatch(word):
            tokens.append(word)
    for run in _CJK_RUN.findall(norm):
        tokens.extend(run[i:i + 2] for i in range(len(run) - 1))
    for m in _WORD.finditer(norm):
        w = m.group(0)
        if w not in _STOP:
            tokens.append(w)
    # Whole codes mixing letters and digits (project codes such as 13022524P00CGB110004W).
    tokens.extend(m.group(0) for m in _CODE.finditer(norm) if not m.group(0).isdigit() and not m.group(0).isalpha())
    return tokens


class LexicalIndex:
    """BM25 over tokenised item texts; ``search`` returns (positions, scores), best first."""

    def __init__(self, tokens: Sequence[Sequence[str]] | None = None):
        import bm25s

        self._bm25 = bm25s.BM25()
        self.size = 0
        if tokens:
            self.build(tokens)

    def build(self, tokens: Sequence[Sequence[str]]) -> None:
        self.size = len(tokens)
        if self.size:
            # An empty document would make bm25s' vocabulary empty; "∅" keeps it well formed.
            self._bm25.index([list(t) or ["∅"] for t in tokens], show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every item for the query (zeros where nothing matches)."""
        if not self.size:
            return np.zeros(0, dtype=np.float32)
        toks = [t for t in tokenize(query) if t in self._bm25.vocab_dict]
        if not toks:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(toks), dtype=np.float32)

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` item positions with a positive score (restricted to ``mask`` when given)."""
        scores = self.scores(query)
        if mask is not None and scores.size:
            scores = np.where(mask, scores, 0.0)
        positive = np.flatnonzero(scores > 0)
        if positive.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if positive.size > k:
            part = np.argpartition(-scores[positive], k - 1)[:k]
            positive = positive[part]
        order = positive[np.argsort(-scores[positive], kind="stable")]
        return order, scores[order]


def save_tokens(path: Path, tokens: Iterable[Sequence[str]]) -> None:
    """Persist token lists (one JSON array per line) so a reload skips jieba."""
    with open(path, "w", encoding="utf-8") as fh:
        for t in tokens:
            fh.write(json.dumps(list(t), ensure_ascii=False) + "\n")


def load_tokens(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
