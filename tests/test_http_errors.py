"""Pins the HTTP API's one error shape: every error, whatever raised it, is

    {"error": {"code": <str>, "message": <str>, "detail": <any>}}

as ``application/json`` with a fitting status (browsers asking for a page get the same fields as
HTML). One row per kind of failure, so a new route or exception cannot quietly invent another
shape.
"""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.http_support import ADMIN_TOKEN, make_app

EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture(scope="module")
def client():
    with TestClient(make_app(query_timeout_s=5, max_upload_bytes=1000, admin_token=ADMIN_TOKEN),
                    raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def no_upload_client():
    with TestClient(make_app(admin_token=None)) as c:
        yield c


AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

CASES = [
    # (id, method, path, kwargs, status, code)
    ("unknown-route", "get", "/api/nothing-here", {}, 404, "not_found"),
    ("unknown-disclosure", "get", "/api/disclosures/2099-budget-000000000000", {}, 404, "not_found"),
    ("bad-disclosure-id", "get", "/api/disclosures/bad!key", {}, 422, "invalid_request"),
    ("k-too-large", "get", "/api/search", {"params": {"q": "医疗救助", "k": 1000}}, 422, "invalid_request"),
    ("k-zero", "get", "/api/similar", {"params": {"q": "资金发放率", "k": 0}}, 422, "invalid_request"),
    ("text-too-long", "get", "/api/ask", {"params": {"q": "长" * 501}}, 422, "invalid_request"),
    ("missing-text", "get", "/api/search", {}, 422, "invalid_request"),
    ("bad-year", "get", "/api/disclosures", {"params": {"year": "twenty"}}, 422, "invalid_request"),
    ("bad-severity", "get", "/api/findings", {"params": {"severity": "fatal"}}, 422, "invalid_request"),
    ("method", "delete", "/api/disclosures", {}, 405, "method_not_allowed"),
    ("sparql-syntax", "get", "/sparql", {"params": {"query": "SELECT * WHERE { ?s }"}}, 400, "query_syntax"),
    ("sparql-not-a-query", "get", "/sparql", {"params": {"query": "hello"}}, 400, "query_syntax"),
    ("sparql-update", "post", "/sparql", {"data": {"update": "CLEAR ALL"}}, 403, "update_forbidden"),
    ("sparql-service", "get", "/sparql", {"params": {"query": "ASK { SERVICE <http://x/> {} }"}}, 403,
     "service_forbidden"),
    ("sparql-too-large", "post", "/sparql", {"data": {"query": "ASK {} #" + "x" * 25_000}}, 413, "query_too_large"),
    ("sparql-406", "get", "/sparql", {"params": {"query": "ASK {}"}, "headers": {"Accept": "image/png"}}, 406,
     "not_acceptable"),
    ("sparql-415", "post", "/sparql", {"content": b"ASK {}", "headers": {"Content-Type": "text/plain"}}, 415,
     "unsupported_media_type"),
    ("sparql-timeout", "get", "/sparql", {"params": {"query": EXPENSIVE, "timeout": "0.5"}}, 504, "query_timeout"),
    ("sparql-bad-timeout", "get", "/sparql", {"params": {"query": "ASK {}", "timeout": "x"}}, 400,
     "invalid_request"),
    ("indicator-bad-iri", "get", "/indicator", {"params": {"iri": "https://w3id.org/budgetkg/id/x> ; DROP"}}, 400,
     "invalid_request"),
    ("indicator-foreign-iri", "get", "/indicator", {"params": {"iri": "https://evil.example/x"}}, 400,
     "invalid_request"),
    ("upload-no-token", "post", "/api/disclosures", {"files": {"file": ("a.txt", b"x")}}, 401, "unauthorized"),
    ("upload-wrong-token", "post", "/api/disclosures",
     {"files": {"file": ("a.txt", b"x")}, "headers": {"Authorization": "Bearer nope"}}, 401, "unauthorized"),
    ("upload-format", "post", "/api/disclosures", {"files": {"file": ("a.exe", b"MZ")}, "headers": AUTH}, 415,
     "unsupported_format"),
    ("upload-too-large", "post", "/api/disclosures",
     {"files": {"file": ("a.txt", "预算".encode() * 2000)}, "headers": AUTH}, 413, "upload_too_large"),
    ("upload-bad-document", "post", "/api/disclosures",
     {"files": {"file": ("a.txt", b"\x00\x01\x02 not a disclosure")}, "headers": AUTH}, 422, "bad_document"),
]


@pytest.mark.parametrize("method, path, kwargs, status, code", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_error_has_the_one_shape(client, method, path, kwargs, status, code):
    r = getattr(client, method)(path, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "detail"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and len(body["error"]["message"]) > 10
    assert body["error"]["code"] == code


def test_validation_detail_names_the_parameter(client):
    detail = client.get("/api/search", params={"q": "x", "k": 1000}).json()["error"]["detail"]
    assert detail[0]["where"] == "query.k" and detail[0]["problem"]


def test_upload_without_configured_token_is_disabled(no_upload_client):
    r = no_upload_client.post("/api/disclosures", files={"file": ("a.txt", b"x")}, headers=AUTH)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "uploads_disabled"
    assert "BUDGETKG_ADMIN_TOKEN" in r.json()["error"]["message"]


def test_unauthorised_upload_asks_for_a_bearer_token(client):
    r = client.post("/api/disclosures", files={"file": ("a.txt", b"x")})
    assert r.headers["www-authenticate"] == "Bearer"


def test_browsers_get_the_same_error_as_a_page(client):
    r = client.get("/disclosures/2099-budget-000000000000", headers={"Accept": "text/html"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert 'id="error-message"' in r.text and "not_found" in r.text
    api = client.get("/api/disclosures/2099-budget-000000000000", headers={"Accept": "text/html"})
    assert api.headers["content-type"] == "application/json"  # the API stays JSON for everyone


def test_unexpected_errors_do_not_leak_internals(client):
    """A store that fails in an unforeseen way (swapped in through the app's dependency) gives a
    500 in the same shape, without the exception's text or a traceback."""
    from api.deps import get_store

    class FailingStore:  # a stand-in for this test only: every query fails unexpectedly
        def query(self, *args, **kwargs):
            raise RuntimeError("secret internal detail /etc/passwd")

    client.app.dependency_overrides[get_store] = FailingStore
    try:
        r = client.get("/api/disclosures")
    finally:
        client.app.dependency_overrides.clear()
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error"
    assert "secret" not in r.text and "Traceback" not in r.text
    assert client.get("/api/disclosures").status_code == 200
