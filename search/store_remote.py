"""A remote SPARQL 1.1 server as the graph store (Oxigraph server, Virtuoso, ...).

Speaks only the standard protocols: queries by form-encoded POST (Virtuoso hangs on
``application/sparql-query`` bodies, see shared/PERF-NOTES.md), updates by form-encoded POST.
A disclosure's graphs are replaced in one update request, which servers apply atomically.
The server must treat the default graph as the union of named graphs (Oxigraph: ``serve
--union-default-graph``; Virtuoso does so by default). Personal data never goes to that dataset:
it is written to a second one (``private_query_url``/``private_update_url``) when configured, and
otherwise not written remotely at all, so nothing the public endpoint forwards can reach it.
"""
from __future__ import annotations

import httpx
from rdflib import Graph

from ontology.errors import StoreError
from search.store import QueryKind, QueryResult, is_private_graph, iter_chunks, ntriples_of, result_from_json

_GRAPH_FORMATS = {"ttl": "text/turtle", "turtle": "text/turtle", "nt": "application/n-triples",
                  "ntriples": "application/n-triples", "jsonld": "application/ld+json",
                  "json-ld": "application/ld+json", "xml": "application/rdf+xml"}


class RemoteSparqlStore:
    """``GraphStore`` talking to a SPARQL 1.1 server over HTTP."""

    name = "sparql"

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

    # ------------------------------------------------------------ writes

    def _update(self, text: str, url: str | None = None) -> None:
        url = url or self.update_url
        if not url:
            raise StoreError("this remote store is read-only: set BUDGETKG_SPARQL_UPDATE_URL to write")
        try:
            response = self._http.post(url, data={"update": text})
        except httpx.HTTPError as exc:
            raise StoreError(f"SPARQL server at {url} unreachable: {exc}") from None
        if response.status_code >= 300:
            raise StoreError(f"SPARQL update refused by {url}: HTTP {response.status_code} {response.text[:300]}")

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

    # ------------------------------------------------------------ reads

    def _post_query(self, sparql: str, accept: str, url: str | None = None) -> httpx.Response:
        url = url or self.query_url
        try:
            response = self._http.post(url, data={"query": sparql}, headers={"Accept": accept})
        except httpx.HTTPError as exc:
            raise StoreError(f"SPARQL server at {url} unreachable: {exc}") from None
        if response.status_code >= 300:
            raise StoreError(f"SPARQL query refused by {url}: HTTP {response.status_code} {response.text[:300]}")
        return response

    def graph_names(self) -> list[str]:
        names = []
        for url in filter(None, [self.query_url, self.private_query_url]):
            response = self._post_query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                                        "application/sparql-results+json", url)
            names += [str(row["g"]) for row in result_from_json(response.content).rows if "g" in row]
        return sorted(set(names))

    def query(self, sparql: str, *, include_private: bool = False, max_rows: int | None = None) -> QueryResult:
        # include_private reaches the private dataset only where one is configured; remote servers
        # cannot join across two datasets, so such a query sees the private dataset alone.
        url = self.private_query_url if include_private and self.private_query_url else self.query_url
        accept = "application/sparql-results+json, application/n-triples;q=0.9, text/turtle;q=0.8"
        response = self._post_query(sparql, accept, url)
        media = response.headers.get("content-type", "").split(";")[0].strip()
        if media in ("application/sparql-results+json", "application/json"):
            result = result_from_json(response.content)
            if max_rows is not None and len(result.rows) > max_rows:
                result.rows = result.rows[:max_rows]
                result.truncated = True
            return result
        graph = Graph()
        graph.parse(data=response.content, format="nt" if "n-triples" in media else "turtle")
        return QueryResult(QueryKind.GRAPH, graph=graph)

    def count_triples(self, *, include_private: bool = False) -> int:
        result = self.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", include_private=include_private)
        return int(result.rows[0]["n"].toPython()) if result.rows else 0

    def export(self, fmt: str, *, include_private: bool = False) -> bytes:
        key = fmt.lower()
        if key in ("trig", "nq", "nquads"):
            from rdflib import Dataset, URIRef

            dataset = Dataset()
            for g in self.graph_names():
                if include_private or not is_private_graph(g):
                    result = self.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}",
                                        include_private=is_private_graph(g))
                    named = dataset.graph(URIRef(g))
                    for triple in result.graph:
                        named.add(triple)
            return dataset.serialize(format="trig" if key == "trig" else "nquads").encode()
        if key not in _GRAPH_FORMATS:
            raise StoreError(f"unknown export format '{fmt}'")
        result = self.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", include_private=include_private)
        rdflib_format = {"ttl": "turtle", "nt": "nt", "ntriples": "nt", "jsonld": "json-ld",
                         "json-ld": "json-ld", "xml": "xml", "turtle": "turtle"}[key]
        return result.graph.serialize(format=rdflib_format).encode()

    def publish(self) -> None:
        """Nothing to do: the server's readers see each update as soon as it is applied."""
        return None

    def close(self) -> None:
        self._http.close()


def _update_text(replacements: dict[str, Graph], additions: dict[str, Graph]) -> str:
    """One update request replacing whole graphs and adding triples to others (one transaction).

    Large INSERT DATA blocks are split so servers with request-size limits accept them."""
    parts = []
    for iri, graph in replacements.items():
        parts.append(f"DROP SILENT GRAPH <{iri}>")
        parts += _inserts(iri, graph)
    for iri, graph in additions.items():
        parts += _inserts(iri, graph)
    return " ;\n".join(parts)


def _inserts(iri: str, graph: Graph) -> list[str]:
    lines = [ln for ln in ntriples_of(graph).splitlines() if ln.strip()] if len(graph) else []
    return ["INSERT DATA { GRAPH <%s> {\n%s\n} }" % (iri, "\n".join(chunk)) for chunk in iter_chunks(lines, 5000)]
