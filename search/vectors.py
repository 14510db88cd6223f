"""FAISS inner-product search over unit vectors, one sub-index per item type.

Exact ``IndexFlatIP`` while a type has fewer than ``EXACT_LIMIT`` vectors: it needs no build and
one query is one pass over memory (~16 ms per 100k x 384 on this machine kind, shared/PERF-NOTES.md).
Above that, an inverted-file index (``IndexIVFFlat``) trained on the vectors themselves: it builds in
seconds where HNSW would take minutes, and with ``nprobe`` lists probed keeps recall high.

Process-wide FAISS settings are made once here, for the reasons in PERF-NOTES: one OpenMP thread
(faster and steadier than two on shared 2-core machines) and a BLAS threshold of 20 so batched
queries take the BLAS path (11-13x faster, identical results).
"""
from __future__ import annotations

import math
from typing import Sequence

import faiss
import numpy as np

EXACT_LIMIT = 50_000
NPROBE = 32

faiss.omp_set_num_threads(1)
faiss.cvar.distance_compute_blas_threshold = 20


def _build_index(vectors: np.ndarray) -> faiss.Index:
    n, dim = vectors.shape
    if n < EXACT_LIMIT:
        index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        return index
    nlist = int(4 * math.sqrt(n))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(vectors)
    index.add(vectors)
    index.nprobe = NPROBE
    return index


class VectorIndex:
    """Vectors of all items (row i = item i) with a FAISS index per item type."""

    def __init__(self, vectors: np.ndarray, types: Sequence[str]):
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.dim = self.vectors.shape[1] if self.vectors.ndim == 2 else 0
        self._parts: dict[str, tuple[faiss.Index, np.ndarray]] = {}
        types_arr = np.asarray(types)
        for kind in sorted(set(types)):
            positions = np.flatnonzero(types_arr == kind).astype(np.int64)
            self._parts[kind] = (_build_index(self.vectors[positions]), positions)

    @property
    def kinds(self) -> dict[str, str]:
        """Item type -> FAISS index class in use (for stats)."""
        return {k: type(idx).__name__ for k, (idx, _) in self._parts.items()}

    def search(self, queries: np.ndarray, k: int, types: Sequence[str] | None = None
               ) -> list[list[tuple[int, float]]]:
        """For each query row, the ``k`` nearest items (position, cosine), best first."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        results: list[list[tuple[int, float]]] = [[] for _ in range(len(queries))]
        for kind, (index, positions) in self._parts.items():
            if types is not None and kind not in types:
                continue
            kk = min(k, len(positions))
            if kk == 0:
                continue
            scores, ids = index.search(queries, kk)
            for q in range(len(queries)):
                results[q].extend((int(positions[i]), float(s)) for i, s in zip(ids[q], scores[q]) if i >= 0)
        return [sorted(r, key=lambda x: -x[1])[:k] for r in results]

    def vector(self, position: int) -> np.ndarray:
        return self.vectors[position]
