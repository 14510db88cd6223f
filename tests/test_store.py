"""The graph-store backends behave the same: embedded on disk, in memory, and a real remote
SPARQL 1.1 server (Oxigraph server on 127.0.0.1) — replace is atomic and idempotent, private
graphs stay out of public queries, exports round-trip."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import XSD

from ontology.errors import StoreError
from search.store import QueryKind, open_store

PUBLIC = "https://w3id.org/budgetkg/graph/disclosure/test-a"
PRIVATE = "https://w3id.org/budgetkg/graph/private/test-a"
EX = "https://w3id.org/budgetkg/id/test/"


def _graph(n: int, label: str = "乐亭县") -> Graph:
    g = Graph()
    for i in range(n):
        g.add((URIRef(EX + f"line{i}"), URIRef(EX + "amount"), Literal(f"{i}.50", datatype=XSD.decimal)))
    g.add((URIRef(EX + "area"), URIRef(EX + "label"), Literal(label, lang="zh")))
    return g


def _private() -> Graph:
    g = Graph()
    g.add((URIRef(EX + "contact"), URIRef(EX + "phone"), Literal("13633587231")))
    return g


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(location: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    if not Path(binary).exists():
        pytest.skip("the oxigraph server binary (pip package 'oxigraph') is not installed")
    port = _free_port()
    proc = subprocess.Popen([binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}",
                             "--union-default-graph"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(base + "/query", params={"query": "ASK {}"}, timeout=1)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("oxigraph server did not start")


@pytest.fixture(scope="module")
def oxigraph_server(tmp_path_factory):
    """Two real Oxigraph servers on 127.0.0.1: the public dataset and the private one."""
    public, base = _start_server(tmp_path_factory.mktemp("oxiserver"))
    private, private_base = _start_server(tmp_path_factory.mktemp("oxiprivate"))
    yield base, private_base
    for proc in (public, private):
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(params=["oxigraph", "memory", "sparql"])
def store(request, tmp_path):
    if request.param == "oxigraph":
        s = open_store("oxigraph", path=tmp_path / "store")
    elif request.param == "memory":
        s = open_store("memory")
    else:
        base, private = request.getfixturevalue("oxigraph_server")
        s = open_store("sparql", query_url=base + "/query", update_url=base + "/update",
                       private_query_url=private + "/query", private_update_url=private + "/update")
        for g in s.graph_names():
            s.drop_graph(g)
    yield s
    s.close()


def test_replace_is_idempotent_and_replaces(store):
    store.replace_graphs({PUBLIC: _graph(5), PRIVATE: _private()})
    store.replace_graphs({PUBLIC: _graph(5), PRIVATE: _private()})
    assert store.count_triples() == 6
    store.replace_graph(PUBLIC, _graph(2))
    assert store.count_triples() == 3
    assert set(store.graph_names()) == {PUBLIC, PRIVATE}


def test_private_graphs_stay_out_of_public_queries(store):
    store.replace_graphs({PUBLIC: _graph(1), PRIVATE: _private()})
    q = "SELECT ?o WHERE { ?s ?p ?o FILTER(STR(?o) = '13633587231') }"
    assert store.query(q).rows == []
    assert len(store.query(q, include_private=True).rows) == 1
    # Naming the private graph explicitly does not reach it either.
    q2 = f"SELECT ?o WHERE {{ GRAPH <{PRIVATE}> {{ ?s ?p ?o }} }}"
    assert store.query(q2).rows == []


def test_query_kinds_and_terms(store):
    store.replace_graph(PUBLIC, _graph(3))
    select = store.query(f"SELECT ?l WHERE {{ ?s <{EX}label> ?l }}")
    assert select.kind == QueryKind.SELECT
    assert select.rows[0]["l"] == Literal("乐亭县", lang="zh")
    assert select.to_json()["results"]["bindings"][0]["l"] == {"type": "literal", "value": "乐亭县", "xml:lang": "zh"}
    total = store.query(f"SELECT (SUM(?a) AS ?t) WHERE {{ ?s <{EX}amount> ?a }}").values()[0]["t"]
    assert str(total) in {"4.5", "4.50"}
    assert store.query("ASK { ?s ?p ?o }").boolean is True
    construct = store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
    assert construct.kind == QueryKind.GRAPH and len(construct.graph) == 4
    capped = store.query(f"SELECT ?s WHERE {{ ?s <{EX}amount> ?a }}", max_rows=2)
    assert len(capped.rows) == 2 and capped.truncated


def test_export_round_trips(store):
    store.replace_graphs({PUBLIC: _graph(3), PRIVATE: _private()})
    trig = store.export("trig")
    ds = Dataset()
    ds.parse(data=trig, format="trig")
    assert {str(g.identifier) for g in ds.graphs() if len(g)} == {PUBLIC}
    full = Dataset()
    full.parse(data=store.export("trig", include_private=True), format="trig")
    assert PRIVATE in {str(g.identifier) for g in full.graphs() if len(g)}
    assert len(Graph().parse(data=store.export("ttl"), format="turtle")) == 4
    assert len(Graph().parse(data=store.export("nt"), format="nt")) == 4
    assert len(Graph().parse(data=store.export("jsonld"), format="json-ld")) == 4


def test_bad_query_is_a_store_error(store):
    with pytest.raises(StoreError):
        store.query("SELECT WHERE {")


def test_on_disk_store_persists(tmp_path):
    s = open_store("oxigraph", path=tmp_path / "store")
    s.replace_graph(PUBLIC, _graph(2))
    s.close()
    del s
    reopened = open_store("oxigraph", path=tmp_path / "store")
    assert reopened.count_triples() == 3


def test_remote_store_without_private_dataset_writes_no_personal_data(oxigraph_server):
    base, _ = oxigraph_server
    s = open_store("sparql", query_url=base + "/query", update_url=base + "/update")
    for g in s.graph_names():
        s.drop_graph(g)
    s.replace_graphs({PUBLIC: _graph(1), PRIVATE: _private()})
    assert s.graph_names() == [PUBLIC]
    assert s.query("ASK { ?s ?p '13633587231' }").boolean is False


def test_additions_accumulate_without_duplicates(store):
    shared = "https://w3id.org/budgetkg/graph/shared"
    store.replace_graphs({PUBLIC: _graph(1)}, additions={shared: _graph(0, "唐山市")})
    store.replace_graphs({PUBLIC: _graph(1)}, additions={shared: _graph(0, "唐山市")})
    rows = store.query(f"SELECT ?l WHERE {{ <{EX}area> <{EX}label> ?l }}").rows
    assert sorted(str(r["l"]) for r in rows) == ["乐亭县", "唐山市"]


def test_unknown_backend_lists_known():
    with pytest.raises(StoreError, match="memory"):
        open_store("nosuch")
