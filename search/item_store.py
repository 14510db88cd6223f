"""The items of the search index in SQLite: fetched per hit, never all held in memory.

One row per item (``corpus.Item``): its IRI, type and graph as columns, the ids of its vectors in
the embedding cache (``vec`` for its text, ``name`` for an indicator's bare label), and the rest as
compact JSON. At 10,000 disclosures that is ~2M rows, ~1 GB on disk and nothing in RAM until a
search asks for its 10-50 hits (a few hundred microseconds per lookup by primary key or index).

Generations: a refresh never deletes a row outright. It marks the rows of replaced or removed
disclosures ``dead = G`` and inserts their successors with ``born = G``, in one transaction, before
generation G is published. A reader on generation R sees exactly the rows with
``born <= R < dead``: readers still on R while G is written keep their view, readers that moved to
G see the new one. Dead rows are purged one refresh later (readers follow a new generation within
seconds; refreshes come minutes apart).

Threads: every thread gets its own read-only connection (SQLite connections are not shared); the
writer has its own. WAL mode lets readers run during a write.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from search.corpus import Item

SCHEMA = """
CREATE TABLE IF NOT EXISTS items(
  row INTEGER PRIMARY KEY,
  iri TEXT NOT NULL,
  type TEXT NOT NULL,
  graph TEXT NOT NULL,
  born INTEGER NOT NULL,
  dead INTEGER,
  vec INTEGER,
  name INTEGER,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_iri ON items(iri);
CREATE INDEX IF NOT EXISTS items_graph ON items(graph);
CREATE INDEX IF NOT EXISTS items_vec ON items(vec, type);
-- A search looks up the first rows of each candidate vector: (type, vec) in row order, with the
-- visibility columns beside them, so the lookup never reads the table's rows (whose data blobs
-- spread them over ~2 GB at 10,000 disclosures): 3.3 -> 1.1 ms for 60 vectors. It replaces the
-- (type, vec) index of earlier versions, dropped below.
CREATE INDEX IF NOT EXISTS items_type_vec_live ON items(type, vec, row, born, dead);
DROP INDEX IF EXISTS items_type_vec;
CREATE INDEX IF NOT EXISTS items_name ON items(name) WHERE name IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_dead ON items(dead) WHERE dead IS NOT NULL;
"""
VISIBLE = "born <= :gen AND (dead IS NULL OR dead > :gen)"
# Fields of ``Item`` kept in ``data`` (the lexical words are in the lexical index); empty ones are
# left out and come back as the dataclass defaults.
_DATA_FIELDS = ("label", "text", "disclosure", "department", "county", "fiscal_year", "project",
                "project_iri", "source", "extra", "chunk", "embed", "name")
_EMPTY = (None, "", [], {}, 0)
_BATCH = 900


def item_from_row(iri: str, type_: str, graph: str, data: str) -> Item:
    fields = json.loads(data)
    return Item(iri=iri, type=type_, graph=graph, **fields)


class ItemStore:
    """Rows of items by generation; ``writable`` opens the writer connection."""

    def __init__(self, path: Path, *, writable: bool = False):
        self.path = Path(path)
        self._local = threading.local()
        self._writer: sqlite3.Connection | None = None
        if writable:
            self._writer = sqlite3.connect(self.path)
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.execute("PRAGMA synchronous=NORMAL")
            self._writer.executescript(SCHEMA)
            self._writer.commit()
        elif not self.path.exists():
            raise OSError(f"no item table at {self.path}")

    # ------------------------------------------------------------ connections

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=True)
            conn.execute("PRAGMA query_only=1")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ------------------------------------------------------------ writer

    @property
    def writer(self) -> sqlite3.Connection:
        if self._writer is None:
            raise RuntimeError("the item table is open read-only")
        return self._writer

    def insert(self, items: Sequence[Item], vec_ids: Sequence[int | None], name_ids: Sequence[int | None],
               born: int) -> list[int]:
        """Insert items born in generation ``born``; returns their row numbers (in order)."""
        cur = self.writer.cursor()
        (first,) = cur.execute("SELECT COALESCE(MAX(row), 0) + 1 FROM items").fetchone()
        rows = list(range(first, first + len(items)))
        cur.executemany(
            "INSERT INTO items(row, iri, type, graph, born, vec, name, data) VALUES (?,?,?,?,?,?,?,?)",
            ((row, it.iri, it.type, it.graph, born, vec, name,
              json.dumps({f: v for f in _DATA_FIELDS if (v := getattr(it, f)) not in _EMPTY}, ensure_ascii=False,
                         separators=(",", ":")))
             for row, it, vec, name in zip(rows, items, vec_ids, name_ids)))
        return rows

    def mark_dead(self, graphs: Iterable[str], gen: int) -> dict[str, int]:
        """Mark the live rows of ``graphs`` dead as of ``gen``; returns how many died per type."""
        died: dict[str, int] = {}
        graphs = list(graphs)
        for i in range(0, len(graphs), _BATCH):
            batch = graphs[i:i + _BATCH]
            marks = ",".join("?" * len(batch))
            for type_, n in self.writer.execute(
                    f"SELECT type, COUNT(*) FROM items WHERE dead IS NULL AND graph IN ({marks}) GROUP BY type", batch):
                died[type_] = died.get(type_, 0) + n
            self.writer.execute(f"UPDATE items SET dead = ? WHERE dead IS NULL AND graph IN ({marks})", [gen, *batch])
        return died

    def live_batches(self, graphs: Iterable[str]) -> list[tuple[str, int]]:
        """(graph, born) of the live rows of ``graphs``: the refreshes that wrote them."""
        graphs = list(graphs)
        out: list[tuple[str, int]] = []
        for i in range(0, len(graphs), _BATCH):
            batch = graphs[i:i + _BATCH]
            marks = ",".join("?" * len(batch))
            out += self.writer.execute(
                f"SELECT DISTINCT graph, born FROM items WHERE dead IS NULL AND graph IN ({marks})", batch)
        return out

    def purge_before(self, gen: int) -> int:
        return self.writer.execute("DELETE FROM items WHERE dead IS NOT NULL AND dead < ?", (gen,)).rowcount

    def commit(self) -> None:
        self.writer.commit()

    def rollback(self) -> None:
        self.writer.rollback()

    def live_vector_ids(self, type_: str, column: str) -> list[int]:
        """Distinct vector ids (``vec`` or ``name``) used by live rows of a type."""
        if column not in ("vec", "name"):
            raise ValueError(column)
        return [v for (v,) in self.writer.execute(
            f"SELECT DISTINCT {column} FROM items WHERE type = ? AND dead IS NULL AND {column} IS NOT NULL", (type_,))]

    # ------------------------------------------------------------ readers

    def rows_for_vectors(self, column: str, type_: str, vec_ids: Sequence[int], gen: int,
                         per_vector: int) -> dict[int, list[int]]:
        """Visible rows of ``type_`` whose ``column`` vector is each id (at most ``per_vector`` each).

        One statement per ~100 ids, each id its own index range with its own LIMIT: a text shared
        by 10,000 items costs ``per_vector`` rows, not 10,000.
        """
        if column not in ("vec", "name"):
            raise ValueError(column)
        conn = self._reader()
        out: dict[int, list[int]] = {}
        ids = [int(v) for v in dict.fromkeys(vec_ids)]
        part = (f"SELECT * FROM (SELECT {column}, row FROM items WHERE {column} = ? AND type = ? "
                f"AND born <= ? AND (dead IS NULL OR dead > ?) ORDER BY row LIMIT ?)")
        for i in range(0, len(ids), 100):
            batch = ids[i:i + 100]
            sql = " UNION ALL ".join([part] * len(batch))
            params = [x for v in batch for x in (v, type_, gen, gen, per_vector)]
            for v, row in conn.execute(sql, params):
                out.setdefault(v, []).append(row)
        return out

    def identities(self, rows: Iterable[int], gen: int) -> dict[int, tuple[str, str]]:
        """``row -> (iri, type)`` for the visible rows among ``rows`` (the cheap part of a fetch)."""
        rows = list(dict.fromkeys(int(r) for r in rows))
        conn = self._reader()
        out: dict[int, tuple[str, str]] = {}
        for i in range(0, len(rows), _BATCH):
            batch = rows[i:i + _BATCH]
            marks = ",".join("?" * len(batch))
            for row, iri, type_ in conn.execute(
                    f"SELECT row, iri, type FROM items WHERE row IN ({marks}) AND born <= ? AND (dead IS NULL OR dead > ?)",
                    [*batch, gen, gen]):
                out[row] = (iri, type_)
        return out

    def fetch(self, rows: Iterable[int], gen: int) -> dict[int, tuple]:
        """``row -> (iri, type, graph, data, vec, name)`` for the visible rows among ``rows``."""
        rows = list(dict.fromkeys(int(r) for r in rows))
        conn = self._reader()
        out: dict[int, tuple] = {}
        for i in range(0, len(rows), _BATCH):
            batch = rows[i:i + _BATCH]
            marks = ",".join("?" * len(batch))
            for row, *rest in conn.execute(
                    f"SELECT row, iri, type, graph, data, vec, name FROM items WHERE row IN ({marks}) "
                    f"AND born <= ? AND (dead IS NULL OR dead > ?)", [*batch, gen, gen]):
                out[row] = tuple(rest)
        return out

    def rows_for_iri(self, iri: str, gen: int) -> list[tuple]:
        """``(row, iri, type, graph, data, vec, name)`` of the visible items of a resource."""
        return list(self._reader().execute(
            f"SELECT row, iri, type, graph, data, vec, name FROM items WHERE iri = :iri AND {VISIBLE} ORDER BY row",
            {"iri": iri, "gen": gen}))

    def iter_items(self, gen: int) -> Iterator[Item]:
        """Every visible item, in row order (streamed: for tests and exports, not for queries)."""
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            for iri, type_, graph, data in conn.execute(
                    f"SELECT iri, type, graph, data FROM items WHERE {VISIBLE} ORDER BY row", {"gen": gen}):
                yield item_from_row(iri, type_, graph, data)
        finally:
            conn.close()

    def counts(self, gen: int) -> dict[str, int]:
        return dict(self._reader().execute(f"SELECT type, COUNT(*) FROM items WHERE {VISIBLE} GROUP BY type",
                                           {"gen": gen}))
