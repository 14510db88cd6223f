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
    hits = json.loads(result.stdout)["hits"]
    assert hits[0]["label"].startswith("2101202")
    assert {"iri", "type", "label", "text", "score", "department", "county", "fiscal_year", "project"} <= set(hits[0])


def test_search_type_filter_and_bad_type(cli):
    result = cli("search", "医疗救助", "--type", "indicator", "--json")
    assert result.exit_code == 0
    assert {h["type"] for h in json.loads(result.stdout)["hits"]} == {"indicator"}
    bad = cli("search", "医疗救助", "--type", "nonsense")
    assert bad.exit_code == 1 and "unknown type" in bad.output and "Traceback" not in bad.output


def test_similar_json(cli):
    result = cli("similar", "长护险参保人数", "--k", "5", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert len(hits) == 5 and {"target_value", "level1", "level2"} <= set(hits[0])


def test_ask_prints_summary_table_and_sparql(cli):
    result = cli("ask", "which counties fund long-term care insurance")
    assert result.exit_code == 0, result.output
    assert "乐亭县" in result.output and "1,414" in result.output and "SELECT" in result.output


def test_ask_json(cli):
    result = cli("ask", "which projects cite 冀财社[2022]218号", "--json")
    answer = json.loads(result.stdout)
    assert set(answer) >= {"question", "answers", "sparql", "evidence", "summary"}
    assert answer["answers"][0]["county"] == "霸州市"


def test_the_first_search_shows_the_index_being_built(tmp_path):
    """On a store ingested with ``--no-index`` the first search builds the index; its progress goes
    to standard error (the JSON on standard output stays parseable), and a search that finds the
    index in step with the store shows none."""
    from search_support import SEED_FILES

    settings = Settings(home=tmp_path / "home", store="oxigraph")
    store = open_store("oxigraph", path=settings.store_path)
    ingest_seeds(store, SEED_FILES[:2])
    store.close()
    del store
    gc.collect()
    app = typer.Typer()
    register(app, lambda: settings)
    runner = CliRunner()
    first = runner.invoke(app, ["search", "医疗救助", "--k", "2", "--json"])
    assert first.exit_code == 0, first.output
    assert "index: 2/2 documents (100%)" in first.stderr
    assert len(json.loads(first.stdout)["hits"]) == 2
    again = runner.invoke(app, ["search", "医疗救助", "--k", "2", "--json"])
    assert again.exit_code == 0 and "index:" not in again.stderr
