"""Tests of ``api.sparql_guard``: what may reach a query worker from the public endpoint.

Keywords count only where the SPARQL grammar makes them keywords: the same words inside strings,
IRIs, comments, variable names or prefixed names are data. Update operations, LOAD and SERVICE are
refused with 403 before evaluation; oversized and non-query text with 413/400.
"""
from __future__ import annotations

import pytest

from api.query_workers import PRIVATE_GRAPH_PREFIX
from api.sparql_guard import GuardRejected, check_iri, check_query, check_update_request, tokenize
from search.store import PRIVATE_GRAPH_PREFIX as STORE_PRIVATE_PREFIX

LIMIT = 20_000


@pytest.mark.parametrize("query, form", [
    ("SELECT * WHERE { ?s ?p ?o }", "select"),
    ("select * where { ?s ?p ?o } limit 5", "select"),
    ("PREFIX bkg: <https://w3id.org/budgetkg/ontology#>\nASK { ?d a bkg:Disclosure }", "ask"),
    ("BASE <http://example.org/> PREFIX : <x#> CONSTRUCT { ?s :p ?o } WHERE { ?s :p ?o }", "construct"),
    ("DESCRIBE <https://w3id.org/budgetkg/id/disclosure/x>", "describe"),
    ("# a comment first\nSELECT ?x WHERE { ?x ?y ?z }", "select"),
], ids=["select", "lowercase", "prefix-ask", "base-construct", "describe", "comment-first"])
def test_query_forms_are_recognised(query, form):
    assert check_query(query, max_bytes=LIMIT).form == form


@pytest.mark.parametrize("query", [
    'SELECT * WHERE { ?s ?p "SERVICE <http://evil/> DROP ALL" }',
    "SELECT * WHERE { ?s ?p '''INSERT DATA { <a> <b> <c> }''' }",
    "SELECT * WHERE { ?s ?p <http://example.org/LOAD/SERVICE/drop> }",
    "SELECT ?service ?insert ?drop WHERE { ?service ?insert ?drop }",
    "PREFIX service: <http://x/> PREFIX drop: <http://y/> SELECT * WHERE { service:a drop:b ?o }",
    "SELECT * WHERE { ?s ?p ?o } # SERVICE <http://evil/> ; DROP ALL",
    'SELECT ("x"@load AS ?l) WHERE {}',
    "SELECT * WHERE { ?s ?p ?o FILTER(?o < 3 && ?o > 1) }",
], ids=["in-string", "in-long-string", "in-iri", "variables", "prefixed-names", "in-comment", "language-tag",
        "less-than-operator"])
def test_keywords_inside_data_are_not_refused(query):
    assert check_query(query, max_bytes=LIMIT).form == "select"


@pytest.mark.parametrize("query, code", [
    ("INSERT DATA { <http://a> <http://b> <http://c> }", "update_forbidden"),
    ("insert data { <http://a> <http://b> <http://c> }", "update_forbidden"),
    ("DELETE WHERE { ?s ?p ?o }", "update_forbidden"),
    ("LOAD <http://example.org/data.ttl>", "update_forbidden"),
    ("CLEAR ALL", "update_forbidden"),
    ("DROP GRAPH <https://w3id.org/budgetkg/graph/ontology>", "update_forbidden"),
    ("CREATE GRAPH <http://x>", "update_forbidden"),
    ("COPY DEFAULT TO <http://x>", "update_forbidden"),
    ("MOVE <http://x> TO <http://y>", "update_forbidden"),
    ("ADD <http://x> TO <http://y>", "update_forbidden"),
    ("WITH <http://g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", "update_forbidden"),
    ("PREFIX ex: <http://x/> INSERT { ?s ex:p 1 } WHERE { ?s ?p ?o }", "update_forbidden"),
    ("SELECT * WHERE { ?s ?p ?o } ;\nDROP ALL", "update_forbidden"),
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:22/> { ?s ?p ?o } }", "service_forbidden"),
    ("SELECT * WHERE { service silent <http://169.254.169.254/latest> { ?s ?p ?o } }", "service_forbidden"),
    ("SELECT * WHERE { ?s ?p ?o . SERVICE ?endpoint { ?a ?b ?c } }", "service_forbidden"),
], ids=lambda v: v if v.endswith("forbidden") else None)
def test_updates_load_and_service_are_forbidden(query, code):
    with pytest.raises(GuardRejected) as err:
        check_query(query, max_bytes=LIMIT)
    assert err.value.status == 403
    assert err.value.code == code


def test_update_parameter_is_refused():
    with pytest.raises(GuardRejected) as err:
        check_update_request("INSERT DATA { <a> <b> <c> }")
    assert err.value.status == 403 and "read-only" in err.value.reason
    check_update_request(None)  # no update parameter: fine


@pytest.mark.parametrize("query, status, code", [
    ("", 400, "query_missing"),
    ("   \n ", 400, "query_missing"),
    ("SELEC * WHERE { ?s ?p ?o }", 400, "query_syntax"),
    ("PREFIX ex: <http://x/>", 400, "query_syntax"),
    ('SELECT * WHERE { ?s ?p "unterminated }', 400, "query_syntax"),
    ("define input:inference 'x' SELECT * WHERE { ?s ?p ?o }", 400, "query_syntax"),
    ("hello world", 400, "query_syntax"),
], ids=["empty", "blank", "misspelt", "prologue-only", "unterminated-string", "virtuoso-pragma", "prose"])
def test_non_queries_are_bad_requests(query, status, code):
    with pytest.raises(GuardRejected) as err:
        check_query(query, max_bytes=LIMIT)
    assert (err.value.status, err.value.code) == (status, code)


def test_size_limit_counts_utf8_bytes():
    query = 'SELECT * WHERE { ?s ?p "' + "医" * 100 + '" }'
    assert check_query(query, max_bytes=len(query.encode()))
    with pytest.raises(GuardRejected) as err:
        check_query(query, max_bytes=len(query.encode()) - 1)
    assert err.value.status == 413 and err.value.code == "query_too_large"
    assert str(len(query.encode())) in err.value.reason


def test_tokenizer_keeps_strings_and_iris_whole():
    tokens = tokenize('SELECT ?x WHERE { ?x <http://a/b#c> "a \\" } SERVICE" . } # tail')
    kinds = [(t.kind, t.text) for t in tokens]
    assert ("IRI", "<http://a/b#c>") in kinds
    assert ("STRING", '"a \\" } SERVICE"') in kinds
    assert all(t.kind != "WORD" or t.text.upper() != "SERVICE" for t in tokens)


@pytest.mark.parametrize("iri", ["https://w3id.org/budgetkg/id/disclosure/x", "urn:budgetkg:empty"])
def test_valid_iris_pass(iri):
    assert check_iri(iri) == iri


@pytest.mark.parametrize("iri", ["not an iri", "http://x/> . ?s ?p ?o . <http://y", "http://x/\"}",
                                 "relative/path", "http://x/{y}", "http://x/\n"])
def test_iris_that_could_break_out_are_refused(iri):
    with pytest.raises(GuardRejected) as err:
        check_iri(iri, what="default-graph-uri")
    assert err.value.status == 400 and "default-graph-uri" in err.value.reason


def test_worker_private_prefix_matches_the_store():
    # The worker keeps its own copy of the constant (to start without rdflib): they must agree.
    assert PRIVATE_GRAPH_PREFIX == STORE_PRIVATE_PREFIX
