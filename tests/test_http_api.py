"""The JSON API over the real samples: disclosures (list and one in full), findings, health,
search, similar and ask; input bounds; user text that cannot change a query's shape; personal data
kept out; document text escaped in JSON.
"""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.sparql_guard import tokenize
from tests.http_support import (HOSTILE_PERSON, HOSTILE_PHONE, HOSTILE_PROJECT, make_app, prepared_home,
                                wait_for_index)

# Officials named with their mobile number in seed 003's forms, and the hostile fixture's contact.
PERSONAL = ["13633587231", "郭瑞林", "王宇", HOSTILE_PHONE, HOSTILE_PERSON]


@pytest.fixture(scope="module")
def client():
    with TestClient(make_app()) as c:
        assert wait_for_index(c) == "ready"
        yield c


@pytest.fixture(scope="module")
def info():
    return prepared_home()[1]


@pytest.fixture(scope="module")
def listing(client):
    return client.get("/api/disclosures").json()


def by_department(listing, department, year):
    return next(d for d in listing["disclosures"] if d["department"] == department and d["fiscal_year"] == year)


def needs_samples(info):
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet (ingest.pipeline failed)")


# ---------------------------------------------------------------- disclosures


def test_list_has_every_disclosure_with_its_area_year_and_totals(listing, info):
    needs_samples(info)
    assert listing["count"] == 6
    seen = {(d["department"], d["county"], d["fiscal_year"]) for d in listing["disclosures"]}
    assert {("乐亭县医疗保障局", "乐亭县", 2023), ("乐亭县医疗保障局", "乐亭县", 2024), ("霸州市医疗保障局", "霸州市", 2023),
            ("大城县医疗保障局", "大城县", 2021), ("兴县医疗保障局", "兴县", 2023)} <= seen
    leting = by_department(listing, "乐亭县医疗保障局", 2023)
    assert leting["province"] == "河北省" and leting["prefecture"] == "唐山市"
    assert leting["totals"]["totalExpenditure"] == pytest.approx(7895.40)
    assert leting["projects"] == 9
    assert by_department(listing, "兴县医疗保障局", 2023)["province"] == "山西省"


@pytest.mark.parametrize("params, departments", [
    ({"county": "乐亭"}, {"乐亭县医疗保障局"}),
    ({"year": 2021}, {"大城县医疗保障局"}),
    ({"county": "山西"}, {"兴县医疗保障局"}),
    ({"department": "霸州"}, {"霸州市医疗保障局"}),
], ids=["county", "year", "province", "department"])
def test_list_filters(client, info, params, departments):
    needs_samples(info)
    found = client.get("/api/disclosures", params=params).json()["disclosures"]
    assert found and {d["department"] for d in found} == departments


@pytest.mark.parametrize("text", ['" ) } UNION { ?d ?p ?o } #', '") || true || ("', "乐亭\"}\n#", "?d a bkg:Disclosure",
                                  "\\\" . ?x ?y ?z"])
def test_filter_text_cannot_change_the_query(client, text):
    for param in ("department", "county"):
        r = client.get("/api/disclosures", params={param: text})
        assert r.status_code == 200
        assert r.json()["count"] == 0  # matched as a literal string, which no name contains


def test_one_disclosure_in_full(client, listing, info):
    needs_samples(info)
    key = by_department(listing, "乐亭县医疗保障局", 2023)["id"]
    d = client.get(f"/api/disclosures/{key}").json()
    assert d["source"]["file"] == "000_bd07622c98d0036c.txt" and len(d["source"]["sha256"]) == 64
    assert len(d["projects"]) == 9
    care = next(p for p in d["projects"] if "长期照护" in p["label"])
    assert care["amount"] == pytest.approx(1414.00)
    assert any(i["label"] == "长护险参保人数" and i["target_value"].startswith("34.93") for i in care["indicators"])
    assert all(i["source"]["file"] == "000_bd07622c98d0036c.txt" for i in care["indicators"])
    bars = {b["code"]: b["amount"] for b in d["chart"]["bars"]}
    assert bars["210"] == pytest.approx(7804.21) and bars["208"] == pytest.approx(58.67)
    assert d["chart"]["total"] == pytest.approx(7895.40)


def test_truncated_disclosure_says_where(client, listing, info):
    needs_samples(info)
    key = by_department(listing, "乐亭县医疗保障局", 2024)["id"]
    d = client.get(f"/api/disclosures/{key}").json()
    assert d["truncated"] is True and d["source"]["truncated"] is True
    assert any(f["check"] == "truncated" and f["source"]["lines"] for f in d["findings"])


def test_findings_list_and_filters(client, info):
    needs_samples(info)
    every = client.get("/api/findings").json()
    assert every["count"] >= 3
    assert {"iri", "disclosure", "check", "severity", "message", "expected", "found", "source"} <= set(every["findings"][0])
    errors = client.get("/api/findings", params={"severity": "error"}).json()["findings"]
    assert errors and all(f["severity"] == "error" for f in errors)
    assert {f["disclosure_label"] for f in errors} <= {f["disclosure_label"] for f in every["findings"]}
    assert client.get("/api/findings", params={"disclosure": "no-such-disclosure"}).json()["count"] == 0


def test_health(client, info):
    h = client.get("/api/health").json()
    assert h["status"] == "ok" and h["index"]["status"] == "ready"
    assert h["disclosures"] == len(info["samples"]) + 1
    assert h["sparql"]["workers"]["alive"] == h["sparql"]["workers"]["size"] == 2
    assert h["rss_mb"] > 0 and h["personal_data_served"] is False


# ---------------------------------------------------------------- search, similar, ask


def test_search_hits_have_the_cli_shape(client, info):
    needs_samples(info)
    r = client.get("/api/search", params={"q": "long-term care insurance", "k": 5}).json()
    assert r["query"] == "long-term care insurance" and r["k"] == 5 and len(r["hits"]) == 5
    for hit in r["hits"]:
        assert {"iri", "type", "label", "text", "score", "department", "county", "fiscal_year", "project"} <= set(hit)
    assert any("照护" in (h["label"] + (h["project"] or "")) for h in r["hits"][:3])
    typed = client.get("/api/search", params={"q": "资金发放率", "type": "indicator"}).json()["hits"]
    assert typed and all(h["type"] == "indicator" for h in typed)


def test_search_rejects_unknown_type(client):
    r = client.get("/api/search", params={"q": "x", "type": "spaceship"})
    assert r.status_code == 400 and "indicator" in r.json()["error"]["message"]


def test_similar_by_iri_excludes_the_indicator_itself(client, info):
    needs_samples(info)
    first = client.get("/api/search", params={"q": "长护险参保人数", "type": "indicator", "k": 1}).json()["hits"][0]
    r = client.get("/api/similar", params={"q": first["iri"], "k": 5}).json()
    assert len(r["hits"]) == 5 and first["iri"] not in {h["iri"] for h in r["hits"]}
    for hit in r["hits"]:
        assert {"iri", "label", "target_value", "level1", "level2", "project", "department", "county",
                "fiscal_year", "score"} <= set(hit)


def test_ask_answers_with_rows_sources_and_sparql(client, info):
    needs_samples(info)
    a = client.get("/api/ask", params={"q": "what is the total 2023 budget of 兴县医疗保障局"}).json()
    assert {"question", "answers", "sparql", "evidence", "summary"} <= set(a)
    assert a["answers"] and a["sparql"].strip()
    assert any(row["department"] == "兴县医疗保障局" and row["amount"] for row in a["answers"])
    rerun = client.post("/sparql", data={"query": a["sparql"]})  # the SPARQL shown can be rerun as is
    assert rerun.status_code == 200


@pytest.mark.parametrize("question", [
    '哪些县有医疗救助项目" } UNION { ?zzinjected ?p ?o } #',
    "which counties fund long-term care insurance\"}\n} SELECT * WHERE { ?zzinjected ?p <urn:zzinjected> }",
    "医疗救助'; DROP ALL; #",
    "冀财社〔2022〕218号\\\" . ?zzinjected ?p ?o",
])
def test_question_text_cannot_change_the_query_shape(client, question):
    r = client.get("/api/ask", params={"q": question})
    assert r.status_code == 200
    sparql = r.json()["sparql"]
    if sparql:
        tokens = tokenize(sparql)
        assert not any(t.kind == "VAR" and t.text == "?zzinjected" for t in tokens)
        assert not any(t.kind == "IRI" and "zzinjected" in t.text for t in tokens)
        assert not any(t.kind == "WORD" and t.text.upper() == "DROP" for t in tokens)
        assert client.post("/sparql", data={"query": sparql}).status_code == 200


@pytest.mark.parametrize("iri", ["https://w3id.org/budgetkg/id/x> . ?s ?p ?o . <urn:y",
                                 "https://w3id.org/budgetkg/id/x\"}"])
def test_iri_parameters_are_validated(client, iri):
    page = client.get("/indicator", params={"iri": iri})
    assert page.status_code == 400
    assert client.get("/api/similar", params={"q": iri}).status_code in (200, 400)


# ---------------------------------------------------------------- personal data and escaping


def test_personal_data_stays_out_of_the_api(client, listing, info):
    needs_samples(info)
    xing = by_department(listing, "兴县医疗保障局", 2023)["id"]
    hits = client.get("/api/search", params={"q": "郭瑞林 13633587231 联系电话 经办人", "k": 50}).json()["hits"]
    answer = client.get("/api/ask", params={"q": "郭瑞林的电话是多少"}).json()
    bodies = [client.get(f"/api/disclosures/{xing}").text, client.get("/api/disclosures").text,
              client.get("/api/findings").text, json.dumps(hits, ensure_ascii=False),
              # what the answer found (its "question" and "sparql" echo the question itself)
              json.dumps([answer["answers"], answer["evidence"], answer["summary"]], ensure_ascii=False),
              client.post("/sparql", data={"query": "CONSTRUCT WHERE { ?s ?p ?o }"},
                          headers={"Accept": "application/n-triples"}).text]
    for body in bodies:
        for secret in PERSONAL:
            assert secret not in body


def test_document_markup_is_escaped_in_json(client, info):
    key = info["hostile"]
    r = client.get(f"/api/disclosures/{key}")
    assert b"<script" not in r.content and b"<img" not in r.content
    assert HOSTILE_PROJECT in {p["label"] for p in r.json()["projects"]}
    hits = client.get("/api/search", params={"q": "医保专项", "k": 20})
    assert b"<script" not in hits.content
    assert json.loads(hits.content)["hits"]
