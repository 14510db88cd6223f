"""A batch of files into the store: parse and map in worker processes, write in batches.

Worker processes (``workers``; 1 runs everything in this process) read, parse and map each file
and serialise its graphs to N-Quads (``prepare``); this process takes the results in input order
and writes them: each disclosure's additions to the shared graph in turn (the preferred-label
rule of ``api.service.shared_additions`` must see the documents before it), and the disclosures'
own and private graphs several at a time through the store's bulk loader
(``search.store.write_nquads``), which is what makes writing cheap. The public N-Quads written can
be kept in a ``search.graph_spool.GraphSpool`` for the index refresh that follows.

Guarantees, as for one file at a time: a bad file is one error naming it and the rest of the
batch still goes in; results come back in input order; re-ingesting a disclosure replaces it;
nothing already stored is lost (a failed write puts the replaced graphs back). A worker process
that dies (a parser library crashing) costs only the file it was reading: the files in flight are
retried one at a time to find it. Publishing for readers is the caller's last step, after the
search index refresh.
"""
from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from api.service import BatchReport, FileOutcome, ontology_triples, settle_preferred_labels, shared_additions
from ontology.errors import BudgetKGError
from ontology.terms import SHARED_GRAPH
from search.graph_spool import GraphSpool
from search.store import GraphStore, graph_from_ntriples, unknown_triples, write_nquads

# A batch is written when it holds this many disclosures or this many bytes of N-Quads. Bulk
# loads of 25-50 disclosures cost ~9-11 ms per disclosure on the samples; single ones ~40 ms.
BATCH_DOCS = 32
BATCH_BYTES = 48 * 1024 * 1024
# Files handed to the workers ahead of the writer, per worker (bounds memory to a few MB each).
AHEAD_PER_WORKER = 4


@dataclass
class IngestOptions:
    fmt: str | None = None
    layout: str | None = None
    max_bytes: int = 50 * 1024 * 1024
    workers: int = 1
    batch_docs: int = BATCH_DOCS
    batch_bytes: int = BATCH_BYTES


@dataclass
class Prepared:
    """One file, parsed and mapped by a worker: what the writer needs, as bytes."""

    path: str
    error: str | None = None
    disclosure: object | None = None  # ingest.model.Disclosure
    graph_iri: str = ""
    private_graph_iri: str = ""
    own: bytes = b""  # N-Quads of the disclosure's own graph
    private: bytes = b""  # N-Quads of its private graph
    shared: bytes = b""  # N-Triples of its triples about shared resources
    triples: int = 0
    seconds: float = 0.0  # parse + map + serialise, in the worker (wall clock)
    cpu_seconds: float = 0.0  # the same in CPU time (what a loaded machine does not inflate)

    @property
    def size(self) -> int:
        return len(self.own) + len(self.private)


def prepare(path: str | Path, fmt: str | None = None, layout: str | None = None,
            max_bytes: int = 50 * 1024 * 1024) -> Prepared:
    """Parse and map one file (runs in a worker process). Never raises for a bad file."""
    from ingest.mapper import to_rdf
    from ingest.pipeline import parse_path
    from search.ntriples import to_nquads, to_ntriples

    started, cpu_started = time.perf_counter(), time.process_time()
    name = str(path)
    try:
        disclosure = parse_path(path, fmt=fmt, layout=layout, max_bytes=max_bytes)
        mapped = to_rdf(disclosure)
        own, shared = mapped.split_shared()
        # Most shared triples restate the ontology's code lists, which the writer would drop
        # anyway (``shared_additions``); dropping them here spares the writer rebuilding them.
        known = ontology_triples()
        shared = [t for t in shared if t not in known]
        result = Prepared(name, disclosure=disclosure, graph_iri=str(mapped.graph_iri),
                          private_graph_iri=str(mapped.private_graph_iri),
                          own=to_nquads(own, str(mapped.graph_iri)),
                          private=to_nquads(mapped.private_triples, str(mapped.private_graph_iri)),
                          shared=to_ntriples(shared),
                          triples=len(mapped.public_triples))
    except BudgetKGError as exc:
        result = Prepared(name, error=str(exc))
    except Exception as exc:  # keep the batch going; the message still names the file
        result = Prepared(name, error=f"{name}: unexpected {type(exc).__name__}: {exc}")
    result.seconds = time.perf_counter() - started
    result.cpu_seconds = time.process_time() - cpu_started
    return result


def _warm_worker() -> None:
    """Import the parsers once per worker process, not on its first file."""
    import ingest.mapper  # noqa: F401
    import ingest.pipeline  # noqa: F401

    ontology_triples()


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


# ---------------------------------------------------------------- parsing, in order


def prepared_in_order(files: list[Path], options: IngestOptions) -> Iterator[Prepared]:
    """``prepare`` every file, in worker processes where ``options.workers`` > 1; results in
    input order."""
    args = (options.fmt, options.layout, options.max_bytes)
    if options.workers <= 1 or len(files) <= 1:
        for path in files:
            yield prepare(path, *args)
        return
    yield from _Pool(min(options.workers, len(files)), args).run(files)


class _Pool:
    """A process pool fed a few files ahead of the reader; survives a worker that dies."""

    def __init__(self, size: int, args: tuple):
        self.size = size
        self.args = args
        self.executor: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        # spawn, not fork: the parent holds RocksDB and its threads, which a forked child must not
        # inherit.
        self.executor = ProcessPoolExecutor(self.size, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_warm_worker)
        return self.executor

    def _stop(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None

    def run(self, files: list[Path]) -> Iterator[Prepared]:
        pending = iter(files)
        window: deque = deque()
        ahead = self.size * AHEAD_PER_WORKER

        def fill() -> None:
            while len(window) < ahead:
                path = next(pending, None)
                if path is None:
                    return
                window.append((path, self.executor.submit(prepare, path, *self.args)))

        self._start()
        try:
            fill()
            while window:
                path, future = window.popleft()
                try:
                    result = future.result()
                except BrokenProcessPool:
                    # One of the files in flight killed its worker; which one is unknown, so each
                    # is retried alone in a fresh pool.
                    suspects = [path] + [p for p, _ in window]
                    window.clear()
                    yield from self._isolate(suspects)
                    fill()
                    continue
                yield result
                fill()
        finally:
            self._stop()

    def _isolate(self, suspects: list[Path]) -> Iterator[Prepared]:
        self._stop()
        self._start()
        for path in suspects:
            try:
                yield self.executor.submit(prepare, path, *self.args).result()
            except BrokenProcessPool:
                yield Prepared(str(path), error=f"{path}: the parser's process died while reading this file "
                                                "(a crash in a format library); nothing of it was stored")
                self._stop()
                self._start()


# ---------------------------------------------------------------- writing, in batches


@dataclass
class _Batch:
    """Disclosures waiting for one bulk write, and the outcomes (in input order) waiting on it."""

    docs: list[Prepared] = field(default_factory=list)
    outcomes: list[tuple[FileOutcome, Prepared | None]] = field(default_factory=list)
    size: int = 0
    graphs: set[str] = field(default_factory=set)


def run_ingest(store: GraphStore, files: list[Path], options: IngestOptions | None = None, *,
               on_parsed: Callable[[Prepared], None] | None = None,
               on_outcome: Callable[[FileOutcome], None] | None = None,
               spool: GraphSpool | None = None) -> BatchReport:
    """Ingest ``files`` into ``store`` (the ontology graph is the caller's). Returns the outcomes
    in input order and ``timings`` (seconds: parse = worker time summed, write = time in this
    process writing, wall; ``*_cpu_s`` the same in CPU time, bulk loader threads included).

    ``on_parsed`` is called as each file comes back from the workers (for progress),
    ``on_outcome`` as each file's outcome is final (after its batch was written), in input order.
    ``spool`` receives the N-Quads of every disclosure graph written, for the index refresh after.
    """
    from rdflib import Graph
    from rdflib.namespace import SKOS

    options = options or IngestOptions()
    report = BatchReport()
    timings = {"parse_s": 0.0, "parse_cpu_s": 0.0, "write_s": 0.0, "write_cpu_s": 0.0, "wall_s": 0.0,
               "workers": max(1, options.workers)}
    started = time.perf_counter()
    batch = _Batch()

    def finish(outcome: FileOutcome) -> None:
        report.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    def flush() -> None:
        nonlocal batch
        if batch.docs:
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                replace = [g for d in batch.docs for g in (d.graph_iri, d.private_graph_iri)]
                write_nquads(store, replace, b"".join(d.own for d in batch.docs),
                             b"".join(d.private for d in batch.docs))
                if spool is not None:
                    for d in batch.docs:
                        spool.add(d.graph_iri, d.own)
            except BudgetKGError as exc:
                for outcome, doc in batch.outcomes:
                    if doc is not None:
                        outcome.ok, outcome.error, outcome.disclosure = False, f"{outcome.path}: not stored: {exc}", None
            timings["write_s"] += time.perf_counter() - t0
            timings["write_cpu_s"] += time.process_time() - c0
        for outcome, _ in batch.outcomes:
            finish(outcome)
        batch = _Batch()

    for doc in prepared_in_order(list(files), options):
        timings["parse_s"] += doc.seconds
        timings["parse_cpu_s"] += doc.cpu_seconds
        if on_parsed is not None:
            on_parsed(doc)
        if doc.error is not None:
            batch.outcomes.append((FileOutcome(doc.path, False, error=doc.error), None))
            continue
        if doc.graph_iri in batch.graphs:
            flush()  # the same disclosure twice in one batch: the later one must replace the earlier
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            # Most of a disclosure's shared triples (code-list concepts, its area) are in the shared
            # graph already; leaving those out changes nothing that is stored, also under the
            # preferred-label rule (a label already held is kept), and spares rebuilding them.
            new = unknown_triples(store, str(SHARED_GRAPH), doc.shared)
            shared = graph_from_ntriples(new) if new else Graph()
            shared_additions(store, shared)
            if len(shared):
                store.replace_graphs({}, additions={str(SHARED_GRAPH): shared})
                # Another process may have written a competing name meanwhile (parallel ingest
                # against one server): settle to the order-independent rule, as write_disclosure does.
                named = {s for s, p, _ in shared if p in (SKOS.prefLabel, SKOS.altLabel)}
                if named:
                    settle_preferred_labels(store, named)
        except BudgetKGError as exc:
            timings["write_s"] += time.perf_counter() - t0
            timings["write_cpu_s"] += time.process_time() - c0
            batch.outcomes.append((FileOutcome(doc.path, False, error=f"{doc.path}: not stored: {exc}"), None))
            continue
        timings["write_s"] += time.perf_counter() - t0
        timings["write_cpu_s"] += time.process_time() - c0
        batch.docs.append(doc)
        batch.graphs.add(doc.graph_iri)
        batch.size += doc.size
        batch.outcomes.append((FileOutcome(doc.path, True, disclosure=doc.disclosure, graph_iri=doc.graph_iri,
                                           triples=doc.triples), doc))
        if len(batch.docs) >= options.batch_docs or batch.size >= options.batch_bytes:
            flush()
    flush()
    timings["wall_s"] = time.perf_counter() - started
    report.timings = {k: round(v, 3) if isinstance(v, float) else v for k, v in timings.items()}
    return report
