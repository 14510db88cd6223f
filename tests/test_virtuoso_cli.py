"""budgetkg end to end with its graph on Virtuoso (``BUDGETKG_STORE=sparql``), as a user runs it:
``ingest`` (text samples, the PDF and DOCX renderings, re-ingest replacing), ``sparql``, ``info``,
``check``, ``export``, ``search``/``similar`` over an index built from the remote graph, ``ask``,
and ``serve`` (its /sparql endpoint with guard, limits and personal-data rules, and the pages).
Results are compared with the same commands on the embedded store. Skips with the reason where
Virtuoso is not installed (``tests/virtuoso_support.py``).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from rdflib import Dataset

from tests.http_support import HOSTILE_FILE, HOSTILE_PERSON, HOSTILE_PHONE, HOSTILE_PROJECT, LiveServer
from tests.virtuoso_support import require_virtuoso

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "data" / "fixtures"
SEED0 = ROOT / "ingest" / "samples" / "000_bd07622c98d0036c.txt"
SEED3 = ROOT / "ingest" / "samples" / "003_4b03bed591dded21.txt"
PREFIXES = "PREFIX bkg: <https://w3id.org/budgetkg/ontology#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"

pytestmark = pytest.mark.server


def run(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
    return proc


def info(env: dict) -> dict[str, int]:
    out = run(env, "info").stdout
    return {line[:22].strip(): int(line[22:].strip()) for line in out.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory) -> dict:
    server = require_virtuoso()
    home = tmp_path_factory.mktemp("virtuoso-home")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BUDGETKG_HOME": str(home), "BUDGETKG_STORE": "sparql",
           "BUDGETKG_SPARQL_QUERY_URL": server.sparql_url, "BUDGETKG_SPARQL_UPDATE_URL": server.sparql_url}
    started = time.monotonic()
    run(env, "ingest", "--samples", str(HOSTILE_FILE))  # with the search index, built from Virtuoso
    print(f"ingest --samples (+1) with the index on Virtuoso: {time.monotonic() - started:.1f} s")
    return env


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("embedded-home")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BUDGETKG_HOME": str(home), "BUDGETKG_STORE": "oxigraph"}
    run(env, "ingest", "--samples", str(HOSTILE_FILE), "--no-index")
    return env


def _rows(env: dict, query: str) -> list[tuple]:
    """A query's rows as sorted tuples; numbers compared by value (Virtuoso gives back 7895.4 for
    7895.40), everything else by its text."""
    data = json.loads(run(env, "sparql", query, "--format", "json").stdout)
    variables = data["head"]["vars"]
    out = []
    for binding in data["results"]["bindings"]:
        row = []
        for var in variables:
            term = binding.get(var)
            if term is None:
                row.append(None)
            elif term.get("datatype", "").endswith(("#decimal", "#integer", "#int", "#double")):
                row.append(Decimal(term["value"]).normalize())
            else:
                row.append(term["value"])
        out.append(tuple(row))
    return sorted(out, key=repr)


def test_info_counts_what_the_embedded_store_counts(virtuoso, embedded):
    remote, local = info(virtuoso), info(embedded)
    assert remote["disclosures"] == 6
    assert {k: v for k, v in remote.items() if k != "triples"} == {k: v for k, v in local.items() if k != "triples"}


@pytest.mark.parametrize("query", sorted((ROOT / "examples" / "queries").glob("*.rq")), ids=lambda p: p.stem)
def test_example_queries_give_the_embedded_stores_rows(virtuoso, embedded, query):
    remote = _rows(virtuoso, f"@{query}")
    assert remote and remote == _rows(embedded, f"@{query}")


def test_pdf_docx_and_text_of_one_disclosure_replace_each_other(virtuoso):
    key = "2023-budget-6a4225031f02"
    graph = f"https://w3id.org/budgetkg/graph/disclosure/{key}"
    probe = (f"SELECT ?file (COUNT(?page) AS ?pages) WHERE {{ GRAPH <{graph}> {{ ?d bkg:fileName ?file . "
             "OPTIONAL { ?x bkg:page ?page } } } GROUP BY ?file")
    before = info(virtuoso)
    try:
        for source, pages in ((FIXTURES / "000_hebei_budget.pdf", True), (FIXTURES / "000_hebei_budget.docx", True),
                              (SEED0, False)):
            out = run(virtuoso, "ingest", str(source), "--no-index").stdout
            assert "1 disclosures stored, 0 failed" in out
            rows = _rows(virtuoso, PREFIXES + probe)
            assert [r[0] for r in rows] == [source.name], rows  # one file's facts, the previous ones gone
            assert (rows[0][1] > 0) == pages
            assert info(virtuoso)["disclosures"] == before["disclosures"]
    finally:
        run(virtuoso, "ingest", str(SEED0), "--no-index")
    assert info(virtuoso) == before


def test_check_validates_the_whole_graph(virtuoso, embedded):
    remote, local = run(virtuoso, "check"), run(embedded, "check")
    assert "SHACL: conforms" in remote.stdout
    assert remote.stdout.splitlines()[-1] == local.stdout.splitlines()[-1]  # "N findings (M errors)"


def test_export_holds_every_public_graph_and_no_personal_data(virtuoso, tmp_path):
    out = tmp_path / "all.trig"
    run(virtuoso, "export", "--format", "trig", "-o", str(out))
    text = out.read_text(encoding="utf-8")
    ds = Dataset()
    ds.parse(data=text, format="trig")
    graphs = {str(g.identifier) for g in ds.graphs() if len(g)}
    assert sum("/graph/disclosure/" in g for g in graphs) == 6
    assert sum("/graph/topics/" in g for g in graphs) >= 5  # tagged when the index was built
    assert not any("/graph/private/" in g for g in graphs) and not any("openlinksw" in g for g in graphs)
    assert HOSTILE_PHONE not in text and HOSTILE_PERSON not in text


def test_search_and_similar_over_an_index_built_from_virtuoso(virtuoso):
    hits = json.loads(run(virtuoso, "search", "2101202", "--k", "3", "--json").stdout)["hits"]
    assert hits[0]["label"].startswith("2101202")
    hits = json.loads(run(virtuoso, "search", "长期照护险", "--k", "3", "--json").stdout)["hits"]
    assert any(h["county"] == "乐亭县" and "长期照护险" in h["label"] for h in hits)
    similar = json.loads(run(virtuoso, "similar", "长护险参保人数", "--k", "5", "--json").stdout)["hits"]
    assert len(similar) == 5 and {"target_value", "level1", "level2"} <= set(similar[0])


def test_ask_answers_from_virtuoso(virtuoso):
    answer = json.loads(run(virtuoso, "ask", "哪些县有医疗救助项目", "--json").stdout)
    assert {a["county"] for a in answer["answers"]} >= {"乐亭县", "霸州市", "大城县", "兴县"}
    answer = json.loads(run(virtuoso, "ask", "which projects cite 冀财社[2022]218号", "--json").stdout)
    assert answer["answers"][0]["county"] == "霸州市" and answer["answers"][0]["source"]["file"]


def test_ask_scoped_by_province_and_measure_labels_on_virtuoso(virtuoso):
    shanxi = json.loads(run(virtuoso, "ask", "which counties in Shanxi have disclosures", "--json").stdout)
    assert {a["county"] for a in shanxi["answers"]} == {"兴县"}
    total = json.loads(run(virtuoso, "ask", "what is the total 2023 budget of 兴县医疗保障局", "--json").stdout)
    assert total["answers"][0]["label"].startswith("兴县医疗保障局")


EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture(scope="module")
def served(virtuoso):
    env = {k: v for k, v in virtuoso.items() if k.startswith("BUDGETKG_")}
    server = LiveServer(Path(virtuoso["BUDGETKG_HOME"]), env={**env, "BUDGETKG_MAX_RESULT_ROWS": "100"},
                        timeout_s=5).start(wait_for_index=True)
    try:
        yield server
    finally:
        server.stop()


def test_serve_sparql_endpoint_forwards_to_virtuoso(served):
    r = httpx.get(served.url + "/sparql", params={"query": PREFIXES + "SELECT ?l WHERE { ?p a bkg:Project ; rdfs:label ?l }"},
                  headers={"Accept": "application/sparql-results+json"}, timeout=30)
    assert r.status_code == 200, r.text[:500]
    assert HOSTILE_PROJECT in {b["l"]["value"] for b in r.json()["results"]["bindings"]}
    assert httpx.get(served.url + "/api/health", timeout=30).json()["sparql"]["workers"]["mode"] == "remote"
    capped = httpx.get(served.url + "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"},
                       headers={"Accept": "text/csv"}, timeout=30)
    assert capped.headers["X-Result-Truncated"] == "true" and len(capped.text.splitlines()) == 101
    # Virtuoso's own graphs hold blank nodes, labelled in a way other parsers refuse.
    blank = httpx.get(served.url + "/sparql", params={"query": "SELECT ?s WHERE { ?s ?p ?o FILTER(isBlank(?s)) } LIMIT 3"},
                      headers={"Accept": "application/sparql-results+json"}, timeout=30)
    assert blank.status_code == 200 and {b["s"]["type"] for b in blank.json()["results"]["bindings"]} == {"bnode"}


def test_serve_guard_limits_and_personal_data_on_virtuoso(served):
    assert httpx.post(served.url + "/sparql", data={"query": "DROP ALL"}, timeout=30).status_code == 403
    service = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"
    assert httpx.get(served.url + "/sparql", params={"query": service}, timeout=30).status_code == 403
    for query in (PREFIXES + "SELECT ?n ?t WHERE { ?c bkg:contactName ?n . OPTIONAL { ?c bkg:phone ?t } }",
                  "SELECT ?g ?o WHERE { GRAPH ?g { ?s ?p ?o } }"):
        text = httpx.get(served.url + "/sparql", params={"query": query}, headers={"Accept": "text/csv"},
                         timeout=30).text
        assert HOSTILE_PHONE not in text and HOSTILE_PERSON not in text
    started = time.monotonic()
    r = httpx.get(served.url + "/sparql", params={"query": EXPENSIVE, "timeout": "2"}, timeout=30)
    assert r.status_code == 504 and r.json()["error"]["code"] in ("query_timeout", "query_failed")
    assert time.monotonic() - started < 8
    assert httpx.get(served.url + "/sparql", params={"query": "ASK { ?s ?p ?o }"},
                     headers={"Accept": "application/sparql-results+json"}, timeout=30).json()["boolean"] is True


def test_serve_pages_on_virtuoso(served):
    home = httpx.get(served.url + "/", headers={"Accept": "text/html"}, timeout=60)
    assert home.status_code == 200
    for department in ("乐亭县医疗保障局", "霸州市医疗保障局", "大城县医疗保障局", "兴县医疗保障局"):
        assert department in home.text
    page = httpx.get(served.url + "/disclosures/2023-budget-6a4225031f02", headers={"Accept": "text/html"}, timeout=60)
    assert page.status_code == 200 and "长期照护险" in page.text
    assert "<script>window" not in page.text
    findings = httpx.get(served.url + "/findings", headers={"Accept": "text/html"}, timeout=60)
    assert findings.status_code == 200 and "printed-arithmetic" in findings.text
    answer = httpx.get(served.url + "/", params={"q": "哪些县有医疗救助项目"}, headers={"Accept": "text/html"}, timeout=60)
    assert answer.status_code == 200 and "大城县" in answer.text
    for text in (home.text, page.text, findings.text, answer.text):
        assert HOSTILE_PHONE not in text and HOSTILE_PERSON not in text and not re.search(r"å[\x80-\xbf]", text)
