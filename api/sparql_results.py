"""Result formats of the SPARQL endpoint: content negotiation and the serialisers.

SELECT/ASK results go out as SPARQL 1.1 Query Results JSON, XML, CSV or TSV; CONSTRUCT/DESCRIBE
graphs as Turtle, N-Triples, JSON-LD or RDF/XML (the last because rdflib's ``SPARQLStore`` and
SPARQLWrapper ask for it by default). Serialisation runs inside the query workers, on pyoxigraph
terms, so the web process only moves bytes.

Document text is data: XML is escaped by construction, and every JSON body escapes ``<``, ``>``
and ``&`` as ``\\u003c``-style escapes (same JSON value) so no JSON response can be read as markup.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape as xml_escape, quoteattr

import pyoxigraph as ox

from ontology.errors import BudgetKGError

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


@dataclass(frozen=True)
class ResultFormat:
    key: str  # json, xml, csv, tsv | turtle, ntriples, jsonld, rdfxml
    media_type: str  # what the Content-Type header says
    graph: bool  # True for CONSTRUCT/DESCRIBE formats

    @property
    def content_type(self) -> str:
        return self.media_type + ("; charset=utf-8" if self.media_type.startswith("text/") else "")


SOLUTION_FORMATS = {
    "json": ResultFormat("json", "application/sparql-results+json", False),
    "xml": ResultFormat("xml", "application/sparql-results+xml", False),
    "csv": ResultFormat("csv", "text/csv", False),
    "tsv": ResultFormat("tsv", "text/tab-separated-values", False),
}
GRAPH_FORMATS = {
    "turtle": ResultFormat("turtle", "text/turtle", True),
    "ntriples": ResultFormat("ntriples", "application/n-triples", True),
    "jsonld": ResultFormat("jsonld", "application/ld+json", True),
    "rdfxml": ResultFormat("rdfxml", "application/rdf+xml", True),
}
# Media types clients send, per result kind, in our order of preference.
_SOLUTION_MEDIA = {
    "application/sparql-results+json": "json", "application/json": "json",
    "application/sparql-results+xml": "xml", "application/xml": "xml", "text/xml": "xml",
    "text/csv": "csv", "text/tab-separated-values": "tsv",
}
_GRAPH_MEDIA = {
    "text/turtle": "turtle", "application/x-turtle": "turtle", "application/n-triples": "ntriples",
    "text/plain": "ntriples", "application/ld+json": "jsonld", "application/json": "jsonld",
    "application/rdf+xml": "rdfxml", "application/xml": "rdfxml", "text/xml": "rdfxml",
}
# Values of the non-standard but common ``format`` / ``output`` parameter.
_SOLUTION_ALIASES = {"json": "json", "srj": "json", "xml": "xml", "srx": "xml", "csv": "csv", "tsv": "tsv"}
_GRAPH_ALIASES = {"turtle": "turtle", "ttl": "turtle", "nt": "ntriples", "ntriples": "ntriples",
                  "n-triples": "ntriples", "jsonld": "jsonld", "json-ld": "jsonld", "json": "jsonld",
                  "rdfxml": "rdfxml", "rdf+xml": "rdfxml", "xml": "rdfxml"}
_OX_GRAPH_FORMAT = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
                    "jsonld": ox.RdfFormat.JSON_LD, "rdfxml": ox.RdfFormat.RDF_XML}
PREFIXES = {
    "bkg": "https://w3id.org/budgetkg/ontology#",
    "id": "https://w3id.org/budgetkg/id/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


class NotAcceptable(BudgetKGError):
    """No format the client accepts fits the result kind; carries the formats on offer."""

    def __init__(self, offered: list[str]):
        self.offered = offered
        super().__init__("none of the accepted media types can carry this result; available: " + ", ".join(offered))


def parse_accept(header: str | None) -> list[tuple[str, float]]:
    """Media ranges of an Accept header, best first (by q, then by the client's order)."""
    if not header:
        return [("*/*", 1.0)]
    ranges = []
    for index, part in enumerate(header.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for param in fields[1:]:
            if param.lower().startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        ranges.append((index, media, q))
    ranges.sort(key=lambda r: (-r[2], r[0]))
    return [(media, q) for _, media, q in ranges if q > 0]


def negotiate(accept: str | None, *, graph: bool, format_param: str | None = None) -> ResultFormat:
    """Pick the result format from a ``format``/``output`` parameter, else from the Accept header."""
    table, media, aliases = (GRAPH_FORMATS, _GRAPH_MEDIA, _GRAPH_ALIASES) if graph else (
        SOLUTION_FORMATS, _SOLUTION_MEDIA, _SOLUTION_ALIASES)
    offered = [f.media_type for f in table.values()]
    if format_param:
        key = format_param.strip().lower()
        key = aliases.get(key) or media.get(key.split(";")[0].strip())
        if key is None:
            raise NotAcceptable(offered)
        return table[key]
    default = table["turtle" if graph else "json"]
    for wanted, _q in parse_accept(accept):
        if wanted == "*/*":
            return default
        if wanted in media:
            return table[media[wanted]]
        if wanted.endswith("/*"):
            family = wanted[:-1]
            for media_type, key in media.items():
                if media_type.startswith(family):
                    return table[key]
    raise NotAcceptable(offered)


# ------------------------------------------------------------------ serialisers (pyoxigraph terms)


def safe_json(obj) -> bytes:
    """JSON bytes with ``<``, ``>`` and ``&`` escaped, so a body can never be parsed as markup."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return escape_json_markup(text.encode("utf-8"))


def escape_json_markup(data: bytes) -> bytes:
    # In JSON text these characters can only occur inside strings, where \u escapes mean the same.
    return data.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


def term_json(term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value not in (XSD_STRING, RDF_LANG_STRING):
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": term_json(term.subject),
                                            "predicate": term_json(term.predicate),
                                            "object": term_json(term.object)}}
    raise TypeError(f"not an RDF term: {term!r}")


# XML 1.0 cannot carry most C0 control characters even escaped; they become U+FFFD.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return xml_escape(_XML_INVALID.sub("\ufffd", text))


def term_xml(term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{_xml_text(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{_xml_text(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        attrs = ""
        if term.language:
            attrs = f" xml:lang={quoteattr(term.language)}"
        elif term.datatype.value not in (XSD_STRING, RDF_LANG_STRING):
            attrs = f" datatype={quoteattr(term.datatype.value)}"
        return f"<literal{attrs}>{_xml_text(term.value)}</literal>"
    if isinstance(term, ox.Triple):
        return (f"<triple><subject>{term_xml(term.subject)}</subject><predicate>{term_xml(term.predicate)}"
                f"</predicate><object>{term_xml(term.object)}</object></triple>")
    raise TypeError(f"not an RDF term: {term!r}")


def term_csv(term) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, (ox.NamedNode, ox.Literal)):
        return term.value
    return str(term)


_TSV_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def term_tsv(term) -> str:
    """A term in SPARQL/Turtle syntax, as the TSV results format requires."""
    if term is None:
        return ""
    if isinstance(term, ox.Literal):
        body = '"' + "".join(_TSV_ESCAPES.get(c, c) for c in term.value) + '"'
        if term.language:
            return f"{body}@{term.language}"
        if term.datatype.value not in (XSD_STRING, RDF_LANG_STRING):
            return f"{body}^^<{term.datatype.value}>"
        return body
    return str(term)  # pyoxigraph prints <iri> and _:id in N-Triples syntax


def serialize_solutions(variables: list[str], rows: list[list], fmt: str, *, truncated: bool = False,
                        max_rows: int | None = None) -> bytes:
    """SELECT results (``rows`` hold one term or None per variable) in ``fmt``."""
    if fmt == "json":
        bindings = [{v: term_json(t) for v, t in zip(variables, row) if t is not None} for row in rows]
        out = {"head": {"vars": variables}, "results": {"bindings": bindings}, "truncated": truncated}
        if truncated:
            out["max_rows"] = max_rows
        return safe_json(out)
    if fmt == "xml":
        parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">',
                 "<head>"] + [f"<variable name={quoteattr(v)}/>" for v in variables]
        parts.append("</head>")
        if truncated:
            parts.append(f"<!-- truncated at {max_rows} rows -->")
        parts.append("<results>")
        for row in rows:
            parts.append("<result>")
            parts.extend(f"<binding name={quoteattr(v)}>{term_xml(t)}</binding>"
                         for v, t in zip(variables, row) if t is not None)
            parts.append("</result>")
        parts.append("</results></sparql>\n")
        return "\n".join(parts).encode("utf-8")
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(variables)
        for row in rows:
            writer.writerow([term_csv(t) for t in row])
        return buffer.getvalue().encode("utf-8")
    if fmt == "tsv":
        lines = ["\t".join("?" + v for v in variables)]
        lines += ["\t".join(term_tsv(t) for t in row) for row in rows]
        return ("\n".join(lines) + "\n").encode("utf-8")
    raise ValueError(f"unknown solutions format {fmt!r}")


def serialize_boolean(value: bool, fmt: str) -> bytes:
    if fmt == "json":
        return safe_json({"head": {}, "boolean": value})
    if fmt == "xml":
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
                f"<head/><boolean>{'true' if value else 'false'}</boolean></sparql>\n").encode("utf-8")
    if fmt in ("csv", "tsv"):  # no standard form; this is what Jena and Oxigraph print
        return f"_askResult\r\n{'true' if value else 'false'}\r\n".encode("utf-8")
    raise ValueError(f"unknown boolean format {fmt!r}")


def serialize_triples(triples: list, fmt: str) -> bytes:
    data = ox.serialize(triples, format=_OX_GRAPH_FORMAT[fmt],
                        prefixes=PREFIXES if fmt in ("turtle", "rdfxml") else None) or b""
    return escape_json_markup(data) if fmt == "jsonld" else data
