"""Whole-graph checks and summaries for ``budgetkg check`` / ``info`` and the HTTP API:
SHACL validation of the stored data, the accounting findings, and counts.

The work is pushed into SPARQL (fast on Oxigraph); only SHACL needs the data in rdflib.
"""
from __future__ import annotations

from rdflib import Graph

from ontology import ONTOLOGY_DIR
from search.store import GraphStore

PREFIXES = """PREFIX bkg: <https://w3id.org/budgetkg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""


def validate_store(store: GraphStore) -> tuple[bool, str]:
    """SHACL-validate the public graphs (with the ontology for class hierarchy). Returns (conforms, report)."""
    from pyshacl import validate

    # The store's own export, not CONSTRUCT over the default graph: a SPARQL server may cap a
    # CONSTRUCT without saying so (Virtuoso: at ResultSetMaxRows) and mix its own graphs in.
    data = Graph().parse(data=store.export("nt"), format="nt")
    shapes = Graph().parse(ONTOLOGY_DIR / "shapes.ttl", format="turtle")
    conforms, _graph, text = validate(data, shacl_graph=shapes, inference="none", allow_warnings=True)
    return bool(conforms), text


def findings_table(store: GraphStore) -> list[dict]:
    """Every finding with its file, lines, check, severity and message (the HTTP API's query)."""
    from api.catalog import Catalog

    rows = []
    for f in Catalog(store).findings():
        source = f.get("source") or {}
        start, end = (source.get("lines") or [None, None])
        lines = f"{start}-{end}" if start and end and start != end else str(start or "?")
        rows.append({"iri": f["iri"], "file": source.get("file") or f.get("disclosure_label") or f["disclosure"],
                     "lines": lines, "check": f["check"], "severity": f["severity"], "message": f["message"]})
    return rows


COUNT_QUERY = PREFIXES + """
SELECT ?key (COUNT(DISTINCT ?x) AS ?n) WHERE {
  VALUES (?key ?class) {
    ("disclosures" bkg:Disclosure) ("departments" bkg:Department) ("areas" bkg:AdministrativeArea)
    ("budget lines" bkg:BudgetLine) ("projects" bkg:Project) ("indicators" bkg:PerformanceIndicator)
    ("legal documents" bkg:LegalDocument) ("findings" bkg:Finding) ("text passages" bkg:TextPassage)
  }
  OPTIONAL { ?x a ?class }
} GROUP BY ?key
"""


def counts(store: GraphStore) -> dict[str, int]:
    """How many of each kind of resource the graph holds, plus triples."""
    numbers = {row["key"]: int(row["n"]) for row in store.query(COUNT_QUERY).values()}
    order = ["disclosures", "departments", "areas", "budget lines", "projects", "indicators", "legal documents",
             "findings", "text passages"]
    out = {key: numbers.get(key, 0) for key in order}
    out["triples"] = store.count_triples()
    return out
