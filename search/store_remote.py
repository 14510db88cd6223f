"""A remote SPARQL 1.1 server as the graph store (Oxigraph server, Virtuoso, ...).

Speaks only the standard protocols: queries and updates by form-encoded POST (Virtuoso hangs on
``application/sparql-query`` bodies, see shared/PERF-NOTES.md). The server must treat the default
graph as the union of named graphs (Oxigraph: ``serve --union-default-graph``; Virtuoso does so by
default). Personal data never goes to that dataset: it is written to a second one
(``private_query_url``/``private_update_url``) when configured, and otherwise not written remotely
at all, so nothing the public endpoint forwards can reach it.

What it takes to work on servers other than the one it was first written for (each measured on
Virtuoso Open Source 7.2 from Debian, on a shared machine):

* Blank nodes: Virtuoso refuses them inside ``INSERT DATA`` (SP031), and any server would give a
  re-sent blank node a new identity. Graphs are skolemised before they are sent: each blank node
  becomes ``https://w3id.org/budgetkg/.well-known/genid/<hash>``, the hash taken over the graph's
  IRI and the node's canonical label (rdflib's RGDA1), so writing the same graph twice, from any
  process, yields the same IRIs (RDF 1.1 section 3.5).
* Size: one disclosure's graphs are replaced in one update request (one transaction), its
  ``INSERT DATA`` blocks at most ``BLOCK_TRIPLES`` triples each: Virtuoso's parser gives up near
  4,990 triples in a block ("SP030 ... memory exhausted"), and without ``define
  sql:big-data-const 1`` it compiles each block to SQL text capped at 10,000 lines (~1,000
  triples) and slowly (1,000 triples: 2.5 s with the default, 0.11 s with the pragma). The pragma
  is Virtuoso's own, so it is sent only to a server whose ``Server`` header says Virtuoso.
  (Virtuoso's Graph Store Protocol endpoint is faster still, but it commits every 500 triples:
  readers saw half-written and empty graphs, so it is not used.)
* Isolation: the update is one transaction on Virtuoso too, but at its default isolation (read
  committed) a query scanning the graph while it commits can still see part of the old and part of
  the new content (tests/test_virtuoso_store.py caught it in 2 of 6 runs). A Virtuoso budgetkg
  writes to should run with ``DefaultIsolation = 4`` (repeatable read; no mixed state in any run).
  Writing to a fresh graph and switching a pointer would not help: readers query the union of all
  graphs, where both copies would show.
* Concurrency: several ingest processes may write at once. Virtuoso answers a transaction it
  killed to break a deadlock with "40001" (readers too, at repeatable read); such a request is sent
  again with backoff.
* Row caps: Virtuoso cuts every result at ``ResultSetMaxRows`` (10,000 in the package's ini) and
  says so only in an ``X-SPARQL-MaxRows`` header (for SELECT; for CONSTRUCT not at all): a SELECT
  cut that way, or a CONSTRUCT as long as the cap, raises ``StoreError`` naming the setting instead
  of returning a result with rows silently missing. Exports page per graph.
* Virtuoso's own graphs (its schemas, WebDAV metadata: ~5,600 triples) sit in the same default
  graph; counts and exports cover budgetkg's graphs (under ``GRAPH_BASE``) only.
"""
from __future__ import annotations

import hashlib
import random
import re
import time

import httpx
from rdflib import BNode, Graph, URIRef

from ontology.errors import StoreError
from ontology.terms import GRAPH_BASE
from search.store import QueryKind, QueryResult, is_private_graph, iter_chunks, ntriples_of, result_from_json

SKOLEM_BASE = "https://w3id.org/budgetkg/.well-known/genid/"
BLOCK_TRIPLES = 2000
RETRIES = 8
EXPORT_PAGE = 10000
VIRTUOSO_ROW_CAP = 10000  # ResultSetMaxRows of the Debian package's virtuoso.ini
_SELECT_JSON = "application/sparql-results+json"

_GRAPH_FORMATS = {"ttl": "turtle", "turtle": "turtle", "nt": "nt", "ntriples": "nt", "jsonld": "json-ld",
                  "json-ld": "json-ld", "xml": "xml"}


class RemoteSparqlStore:
    """``GraphStore`` talking to a SPARQL 1.1 server over HTTP."""

    name = "sparql"
    # Disclosure graphs per read of the search index (``search.corpus.graphs_per_query``): few, so
    # that a server's cost estimate (Virtuoso's MaxQueryCostEstimationTime) lets the query run.
    graphs_per_query = 5

    def __init__(self, query_url: str, update_url: str | None = None, *, user: str | None = None,
                 password: str | None = None, timeout: float = 60.0, private_query_url: str | None = None,
                 private_update_url: str | None = None):
        if not query_url:
            raise StoreError("store 'sparql' needs a query URL (setting BUDGETKG_SPARQL_QUERY_URL)")
        self.query_url = query_url
        self.update_url = update_url
        self.private_query_url = private_query_url
        self.private_update_url = private_update_url
        auth = httpx.DigestAuth(user, password) if user and "virtuoso" in query_url.lower() else (
            httpx.BasicAuth(user, password) if user else None)
        self._http = httpx.Client(timeout=timeout, auth=auth)
        self._server: dict[str, str] = {}  # URL -> its Server header, learnt from the first answer

    # ------------------------------------------------------------ writes

    def _is_virtuoso(self, url: str) -> bool:
        if url not in self._server:
            self._post_query("ASK {}", _SELECT_JSON, url=self._query_url_for(url))
            self._server.setdefault(url, self._server.get(self._query_url_for(url), ""))
        return self._server[url].lower().startswith("virtuoso")

    def _query_url_for(self, update_url: str) -> str:
        return self.private_query_url if update_url == self.private_update_url else self.query_url

    def _post(self, url: str, data: dict, headers: dict | None = None) -> httpx.Response:
        """POST a form; a transaction the server rolled back to break a deadlock is sent again."""
        for attempt in range(RETRIES):
            try:
                response = self._http.post(url, data=data, headers=headers)
            except httpx.HTTPError as exc:
                raise StoreError(f"SPARQL server at {url} unreachable: {exc}") from None
            self._server.setdefault(url, response.headers.get("server", ""))
            if response.status_code < 300 or attempt + 1 == RETRIES or not _is_deadlock(response):
                return response
            # Another transaction held rows this one needed; the server undid this one whole.
            time.sleep(min(5.0, 0.05 * 2 ** attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def _update(self, text: str, url: str | None = None) -> None:
        url = url or self.update_url
        if not url:
            raise StoreError("this remote store is read-only: set BUDGETKG_SPARQL_UPDATE_URL to write")
        if self._is_virtuoso(url):
            # Virtuoso-only pragma: pass big constants as parameters instead of compiling them into
            # SQL text (20x faster, and lifts the 10,000-lines cap); same triples stored.
            text = "define sql:big-data-const 1\n" + text
        response = self._post(url, {"update": text})
        if response.status_code >= 300:
            raise StoreError(f"SPARQL update refused by {url}: HTTP {response.status_code} {response.text[:300]}")

    def update(self, sparql: str) -> None:
        """Run a SPARQL 1.1 Update on the public dataset (small targeted changes)."""
        self._update(sparql)

    def replace_graph(self, graph_iri: str, triples: Graph) -> None:
        self.replace_graphs({graph_iri: triples})

    def replace_graphs(self, graphs: dict[str, Graph], additions: dict[str, Graph] | None = None) -> None:
        private = {iri: g for iri, g in graphs.items() if is_private_graph(iri)}
        public = {iri: g for iri, g in graphs.items() if not is_private_graph(iri)}
        if private and self.private_update_url:
            self._update(_update_text(private, {}), self.private_update_url)
        text = _update_text(public, additions or {})
        if text:
            self._update(text)

    def drop_graph(self, graph_iri: str) -> None:
        if is_private_graph(graph_iri):
            if self.private_update_url:
                self._update(f"DROP SILENT GRAPH <{graph_iri}>", self.private_update_url)
            return
        self._update(f"DROP SILENT GRAPH <{graph_iri}>")

    def publish(self) -> None:
        """Nothing to publish: a server's readers see each update once it commits."""
        return None

    # ------------------------------------------------------------ reads

    def _post_query(self, sparql: str, accept: str, url: str | None = None) -> httpx.Response:
        url = url or self.query_url
        response = self._post(url, {"query": sparql}, {"Accept": accept})
        if response.status_code >= 300:
            hint = ""
            if "estimated execution time" in response.text[:300]:
                # Virtuoso refuses on its own cost *estimate* (400 s in the Debian package's ini),
                # which at 10,000 disclosures overrates budgetkg's per-graph reads ~10^5-fold.
                hint = ("; comment out MaxQueryCostEstimationTime in the [SPARQL] section of virtuoso.ini "
                        "(its estimates are far off; bound queries with MaxQueryExecutionTime; README: "
                        "Scaling out)")
            raise StoreError(f"SPARQL query refused by {url}: HTTP {response.status_code} "
                             f"{response.text[:300]}{hint}")
        return response

    def _select(self, sparql: str, url: str | None = None) -> tuple[QueryResult, int | None]:
        """A SELECT's rows and the row cap the server applied to them (None when it cut nothing)."""
        response = self._post_query(sparql, _SELECT_JSON, url)
        cap = response.headers.get("x-sparql-maxrows")
        return result_from_json(response.content), int(cap) if cap and cap.isdigit() else None

    def _select_all(self, body: str, url: str | None = None) -> list[dict]:
        """Every row of ``SELECT ... WHERE body`` (no ORDER BY, no LIMIT), paged past server caps.

        Pages are unordered: on a graph that changes during the read, rows may move between pages.
        Used for budgetkg's own bounded reads (graph lists, exports), never for user queries."""
        rows, offset, page = [], 0, EXPORT_PAGE
        while True:
            result, cap = self._select(f"{body} LIMIT {page} OFFSET {offset}", url)
            rows += result.rows
            offset += len(result.rows)
            if cap:
                page = min(page, cap)
            elif len(result.rows) < page:
                return rows

    def select_all(self, sparql: str) -> list[dict]:
        """Every row of a bookkeeping SELECT over the public dataset, paged past the server's row
        cap (``search.store.select_all``)."""
        return self._select_all(sparql, self.query_url)

    def graph_names(self) -> list[str]:
        names = []
        for url in filter(None, [self.query_url, self.private_query_url]):
            rows = self._select_all("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", url)
            names += [str(row["g"]) for row in rows if "g" in row]
        # A shared server also holds other applications' graphs (Virtuoso: its own schemas).
        return sorted({g for g in names if g.startswith(GRAPH_BASE)})

    def query(self, sparql: str, *, include_private: bool = False, max_rows: int | None = None) -> QueryResult:
        # include_private reaches the private dataset only where one is configured; remote servers
        # cannot join across two datasets, so such a query sees the private dataset alone.
        url = self.private_query_url if include_private and self.private_query_url else self.query_url
        # Ask for the serialisation of the query's form: offered JSON for a CONSTRUCT, Virtuoso
        # answers with s/p/o rows.
        graph_form = _is_graph_query(sparql)
        accept = "application/n-triples, text/turtle;q=0.8" if graph_form else _SELECT_JSON
        response = self._post_query(sparql, accept, url)
        media = response.headers.get("content-type", "").split(";")[0].strip()
        if media in (_SELECT_JSON, "application/json"):
            result = result_from_json(response.content)
            cap = response.headers.get("x-sparql-maxrows")
            if max_rows is not None and len(result.rows) > max_rows:
                result.rows = result.rows[:max_rows]
                result.truncated = True
            elif cap and (max_rows is None or max_rows > len(result.rows)):
                raise StoreError(f"the SPARQL server at {url} cut the result at {cap} rows; raise its row cap "
                                 "(Virtuoso: ResultSetMaxRows in the [SPARQL] section of virtuoso.ini) or "
                                 "narrow the query")
            return result
        graph = Graph()
        graph.parse(data=response.content, format="nt" if "n-triples" in media else "turtle")
        # Virtuoso cuts CONSTRUCT/DESCRIBE at its row cap too, and says nothing about it.
        cap = VIRTUOSO_ROW_CAP if self._server.get(url, "").lower().startswith("virtuoso") else None
        if cap and len(graph) >= cap:
            if max_rows is None:
                raise StoreError(f"the SPARQL server at {url} returned {len(graph)} triples, as many as its row cap: "
                                 "it may have cut the result; raise the cap (Virtuoso: ResultSetMaxRows in the "
                                 "[SPARQL] section of virtuoso.ini) or narrow the query")
        return QueryResult(QueryKind.GRAPH, graph=graph, truncated=bool(cap and len(graph) >= cap))

    def count_triples(self, *, include_private: bool = False) -> int:
        urls = [self.query_url] + ([self.private_query_url] if include_private and self.private_query_url else [])
        total = 0
        for url in urls:
            result, _ = self._select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
                                     f'FILTER(STRSTARTS(STR(?g), "{GRAPH_BASE}")) }}', url)
            total += int(result.rows[0]["n"].toPython()) if result.rows else 0
        return total

    def _graph_triples(self, graph_iri: str) -> list[tuple]:
        url = self.private_query_url if is_private_graph(graph_iri) else self.query_url
        rows = self._select_all(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph_iri}> {{ ?s ?p ?o }} }}", url)
        return [(r["s"], r["p"], r["o"]) for r in rows]

    def export(self, fmt: str, *, include_private: bool = False) -> bytes:
        key = fmt.lower()
        if key not in ("trig", "nq", "nquads") and key not in _GRAPH_FORMATS:
            raise StoreError(f"unknown export format '{fmt}'")
        names = [g for g in self.graph_names() if include_private or not is_private_graph(g)]
        if key in ("trig", "nq", "nquads"):
            from rdflib import Dataset

            dataset = Dataset()
            for g in names:
                named = dataset.graph(URIRef(g))
                for triple in self._graph_triples(g):
                    named.add(triple)
            return dataset.serialize(format="trig" if key == "trig" else "nquads").encode()
        merged = Graph()
        for g in names:
            for triple in self._graph_triples(g):
                merged.add(triple)
        return merged.serialize(format=_GRAPH_FORMATS[key]).encode()

    def close(self) -> None:
        self._http.close()


_PROLOGUE = re.compile(r"\s*(?:#[^\n]*\n|(?:PREFIX\s+[\w.-]*:\s*|BASE\s+)<[^>]*>)", re.IGNORECASE)


def _is_graph_query(sparql: str) -> bool:
    """Whether a query is CONSTRUCT or DESCRIBE (its first keyword after the prologue)."""
    position = 0
    while match := _PROLOGUE.match(sparql, position):
        position = match.end()
    return sparql[position:].lstrip()[:9].upper().startswith(("CONSTRUCT", "DESCRIBE"))


def _is_deadlock(response: httpx.Response) -> bool:
    text = response.text[:2000]
    return response.status_code >= 500 and ("40001" in text or "deadlock" in text.lower())


def skolemize(graph: Graph, graph_iri: str) -> Graph:
    """``graph`` with every blank node replaced by a deterministic IRI under ``SKOLEM_BASE``."""
    if not any(isinstance(term, BNode) for triple in graph for term in triple):
        return graph
    from rdflib.compare import to_canonical_graph

    def skolem(term):
        if not isinstance(term, BNode):
            return term
        digest = hashlib.sha256(f"{graph_iri}\x1f{term}".encode("utf-8")).hexdigest()[:32]
        return URIRef(SKOLEM_BASE + digest)

    out = Graph()
    for s, p, o in to_canonical_graph(graph):
        out.add((skolem(s), p, skolem(o)))
    return out


def _update_text(replacements: dict[str, Graph], additions: dict[str, Graph]) -> str:
    """One update request replacing whole graphs and adding triples to others (one transaction)."""
    parts = []
    for iri, graph in replacements.items():
        inserts = _inserts(iri, graph)
        # CLEAR where new triples follow, DROP where the graph is to go: the same triples either
        # way, but Virtuoso 7 takes ~0.5 s a graph for a DROP followed by an INSERT into the same
        # graph in one transaction at 22 M quads, against ~0.02 s for CLEAR + INSERT (the topic
        # tags of a full index build: 2.5 s against 0.09 s for 5 graphs).
        parts.append(f"{'CLEAR' if inserts else 'DROP'} SILENT GRAPH <{iri}>")
        parts += inserts
    for iri, graph in additions.items():
        parts += _inserts(iri, graph)
    return " ;\n".join(parts)


def _inserts(iri: str, graph: Graph) -> list[str]:
    graph = skolemize(graph, iri)
    lines = [ln for ln in ntriples_of(graph).splitlines() if ln.strip()] if len(graph) else []
    return ["INSERT DATA { GRAPH <%s> {\n%s\n} }" % (iri, "\n".join(chunk))
            for chunk in iter_chunks(lines, BLOCK_TRIPLES)]
