"""``POST /api/disclosures``: adding a document over HTTP.

Needs the admin token; a bad file is a clear 422 and stores nothing; a good one is stored as its
own graphs and is then listed, queryable at /sparql (the query workers moved to a new snapshot)
and searchable (the index caught up) when the call returns. Uploading it again replaces it.
"""
from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from tests.http_support import ADMIN_TOKEN, SAMPLES, make_app, memory_copy, prepared_home, wait_for_index

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SEED_002 = SAMPLES / "002_20041eb3cb8715ee.txt"  # 大城县医疗保障局 2021


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    home, info = prepared_home()
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet")
    own = tmp_path_factory.mktemp("upload-home")
    if (home / "index").exists():
        shutil.copytree(home / "index", own / "index")  # start from a built index, not from scratch
    store = memory_copy()
    daicheng = [g for g in store.graph_names() if g.endswith("/2021-budget-c00978f14ddf")]
    assert len(daicheng) == 2  # its public and private graphs
    for graph in daicheng:
        store.drop_graph(graph)
    app = make_app(own, store=store, admin_token=ADMIN_TOKEN, max_upload_bytes=2_000_000)
    with TestClient(app) as client:
        assert wait_for_index(client) == "ready"
        yield client, store


def upload(client, name, data, headers=AUTH):
    return client.post("/api/disclosures", files={"file": (name, data, "application/octet-stream")}, headers=headers)


def departments(client):
    return {(d["department"], d["fiscal_year"]) for d in client.get("/api/disclosures").json()["disclosures"]}


def test_upload_adds_a_disclosure_everywhere(setup):
    client, store = setup
    assert ("大城县医疗保障局", 2021) not in departments(client)
    generation = client.get("/api/health").json()["sparql"]["workers"]["generation"]
    r = upload(client, SEED_002.name, SEED_002.read_bytes())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["department"] == "大城县医疗保障局" and body["fiscal_year"] == 2021 and body["projects"] >= 10
    assert ("大城县医疗保障局", 2021) in departments(client)
    detail = client.get(f"/api/disclosures/{body['id']}").json()
    assert detail["source"]["file"] == SEED_002.name
    ask = client.post("/sparql", data={"query": f'ASK {{ ?d <http://purl.org/dc/terms/identifier> "{body["id"]}" }}'})
    assert ask.json()["boolean"] is True  # the SPARQL workers serve the new snapshot
    health = client.get("/api/health").json()
    assert health["sparql"]["workers"]["generation"] == generation + 1
    assert health["sparql"]["workers"]["alive"] == 2
    hits = client.get("/api/search", params={"q": "大城县 门诊特殊疾病鉴定", "k": 10}).json()["hits"]
    assert any(h["county"] == "大城县" for h in hits)  # the search index caught up


def test_upload_again_replaces(setup):
    client, store = setup
    before = sorted(store.graph_names())
    count = client.get("/api/disclosures").json()["count"]
    assert upload(client, SEED_002.name, SEED_002.read_bytes()).status_code == 201
    assert client.get("/api/disclosures").json()["count"] == count
    assert sorted(store.graph_names()) == before


@pytest.mark.parametrize("name, data", [
    ("binary.txt", bytes(range(256)) * 20),
    ("empty.txt", b""),
    ("prose.txt", "这是一段与预算无关的文字。\n今天天气很好。\n".encode() * 20),
    ("fake.pdf", b"%PDF-1.4 not really a pdf"),
    ("fake.docx", b"PK\x03\x04 not really a docx"),
], ids=["binary", "empty", "not-a-disclosure", "broken-pdf", "broken-docx"])
def test_bad_file_is_a_clear_error_and_stores_nothing(setup, name, data):
    client, store = setup
    before = sorted(store.graph_names())
    r = upload(client, name, data)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "bad_document" and name in error["message"]
    assert sorted(store.graph_names()) == before


def test_unknown_suffix_lists_what_is_accepted(setup):
    client, _ = setup
    r = upload(client, "data.xlsx", b"PK")
    assert r.status_code == 415 and ".docx" in r.json()["error"]["message"]


def test_upload_over_the_limit_is_refused_before_reading(setup):
    client, store = setup
    before = sorted(store.graph_names())
    r = upload(client, "big.txt", b"x" * 2_200_000)
    assert r.status_code == 413 and r.json()["error"]["detail"]["limit_bytes"] == 2_000_000
    assert sorted(store.graph_names()) == before


def test_upload_needs_the_token(setup):
    client, store = setup
    before = sorted(store.graph_names())
    assert upload(client, SEED_002.name, SEED_002.read_bytes(), headers={}).status_code == 401
    assert upload(client, SEED_002.name, SEED_002.read_bytes(),
                  headers={"Authorization": "Bearer " + ADMIN_TOKEN + "x"}).status_code == 401
    assert sorted(store.graph_names()) == before


def test_path_in_file_name_is_dropped(setup):
    client, _ = setup
    r = upload(client, "../../etc/" + SEED_002.name, SEED_002.read_bytes())
    assert r.status_code == 201 and r.json()["file"] == SEED_002.name
