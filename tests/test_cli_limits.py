"""``budgetkg ask|search|similar --timeout S``: the CLI's requests are bounded too (issue 8, item 4).

Past the limit a command prints one ``error:`` line (what stopped, the limit, a hint) and exits 1,
without a traceback. ask's SPARQL runs in a child process that opens the store read-only and is
killed at the deadline (``api.bounded.QueryChild``): checked here with a real heavy query on the
real samples' store, and for the same answer as in-process on an ordinary question.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.http_support import ROOT, prepared_home

EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture(scope="module")
def home():
    home, info = prepared_home()
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet")
    return home


def budgetkg(home, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", "--home", str(home), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("args, what", [
    (["ask", "哪些县有医疗救助项目"], "the question"),
    (["search", "长期照护险"], "the search"),
    (["similar", "群众满意度"], "the similar-indicator search"),
], ids=["ask", "search", "similar"])
def test_past_the_limit_is_one_error_line_and_exit_1(home, args, what):
    out = budgetkg(home, *args, "--timeout", "0.001")
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"error: {what} stopped after its time limit of 0.001 s")
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_within_the_limit_ask_answers_through_its_query_process(home):
    out = budgetkg(home, "ask", "哪些县有医疗救助项目", "--json", "--timeout", "60")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["sparql"] and {"乐亭县", "兴县"} <= {a["county"] for a in answer["answers"]}
    assert all(a["source"]["file"] for a in answer["answers"])


def test_the_query_process_is_killed_at_the_deadline(home):
    """A heavy query (a cross product of the store) in the CLI's query child stops at the 1.5 s
    limit with the timeout error; the child process is gone afterwards."""
    from api.bounded import CliContext, QueryChild, RequestTimeout
    from api.settings import Settings

    child = QueryChild(Settings(home=home, store="oxigraph"))
    try:
        warm = CliContext("ask", 60, child)
        assert child.query(warm, "ASK { ?s ?p ?o }", None).boolean is True  # started and answering
        ctx = CliContext("ask", 1.5, child)
        started = time.monotonic()
        with pytest.raises(RequestTimeout) as caught:
            child.query(ctx, EXPENSIVE, None)
        elapsed = time.monotonic() - started
        assert 1.4 < elapsed < 1.5 + 2.0  # the limit plus slack for a loaded machine
        assert caught.value.stage == "SPARQL query" and caught.value.seconds == 1.5
        assert child.process.poll() is not None  # killed, not left computing
    finally:
        child.close()


def test_the_query_process_gives_the_stores_own_result(home):
    """Rows, their terms (typed literals, language tags, IRIs) and the row cap come back as the
    store gives them in-process."""
    from api.bounded import CliContext, QueryChild
    from api.service import store_from_settings
    from api.settings import Settings

    settings = Settings(home=home, store="oxigraph")
    query = ("PREFIX bkg: <https://w3id.org/budgetkg/ontology#>\n"
             "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
             "SELECT ?p ?label ?amount WHERE { ?p a bkg:Project ; rdfs:label ?label . "
             "OPTIONAL { ?p bkg:amount ?amount } } ORDER BY ?p ?label")
    store = store_from_settings(settings, read_only=True)
    child = QueryChild(settings)
    try:
        ctx = CliContext("ask", 60, child)
        for cap in (None, 7):
            mine, theirs = child.query(ctx, query, cap), store.query(query, max_rows=cap)
            assert mine.variables == theirs.variables and mine.rows == theirs.rows
            assert mine.truncated == theirs.truncated == (cap is not None)
            assert all(type(a) is type(b) for r1, r2 in zip(mine.rows, theirs.rows) for a, b in zip(r1.values(), r2.values()))
    finally:
        child.close()
        del store  # read-only: nothing to flush (OxigraphStore.close() flushes, which a read-only store refuses)


def test_a_store_the_child_cannot_open_is_a_clear_error(tmp_path):
    out = budgetkg(tmp_path / "nothing-here", "ask", "哪些县有医疗救助项目")
    assert out.returncode == 1 and out.stderr.startswith("error: ") and "Traceback" not in out.stderr
