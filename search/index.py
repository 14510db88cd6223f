"""The search index: dense vectors (FAISS) and BM25 (tantivy) over the items of the graph, kept in
step with the store, persisted in an index folder beside it, and queried by hybrid ranking.

Storage (figures for 10,000 disclosures, ~1.9M items, on the 2-core machine; the layout itself is
described in ``index_build``):

- items in SQLite (``item_store``), fetched per hit by primary key: nothing per item is held in
  memory, so opening an index costs the same at 5 disclosures as at 10,000 (a few ms plus the
  embedding model);
- vectors once per distinct text (``vector_cache``): one vector serves every item that embeds the
  same words, and a refresh or rebuild encodes only texts never seen; FAISS spaces hold cache ids;
- one FAISS space per item type (plus indicators' bare names, for ``similar``), flat while small,
  inverted lists once large (``vectors``), memory-mapped;
- tantivy for the lexical side (``lexical``), memory-mapped, incremental.

A refresh writes a new generation and swaps ``current.json``; a reader notices within
``RELOAD_CHECK_S`` and switches with a reload of the small parts only (manifest, delta vectors,
memory maps), never a rebuild. The store is the source of truth: ``open`` compares the store's
per-disclosure fingerprints with the manifest and re-reads only the disclosures that were added
or replaced; removed ones leave. Vectors of two models never mix: an index built with another
model raises ``IndexMismatch`` unless the caller asks for a rebuild.

Queries are safe from many threads at once and take no lock: each reads the generation it started
on (an immutable ``_View``), FAISS, tantivy and SQLite (a connection per thread) read concurrently,
and the only shared mutable state, the query-vector cache, has its own short lock. ``deadline``
(a ``time.monotonic()`` value) is checked between stages; input is bounded (text clipped to
``max_query_chars``, ``k`` capped at ``max_k``, at most ``lexical.MAX_QUERY_TERMS`` terms, a fixed
number of candidates per ranking).

Ranking: reciprocal rank fusion (RRF, k=60) of up to four rankings, one hit per resource:

- dense: cosine to the query (budget lines are left out, their bare labels resemble too many
  questions, unless asked for by type);
- lexical: BM25 over jieba words, character bigrams, codes and 文号 (weighted x2 when the query
  holds a code or 文号);
- exact: items whose label is the query, or holding its 文号/code as a token (weight 2);
- topic words: BM25 for the Chinese labels of a policy topic the query names or means
  ("village-level insurance agents" -> 村级代办员), from ``ontology/topics.ttl``.

Projects and indicators used to have a second, name-only vector in this ranking; on
``benchmarks/retrieval_eval.py`` search scored better without it (recall@1 1.000 vs 0.953), so
the name vectors now serve ``similar`` only.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import pickle
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from ontology.errors import IndexMismatch, QueryRejected, QueryTimeout
from search import corpus, lexical
from search.corpus import ITEM_TYPES, Item
from search.embedder import DEFAULT_MODEL, get_embedder
from search.graph_spool import GraphSpool
from search.index_build import (SPACES, IndexOptions, Layout, Refresher, current_generation, generation_name,
                                read_manifest, reset_folder, write_json_atomic)
from search.item_store import ItemStore, item_from_row
from search.lexical import LexicalIndex
from search.store import GraphStore
from search.vector_cache import CachedEncoder, VectorCache
from search.vectors import Space, read_base

log = logging.getLogger(__name__)

RRF_K = 60
# How many candidates each ranking contributes to the fusion, at least.
CANDIDATES = 50
# A query with an exact code / 文号 trusts the lexical ranking this much more.
EXACT_BOOST = 2.0
# Weight of the exact-match ranking (same label, or the query's 文号/code as a token).
EXACT_WEIGHT = 2.0
# Topic expansion keeps the items scoring at least this share of its best lexical score.
EXPANSION_KEEP = 0.8
# Topic expansions remembered per generation (a few hundred topics, one or two per query).
EXPANSION_CACHE = 512
# Seconds between checks whether another process published a newer generation.
RELOAD_CHECK_S = 2.0
# Items shown per matching vector in the dense ranking (a text shared by many items is one vector).
PER_VECTOR = 10
# Query vectors remembered (one search encodes its text once; repeated queries not at all).
QUERY_CACHE = 256
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


class _View:
    """One published generation, loaded: what a query reads, start to end (a query takes the view
    once, so a refresh that installs the next one meanwhile cannot mix two generations in it).

    ``items``, ``lex`` and ``vectors`` are the shared files (item table, lexical index, embedding
    cache), opened once and handed on to the next view while they are the same files on disk.
    ``searcher`` is the view's own tantivy snapshot: the shared lexical index moves on to the next
    generation's documents (deleting those of rows dying in it), this view's searcher does not.
    """

    def __init__(self, name: str, manifest: dict, spaces: dict[str, Space]):
        self.name = name
        self.gen = int(manifest["gen"])
        self.manifest = manifest
        self.spaces = spaces
        self.items: ItemStore | None = None
        self.lex: LexicalIndex | None = None
        self.vectors: VectorCache | None = None
        self.searcher = None
        self.files: object = None
        # Topic expansions ranked in this generation (``SearchIndex._expanded``), by topic words:
        # many different queries name the same few hundred topics.
        self.expansions: OrderedDict[tuple, list[tuple[int, float]]] = OrderedDict()
        self.expansions_lock = threading.Lock()


def load_view(layout: Layout, name: str, options: IndexOptions) -> _View | None:
    """The generation ``name`` with its spaces loaded (bases memory-mapped); None if damaged."""
    manifest = read_manifest(layout, name)
    if manifest is None:
        return None
    folder = layout.generation(name)
    try:
        vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        ids = np.load(folder / "vector_ids.npy")
        if len(vectors) != len(ids) or not _shared_files_readable(layout, manifest):
            return None
        spaces = {}
        for space, entry in manifest["spaces"].items():
            start, end = entry["delta"]
            base = read_base(layout.ann / f"{entry['base']}.faiss") if entry.get("base") else None
            spaces[space] = Space(base, ids[start:end], np.asarray(vectors[start:end], dtype=np.float32), options.ann)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError):
        return None  # a damaged index is rebuilt from the store
    return _View(name, manifest, spaces)


def _shared_files_readable(layout: Layout, manifest: dict) -> bool:
    """A cheap check of the item table and the lexical index (a full check would read GBs)."""
    import sqlite3

    import tantivy

    try:
        conn = sqlite3.connect(f"file:{layout.items}?mode=ro", uri=True)
        try:
            conn.execute("SELECT row FROM items LIMIT 1").fetchall()
        finally:
            conn.close()
        if not tantivy.Index.exists(str(layout.lexical)):
            return False
        return LexicalIndex(layout.lexical, create=False).size() > 0 or not manifest.get("items")
    except (sqlite3.Error, OSError, ValueError):
        return False


class ItemsView:
    """The items of the loaded generation, streamed from the item table (``len`` is cheap)."""

    def __init__(self, index: "SearchIndex"):
        self._index = index

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self) -> Iterator[Item]:
        view = self._index._view
        return iter(()) if view is None else view.items.iter_items(view.gen)


class SearchIndex:
    """Hybrid search over one store. Use ``SearchIndex.open``; the constructor does no I/O."""

    def __init__(self, store: GraphStore, index_dir: Path, model: str = DEFAULT_MODEL, threads: int = 1,
                 options: IndexOptions | None = None):
        self.store = store
        self.index_dir = Path(index_dir)
        self.layout = Layout(self.index_dir)
        self.model = model
        self.threads = threads
        self.options = options or IndexOptions()
        self._view: _View | None = None
        self._last_check = 0.0
        self._reload_lock = threading.Lock()
        self._write_mutex = threading.RLock()
        self._cache: dict = {}
        self._cache_lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_lock = threading.Lock()

    # ---------------------------------------------------------------- opening

    @classmethod
    def open(cls, store: GraphStore, index_dir: Path, model: str = DEFAULT_MODEL, threads: int = 1, *,
             on_model_change: str = "error", refresh: bool = True,
             options: IndexOptions | None = None) -> "SearchIndex":
        """Load the index in ``index_dir``, refreshing it from the store when missing or stale.

        ``on_model_change``: "error" raises ``IndexMismatch`` when the folder holds vectors of another
        model; "rebuild" discards them and re-encodes everything with ``model``.
        ``refresh=False`` loads what is on disk without looking at the store.
        """
        index = cls(store, Path(index_dir), model, threads, options)
        name = current_generation(index.layout)
        manifest = read_manifest(index.layout, name) if name else None
        if manifest is not None and manifest.get("model") != model:
            if on_model_change != "rebuild":
                raise IndexMismatch(
                    f"the index in {index.index_dir} was built with the embedding model "
                    f"'{manifest.get('model')}', not '{model}'; its vectors cannot be mixed. "
                    "Rebuild it (`budgetkg search --reindex`, or delete the folder) or set "
                    f"BUDGETKG_EMBEDDING_MODEL={manifest.get('model')}.")
            with index._write_lock():
                reset_folder(index.layout)
        elif name:
            index._install(load_view(index.layout, name, index.options))
        index._last_check = time.monotonic()
        if refresh:
            index.refresh()
        return index

    @property
    def embedder(self):
        return get_embedder(self.model, self.threads)

    @property
    def manifest(self) -> dict:
        return self._view.manifest if self._view is not None else {}

    @property
    def generation(self) -> str | None:
        return self._view.name if self._view is not None else None

    @property
    def items(self) -> ItemsView:
        return ItemsView(self)

    def _install(self, view: _View | None) -> None:
        """Make ``view`` the generation queries read, with the shared files opened (or taken over
        from the previous view when they are the same files: a reset replaces them).

        The previous view's handles are not closed: a query that took it may still be reading.
        They go with the last reference to that view (a handle on a file a reset removed keeps
        reading the old file, which is what that query wants).
        """
        if view is not None:
            files = _identity(view.manifest)
            previous = self._view
            if previous is not None and files is not None and previous.files == files:
                view.items, view.lex, view.vectors = previous.items, previous.lex, previous.vectors
                view.lex.reload()  # the documents of the new generation (the old view keeps its searcher)
            else:
                view.items = ItemStore(self.layout.items)
                view.lex = LexicalIndex(self.layout.lexical, create=False)
                view.vectors = VectorCache(self.layout.root / view.manifest["cache"], int(view.manifest["dim"]))
            view.searcher = view.lex.searcher()
            view.files = files
        self._view = view
        with self._cache_lock:
            self._cache = {}

    def _current_view(self) -> _View | None:
        """The loaded generation, after following a newer one published by another process
        (checked every ``RELOAD_CHECK_S``; one thread loads it, the others go on meanwhile)."""
        view = self._view
        now = time.monotonic()
        if now - self._last_check >= RELOAD_CHECK_S and self._reload_lock.acquire(blocking=False):
            try:
                self._last_check = now
                name = current_generation(self.layout)
                if name and (view is None or name != view.name):
                    new = load_view(self.layout, name, self.options)
                    if new is not None and new.manifest.get("model") == self.model:
                        self._install(new)
                        view = new
            finally:
                self._reload_lock.release()
        return view

    # ---------------------------------------------------------------- refresh

    def is_stale(self, *, quick: bool = False) -> bool:
        """True when the store's disclosure graphs differ from what the index was built from.
        ``quick`` compares only which graphs there are and the hashes of their files, not their
        resource counts (which also catch a re-ingest of the same file by a better parser)."""
        built = self.manifest.get("graphs", {})
        if quick:
            return corpus.store_files(self.store) != {g: state.rsplit(":", 1)[0] for g, state in built.items()}
        return corpus.store_state(self.store) != built

    @contextmanager
    def _write_lock(self):
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with self._write_mutex, open(self.layout.lock, "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def refresh(self, *, rebuild: bool = False, tag_topics: bool = False, spool: GraphSpool | None = None,
                progress: Callable[[int, int], None] | None = None) -> dict:
        """Bring the index in step with the store; returns what was done and how long it took.

        Only disclosure graphs that were added or replaced are re-read, and only texts the
        embedding cache has not seen are encoded; removed graphs are dropped. ``rebuild`` re-reads
        everything (the cache still spares the encoder). ``tag_topics`` (needs a writable store)
        also re-tags the policy topics of the changed disclosures. ``spool``: the graphs an ingest
        just wrote, read from there instead of from the store where they are the graphs it holds.
        ``progress(done, total)`` is called as batches of changed graphs are written.

        Stats: ``added_or_replaced``, ``removed``, ``encoded`` (items that got vectors),
        ``texts_encoded`` / ``texts_cached`` (encoder calls vs cache hits), ``items``, and seconds
        split into ``read_s`` (SPARQL), ``tokenize_s`` and ``embed_s`` (CPU, in workers when
        ``workers`` > 0), ``write_s``, ``vectors_s`` (FAISS), ``topics_s``, ``wait_s`` and ``seconds``.
        """
        t0 = time.perf_counter()
        with self._write_lock():
            layout = self.layout
            name = current_generation(layout)
            if layout.pending.exists() or rebuild:
                # A refresh that stopped half-way leaves its marker: start again from the store.
                reset_folder(layout)
                name = None
            if name != self.generation:
                view = load_view(layout, name, self.options) if name else None
                if view is None or view.manifest.get("model") != self.model:
                    reset_folder(layout)
                    view = None
                self._install(view)
            manifest = self._view.manifest if self._view is not None else None
            if manifest is None and (layout.items.exists() or layout.lexical.exists()):
                reset_folder(layout)  # files without a published generation: a damaged folder
            state = corpus.store_state(self.store)
            old = manifest.get("graphs", {}) if manifest else {}
            changed = sorted(g for g, fp in state.items() if old.get(g) != fp)
            removed = sorted(g for g in old if g not in state)
            stats: dict = {"model": self.model, "added_or_replaced": len(changed), "removed": len(removed),
                           "encoded": 0, "texts_encoded": 0, "texts_cached": 0, "items": len(self)}
            tagged_now: set[str] = set()
            if changed or removed or manifest is None:
                refresher = Refresher(layout, self.store, self.model, self.embedder, self.options, spool, progress)
                tagged_now = set(changed) if tag_topics else set()
                new_manifest = refresher.run(manifest, state, changed, removed, tagged_now)
                view = load_view(layout, generation_name(new_manifest["gen"]), self.options)
                if view is None:
                    raise OSError(f"the index generation just written to {layout.root} cannot be read back")
                self._install(view)
                stats.update({k: round(v, 3) if isinstance(v, float) else v for k, v in refresher.stats.items()})
                stats["encoded"] = refresher.inserted
                stats["items"] = len(self)
                if tagged_now:
                    stats["topics"] = refresher.topic_stats
            if tag_topics:
                stats["topics"] = self._tag_topics(state, changed, removed, tagged_now, stats.get("topics"))
            stats["seconds"] = round(time.perf_counter() - t0, 3)
            stats["index"] = self.kinds
            return stats

    def _tag_topics(self, state: dict, changed: list[str], removed: list[str], done: set[str],
                    counts: dict | None) -> dict:
        from search import topics as topics_mod

        t0 = time.perf_counter()
        counts = dict(counts or {"graphs": 0, "tags": 0, "by_label": 0, "by_embedding": 0})
        fingerprint = _topics_fingerprint(self.model)
        tagged = self.manifest.get("topics", {})
        present = topics_mod.tagged_state(self.store)
        todo = sorted(g for g in state if g not in done and (g in changed or tagged.get(g) != f"{state[g]}|{fingerprint}"
                                                             or g not in present))
        if todo:
            cache = VectorCache(self.layout.cache(self.model), self.embedder.dim, writable=True)
            try:
                encoder = CachedEncoder(self.embedder, cache)
                step = corpus.graphs_per_query(self.store)
                for i in range(0, len(todo), step):
                    part = topics_mod.tag_graphs(self.store, todo[i:i + step], encoder)
                    for k, v in part.items():
                        counts[k] = counts.get(k, 0) + v
            finally:
                cache.close()
        gone = sorted(set(removed) | set(topics_mod.orphan_topic_graphs(self.store)))
        topics_mod.drop_topic_graphs(self.store, gone)
        if self._view is not None:
            self._view.manifest["topics"] = {g: f"{state[g]}|{fingerprint}" for g in state}
            # Topic bookkeeping changes no vectors: rewrite the manifest of the current generation.
            write_json_atomic(self.layout.generation(self._view.name) / "manifest.json", self._view.manifest)
        counts["dropped"] = len(gone)
        counts["seconds"] = round(time.perf_counter() - t0, 3)
        return counts

    # ---------------------------------------------------------------- queries

    def __len__(self) -> int:
        return int(self._view.manifest.get("items", 0)) if self._view is not None else 0

    def items_for(self, iri: str) -> list[Item]:
        view = self._current_view()
        if view is None:
            return []
        return [item_from_row(iri_, type_, graph, data)
                for _, iri_, type_, graph, data, _, _ in view.items.rows_for_iri(iri, view.gen)]

    def encode_query(self, text: str) -> np.ndarray:
        """The query's vector (the last few hundred are remembered: a search encodes its text once)."""
        with self._query_lock:
            vector = self._query_cache.get(text)
            if vector is not None:
                self._query_cache.move_to_end(text)
                return vector
        vector = self.embedder.encode_query(text)  # outside the lock: encoding runs in parallel
        with self._query_lock:
            self._query_cache[text] = vector
            while len(self._query_cache) > QUERY_CACHE:
                self._query_cache.popitem(last=False)
        return vector

    def vectors(self, ids, view: _View | None = None) -> np.ndarray:
        """Vectors by embedding-cache id (an item's ``vec`` or ``name``)."""
        view = view or self._current_view()
        return view.vectors.get(ids) if view is not None else np.zeros((0, 0), dtype=np.float32)

    def vector_hits(self, view: _View, space: str, vector: np.ndarray, n: int) -> list[tuple[int, float]]:
        """The ``n`` vectors of a space nearest to ``vector``: (cache id, cosine), best first."""
        target = view.spaces.get(space)
        return target.search(vector, n)[0] if target is not None and len(target) else []

    def dense(self, text: str, k: int, types: list[str] | None = None, vector: np.ndarray | None = None,
              *, view: _View | None = None) -> list[tuple[int, float]]:
        """Rows and cosines of the items nearest to the text (or ``vector``), best first."""
        view = view or self._current_view()
        if view is None:
            return []
        q = self.encode_query(text) if vector is None else vector
        ranked: list[tuple[int, float]] = []
        for type_ in types or ITEM_TYPES:
            hits = self.vector_hits(view, type_, q, k + 10)  # a few spare for texts no live item uses
            rows = view.items.rows_for_vectors("vec", type_, [v for v, _ in hits], view.gen, PER_VECTOR)
            for v, score in hits:
                ranked.extend((row, score) for row in rows.get(v, ()))
        ranked.sort(key=lambda x: -x[1])
        return ranked[:k]

    def lexical(self, text: str, k: int, types: list[str] | None = None) -> list[tuple[int, float]]:
        """Rows and BM25 scores of the best lexical matches (not yet filtered by generation)."""
        view = self._current_view()
        if view is None:
            return []
        return view.lex.search(view.lex.query_terms(text, view.searcher), k, types, view.searcher)

    def search(self, text: str, k: int = 10, type: str | None = None, *, mode: str = "hybrid",
               deadline: float | None = None) -> list[dict]:
        """Hybrid (or ``mode`` = "dense" / "lexical") search; one hit per resource, best first.

        Hits: ``iri, type, label, text, score, department, county, fiscal_year, project, source`` and
        the type's own fields (``target_value``, ``level1``, ``level2``, ``amount``, ``section`` ...).
        ``deadline``: a ``time.monotonic()`` value; past it the search stops with ``QueryTimeout``.
        """
        started = time.monotonic()
        text = (text or "").strip()[:self.options.max_query_chars]
        if not text:
            raise QueryRejected("empty search text")
        if mode not in ("hybrid", "dense", "lexical"):
            raise QueryRejected(f"unknown search mode '{mode}'; use hybrid, dense or lexical")
        k = min(max(1, int(k)), self.options.max_k)
        t = normalize_type(type)
        types = [t] if t else None
        _check(deadline, started)
        view = self._current_view()
        if view is None:
            return []
        n = max(CANDIDATES, 4 * k)
        # Budget lines are bare code + name labels: close in meaning to many questions, the
        # answer to few. They join a ranking by exact words only, unless asked for by type.
        dense_types = types or [x for x in ITEM_TYPES if x != "line"]
        dense = self.dense(text, n, dense_types, view=view) if mode in ("hybrid", "dense") else []
        _check(deadline, started)
        lex = exact = expanded = []
        if mode in ("hybrid", "lexical"):
            searcher = view.searcher
            terms = view.lex.query_terms(text, searcher)
            lex = view.lex.search(terms, n + 10, types, searcher)
            if mode == "hybrid":
                exact = self._exact(view, text, types, terms, n, searcher)
                _check(deadline, started)
                expanded = self._expanded(view, text, n, types, searcher)
        _check(deadline, started)
        rows = view.items.identities({r for ranking in (dense, lex, exact, expanded) for r, _ in ranking},
                                     view.gen)
        fused: dict[int, dict] = {}
        w_lex = EXACT_BOOST if _has_exact_token(text) else 1.0
        for weight, ranking, name in ((1.0, dense, "dense"), (w_lex, lex, "lexical"), (EXACT_WEIGHT, exact, "exact"),
                                      (1.0, expanded, "topics")):
            rank = 0
            for row, score in ranking:
                if row not in rows:
                    continue  # born after, or dead in, this generation
                entry = fused.setdefault(row, {"rrf": 0.0})
                entry["rrf"] += weight / (RRF_K + rank + 1)
                entry[name] = score
                rank += 1
        if mode == "hybrid":
            order = sorted(fused, key=lambda r: (-fused[r]["rrf"], -fused[r].get("dense", 0.0), r))
        else:
            order = sorted((r for r in fused if mode in fused[r]), key=lambda r: (-fused[r][mode], r))
        chosen, seen = [], set()
        for row in order:
            iri = rows[row][0]
            if iri not in seen:
                seen.add(iri)
                chosen.append(row)
                if len(chosen) >= k:
                    break
        full = view.items.fetch(chosen, view.gen)
        hits = []
        for row in chosen:
            if row not in full:
                continue  # purged between the two reads (a refresh two generations on)
            iri, type_, graph, data, _, _ = full[row]
            entry = fused[row]
            score = entry["rrf"] if mode == "hybrid" else entry.get(mode, 0.0)
            hits.append(hit_json(item_from_row(iri, type_, graph, data), score, dense=entry.get("dense"),
                                 lexical=entry.get("lexical"), exact="exact" in entry, topics="topics" in entry))
        return hits

    def similar(self, text_or_iri: str, k: int = 10, *, deadline: float | None = None) -> list[dict]:
        """Performance indicators most similar to an indicator (by IRI) or to free text.

        The query indicator itself is excluded. Hits: ``iri, label, target_value, level1, level2,
        project, department, county, fiscal_year, score, source``.
        """
        from search.similar import similar_indicators

        return similar_indicators(self, text_or_iri, k, deadline=deadline)

    def _exact(self, view: _View, text: str, types: list[str] | None, terms, n: int, searcher
               ) -> list[tuple[int, float]]:
        """Items that hold the query exactly: the same label, or the query's 文号 / code as a token.

        BM25 ranks a near neighbour (档案归档质量 for 档案归档率, 吕财社〔2022〕105号 for
        吕财社〔2021〕171号) close to the exact item; an exact match deserves to lead. Ranked by
        the query's BM25 among themselves, ``n`` at most.
        """
        key = lexical.label_key(text)
        wanted = {t for t in lexical.doc_number_tokens(text) if not t.startswith("〔")}
        wanted |= {t for t in re.findall(r"[0-9a-z]{5,}", key) if any(c.isdigit() for c in t)}
        return view.lex.exact(key, sorted(wanted), terms, n, types, searcher)

    def _expanded(self, view: _View, text: str, k: int, types: list[str] | None, searcher) -> list[tuple[int, float]]:
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
        # The ranking depends only on the topics' words (not on the query) and the generation's
        # own searcher: remembered per view (~5 ms of BM25 over 1.5M items at 10,000 disclosures).
        key = (tuple(words), k, tuple(types or ()))
        with view.expansions_lock:
            kept = view.expansions.get(key)
            if kept is not None:
                view.expansions.move_to_end(key)
                return kept
        ranking = view.lex.search(view.lex.query_terms(" ".join(words), searcher), k, types, searcher)
        # Only the items that hold the topic's words strongly: a long tail of items sharing one
        # character pair would otherwise add votes to everything dense also likes.
        best = ranking[0][1] if ranking else 0.0
        kept = [(r, sc) for r, sc in ranking if sc >= EXPANSION_KEEP * best]
        with view.expansions_lock:
            view.expansions[key] = kept
            while len(view.expansions) > EXPANSION_CACHE:
                view.expansions.popitem(last=False)
        return kept

    def topic_matcher(self):
        """The policy-topic matcher; its label vectors come from the embedding cache (topic
        tagging stored them), which saves encoding ~300 labels at start-up."""
        from search.topics import TopicMatcher, load_topics

        view = self._view
        encoder = CachedEncoder(self.embedder, view.vectors) if view is not None else self.embedder
        return self.cached("topic-matcher", lambda: TopicMatcher(load_topics(), encoder))

    # ---------------------------------------------------------------- helpers for qa

    def cached(self, key: str, build):
        """A value computed once per loaded generation (e.g. QA's gazetteer); concurrent callers
        of a value still being built wait for it instead of building it again."""
        with self._cache_lock:
            slot = self._cache.get(key)
            if slot is None:
                slot = self._cache[key] = {"lock": threading.Lock()}
        with slot["lock"]:
            if "value" not in slot:
                slot["value"] = build()
            return slot["value"]

    def persisted(self, key: str, version: int, build):
        """A value saved beside the loaded generation (``<generation>/<key>-v<version>.pickle``),
        so that the next process starting on the same generation loads it instead of building
        it: QA's gazetteer takes ~5 s of SPARQL at 10,000 disclosures (15 s on a cold disk) and
        loads in 0.05 s. The file goes with its generation folder. Without a loaded generation,
        or when the file cannot be read or written, the value is just built."""
        view = self._view
        if view is None:
            return build()
        path = self.layout.generation(view.name) / f"{key}-v{version}.pickle"
        try:
            with open(path, "rb") as fh:
                return pickle.load(fh)  # written by this class into our own index folder
        except FileNotFoundError:
            pass
        except Exception:  # damaged or from another code version: build it again
            log.warning("could not load %s; building it again", path, exc_info=True)
        value = build()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError:  # a read-only index folder: the value still serves this process
            tmp.unlink(missing_ok=True)
        return value

    @property
    def kinds(self) -> dict[str, str]:
        """Vector space -> index kind in use (flat, ivf-flat ...), with the delta size when not empty."""
        if self._view is None:
            return {}
        out = {}
        for name, space in self._view.spaces.items():
            out[name] = space.kind + (f"+{len(space.delta_ids)} flat" if space.base is not None and len(space.delta_ids)
                                      else "")
        return out

    def stats(self) -> dict:
        manifest = self.manifest
        return {"model": self.model, "items": len(self), "by_type": dict(manifest.get("counts", {})),
                "graphs": len(manifest.get("graphs", {})), "generation": self.generation,
                "index": self.kinds, "vectors": {s: len(sp) for s, sp in self._view.spaces.items()} if self._view else {},
                "folder": str(self.index_dir)}


def _identity(manifest: dict) -> tuple | None:
    """Which files a view reads: the name a build gave the item table and lexical index (a reset
    gives new ones a new name; inode numbers would not do, a new file may reuse a removed one's)
    and the embedding cache. None for a generation written before the name existed: such a view
    opens its own handles."""
    if not manifest.get("files"):
        return None
    return (manifest["files"], manifest.get("cache"), manifest.get("dim"))


def _check(deadline: float | None, started: float) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise QueryTimeout(max(0.0, deadline - started))


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


def refresh_after_ingest(store: GraphStore, index_dir: Path, model: str = DEFAULT_MODEL, threads: int = 1,
                         options: IndexOptions | None = None, spool: GraphSpool | None = None,
                         progress: Callable[[int, int], None] | None = None) -> dict:
    """Bring the index and the topic tags in step with the store after an ingest.

    For the ingest command: the store is open read-write. A folder built with another model is
    rebuilt with ``model`` (the settings changed), never mixed. ``spool``: the graphs the ingest
    wrote (``search.graph_spool``), read from there rather than back from the store.
    """
    index = SearchIndex.open(store, index_dir, model, threads, on_model_change="rebuild", refresh=False,
                             options=options)
    stats = index.refresh(tag_topics=True, spool=spool, progress=progress)
    if stats.get("added_or_replaced") or stats.get("removed"):
        # The question parser's gazetteer and the project table of the new generation, saved with
        # it, so that ``serve`` and ``ask`` start on them.
        from search.qa import prepare

        stats["prepared"] = prepare(store, index)
    return stats
