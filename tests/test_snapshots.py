"""Readers of the embedded store see published generations only (``search.snapshots``).

On a real store on disk filled with the real samples: a reader keeps the generation it opened
until it moves to a newer one; writes are invisible until published; a reader querying while a
writer replaces disclosures never sees one half-replaced; old generations are pruned; a store made
before snapshots existed keeps working; personal data never reaches the public snapshot; a failed
or interrupted write leaves the stored disclosures as they were.
"""
from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from api.service import ensure_ontology, ingest_paths
from ontology.errors import StoreError
from search import snapshots
from search.store import open_store
from search.store_oxigraph import OxigraphStore, current_snapshot

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "ingest" / "samples").glob("*.txt"))
HOSTILE = ROOT / "tests" / "data" / "hostile" / "hostile_hebei_2023.txt"
PHONE = "13912345678"  # printed in the hostile disclosure's contact line
DISCLOSURE_GRAPHS = """
SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o }
  FILTER(STRSTARTS(STR(?g), "https://w3id.org/budgetkg/graph/disclosure/")) } GROUP BY ?g"""


def graph_sizes(store) -> dict[str, int]:
    return {str(r["g"]): int(r["n"].toPython()) for r in store.query(DISCLOSURE_GRAPHS).rows}


def writer(path: Path):
    store = open_store("oxigraph", path=path)
    ensure_ontology(store)
    return store


def test_reader_keeps_its_generation_until_it_moves(tmp_path):
    path = tmp_path / "store"
    w = writer(path)
    ingest_paths(w, SEEDS[:1])
    first = w.publish()
    reader = open_store("oxigraph", path=path, read_only=True)
    reader.FOLLOW_CHECK_S = 3600.0  # it moves only when told to
    assert reader.generation == first and len(graph_sizes(reader)) == 1

    ingest_paths(w, SEEDS[1:3])
    assert len(graph_sizes(open_store("oxigraph", path=path, read_only=True))) == 1  # not published yet
    second = w.publish()
    assert second != first and snapshots.current_generation(path) == second
    assert len(graph_sizes(reader)) == 1  # opened before the publish: still the old generation
    assert reader.reopen_if_stale(force=True) is True
    assert reader.generation == second and len(graph_sizes(reader)) == 3
    assert len(graph_sizes(open_store("oxigraph", path=path, read_only=True))) == 3
    w.close()


def test_reader_follows_a_newer_generation_by_itself(tmp_path):
    path = tmp_path / "store"
    w = writer(path)
    ingest_paths(w, SEEDS[:1])
    w.publish()
    reader = open_store("oxigraph", path=path, read_only=True)
    ingest_paths(w, SEEDS[1:2])
    w.publish()
    time.sleep(OxigraphStore.FOLLOW_CHECK_S + 0.1)
    assert len(graph_sizes(reader)) == 2  # the query itself noticed the newer generation
    w.close()


def test_a_reader_never_sees_a_half_replaced_disclosure(tmp_path):
    """A writer re-ingests the samples again and again, publishing after each file, while a
    reader queries: every disclosure graph the reader sees is whole."""
    path = tmp_path / "store"
    w = writer(path)
    ingest_paths(w, SEEDS)
    w.publish()
    whole = graph_sizes(open_store("oxigraph", path=path, read_only=True))
    assert len(whole) == len(SEEDS)
    reader = open_store("oxigraph", path=path, read_only=True)
    reader.FOLLOW_CHECK_S = 0.0  # look for a newer generation before every query
    stop = threading.Event()
    errors: list[BaseException] = []

    def write_loop():
        try:
            for _ in range(2):
                for seed in SEEDS:
                    ingest_paths(w, [seed])
                    w.publish()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            stop.set()

    thread = threading.Thread(target=write_loop)
    thread.start()
    seen, generations = 0, set()
    while not stop.is_set():
        assert graph_sizes(reader) == whole
        seen += 1
        generations.add(reader.generation)
    thread.join()
    assert not errors, errors
    assert seen > 0 and len(generations) > 1  # it really read while the writer replaced
    w.close()


def test_the_primary_itself_would_show_half_replaced_disclosures(tmp_path):
    """Why readers need snapshots: between the drop and the load of a batch the primary lacks it."""
    path = tmp_path / "store"
    w = writer(path)
    ingest_paths(w, SEEDS[:1])
    w.publish()
    graph = next(iter(graph_sizes(w)))
    w._store.remove_graph(ox.NamedNode(graph))  # the first step of a replace, as load_nquads does it
    assert graph not in graph_sizes(w)
    assert graph in graph_sizes(open_store("oxigraph", path=path, read_only=True))  # published: whole


def test_old_generations_are_pruned_but_never_the_current_one(tmp_path):
    path = tmp_path / "store"
    w = writer(path)
    names = [w.publish() for _ in range(6)]
    # Superseded moments ago: kept for readers still inside a query on them.
    assert snapshots.generations(path)[-6:] == names
    deleted = snapshots.prune(path, keep=3, grace_s=0)
    assert snapshots.generations(path) == names[-3:]
    assert set(deleted) >= set(names[:3])
    assert snapshots.current_generation(path) == names[-1] and current_snapshot(path).name == names[-1]
    assert snapshots.prune(path, keep=0, grace_s=0) == names[-3:-1]  # the current one stays
    assert snapshots.generations(path) == names[-1:]
    w.close()


def test_a_store_made_before_snapshots_keeps_working(tmp_path):
    """The old layout: primary public/private stores, no snapshots folder."""
    path = tmp_path / "store"
    old = writer(path)
    ingest_paths(old, SEEDS[:2])
    old.close()
    for generation in snapshots.generations(path):  # as if snapshots had never existed
        shutil.rmtree(snapshots.snapshots_dir(path) / generation)
    (snapshots.snapshots_dir(path) / "CURRENT").unlink()
    assert current_snapshot(path) is None

    reader = open_store("oxigraph", path=path, read_only=True)  # falls back to the primary
    assert reader.generation is None and len(graph_sizes(reader)) == 2
    w = open_store("oxigraph", path=path)  # the first writer publishes what is there
    assert current_snapshot(path) is not None
    assert reader.reopen_if_stale(force=True) and reader.generation == snapshots.current_generation(path)
    assert len(graph_sizes(reader)) == 2
    w.close()


def test_personal_data_never_reaches_the_public_snapshot(tmp_path):
    path = tmp_path / "store"
    w = writer(path)
    report = ingest_paths(w, [HOSTILE])
    assert report.stored
    w.close()  # a writer publishes what it wrote when it closes
    folder = current_snapshot(path)
    public = ox.Store.read_only(str(folder / "public"))
    private = ox.Store.read_only(str(folder / "private"))
    phone = [q for q in private if PHONE in str(q.object)]
    assert phone, "the private snapshot holds the contact's phone"
    assert not [q for q in public if PHONE in str(q.object)]
    assert not [g for g in public.named_graphs() if "/graph/private/" in str(g)]
    reader = open_store("oxigraph", path=path, read_only=True)
    assert reader.query(f"ASK {{ ?s ?p ?o FILTER(CONTAINS(STR(?o), '{PHONE}')) }}").boolean is False


def graph_quads(store, graph: str) -> set:
    return set(store._store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))


def test_a_failed_write_leaves_the_stored_disclosure_as_it_was(tmp_path):
    path = tmp_path / "store"
    w = writer(path)
    ingest_paths(w, SEEDS[:1])
    w.publish()
    # A corrected copy of the same disclosure (same department and year), stored but not published.
    corrected = tmp_path / "corrected.txt"
    text = SEEDS[0].read_text(encoding="utf-8")
    corrected.write_text(text.replace("建立健全医疗保障基金安全防控机制", "建立医疗保障基金安全防控机制"), encoding="utf-8")
    ingest_paths(w, [corrected])
    graph = next(iter(graph_sizes(w)))
    before = graph_quads(w, graph)
    with pytest.raises(StoreError, match="left as they were"):
        w.load_nquads([graph], b"<https://w3id.org/budgetkg/id/x> <broken", b"")
    assert graph_quads(w, graph) == before  # the unpublished correction, not the published original
    assert not (path / "WRITING.json").exists()
    w.close()


def test_an_interrupted_write_is_undone_by_the_next_writer(tmp_path):
    """A process killed between the drop and the load of a batch leaves its journal behind."""
    path = tmp_path / "store"
    w = writer(path)
    ingest_paths(w, SEEDS[:2])
    w.publish()
    sizes = graph_sizes(w)
    victim = sorted(sizes)[0]
    (path / "WRITING.json").write_text(f'{{"graphs": ["{victim}", "https://w3id.org/budgetkg/graph/disclosure/new"]}}')
    w._store.remove_graph(ox.NamedNode(victim))  # the drop happened, the load never came
    w._store.flush()
    w._stores = None  # die without closing (and so without publishing)
    del w
    again = open_store("oxigraph", path=path)
    assert sorted(again.recovered) == sorted([victim, "https://w3id.org/budgetkg/graph/disclosure/new"])
    assert graph_sizes(again) == sizes
    assert not (path / "WRITING.json").exists()
    again.close()


def test_a_reader_cannot_write(tmp_path):
    path = tmp_path / "store"
    writer(path).close()
    reader = open_store("oxigraph", path=path, read_only=True)
    with pytest.raises(StoreError, match="read-only"):
        reader.drop_graph("https://w3id.org/budgetkg/graph/disclosure/x")
    with pytest.raises(StoreError, match="read-only"):
        reader.publish()


def test_memory_and_remote_stores_publish_nothing():
    assert open_store("memory").publish() is None
    remote = open_store("sparql", query_url="http://127.0.0.1:9/query")
    assert remote.publish() is None
