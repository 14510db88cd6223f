"""The search index: dense vectors (FAISS) and BM25 over the items of the graph, kept in step
with the store, persisted in an index folder beside it, and queried by hybrid ranking.

On disk (``index_dir``)::

    current.json          -> {"generation": "g000007"}   (replaced atomically; readers follow it)
    g000007/manifest.json    model, dimension, per-disclosure-graph fingerprints, counts
    g000007/items.jsonl      one item per line (corpus.Item), row i <-> vector i
    g000007/vectors.npy      float32 unit vectors
    g000007/tokens.jsonl     BM25 tokens per item (so a reload skips jieba)

A generation's vectors and items are never modified once published: a refresh writes a new
folder and then swaps ``current.json``, so a server reading the index never sees a half-written
one (only the manifest's topic-tagging bookkeeping is rewritten in place, atomically). Writers
serialise on a lock file; a reader notices a newer generation within ``RELOAD_CHECK_S``.

The store is the source of truth. ``open`` compares the store's per-disclosure fingerprints with
the manifest and re-reads only the graphs that were added or replaced (their items are re-encoded;
the others keep their vectors) and drops the removed ones. Vectors of two models never mix: an
index built with another model raises ``IndexMismatch`` unless the caller asks for a rebuild.

Ranking: reciprocal rank fusion (RRF, k=60) of up to four rankings, one hit per resource:

- dense: cosine to the query (projects and indicators have a second, name-only vector; budget
  lines are left out, their bare labels resemble too many questions);
- lexical: BM25 over jieba words, character bigrams, codes and 文号 (weighted x2 when the query
  holds a code or 文号);
- exact: items whose label is the query, or holding its 文号/code as a token (weight 2);
- topic words: BM25 for the Chinese labels of a policy topic the query names or means
  ("village-level insurance agents" -> 村级代办员), from ``ontology/topics.ttl``.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ontology.errors import IndexMismatch, QueryRejected
from search import corpus, lexical
from search.corpus import ITEM_TYPES, Item
from search.embedder import DEFAULT_MODEL, get_embedder
from search.store import GraphStore
from search.vectors import VectorIndex

FORMAT_VERSION = 1
RRF_K = 60
# How many candidates each ranking contributes to the fusion, at least.
CANDIDATES = 50
# A query with an exact code / 文号 trusts the lexical ranking this much more.
EXACT_BOOST = 2.0
# Weight of the exact-match ranking (same label, or the query's 文号/code as a token).
EXACT_WEIGHT = 2.0
# Topic expansion keeps the items scoring at least this share of its best lexical score.
EXPANSION_KEEP = 0.8
# Seconds between checks whether another process published a newer generation.
RELOAD_CHECK_S = 2.0
TYPE_ALIASES = {"indicators": "indicator", "projects": "project", "legal": "legal", "document": "legal",
                "documents": "legal", "passage": "text", "passages": "text", "lines": "line",
                "budget-line": "line"}


def normalize_type(type_: str | None) -> str | None:
    """A valid item type (aliases accepted) or None; unknown types are refused with the list."""
    if type_ is None or type_ == "":
        return None
    t = TYPE_ALIASES.get(type_.lower(), type_.lower())
    if t not in ITEM_TYPES:
        raise QueryRejected(f"unknown type '{type_}'; use one of: {', '.join(ITEM_TYPES)}")
    return t


class SearchIndex:
    """Hybrid search over one store. Use ``SearchIndex.open``; the constructor does no I/O."""

    def __init__(self, store: GraphStore, index_dir: Path, model: str = DEFAULT_MODEL, threads: int = 1):
        self.store = store
        self.index_dir = Path(index_dir)
        self.model = model
        self.threads = threads
        self.items: list[Item] = []
        self.vectors = np.zeros((0, 0), dtype=np.float32)
        self.tokens: list[list[str]] = []
        self.manifest: dict = {}
        self.generation: str | None = None
        self._vindex: VectorIndex | None = None
        self._lex: lexical.LexicalIndex | None = None
        self._by_iri: dict[str, list[int]] = {}
        self._types = np.zeros(0, dtype=object)
        self._lock = threading.RLock()
        self._last_check = 0.0
        self._cache: dict = {}
        self._query_cache: dict[str, np.ndarray] = {}

    # ---------------------------------------------------------------- opening

    @classmethod
    def open(cls, store: GraphStore, index_dir: Path, model: str = DEFAULT_MODEL, threads: int = 1, *,
             on_model_change: str = "error", refresh: bool = True) -> "SearchIndex":
        """Load the index in ``index_dir``, refreshing it from the store when missing or stale.

        ``on_model_change``: "error" raises ``IndexMismatch`` when the folder holds vectors of another
        model; "rebuild" discards them and re-encodes everything with ``model``.
        ``refresh=False`` loads what is on disk without looking at the store.
        """
        index = cls(store, Path(index_dir), model, threads)
        loaded = index._load_current()
        if loaded and index.manifest.get("model") != model:
            if on_model_change != "rebuild":
                raise IndexMismatch(
                    f"the index in {index.index_dir} was built with the embedding model "
                    f"'{index.manifest.get('model')}', not '{model}'; its vectors cannot be mixed. "
                    "Rebuild it (`budgetkg search --reindex`, or delete the folder) or set "
                    f"BUDGETKG_EMBEDDING_MODEL={index.manifest.get('model')}.")
            index._reset()
        if refresh:
            index.refresh()
        return index

    @property
    def embedder(self):
        return get_embedder(self.model, self.threads)

    def _reset(self) -> None:
        self.items, self.tokens, self.manifest, self.generation = [], [], {}, None
        self.vectors = np.zeros((0, 0), dtype=np.float32)
        self._build_structures()

    # ---------------------------------------------------------------- refresh

    def is_stale(self) -> bool:
        """True when the store's disclosure graphs differ from what the index was built from."""
        return corpus.store_state(self.store) != self.manifest.get("graphs", {})

    def refresh(self, *, rebuild: bool = False, tag_topics: bool = False) -> dict:
        """Bring the index in step with the store; returns what was done and how long it took.

        Only disclosure graphs that were added or replaced are re-read and re-encoded; removed
        ones are dropped. ``rebuild`` re-encodes everything. ``tag_topics`` (needs a writable
        store) also re-tags the policy topics of the changed disclosures.
        """
        t0 = time.perf_counter()
        with self._lock, self._write_lock():
            # Another process may have published a newer generation meanwhile: start from it.
            if self._current_generation() not in (None, self.generation):
                self._load_current()
                if self.manifest.get("model") != self.model:
                    self._reset()
            if rebuild:
                self._reset()
            state = corpus.store_state(self.store)
            old = self.manifest.get("graphs", {})
            changed = sorted(g for g, fp in state.items() if old.get(g) != fp)
            removed = sorted(g for g in old if g not in state)
            stats = {"model": self.model, "added_or_replaced": len(changed), "removed": len(removed),
                     "encoded": 0, "items": len(self.items)}
            if changed or removed or self.generation is None:
                drop = set(changed) | set(removed)
                keep = [i for i, it in enumerate(self.items) if it.graph not in drop]
                new_items = corpus.collect_items(self.store, changed) if changed else []
                t_enc = time.perf_counter()
                new_vectors = self.embedder.encode_passages([it.text for it in new_items])
                stats["encode_s"] = round(time.perf_counter() - t_enc, 3)
                new_tokens = [lexical.tokenize(it.lex or it.text) for it in new_items]
                kept_vectors = self.vectors[keep] if len(keep) else None
                if kept_vectors is not None and new_items and kept_vectors.shape[1] != new_vectors.shape[1]:
                    raise IndexMismatch(f"vectors of dimension {kept_vectors.shape[1]} and {new_vectors.shape[1]} "
                                        "cannot share an index; rebuild it")
                self.items = [self.items[i] for i in keep] + new_items
                self.tokens = [self.tokens[i] for i in keep] + new_tokens
                parts = [v for v in (kept_vectors, new_vectors) if v is not None and len(v)]
                self.vectors = (np.vstack(parts) if parts else
                                np.zeros((0, self.embedder.dim), dtype=np.float32)).astype(np.float32)
                self.manifest = {"format": FORMAT_VERSION, "model": self.model, "dim": int(self.embedder.dim),
                                 "graphs": state, "items": len(self.items),
                                 "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                 "topics": self.manifest.get("topics", {})}
                self._build_structures()
                self._publish()
                stats.update(encoded=len(new_items), items=len(self.items))
            if tag_topics:
                stats["topics"] = self._tag_topics(state, changed, removed)
            stats["seconds"] = round(time.perf_counter() - t0, 3)
            stats["index"] = self._vindex.kinds if self._vindex else {}
            return stats

    def _tag_topics(self, state: dict, changed: list[str], removed: list[str]) -> dict:
        from search import topics as topics_mod

        fingerprint = _topics_fingerprint(self.model)
        tagged = self.manifest.get("topics", {})
        present = topics_mod.tagged_state(self.store)
        todo = sorted(g for g in state if g in changed or tagged.get(g) != f"{state[g]}|{fingerprint}"
                      or g not in present)
        stats = topics_mod.tag_graphs(self.store, todo, self.embedder) if todo else {"graphs": 0, "tags": 0}
        gone = sorted(set(removed) | set(topics_mod.orphan_topic_graphs(self.store)))
        topics_mod.drop_topic_graphs(self.store, gone)
        self.manifest["topics"] = {g: f"{state[g]}|{fingerprint}" for g in state}
        self._write_manifest_only()
        stats["dropped"] = len(gone)
        return stats

    # ---------------------------------------------------------------- structures

    def _build_structures(self) -> None:
        self._types = np.asarray([it.type for it in self.items], dtype=object)
        dim = self.vectors.shape[1] if self.vectors.ndim == 2 and self.vectors.shape[1] else 1
        self._vindex = VectorIndex(self.vectors.reshape(len(self.items), dim) if self.items
                                   else np.zeros((0, dim), dtype=np.float32), list(self._types))
        self._lex = lexical.LexicalIndex(self.tokens)
        self._by_iri = {}
        for i, it in enumerate(self.items):
            self._by_iri.setdefault(it.iri, []).append(i)
        self._type_masks = {t: self._types == t for t in ITEM_TYPES}
        # Exact-match lookups: normalised labels, and 文号 / code tokens.
        self._by_label: dict[str, list[int]] = {}
        self._by_token: dict[str, list[int]] = {}
        for i, it in enumerate(self.items):
            if it.extra.get("variant"):
                continue
            self._by_label.setdefault(lexical.normalize_text(it.label).strip(), []).append(i)
            for tok in set(self.tokens[i]):
                if ("〔" in tok and not tok.startswith("〔")) or (len(tok) >= 5 and any(c.isdigit() for c in tok)
                                                                 and tok.isalnum()):
                    self._by_token.setdefault(tok, []).append(i)
        self._cache = {}

    # ---------------------------------------------------------------- persistence

    @contextmanager
    def _write_lock(self):
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with open(self.index_dir / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _current_generation(self) -> str | None:
        try:
            return json.loads((self.index_dir / "current.json").read_text("utf-8"))["generation"]
        except (OSError, ValueError, KeyError):
            return None

    def _load_current(self) -> bool:
        """Load the published generation; False when there is none (or it is unreadable)."""
        gen = self._current_generation()
        if gen is None:
            return False
        folder = self.index_dir / gen
        try:
            manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
            if manifest.get("format") != FORMAT_VERSION:
                return False
            with open(folder / "items.jsonl", encoding="utf-8") as fh:
                items = [Item.from_json(json.loads(line)) for line in fh if line.strip()]
            vectors = np.load(folder / "vectors.npy")
            tokens = lexical.load_tokens(folder / "tokens.jsonl")
        except (OSError, ValueError, KeyError, TypeError):
            return False  # a damaged index is rebuilt from the store
        if len(items) != len(vectors) or len(items) != len(tokens):
            return False
        self.manifest, self.items, self.vectors, self.tokens, self.generation = manifest, items, vectors, tokens, gen
        self._build_structures()
        self._last_check = time.monotonic()
        return True

    def _publish(self) -> None:
        existing = sorted(p.name for p in self.index_dir.glob("g[0-9]*") if p.is_dir())
        number = int(existing[-1][1:]) + 1 if existing else 1
        gen = f"g{number:06d}"
        tmp = self.index_dir / f".tmp-{gen}-{os.getpid()}"
        tmp.mkdir(parents=True)
        with open(tmp / "items.jsonl", "w", encoding="utf-8") as fh:
            for it in self.items:
                fh.write(json.dumps(it.to_json(), ensure_ascii=False) + "\n")
        np.save(tmp / "vectors.npy", self.vectors)
        lexical.save_tokens(tmp / "tokens.jsonl", self.tokens)
        (tmp / "manifest.json").write_text(json.dumps(self.manifest, ensure_ascii=False, indent=1), "utf-8")
        os.rename(tmp, self.index_dir / gen)
        self._swap_current(gen)
        self.generation = gen
        # Keep the previous generation for readers that are still on it; older ones go.
        for old in existing[:-1]:
            shutil.rmtree(self.index_dir / old, ignore_errors=True)

    def _write_manifest_only(self) -> None:
        # Topic bookkeeping changes no vectors: rewrite the manifest of the current generation.
        if self.generation is None:
            return
        path = self.index_dir / self.generation / "manifest.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.manifest, ensure_ascii=False, indent=1), "utf-8")
        os.replace(tmp, path)

    def _swap_current(self, gen: str) -> None:
        tmp = self.index_dir / f".current-{os.getpid()}.json"
        tmp.write_text(json.dumps({"generation": gen}), "utf-8")
        os.replace(tmp, self.index_dir / "current.json")

    def _maybe_reload(self) -> None:
        """Follow a generation published by another process (checked every few seconds)."""
        now = time.monotonic()
        if now - self._last_check < RELOAD_CHECK_S:
            return
        self._last_check = now
        gen = self._current_generation()
        if gen and gen != self.generation:
            with self._lock:
                previous = (self.manifest, self.items, self.vectors, self.tokens, self.generation)
                if not self._load_current() or self.manifest.get("model") != self.model:
                    self.manifest, self.items, self.vectors, self.tokens, self.generation = previous
                    self._build_structures()

    # ---------------------------------------------------------------- queries

    def __len__(self) -> int:
        return len(self.items)

    def items_for(self, iri: str) -> list[Item]:
        return [self.items[i] for i in self._by_iri.get(iri, [])]

    def encode_query(self, text: str) -> np.ndarray:
        """The query's vector (the last few are remembered: one search encodes a query once)."""
        cache = self._query_cache
        if text not in cache:
            if len(cache) > 64:
                cache.clear()
            cache[text] = self.embedder.encode_query(text)
        return cache[text]

    def dense(self, text: str, k: int, types: list[str] | None = None,
              vector: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Positions and cosines of the nearest items."""
        self._maybe_reload()
        if not self.items:
            return []
        q = self.encode_query(text) if vector is None else vector
        return self._vindex.search(q, k, types)[0]

    def lexical(self, text: str, k: int, types: list[str] | None = None) -> list[tuple[int, float]]:
        """Positions and BM25 scores of the best lexical matches."""
        self._maybe_reload()
        if not self.items:
            return []
        mask = None
        if types:
            mask = np.zeros(len(self.items), dtype=bool)
            for t in types:
                mask |= self._type_masks[t]
        pos, scores = self._lex.search(text, k, mask)
        return list(zip(pos.tolist(), scores.tolist()))

    def search(self, text: str, k: int = 10, type: str | None = None, *, mode: str = "hybrid") -> list[dict]:
        """Hybrid (or ``mode`` = "dense" / "lexical") search; one hit per resource, best first.

        Hits: ``iri, type, label, text, score, department, county, fiscal_year, project, source`` and
        the type's own fields (``target_value``, ``level1``, ``level2``, ``amount``, ``section`` ...).
        """
        text = (text or "").strip()
        if not text:
            raise QueryRejected("empty search text")
        k = max(1, int(k))
        t = normalize_type(type)
        types = [t] if t else None
        n = max(CANDIDATES, 4 * k)
        # Budget lines are bare code + name labels: close in meaning to many questions, the
        # answer to few. They join a ranking by exact words only, unless asked for by type.
        dense_types = types or [x for x in ITEM_TYPES if x != "line"]
        dense = self.dense(text, n, dense_types) if mode in ("hybrid", "dense") else []
        lex = self.lexical(text, n, types) if mode in ("hybrid", "lexical") else []
        if mode not in ("hybrid", "dense", "lexical"):
            raise QueryRejected(f"unknown search mode '{mode}'; use hybrid, dense or lexical")
        exact = self._exact(text, types, lex) if mode == "hybrid" else []
        expanded = self._expanded(text, n, types) if mode == "hybrid" else []
        fused: dict[int, dict] = {}
        w_lex = EXACT_BOOST if _has_exact_token(text) else 1.0
        for weight, ranking, name in ((1.0, dense, "dense"), (w_lex, lex, "lexical"), (EXACT_WEIGHT, exact, "exact"),
                                      (1.0, expanded, "topics")):
            for rank, (pos, score) in enumerate(ranking):
                entry = fused.setdefault(pos, {"rrf": 0.0})
                entry["rrf"] += weight / (RRF_K + rank + 1)
                entry[name] = score
        if mode == "dense":
            order = sorted(fused, key=lambda p: -fused[p]["dense"])
        elif mode == "lexical":
            order = sorted(fused, key=lambda p: -fused[p]["lexical"])
        else:
            order = sorted(fused, key=lambda p: (-fused[p]["rrf"], -fused[p].get("dense", 0.0)))
        hits, seen = [], set()
        for pos in order:
            item = self.items[pos]
            if item.iri in seen:
                continue
            seen.add(item.iri)
            if item.extra.get("variant"):
                item = self.items[self._by_iri[item.iri][0]]  # show the full item, not its name vector
            entry = fused[pos]
            score = entry["rrf"] if mode == "hybrid" else entry.get(mode, 0.0)
            hits.append(hit_json(item, score, dense=entry.get("dense"), lexical=entry.get("lexical"),
                                 exact="exact" in entry, topics="topics" in entry))
            if len(hits) >= k:
                break
        return hits

    def similar(self, text_or_iri: str, k: int = 10) -> list[dict]:
        """Performance indicators most similar to an indicator (by IRI) or to free text.

        The query indicator itself is excluded. Hits: ``iri, label, target_value, level1, level2,
        project, department, county, fiscal_year, score, source``.
        """
        from search.similar import similar_indicators

        return similar_indicators(self, text_or_iri, k)

    def _exact(self, text: str, types: list[str] | None, lex: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Items that hold the query exactly: the same label, or the query's 文号 / code as a token.

        BM25 ranks a near neighbour (档案归档质量 for 档案归档率, 吕财社〔2022〕105号 for
        吕财社〔2021〕171号) close to the exact item; an exact match deserves to lead.
        """
        key = lexical.normalize_text(text).strip()
        wanted = {t for t in lexical.doc_number_tokens(text) if not t.startswith("〔")}
        wanted |= {t for t in re.findall(r"[0-9a-z]{5,}", key) if any(c.isdigit() for c in t)}
        found = set(self._by_label.get(key, []))
        for tok in wanted:
            found |= set(self._by_token.get(tok, []))
        if types:
            found = {p for p in found if self.items[p].type in types}
        if not found:
            return []
        score = dict(lex)
        return sorted(((p, score.get(p, 0.0)) for p in found), key=lambda x: -x[1])

    def _expanded(self, text: str, k: int, types: list[str] | None) -> list[tuple[int, float]]:
        """Lexical ranking of the query's policy topics in the documents' own words.

        "village-level insurance agents" shares no word with 村级代办员; the topic scheme knows
        both (skos:altLabel in en and zh). A topic named in the query (any label) or close to it
        in meaning contributes its Chinese labels as a second lexical query.
        """
        matcher = self.topic_matcher()
        matches = matcher.label_matches(text)
        if not matches and matcher.embedder is not None:
            vector = self.encode_query(text)  # cached: the dense ranking encoded it already
            close = matcher.embedding_matches(vector[None, :], self.embedder.profile.question_threshold)[0]
            matches = close[:1]
        if not matches:
            return []
        words = []
        for m in matches[:2]:
            words += [l.text for l in m.topic.labels if l.lang == "zh"][:6]
        ranking = self.lexical(" ".join(words), k, types)
        # Only the items that hold the topic's words strongly: a long tail of items sharing one
        # character pair would otherwise add votes to everything dense also likes.
        best = ranking[0][1] if ranking else 0.0
        return [(p, sc) for p, sc in ranking if sc >= EXPANSION_KEEP * best]

    def topic_matcher(self):
        from search.topics import TopicMatcher, load_topics

        return self.cached("topic-matcher", lambda: TopicMatcher(load_topics(), self.embedder))

    # ---------------------------------------------------------------- helpers for qa

    def cached(self, key: str, build):
        """A value computed once per loaded generation (e.g. QA's gazetteer)."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def stats(self) -> dict:
        counts: dict[str, int] = {}
        for it in self.items:
            counts[it.type] = counts.get(it.type, 0) + 1
        return {"model": self.model, "items": len(self.items), "by_type": counts,
                "graphs": len(self.manifest.get("graphs", {})), "generation": self.generation,
                "index": self._vindex.kinds if self._vindex else {}, "folder": str(self.index_dir)}


def hit_json(item: Item, score: float, *, dense: float | None = None, lexical: float | None = None,
             exact: bool = False, topics: bool = False) -> dict:
    """The JSON shape of a search hit (``scores`` says which rankings found it)."""
    out = {"iri": item.iri, "type": item.type, "label": item.label, "text": item.text,
           "score": round(float(score), 6), "department": item.department, "county": item.county,
           "fiscal_year": item.fiscal_year, "project": item.project, "source": item.source}
    for key, val in item.extra.items():
        if key not in out and val not in (None, [], ""):
            out[key] = val
    out["scores"] = {"dense": None if dense is None else round(float(dense), 4),
                     "lexical": None if lexical is None else round(float(lexical), 4),
                     "exact": exact, "topic_words": topics}
    return out


def _has_exact_token(text: str) -> bool:
    """A document number or a budget/project code (5+ digits) in the query."""
    if lexical.DOC_NUMBER.search(lexical.normalize_text(text)):
        return True
    return any(len(tok) >= 5 and any(c.isdigit() for c in tok) for tok in re.findall(r"[0-9a-z]+", lexical.normalize_text(text)))


def _topics_fingerprint(model: str) -> str:
    from search.topics import TOPICS_FILE

    try:
        digest = hashlib.sha256(Path(TOPICS_FILE).read_bytes()).hexdigest()[:16]
    except OSError:
        digest = "none"
    return f"{digest}:{model}"


def refresh_after_ingest(store: GraphStore, index_dir: Path, model: str = DEFAULT_MODEL, threads: int = 1) -> dict:
    """Bring the index and the topic tags in step with the store after an ingest.

    For the ingest command: the store is open read-write. A folder built with another model is
    rebuilt with ``model`` (the settings changed), never mixed.
    """
    index = SearchIndex.open(store, index_dir, model, threads, on_model_change="rebuild", refresh=False)
    return index.refresh(tag_topics=True)


