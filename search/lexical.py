"""Lexical (BM25) retrieval over the same items as the vector index.

Dense vectors blur exact strings: budget codes (2101202), document numbers (冀财社〔2022〕218号) and
short domain words (长护险) need an exact-match index beside them. Texts are tokenised into
jieba search-mode words, CJK character bigrams (so a word jieba splits differently still matches),
whole digit runs (codes, years) and normalised document numbers (``tokenize``).

The index is tantivy's (a Rust library): our own tokens go in space-separated under its
``whitespace`` tokenizer and queries are BM25-scored disjunctions of term queries. It is
segment-based and memory-mapped: a refresh adds and deletes documents and commits atomically,
a reader opens in milliseconds and follows a commit with ``reload()``, searches run in parallel
from many threads, and top-k retrieval with block-max WAND touches a fraction of the postings
where ``bm25s``, used before, scored every document (an array of 2M floats per query at 10,000
disclosures) and had to be rebuilt in RAM at every load.

One document per item row: ``row`` (the item's row in ``item_store``), ``type``, ``gb``
(graph and generation, to delete a replaced disclosure's documents in one term), ``tok`` (the
tokens) and ``key`` (the normalised label, for exact matches).
"""
from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

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


# Writer heap for tantivy (it flushes a segment when full); one indexing thread per writer.
WRITER_HEAP = 128 * 1024 * 1024
# Distinct query terms at most: a pasted page of text is cut to its first terms, not scanned.
MAX_QUERY_TERMS = 48
# Share of documents above which a query term is dropped when rarer terms remain.
COMMON_SHARE = 0.2


def _schema():
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("row", stored=False, indexed=False, fast=True)
    sb.add_text_field("type", stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("gb", stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("tok", stored=False, tokenizer_name="whitespace", index_option="freq")
    sb.add_text_field("key", stored=False, tokenizer_name="raw", index_option="basic")
    return sb.build()


def label_key(label: str) -> str:
    """The form of a label that an exact-match query compares (NFKC, lower case, trimmed)."""
    return normalize_text(label).strip()


def graph_batch(graph: str, born: int) -> str:
    """The ``gb`` term of the documents one refresh wrote for one disclosure graph."""
    return f"{graph}|{born}"


class LexicalIndex:
    """A tantivy index of item rows in ``folder`` (created when missing)."""

    def __init__(self, folder: Path, *, create: bool = True):
        import tantivy

        self._t = tantivy
        self.folder = Path(folder)
        if not create and not tantivy.Index.exists(str(self.folder)):
            raise OSError(f"no lexical index in {self.folder}")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.schema = _schema()
        self.index = tantivy.Index(self.schema, path=str(self.folder), reuse=True)
        self.index.config_reader("Manual", 0)
        self.index.reload()
        self._writer = None

    # ------------------------------------------------------------ reading

    def reload(self) -> None:
        """See the last commit (readers call this when they move to a new generation)."""
        self.index.reload()

    def searcher(self):
        return self.index.searcher()

    def size(self) -> int:
        """Documents in the last commit this reader loaded."""
        return self.index.searcher().num_docs

    def query_terms(self, text: str, searcher=None) -> Counter:
        """The query's tokens with their counts (at most ``MAX_QUERY_TERMS`` distinct ones).

        With a ``searcher``, terms held by more than ``COMMON_SHARE`` of the documents are left
        out when rarer ones remain: their BM25 weight is small (idf <= ln 5) and their postings
        are the longest. On 2M item documents this cut the p95 of a lexical query from 30 to 9 ms
        (the longest query from 66 to 19 ms) with the retrieval benchmark unchanged.
        """
        counts = Counter(tokenize(text))
        if len(counts) > MAX_QUERY_TERMS:
            counts = Counter(dict(list(counts.items())[:MAX_QUERY_TERMS]))
        if searcher is not None and len(counts) > 1:
            limit = COMMON_SHARE * max(searcher.num_docs, 1)
            rare = Counter({t: n for t, n in counts.items() if searcher.doc_freq("tok", t) <= limit})
            if rare:
                counts = rare
        return counts

    def _disjunction(self, terms: Counter):
        Query, Occur = self._t.Query, self._t.Occur
        clauses = []
        for term, count in terms.items():
            q = Query.term_query(self.schema, "tok", term)
            # A token repeated in the query counts as often (as BM25 over the query's bag does).
            clauses.append((Occur.Should, Query.boost_query(q, float(count)) if count > 1 else q))
        return Query.boolean_query(clauses)

    def _restricted(self, query, types: Sequence[str] | None):
        if not types:
            return query
        Query, Occur = self._t.Query, self._t.Occur
        kinds = Query.boolean_query([(Occur.Should, Query.term_query(self.schema, "type", t)) for t in types])
        # The type filter must not add to the score: a constant 0 keeps BM25's order.
        return Query.boolean_query([(Occur.Must, Query.const_score_query(kinds, 0.0)), (Occur.Must, query)])

    def _run(self, searcher, query, n: int) -> list[tuple[int, float]]:
        result = searcher.search(query, n, count=False)
        if not result.hits:
            return []
        addresses = [a for _, a in result.hits]
        rows = searcher.fast_field_values("row", addresses)
        return [(int(r), float(s)) for (s, _), r in zip(result.hits, rows) if s > 0]

    def search(self, terms: Counter, n: int, types: Sequence[str] | None = None, searcher=None) -> list[tuple[int, float]]:
        """Rows and BM25 scores of the best ``n`` matches of the terms, best first."""
        if not terms:
            return []
        searcher = searcher or self.searcher()
        return self._run(searcher, self._restricted(self._disjunction(terms), types), n)

    def exact(self, key: str, tokens: Sequence[str], terms: Counter, n: int, types: Sequence[str] | None = None,
              searcher=None) -> list[tuple[int, float]]:
        """Rows whose label is ``key`` or that hold one of ``tokens``, ranked by the terms' BM25."""
        Query, Occur = self._t.Query, self._t.Occur
        wanted = []
        if key:
            wanted.append((Occur.Should, Query.term_query(self.schema, "key", key)))
        wanted += [(Occur.Should, Query.term_query(self.schema, "tok", t)) for t in tokens]
        if not wanted:
            return []
        clauses = [(Occur.Must, Query.const_score_query(Query.boolean_query(wanted), 1e-6))]
        if terms:
            clauses.append((Occur.Should, self._disjunction(terms)))
        searcher = searcher or self.searcher()
        return self._run(searcher, self._restricted(Query.boolean_query(clauses), types), n)

    # ------------------------------------------------------------ writing (one writer at a time)

    @property
    def writer(self):
        if self._writer is None:
            self._writer = self.index.writer(WRITER_HEAP, 1)
        return self._writer

    def add(self, rows: Sequence[int], types: Sequence[str], batches: Sequence[str], tokens: Sequence[str],
            keys: Sequence[str]) -> None:
        """Add documents: ``tokens`` are space-joined token strings, one per row."""
        writer, Document = self.writer, self._t.Document
        for row, type_, gb, tok, key in zip(rows, types, batches, tokens, keys):
            doc = Document()
            doc.add_unsigned("row", int(row))
            doc.add_text("type", type_)
            doc.add_text("gb", gb)
            if tok:
                doc.add_text("tok", tok)
            if key:
                doc.add_text("key", key)
            writer.add_document(doc)

    def delete_batches(self, batches: Iterable[str]) -> None:
        for gb in batches:
            self.writer.delete_documents_by_term("gb", gb)

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()  # the writer is spent: merges finish before the lock goes
            self._writer = None

    def rollback(self) -> None:
        if self._writer is not None:
            self._writer.rollback()
            self._writer = None
