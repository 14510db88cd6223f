"""Worker processes of an index refresh: they encode texts and tokenise them, one core each.

The two CPU-heavy steps of a refresh, embedding and jieba tokenisation, are pure functions of the
text, so a pool of processes (one per core, each with its own encoder at one BLAS thread, as
shared/MODEL.md requires) does them while the parent reads the next batch of disclosures from the
store and writes the previous one into the index. Processes are started with ``spawn``: the parent
may already run FAISS' OpenMP threads and tantivy's, which a fork would copy half-alive. This
module imports nothing heavy, so a worker is ready in ~2 s (the encoder's weights and jieba's
dictionary).

Each job returns its CPU seconds so that ``refresh()`` can report where the time went.
"""
from __future__ import annotations

import time

import numpy as np

_ENCODER = None


def init_worker(model: str) -> None:
    """Process initializer: load the encoder (one thread) and jieba's dictionary once."""
    global _ENCODER
    from search.embedder import Embedder
    from search.lexical import tokenize

    _ENCODER = Embedder(model, 1)
    tokenize("预热")


def encode_job(texts: list[str], query: bool = False) -> tuple[np.ndarray, float]:
    """float16 vectors of the texts (half the bytes through the pipe; stored as float16 anyway)."""
    t0 = time.process_time()
    vectors = _ENCODER.encode_queries(texts) if query else _ENCODER.encode_passages(texts)
    return vectors.astype(np.float16), time.process_time() - t0


def tokenize_job(texts: list[str]) -> tuple[list[str], float]:
    """Each text's lexical tokens, space-joined (the form the lexical index stores)."""
    from search.lexical import tokenize

    t0 = time.process_time()
    out = [" ".join(tokenize(t)) for t in texts]
    return out, time.process_time() - t0
