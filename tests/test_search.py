"""Hybrid search over the real seed graph, and the index's life cycle: persisted, tied to one
model, refreshed incrementally when disclosures are added, replaced or removed."""
from __future__ import annotations

import json
import shutil

import pytest

from ontology.errors import IndexMismatch, QueryRejected
from search import lexical
from search.index import SearchIndex
from search.store import open_store
from search_support import SEED_FILES, ingest_seeds, seeded

HIT_KEYS = {"iri", "type", "label", "text", "score", "department", "county", "fiscal_year", "project", "source"}


@pytest.fixture(scope="module")
def index():
    return seeded()[1]


def _labels(hits):
    return [h["label"] for h in hits]


# ------------------------------------------------------------------ ranking


def test_english_query_finds_the_chinese_project(index):
    hits = index.search("long-term care insurance", k=5)
    assert any("长期照护险" in h["label"] or "长护险" in h["label"] for h in hits[:3]), _labels(hits)
    dense = index.search("long-term care insurance", k=5, mode="dense")
    assert any("长期照护" in h["label"] or "长护险" in h["label"] for h in dense[:3]), _labels(dense)


def test_budget_code_is_found_lexically(index):
    hits = index.search("2101202", k=5, mode="lexical")
    assert hits and hits[0]["label"].startswith("2101202"), _labels(hits)
    assert index.search("2101202", k=3)[0]["label"].startswith("2101202")


@pytest.mark.parametrize("query", ["冀财社〔2022〕218号", "冀财社[2022]218 号", "冀财社(2022)218号"])
def test_document_number_is_found_lexically_in_any_bracket_style(index, query):
    hits = index.search(query, k=10, mode="lexical")
    assert hits
    assert any(h["county"] == "霸州市" and (h["type"] == "legal" or "医疗服务与保障能力提升" in (h["project"] or ""))
               for h in hits[:3]), [(h["type"], h["label"]) for h in hits]
    assert "冀财社〔2022〕218号" in {h.get("document_number") for h in index.search(query, k=10)}


def test_short_domain_word_is_found(index):
    hits = index.search("长护险", k=5, mode="lexical")
    assert any("长护险" in h["label"] for h in hits[:3]), _labels(hits)


def test_type_filter(index):
    for kind in ("indicator", "project", "legal", "text"):
        hits = index.search("医疗救助", k=5, type=kind)
        assert hits and all(h["type"] == kind for h in hits)
    with pytest.raises(QueryRejected, match="indicator"):
        index.search("医疗救助", type="nonsense")


def test_hits_carry_context_and_source(index):
    hits = index.search("新冠疫苗", k=5)
    assert hits
    for h in hits:
        assert HIT_KEYS <= set(h)
        assert h["county"] and h["fiscal_year"] and h["source"]["file"]
    assert len({h["iri"] for h in hits}) == len(hits)  # one hit per resource


def test_every_kind_of_item_is_indexed(index):
    by_type = index.stats()["by_type"]
    assert by_type.get("indicator", 0) > 100 and by_type.get("project", 0) > 30
    assert by_type.get("legal", 0) > 0 and by_type.get("text", 0) > 10 and by_type.get("line", 0) > 20


def test_empty_query_is_rejected(index):
    with pytest.raises(QueryRejected):
        index.search("   ")


@pytest.mark.parametrize("text,expected", [
    ("冀财社[2022]218 号", "冀财社〔2022〕218号"),
    ("（冀财社[2022]172 号）", "冀财社〔2022〕172号"),
    ("兴财社【2023】76号", "兴财社〔2023〕76号"),
])
def test_document_number_tokens(text, expected):
    assert expected in lexical.tokenize(text)


# ------------------------------------------------------------------ life cycle


@pytest.fixture(scope="module")
def small_store():
    store = open_store("memory")
    ingest_seeds(store, SEED_FILES[:2])
    return store


def test_index_persists_and_reopens_without_encoding(small_store, tmp_path):
    first = SearchIndex.open(small_store, tmp_path / "idx")
    assert len(first) > 0
    second = SearchIndex.open(small_store, tmp_path / "idx", refresh=False)
    assert second.generation == first.generation and len(second) == len(first)
    stats = second.refresh()
    assert stats["encoded"] == 0 and stats["added_or_replaced"] == 0
    manifest = json.loads((tmp_path / "idx" / first.generation / "manifest.json").read_text())
    assert manifest["model"] == "use-multilingual" and len(manifest["graphs"]) == 2


def test_index_refuses_vectors_of_another_model(small_store, tmp_path):
    SearchIndex.open(small_store, tmp_path / "idx")
    with pytest.raises(IndexMismatch, match="use-multilingual"):
        SearchIndex.open(small_store, tmp_path / "idx", model="some/other-model")


def test_index_refreshes_only_what_changed(tmp_path):
    store = open_store("memory")
    ingest_seeds(store, SEED_FILES[:1])
    idx = SearchIndex.open(store, tmp_path / "idx")
    n_first = len(idx)
    # A disclosure added to the store: the reopened index is stale and encodes only the new graph.
    ingest_seeds(store, SEED_FILES[3:4])
    reopened = SearchIndex.open(store, tmp_path / "idx", refresh=False)
    assert reopened.is_stale()
    stats = reopened.refresh()
    assert stats["added_or_replaced"] == 1 and 0 < stats["encoded"] < len(reopened)
    assert len(reopened) > n_first
    assert any(h["county"] == "兴县" for h in reopened.search("新冠病毒疫苗", k=5))
    # Re-ingesting the same file changes nothing.
    ingest_seeds(store, SEED_FILES[3:4])
    assert reopened.refresh()["encoded"] == 0
    # A removed disclosure leaves the index.
    for g in [g for g in store.graph_names() if "/disclosure/" in g]:
        if any(it.graph == g and it.county == "兴县" for it in reopened.items):
            store.drop_graph(g)
    stats = reopened.refresh()
    assert stats["removed"] == 1 and len(reopened) == n_first
    assert not any(it.county == "兴县" for it in reopened.items)


def test_missing_or_damaged_index_is_rebuilt_from_the_store(small_store, tmp_path):
    idx = SearchIndex.open(small_store, tmp_path / "idx")
    n = len(idx)
    (tmp_path / "idx" / idx.generation / "vectors.npy").unlink()
    rebuilt = SearchIndex.open(small_store, tmp_path / "idx")
    assert len(rebuilt) == n and rebuilt.generation != idx.generation
    shutil.rmtree(tmp_path / "idx")
    assert len(SearchIndex.open(small_store, tmp_path / "idx")) == n


def test_a_model_change_rebuilds_when_asked(small_store, tmp_path):
    from search.index import refresh_after_ingest

    idx = SearchIndex.open(small_store, tmp_path / "idx")
    manifest_path = tmp_path / "idx" / idx.generation / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["model"] = "an-older-model"  # as if the folder had been built with another model
    manifest_path.write_text(json.dumps(manifest))
    stats = refresh_after_ingest(small_store, tmp_path / "idx", "use-multilingual", 1)
    assert stats["encoded"] == len(idx)
    assert SearchIndex.open(small_store, tmp_path / "idx", refresh=False).manifest["model"] == "use-multilingual"


def test_large_corpora_switch_to_an_inverted_file_index(monkeypatch):
    # About the FAISS layer only: synthetic unit vectors, no encoder involved.
    import numpy as np

    from search import vectors

    monkeypatch.setattr(vectors, "EXACT_LIMIT", 500)
    rng = np.random.default_rng(7)
    data = rng.standard_normal((3000, 32)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    types = ["indicator"] * 2800 + ["legal"] * 200
    vindex = vectors.VectorIndex(data, types)
    assert vindex.kinds == {"indicator": "IndexIVFFlat", "legal": "IndexFlatIP"}
    found = vindex.search(data[:50], 1, ["indicator"])
    assert sum(hits[0][0] == i for i, hits in enumerate(found)) >= 48  # each vector finds itself
    assert all(pos >= 2800 for pos, _ in vindex.search(data[0], 5, ["legal"])[0])


def test_a_reader_follows_a_generation_published_by_another_writer(tmp_path, monkeypatch):
    from search import index as index_mod

    store = open_store("memory")
    ingest_seeds(store, SEED_FILES[:1])
    reader = SearchIndex.open(store, tmp_path / "idx")
    ingest_seeds(store, SEED_FILES[3:4])
    writer = SearchIndex.open(store, tmp_path / "idx")  # e.g. `budgetkg ingest` in another process
    assert writer.generation != reader.generation
    monkeypatch.setattr(index_mod, "RELOAD_CHECK_S", 0.0)
    hits = reader.search("新冠病毒疫苗", k=5)
    assert reader.generation == writer.generation
    assert any(h["county"] == "兴县" for h in hits)
