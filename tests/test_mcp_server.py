"""``budgetkg mcp`` driven by the MCP SDK's own client over a real stdio session.

The server is spawned as a user's MCP client would spawn it (the ``budgetkg`` console script, or
``python -m api.cli`` where the script is not installed) over the prepared on-disk store of the
five samples plus the hostile disclosure. One session runs the whole scenario — initialize,
tools/list, tools/call of every tool, refused updates, a timeout — and records what came back;
then the same questions go to the HTTP API of a real server on 127.0.0.1 over the same store, and
the tests compare: every tool must return the HTTP API's JSON.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx
import pytest

from tests.http_support import HOSTILE_PERSON, HOSTILE_PHONE, ROOT, LiveServer, prepared_home

pytestmark = pytest.mark.server

PUBLIC_URL = "https://budget.example.org"
QUESTION = "哪些县有医疗救助项目"
BKG = "PREFIX bkg: <https://w3id.org/budgetkg/ontology#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
PROJECTS = BKG + "SELECT ?p ?label WHERE { ?p a bkg:Project ; rdfs:label ?label } ORDER BY ?p LIMIT 5"
COUNT_PROJECTS = BKG + "SELECT (COUNT(*) AS ?n) WHERE { ?p a bkg:Project }"
PHONES = BKG + "SELECT ?who ?phone WHERE { ?c bkg:phone ?phone . OPTIONAL { ?c bkg:contactName ?who } }"
# A triple cross product of the whole graph: minutes of work, stopped at its limit.
EXPLOSION = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
REFUSED = {
    "delete": ("DELETE WHERE { ?s ?p ?o }", "update_forbidden"),
    "insert": ("INSERT DATA { <urn:x> <urn:y> <urn:z> }", "update_forbidden"),
    "drop": ("DROP ALL", "update_forbidden"),
    "load": ("LOAD <http://example.org/data.ttl>", "update_forbidden"),
    "service": ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "service_forbidden"),
}


def server_command() -> list[str]:
    script = Path(sys.executable).parent / "budgetkg"
    return [str(script), "mcp"] if script.exists() else [sys.executable, "-m", "api.cli", "mcp"]


def server_env(home: Path, **extra) -> dict:
    # The whole environment, as the HTTP server of the comparison gets it: the SDK's client would
    # pass only a few variables, and BLAS settings (OPENBLAS_CORETYPE …) change the last bits of
    # the query vectors, hence the order of hits that tie on score.
    return {**os.environ, "BUDGETKG_HOME": str(home), "BUDGETKG_STORE": "oxigraph", "BUDGETKG_QUERY_WORKERS": "1",
            "BUDGETKG_QUERY_TIMEOUT_S": "10", "BUDGETKG_PUBLIC_URL": PUBLIC_URL, "PYTHONPATH": str(ROOT), **extra}


def result_record(result, seconds: float) -> dict:
    return {"error": bool(result.is_error), "texts": [c.text for c in result.content if c.type == "text"],
            "json": result.structured_content, "seconds": seconds}


async def scenario(home: Path, disclosure_id: str) -> dict:
    from mcp import StdioServerParameters

    params = StdioServerParameters(command=server_command()[0], args=server_command()[1:], env=server_env(home),
                                   cwd=str(ROOT))
    out: dict = {"calls": {}}
    with tempfile.TemporaryFile("w+") as log:  # the server's stderr: its log, the model's loading messages
        try:
            await _run(params, log, out, disclosure_id)
        except BaseException as exc:
            log.seek(0)
            raise RuntimeError(f"the MCP session failed: {exc!r}; server stderr: {log.read()[-3000:]}") from exc
    return out


async def _run(params, log, out: dict, disclosure_id: str) -> None:
    from mcp import ClientSession, stdio_client

    async with stdio_client(params, errlog=log) as (read, write):
        async with ClientSession(read, write) as session:
            out["init"] = await session.initialize()
            out["tools"] = (await session.list_tools()).tools

            async def call(key: str, tool: str, arguments: dict):
                started = time.monotonic()
                result = await session.call_tool(tool, arguments)
                out["calls"][key] = result_record(result, time.monotonic() - started)

            await call("ask", "ask", {"question": QUESTION})
            await call("search", "search", {"text": "长期照护险", "k": 5})
            await call("search_typed", "search", {"text": "资金发放率", "k": 5, "type": "indicator"})
            await call("similar", "similar", {"text": "群众满意度", "k": 5})
            await call("disclosure", "disclosure", {"id": disclosure_id})
            await call("disclosure_missing", "disclosure", {"id": "2099-budget-000000000000"})
            await call("sparql", "sparql", {"query": PROJECTS})
            await call("phones", "sparql", {"query": PHONES})
            for name, (query, _code) in REFUSED.items():
                await call(f"refused_{name}", "sparql", {"query": query})
            await call("timeout", "sparql", {"query": EXPLOSION, "timeout_s": 1})
            await call("after_timeout", "sparql", {"query": COUNT_PROJECTS})
            await call("bad_k", "search", {"text": "医疗救助", "k": 1000})


def http_answers(home: Path, disclosure_id: str) -> dict:
    """The same requests to the HTTP API of a real server over the same store."""
    live = LiveServer(home, workers=1, env={"BUDGETKG_PUBLIC_URL": PUBLIC_URL}).start(wait_for_index=True)
    try:
        get = lambda path, **params: httpx.get(live.url + path, params=params, timeout=60)  # noqa: E731
        sparql_json = {"Accept": "application/sparql-results+json"}
        return {
            "ask": get("/api/ask", q=QUESTION).json(),
            "search": get("/api/search", q="长期照护险", k=5).json(),
            "search_typed": get("/api/search", q="资金发放率", k=5, type="indicator").json(),
            "similar": get("/api/similar", q="群众满意度", k=5).json(),
            "disclosure": get(f"/api/disclosures/{disclosure_id}").json(),
            "sparql": httpx.get(live.url + "/sparql", params={"query": PROJECTS}, headers=sparql_json).json(),
        }
    finally:
        live.stop()


@pytest.fixture(scope="module")
def recorded():
    home, info = prepared_home()
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet")
    disclosure_id = sorted(info["samples"])[0]
    session = anyio.run(scenario, home, disclosure_id)
    return session, http_answers(home, disclosure_id), disclosure_id


def calls(recorded) -> dict:
    return recorded[0]["calls"]


def assert_ok(record: dict) -> dict:
    assert not record["error"], record["texts"]
    summary, text = record["texts"][:2]
    assert summary.strip(), "every result starts with a short text summary"
    assert json.loads(text) == record["json"], "the JSON text block and the structured content agree"
    return record["json"]


def assert_refused(record: dict, code: str) -> dict:
    assert record["error"], record
    error = record["json"]["error"]
    assert error["code"] == code and error["message"], error
    assert set(error) == {"code", "message", "detail"}, "the HTTP API's one error shape"
    return error


# ---------------------------------------------------------------- the protocol


def test_initialize_names_the_server_and_offers_tools(recorded):
    init = recorded[0]["init"]
    assert init.server_info.name == "budgetkg"
    assert init.capabilities.tools is not None
    assert "万元" in (init.instructions or "")


def test_tools_list_has_the_five_read_only_tools_with_described_parameters(recorded):
    tools = {t.name: t for t in recorded[0]["tools"]}
    assert set(tools) == {"ask", "sparql", "search", "similar", "disclosure"}
    expected = {"ask": {"question"}, "sparql": {"query", "timeout_s"}, "search": {"text", "k", "type"},
                "similar": {"text", "k"}, "disclosure": {"id"}}
    for name, tool in tools.items():
        assert tool.annotations.read_only_hint is True and tool.annotations.destructive_hint is False, name
        properties = tool.input_schema["properties"]
        assert set(properties) == expected[name], name
        assert all(p.get("description") for p in properties.values()), name
        assert tool.description
    assert tools["search"].input_schema["properties"]["k"]["maximum"] == 100


# ---------------------------------------------------------------- each tool = the HTTP API's JSON


def test_ask_returns_the_http_answer_with_sources_and_a_public_permalink(recorded):
    answer = assert_ok(calls(recorded)["ask"])
    http = recorded[1]["ask"]
    assert answer == http
    assert answer["answers"] and all(a["source"]["file"] and a["source"]["lines"] for a in answer["answers"])
    assert {a["county"] for a in answer["answers"]} & {"乐亭县", "兴县", "大城县", "霸州市"}
    assert answer["permalink"].startswith(PUBLIC_URL + "/?q=")
    summary = calls(recorded)["ask"]["texts"][0]
    assert answer["summary"] in summary and answer["answers"][0]["source"]["file"] in summary


def test_search_and_similar_return_the_http_hits(recorded):
    for key in ("search", "search_typed", "similar"):
        hits = assert_ok(calls(recorded)[key])
        assert hits == recorded[1][key], key
        assert hits["hits"] and all(h["source"]["file"] for h in hits["hits"]), key
    assert {h["type"] for h in calls(recorded)["search_typed"]["json"]["hits"]} == {"indicator"}
    assert any("长期照护险" in h["label"] or "长护险" in h["label"] for h in calls(recorded)["search"]["json"]["hits"])
    first = calls(recorded)["search"]["json"]["hits"][0]
    assert first["label"] in calls(recorded)["search"]["texts"][0]


def test_disclosure_returns_the_http_document_and_unknown_ids_are_tool_errors(recorded):
    document = assert_ok(calls(recorded)["disclosure"])
    assert document == recorded[1]["disclosure"]
    assert document["id"] == recorded[2] and document["projects"]
    error = assert_refused(calls(recorded)["disclosure_missing"], "not_found")
    assert "2099-budget-000000000000" in error["message"]


def test_sparql_returns_the_endpoints_json_results(recorded):
    results = assert_ok(calls(recorded)["sparql"])
    assert results == recorded[1]["sparql"]
    assert results["head"]["vars"] == ["p", "label"] and len(results["results"]["bindings"]) == 5
    assert "5 rows" in calls(recorded)["sparql"]["texts"][0]


# ---------------------------------------------------------------- the endpoint's rules


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_updates_load_and_service_are_refused_as_tool_errors(recorded, name):
    assert_refused(calls(recorded)[f"refused_{name}"], REFUSED[name][1])


def test_nothing_was_deleted_by_the_refused_update(recorded):
    count = assert_ok(calls(recorded)["after_timeout"])
    assert int(count["results"]["bindings"][0]["n"]["value"]) > 0


def test_a_runaway_query_stops_at_its_time_limit_and_the_next_one_runs(recorded):
    record = calls(recorded)["timeout"]
    error = assert_refused(record, "query_timeout")
    assert error["detail"]["limit_s"] == 1
    assert record["seconds"] < 8, "stopped at the limit (1 s), not after the query finished"
    assert_ok(calls(recorded)["after_timeout"])  # the killed worker was replaced


def test_personal_data_stays_out(recorded):
    phones = assert_ok(calls(recorded)["phones"])
    assert phones["results"]["bindings"] == []
    everything = json.dumps([c["json"] for c in calls(recorded).values()], ensure_ascii=False)
    assert HOSTILE_PHONE not in everything and HOSTILE_PERSON not in everything


def test_arguments_out_of_bounds_are_tool_errors(recorded):
    record = calls(recorded)["bad_k"]
    assert record["error"] and "100" in " ".join(record["texts"])


# ---------------------------------------------------------------- start-up errors


def test_mcp_without_a_store_says_so_in_one_line(tmp_path):
    done = subprocess.run(server_command(), env=server_env(tmp_path / "empty"), cwd=ROOT, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error: no graph store") and "Traceback" not in done.stderr
    assert done.stdout == ""
