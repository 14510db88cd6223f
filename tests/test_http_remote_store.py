"""The public endpoint in front of a remote SPARQL server (``store = 'sparql'``): the query workers
forward each query with an HTTP timeout, restrict the dataset to the public graphs, cap and
re-serialise the results. Runs against a real Oxigraph server (pip package ``oxigraph``) holding
the samples and the hostile disclosure; skips where its binary is missing.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph

from tests.http_support import HOSTILE_PERSON, HOSTILE_PHONE, HOSTILE_PROJECT, free_port, prepared_home

OXIGRAPH = shutil.which("oxigraph") or str(Path(__import__("sys").executable).parent / "oxigraph")
PREFIXES = "PREFIX bkg: <https://w3id.org/budgetkg/ontology#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"

pytestmark = [pytest.mark.server,
              pytest.mark.skipif(not Path(OXIGRAPH).exists(),
                                 reason="the oxigraph server binary (pip package 'oxigraph') is not installed")]


@pytest.fixture(scope="module")
def remote():
    home, _ = prepared_home()
    port = free_port()
    process = subprocess.Popen([OXIGRAPH, "serve", "--bind", f"127.0.0.1:{port}", "--union-default-graph",
                                "--timeout-s", "20"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/query", params={"query": "ASK {}"}, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        loaded = httpx.post(base + "/store", content=(home / "dump.nq").read_bytes(),
                            headers={"Content-Type": "application/n-quads"}, timeout=60)
        assert loaded.status_code < 300, loaded.text
        yield base
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def client(remote, tmp_path_factory):
    from api.app import create_app
    from api.settings import Settings

    home = tmp_path_factory.mktemp("remote-home")
    prepared, _ = prepared_home()
    if (prepared / "index").exists():  # same graphs, so the built index is current: no re-encoding
        shutil.copytree(prepared / "index", home / "index")
    settings = Settings(home=home, store="sparql",
                        sparql_query_url=remote + "/query", query_timeout_s=5, max_result_rows=100)
    with TestClient(create_app(settings)) as c:
        yield c


def test_select_goes_through_the_remote_server(client):
    r = client.get("/sparql", params={"query": PREFIXES + "SELECT ?l WHERE { ?p a bkg:Project ; rdfs:label ?l }"})
    assert r.status_code == 200
    assert HOSTILE_PROJECT in {b["l"]["value"] for b in r.json()["results"]["bindings"]}
    assert client.get("/api/health").json()["sparql"]["workers"]["mode"] == "remote"


def test_remote_results_are_capped_and_negotiated(client):
    r = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"}, headers={"Accept": "text/csv"})
    assert r.headers["X-Result-Truncated"] == "true" and len(r.text.splitlines()) == 101
    g = client.get("/sparql", params={"query": PREFIXES + "CONSTRUCT { ?p rdfs:label ?l } WHERE { ?p a bkg:Project ; "
                                                          "rdfs:label ?l }"}, headers={"Accept": "text/turtle"})
    assert HOSTILE_PROJECT in {str(o) for o in Graph().parse(data=g.content, format="turtle").objects()}


def test_remote_private_graphs_stay_private(client):
    for query in (PREFIXES + "SELECT ?n ?t WHERE { ?c bkg:contactName ?n . OPTIONAL { ?c bkg:phone ?t } }",
                  "SELECT ?g ?o WHERE { GRAPH ?g { ?s ?p ?o } }",
                  "SELECT ?o WHERE { GRAPH <https://w3id.org/budgetkg/graph/private/x> { ?s ?p ?o } }"):
        text = client.get("/sparql", params={"query": query}, headers={"Accept": "text/csv"}).text
        assert HOSTILE_PHONE not in text and HOSTILE_PERSON not in text and "13633587231" not in text


def test_remote_timeout_is_explicit(client):
    started = time.monotonic()
    r = client.get("/sparql", params={"query": EXPENSIVE, "timeout": "1"})
    assert r.status_code == 504 and r.json()["error"]["code"] == "query_timeout"
    assert time.monotonic() - started < 4
    assert client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}).json()["boolean"] is True


def test_remote_guard_still_applies(client):
    r = client.post("/sparql", data={"query": "DROP ALL"})
    assert r.status_code == 403
    r = client.get("/sparql", params={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"})
    assert r.status_code == 403
