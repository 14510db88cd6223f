"""Policy topics: tag projects and indicators with ``bkg:topic`` from ``ontology/topics.ttl``.

Two kinds of evidence, both kept as a ``bkg:topicEvidence`` literal beside the tag:

- a label match: one of the topic's zh/en prefLabels or altLabels (the synonyms the documents
  print: 长期照护险, 长护险 ...) occurs in the project's name or aliases, or the indicator's label.
  Where two labels overlap, the longer wins (城乡居民医保村级代办员 is about village agents, not
  about resident insurance);
- an embedding match: the name's vector is close to a label's vector (cosine above the model's
  tuned threshold, ``embedder.profile_for``), for names that use none of the listed words.

A mention in a narrative (部门职责) is not funding: only projects with money or a
performance-target table, and the indicators of such tables, are tagged. Tags go into one named
graph per disclosure (``…/graph/topics/{key}``), replaced whenever the disclosure is re-tagged and
dropped with it.

At scale the index refresh tags the disclosures it has just read (``tag_items``): the projects and
indicators come from its items instead of another query, the names' vectors from the embedding
cache the refresh has just filled (an indicator's name is the text of its name vector), and the
topic graphs of a whole batch are written in one transaction.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS

from ontology import ONTOLOGY_DIR
from ontology.terms import BKG, GRAPH_BASE, INSTANCE_BASE
from search.corpus import DISCLOSURE_GRAPH_PREFIX, graphs_per_query, in_graphs
from search.sparql import PREFIXES, text
from search.store import GraphStore, select_all

TOPIC_BASE = INSTANCE_BASE + "topic/"
TOPIC_GRAPH_PREFIX = GRAPH_BASE + "topics/"
TOPICS_FILE = ONTOLOGY_DIR / "topics.ttl"


@dataclass(frozen=True)
class Label:
    text: str
    lang: str  # "zh" or "en"
    kind: str  # "prefLabel" or "altLabel"


@dataclass
class Topic:
    iri: str
    slug: str
    zh: str
    en: str
    labels: list[Label] = field(default_factory=list)
    broader: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"iri": self.iri, "slug": self.slug, "label": self.zh, "label_en": self.en}


def load_topics(path: Path | str = TOPICS_FILE) -> list[Topic]:
    """The policy topics of the scheme (every concept under ``…/id/topic/``)."""
    return list(_load_topics(str(path)))


@lru_cache(maxsize=4)
def _load_topics(path: str) -> tuple[Topic, ...]:
    if not Path(path).exists():
        return ()
    graph = Graph().parse(path, format="turtle")
    topics = []
    for concept in sorted(set(graph.subjects(RDF.type, SKOS.Concept))):
        if not str(concept).startswith(TOPIC_BASE):
            continue
        labels: list[Label] = []
        for kind, prop in (("prefLabel", SKOS.prefLabel), ("altLabel", SKOS.altLabel)):
            for lit in graph.objects(concept, prop):
                lang = "en" if (lit.language or "").startswith("en") else "zh"
                labels.append(Label(str(lit).strip(), lang, kind))
        zh = next((l.text for l in labels if l.kind == "prefLabel" and l.lang == "zh"), "")
        en = next((l.text for l in labels if l.kind == "prefLabel" and l.lang == "en"), "")
        topics.append(Topic(iri=str(concept), slug=str(concept)[len(TOPIC_BASE):], zh=zh or en, en=en or zh,
                            labels=sorted(set(labels), key=lambda l: (-len(l.text), l.text)),
                            broader=sorted(str(b) for b in graph.objects(concept, SKOS.broader))))
    return tuple(topics)


# ------------------------------------------------------------------ matching


@dataclass
class TopicMatch:
    topic: Topic
    evidence: str  # e.g. "label 长期照护险" or "embedding 0.71 to 医疗救助"
    score: float  # 1.0 for a label match, the cosine for an embedding match
    span: tuple[int, int] | None = None


_LATIN = re.compile(r"[A-Za-z]")


def _en_pattern(label: str) -> re.Pattern:
    return re.compile(r"(?<![a-z0-9])" + re.escape(label.lower()) + r"(?![a-z0-9])")


class TopicMatcher:
    """Finds topics in texts by label and, given an embedder, by vector similarity."""

    def __init__(self, topics: list[Topic], embedder=None):
        self.topics = topics
        self.embedder = embedder
        self._labels = [(t, l) for t in topics for l in t.labels if l.text]
        self._labels.sort(key=lambda tl: -len(tl[1].text))
        self._en = {id(l): _en_pattern(l.text) for _, l in self._labels if l.lang == "en"}
        # Which labels can occur in a text at all, found without trying each of the ~370: the
        # Chinese ones by their first character, the English ones by a plain substring test before
        # the regex. Trying every label on every name cost 180 µs a name, about a third of the
        # topic tagging of an ingest; the candidates keep the longest-first order, so the result
        # is the same.
        self._by_first: dict[str, list[int]] = {}
        self._en_lowered: list[tuple[int, str]] = []
        for position, (_, label) in enumerate(self._labels):
            if label.lang == "en":
                self._en_lowered.append((position, label.text.lower()))
            else:
                self._by_first.setdefault(label.text[0], []).append(position)
        self._vectors: np.ndarray | None = None

    # -------------------------------------------------------- labels

    def label_matches(self, text_: str) -> list[TopicMatch]:
        """Topics whose label occurs in the text; a label inside a longer matched label is ignored."""
        if not text_:
            return []
        lowered = text_.lower()
        taken: list[tuple[int, int]] = []
        found: dict[str, TopicMatch] = {}
        candidates: set[int] = set()
        for char in set(text_):
            candidates.update(self._by_first.get(char, ()))
        if _LATIN.search(text_) is not None:  # a Chinese name cannot hold an English label
            candidates.update(position for position, lowered_label in self._en_lowered if lowered_label in lowered)
        for position in sorted(candidates):
            topic, label = self._labels[position]
            spans = []
            if label.lang == "en":
                spans = [m.span() for m in self._en[id(label)].finditer(lowered)]
            else:
                start = text_.find(label.text)
                while start >= 0:
                    spans.append((start, start + len(label.text)))
                    start = text_.find(label.text, start + 1)
            for s, e in spans:
                if any(s >= a and e <= b for a, b in taken):
                    continue  # inside a longer label already matched
                taken.append((s, e))
                if topic.iri not in found:
                    found[topic.iri] = TopicMatch(topic, f"label {label.text}", 1.0, (s, e))
        return sorted(found.values(), key=lambda m: m.span or (0, 0))

    # -------------------------------------------------------- embeddings

    @property
    def label_vectors(self) -> np.ndarray:
        if self._vectors is None:
            self._vectors = self.embedder.encode_passages([l.text for _, l in self._labels])
        return self._vectors

    def embedding_matches(self, vectors: np.ndarray, threshold: float | None = None) -> list[list[TopicMatch]]:
        """For each query vector, the topics whose best label is above the threshold (best first)."""
        if self.embedder is None or not len(self._labels) or len(vectors) == 0:
            return [[] for _ in range(len(vectors))]
        threshold = self.embedder.profile.topic_threshold if threshold is None else threshold
        sims = np.atleast_2d(vectors) @ self.label_vectors.T
        out = []
        for row in sims:
            best: dict[str, tuple[float, str, Topic]] = {}
            for j in np.flatnonzero(row >= threshold):
                topic, label = self._labels[j]
                score = float(row[j])
                if topic.iri not in best or score > best[topic.iri][0]:
                    best[topic.iri] = (score, label.text, topic)
            out.append([TopicMatch(t, f"embedding {s:.2f} to {lbl}", s)
                        for s, lbl, t in sorted(best.values(), key=lambda x: -x[0])])
        return out

    def match(self, texts: list[str], use_embeddings: bool = True) -> list[list[TopicMatch]]:
        """Label matches of each text; texts with none get embedding matches instead."""
        result = [self.label_matches(t) for t in texts]
        if use_embeddings and self.embedder is not None:
            todo = [i for i, m in enumerate(result) if not m and texts[i]]
            if todo:
                vectors = self.embedder.encode_queries([texts[i] for i in todo])
                for i, matches in zip(todo, self.embedding_matches(vectors)):
                    # The best topic, and a runner-up only when it is about as close.
                    result[i] = [m for m in matches[:2] if m.score >= matches[0].score - 0.02]
        return result


# ------------------------------------------------------------------ tagging the store


def topic_graph_iri(disclosure_graph: str) -> str:
    """``…/graph/topics/{key}`` for ``…/graph/disclosure/{key}``."""
    return TOPIC_GRAPH_PREFIX + disclosure_graph[len(DISCLOSURE_GRAPH_PREFIX):]


def _taggable(store: GraphStore, graphs: Iterable[str] | None) -> dict[str, list[tuple[str, str, list[str], str | None]]]:
    """Per disclosure graph: (IRI, kind, names, project IRI) of funded projects and their indicators."""
    body = """
    { ?s a bkg:Project . BIND("project" AS ?kind)
       FILTER(EXISTS { ?s bkg:amount ?amount } || EXISTS { ?s bkg:hasIndicator ?i })
       OPTIONAL { ?s skos:altLabel ?alt } }
    UNION
    { ?p a bkg:Project ; bkg:hasIndicator ?s . BIND("indicator" AS ?kind) }
    ?s rdfs:label ?label ."""
    # Constant graphs, a batch per query (see corpus.in_graphs: a VALUES list scans every graph).
    ordered = None if graphs is None else sorted(set(graphs))
    step = graphs_per_query(store)
    batches = [None] if ordered is None else [ordered[i:i + step] for i in range(0, len(ordered), step)]
    rows = []
    for batch in batches:
        rows += select_all(store, PREFIXES + f"SELECT ?g ?s ?kind ?label ?alt ?p WHERE {{ {in_graphs(batch, body)} }}")
    grouped: dict[tuple[str, str], dict] = {}
    for row in rows:
        key = (str(row["g"]), str(row["s"]))
        entry = grouped.setdefault(key, {"kind": text(row["kind"]), "names": [], "project": text(row.get("p"))})
        for k in ("label", "alt"):
            v = text(row.get(k))
            if v and v not in entry["names"]:
                entry["names"].append(v)
    out: dict[str, list] = defaultdict(list)
    # Projects first: their topics decide which embedding matches their indicators may take.
    for (g, s), entry in sorted(grouped.items(), key=lambda kv: (kv[0][0], kv[1]["kind"] != "project", kv[0][1])):
        out[g].append((s, entry["kind"], entry["names"], entry["project"]))
    return out


def tag_graphs(store: GraphStore, graphs: Iterable[str] | None = None, embedder=None,
               topics: list[Topic] | None = None) -> dict:
    """Tag the funded projects and indicators of the given disclosure graphs (all when None).

    An indicator keeps its label matches; an embedding match of an indicator counts only when
    it agrees with its project's topics (a nearest label such as 城乡居民大病保险 for
    "城乡居民参保人数" of a resident-insurance project is a near miss, not a second topic).
    Writes one topics graph per disclosure graph (replacing the old one) in a single transaction.
    Returns counts: ``{"graphs": n, "tags": n, "by_label": n, "by_embedding": n}``.
    """
    taggable = _taggable(store, graphs)
    targets = sorted(set(graphs) if graphs is not None else set(taggable))
    return _tag_and_write(store, taggable, targets, embedder, topics)


def taggable_from_items(items) -> dict[str, list[tuple[str, str, list[str], str | None]]]:
    """What ``_taggable`` reads from the store, taken from index items (``corpus.Item``) instead:
    per graph, funded projects (money or an indicator table) and the indicators of projects."""
    with_indicators = {(it.graph, it.project_iri) for it in items if it.type == "indicator" and it.project_iri}
    grouped: dict[str, list] = defaultdict(list)
    for it in items:
        if it.type == "project" and (it.extra.get("amount") is not None or (it.graph, it.iri) in with_indicators):
            names = [n for n in dict.fromkeys([it.label, *(it.extra.get("aliases") or [])]) if n]
            grouped[it.graph].append((it.iri, "project", names, None))
        elif it.type == "indicator" and it.project_iri and it.label:
            grouped[it.graph].append((it.iri, "indicator", [it.label], it.project_iri))
    return {g: sorted(entries, key=lambda e: (e[1] != "project", e[0])) for g, entries in grouped.items()}


def tag_items(store: GraphStore, items, graphs: Iterable[str], embedder=None, topics: list[Topic] | None = None) -> dict:
    """``tag_graphs`` for disclosures whose items are at hand (one write for all of them)."""
    return _tag_and_write(store, taggable_from_items(items), sorted(set(graphs)), embedder, topics)


def _tag_and_write(store: GraphStore, taggable: dict, targets: list[str], embedder, topics) -> dict:
    topics = load_topics() if topics is None else topics
    matcher = TopicMatcher(topics, embedder)
    related = _relatives(topics)
    out_graphs: dict[str, Graph] = {}
    stats = {"graphs": 0, "tags": 0, "by_label": 0, "by_embedding": 0}
    entries_of = {g: taggable.get(g, []) for g in targets}
    # One batch of texts for the whole call: the embedder sees all names without a label match at once.
    texts = [" ".join(names) for g in targets for _, _, names, _ in entries_of[g]]
    matches_all = iter(matcher.match(texts))
    for g in targets:
        graph = Graph()
        project_topics: dict[str, set[str]] = {}
        for (s, kind, _, project), matches in zip(entries_of[g], matches_all):
            if kind == "project":
                project_topics[s] = {m.topic.iri for m in matches}
            else:
                allowed = set().union(*(related.get(t, {t}) for t in project_topics.get(project or "", set())))
                matches = [m for m in matches if m.evidence.startswith("label") or m.topic.iri in allowed]
            for m in matches:
                graph.add((URIRef(s), BKG.topic, URIRef(m.topic.iri)))
                graph.add((URIRef(s), BKG.topicEvidence, Literal(f"{m.topic.slug}: {m.evidence}")))
                stats["tags"] += 1
                stats["by_label" if m.evidence.startswith("label") else "by_embedding"] += 1
        out_graphs[topic_graph_iri(g)] = graph
        stats["graphs"] += 1
    if out_graphs:
        store.replace_graphs(out_graphs)
    return stats


def _relatives(topics: list[Topic]) -> dict[str, set[str]]:
    """Each topic with its broader and narrower topics (one step each way)."""
    rel: dict[str, set[str]] = {t.iri: {t.iri, *t.broader} for t in topics}
    for t in topics:
        for b in t.broader:
            rel.setdefault(b, {b}).add(t.iri)
    return rel


def drop_topic_graphs(store: GraphStore, disclosure_graphs: Iterable[str]) -> None:
    """Remove the topic tags of disclosures that left the store."""
    for g in disclosure_graphs:
        store.drop_graph(topic_graph_iri(g))


def _graphs_holding(store: GraphStore, pattern: str, prefix: str) -> set[str]:
    """Named graphs under ``prefix`` holding a triple of ``pattern``: a lookup by predicate, where
    listing every graph (``graph_names``) scans every quad (~13 s per call on Virtuoso at 1,000
    disclosures)."""
    rows = select_all(store, PREFIXES + f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ {pattern} }} }}")
    return {str(r["g"]) for r in rows if str(r.get("g", "")).startswith(prefix)}


def orphan_topic_graphs(store: GraphStore) -> list[str]:
    """Disclosure graphs whose topics graph remains although the disclosure is gone."""
    disclosures = _graphs_holding(store, "?d a bkg:Disclosure", DISCLOSURE_GRAPH_PREFIX)
    return sorted(g for g in tagged_state(store) if g not in disclosures)


def tagged_state(store: GraphStore) -> set[str]:
    """Disclosure graphs that have a topics graph (one holds at least one tag: an empty graph does
    not exist in a quad store)."""
    return {DISCLOSURE_GRAPH_PREFIX + g[len(TOPIC_GRAPH_PREFIX):]
            for g in _graphs_holding(store, "?s bkg:topic ?t", TOPIC_GRAPH_PREFIX)}
