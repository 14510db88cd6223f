"""Similar performance indicators across departments and years, on the real seed graph."""
from __future__ import annotations

import pytest

from ontology.errors import QueryRejected
from search_support import seeded

KEYS = {"iri", "label", "target_value", "level1", "level2", "project", "department", "county", "fiscal_year",
        "score"}


@pytest.fixture(scope="module")
def index():
    return seeded()[1]


def _indicator(index, label):
    hits = index.search(label, k=20, type="indicator", mode="lexical")
    return next(h for h in hits if h["label"] == label)


def test_similar_to_an_indicator_excludes_it(index):
    query = _indicator(index, "长护险参保人数")
    hits = index.similar(query["iri"], k=10)
    assert len(hits) == 10
    assert query["iri"] not in {h["iri"] for h in hits}
    assert all(KEYS <= set(h) for h in hits)
    assert any("长护险" in h["label"] or "参保人数" in h["label"] for h in hits[:3]), [h["label"] for h in hits]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_similar_crosses_departments_and_years(index):
    query = _indicator(index, "慢特病审核人次")
    hits = index.similar(query["iri"], k=10)
    elsewhere = [h for h in hits if (h["county"], h["fiscal_year"]) != (query["county"], query["fiscal_year"])]
    assert elsewhere, "a 2024 乐亭县 table repeats the 2023 indicator"


def test_similar_to_free_text(index):
    hits = index.similar("群众满意度", k=10)
    assert hits and all(KEYS <= set(h) for h in hits)
    assert len({h["county"] for h in hits}) >= 2
    assert hits[0]["level1"]


def test_similar_only_returns_indicators(index):
    hits = index.similar("医疗救助", k=10)
    indicator_iris = {it.iri for it in index.items if it.type == "indicator"}
    assert {h["iri"] for h in hits} <= indicator_iris


def test_unknown_iri_is_a_404(index):
    with pytest.raises(QueryRejected) as err:
        index.similar("https://w3id.org/budgetkg/id/disclosure/none/indicator/1")
    assert err.value.status == 404


def test_english_measure_phrasings_reach_the_chinese_measure_words():
    from search.measure_terms import chinese_measure_words

    assert chinese_measure_words("how satisfied are the people served") == ["满意度"]
    assert chinese_measure_words("enrolment rate of the basic insurance") == ["参保率"]
    assert "参保人数" in chinese_measure_words("number of people enrolled")
    assert chinese_measure_words("群众满意度") == []  # Chinese text is matched by the model itself
    assert chinese_measure_words("the weather in spring") == []


@pytest.mark.parametrize("phrasing, measure", [
    ("how happy the people served are with the work", "满意度"),
    ("share of the subsidy money that was paid out", "率"),
    ("number of people who joined the insurance", "参保"),
])
def test_plain_english_phrasings_find_that_measure_first(index, phrasing, measure):
    hits = index.similar(phrasing, k=5)
    labels = [h["label"] for h in hits]
    assert sum(measure in label for label in labels) >= 3, labels
    if measure == "满意度":  # the same measure from several counties, not one table's copies
        assert len({h["county"] for h in hits if measure in h["label"]}) >= 2, hits
