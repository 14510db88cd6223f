"""The graph-store interface and its registry of backends.

Everything that reads or writes the graph goes through ``GraphStore``: the embedded Oxigraph
store (default, on disk), an in-memory Oxigraph store (tests, one-off runs) and any remote
SPARQL 1.1 server (Oxigraph server, Virtuoso, ...) chosen by configuration. Writes are whole
named graphs replaced (one graph per disclosure), several disclosures at a time as N-Quads where
the backend can load them (``write_nquads``); reads are SPARQL. Readers of the embedded store on
disk see the writes once the writer calls ``publish()`` (``search.snapshots``), whole or not at all.

Personal data sits in separate "private" named graphs kept in separate storage;
``query(..., include_private=False)`` evaluates over the public graphs only (their union is the
default graph), so the public endpoint cannot reach it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, Iterable, Protocol

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from ontology.errors import StoreError
from ontology.terms import GRAPH_BASE

PRIVATE_GRAPH_PREFIX = GRAPH_BASE + "private/"


class QueryKind(str, Enum):
    SELECT = "select"
    ASK = "ask"
    GRAPH = "graph"  # CONSTRUCT / DESCRIBE


@dataclass
class QueryResult:
    """A SPARQL result with rdflib terms: rows for SELECT, a boolean for ASK, a graph otherwise."""

    kind: QueryKind
    variables: list[str] = field(default_factory=list)
    rows: list[dict[str, Node]] = field(default_factory=list)
    boolean: bool | None = None
    graph: Graph | None = None
    truncated: bool = False  # rows were capped at the caller's limit

    def values(self) -> list[dict[str, object]]:
        """Rows with Python values (str, int, Decimal, ...) instead of rdflib terms."""
        return [{k: (v.toPython() if isinstance(v, Literal) else str(v)) for k, v in row.items()}
                for row in self.rows]

    def to_json(self) -> dict:
        """The W3C SPARQL 1.1 Query Results JSON form (SELECT and ASK)."""
        if self.kind == QueryKind.ASK:
            return {"head": {}, "boolean": bool(self.boolean)}
        bindings = [{k: term_to_json(v) for k, v in row.items() if v is not None} for row in self.rows]
        return {"head": {"vars": self.variables}, "results": {"bindings": bindings}}


def term_to_json(term: Node) -> dict:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    assert isinstance(term, Literal)
    out = {"type": "literal", "value": str(term)}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype is not None:
        out["datatype"] = str(term.datatype)
    return out


def term_from_json(obj: dict) -> Node:
    kind = obj["type"]
    if kind == "uri":
        return URIRef(obj["value"])
    if kind == "bnode":
        return BNode(obj["value"])
    datatype = obj.get("datatype")
    if datatype == "http://www.w3.org/2001/XMLSchema#string":
        datatype = None  # a simple literal, as rdflib models it
    return Literal(obj["value"], lang=obj.get("xml:lang"), datatype=URIRef(datatype) if datatype else None)


def result_from_json(data: dict | str | bytes) -> QueryResult:
    """Parse W3C SPARQL JSON results into a ``QueryResult``."""
    if not isinstance(data, dict):
        data = json.loads(data)
    if "boolean" in data:
        return QueryResult(QueryKind.ASK, boolean=bool(data["boolean"]))
    variables = list(data.get("head", {}).get("vars", []))
    # A result repeats its terms (county, department, year, file, unit on every row), and an
    # rdflib term costs 5-10 µs to make: each distinct one is made once per result (terms are
    # immutable). A 200-row answer at 10,000 disclosures parsed in 15-20 ms, most of it this.
    made: dict[tuple, Node] = {}
    rows = []
    for binding in data.get("results", {}).get("bindings", []):
        row = {}
        for k, v in binding.items():
            key = (v.get("type"), v.get("value"), v.get("xml:lang"), v.get("datatype"))
            term = made.get(key)
            if term is None:
                term = made[key] = term_from_json(v)
            row[k] = term
        rows.append(row)
    return QueryResult(QueryKind.SELECT, variables=variables, rows=rows)


class GraphStore(Protocol):
    """What the rest of budgetkg needs from a graph store."""

    name: str

    def replace_graph(self, graph_iri: str, triples: Graph) -> None:
        """Atomically replace the named graph's content with ``triples`` (creates it if absent)."""

    def replace_graphs(self, graphs: dict[str, Graph], additions: dict[str, Graph] | None = None) -> None:
        """Atomically replace several named graphs, and add triples to others, in one transaction.

        Graphs under the private prefix go to storage the public endpoint cannot reach."""

    def drop_graph(self, graph_iri: str) -> None:
        """Remove a named graph and its triples (no error if absent)."""

    def update(self, sparql: str) -> None:
        """Run a SPARQL 1.1 Update on the public graphs (small targeted changes, one transaction)."""

    def graph_names(self) -> list[str]:
        """IRIs of the named graphs in the store."""

    def query(self, sparql: str, *, include_private: bool = False, max_rows: int | None = None) -> QueryResult:
        """Evaluate a SPARQL 1.1 query with the union of (public) named graphs as default graph."""

    def export(self, fmt: str, *, include_private: bool = False) -> bytes:
        """Serialise the store: 'trig' or 'nq' keep named graphs; 'ttl', 'nt', 'jsonld' merge them."""

    def count_triples(self, *, include_private: bool = False) -> int:
        """Number of triples in the (public) graphs."""

    def close(self) -> None:
        """Release files and connections."""

    def publish(self) -> str | None:
        """Make the writes so far visible to readers that open published snapshots; returns the
        new generation's name. Backends whose readers see writes at once (memory, remote) do
        nothing and return None."""


def select_all(store: GraphStore, sparql: str) -> list[dict[str, Node]]:
    """Every row of a SELECT that budgetkg issues for its own bookkeeping (graph lists, the
    question parser's names, the project table): one row per disclosure or more, so past a server's
    row cap at 10,000 disclosures (Virtuoso's default ``ResultSetMaxRows`` is 10,000). A store
    with ``select_all`` (the remote one) pages; the others answer in one query. No ORDER BY or
    LIMIT in ``sparql``: pages are cut with LIMIT/OFFSET."""
    paged = getattr(store, "select_all", None)
    if paged is not None:
        return paged(sparql)
    return store.query(sparql).rows


def is_private_graph(iri: str) -> bool:
    return iri.startswith(PRIVATE_GRAPH_PREFIX)


# ------------------------------------------------------------------ registry

_BACKENDS: dict[str, Callable[..., GraphStore]] = {}


def register_backend(name: str, factory: Callable[..., GraphStore]) -> None:
    _BACKENDS[name] = factory


def backend_names() -> list[str]:
    _ensure_builtin()
    return sorted(_BACKENDS)


def open_store(backend: str, **options) -> GraphStore:
    """Open a store by backend name ('oxigraph', 'memory', 'sparql') with backend options.

    oxigraph: ``path`` (folder; created if missing), ``read_only`` (bool).
    memory:   no options.
    sparql:   ``query_url``, ``update_url``, optional ``user``/``password``, ``timeout``,
              ``private_query_url``/``private_update_url`` (a second dataset for personal data;
              without them personal data is not written to the remote server).
    """
    _ensure_builtin()
    if backend not in _BACKENDS:
        raise StoreError(f"unknown store backend '{backend}'; known: {', '.join(sorted(_BACKENDS))}")
    return _BACKENDS[backend](**options)


def _ensure_builtin() -> None:
    if _BACKENDS:
        return
    from search.store_oxigraph import OxigraphStore
    from search.store_remote import RemoteSparqlStore

    register_backend("oxigraph", lambda path, read_only=False: OxigraphStore(path, read_only=read_only))
    register_backend("memory", lambda: OxigraphStore(None))
    register_backend("sparql", lambda query_url, update_url=None, user=None, password=None, timeout=60.0,
                     private_query_url=None, private_update_url=None:
                     RemoteSparqlStore(query_url, update_url, user=user, password=password, timeout=timeout,
                                       private_query_url=private_query_url, private_update_url=private_update_url))


def export_to_file(store: GraphStore, fmt: str, output, *, include_private: bool = False) -> None:
    """Serialise ``store`` into the binary file ``output``: streamed where the backend can
    (``export_to``: the embedded store), else through ``export``'s bytes."""
    streaming = getattr(store, "export_to", None)
    if streaming is not None:
        streaming(fmt, output, include_private=include_private)
    else:
        output.write(store.export(fmt, include_private=include_private))


def graph_to_nquads(graph: Graph, graph_iri: str) -> bytes:
    """N-Quads (UTF-8) of ``graph`` placed in the named graph ``graph_iri``."""
    from search.ntriples import to_nquads

    return to_nquads(graph, graph_iri)


def graphs_from_nquads(data: bytes) -> dict[str, Graph]:
    """rdflib graphs by graph name from N-Quads (named graphs only); parsed by Oxigraph, which
    is an order of magnitude faster than rdflib's parser."""
    import pyoxigraph as ox

    from search.store_oxigraph import to_rdflib

    graphs: dict[str, Graph] = {}
    for quad in ox.parse(data, format=ox.RdfFormat.N_QUADS):
        if isinstance(quad.graph_name, ox.NamedNode):
            graph = graphs.setdefault(quad.graph_name.value, Graph())
            graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return graphs


def graph_from_ntriples(data: bytes) -> Graph:
    """An rdflib graph from N-Triples (parsed by Oxigraph)."""
    import pyoxigraph as ox

    from search.store_oxigraph import to_rdflib

    graph = Graph()
    for triple in ox.parse(data, format=ox.RdfFormat.N_TRIPLES):
        graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate), to_rdflib(triple.object)))
    return graph


def write_nquads(store: GraphStore, replace: list[str], public: bytes, private: bytes = b"") -> None:
    """Replace the graphs named in ``replace`` with N-Quads data (several disclosures at once).

    The embedded store loads the bytes with its bulk loader; other backends get the same graphs
    through ``replace_graphs`` (one update)."""
    loader = getattr(store, "load_nquads", None)
    if loader is not None:
        loader(replace, public, private, bulk=True)
        return
    graphs = graphs_from_nquads(public + private)
    store.replace_graphs({iri: graphs.get(iri, Graph()) for iri in replace}
                         | {iri: g for iri, g in graphs.items() if iri not in replace})


def unknown_triples(store: GraphStore, graph_iri: str, ntriples: bytes) -> bytes:
    """The N-Triples of ``ntriples`` not yet in the named graph, where the backend can tell
    cheaply (the embedded store); otherwise all of them (adding a triple twice changes nothing)."""
    method = getattr(store, "unknown_triples", None)
    return method(graph_iri, ntriples) if method is not None else ntriples


def publish(store: GraphStore) -> str | None:
    """``store.publish()`` where the backend has it (a backend from before snapshots may not)."""
    method = getattr(store, "publish", None)
    return method() if method is not None else None


def ntriples_of(graph: Graph) -> str:
    """N-Triples text of a graph, lines sorted (deterministic)."""
    data = graph.serialize(format="nt")
    return "\n".join(sorted(line for line in data.splitlines() if line.strip())) + "\n"


def iter_chunks(lines: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(lines), size):
        yield lines[i:i + size]
