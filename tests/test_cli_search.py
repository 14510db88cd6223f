"""``budgetkg search|similar|ask`` as a user runs them: an on-disk store of the real seeds, opened
read-only, with the index built beside it on first use."""
from __future__ import annotations

import gc
import json

import pytest
import typer
from typer.testing import CliRunner

from api.cli_search import register
from api.settings import Settings
from search.store import open_store
from search_support import ingest_seeds


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    settings = Settings(home=home, store="oxigraph")
    store = open_store("oxigraph", path=settings.store_path)
    ingest_seeds(store)
    store.close()
    del store
    gc.collect()  # RocksDB releases its lock when the store object goes
    app = typer.Typer()
    register(app, lambda: settings)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_search_prints_a_table(cli):
    result = cli("search", "长期照护险", "--k", "3")
    assert result.exit_code == 0, result.output
    assert "长期照护险" in result.output and "乐亭县" in result.output and "(3 hits)" in result.output


def test_search_json_has_the_hit_shape(cli):
    result = cli("search", "2101202", "--k", "3", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)["hits"]
    assert hits[0]["label"].startswith("2101202")
    assert {"iri", "type", "label", "text", "score", "department", "county", "fiscal_year", "project"} <= set(hits[0])


def test_search_type_filter_and_bad_type(cli):
    result = cli("search", "医疗救助", "--type", "indicator", "--json")
    assert result.exit_code == 0
    assert {h["type"] for h in json.loads(result.output)["hits"]} == {"indicator"}
    bad = cli("search", "医疗救助", "--type", "nonsense")
    assert bad.exit_code == 1 and "unknown type" in bad.output and "Traceback" not in bad.output


def test_similar_json(cli):
    result = cli("similar", "长护险参保人数", "--k", "5", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)["hits"]
    assert len(hits) == 5 and {"target_value", "level1", "level2"} <= set(hits[0])


def test_ask_prints_summary_table_and_sparql(cli):
    result = cli("ask", "which counties fund long-term care insurance")
    assert result.exit_code == 0, result.output
    assert "乐亭县" in result.output and "1,414" in result.output and "SELECT" in result.output


def test_ask_json(cli):
    result = cli("ask", "which projects cite 冀财社[2022]218号", "--json")
    answer = json.loads(result.output)
    assert set(answer) >= {"question", "answers", "sparql", "evidence", "summary"}
    assert answer["answers"][0]["county"] == "霸州市"
