"""The embedding cache: one vector per distinct text a model was asked to embed, kept on disk.

Keyed by ``embedder.text_key`` (model, prompt and text hashed together), so two counties printing
the same indicator row, or a disclosure ingested again, cost the encoder nothing, and a rebuild of
the index re-reads the store but re-encodes nothing it has seen. Vectors of two models never meet:
each model has its own folder and its own keys.

On disk (``folder``)::

    keys.sqlite    key (16 bytes) -> id, in one WITHOUT ROWID table
    vectors.f16    row ``id`` = the vector, float16, appended and never rewritten

float16 halves the file (1M texts x 512 dims = 1 GB instead of 2) at a cosine error of ~1e-3,
far below the gaps between neighbours that ranking depends on. A vector is appended before its key
is committed, so a crash leaves at most unreferenced rows at the end (cut off on the next open).
Readers map the file read-only and re-map when asked for an id beyond what they mapped; ids a
published index refers to are always below the file's length.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

# Keys per ``IN (...)`` lookup (SQLite's default limit on host parameters is 32,766).
_LOOKUP_BATCH = 900


class VectorCache:
    """Vectors by text key (writer side) and by id (everyone)."""

    def __init__(self, folder: Path, dim: int, *, writable: bool = False):
        self.folder = Path(folder)
        self.dim = int(dim)
        self.writable = writable
        self._row_bytes = 2 * self.dim
        self._path = self.folder / "vectors.f16"
        self._map: np.ndarray | None = None
        self._map_lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if writable:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.folder / "keys.sqlite")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS vectors(key BLOB PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID")
            self._db.commit()
            self._path.touch(exist_ok=True)
            size = self._path.stat().st_size
            whole = size - size % self._row_bytes
            if whole != size:  # a write cut short by a crash: its key was never committed
                os.truncate(self._path, whole)
            (known,) = self._db.execute("SELECT COALESCE(MAX(id) + 1, 0) FROM vectors").fetchone()
            if known > whole // self._row_bytes:
                raise OSError(f"the embedding cache in {self.folder} lost vectors its keys refer to")

    def __len__(self) -> int:
        try:
            return self._path.stat().st_size // self._row_bytes
        except OSError:
            return 0

    # ------------------------------------------------------------ keys (lookup: everyone)

    def lookup(self, keys: Sequence[bytes]) -> list[int | None]:
        """The id of each key's vector, None where the text was never embedded (a reader opens
        the key table read-only for the call)."""
        found: dict[bytes, int] = {}
        unique = list(dict.fromkeys(keys))
        db = self._db
        if db is None:
            try:
                db = sqlite3.connect(f"file:{self.folder / 'keys.sqlite'}?mode=ro", uri=True)
            except sqlite3.Error:
                return [None] * len(keys)
        try:
            for i in range(0, len(unique), _LOOKUP_BATCH):
                batch = unique[i:i + _LOOKUP_BATCH]
                marks = ",".join("?" * len(batch))
                found.update(db.execute(f"SELECT key, id FROM vectors WHERE key IN ({marks})", batch))
        except sqlite3.Error:
            pass  # an unreadable key table only means the encoder runs
        finally:
            if db is not self._db:
                db.close()
        return [found.get(k) for k in keys]

    def add(self, keys: Sequence[bytes], vectors: np.ndarray) -> list[int]:
        """Store new vectors (keys not yet in the cache) and return their ids."""
        if not len(keys):
            return []
        data = np.ascontiguousarray(vectors, dtype=np.float16)
        if data.shape != (len(keys), self.dim):
            raise ValueError(f"expected {len(keys)} vectors of {self.dim} dims, got {data.shape}")
        with open(self._path, "ab") as fh:
            first = fh.tell() // self._row_bytes
            fh.write(data.tobytes())
            fh.flush()
            os.fsync(fh.fileno())
        ids = list(range(first, first + len(keys)))
        self._db.executemany("INSERT OR IGNORE INTO vectors(key, id) VALUES (?, ?)", zip(keys, ids))
        self._db.commit()
        return ids

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # ------------------------------------------------------------ everyone

    def get(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """float32 vectors of the given ids, in order."""
        ids = np.asarray(ids, dtype=np.int64)
        if not ids.size:
            return np.zeros((0, self.dim), dtype=np.float32)
        mapped = self._mapped(int(ids.max()) + 1)
        return mapped[ids].astype(np.float32)

    def _mapped(self, need: int) -> np.ndarray:
        current = self._map
        if current is not None and len(current) >= need:
            return current
        with self._map_lock:
            if self._map is None or len(self._map) < need:
                rows = len(self)
                if rows < need:
                    raise OSError(f"the embedding cache in {self.folder} has {rows} vectors, an index refers to id {need - 1}")
                self._map = np.memmap(self._path, dtype=np.float16, mode="r", shape=(rows, self.dim))
            return self._map


class CachedEncoder:
    """An embedder that looks in the cache first and stores what it had to encode.

    Same interface as ``embedder.Embedder`` for the calls the topic matcher makes, so topic
    tagging reuses the name vectors a refresh has just computed instead of encoding them again.
    """

    def __init__(self, embedder, cache: VectorCache):
        self.embedder = embedder
        self.cache = cache
        self.profile = embedder.profile
        self.dim = embedder.dim
        self.model_name = embedder.model_name
        self.encoded = 0  # texts that were not in the cache

    def encode_passages(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self._encode(texts, query=False)

    def encode_queries(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self._encode(texts, query=True)

    def encode_query(self, text: str) -> np.ndarray:
        return self._encode([text], query=True)[0]

    def _encode(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [self.embedder.key(t, query=query) for t in texts]
        ids = self.cache.lookup(keys)
        missing = list(dict.fromkeys(k for k, i in zip(keys, ids) if i is None))
        # A reader (the search side opens the cache read-only): encode what is missing, store nothing.
        if missing and not self.cache.writable:
            text_of = dict(zip(keys, texts))
            encode = self.embedder.encode_queries if query else self.embedder.encode_passages
            fresh = dict(zip(missing, encode([text_of[k] for k in missing])))
            self.encoded += len(missing)
            found = self.cache.get([i for i in ids if i is not None])
            rows = iter(found)
            return np.stack([fresh[k] if i is None else next(rows) for k, i in zip(keys, ids)])
        if missing:
            text_of = dict(zip(keys, texts))
            encode = self.embedder.encode_queries if query else self.embedder.encode_passages
            new_ids = self.cache.add(missing, encode([text_of[k] for k in missing]))
            self.encoded += len(missing)
            known = dict(zip(missing, new_ids))
            ids = [i if i is not None else known[k] for k, i in zip(keys, ids)]
        return self.cache.get(ids)
