"""The on-disk index at work: what a refresh encodes, how other processes follow it, the vector
index kind by size, concurrent queries, time limits and bounds, and recovery from a damaged folder.

All on the real seed disclosures with the real embedding model; the figures asserted are counts
the index reports about itself (encoder calls, kinds), not timings.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from ontology.errors import QueryTimeout
from search import index_build
from search.index import IndexOptions, SearchIndex
from search.store import open_store
from search.vectors import AnnOptions
from search_support import SEED_FILES, ingest_seeds

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ["long-term care insurance", "长护险", "新冠疫苗接种补助", "2101202", "冀财社〔2022〕218号",
           "医疗救助资金", "群众满意度", "archive sorting fees", "duties of the medical security bureau"]


@pytest.fixture(scope="module")
def two_seeds():
    store = open_store("memory")
    ingest_seeds(store, SEED_FILES[:2])
    return store


def _hits(index, query, **kw):
    return [h["iri"] for h in index.search(query, k=10, **kw)]


# ------------------------------------------------------------------ what a refresh encodes


def test_a_refresh_encodes_only_texts_the_cache_has_not_seen(tmp_path):
    store = open_store("memory")
    ingest_seeds(store, SEED_FILES[:1])
    index = SearchIndex.open(store, tmp_path / "idx", refresh=False)

    def texts(graphs):  # what the items of these disclosures embed: their texts and names
        return {t for it in index.items if it.graph in graphs for t in (it.embed_text, it.name) if t}

    first = index.refresh()
    (g1,) = index.manifest["graphs"]
    seen = texts({g1})
    assert first["texts_encoded"] == len(seen) and first["texts_cached"] == 0
    # Items embedding the same words share one vector: fewer encoder calls than vectors used.
    assert first["texts_encoded"] < first["encoded"] + sum(1 for it in index.items if it.name)

    ingest_seeds(store, SEED_FILES[3:4])
    second = index.refresh()
    (g2,) = set(index.manifest["graphs"]) - {g1}
    new = texts({g2})
    assert second["added_or_replaced"] == 1
    assert second["texts_encoded"] == len(new - seen) and second["texts_cached"] == len(new & seen)

    # A rebuild re-reads the store; the encoder sees nothing new.
    rebuilt = index.refresh(rebuild=True)
    assert rebuilt["texts_encoded"] == 0 and rebuilt["texts_cached"] == len(seen | new)
    assert rebuilt["items"] == second["items"]

    # A disclosure removed and added again costs the encoder nothing either.
    store.drop_graph(g2)
    assert index.refresh()["removed"] == 1
    ingest_seeds(store, SEED_FILES[3:4])
    again = index.refresh()
    assert again["added_or_replaced"] == 1 and again["texts_encoded"] == 0 and again["items"] == second["items"]


def test_a_refresh_reports_its_progress_in_graphs(two_seeds, tmp_path, monkeypatch):
    """What ``budgetkg ingest`` draws as its "index:" progress: graphs done of those changed,
    batch by batch, ending at the total; nothing when nothing changed."""
    import io

    from api.progress import ReportedProgress
    from search import corpus

    monkeypatch.setattr(corpus, "GRAPHS_PER_QUERY", 1)  # one graph a batch: two calls for two seeds
    calls: list[tuple[int, int]] = []
    index = SearchIndex.open(two_seeds, tmp_path / "idx", refresh=False)
    stats = index.refresh(progress=lambda done, total: calls.append((done, total)))
    assert stats["added_or_replaced"] == 2
    assert calls == [(1, 2), (2, 2)]
    calls.clear()
    assert index.refresh(progress=lambda done, total: calls.append((done, total)))["added_or_replaced"] == 0
    assert calls == []

    shown = io.StringIO()
    with ReportedProgress("index", stream=shown, interactive=False, every_s=3600) as progress:
        index.refresh(rebuild=True, progress=progress)
    assert shown.getvalue().splitlines()[-1].startswith("index: 2/2 documents (100%)")
    quiet = io.StringIO()
    with ReportedProgress("index", stream=quiet, interactive=False) as progress:
        index.refresh(progress=progress)
    assert quiet.getvalue() == ""


def test_refresh_in_worker_processes_gives_the_same_index(two_seeds, tmp_path, monkeypatch):
    inline = SearchIndex.open(two_seeds, tmp_path / "inline")
    monkeypatch.setattr(index_build, "POOL_MIN_GRAPHS", 1)
    pooled = SearchIndex.open(two_seeds, tmp_path / "pooled", options=IndexOptions(workers=2), refresh=False)
    stats = pooled.refresh()
    assert stats["workers"] == 2, stats
    assert stats["texts_encoded"] > 0 and stats["embed_s"] > 0 and stats["tokenize_s"] > 0
    assert len(pooled) == len(inline)
    for query in QUERIES:
        assert _hits(pooled, query) == _hits(inline, query), query


# ------------------------------------------------------------------ readers follow writers


def test_another_process_follows_a_newly_published_generation(tmp_path):
    store = open_store("memory")
    ingest_seeds(store, SEED_FILES[:1])
    index = SearchIndex.open(store, tmp_path / "idx")
    reader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import json, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from search import index as index_mod
        from search.index import SearchIndex
        from search.store import open_store
        index_mod.RELOAD_CHECK_S = 0.2
        # The reader never looks at the store (an empty one): it only follows the folder.
        index = SearchIndex.open(open_store("memory"), {str(tmp_path / 'idx')!r}, refresh=False)
        print(json.dumps({{"generation": index.generation}}), flush=True)
        sys.stdin.readline()  # the writer has published
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            hits = index.search("新冠病毒疫苗", k=5)
            if any(h["county"] == "兴县" for h in hits):
                break
            time.sleep(0.1)
        print(json.dumps({{"generation": index.generation, "counties": [h["county"] for h in hits]}}), flush=True)
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        before = json.loads(reader.stdout.readline())
        assert before["generation"] == index.generation
        ingest_seeds(store, SEED_FILES[3:4])
        index.refresh()
        reader.stdin.write("go\n")
        reader.stdin.flush()
        after = json.loads(reader.stdout.readline())
    finally:
        reader.kill()
        reader.wait()
    assert after["generation"] == index.generation != before["generation"]
    assert "兴县" in after["counties"]


# ------------------------------------------------------------------ index kind by size


def test_the_vector_index_kind_switches_at_the_configured_size(two_seeds, tmp_path):
    flat = SearchIndex.open(two_seeds, tmp_path / "flat")
    assert set(flat.kinds.values()) == {"flat"}
    small = IndexOptions(ann=AnnOptions(exact_limit=50, delta_limit=20, compress_limit=120))
    ann = SearchIndex.open(two_seeds, tmp_path / "ann", options=small)
    sizes = {name: len(space) for name, space in ann._view.spaces.items()}
    for name, kind in ann.kinds.items():
        expected = "flat" if sizes[name] < 50 else ("ivf-flat" if sizes[name] < 120 else "ivf-sq8")
        assert kind.split("+")[0] == expected, (name, sizes[name], kind)
    assert "ivf-flat" in {k.split("+")[0] for k in ann.kinds.values()}
    assert "ivf-sq8" in {k.split("+")[0] for k in ann.kinds.values()}
    # With these few vectors every list is probed: approximate and exact rank alike.
    for query in QUERIES:
        assert _hits(ann, query)[:5] == _hits(flat, query)[:5], query
        assert _hits(ann, query, mode="dense")[0] == _hits(flat, query, mode="dense")[0], query
    probe = flat.items_for(next(it.iri for it in flat.items if it.type == "indicator"))[0]
    assert [h["iri"] for h in ann.similar(probe.iri, k=5)][:3] == [h["iri"] for h in flat.similar(probe.iri, k=5)][:3]


def test_new_vectors_go_to_a_delta_and_merge_into_the_base(tmp_path):
    store = open_store("memory")
    ingest_seeds(store, SEED_FILES[:1])
    options = IndexOptions(ann=AnnOptions(exact_limit=10_000, delta_limit=30))
    index = SearchIndex.open(store, tmp_path / "idx", options=options)
    base_before = {n: e.get("base") for n, e in index.manifest["spaces"].items()}
    assert base_before["indicator"]  # > 30 vectors: written as a base at once
    ingest_seeds(store, SEED_FILES[3:4])  # another county
    index.refresh()
    spaces = index.manifest["spaces"]
    assert spaces["indicator"]["base"] != base_before["indicator"] or spaces["indicator"]["delta_count"]
    # Whatever went to the base and what waits in the delta, search sees both disclosures.
    counties = {h["county"] for h in index.search("群众满意度", k=20, type="indicator")}
    assert len(counties) == 2
    # A removed disclosure leaves the search at once (its vectors are skipped until the next merge).
    gone = sorted(index.manifest["graphs"])[0]
    county = next(it.county for it in index.items if it.graph == gone)
    store.drop_graph(gone)
    index.refresh()
    assert county not in {h["county"] for h in index.search("群众满意度", k=20, type="indicator")}


# ------------------------------------------------------------------ queries: threads, limits, bounds


@pytest.fixture(scope="module")
def seeded_index():
    from search_support import seeded

    return seeded()[1]


def test_concurrent_searches_give_the_sequential_results(seeded_index):
    work = [(q, m) for q in QUERIES for m in ("hybrid", "dense", "lexical")] * 3
    expected = {(q, m): _hits(seeded_index, q, mode=m) for q, m in set(work)}
    expected_similar = {q: [h["iri"] for h in seeded_index.similar(q, k=10)] for q in QUERIES}
    got, errors = {}, []

    def run(part):
        try:
            for q, m in part:
                got.setdefault((q, m), []).append(_hits(seeded_index, q, mode=m))
                got.setdefault(("similar", q), []).append([h["iri"] for h in seeded_index.similar(q, k=10)])
        except Exception as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(work[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for key, results in got.items():
        want = expected_similar[key[1]] if key[0] == "similar" else expected[key]
        assert all(r == want for r in results), key


def test_a_query_reads_the_generation_it_started_on_while_a_refresh_installs_the_next(tmp_path, monkeypatch):
    store = open_store("memory")
    ingest_seeds(store, SEED_FILES[:1])
    index = SearchIndex.open(store, tmp_path / "idx")
    query = "群众满意度"
    expected = _hits(index, query)
    assert expected
    first = index._view
    (gone,) = index.manifest["graphs"]
    store.drop_graph(gone)
    ingest_seeds(store, SEED_FILES[3:4])  # another county takes its place

    # Half-way through a hybrid search (after it took its view, before the dense and lexical
    # rankings), a refresh publishes and installs the next generation: the query still answers
    # from its own, lexical documents of the disclosure removed meanwhile included.
    original, refreshed = index.dense, []

    def refresh_meanwhile(*args, **kw):
        if not refreshed:
            refreshed.append(index.refresh())
        return original(*args, **kw)

    monkeypatch.setattr(index, "dense", refresh_meanwhile)
    assert _hits(index, query) == expected
    assert refreshed and refreshed[0]["removed"] == 1 and index.generation != first.name
    monkeypatch.undo()
    # The next query takes the new view: the removed disclosure is gone.
    after = _hits(index, query)
    assert after and not set(after) & set(expected)

    # The new view took over the open files (same files on disk); a rebuild replaces them.
    second = index._view
    assert second.items is first.items and second.searcher is not first.searcher
    index.refresh(rebuild=True)
    assert index._view.items is not second.items and index.manifest["files"] != second.manifest["files"]
    assert _hits(index, query) == after


def test_a_deadline_stops_search_and_similar(seeded_index):
    past = time.monotonic() - 0.001
    with pytest.raises(QueryTimeout):
        seeded_index.search("医疗救助", deadline=past)
    with pytest.raises(QueryTimeout):
        seeded_index.similar("群众满意度", deadline=past)
    assert seeded_index.search("医疗救助", deadline=time.monotonic() + 30)


def test_input_is_bounded(seeded_index):
    hits = seeded_index.search("长期照护险 " * 5000, k=10_000)
    assert 0 < len(hits) <= seeded_index.options.max_k
    assert hits[0]["label"] in ("长期照护险", "长护险参保人数") or "长" in hits[0]["label"]
    assert len(seeded_index.similar("满意度 " * 5000, k=500)) <= seeded_index.options.max_k


# ------------------------------------------------------------------ damaged folders


@pytest.mark.parametrize("damage", ["crash-mid-refresh", "item-table", "lexical-index", "base-index"])
def test_a_damaged_index_folder_is_rebuilt_from_the_store(two_seeds, tmp_path, damage):
    options = IndexOptions(ann=AnnOptions(exact_limit=100_000, delta_limit=30))
    first = SearchIndex.open(two_seeds, tmp_path / "idx", options=options)
    n, generation = len(first), first.generation
    expected = _hits(first, "长期照护险")
    folder = tmp_path / "idx"
    if damage == "crash-mid-refresh":
        (folder / "pending.json").write_text('{"generation": "g999999"}')
    elif damage == "item-table":
        (folder / "items.sqlite").write_bytes(b"not a database" * 100)
        for extra in ("items.sqlite-wal", "items.sqlite-shm"):
            (folder / extra).unlink(missing_ok=True)
    elif damage == "lexical-index":
        for path in (folder / "lexical").iterdir():
            path.unlink()
    else:
        base = next((folder / "ann").glob("*.faiss"))
        base.write_bytes(base.read_bytes()[:100])
    rebuilt = SearchIndex.open(two_seeds, folder, options=options)
    assert len(rebuilt) == n and rebuilt.generation != generation
    assert _hits(rebuilt, "长期照护险") == expected


# ------------------------------------------------------------------ serve start-up


def test_serve_brings_an_index_missing_a_disclosure_up_to_date_before_search_is_offered(tmp_path):
    """``load_index`` compares the index it finds with the store by graphs and file hashes only
    (not by reading every graph's resources): a disclosure stored after the index was built is
    noticed, and the index refreshed, before search is offered."""
    from api.app_state import IndexHandle, load_index
    from api.settings import Settings

    store = open_store("memory")
    ingest_seeds(store, SEED_FILES[:1])
    SearchIndex.open(store, tmp_path / "home" / "index")
    ingest_seeds(store, SEED_FILES[3:4])  # stored after the index was built

    settings = Settings(home=tmp_path / "home")
    handle = IndexHandle()
    load_index(handle, store, settings)
    assert {"index", "warm_up"} <= set(handle.readiness.at) and not handle.readiness.failed
    assert handle.index is not None
    assert not handle.index.is_stale()  # the full comparison agrees
    graphs = {it.graph for it in handle.index.items}
    assert len(graphs) == 2


def test_the_question_parsers_gazetteer_is_saved_with_its_generation(two_seeds, tmp_path):
    """The gazetteer a question needs is built once per index generation and saved beside it: a
    second process (here: a second index object) on the same generation loads it instead of
    reading the store again, and a new generation builds its own."""
    from search.qa import GAZETTEER_FORMAT, gazetteer

    index = SearchIndex.open(two_seeds, tmp_path / "idx")
    first = gazetteer(two_seeds, index)
    saved = tmp_path / "idx" / index.generation / f"gazetteer-v{GAZETTEER_FORMAT}.pickle"
    assert saved.is_file()

    class NoQueries:  # a store that must not be read: the gazetteer comes from the file
        def __getattr__(self, name):
            return getattr(two_seeds, name)

        def query(self, *a, **kw):
            raise AssertionError("the saved gazetteer should have been loaded")

    reader = NoQueries()
    again = SearchIndex.open(reader, tmp_path / "idx", refresh=False)
    loaded = gazetteer(reader, again)
    assert [p.label for p in loaded.places] == [p.label for p in first.places]
    assert loaded.project_names == first.project_names and loaded.holdings == first.holdings
    assert loaded.place_index.find("乐亭县") or loaded.place_index.find("兴县")


def test_an_ingest_saves_the_gazetteer_and_project_table_with_the_new_generation(tmp_path):
    """``budgetkg ingest`` refreshes the index through ``refresh_after_ingest``: the question
    parser's gazetteer and the project table of the new generation are saved beside it, so the
    first question (and ``serve``'s warm-up) load them instead of reading the store (~20 s at
    10,000 disclosures); a later ingest saves its own with its own generation."""
    from search.index import refresh_after_ingest
    from search.project_facts import FORMAT as FACTS_FORMAT
    from search.qa import GAZETTEER_FORMAT, project_facts

    store = open_store("memory")
    ingest_seeds(store, SEED_FILES[:1])
    stats = refresh_after_ingest(store, tmp_path / "idx", "use-multilingual", 1)
    assert set(stats["prepared"]) == {"gazetteer_s", "project_facts_s"}
    first = SearchIndex.open(store, tmp_path / "idx", refresh=False).generation
    for name in (f"gazetteer-v{GAZETTEER_FORMAT}.pickle", f"project-facts-v{FACTS_FORMAT}.pickle"):
        assert (tmp_path / "idx" / first / name).is_file()
    ingest_seeds(store, SEED_FILES[1:2])
    refresh_after_ingest(store, tmp_path / "idx", "use-multilingual", 1)
    index = SearchIndex.open(store, tmp_path / "idx", refresh=False)
    assert index.generation != first
    assert (tmp_path / "idx" / index.generation / f"project-facts-v{FACTS_FORMAT}.pickle").is_file()
    facts = project_facts(store, index)
    assert len({facts.disclosures[d] for d in facts.disclosure_of}) == 2  # both disclosures' projects
