"""The budget ontology as a reader sees it: what ``/ontology`` renders and serves.

``ontology_doc()`` walks ``ontology/budget.ttl`` with rdflib into plain dicts for the page: the
ontology's own header, every class, every property (kind, characteristics, super-property, domain,
range) and every other term of the ``bkg:`` namespace, each with zh/en labels and comments, in the
order the Turtle file declares them; plus the SKOS schemes of ``codelists.ttl`` and ``topics.ttl``
with their concepts. ``examples(store)`` adds one real use of each term from the store — one
``LIMIT 1`` query per term (an index lookup, cheap however large the store), under a total time
budget and cached for a few minutes — never from personal-data terms or private graphs.

``serialize(fmt)`` gives the ontology as Turtle (the file itself, comments included), JSON-LD,
N-Triples or RDF/XML for content negotiation.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from functools import lru_cache

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, SKOS

from ontology import ONTOLOGY_DIR

log = logging.getLogger("budgetkg.ontology")

BKG = Namespace("https://w3id.org/budgetkg/ontology#")
ONTOLOGY_IRI = URIRef("https://w3id.org/budgetkg/ontology")
VANN = Namespace("http://purl.org/vocab/vann/")
QB = Namespace("http://purl.org/linked-data/cube#")
# The files a reader can download from /ontology/{name}.ttl.
FILES = {"budget": "the ontology: classes and properties", "codelists": "SKOS code lists (categories, kinds, "
         "tables, severities, classification schemes)", "topics": "policy topics (SKOS)",
         "shapes": "SHACL shapes the data is validated against"}
# Terms about people (officials' names and phones): no example is ever shown for them.
PERSONAL_TERMS = {BKG.Contact, BKG.hasContact, BKG.contactName, BKG.phone, BKG.contactRole}
PROPERTY_KINDS = {OWL.ObjectProperty: "object property", OWL.DatatypeProperty: "datatype property",
                  OWL.AnnotationProperty: "annotation property", RDF.Property: "property"}
CHARACTERISTICS = {OWL.FunctionalProperty: "functional", OWL.InverseFunctionalProperty: "inverse functional",
                   OWL.TransitiveProperty: "transitive", OWL.SymmetricProperty: "symmetric",
                   QB.DimensionProperty: "data cube dimension", QB.MeasureProperty: "data cube measure",
                   QB.AttributeProperty: "data cube attribute"}
SERIALIZATIONS = {"turtle": ("text/turtle; charset=utf-8", "ttl"),
                  "jsonld": ("application/ld+json", "jsonld"),
                  "ntriples": ("application/n-triples", "nt"),
                  "rdfxml": ("application/rdf+xml", "rdf")}
EXAMPLE_BUDGET_S = 3.0
EXAMPLE_TTL_S = 300.0
MAX_CONCEPTS_SHOWN = 60


@lru_cache(maxsize=1)
def ontology_graph() -> Graph:
    graph = Graph(bind_namespaces="none")  # only the prefixes budget.ttl declares (JSON-LD context, CURIEs)
    graph.parse(ONTOLOGY_DIR / "budget.ttl", format="turtle")
    return graph


def turtle_path(name: str = "budget"):
    """The Turtle file ``ontology/{name}.ttl`` (name one of FILES)."""
    if name not in FILES:
        raise KeyError(name)
    return ONTOLOGY_DIR / f"{name}.ttl"


@lru_cache(maxsize=8)
def serialize(fmt: str) -> bytes:
    """budget.ttl as ``turtle`` (the file as written), ``jsonld``, ``ntriples`` or ``rdfxml``."""
    if fmt == "turtle":
        return turtle_path().read_bytes()
    graph = ontology_graph()
    if fmt == "jsonld":
        context = {prefix: str(ns) for prefix, ns in graph.namespaces() if prefix}
        return graph.serialize(format="json-ld", context=context, auto_compact=True, encoding="utf-8")
    if fmt == "ntriples":
        return graph.serialize(format="nt", encoding="utf-8")
    if fmt == "rdfxml":
        return graph.serialize(format="xml", encoding="utf-8")
    raise KeyError(fmt)


# ------------------------------------------------------------------ the page's view of the graph


def _declaration_order() -> dict[str, int]:
    """Local names in the order ``budget.ttl`` declares them (rdflib forgets the order)."""
    text = turtle_path().read_text(encoding="utf-8")
    order: dict[str, int] = {}
    for match in re.finditer(r"^bkg:([A-Za-z_][\w-]*)", text, re.MULTILINE):
        order.setdefault(match.group(1), len(order))
    return order


def _texts(graph: Graph, subject, predicate) -> dict[str, str]:
    """{language: text} of a literal-valued property (``""`` for a literal without language)."""
    out: dict[str, str] = {}
    for value in graph.objects(subject, predicate):
        if isinstance(value, Literal):
            out.setdefault(value.language or "", str(value))
    return out


def _ref(graph: Graph, node) -> dict:
    """A term as a link: ``bkg:`` terms point into the page, others to their own IRI."""
    iri = str(node)
    try:
        curie = graph.namespace_manager.curie(iri, generate=False)
    except (ValueError, KeyError):
        curie = iri
    local = iri[len(str(BKG)):] if iri.startswith(str(BKG)) else None
    return {"iri": iri, "curie": curie, "anchor": local}


def _refs(graph: Graph, subject, predicate) -> list[dict]:
    """The terms ``subject predicate`` points to; a class expression ``[ owl:unionOf ( A B ) ]``
    (a domain "A or B") gives its members, marked ``union``."""
    out = []
    for node in graph.objects(subject, predicate):
        if isinstance(node, URIRef):
            out.append(_ref(graph, node))
        elif isinstance(node, BNode) and graph.value(node, OWL.unionOf) is not None:
            members = Collection(graph, graph.value(node, OWL.unionOf))
            out += [{**_ref(graph, m), "union": True} for m in members if isinstance(m, URIRef)]
    return sorted(out, key=lambda r: r["curie"])


@lru_cache(maxsize=1)
def ontology_doc() -> dict:
    """The ontology for the page: header, classes, properties, other terms and SKOS schemes."""
    graph = ontology_graph()
    order = _declaration_order()
    terms = sorted({s for s in graph.subjects() if isinstance(s, URIRef) and str(s).startswith(str(BKG))},
                   key=lambda s: (order.get(str(s)[len(str(BKG)):], len(order)), str(s)))
    classes, properties, others = [], [], []
    for term in terms:
        types = set(graph.objects(term, RDF.type))
        entry = {**_ref(graph, term), "name": str(term)[len(str(BKG)):],
                 "label": _texts(graph, term, RDFS.label), "comment": _texts(graph, term, RDFS.comment),
                 "types": _refs(graph, term, RDF.type), "personal": term in PERSONAL_TERMS}
        kind = next((name for t, name in PROPERTY_KINDS.items() if t in types), None)
        if OWL.Class in types or RDFS.Class in types:
            entry["super"] = _refs(graph, term, RDFS.subClassOf)
            classes.append(entry)
        elif kind is not None:
            entry.update(kind=kind, characteristics=[name for t, name in CHARACTERISTICS.items() if t in types],
                         super=_refs(graph, term, RDFS.subPropertyOf), domain=_refs(graph, term, RDFS.domain),
                         range=_refs(graph, term, RDFS.range))
            properties.append(entry)
        else:
            others.append(entry)
    for cls in classes:  # what a reader of a class wants next: the properties that describe it
        cls["properties"] = [p for p in properties if any(d["iri"] == cls["iri"] for d in p["domain"])]
        cls["used_by"] = [p for p in properties if any(r["iri"] == cls["iri"] for r in p["range"])]
    header = {"iri": str(ONTOLOGY_IRI), "namespace": str(BKG),
              "title": _texts(graph, ONTOLOGY_IRI, DCTERMS.title),
              "comment": _texts(graph, ONTOLOGY_IRI, RDFS.comment),
              "version": str(graph.value(ONTOLOGY_IRI, OWL.versionInfo) or ""),
              "prefix": str(graph.value(ONTOLOGY_IRI, VANN.preferredNamespacePrefix) or "bkg"),
              "license": str(graph.value(ONTOLOGY_IRI, DCTERMS.license) or ""),
              "see_also": sorted(str(o) for o in graph.objects(ONTOLOGY_IRI, RDFS.seeAlso))}
    return {"header": header, "classes": classes, "properties": properties, "others": others,
            "schemes": _schemes(), "files": FILES}


def _schemes() -> list[dict]:
    """The SKOS concept schemes of codelists.ttl and topics.ttl, each with its concepts."""
    out = []
    for name in ("codelists", "topics"):
        graph = Graph()
        graph.parse(turtle_path(name), format="turtle")
        for scheme in sorted(graph.subjects(RDF.type, SKOS.ConceptScheme), key=str):
            concepts = []
            for concept in set(graph.subjects(SKOS.inScheme, scheme)) | set(graph.objects(scheme, SKOS.hasTopConcept)):
                concepts.append({"iri": str(concept), "notation": str(graph.value(concept, SKOS.notation) or ""),
                                 "label": _texts(graph, concept, SKOS.prefLabel),
                                 "broader": [str(b) for b in graph.objects(concept, SKOS.broader)]})
            concepts.sort(key=lambda c: (bool(c["broader"]), c["notation"] or c["iri"]))
            out.append({"iri": str(scheme), "file": name, "label": _texts(graph, scheme, SKOS.prefLabel),
                        "definition": _texts(graph, scheme, SKOS.definition), "count": len(concepts),
                        "concepts": concepts[:MAX_CONCEPTS_SHOWN]})
    return out


# ------------------------------------------------------------------ examples from the store


_cache: dict[int, tuple[float, dict]] = {}
_cache_lock = threading.Lock()


def examples(store, *, budget_s: float = EXAMPLE_BUDGET_S, ttl_s: float = EXAMPLE_TTL_S) -> dict[str, dict]:
    """{term IRI: example} of the public graphs: for a class one instance, for a property one
    statement (subject, its label, the value). Terms past the time budget get none; personal-data
    terms never do. Cached per store for ``ttl_s`` seconds."""
    key = id(store)
    with _cache_lock:
        hit = _cache.get(key)
        if hit and time.monotonic() - hit[0] < ttl_s:
            return hit[1]
    doc = ontology_doc()
    found: dict[str, dict] = {}
    deadline = time.monotonic() + budget_s
    for term in doc["classes"] + doc["properties"]:
        if time.monotonic() > deadline:
            break
        if term["personal"]:
            continue
        try:
            example = _example(store, term)
        except Exception as exc:  # an example is a courtesy: the page renders without it
            log.warning("no example for %s: %s", term["curie"], exc)
            continue
        if example:
            found[term["iri"]] = example
    with _cache_lock:
        _cache[key] = (time.monotonic(), found)
    return found


def _example(store, term: dict) -> dict | None:
    iri = term["iri"]
    if "kind" not in term:
        result = store.query(f"SELECT ?s ?label WHERE {{ ?s a <{iri}> . OPTIONAL {{ ?s <{RDFS.label}> ?label }} }} "
                             "LIMIT 1", max_rows=1)
        rows = result.rows
        return {"subject": str(rows[0]["s"]), "label": _text(rows[0].get("label"))} if rows else None
    result = store.query(f"SELECT ?s ?o ?label WHERE {{ ?s <{iri}> ?o . OPTIONAL {{ ?s <{RDFS.label}> ?label }} }} "
                         "LIMIT 1", max_rows=1)
    if not result.rows:
        return None
    row = result.rows[0]
    value = row["o"]
    return {"subject": str(row["s"]), "label": _text(row.get("label")),
            "value": _text(value, 160), "value_is_iri": isinstance(value, URIRef)}


def _text(node, limit: int = 80) -> str | None:
    if node is None:
        return None
    text = " ".join(str(node).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
