"""The graphs an ingest wrote, kept aside for the index refresh after it (``search.graph_spool``):
read from there they give the very items the store gives, and a spooled graph that is not the
graph the store holds is read from the store instead.

Real seeds, the real pipeline, a real on-disk Oxigraph store and the real embedding model.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from api.ingest_run import IngestOptions, run_ingest
from api.service import ensure_ontology
from search import corpus
from search.graph_spool import GraphSpool
from search.index import SearchIndex, refresh_after_ingest
from search.store import open_store

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "ingest" / "samples").glob("*.txt"))
RDF_TYPE = b"<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"


@pytest.fixture(scope="module")
def spooled(tmp_path_factory):
    """The five seeds ingested into an on-disk store, their graphs spooled on the way."""
    home = tmp_path_factory.mktemp("spool-home")
    store = open_store("oxigraph", path=home / "store")
    ensure_ontology(store)
    spool = GraphSpool(home)
    report = run_ingest(store, SEEDS, IngestOptions(batch_docs=2), spool=spool)
    assert not report.failed, [o.error for o in report.failed]
    yield home, store, spool, [o.graph_iri for o in report.outcomes]
    spool.close()
    store.close()


def _json(items):
    return [it.to_json() for it in items]


def test_the_spool_holds_every_graph_written_and_its_items_are_the_stores(spooled):
    _, store, spool, graphs = spooled
    assert len(graphs) == len(SEEDS) and all(g in spool for g in graphs)
    scratch = spool.memory_store(graphs)
    held, stored = corpus.store_state(scratch), corpus.store_state(store)
    assert {g: held[g] for g in graphs} == {g: stored[g] for g in graphs}
    from_spool = corpus.collect_items(scratch, graphs, corpus.Lookups(store))
    from_store = corpus.collect_items(store, graphs, corpus.Lookups(store))
    assert {it.type for it in from_store} == set(corpus.ITEM_TYPES)
    assert _json(from_spool) == _json(from_store)


def test_a_refresh_reads_the_spool_and_builds_the_index_the_store_would(spooled, tmp_path):
    home, store, spool, graphs = spooled
    with_spool = refresh_after_ingest(store, tmp_path / "with", spool=spool)
    without = refresh_after_ingest(store, tmp_path / "without")
    assert with_spool["spooled"] == len(graphs) and without["spooled"] == 0
    assert with_spool["items"] == without["items"] > 0
    a = SearchIndex.open(store, tmp_path / "with", refresh=False)
    b = SearchIndex.open(store, tmp_path / "without", refresh=False)
    rows = lambda index: sorted((it.iri, it.chunk, it.text, it.lex) for it in index.items)  # noqa: E731
    assert rows(a) == rows(b)
    for query in ("长期护理保险", "冀财社〔2022〕172号", "群众满意度", "medical assistance"):
        assert [h["iri"] for h in a.search(query, k=10)] == [h["iri"] for h in b.search(query, k=10)]


def test_a_spooled_graph_the_store_no_longer_holds_is_read_from_the_store(spooled, tmp_path):
    _, store, _, graphs = spooled
    stale = GraphSpool(tmp_path)
    real = GraphSpool(tmp_path)
    try:
        for g in graphs:
            data = spooled[2].read(g)
            real.add(g, data)
            if g == graphs[0]:
                # Another version of the first disclosure (one resource fewer), as if a parallel
                # ingest had replaced it after this one spooled it.
                lines = data.splitlines(keepends=True)
                typed = [i for i, line in enumerate(lines) if RDF_TYPE in line]
                data = b"".join(line for i, line in enumerate(lines) if i != typed[-1])
            stale.add(g, data)
        stats = refresh_after_ingest(store, tmp_path / "stale", spool=stale)
        assert stats["spooled"] == len(graphs) - 1
        index = SearchIndex.open(store, tmp_path / "stale", refresh=False)
        reference = corpus.collect_items(store, graphs, corpus.Lookups(store))
        assert sorted((it.iri, it.chunk, it.text) for it in index.items) == \
            sorted((it.iri, it.chunk, it.text) for it in reference)
    finally:
        stale.close()
        real.close()
    assert not stale.folder.exists() and not real.folder.exists()


def test_a_spool_that_cannot_be_read_back_costs_nothing_but_time(tmp_path):
    """Its folder removed under it (a cleaner, a full disk): the ingest still stores everything and
    the refresh reads the graphs from the store."""
    store = open_store("oxigraph", path=tmp_path / "store")
    ensure_ontology(store)
    spool = GraphSpool(tmp_path)
    shutil.rmtree(spool.folder)
    try:
        report = run_ingest(store, SEEDS[:2], IngestOptions(batch_docs=1), spool=spool)
        assert not report.failed and len(report.stored) == 2
        stats = refresh_after_ingest(store, tmp_path / "index", spool=spool)
        assert stats["spooled"] == 0 and stats["added_or_replaced"] == 2
        graphs = [o.graph_iri for o in report.outcomes]
        index = SearchIndex.open(store, tmp_path / "index", refresh=False)
        assert sorted((it.iri, it.chunk) for it in index.items) == \
            sorted((it.iri, it.chunk) for it in corpus.collect_items(store, graphs))
    finally:
        spool.close()
        store.close()
