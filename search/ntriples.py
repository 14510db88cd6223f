"""N-Triples and N-Quads text for rdflib terms, without building an rdflib ``Graph``.

The ingest workers serialise every disclosure (some 6,000 triples each); going through an rdflib
``Graph`` and its serializer cost about a third of a worker's CPU. These functions write the same
lines as rdflib's ``nt`` serializer (same escapes, same term forms), from plain iterables of
triples, so the writer and the stores see byte-identical input either way.
"""
from __future__ import annotations

from typing import Iterable

from rdflib import BNode, Literal, URIRef


def _literal(term: Literal) -> str:
    text = ('"' + str(term).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
            .replace("\r", "\\r") + '"')
    if term.language:
        return f"{text}@{term.language}"
    if term.datatype:
        return f"{text}^^<{term.datatype}>"
    return text


def term_text(term) -> str:
    """One term as N-Triples writes it."""
    if type(term) is URIRef:  # the common case first: no isinstance chain
        return f"<{term}>"
    if isinstance(term, Literal):
        return _literal(term)
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return "_:" + str(term)
    raise TypeError(f"not an RDF term: {term!r}")


def to_ntriples(triples: Iterable[tuple]) -> bytes:
    """N-Triples (UTF-8), one line per triple, in the order given."""
    return "".join(f"{term_text(s)} {term_text(p)} {term_text(o)} .\n" for s, p, o in triples).encode("utf-8")


def to_nquads(triples: Iterable[tuple], graph_iri: str) -> bytes:
    """N-Quads (UTF-8) of ``triples`` placed in the named graph ``graph_iri``."""
    suffix = f" <{graph_iri}> .\n"
    return "".join(f"{term_text(s)} {term_text(p)} {term_text(o)}{suffix}" for s, p, o in triples).encode("utf-8")
