"""The disclosure graphs an ingest has just written, kept aside so the index refresh after it reads
them from memory instead of back from the store.

``budgetkg ingest`` already holds each disclosure's N-Quads (the workers serialised them for the
bulk loader). Reading the same graphs back out of a large embedded store costs a RocksDB lookup
per row joined (~0.085 s per disclosure at 10,000 disclosures, a fifth of the refresh); the same
item queries over an in-memory Oxigraph store loaded with the spooled N-Quads cost a fraction of
that. The spool is a folder of zlib-compressed graphs (N-Quads compress ~8x) that lives only for
one ingest: the caller removes it when the refresh is done (``close``).

The store stays the source of truth: ``Refresher`` uses a spooled graph only when its file hash
and ``rdf:type`` count match the fingerprint it read from the store (``store_state``), so a graph
another process replaced in between is read from the store as before.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import zlib
from pathlib import Path

# zlib level 1: ~8x smaller N-Quads at ~150 MB/s on one core; higher levels cost more than
# the disk they save.
COMPRESSION_LEVEL = 1
# One spool file is closed and the next opened past this size (keeps files a manageable size).
FILE_BYTES = 256 * 1024 * 1024


class GraphSpool:
    """Append-only store of ``{graph IRI: N-Quads}`` in a temporary folder under ``parent``."""

    def __init__(self, parent: str | Path | None = None):
        if parent is not None:
            Path(parent).mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="graph-spool-", dir=parent))
        self._where: dict[str, tuple[int, int, int]] = {}  # graph -> (file number, offset, length)
        self._file_no = 0
        self._out = open(self.folder / "0.z", "wb")
        self._lock = threading.Lock()
        self.failed: str | None = None  # why spooling stopped, if it did

    def __contains__(self, graph: str) -> bool:
        return graph in self._where

    def __len__(self) -> int:
        return len(self._where)

    def add(self, graph: str, nquads: bytes) -> None:
        """Keep the N-Quads of one disclosure graph (a later ``add`` of the same graph wins).

        Never raises: the spool only saves work, so a full disk or a removed folder stops the
        spooling (``failed`` says why) and the refresh reads the graphs from the store instead."""
        data = zlib.compress(nquads, COMPRESSION_LEVEL)
        with self._lock:
            self._where.pop(graph, None)  # an older copy must not stand in for this one
            if self.failed is not None:
                return
            try:
                if self._out.tell() >= FILE_BYTES:
                    self._out.close()
                    self._file_no += 1
                    self._out = open(self.folder / f"{self._file_no}.z", "wb")
                offset = self._out.tell()
                self._out.write(data)
            except (OSError, ValueError) as exc:  # ValueError: the file was closed
                self.failed = f"{self.folder}: {exc}"
                return
            self._where[graph] = (self._file_no, offset, len(data))

    def read(self, graph: str) -> bytes:
        """The N-Quads kept for ``graph``; empty when it has none or they cannot be read back (the
        copy then lacks the graph, and the refresh reads it from the store)."""
        where = self._where.get(graph)
        if where is None:
            return b""
        number, offset, length = where
        try:
            with self._lock:
                if not self._out.closed:
                    self._out.flush()
            with open(self.folder / f"{number}.z", "rb") as fh:
                fh.seek(offset)
                return zlib.decompress(fh.read(length))
        except (OSError, zlib.error):
            return b""

    def memory_store(self, graphs: list[str]):
        """An in-memory ``OxigraphStore`` holding the spooled ``graphs`` (those it has)."""
        from search.store_oxigraph import OxigraphStore

        return OxigraphStore.from_nquads(b"".join(self.read(g) for g in graphs))

    def close(self) -> None:
        """Remove the folder (the spool is useless once the refresh has read it)."""
        with self._lock:
            if not self._out.closed:
                self._out.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "GraphSpool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
