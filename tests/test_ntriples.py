"""search.ntriples writes the same N-Triples/N-Quads as rdflib's serializer (the ingest workers
use it instead of building rdflib graphs), on every bundled sample's public and private graphs."""
from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

from ingest.mapper import new_graph, to_rdf
from ingest.pipeline import parse_path
from search.ntriples import to_nquads, to_ntriples


SEED_FILES = sorted((Path(__file__).resolve().parent.parent / "ingest" / "samples").glob("*.txt"))


def _lines(data: bytes) -> set[bytes]:
    return {line for line in data.splitlines() if line}


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.name)
def test_same_lines_as_rdflib_on_the_samples(path):
    mapped = to_rdf(parse_path(path))
    for graph, bag in ((mapped.public, mapped.public_triples), (mapped.private, mapped.private_triples)):
        assert len(graph) == len(bag)
        assert _lines(to_ntriples(bag)) == _lines(graph.serialize(format="nt", encoding="utf-8"))


def test_escapes_and_term_forms_match_rdflib():
    s = URIRef("https://w3id.org/budgetkg/id/x")
    triples = [(s, URIRef("urn:p"), Literal('引号"与\\反斜杠\n换行\r回车', lang="zh")),
               (s, URIRef("urn:p"), Literal("12.50", datatype=XSD.decimal)),
               (s, URIRef("urn:p"), Literal(7)),
               (s, URIRef("urn:p"), Literal("plain")),
               (BNode("b1"), URIRef("urn:p"), s)]
    graph = new_graph()
    for t in triples:
        graph.add(t)
    assert _lines(to_ntriples(triples)) == _lines(graph.serialize(format="nt", encoding="utf-8"))
    quads = to_nquads(triples, "urn:g")
    assert all(line.endswith(b" <urn:g> .") for line in quads.splitlines())
    assert len(quads.splitlines()) == len(triples)
