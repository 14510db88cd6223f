"""The public SPARQL endpoint (``/sparql``): the SPARQL 1.1 Protocol, content negotiation, the
service description, CORS, row caps, time limits that really stop a query, personal data left
out, and standard clients (SPARQLWrapper, rdflib's SPARQLStore) against a real uvicorn server.

Most tests use the app in-process over a memory copy of the samples; the ones about clients and
concurrency start ``uvicorn`` on a free 127.0.0.1 port in a child process.
"""
from __future__ import annotations

import csv
import io
import json
import threading
import time
import xml.etree.ElementTree as ET

import httpx
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef

from tests.http_support import HOSTILE_PERSON, HOSTILE_PHONE, HOSTILE_PROJECT, LiveServer, make_app, prepared_home

BKG = "https://w3id.org/budgetkg/ontology#"
PREFIXES = f"PREFIX bkg: <{BKG}>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
PROJECTS = PREFIXES + "SELECT ?p ?label WHERE { ?p a bkg:Project ; rdfs:label ?label } ORDER BY ?label"
# A triple cross product of the whole store: hours of work, for testing the time limit.
EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
SRX = "{http://www.w3.org/2005/sparql-results#}"


@pytest.fixture(scope="module")
def client():
    with TestClient(make_app(max_result_rows=500, query_timeout_s=5)) as c:
        yield c


def get(client, query, accept=None, **params):
    return client.get("/sparql", params={"query": query, **params}, headers={"Accept": accept} if accept else {})


# ---------------------------------------------------------------- protocol and formats


def test_get_select_returns_sparql_json(client):
    r = get(client, PROJECTS, "application/sparql-results+json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/sparql-results+json")
    data = r.json()
    assert data["head"]["vars"] == ["p", "label"]
    labels = [b["label"]["value"] for b in data["results"]["bindings"]]
    assert HOSTILE_PROJECT in labels  # exact text survives, escaped only at the JSON level
    assert b"<script>" not in r.content  # ... where < and > are \u003c / \u003e
    assert data["truncated"] is False


def test_post_form_and_post_sparql_query_agree(client):
    by_get = get(client, PROJECTS).json()
    by_form = client.post("/sparql", data={"query": PROJECTS}).json()
    by_body = client.post("/sparql", content=PROJECTS.encode(),
                          headers={"Content-Type": "application/sparql-query; charset=utf-8"}).json()
    assert by_get == by_form == by_body


def test_select_as_xml_csv_and_tsv(client):
    query = PREFIXES + f'SELECT ?label WHERE {{ ?p a bkg:Project ; rdfs:label ?label FILTER(?label = {json.dumps(HOSTILE_PROJECT)}@zh) }}'
    xml = get(client, query, "application/sparql-results+xml")
    assert xml.headers["content-type"].startswith("application/sparql-results+xml")
    root = ET.fromstring(xml.content)  # well-formed although the value holds markup
    assert root.find(f"{SRX}results/{SRX}result/{SRX}binding/{SRX}literal").text == HOSTILE_PROJECT
    assert b"<script>" not in xml.content
    rows = list(csv.reader(io.StringIO(get(client, query, "text/csv").text)))
    assert rows == [["label"], [HOSTILE_PROJECT]]
    tsv = get(client, query, "text/tab-separated-values")
    assert tsv.headers["content-type"].startswith("text/tab-separated-values")
    assert tsv.text.splitlines()[0] == "?label"
    assert tsv.text.splitlines()[1] == json.dumps(HOSTILE_PROJECT, ensure_ascii=False) + "@zh"


def test_ask_in_json_and_xml(client):
    assert get(client, "ASK { ?s ?p ?o }").json()["boolean"] is True
    root = ET.fromstring(get(client, "ASK { <urn:x> <urn:y> <urn:z> }", "application/sparql-results+xml").content)
    assert root.find(f"{SRX}boolean").text == "false"


@pytest.mark.parametrize("accept, rdflib_format", [
    ("text/turtle", "turtle"), ("application/n-triples", "nt"), ("application/ld+json", "json-ld"),
    ("application/rdf+xml", "xml")])
def test_construct_in_every_graph_format(client, accept, rdflib_format):
    query = PREFIXES + "CONSTRUCT { ?p rdfs:label ?l } WHERE { ?p a bkg:Project ; rdfs:label ?l }"
    r = get(client, query, accept)
    assert r.status_code == 200 and r.headers["content-type"].startswith(accept)
    graph = Graph().parse(data=r.content, format=rdflib_format)
    assert HOSTILE_PROJECT in {str(o) for o in graph.objects()}
    if accept == "application/ld+json":
        assert b"<script>" not in r.content


def test_describe_a_disclosure(client):
    iri = get(client, PREFIXES + "SELECT ?d WHERE { ?d a bkg:Disclosure } LIMIT 1").json()["results"]["bindings"][0]["d"]["value"]
    graph = Graph().parse(data=get(client, f"DESCRIBE <{iri}>", "text/turtle").content, format="turtle")
    assert (URIRef(iri), None, None) in graph


@pytest.mark.parametrize("fmt, media", [("json", "application/sparql-results+json"), ("csv", "text/csv"),
                                        ("tsv", "text/tab-separated-values"),
                                        ("xml", "application/sparql-results+xml")])
def test_format_parameter_overrides_accept(client, fmt, media):
    r = get(client, PROJECTS, "text/html", format=fmt)
    assert r.headers["content-type"].startswith(media)


def test_unacceptable_format_is_406_with_the_choices(client):
    r = get(client, PROJECTS, "image/png")
    assert r.status_code == 406
    assert "application/sparql-results+json" in r.json()["error"]["detail"]["available"]
    assert get(client, PROJECTS, "text/turtle").status_code == 406  # a graph format for a SELECT


def test_accept_quality_values_are_honoured(client):
    r = get(client, PROJECTS, "application/sparql-results+json;q=0.5, text/csv;q=0.9")
    assert r.headers["content-type"].startswith("text/csv")


def test_service_description(client):
    r = client.get("/sparql")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=r.content, format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    services = list(graph.subjects(URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), URIRef(sd + "Service")))
    assert len(services) == 1
    assert (services[0], URIRef(sd + "supportedLanguage"), URIRef(sd + "SPARQL11Query")) in graph
    assert len(list(graph.objects(services[0], URIRef(sd + "resultFormat")))) == 8
    browser = client.get("/sparql", headers={"Accept": "text/html,*/*;q=0.8"}, follow_redirects=False)
    assert browser.status_code == 303 and browser.headers["location"] == "/sparql-editor"


def test_cors_preflight_and_exposed_headers(client):
    r = client.options("/sparql", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST",
                                           "Access-Control-Request-Headers": "content-type"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    r = client.get("/sparql", params={"query": "ASK {}"}, headers={"Origin": "https://example.org"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert "X-Result-Truncated" in r.headers["access-control-expose-headers"]


# ---------------------------------------------------------------- limits


def test_capped_result_says_so(client):
    r = get(client, "SELECT ?s ?p ?o WHERE { ?s ?p ?o }")
    assert r.status_code == 200
    data = r.json()
    assert len(data["results"]["bindings"]) == 500
    assert data["truncated"] is True and data["max_rows"] == 500
    assert r.headers["X-Result-Truncated"] == "true" and r.headers["X-Result-Limit"] == "500"
    csv_rows = get(client, "SELECT ?s WHERE { ?s ?p ?o }", "text/csv")
    assert csv_rows.headers["X-Result-Truncated"] == "true" and len(csv_rows.text.splitlines()) == 501
    construct = get(client, "CONSTRUCT WHERE { ?s ?p ?o }", "application/n-triples")
    assert construct.headers["X-Result-Truncated"] == "true" and len(construct.text.splitlines()) == 500
    small = get(client, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3")
    assert small.headers["X-Result-Truncated"] == "false" and small.json()["truncated"] is False


def test_timeout_is_an_explicit_error_and_the_worker_comes_back(client):
    started = time.monotonic()
    r = get(client, EXPENSIVE, timeout="1")
    elapsed = time.monotonic() - started
    assert r.status_code == 504
    assert r.json()["error"]["code"] == "query_timeout" and r.json()["error"]["detail"]["limit_s"] == 1
    assert elapsed < 4
    assert get(client, "ASK { ?s ?p ?o }").json()["boolean"] is True  # the other worker answers
    deadline = time.monotonic() + 30
    while client.get("/api/health").json()["sparql"]["workers"]["alive"] < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = client.get("/api/health").json()["sparql"]["workers"]
    assert workers["alive"] == 2 and workers["timeouts"] >= 1 and workers["respawned"] >= 1


def test_client_may_shorten_the_limit_but_never_lengthen_it(client):
    assert get(client, "ASK {}", timeout="2").headers["X-Query-Timeout"] == "2"
    assert get(client, "ASK {}", timeout="3600").headers["X-Query-Timeout"] == "5"  # the server's limit
    for bad in ("0", "-1", "nan", "soon"):
        r = get(client, "ASK {}", timeout=bad)
        assert r.status_code == 400 and "timeout" in r.json()["error"]["message"]


def test_oversized_query_and_body_are_refused(client):
    huge = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 30_000
    assert client.post("/sparql", data={"query": huge}).status_code == 413
    assert client.post("/sparql", content=("x" * 200_000).encode(),
                       headers={"Content-Type": "application/sparql-query"}).status_code == 413
    assert get(client, huge).status_code in (413, 414)


def test_update_over_post_is_refused_before_evaluation(client):
    before = get(client, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").json()
    for request in (dict(data={"update": "DROP ALL"}),
                    dict(content=b"DROP ALL", headers={"Content-Type": "application/sparql-update"}),
                    dict(data={"query": "DROP ALL"}),
                    dict(data={"query": 'LOAD <http://127.0.0.1:1/x.ttl>'})):
        r = client.post("/sparql", **request)
        assert r.status_code == 403 and r.json()["error"]["code"] == "update_forbidden"
    r = client.post("/sparql", data={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "service_forbidden"
    assert get(client, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").json() == before


def test_syntax_error_is_400_with_the_engine_message(client):
    r = get(client, "SELECT * WHERE { ?s ?p }")
    assert r.status_code == 400 and r.json()["error"]["code"] == "query_syntax"
    assert "1:" in r.json()["error"]["message"]  # line:column from the engine


def test_dataset_parameters_restrict_the_graphs(client):
    graphs = [b["g"]["value"] for b in get(client, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
              .json()["results"]["bindings"]]
    one = next(g for g in graphs if "/graph/disclosure/" in g)
    r = client.get("/sparql", params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                                      "named-graph-uri": one})
    assert [b["g"]["value"] for b in r.json()["results"]["bindings"]] == [one]
    bad = client.get("/sparql", params={"query": "ASK {}", "default-graph-uri": "http://x/> } <y"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_iri"


# ---------------------------------------------------------------- personal data


PERSONAL = PREFIXES + "SELECT ?name ?phone WHERE { ?c bkg:contactName ?name . OPTIONAL { ?c bkg:phone ?phone } }"


def test_personal_data_is_not_served_by_default(client):
    for query in (PERSONAL, "SELECT ?g ?o WHERE { GRAPH ?g { ?s ?p ?o } }",
                  f"SELECT ?o FROM <https://w3id.org/budgetkg/graph/private/x> WHERE {{ ?s ?p ?o }}"):
        r = get(client, query, "text/csv")
        assert HOSTILE_PHONE not in r.text and HOSTILE_PERSON not in r.text
    graphs = get(client, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }").text
    assert "/graph/private/" not in graphs
    dump = get(client, "CONSTRUCT WHERE { ?s ?p ?o }", "application/n-triples").text
    assert HOSTILE_PHONE not in dump


def test_personal_data_is_served_when_the_setting_says_so():
    with TestClient(make_app(serve_personal_data=True)) as c:
        rows = get(c, PERSONAL).json()["results"]["bindings"]
    assert {(r["name"]["value"], r.get("phone", {}).get("value")) for r in rows} >= {(HOSTILE_PERSON, HOSTILE_PHONE)}


# ---------------------------------------------------------------- a real server


@pytest.fixture(scope="module")
def server():
    home, _ = prepared_home()
    live = LiveServer(home, workers=2, timeout_s=10).start()
    yield live
    live.stop()


@pytest.mark.server
def test_sparqlwrapper_against_the_running_server(server):
    from SPARQLWrapper import CSV, JSON, POST, TURTLE, XML, SPARQLWrapper

    wrapper = SPARQLWrapper(server.url + "/sparql")
    wrapper.setQuery(PROJECTS)
    wrapper.setReturnFormat(JSON)
    bindings = wrapper.query().convert()["results"]["bindings"]
    assert HOSTILE_PROJECT in {b["label"]["value"] for b in bindings}
    wrapper.setReturnFormat(XML)
    assert wrapper.query().convert().getElementsByTagName("result")
    wrapper.setMethod(POST)
    wrapper.setReturnFormat(CSV)
    rows = list(csv.reader(io.StringIO(wrapper.query().convert().decode("utf-8"))))
    assert rows[0] == ["p", "label"] and HOSTILE_PROJECT in {r[1] for r in rows[1:]}
    wrapper.setQuery(PREFIXES + "CONSTRUCT { ?p rdfs:label ?l } WHERE { ?p a bkg:Project ; rdfs:label ?l }")
    wrapper.setReturnFormat(TURTLE)
    graph = Graph().parse(data=wrapper.query().convert(), format="turtle")
    assert HOSTILE_PROJECT in {str(o) for o in graph.objects()}
    wrapper.setQuery("ASK { ?s a <https://w3id.org/budgetkg/ontology#Disclosure> }")
    wrapper.setReturnFormat(JSON)
    assert wrapper.query().convert()["boolean"] is True


@pytest.mark.server
def test_sparqlwrapper_reports_refusals(server):
    from urllib.error import HTTPError

    from SPARQLWrapper import JSON, SPARQLWrapper
    from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

    wrapper = SPARQLWrapper(server.url + "/sparql")
    wrapper.setReturnFormat(JSON)
    wrapper.setQuery("SELECT * WHERE { ?s ?p }")
    with pytest.raises(QueryBadFormed) as bad:  # a 400 is the client's "bad query"
        wrapper.query()
    assert "syntax" in str(bad.value)
    wrapper.setQuery("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")
    with pytest.raises(HTTPError) as refused:  # SPARQLWrapper passes other statuses through
        wrapper.query()
    assert refused.value.code == 403
    assert "SERVICE" in json.loads(refused.value.read())["error"]["message"]


@pytest.mark.server
def test_rdflib_sparqlstore_against_the_running_server(server):
    from rdflib import Literal
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    store = SPARQLStore(server.url + "/sparql", returnFormat="json")
    graph = Graph(store=store)
    labels = {str(row.label) for row in graph.query(PROJECTS)}
    assert HOSTILE_PROJECT in labels
    assert graph.query("ASK { ?s a <https://w3id.org/budgetkg/ontology#Project> }").askAnswer is True
    # The store's own triple interface is SPARQL underneath too.
    label = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
    assert any(o == Literal(HOSTILE_PROJECT, lang="zh") for o in graph.objects(None, label))
    xml_store = Graph(store=SPARQLStore(server.url + "/sparql"))  # rdflib's default: XML results
    assert {str(row.label) for row in xml_store.query(PROJECTS)} == labels
    constructed = xml_store.query(PREFIXES + "CONSTRUCT { ?p rdfs:label ?l } WHERE { ?p a bkg:Project ; rdfs:label ?l }")
    assert HOSTILE_PROJECT in {str(o) for o in constructed.graph.objects()}


@pytest.mark.server
def test_an_expensive_query_does_not_stall_cheap_ones(server):
    """One query runs into its (client-chosen) 3 s limit; meanwhile cheap queries keep coming back fast."""
    outcome = {}

    def expensive():
        started = time.monotonic()
        r = httpx.get(server.url + "/sparql", params={"query": EXPENSIVE, "timeout": "3"}, timeout=30)
        outcome.update(status=r.status_code, body=r.json(), seconds=time.monotonic() - started)

    slow = threading.Thread(target=expensive)
    slow.start()
    time.sleep(0.3)  # the expensive query holds a worker now
    latencies, errors = [], []

    def cheap(n: int):
        with httpx.Client(base_url=server.url, timeout=10) as c:
            for _ in range(n):
                t = time.monotonic()
                r = c.get("/sparql", params={"query": "ASK { ?s a <https://w3id.org/budgetkg/ontology#Project> }"})
                latencies.append(time.monotonic() - t)
                if r.status_code != 200 or r.json()["boolean"] is not True:
                    errors.append(r.text)

    clients = [threading.Thread(target=cheap, args=(10,)) for _ in range(3)]
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    during = slow.is_alive()
    slow.join()
    assert not errors
    assert during, "the cheap queries should have finished while the expensive one was still running"
    assert len(latencies) == 30 and max(latencies) < 1.5, sorted(latencies)[-5:]
    assert outcome["status"] == 504 and outcome["body"]["error"]["code"] == "query_timeout"
    assert 2.9 < outcome["seconds"] < 6
    health = httpx.get(server.url + "/api/health").json()["sparql"]["workers"]
    assert health["timeouts"] >= 1


@pytest.mark.server
def test_long_get_queries_reach_the_endpoint(server):
    """uvicorn's default 16 KB request-head limit would cut GET queries short; serve raises it so a
    query up to max_query_bytes works and a longer one gets the endpoint's own error."""
    fits = "ASK { ?s ?p ?o } #" + "x" * 19_000
    assert httpx.get(server.url + "/sparql", params={"query": fits}, timeout=30).json()["boolean"] is True
    r = httpx.get(server.url + "/sparql", params={"query": fits + "x" * 2_000}, timeout=30)
    assert r.status_code == 413 and r.json()["error"]["code"] == "query_too_large"
