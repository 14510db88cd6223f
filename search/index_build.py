"""Writing the search index: an incremental refresh from the store, published as a new generation.

On disk (``index_dir``)::

    current.json            {"generation": "g000007"}, replaced atomically: what readers load
    items.sqlite            the items, rows tagged with the generations they live in (item_store)
    lexical/                the tantivy index of the items' tokens (lexical)
    ann/                    base FAISS indexes of the vector spaces, immutable (vectors)
    cache/<model>/          the embedding cache (vector_cache), kept across rebuilds
    g000007/manifest.json   model, per-disclosure fingerprints, counts, each space's base and delta,
                            and ``files``: a random name of the shared files (items, lexical), new
                            whenever a build starts from an empty folder
    g000007/vectors.npy     the spaces' delta vectors (float16) and g000007/vector_ids.npy their ids
    pending.json            only while a refresh is being written (a crash leaves it: rebuild)

A refresh (``Refresher.run``) compares the store's per-disclosure fingerprints with the manifest,
marks the items of replaced and removed disclosures dead, reads the added and replaced ones in
batches of ``corpus.GRAPHS_PER_QUERY`` graphs (those an ingest just wrote from an in-memory copy
of its spool, ``search.graph_spool``), embeds only the texts the cache has never seen
(worker processes across the cores when there is enough work, ``index_workers``), tokenises,
inserts, updates the vector spaces, and publishes: commit SQLite, commit tantivy, write the
generation folder, swap ``current.json``. A reader keeps answering from the previous generation
until it sees the swap (``item_store`` explains how both generations stay visible).

What a refresh costs per disclosure on the 2-core machine (benchmarks/search_speed.py prints it):
reading ~0.04 s of SPARQL, tokenising ~0.03 s of CPU, ~1.6 ms of encoder CPU per new text, a few
ms of writes; the stats it returns split the time the same way.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections import ChainMap
from collections.abc import Callable
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from search import corpus, index_workers, lexical
from search.corpus import Item
from search.graph_spool import GraphSpool
from search.item_store import ItemStore
from search.lexical import LexicalIndex
from search.store import GraphStore
from search.vector_cache import CachedEncoder, VectorCache
from search.vectors import AnnOptions, choose_kind, index_kind, merge_base

FORMAT_VERSION = 2
# Vector spaces: name -> (item type, item column holding the vector id).
SPACES: dict[str, tuple[str, str]] = {
    "indicator": ("indicator", "vec"), "indicator-name": ("indicator", "name"), "project": ("project", "vec"),
    "legal": ("legal", "vec"), "text": ("text", "vec"), "line": ("line", "vec"),
}
# Texts per encoder job: big enough to amortise the pipe, small enough to balance two workers.
ENCODE_BATCH = 256
# Fewer changed disclosures than this are encoded in-process: starting workers costs ~2-3 s.
POOL_MIN_GRAPHS = 40
# Keys remembered across batches of one refresh (beyond this the cache's own lookup answers).
KNOWN_KEYS = 200_000
# Tokenised texts remembered across batches (~100 MB at most).
KNOWN_TOKENS = 300_000


@dataclass(frozen=True)
class IndexOptions:
    """How the index is built and bounded (from ``api.settings``; every field has a default)."""

    ann: AnnOptions = field(default_factory=AnnOptions)
    workers: int = 0  # processes that encode and tokenise during a refresh; 0 = the core count
    max_query_chars: int = 500  # longer search text is clipped
    max_k: int = 100  # hits per search at most

    def to_json(self) -> dict:
        return {"ann": asdict(self.ann), "workers": self.workers, "max_query_chars": self.max_query_chars,
                "max_k": self.max_k}


class Layout:
    """Paths inside an index folder."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.current = self.root / "current.json"
        self.lock = self.root / ".lock"
        self.items = self.root / "items.sqlite"
        self.lexical = self.root / "lexical"
        self.ann = self.root / "ann"
        self.pending = self.root / "pending.json"

    def cache(self, model: str) -> Path:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_")[:80] or "model"
        return self.root / "cache" / slug

    def generation(self, name: str) -> Path:
        return self.root / name

    def generations(self) -> list[str]:
        return sorted(p.name for p in self.root.glob("g[0-9]*") if p.is_dir())


def generation_name(number: int) -> str:
    return f"g{number:06d}"


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def current_generation(layout: Layout) -> str | None:
    try:
        return json.loads(layout.current.read_text("utf-8"))["generation"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_manifest(layout: Layout, name: str) -> dict | None:
    try:
        manifest = json.loads((layout.generation(name) / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if manifest.get("format") == FORMAT_VERSION else None


def reset_folder(layout: Layout) -> None:
    """Remove the index (a rebuild, a crash, a model change), keeping the embedding caches and the
    old generation folders (their numbers keep new generations ordered after them; the next
    publish collects them). A reader still on the old files keeps its open handles."""
    for path in (layout.current, layout.pending):
        path.unlink(missing_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(layout.items) + suffix).unlink(missing_ok=True)
    for folder in (layout.lexical, layout.ann):
        shutil.rmtree(folder, ignore_errors=True)
    for stray in layout.root.glob(".tmp-*"):
        shutil.rmtree(stray, ignore_errors=True)


class _Job:
    """A unit of worker work: a pool future, or a function run when its result is first asked for.

    A pool that breaks (a worker killed, or a script that spawns workers without an
    ``if __name__ == "__main__":`` guard, so that each worker re-runs it) does not fail the
    refresh: its jobs run in-process instead, and ``health["broken"]`` says why.
    """

    def __init__(self, pool, fn, *args, local, health: dict):
        self._call = (local, args)
        self._future = None
        self._result = None
        self._health = health
        self.keys: list[bytes] = []
        if pool is not None and health.get("broken") is None:
            try:
                self._future = pool.submit(fn, *args)
            except BrokenProcessPool as exc:
                self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        self._health["broken"] = f"worker processes failed ({exc}); the refresh went on in-process"

    def result(self):
        if self._result is None:
            if self._future is not None:
                try:
                    self._result = self._future.result()
                except BrokenProcessPool as exc:
                    self._fail(exc)
            if self._result is None:
                self._result = self._call[0](*self._call[1])
        return self._result


@dataclass
class _Batch:
    graphs: list[str]
    items: list[Item]
    keys: list[bytes]
    name_keys: list[bytes | None]
    jobs: set
    lex_job: _Job | None
    lex_texts: list[str]


class Refresher:
    """One refresh of an index folder (the caller holds the folder's write lock)."""

    def __init__(self, layout: Layout, store: GraphStore, model: str, embedder, options: IndexOptions,
                 spool: GraphSpool | None = None, progress: Callable[[int, int], None] | None = None):
        self.layout = layout
        # ``progress(done, total)``: disclosure graphs read, embedded and written so far. A full
        # build from a remote server of 10,000 disclosures takes most of an hour: users see it move.
        self.progress = progress
        self.store = store
        self.spool = spool
        self.state: dict[str, str] = {}
        self.model = model
        self.embedder = embedder
        self.options = options
        # Seconds per phase: wall clock, and the CPU this process spent in it (``*_cpu``); the
        # workers' CPU is ``embed_s`` and ``tokenize_s`` (in-process, they are part of ``wait_s``).
        self.stats = {"read_s": 0.0, "tokenize_s": 0.0, "embed_s": 0.0, "write_s": 0.0, "wait_s": 0.0,
                      "vectors_s": 0.0, "topics_s": 0.0, "read_cpu": 0.0, "write_cpu": 0.0, "vectors_cpu": 0.0,
                      "topics_cpu": 0.0, "texts_encoded": 0, "texts_cached": 0, "workers": 0, "spooled": 0}

    @contextmanager
    def _phase(self, name: str):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.stats[f"{name}_s"] += time.perf_counter() - t0
            if f"{name}_cpu" in self.stats:
                self.stats[f"{name}_cpu"] += time.process_time() - c0

    # ------------------------------------------------------------ the whole refresh

    def run(self, manifest: dict | None, state: dict[str, str], changed: list[str], removed: list[str],
            tag_topics_in: set[str]) -> dict:
        """Write and publish the next generation; returns its manifest. ``tag_topics_in``: the
        changed graphs whose topics are tagged from their items on the way."""
        layout = self.layout
        layout.root.mkdir(parents=True, exist_ok=True)
        previous = manifest or {}
        # Generation numbers only grow, also across a reset (readers compare names).
        gen = max([int(previous.get("gen", 0)), *(int(g[1:]) for g in layout.generations())]) + 1
        write_json_atomic(layout.pending, {"generation": generation_name(gen), "started": time.time()})
        self.items_db = ItemStore(layout.items, writable=True)
        self.lex = LexicalIndex(layout.lexical)
        self.cache = VectorCache(layout.cache(self.model), self.embedder.dim, writable=True)
        self.lookups = corpus.Lookups(self.store)
        self.state = state
        self.tag_in = tag_topics_in
        self.topic_stats = {"graphs": 0, "tags": 0, "by_label": 0, "by_embedding": 0}
        self.ids: dict[bytes, int] = {}
        self.tokens: dict[str, str] = {}  # lexical text -> its tokens (KNOWN_TOKENS)
        self.inflight: dict[bytes, _Job] = {}
        self.new_ids: dict[str, set[int]] = {s: set() for s in SPACES}
        self.inserted = 0
        pool = self._pool(len(changed))
        self.health: dict = {"broken": None}
        try:
            counts = dict(previous.get("counts", {}))
            with self._phase("write"):
                # Rows that died a generation ago are no reader's any more: purge them. The
                # lexical documents of the rows dying now go at once: a reader on the previous
                # generation keeps its tantivy view until it moves to this one (``reload``).
                self.items_db.purge_before(gen)
                going = sorted(set(changed) | set(removed))
                self.lex.delete_batches(lexical.graph_batch(g, b) for g, b in self.items_db.live_batches(going))
                for type_, n in self.items_db.mark_dead(going, gen).items():
                    counts[type_] = counts.get(type_, 0) - n
            self._batches(changed, gen, counts, pool)
            with self._phase("vectors"):
                spaces, delta_ids = self._update_spaces(previous, gen)
            new_manifest = {
                "format": FORMAT_VERSION, "model": self.model, "dim": int(self.embedder.dim), "gen": gen,
                "graphs": state, "items": sum(counts.values()), "counts": {k: v for k, v in counts.items() if v},
                "spaces": spaces, "cache": str(layout.cache(self.model).relative_to(layout.root)),
                # No previous manifest means the shared files were just created (a first build or
                # a reset): readers must not reuse handles on the ones they replaced.
                "files": previous.get("files") or uuid.uuid4().hex,
                "options": self.options.to_json(), "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "topics": previous.get("topics", {}),
            }
            with self._phase("write"):
                self._publish(new_manifest, delta_ids)
        except BaseException:
            self.items_db.rollback()
            self.lex.rollback()
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
                if self.health["broken"]:
                    self.stats["workers"] = self.health["broken"]
            self.items_db.close()
            self.cache.close()
        return new_manifest

    def _pool(self, n_graphs: int):
        workers = self.options.workers or (os.cpu_count() or 1)
        if workers < 2 or n_graphs < POOL_MIN_GRAPHS:
            return None
        self.stats["workers"] = workers
        return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                   initializer=index_workers.init_worker, initargs=(self.model,))

    # ------------------------------------------------------------ batches of disclosures

    def _batches(self, changed: list[str], gen: int, counts: dict, pool) -> None:
        graphs = sorted(changed)
        step = corpus.graphs_per_query(self.store)
        chunks = [graphs[i:i + step] for i in range(0, len(graphs), step)]
        waiting: _Batch | None = None
        done = 0

        def finish(batch: _Batch) -> None:
            nonlocal done
            self._finish(batch, gen, counts)
            done += len(batch.graphs)
            if self.progress is not None:
                self.progress(done, len(graphs))

        for chunk in chunks:
            batch = self._collect(chunk, pool)  # read the next batch while workers do the last one
            if waiting is not None:
                finish(waiting)
            waiting = batch
        if waiting is not None:
            finish(waiting)

    def _collect(self, graphs: list[str], pool) -> _Batch:
        with self._phase("read"):
            items = self._read_items(graphs)
        key = self.embedder.key
        wanted: dict[bytes, str] = {}
        keys, name_keys = [], []
        for it in items:
            k = key(it.embed_text)
            wanted.setdefault(k, it.embed_text)
            keys.append(k)
            nk = key(it.name) if it.name else None
            if nk is not None:
                wanted.setdefault(nk, it.name)
            name_keys.append(nk)
        unknown = [k for k in wanted if k not in self.ids and k not in self.inflight]
        if len(self.ids) > KNOWN_KEYS:
            self.ids.clear()
        for k, found in zip(unknown, self.cache.lookup(unknown)):
            if found is not None:
                self.ids[k] = found
        missing = [k for k in unknown if k not in self.ids]
        self.stats["texts_cached"] += len(unknown) - len(missing)
        for i in range(0, len(missing), ENCODE_BATCH):
            chunk = missing[i:i + ENCODE_BATCH]
            job = _Job(pool, index_workers.encode_job, [wanted[k] for k in chunk], local=self._encode_here,
                       health=self.health)
            job.keys = chunk
            for k in chunk:
                self.inflight[k] = job
        jobs = {self.inflight[k] for k in wanted if k in self.inflight}
        # Texts tokenised for an earlier batch are not sent again: disclosures of one family share
        # most of their line names, indicator and narrative texts.
        lex_texts = [t for t in dict.fromkeys(it.lex or it.text for it in items) if t not in self.tokens]
        lex_job = _Job(pool, index_workers.tokenize_job, lex_texts, local=_tokenize_here, health=self.health)
        return _Batch(graphs, items, keys, name_keys, jobs, lex_job, lex_texts)

    def _read_items(self, graphs: list[str]) -> list[corpus.Item]:
        """The items of ``graphs``: from the ingest's spool where it holds the very graph the store
        holds (same file hash and type count as ``store_state`` read), else from the store."""
        spooled = [g for g in graphs if self.spool is not None and g in self.spool]
        if not spooled:
            return corpus.collect_items(self.store, graphs, self.lookups)
        scratch = self.spool.memory_store(spooled)
        held = corpus.store_state(scratch)
        # Shared data (labels, departments, areas) is not in the spool: ``self.lookups`` reads it
        # from the store, as for any other graph.
        current = [g for g in spooled if held.get(g) == self.state.get(g)]
        rest = [g for g in graphs if g not in set(current)]
        if len(current) == len(held):
            items = corpus.items_of_every_graph(scratch, self.lookups)
        else:
            items = corpus.collect_items(scratch, current, self.lookups) if current else []
        if rest:
            items += corpus.collect_items(self.store, rest, self.lookups)
            items.sort(key=corpus.item_order)
        self.stats["spooled"] += len(current)
        return items

    def _encode_here(self, texts: list[str]) -> tuple[np.ndarray, float]:
        t0 = time.process_time()
        return self.embedder.encode_passages(texts).astype(np.float16), time.process_time() - t0

    def _settle(self, job: _Job) -> None:
        """Store a finished encoder job's vectors in the cache (once)."""
        if not job.keys or self.inflight.get(job.keys[0]) is not job:
            return
        t0 = time.perf_counter()
        vectors, cpu = job.result()
        self.stats["wait_s"] += time.perf_counter() - t0
        self.stats["embed_s"] += cpu
        self.stats["texts_encoded"] += len(job.keys)
        with self._phase("write"):
            for k, i in zip(job.keys, self.cache.add(job.keys, vectors)):
                self.ids[k] = i
                del self.inflight[k]

    def _resolve(self, keys: list[bytes]) -> dict[bytes, int]:
        """Cache ids of keys whose vectors are stored (those forgotten past ``KNOWN_KEYS`` are looked up)."""
        out = {k: self.ids[k] for k in keys if k in self.ids}
        rest = [k for k in dict.fromkeys(keys) if k not in out]
        out.update(zip(rest, self.cache.lookup(rest)))
        return out

    def _finish(self, batch: _Batch, gen: int, counts: dict) -> None:
        for job in batch.jobs:
            self._settle(job)
        t0 = time.perf_counter()
        tokens, cpu = batch.lex_job.result()
        self.stats["wait_s"] += time.perf_counter() - t0
        self.stats["tokenize_s"] += cpu
        with self._phase("write"):
            new_tokens = dict(zip(batch.lex_texts, tokens))
            token_of = ChainMap(new_tokens, self.tokens)
            if len(self.tokens) < KNOWN_TOKENS:  # never evicted during a run: a batch collected
                self.tokens.update(new_tokens)   # meanwhile may rely on an entry
            items = batch.items
            id_of = self._resolve([*batch.keys, *(k for k in batch.name_keys if k is not None)])
            vec_ids = [id_of[k] for k in batch.keys]
            name_ids = [id_of[k] if k is not None else None for k in batch.name_keys]
            rows = self.items_db.insert(items, vec_ids, name_ids, gen)
            self.inserted += len(rows)
            self.lex.add(rows, [it.type for it in items], [lexical.graph_batch(it.graph, gen) for it in items],
                         [token_of[it.lex or it.text] for it in items], [lexical.label_key(it.label) for it in items])
            for it, vec, name in zip(items, vec_ids, name_ids):
                counts[it.type] = counts.get(it.type, 0) + 1
                self.new_ids[it.type].add(vec)
                if name is not None and it.type == "indicator":
                    self.new_ids["indicator-name"].add(name)
        tagged = [g for g in batch.graphs if g in self.tag_in]
        if tagged:
            from search import topics

            with self._phase("topics"):
                stats = topics.tag_items(self.store, items, tagged, CachedEncoder(self.embedder, self.cache))
            for k in self.topic_stats:
                self.topic_stats[k] += stats.get(k, 0)

    # ------------------------------------------------------------ vector spaces

    def _update_spaces(self, previous: dict, gen: int) -> tuple[dict, dict[str, np.ndarray]]:
        """Each space's base and delta for generation ``gen`` (new bases written under ann/)."""
        layout, opts = self.layout, self.options.ann
        prev_spaces = previous.get("spaces", {})
        prev_ids = _load_delta_ids(layout, previous) if previous else {}
        spaces, deltas = {}, {}
        layout.ann.mkdir(parents=True, exist_ok=True)
        for space, (type_, column) in SPACES.items():
            entry = dict(prev_spaces.get(space, {}))
            base = entry.get("base")
            base_ids = np.load(layout.ann / f"{base}.ids.npy") if base else np.zeros(0, np.int64)
            delta = prev_ids.get(space, np.zeros(0, np.int64))
            fresh = np.fromiter(self.new_ids[space], dtype=np.int64, count=len(self.new_ids[space]))
            fresh = np.setdiff1d(fresh, np.union1d(base_ids, delta))
            delta = np.concatenate([delta, fresh])
            total = len(base_ids) + len(delta)
            # The delta is searched flat: it may grow with the base (a merge rewrites the base)
            # but never past twice the limit, so that searching it stays a few milliseconds.
            limit = min(max(opts.delta, len(base_ids) // 20), 2 * opts.delta)
            wrong_kind = base is not None and choose_kind(total, opts) != entry.get("kind")
            if (base is None and total > opts.delta) or len(delta) > limit or wrong_kind:
                live = np.asarray(sorted(self.items_db.live_vector_ids(type_, column)), dtype=np.int64)
                index, trained = merge_base(layout.ann / f"{base}.faiss" if base else None, entry.get("kind"),
                                            int(entry.get("trained", 0)), base_ids, live, self.embedder.dim,
                                            self.cache.get, opts)
                name = f"{space}-{gen:06d}"
                _write_base(layout, name, index, live)
                entry = {"base": name, "kind": index_kind(index), "base_count": int(index.ntotal),
                         "trained": int(trained)}
                delta = np.zeros(0, np.int64)
            deltas[space] = delta
            entry["delta_count"] = int(len(delta))
            spaces[space] = entry
        return spaces, deltas

    # ------------------------------------------------------------ publishing

    def _publish(self, manifest: dict, deltas: dict[str, np.ndarray]) -> None:
        layout = self.layout
        name = generation_name(manifest["gen"])
        tmp = layout.root / f".tmp-{name}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        order = list(SPACES)
        ids = np.concatenate([deltas[s] for s in order]) if order else np.zeros(0, np.int64)
        start = 0
        for s in order:
            manifest["spaces"][s]["delta"] = [start, start + len(deltas[s])]
            start += len(deltas[s])
        vectors = self.cache.get(ids).astype(np.float16)
        np.save(tmp / "vectors.npy", vectors)
        np.save(tmp / "vector_ids.npy", ids.astype(np.int64))
        write_json_atomic(tmp / "manifest.json", manifest)
        # Item rows and lexical documents first: readers on the previous generation cannot see
        # rows born in this one, so committing them early is safe; the swap makes them visible.
        self.items_db.commit()
        self.lex.commit()
        final = layout.generation(name)
        shutil.rmtree(final, ignore_errors=True)
        os.rename(tmp, final)
        write_json_atomic(layout.current, {"generation": name})
        layout.pending.unlink(missing_ok=True)
        self._collect_garbage(name)

    def _collect_garbage(self, current: str) -> None:
        """Keep this generation and the one before (readers may still be on it); drop the rest."""
        layout = self.layout
        names = layout.generations()
        keep = names[-2:] if current in names else [current]
        for old in names:
            if old not in keep:
                shutil.rmtree(layout.generation(old), ignore_errors=True)
        used = set()
        for g in keep:
            manifest = read_manifest(layout, g) or {}
            used |= {e.get("base") for e in manifest.get("spaces", {}).values() if e.get("base")}
        for path in layout.ann.glob("*.faiss"):
            if path.stem not in used:
                path.unlink(missing_ok=True)
                (layout.ann / f"{path.stem}.ids.npy").unlink(missing_ok=True)


def _tokenize_here(texts: list[str]) -> tuple[list[str], float]:
    t0 = time.process_time()
    return [" ".join(lexical.tokenize(t)) for t in texts], time.process_time() - t0


def _write_base(layout: Layout, name: str, index, ids: np.ndarray) -> None:
    import faiss

    tmp = layout.ann / f".{name}.faiss.tmp"
    faiss.write_index(index, str(tmp))
    np.save(layout.ann / f"{name}.ids.npy", np.asarray(ids, dtype=np.int64))
    os.replace(tmp, layout.ann / f"{name}.faiss")


def _load_delta_ids(layout: Layout, manifest: dict) -> dict[str, np.ndarray]:
    ids = np.load(layout.generation(generation_name(manifest["gen"])) / "vector_ids.npy")
    return {s: ids[e["delta"][0]:e["delta"][1]] for s, e in manifest.get("spaces", {}).items()}
