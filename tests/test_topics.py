"""Policy-topic tagging: synonyms from topics.ttl, embeddings for paraphrases, evidence kept, and
funding (projects) told apart from mentions (部门职责)."""
from __future__ import annotations

import pytest

from search.embedder import get_embedder
from search.sparql import PREFIXES
from search.topics import TOPIC_GRAPH_PREFIX, TopicMatcher, load_topics, tag_graphs
from search_support import seeded

LTC = "https://w3id.org/budgetkg/id/topic/long-term-care-insurance"


@pytest.fixture(scope="module")
def matcher():
    return TopicMatcher(load_topics(), get_embedder())


def _slugs(matches):
    return [m.topic.slug for m in matches]


def test_scheme_is_read_from_the_ontology():
    topics = {t.slug: t for t in load_topics()}
    ltc = topics["long-term-care-insurance"]
    assert ltc.zh == "长期护理保险" and ltc.en == "Long-term care insurance"
    assert {"长期照护险", "长护险", "长期照护保险"} <= {l.text for l in ltc.labels}
    assert "https://w3id.org/budgetkg/id/topic/medical-assistance" in topics["insurance-premium-subsidy"].broader


@pytest.mark.parametrize("text,slug,label", [
    ("长期照护险", "long-term-care-insurance", "长期照护险"),
    ("长护险参保人数", "long-term-care-insurance", "长护险"),
    ("Long-term care insurance", "long-term-care-insurance", "Long-term care insurance"),
    ("新冠疫苗及接种费用县级财政补助资金", "covid-19-vaccination", "新冠疫苗及接种费用"),
])
def test_exact_synonym_match_keeps_the_label_as_evidence(matcher, text, slug, label):
    matches = matcher.label_matches(text)
    assert slug in _slugs(matches)
    assert next(m for m in matches if m.topic.slug == slug).evidence == f"label {label}"


def test_longer_label_wins_over_the_label_inside_it(matcher):
    # 城乡居民医保村级代办员 is about village agents, not about resident insurance itself.
    assert _slugs(matcher.label_matches("省级财政城乡居民医保村级代办员补助资金")) == ["village-insurance-agents"]


def _matches_by_trying_every_label(matcher, text):
    """The plain definition label_matches must agree with: every label, longest first, tried on
    the whole text; a span inside one already taken does not count."""
    taken, found = [], {}
    for topic, label in matcher._labels:
        if label.lang == "en":
            spans = [m.span() for m in matcher._en[id(label)].finditer(text.lower())]
        else:
            spans = [(i, i + len(label.text)) for i in range(len(text)) if text.startswith(label.text, i)]
        for s, e in spans:
            if any(s >= a and e <= b for a, b in taken):
                continue
            taken.append((s, e))
            found.setdefault(topic.iri, (topic.slug, f"label {label.text}", (s, e)))
    return sorted(found.values(), key=lambda m: m[2])


def test_label_matches_agree_with_trying_every_label_on_every_name_in_the_seeds(matcher):
    store = seeded()[0]
    names = [str(r["name"]) for r in store.query(PREFIXES + """
SELECT DISTINCT ?name WHERE { { ?x a bkg:Project } UNION { ?x a bkg:PerformanceIndicator } ?x rdfs:label ?name }""").rows]
    # English and mixed names too: the English labels take the substring-then-regex path.
    names += [f"{label.text} and {n}" for n in names[:40] for _, label in matcher._labels[:3]]
    names += ["Long-term care insurance subsidy", "long-term care insurance", "medical assistance funds (医疗救助)"]
    assert len(names) > 300
    tagged = 0
    for name in names:
        got = [(m.topic.slug, m.evidence, m.span) for m in matcher.label_matches(name)]
        assert got == _matches_by_trying_every_label(matcher, name), name
        tagged += bool(got)
    assert tagged > 50  # the comparison covered names that do match, not only names that do not


def test_paraphrase_without_a_listed_word_matches_by_embedding(matcher):
    matches = matcher.match(["失能人员护理补贴"])[0]
    assert _slugs(matches)[:1] == ["long-term-care-insurance"]
    assert matches[0].evidence.startswith("embedding ") and matches[0].score >= get_embedder().profile.topic_threshold


def test_generic_indicator_gets_no_topic(matcher):
    assert matcher.match(["资金发放率"])[0] == []
    assert matcher.match(["群众满意度"])[0] == []


def test_seed_projects_are_tagged_with_evidence():
    store, _, _ = seeded()
    rows = store.query(PREFIXES + f"""
SELECT ?label ?ev ?g WHERE {{
  GRAPH ?g {{ ?p bkg:topic <{LTC}> ; bkg:topicEvidence ?ev }}
  ?p a bkg:Project ; rdfs:label ?label .
}}""").rows
    tagged = {str(r["label"]) for r in rows}
    assert "长期照护险" in tagged
    assert any(str(r["ev"]).startswith("long-term-care-insurance: label") for r in rows)
    assert all(str(r["g"]).startswith(TOPIC_GRAPH_PREFIX) for r in rows)


def test_a_mention_in_duties_is_not_funding():
    # 部门职责 of several seeds mention 长期护理保险, but no passage carries a topic tag, and only
    # projects with money or a performance table are tagged.
    store, _, _ = seeded()
    passages = store.query(PREFIXES + "SELECT ?x WHERE { ?x a bkg:TextPassage ; bkg:topic ?t }").rows
    assert passages == []
    unfunded = store.query(PREFIXES + """
SELECT ?p WHERE { ?p a bkg:Project ; bkg:topic ?t .
  FILTER NOT EXISTS { ?p bkg:amount ?a } FILTER NOT EXISTS { ?p bkg:hasIndicator ?i } }""").rows
    assert unfunded == []
    duties = store.query(PREFIXES + """
SELECT ?x WHERE { ?x a bkg:TextPassage ; bkg:sectionKind "duties" ; bkg:text ?t FILTER(CONTAINS(?t, "长期护理保险")) }""")
    assert duties.rows, "the seeds' 部门职责 mention 长期护理保险 (precondition of this test)"


def test_one_topics_graph_per_disclosure_replaced_on_retagging():
    store, index, _ = seeded()
    disclosures = [g for g in store.graph_names() if "/graph/disclosure/" in g]
    topic_graphs = [g for g in store.graph_names() if g.startswith(TOPIC_GRAPH_PREFIX)]
    assert len(topic_graphs) == len(disclosures)
    before = store.count_triples()
    stats = tag_graphs(store, disclosures, index.embedder)
    assert stats["graphs"] == len(disclosures) and stats["tags"] > 0
    assert store.count_triples() == before  # replaced, not added twice
