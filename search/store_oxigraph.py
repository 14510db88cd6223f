"""Embedded graph store on Oxigraph (pyoxigraph): on disk (RocksDB) by default, or in memory.

Chosen over rdflib's in-memory store because it is one to two orders of magnitude faster on the
joins and aggregates budget questions need (see shared/PERF-NOTES.md). Python code here only
moves whole graphs in and SPARQL out; the work happens inside Oxigraph.
"""
from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from ontology.errors import StoreError
from search.store import QueryKind, QueryResult, is_private_graph, ntriples_of

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
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == _XSD_STRING:
            # RDF 1.1 simple literals are xsd:string; rdflib compares them as untyped literals.
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise StoreError(f"unsupported RDF term from Oxigraph: {term!r}")


class OxigraphStore:
    """``GraphStore`` backed by pyoxigraph. ``path=None`` keeps everything in memory.

    Personal data lives in a second Oxigraph store beside the first (``PATH/private``), not just in
    other named graphs: public queries then run over the union of all graphs of the public store
    (``PATH/public``), which is both leak-proof and fast — restricting a query to a list of graphs
    instead made Oxigraph 40x slower at 100 disclosures.
    """

    name = "oxigraph"

    def __init__(self, path: str | Path | None, read_only: bool = False):
        self.path = Path(path) if path is not None else None
        try:
            if self.path is None:
                self._store, self._private = ox.Store(), ox.Store()
                self.name = "memory"
            elif read_only:
                self._store = ox.Store.read_only(str(self.path / "public"))
                private = self.path / "private"
                self._private = ox.Store.read_only(str(private)) if (private / "CURRENT").exists() else ox.Store()
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(self.path / "public"))
                self._private = ox.Store(str(self.path / "private"))
        except OSError as exc:
            hint = " (is another budgetkg process, e.g. `budgetkg serve`, using it?)" if "lock" in str(exc).lower() else ""
            raise StoreError(f"cannot open the graph store at {self.path}: {exc}{hint}") from None

    @staticmethod
    def exists(path: str | Path) -> bool:
        """Whether an on-disk store has been created at ``path``."""
        return (Path(path) / "public" / "CURRENT").exists()

    # ------------------------------------------------------------ writes

    def replace_graph(self, graph_iri: str, triples: Graph) -> None:
        self.replace_graphs({graph_iri: triples})

    def replace_graphs(self, graphs: dict[str, Graph], additions: dict[str, Graph] | None = None) -> None:
        # One SPARQL update is one Oxigraph transaction: readers see either the old graphs or the
        # new ones, and a failure midway leaves the store as it was. The private part is written
        # first, so a failure there leaves the public graphs untouched.
        private = {iri: g for iri, g in graphs.items() if is_private_graph(iri)}
        public = {iri: g for iri, g in graphs.items() if not is_private_graph(iri)}
        if private:
            self._update(self._private, _replace_text(private, {}), private)
        self._update(self._store, _replace_text(public, additions or {}), {**public, **(additions or {})})

    @staticmethod
    def _update(store, text: str, graphs: dict) -> None:
        if not text:
            return
        try:
            store.update(text)
        except (OSError, SyntaxError, ValueError) as exc:
            raise StoreError(f"writing graphs {', '.join(graphs)} failed: {exc}") from None

    def update(self, sparql: str) -> None:
        """Run a SPARQL 1.1 Update on the public store (small targeted changes; one transaction)."""
        self._update(self._store, sparql, {"(update)": None})

    def drop_graph(self, graph_iri: str) -> None:
        target = self._private if is_private_graph(graph_iri) else self._store
        target.update(f"DROP SILENT GRAPH <{graph_iri}>")

    def flush(self) -> None:
        if self.path is not None:
            self._store.flush()
            self._private.flush()

    # ------------------------------------------------------------ reads

    def graph_names(self) -> list[str]:
        names = list(self._store.named_graphs()) + list(self._private.named_graphs())
        return sorted(g.value for g in names if isinstance(g, ox.NamedNode))

    def _evaluation_store(self, include_private: bool):
        """The public store, or (rarely: admin use) a merged in-memory copy including private data."""
        if not include_private or not any(True for _ in self._private.named_graphs()):
            return self._store
        merged = ox.Store()
        merged.extend(self._store.quads_for_pattern(None, None, None))
        merged.extend(self._private.quads_for_pattern(None, None, None))
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
        key = fmt.lower()
        if key not in _EXPORT_FORMATS:
            raise StoreError(f"unknown export format '{fmt}'; known: {', '.join(sorted(_EXPORT_FORMATS))}")
        rdf_format = _EXPORT_FORMATS[key]
        source = self._evaluation_store(include_private)
        # TriG and N-Quads keep one graph per disclosure; the other formats (JSON-LD included,
        # which could carry graphs) merge them into one, as most consumers expect.
        if key in ("trig", "nq", "nquads"):
            quads = [q for q in source.quads_for_pattern(None, None, None) if isinstance(q.graph_name, ox.NamedNode)]
            return ox.serialize(quads, format=rdf_format) or b""
        triples = source.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", use_default_graph_as_union=True)
        return triples.serialize(format=rdf_format) or b""

    def close(self) -> None:
        if self._store is not None:
            self.flush()
        self._store = self._private = None  # RocksDB closes when the objects are collected


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
