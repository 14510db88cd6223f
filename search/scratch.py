"""A scratch in-memory copy of some disclosure graphs, for the search index to read its items from.

The index reads each disclosure through five item queries joined per resource. On the store that
holds everything, each row joined is a lookup in a large database (embedded: a RocksDB read,
~0.085 s per disclosure at 10,000 disclosures; remote: the server's joins, ~0.5 s per disclosure
from Virtuoso over HTTP at 10,000). The same queries over a copy holding just the graphs of one
batch are cheap, and the copy itself is cheap to make:

* after ``budgetkg ingest``, from the spool of N-Quads it just wrote (``search.graph_spool``);
* on a remote store, by dumping each graph whole (one simple CONSTRUCT each: a scan the server
  does fast, where the item queries' joins were what it was slow at).

Shared data (concept labels, departments, areas, legal documents) is not in the copy: the
index's ``Lookups`` read it from the store. A graph whose copy is not the graph the store holds
(same file hash and ``rdf:type`` count, as ``search.corpus.store_state`` fingerprints it; e.g. a
parallel ingest replaced it meanwhile, or a server cut a dump short) is read from the store.
"""
from __future__ import annotations

from dataclasses import dataclass

from search import corpus
from search.graph_spool import GraphSpool
from search.store import GraphStore
from search.store_oxigraph import OxigraphStore


@dataclass
class ScratchCopy:
    """The copy, and how each graph in it that matches the store got there ("spool" or "dump").
    ``whole``: every graph in the copy matches (then one pattern over the copy reads just them)."""

    store: OxigraphStore
    copied: dict[str, str]
    whole: bool


def can_copy(store: GraphStore) -> bool:
    """Whether ``store`` hands out whole graphs (a remote store): then every read goes through a
    copy, whatever the spool holds."""
    return getattr(store, "graph_dump", None) is not None


def scratch_copy(store: GraphStore, graphs: list[str], state: dict[str, str],
                 spool: GraphSpool | None = None) -> ScratchCopy | None:
    """A memory store with those of ``graphs`` that can be copied, checked against ``state``
    (their fingerprints in the store); None when none can be (an embedded store, no spool)."""
    spooled = [g for g in graphs if spool is not None and g in spool]
    dumped = [g for g in graphs if g not in set(spooled)] if can_copy(store) else []
    if not spooled and not dumped:
        return None
    scratch = OxigraphStore.from_nquads(b"".join(spool.read(g) for g in spooled) if spooled else b"")
    for g in dumped:
        for data, fmt in store.graph_dump(g):
            scratch.load_graph(g, data, fmt)
    held = corpus.store_state(scratch)
    source = {g: "spool" for g in spooled} | {g: "dump" for g in dumped}
    copied = {g: how for g, how in source.items() if held.get(g) == state.get(g)}
    return ScratchCopy(scratch, copied, whole=len(copied) == len(held))
