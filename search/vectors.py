"""FAISS inner-product search over unit vectors, one space per item type, the index kind chosen by size.

Kinds (``AnnOptions.kind``; "auto" picks by the number of vectors in the space):

- ``flat`` (exact ``IndexFlatIP``) below ``exact_limit`` (10,000): no build, and one query is one
  pass over the vectors (a single query: 2.8-3.3 ms at 10k x 512, 6-7.5 ms at 12-20k, 19 ms at 50k
  on the shared 2-core machine; a hybrid search queries four spaces). At 10,000 disclosures the
  12,645 legal-document vectors took 6 ms flat and 0.3 ms as ``ivf-flat``, with the same top-10
  scores for ten test queries (ids differed only among equal scores);
- ``ivf-flat`` (inverted file, full vectors) up to ``compress_limit`` (500,000): trained k-means
  lists, ``nprobe`` (16) of them scanned per query: on 48k indicator texts of a 1,000-disclosure
  corpus recall@10 0.997 against exact at 0.3 ms a query (``benchmarks/search_speed.py`` prints
  it for the corpus at hand);
- ``ivf-sq8`` above that: the same lists with 8-bit scalar-quantised vectors, 4x smaller
  (512 bytes a vector: 1M texts = 0.5 GB, memory-mapped); recall@10 0.98 on the same texts;
- ``ivf-pq`` and ``hnsw`` on request: product quantisation (64 bytes a vector), and HNSW (best
  recall per millisecond but 60-80 s of build per 100k vectors on 2 cores, PERF-NOTES).

A space on disk is a **base** index (a FAISS file under ``ann/``, immutable, memory-mapped by
readers: IVF files open in milliseconds whatever their size) plus a small flat **delta** of the
vectors added since the base was written (kept in the generation folder, loaded in one read). A
refresh appends to the delta; when the delta passes ``delta_limit`` it is merged into a new base
(IVF: the trained lists are reused and only the delta is assigned; a base whose space grew 4x
since it was trained, or changed kind, is rebuilt and retrained from the live vectors). Vector ids
are embedding-cache ids, so a text shared by many items is one vector.

FAISS settings, for the reasons in PERF-NOTES: one OpenMP thread (faster and steadier than two on
shared 2-core machines) and a BLAS threshold of 20 so batched queries take the BLAS path (11-13x
faster, identical results). OpenMP's thread count is a per-thread setting: a thread other than the
one that imported this module starts with one OpenMP thread per core, so every call into FAISS here
sets it again for its own thread (``_one_omp_thread``). Without that, ``serve``'s searches (run in
request and evidence threads) each woke a second OpenMP thread that spun on the other core: HTTP
search at 10,000 disclosures took 30-65 ms instead of 20-28 (measured with and without
``OMP_NUM_THREADS=1``). FAISS search is safe from several threads at once (it reads the index;
``nprobe`` is set at load, not per query).
"""
from __future__ import annotations

import math
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import faiss
import numpy as np

# Defaults of ``AnnOptions`` (module constants so that tests and tools can lower them).
EXACT_LIMIT = 10_000
COMPRESS_LIMIT = 500_000
NPROBE = 16
DELTA_LIMIT = 10_000
KINDS = ("flat", "ivf-flat", "ivf-sq8", "ivf-pq", "hnsw")
# An IVF base is retrained once its space has grown this many times since training.
RETRAIN_GROWTH = 4.0

faiss.cvar.distance_compute_blas_threshold = 20


def _one_omp_thread() -> None:
    """One OpenMP thread for FAISS calls made from the calling thread (see the module docstring)."""
    faiss.omp_set_num_threads(1)


_one_omp_thread()


@dataclass(frozen=True)
class AnnOptions:
    """How vector spaces are indexed. ``None`` fields take the module defaults."""

    kind: str = "auto"
    exact_limit: int | None = None
    compress_limit: int | None = None
    nprobe: int | None = None
    delta_limit: int | None = None
    hnsw_ef_search: int = 64

    def __post_init__(self):
        if self.kind != "auto" and self.kind not in KINDS:
            raise ValueError(f"unknown vector index kind '{self.kind}'; use auto or one of: {', '.join(KINDS)}")

    @property
    def exact(self) -> int:
        return EXACT_LIMIT if self.exact_limit is None else int(self.exact_limit)

    @property
    def compress(self) -> int:
        return COMPRESS_LIMIT if self.compress_limit is None else int(self.compress_limit)

    @property
    def probes(self) -> int:
        return NPROBE if self.nprobe is None else int(self.nprobe)

    @property
    def delta(self) -> int:
        return DELTA_LIMIT if self.delta_limit is None else int(self.delta_limit)


def choose_kind(n: int, options: AnnOptions | None = None) -> str:
    """The index kind for a space of ``n`` vectors."""
    options = options or AnnOptions()
    if n < options.exact:
        return "flat"
    if options.kind != "auto":
        return options.kind
    return "ivf-flat" if n < options.compress else "ivf-sq8"


def nlist_for(n: int) -> int:
    """Inverted lists for ``n`` vectors: ~4 sqrt(n), the usual rule, within [16, 8192]."""
    return max(16, min(8192, int(4 * math.sqrt(max(n, 1)))))


def new_index(dim: int, kind: str, n: int, options: AnnOptions | None = None) -> faiss.Index:
    """An empty index of ``kind`` sized for ``n`` vectors (IVF kinds still need ``train``)."""
    options = options or AnnOptions()
    if kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if kind == "hnsw":
        inner = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efSearch = options.hnsw_ef_search
        index = faiss.IndexIDMap2(inner)
        index.own_fields = True
        inner.this.disown()
        return index
    nlist = min(nlist_for(n), max(1, n // 39))  # k-means wants ~39 points per list at least
    quantizer = faiss.IndexFlatIP(dim)
    if kind == "ivf-flat":
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    elif kind == "ivf-sq8":
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
    elif kind == "ivf-pq":
        m = max(d for d in (64, 32, 16, 8, 4, 2, 1) if dim % d == 0)
        index = faiss.IndexIVFPQ(quantizer, dim, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
    else:
        raise ValueError(f"unknown vector index kind '{kind}'")
    index.own_fields = True
    quantizer.this.disown()  # the index owns its quantizer from here
    index.cp.niter = 10  # k-means iterations: recall changes little past ~10 on these vectors
    index.nprobe = options.probes
    return index


def training_sample(n: int, kind: str) -> int:
    """How many vectors to train a space of ``n`` on (0 for kinds that need no training)."""
    if kind in ("flat", "hnsw"):
        return 0
    return min(n, 40 * nlist_for(n))  # FAISS asks for 39 points per list at least


def build_index(vectors: np.ndarray, ids: np.ndarray, kind: str, options: AnnOptions | None = None) -> faiss.Index:
    """A FAISS index of ``kind`` over the vectors, searchable by ``ids`` (trained on them)."""
    _one_omp_thread()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    n, dim = vectors.shape
    index = new_index(dim, kind, n, options)
    size = training_sample(n, kind)
    if size:
        pick = np.sort(np.random.default_rng(0).choice(n, size, replace=False)) if size < n else slice(None)
        index.train(vectors[pick])
    if n:
        index.add_with_ids(vectors, ids)
    return index


def set_nprobe(index: faiss.Index, nprobe: int) -> None:
    """Lists probed per query, for IVF indexes (others have no such setting)."""
    try:
        faiss.extract_index_ivf(index).nprobe = int(nprobe)
    except (RuntimeError, TypeError):
        pass


def index_kind(index: faiss.Index) -> str:
    """The kind name of a FAISS index built by ``build_index``."""
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index
    if isinstance(inner, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(inner, faiss.IndexIVFScalarQuantizer):
        return "ivf-sq8"
    if isinstance(inner, faiss.IndexIVFPQ):
        return "ivf-pq"
    if isinstance(inner, faiss.IndexIVFFlat):
        return "ivf-flat"
    return "flat"


def _top(results: list[tuple[np.ndarray, np.ndarray]], k: int) -> list[tuple[int, float]]:
    pairs = [(int(i), float(s)) for ids, scores in results for i, s in zip(ids, scores) if i >= 0]
    pairs.sort(key=lambda x: -x[1])
    out, seen = [], set()
    for i, s in pairs:
        if i not in seen:
            seen.add(i)
            out.append((i, s))
            if len(out) >= k:
                break
    return out


class Space:
    """One space's vectors: a base index (or none) and a flat delta, searched together."""

    def __init__(self, base: faiss.Index | None, delta_ids: np.ndarray, delta_vectors: np.ndarray,
                 options: AnnOptions | None = None):
        self.options = options or AnnOptions()
        self.base = base
        if base is not None:
            set_nprobe(base, self.options.probes)
        self.delta_ids = np.ascontiguousarray(delta_ids, dtype=np.int64)
        dim = delta_vectors.shape[1] if delta_vectors.ndim == 2 and delta_vectors.shape[1] else (base.d if base else 1)
        # Exact search over float16 codes: the vectors come from the float16 cache, so nothing is
        # lost, and the delta takes half the memory of float32.
        self.delta = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        if len(self.delta_ids):
            self.delta.add(np.ascontiguousarray(delta_vectors, dtype=np.float32))

    @property
    def kind(self) -> str:
        return index_kind(self.base) if self.base is not None else "flat"

    def __len__(self) -> int:
        return (self.base.ntotal if self.base is not None else 0) + len(self.delta_ids)

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """For each query row, the ``k`` nearest ids (cosine), best first."""
        _one_omp_thread()
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        parts = []
        if self.base is not None and self.base.ntotal:
            scores, ids = self.base.search(queries, min(k, self.base.ntotal))
            parts.append((scores, ids))
        if len(self.delta_ids):
            scores, pos = self.delta.search(queries, min(k, len(self.delta_ids)))
            parts.append((scores, np.where(pos >= 0, self.delta_ids[np.maximum(pos, 0)], -1)))
        return [_top([(ids[q], scores[q]) for scores, ids in parts], k) for q in range(len(queries))]


def read_base(path: Path, *, writable: bool = False) -> faiss.Index:
    """A base index from disk: memory-mapped where FAISS can (IVF lists, flat codes), or a
    private in-memory copy when it is to be extended."""
    if writable:
        return faiss.read_index(str(path))
    # MMAP_IFC maps flat codes and IVF lists in place (0-2 MB of RSS for a 200 MB file);
    # IO_FLAG_MMAP alone copies flat codes into memory.
    for flag in (faiss.IO_FLAG_MMAP_IFC, faiss.IO_FLAG_MMAP):
        try:
            return faiss.read_index(str(path), flag)
        except RuntimeError:
            continue
    return faiss.read_index(str(path))


def merge_base(base_path: Path | None, base_kind: str | None, trained: int, base_ids: np.ndarray,
               live_ids: np.ndarray, dim: int, fetch: Callable[[np.ndarray], np.ndarray],
               options: AnnOptions) -> tuple[faiss.Index, int]:
    """A new base holding exactly ``live_ids``: the old one extended when its kind still fits and
    it has not outgrown its training, else a new one (trained on a sample of the live vectors).

    ``base_ids`` are the ids in the old base; ``fetch`` gives float32 vectors by id. Returns the
    index and the number of vectors it was trained at.
    """
    _one_omp_thread()
    n = len(live_ids)
    kind = choose_kind(n, options)
    grown = kind not in ("flat", "hnsw") and n > RETRAIN_GROWTH * max(trained, 1)
    if base_path is not None and base_kind == kind and not grown:
        index = read_base(base_path, writable=True)
        gone = np.setdiff1d(base_ids, live_ids)
        if len(gone):
            index.remove_ids(faiss.IDSelectorBatch(gone.astype(np.int64)))
        add = np.setdiff1d(live_ids, base_ids)
    else:
        index = new_index(dim, kind, n, options)
        size = training_sample(n, kind)
        if size:
            sample = live_ids if size >= n else np.sort(np.random.default_rng(0).choice(live_ids, size, replace=False))
            with _all_cores():
                index.train(fetch(sample))
        trained = n
        add = live_ids
    with _all_cores():
        for i in range(0, len(add), 50_000):
            chunk = add[i:i + 50_000]
            index.add_with_ids(fetch(chunk), chunk)
    return index, trained


@contextmanager
def _all_cores():
    """Building (k-means, assigning vectors to lists) is the writer's alone: use every core for it,
    then go back to one thread for searches."""
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(1)


class VectorIndex:
    """Vectors of items (row i = item i, or the given ids) with a FAISS index per item type.

    The in-memory form of the spaces above, built in one go (for tools and tests); the search
    index keeps its spaces on disk (``Space``) and updates them incrementally.
    """

    def __init__(self, vectors: np.ndarray, types: Sequence[str], ids: Sequence[int] | None = None,
                 options: AnnOptions | None = None):
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.dim = self.vectors.shape[1] if self.vectors.ndim == 2 else 0
        ids_arr = np.arange(len(types), dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
        self._spaces: dict[str, Space] = {}
        types_arr = np.asarray(types)
        for kind in sorted(set(types)):
            positions = np.flatnonzero(types_arr == kind)
            kind_of_index = choose_kind(len(positions), options)
            base = build_index(self.vectors[positions], ids_arr[positions], kind_of_index, options)
            self._spaces[kind] = Space(base, np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32), options)

    @property
    def kinds(self) -> dict[str, str]:
        """Item type -> FAISS index class in use (for stats)."""
        return {k: type(_inner(s.base)).__name__ for k, s in self._spaces.items()}

    def search(self, queries: np.ndarray, k: int, types: Sequence[str] | None = None
               ) -> list[list[tuple[int, float]]]:
        """For each query row, the ``k`` nearest items (id, cosine), best first."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        results: list[list[tuple[int, float]]] = [[] for _ in range(len(queries))]
        for kind, space in self._spaces.items():
            if types is not None and kind not in types:
                continue
            for q, hits in enumerate(space.search(queries, k)):
                results[q].extend(hits)
        return [sorted(r, key=lambda x: -x[1])[:k] for r in results]

    def vector(self, position: int) -> np.ndarray:
        return self.vectors[position]


def _inner(index: faiss.Index) -> faiss.Index:
    return faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index
