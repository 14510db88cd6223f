"""Wiring between ``ingest`` (files -> Disclosure -> RDF) and ``search`` (the store): the
operations the CLI and the HTTP API share.

A bad file is reported with one line naming it and the problem, and the rest of the batch still
goes in. Each disclosure is written as its own named graphs, replaced whole; a failure leaves
what was stored untouched. Batches of files run through ``api.ingest_run`` (parsing in worker
processes, writes several disclosures at a time); one file (an HTTP upload) through ``ingest_file``.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from rdflib import Graph, Literal
from rdflib.namespace import DCTERMS, SKOS

from api.settings import Settings
from ingest.mapper import MappedDisclosure, to_rdf
from ingest.model import Disclosure
from ingest.pipeline import parse_path
from ontology import ONTOLOGY_DIR
from ontology.errors import BudgetKGError, StoreError
from ontology.terms import ONTOLOGY_GRAPH, SHARED_GRAPH
from search.store import GraphStore, open_store

INGESTIBLE_SUFFIXES = {".txt", ".md", ".markdown", ".pdf", ".docx", ".text"}


def store_from_settings(settings: Settings, *, read_only: bool = False, create: bool = False) -> GraphStore:
    """Open the configured graph store.

    ``read_only`` (readers: serve, SPARQL workers, CLI read commands) opens the embedded store's
    current published snapshot, never the primary a running ingest may be writing; ``create``
    first makes an empty store where there is none yet (``serve`` on a fresh home)."""
    if settings.store == "oxigraph":
        from search.store_oxigraph import OxigraphStore

        if read_only and create and not OxigraphStore.exists(settings.store_path):
            open_store("oxigraph", path=settings.store_path).close()  # the new store publishes itself
        if read_only and not OxigraphStore.exists(settings.store_path):
            raise StoreError(f"no graph store at {settings.store_path} yet; run `budgetkg ingest` first "
                             "(or set BUDGETKG_HOME / --home to where it is)")
        return open_store("oxigraph", path=settings.store_path, read_only=read_only)
    if settings.store == "memory":
        return open_store("memory")
    if settings.store == "sparql":
        return open_store("sparql", query_url=settings.sparql_query_url, update_url=settings.sparql_update_url,
                          user=settings.sparql_user, password=settings.sparql_password,
                          private_query_url=settings.sparql_private_query_url,
                          private_update_url=settings.sparql_private_update_url)
    return open_store(settings.store)


ONTOLOGY_FILES = ("budget.ttl", "codelists.ttl", "topics.ttl")


def ontology_graph() -> Graph:
    """The ontology, shapes excluded: vocabulary, code lists and topics, for SPARQL over labels."""
    graph = Graph()
    for name in ONTOLOGY_FILES:
        path = ONTOLOGY_DIR / name
        if path.exists():
            graph.parse(path, format="turtle")
    return graph


_ONTOLOGY_TRIPLES: set | None = None


def _ontology_triples() -> set:
    global _ONTOLOGY_TRIPLES
    if _ONTOLOGY_TRIPLES is None:
        _ONTOLOGY_TRIPLES = set(ontology_graph())
    return _ONTOLOGY_TRIPLES


def _ontology_version() -> str:
    """A digest of the ontology files the ontology graph is built from."""
    digest = hashlib.sha256()
    for name in ONTOLOGY_FILES:
        path = ONTOLOGY_DIR / name
        if path.exists():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return "sha256:" + digest.hexdigest()


def ontology_triples() -> set:
    """The ontology graph's triples (read once per process)."""
    return _ontology_triples()


def ensure_ontology(store: GraphStore) -> None:
    """Load (or refresh) the ontology graph so labels of classes and concepts are queryable.

    The graph records the digest of the files it was built from (``dct:hasVersion`` on the graph's
    IRI), and is replaced only when they changed: every ingest process calls this first, and
    several starting at once against one server would otherwise each rewrite 1,500 triples."""
    version = Literal(_ontology_version())
    stored = store.query(f"ASK {{ GRAPH <{ONTOLOGY_GRAPH}> {{ <{ONTOLOGY_GRAPH}> <{DCTERMS.hasVersion}> "
                         f"{version.n3()} }} }}")
    if stored.boolean:
        return
    graph = ontology_graph()
    graph.add((ONTOLOGY_GRAPH, DCTERMS.hasVersion, version))
    store.replace_graph(str(ONTOLOGY_GRAPH), graph)


# --------------------------------------------------------------- one preferred label per language
#
# Documents print a classification code with different names (a variant, an abbreviation, a
# truncated cell). SKOS allows one skos:prefLabel per language, so one name must win; the others
# become skos:altLabel. The winner must not depend on the order documents arrive in, or two
# ingest processes writing at once would race (both read "no label yet", both write theirs):
#
# * the ontology's own label (codelists.ttl) wins where it has one;
# * else the longest printed name (a truncated cell is shorter than the full one), and between
#   names of equal length the first in code-point order.
#
# Writers only ever demote a stored name that loses under this rule, never promote one, so a
# writer working from a stale read can leave an extra prefLabel behind but never remove the right
# one. Each writer therefore re-reads the labels of the concepts it wrote after its write and
# demotes whatever still loses, until a read shows one per language: the last writer to touch a
# concept sees the final state and leaves it right.

SETTLE_ROUNDS = 10


def _label_rank(label: Literal) -> tuple:
    return (-len(str(label)), str(label))


def _stored_preferred_labels(store: GraphStore, concepts: Iterable) -> dict:
    """{(concept, language): {(label, from_ontology)}} for the concepts' stored prefLabels."""
    found: dict = {}
    concepts = sorted({str(c) for c in concepts})
    for start in range(0, len(concepts), 500):  # VALUES blocks of a size every server takes
        values = " ".join(f"<{c}>" for c in concepts[start:start + 500])
        rows = store.query(f"SELECT ?c ?l ?g WHERE {{ VALUES ?g {{ <{ONTOLOGY_GRAPH}> <{SHARED_GRAPH}> }} "
                           f"VALUES ?c {{ {values} }} GRAPH ?g {{ ?c <{SKOS.prefLabel}> ?l }} }}").rows
        for row in rows:
            label = row["l"]
            found.setdefault((row["c"], label.language), set()).add((label, row["g"] == ONTOLOGY_GRAPH))
    return found


def _winner(candidates: set) -> Literal:
    official = sorted((label for label, from_ontology in candidates if from_ontology), key=_label_rank)
    return official[0] if official else min((label for label, _ in candidates), key=_label_rank)


def _keep_one_preferred_label(store: GraphStore, shared: Graph) -> None:
    """Turn each prefLabel in ``shared`` that loses to a stored one (see the rule above) into an
    skos:altLabel before it is written, so the common case never shows two preferred names."""
    labelled = {s for s, _, _ in shared.triples((None, SKOS.prefLabel, None))}
    if not labelled:
        return
    stored = _stored_preferred_labels(store, labelled)
    for concept in labelled:
        for label in list(shared.objects(concept, SKOS.prefLabel)):
            candidates = stored.get((concept, label.language), set()) | {(label, False)}
            if _winner(candidates) != label:
                shared.remove((concept, SKOS.prefLabel, label))
                shared.add((concept, SKOS.altLabel, label))


def settle_preferred_labels(store: GraphStore, concepts: Iterable) -> int:
    """Demote every stored shared prefLabel of ``concepts`` that loses under the rule above, until a
    read shows one per language (other writers may be adding names meanwhile). Returns the number
    of labels demoted. Needs a store with ``update`` (every backend of ``search.store`` has it)."""
    concepts = set(concepts)
    demoted = 0
    for _ in range(SETTLE_ROUNDS):
        losers = []
        for (concept, _lang), candidates in _stored_preferred_labels(store, concepts).items():
            winner = _winner(candidates)
            losers += [(concept, label) for label, from_ontology in candidates
                       if not from_ontology and label != winner]
        if not losers:
            return demoted
        triples = "\n".join(f"<{c}> <{SKOS.prefLabel}> {label.n3()} ." for c, label in losers)
        alts = "\n".join(f"<{c}> <{SKOS.altLabel}> {label.n3()} ." for c, label in losers)
        store.update(f"DELETE DATA {{ GRAPH <{SHARED_GRAPH}> {{\n{triples}\n}} }} ;\n"
                     f"INSERT DATA {{ GRAPH <{SHARED_GRAPH}> {{\n{alts}\n}} }}")
        demoted += len(losers)
    raise StoreError(f"the preferred labels of {len(concepts)} concepts did not settle after {SETTLE_ROUNDS} "
                     "rounds (other writers keep changing them); ingest again to finish")


def shared_additions(store: GraphStore, shared: Graph) -> Graph:
    """What a disclosure adds to the shared graph: its triples about shared resources, less what
    the ontology graph already says (which would otherwise come back twice from the union default
    graph), with the preferred-label rule applied against what the store holds. Edits ``shared``
    in place and returns it."""
    known = _ontology_triples()
    for triple in [t for t in shared if t in known]:
        shared.remove(triple)
    _keep_one_preferred_label(store, shared)
    return shared


def write_disclosure(store: GraphStore, mapped: MappedDisclosure) -> None:
    """Store a mapped disclosure in one transaction: its own graph and private graph replaced,
    its shared resources added to the shared graph (``shared_additions``).

    Batches of files go through ``api.ingest_run``, which writes the same triples: the shared
    additions of each disclosure in turn, the disclosures' own graphs several at a time."""
    own, shared = mapped.own_and_shared()
    shared_additions(store, shared)
    store.replace_graphs({str(mapped.graph_iri): own, str(mapped.private_graph_iri): mapped.private},
                         additions={str(SHARED_GRAPH): shared})
    named = {s for s, _, _ in shared.triples((None, SKOS.prefLabel, None))}
    named |= {s for s, _, _ in shared.triples((None, SKOS.altLabel, None))}
    if named:
        settle_preferred_labels(store, named)


@dataclass
class FileOutcome:
    path: str
    ok: bool
    error: str | None = None
    disclosure: Disclosure | None = None
    graph_iri: str | None = None
    triples: int = 0

    def summary(self) -> str:
        if not self.ok:
            return f"ERROR {self.error}"
        d = self.disclosure
        indicators = sum(len(p.indicators) for p in d.projects) + len(d.department_indicators)
        findings = [f for f in d.findings if f.severity.value != "info"]
        return (f"ok    {self.path}: {d.department or '?'} {d.fiscal_year or '?'} ({d.layout}) — "
                f"{len(d.budget_lines)} budget lines, {len(d.projects)} projects, {indicators} indicators, "
                f"{len(d.legal_refs)} citations, {len(findings)} findings, {self.triples} triples")


@dataclass
class BatchReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    timings: dict = field(default_factory=dict)  # seconds spent parsing, writing, in all

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def stored(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.ok]


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus the ingestible files inside named folders (sorted, recursive)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            # A folder's README describes the folder; it is not a disclosure.
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in INGESTIBLE_SUFFIXES
                              and f.stem.lower() != "readme"))
        else:
            out.append(p)
    return out


def ingest_file(store: GraphStore, path: Path, *, fmt: str | None = None, layout: str | None = None,
                max_bytes: int = 50 * 1024 * 1024, name: str | None = None) -> FileOutcome:
    """Parse one file and replace its disclosure's graphs. Never raises for a bad file."""
    try:
        disclosure = parse_path(path, fmt=fmt, layout=layout, max_bytes=max_bytes, name=name)
        mapped = to_rdf(disclosure)
        write_disclosure(store, mapped)
    except BudgetKGError as exc:
        return FileOutcome(str(name or path), False, error=str(exc))
    except Exception as exc:  # keep the batch going; the message still names the file
        return FileOutcome(str(name or path), False, error=f"{name or path}: unexpected {type(exc).__name__}: {exc}")
    return FileOutcome(str(name or path), True, disclosure=disclosure, graph_iri=str(mapped.graph_iri),
                       triples=len(mapped.public_triples))


def ingest_paths(store: GraphStore, paths: Iterable[str | Path], *, fmt: str | None = None,
                 layout: str | None = None, max_bytes: int = 50 * 1024 * 1024, workers: int = 1) -> BatchReport:
    """Ingest every file (folders expanded); continue past bad files. Outcomes in input order.

    Writes in batches (``api.ingest_run``), parsing in ``workers`` processes (1: in this one; more
    start processes the ``multiprocessing`` way, so a script calling this needs the usual
    ``if __name__ == "__main__":`` guard). It does not publish: the caller does, once the batch
    and the index refresh are done (closing an on-disk store publishes too)."""
    from api.ingest_run import IngestOptions, run_ingest

    files = expand_paths(paths)
    if not files:
        return BatchReport()
    ensure_ontology(store)
    return run_ingest(store, files, IngestOptions(fmt=fmt, layout=layout, max_bytes=max_bytes, workers=workers))
