"""Embedded graph store on Oxigraph (pyoxigraph): on disk (RocksDB) by default, or in memory.

Chosen over rdflib's in-memory store because it is one to two orders of magnitude faster on the
joins and aggregates budget questions need (see shared/PERF-NOTES.md). Python code here only
moves whole graphs in and SPARQL out; the work happens inside Oxigraph.

Writes go through Oxigraph's loaders as N-Quads (``load_nquads``; the bulk loader for batches of
disclosures), not as SPARQL ``INSERT DATA`` text, which cost several times more per disclosure.
Readers on disk open published generations (``search.snapshots``), never the primary the writer
is changing, so ``budgetkg ingest`` can run while ``budgetkg serve`` answers.
"""
from __future__ import annotations

from functools import lru_cache

import io
import json
import os
import threading
import time
from pathlib import Path
from typing import BinaryIO, Iterable

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from ontology.errors import StoreError
from search import snapshots
from search.snapshots import current_snapshot  # noqa: F401  (part of this module's interface)
from search.store import QueryKind, QueryResult, graph_to_nquads, is_private_graph, ntriples_of

_EXPORT_FORMATS = {
    "trig": ox.RdfFormat.TRIG, "nq": ox.RdfFormat.N_QUADS, "nquads": ox.RdfFormat.N_QUADS,
    "ttl": ox.RdfFormat.TURTLE, "turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES,
    "ntriples": ox.RdfFormat.N_TRIPLES, "jsonld": ox.RdfFormat.JSON_LD, "json-ld": ox.RdfFormat.JSON_LD,
    "xml": ox.RdfFormat.RDF_XML, "rdfxml": ox.RdfFormat.RDF_XML,
}


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_rdflib(term) -> Node | None:
    """Convert a pyoxigraph term to the rdflib equivalent."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return _uri(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        return _literal(term.value, term.language, term.datatype.value)
    raise StoreError(f"unsupported RDF term from Oxigraph: {term!r}")


# rdflib terms are immutable, and a result repeats the same IRIs and labels row after row:
# building each anew (URIRef validates the IRI, Literal casts its value) was ~40% of the time the
# search index spent reading graphs from the store.
@lru_cache(maxsize=1 << 16)
def _uri(value: str) -> URIRef:
    return URIRef(value)


@lru_cache(maxsize=1 << 16)
def _literal(value: str, language: str | None, datatype: str) -> Literal:
    if language:
        return Literal(value, lang=language)
    if datatype == _XSD_STRING:
        # RDF 1.1 simple literals are xsd:string; rdflib compares them as untyped literals.
        return Literal(value)
    return Literal(value, datatype=_uri(datatype))


class OxigraphStore:
    """``GraphStore`` backed by pyoxigraph. ``path=None`` keeps everything in memory.

    Personal data lives in a second Oxigraph store beside the first (``PATH/private``), not just in
    other named graphs: public queries then run over the union of all graphs of the public store
    (``PATH/public``), which is both leak-proof and fast — restricting a query to a list of graphs
    instead made Oxigraph 40x slower at 100 disclosures.

    On disk there is one writer (``read_only=False``, the primary stores, RocksDB's lock) and any
    number of readers (``read_only=True``), which open the current published generation
    (``search.snapshots``) and follow a newer one within ``FOLLOW_CHECK_S``. The writer makes its
    work visible with ``publish()``; a store made before snapshots existed is published by its
    first writer, and until then readers open its primary read-only.
    """

    name = "oxigraph"
    FOLLOW_CHECK_S = 1.0

    def __init__(self, path: str | Path | None, read_only: bool = False):
        self.path = Path(path) if path is not None else None
        self.read_only = bool(read_only and self.path is not None)
        self.generation: str | None = None
        # Disclosure graphs an interrupted write left incomplete, restored or removed on opening.
        self.recovered: list[str] = []
        self._checked_at = 0.0
        self._follow_lock = threading.Lock()
        self._dirty = False  # written since the last publish
        try:
            if self.path is None:
                self._stores = (ox.Store(), ox.Store())
                self.name = "memory"
            elif self.read_only:
                self._open_reader()
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._stores = (ox.Store(str(self.path / "public")), ox.Store(str(self.path / "private")))
        except OSError as exc:
            hint = " (is another budgetkg process, e.g. `budgetkg ingest`, using it?)" if "lock" in str(exc).lower() else ""
            raise StoreError(f"cannot open the graph store at {self.path}: {exc}{hint}") from None
        if self.path is not None and not self.read_only:
            self.recovered = self._recover()
            if snapshots.current_snapshot(self.path) is None:
                self.publish()  # a store from before snapshots: give its readers a generation

    # The public and the private store as one pair, swapped together when a reader follows a
    # newer generation (a query running meanwhile keeps the pair it started with).
    @property
    def _store(self):
        return self._stores[0]

    @property
    def _private(self):
        return self._stores[1]

    @classmethod
    def from_nquads(cls, public: bytes) -> "OxigraphStore":
        """An in-memory store holding ``public`` N-Quads, loaded with the bulk loader (a scratch
        copy of a few graphs, e.g. for the index to read what an ingest just wrote)."""
        store = cls(None)
        if public:
            store._store.bulk_load(public, format=ox.RdfFormat.N_QUADS)
        return store

    @staticmethod
    def exists(path: str | Path) -> bool:
        """Whether an on-disk store has been created at ``path``."""
        return (Path(path) / "public" / "CURRENT").exists()

    # ------------------------------------------------------------ generations (readers)

    def _open_reader(self) -> None:
        public, private, generation = snapshots.open_read_only(self.path)
        self._stores = (public, private if private is not None else ox.Store())
        self.generation = generation
        self._checked_at = time.monotonic()

    def reopen_if_stale(self, force: bool = False) -> bool:
        """A reader moves to the newest published generation; True if it moved.

        Checked at most every ``FOLLOW_CHECK_S`` (reading one small file) unless ``force``."""
        if not self.read_only:
            return False
        now = time.monotonic()
        if not force and now - self._checked_at < self.FOLLOW_CHECK_S:
            return False
        with self._follow_lock:
            self._checked_at = now
            latest = snapshots.current_generation(self.path)
            if latest is None or latest == self.generation:
                return False
            try:
                self._open_reader()
            except OSError as exc:
                raise StoreError(f"cannot open generation {latest} of the graph store at {self.path}: {exc}") from None
            return True

    def publish(self) -> str | None:
        """Make what was written visible to readers: checkpoint the primary as a new generation,
        make it current, prune old ones. Returns its name (None for a memory store)."""
        if self.path is None:
            return None
        if self.read_only:
            raise StoreError("a read-only store cannot publish; open the store for writing")
        try:
            self.generation = snapshots.publish(self._store, self._private, self.path)
        except OSError as exc:
            raise StoreError(f"publishing a snapshot of the graph store at {self.path} failed: {exc}") from None
        self._dirty = False
        return self.generation

    # ------------------------------------------------------------ writes

    def replace_graph(self, graph_iri: str, triples: Graph) -> None:
        self.replace_graphs({graph_iri: triples})

    def replace_graphs(self, graphs: dict[str, Graph], additions: dict[str, Graph] | None = None) -> None:
        additions = additions or {}
        private = {iri: g for iri, g in {**graphs, **additions}.items() if is_private_graph(iri)}
        public = {iri: g for iri, g in {**graphs, **additions}.items() if not is_private_graph(iri)}
        if self.path is None:
            # In memory the live store is what readers query: one SPARQL update is one transaction,
            # so they see the old graphs or the new ones. The private part goes first, so a
            # failure there leaves the public graphs untouched.
            if private:
                replaced = {iri: g for iri, g in graphs.items() if is_private_graph(iri)}
                self._update(self._private, _replace_text(replaced, {i: g for i, g in additions.items()
                                                                      if is_private_graph(i)}), private)
            replaced = {iri: g for iri, g in graphs.items() if not is_private_graph(iri)}
            added = {iri: g for iri, g in additions.items() if not is_private_graph(iri)}
            self._update(self._store, _replace_text(replaced, added), {**replaced, **added})
            return
        public_nq = b"".join(graph_to_nquads(g, iri) for iri, g in public.items())
        private_nq = b"".join(graph_to_nquads(g, iri) for iri, g in private.items())
        self.load_nquads(list(graphs), public_nq, private_nq, bulk=False)

    def load_nquads(self, replace: Iterable[str], public: bytes, private: bytes = b"", *, bulk: bool = True) -> None:
        """Drop the graphs named in ``replace``, then load N-Quads data: ``public`` into the public
        store, ``private`` (graphs under the private prefix only) into the private one.

        ``bulk`` uses Oxigraph's bulk loader (several times faster per quad, for batches of
        disclosures), otherwise one transactional load. Neither is one transaction with the
        drop; on disk that does not matter to readers, who see only published generations. A
        failure puts the replaced graphs back as they were (their quads are kept in memory until
        the load succeeded), and if the process dies midway a journal file lets the next writer
        put them back as the current generation holds them: no half-written disclosure is ever
        published.
        """
        self._require_writable()
        replace = list(dict.fromkeys(replace))
        if self.path is None:
            bulk = False  # the bulk loader is for stores on disk
        journal = self._journal_path()
        if journal is not None and replace:
            _write_json(journal, {"graphs": replace})
        self._dirty = True
        saved: dict[str, list] = {}
        try:
            for iri in replace:
                target = self._private if is_private_graph(iri) else self._store
                node = ox.NamedNode(iri)
                if target.contains_named_graph(node):
                    saved[iri] = list(target.quads_for_pattern(None, None, None, node))
                    target.remove_graph(node)
            for target, data in ((self._private, private), (self._store, public)):
                if data:
                    loader = target.bulk_load if bulk else target.load
                    loader(data, format=ox.RdfFormat.N_QUADS)
        except (OSError, SyntaxError, ValueError) as exc:
            undone = self._put_back(replace, saved)
            if undone and journal is not None:
                journal.unlink(missing_ok=True)
            shown = ", ".join(replace[:4]) + (f" and {len(replace) - 4} more" if len(replace) > 4 else "")
            raise StoreError(f"writing graphs {shown} failed (they were left as they were): {exc}") from None
        if journal is not None:
            journal.unlink(missing_ok=True)

    def _put_back(self, graphs: list[str], saved: dict[str, list]) -> bool:
        """Give ``graphs`` the quads in ``saved`` again (none where absent); False if the disk failed."""
        for iri in graphs:
            target = self._private if is_private_graph(iri) else self._store
            try:
                target.remove_graph(ox.NamedNode(iri))
                if saved.get(iri):
                    target.extend(saved[iri])
            except OSError:
                return False  # the journal stays: the next writer puts them back from the snapshot
        return True

    def unknown_triples(self, graph_iri: str, ntriples: bytes) -> bytes:
        """The N-Triples of ``ntriples`` that the named graph does not hold yet (point lookups)."""
        if not ntriples:
            return b""
        graph = ox.NamedNode(graph_iri)
        target = self._private if is_private_graph(graph_iri) else self._store
        try:
            missing = [t for t in ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES)
                       if ox.Quad(t.subject, t.predicate, t.object, graph) not in target]
        except (OSError, SyntaxError) as exc:
            raise StoreError(f"reading graph {graph_iri} failed: {exc}") from None
        return ox.serialize(missing, format=ox.RdfFormat.N_TRIPLES) if missing else b""

    def _require_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"the graph store at {self.path} is open read-only (a published snapshot); "
                             "open it for writing to change it")

    def _journal_path(self) -> Path | None:
        return self.path / "WRITING.json" if self.path is not None else None

    def _restore_published(self, graphs: list[str]) -> bool:
        """Put ``graphs`` back as the current generation holds them (remove them where it has none)."""
        snapshot = snapshots.current_snapshot(self.path)
        saved: dict[str, list] = {}
        if snapshot is not None:
            try:
                old = {"public": ox.Store.read_only(str(snapshot / "public")),
                       "private": ox.Store.read_only(str(snapshot / "private"))}
                for iri in graphs:
                    source = old["private" if is_private_graph(iri) else "public"]
                    saved[iri] = list(source.quads_for_pattern(None, None, None, ox.NamedNode(iri)))
            except OSError:
                return False
        return self._put_back(graphs, saved)

    def _recover(self) -> list[str]:
        """Undo a write the previous writer did not finish (its journal is still there)."""
        journal = self._journal_path()
        try:
            graphs = json.loads(journal.read_text(encoding="utf-8"))["graphs"]
        except (OSError, ValueError, KeyError, TypeError):
            return []
        if not self._restore_published(list(graphs)):
            raise StoreError(f"an interrupted write left {journal} behind and the disclosures it names could not "
                             "be put back; check the disk and try again")
        journal.unlink(missing_ok=True)
        self._dirty = True
        return [g for g in graphs if not is_private_graph(g)]

    def _update(self, store, text: str, graphs: dict) -> None:
        self._require_writable()
        if not text:
            return
        self._dirty = True
        try:
            store.update(text)
        except (OSError, SyntaxError, ValueError) as exc:
            raise StoreError(f"writing graphs {', '.join(graphs)} failed: {exc}") from None

    def update(self, sparql: str) -> None:
        """Run a SPARQL 1.1 Update on the public store (small targeted changes; one transaction)."""
        self._update(self._store, sparql, {"(update)": None})

    def drop_graph(self, graph_iri: str) -> None:
        self._require_writable()
        target = self._private if is_private_graph(graph_iri) else self._store
        self._dirty = True
        target.update(f"DROP SILENT GRAPH <{graph_iri}>")

    def flush(self) -> None:
        if self.path is not None and not self.read_only:
            self._store.flush()
            self._private.flush()

    # ------------------------------------------------------------ reads

    def graph_names(self) -> list[str]:
        self.reopen_if_stale()
        public, private = self._stores
        names = list(public.named_graphs()) + list(private.named_graphs())
        return sorted(g.value for g in names if isinstance(g, ox.NamedNode))

    def _evaluation_store(self, include_private: bool):
        """The public store, or (rarely: admin use) a merged in-memory copy including private data."""
        self.reopen_if_stale()
        public, private = self._stores
        if not include_private or not any(True for _ in private.named_graphs()):
            return public
        merged = ox.Store()
        merged.extend(public.quads_for_pattern(None, None, None))
        merged.extend(private.quads_for_pattern(None, None, None))
        return merged
    def query(self, sparql: str, *, include_private: bool = False, max_rows: int | None = None) -> QueryResult:
        try:
            raw = self._evaluation_store(include_private).query(sparql, use_default_graph_as_union=True)
        except SyntaxError as exc:
            raise StoreError(f"SPARQL syntax error: {exc}") from None
        except OSError as exc:
            raise StoreError(f"query failed: {exc}") from None
        if isinstance(raw, ox.QueryBoolean) or isinstance(raw, bool):
            return QueryResult(QueryKind.ASK, boolean=bool(raw))
        if isinstance(raw, ox.QuerySolutions):
            variables = [v.value for v in raw.variables]
            rows, truncated = [], False
            for solution in raw:
                if max_rows is not None and len(rows) >= max_rows:
                    truncated = True
                    break
                row = {}
                for var in variables:
                    value = solution[var]
                    if value is not None:
                        row[var] = to_rdflib(value)
                rows.append(row)
            return QueryResult(QueryKind.SELECT, variables=variables, rows=rows, truncated=truncated)
        graph = Graph()
        for triple in raw:
            graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate), to_rdflib(triple.object)))
        return QueryResult(QueryKind.GRAPH, graph=graph)

    def count_triples(self, *, include_private: bool = False) -> int:
        result = self.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", include_private=include_private)
        return int(result.rows[0]["n"].toPython()) if result.rows else 0

    def export(self, fmt: str, *, include_private: bool = False) -> bytes:
        buffer = io.BytesIO()
        self.export_to(fmt, buffer, include_private=include_private)
        return buffer.getvalue()

    def export_to(self, fmt: str, output: BinaryIO, *, include_private: bool = False) -> None:
        """Serialise the store into ``output`` as it is read: at 10,000 disclosures the public
        graphs are 23 M quads, which as a list of quads (or one bytes object) outgrew 24 GiB."""
        key = fmt.lower()
        if key not in _EXPORT_FORMATS:
            raise StoreError(f"unknown export format '{fmt}'; known: {', '.join(sorted(_EXPORT_FORMATS))}")
        rdf_format = _EXPORT_FORMATS[key]
        source = self._evaluation_store(include_private)
        # TriG and N-Quads keep one graph per disclosure; the other formats (JSON-LD included,
        # which could carry graphs) merge them into one, as most consumers expect.
        if key in ("trig", "nq", "nquads"):
            quads = (q for q in source.quads_for_pattern(None, None, None) if isinstance(q.graph_name, ox.NamedNode))
            ox.serialize(quads, output, format=rdf_format)
            return
        triples = source.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", use_default_graph_as_union=True)
        triples.serialize(output, format=rdf_format)

    def close(self) -> None:
        """Release the store; a writer first publishes what it wrote since its last publish (a
        process that dies instead publishes nothing, and the next writer undoes its half-write)."""
        if self._stores is not None:
            if self._dirty and self.path is not None and not self.read_only:
                self.publish()
            self.flush()
        self._stores = None  # RocksDB closes when the objects are collected


def _write_json(path: Path, data: dict) -> None:
    """Write a small JSON file atomically (a temporary file renamed over it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _replace_text(replacements: dict[str, Graph], additions: dict[str, Graph]) -> str:
    """One SPARQL update replacing whole graphs and adding triples to others."""
    parts = []
    for iri, graph in replacements.items():
        parts.append(f"DROP SILENT GRAPH <{iri}>")
        body = ntriples_of(graph) if len(graph) else ""
        if body.strip():
            parts.append(f"INSERT DATA {{ GRAPH <{iri}> {{\n{body}}} }}")
    for iri, graph in additions.items():
        body = ntriples_of(graph) if len(graph) else ""
        if body.strip():
            parts.append(f"INSERT DATA {{ GRAPH <{iri}> {{\n{body}}} }}")
    return " ;\n".join(parts)
