"""The representative SPARQL set on three engines, side by side, with the same graph.

Usage::

    python benchmarks/engines.py --home HOME [--engines embedded,oxigraph-server,virtuoso]
                                 [--rounds R] [--virtuoso-memory-gb G] [--json OUT]

``HOME`` is a budgetkg home whose store holds the corpus (for instance ``benchmarks/scale.py
--sizes 1000 --keep``, or ``budgetkg --home HOME ingest <synthetic corpus>``). Its public graphs
are exported once as N-Quads and bulk-loaded into

- **embedded**: the store itself (pyoxigraph on disk, read-only, queried in this process — what
  ``budgetkg sparql`` does);
- **oxigraph-server**: ``oxigraph load`` into a fresh folder, then ``oxigraph serve-read-only
  --union-default-graph`` on 127.0.0.1 (pip package ``oxigraph``);
- **virtuoso**: a throwaway ``virtuoso-t`` (Debian ``virtuoso-opensource``; started the way the
  tests start it, ``tests/virtuoso_support.py``), loaded with its bulk loader (``ld_dir`` +
  ``rdf_loader_run``) into one graph per disclosure.

The queries, with constants taken from the store so that every engine answers the same thing:
point lookup (everything about one project), aggregate by county and year (project money summed),
topic query (projects tagged with a policy topic, with their county), and the 3-hop join project →
indicator → legal basis (文号) with ORDER BY/LIMIT. Printed: load time per engine, then p50 / max
milliseconds per query and engine over ``--rounds`` rounds, and the row counts (which must agree).
A server query that runs past ``--query-timeout`` is shown as timed out and not repeated, so one
engine that cannot answer a query at some size still leaves figures for the rest.
Servers are queried over HTTP (form-encoded POST, JSON results) — the cost a remote store adds is
part of the figure, as it is for a user.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PREFIXES = """PREFIX bkg: <https://w3id.org/budgetkg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""


def queries(project: str, topic: str | None) -> dict[str, str]:
    """The representative set; without ``topic`` (a store with no topic tags) the topic query is left out."""
    out = {
        "point lookup": PREFIXES + f"SELECT ?p ?o WHERE {{ <{project}> ?p ?o }}",
        "aggregate by county and year": PREFIXES + """
SELECT ?county ?year (SUM(?amount) AS ?total) (COUNT(?p) AS ?projects) WHERE {
  ?d bkg:hasProject ?p ; bkg:fiscalYear ?year ; bkg:publishedBy/bkg:area/rdfs:label ?county .
  ?p bkg:amount ?amount .
} GROUP BY ?county ?year ORDER BY DESC(?total) ?county ?year LIMIT 1000""",
        "topic query": PREFIXES + f"""
SELECT ?county ?year ?project ?amount WHERE {{
  ?p bkg:topic <{topic}> ; rdfs:label ?project ; bkg:fromDisclosure ?d .
  OPTIONAL {{ ?p bkg:amount ?amount }}
  ?d bkg:fiscalYear ?year ; bkg:publishedBy/bkg:area/rdfs:label ?county .
}} ORDER BY ?county ?year ?project LIMIT 1000""",
        "3-hop project-indicator-basis": PREFIXES + """
SELECT ?project ?indicator ?number WHERE {
  ?p a bkg:Project ; rdfs:label ?project ; bkg:hasIndicator ?i ; bkg:legalBasis ?doc .
  ?i rdfs:label ?indicator . ?doc bkg:documentNumber ?number .
} ORDER BY ?number ?project ?indicator LIMIT 100""",
    }
    if topic is None:
        del out["topic query"]
    return out


def constants(store) -> tuple[str, str | None]:
    """A project that has indicators and a basis, and the most used topic (None if none is tagged)."""
    project = next(iter(store.query(PREFIXES + """
SELECT ?p WHERE { ?p a bkg:Project ; bkg:hasIndicator ?i ; bkg:legalBasis ?doc } LIMIT 1""").rows))["p"]
    tagged = store.query(PREFIXES + """
SELECT ?t (COUNT(?p) AS ?n) WHERE { ?p bkg:topic ?t } GROUP BY ?t ORDER BY DESC(?n) LIMIT 1""").rows
    if not tagged:  # topic tags are written by the index refresh (ingest without --no-index)
        print("the store holds no topic tags (ingested with --no-index): the topic query is left out", flush=True)
        return str(project), None
    return str(project), str(tagged[0]["t"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Embedded:
    name = "embedded"

    def __init__(self, home: Path):
        from search.store import open_store

        self.store = open_store("oxigraph", path=home / "store", read_only=True)
        self.load_s = 0.0

    def run(self, query: str) -> int:
        return len(self.store.query(query).rows)

    def close(self) -> None:
        self.store.close()


class QueryTimedOut(Exception):
    """A query ran past ``--query-timeout``; the table shows it as such instead of a figure."""


class HttpEngine:
    """Queries over HTTP, the way a remote store sends them."""

    url = ""
    timeout_s = 600.0

    def run(self, query: str) -> int:
        import httpx

        try:
            r = httpx.post(self.url, data={"query": query}, headers={"Accept": "application/sparql-results+json"},
                           timeout=self.timeout_s)
        except httpx.TimeoutException as exc:
            raise QueryTimedOut(f"no answer within {self.timeout_s:.0f} s") from exc
        r.raise_for_status()
        try:
            return len(r.json()["results"]["bindings"])
        except ValueError:
            # The Oxigraph server's own --timeout-s cuts the streamed 200 answer short with
            # "The SPARQL operation has been cancelled" where the bindings should be.
            if "cancelled" in r.text[-300:]:
                raise QueryTimedOut(f"the server cancelled it after {self.timeout_s:.0f} s") from None
            raise


class OxigraphServer(HttpEngine):
    name = "oxigraph-server"

    def __init__(self, nquads: Path, work: Path, writable: bool = False, timeout_s: float = 600.0):
        import httpx

        self.timeout_s = timeout_s
        binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
        folder = work / "oxigraph-server"
        t0 = time.perf_counter()
        subprocess.run([binary, "load", "--location", str(folder), "--file", str(nquads)], check=True,
                       capture_output=True)
        self.load_s = time.perf_counter() - t0
        # ``oxigraph load`` itself advises this before a read-heavy workload: the bulk loader leaves
        # its files uncompacted. Timed apart from the load, as a user would run it once.
        t0 = time.perf_counter()
        subprocess.run([binary, "optimize", "--location", str(folder)], check=True, capture_output=True)
        self.optimize_s = time.perf_counter() - t0
        port = _free_port()
        # ``serve`` also answers updates (benchmarks/remote_index.py writes through it).
        self.process = subprocess.Popen([binary, "serve" if writable else "serve-read-only", "--location",
                                         str(folder), "--bind",
                                         f"127.0.0.1:{port}", "--union-default-graph",
                                         # The server abandons a query the client gave up on; without
                                         # this it keeps a core busy under the next query's figure.
                                         "--timeout-s", str(int(max(1, timeout_s)))],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.url = f"http://127.0.0.1:{port}/query"
        for _ in range(300):
            try:
                if httpx.post(self.url, data={"query": "ASK {}"}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)

    def close(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(30)


class Virtuoso(HttpEngine):
    name = "virtuoso"

    def __init__(self, nquads: Path, work: Path, writable: bool = True,
                 settings: dict[str, dict[str, str | None]] | None = None, timeout_s: float = 600.0):
        from tests.virtuoso_support import VirtuosoServer

        # Client-side only: Virtuoso's own MaxQueryExecutionTime returns partial ("anytime")
        # results, which would make the row counts disagree rather than show the time.
        self.timeout_s = timeout_s
        self.server = VirtuosoServer(work / "virtuoso", settings).start()
        self.url = self.server.sparql_url
        data = self.server.folder / "load"
        data.mkdir()
        os.link(nquads, data / "data.nq") if nquads.stat().st_dev == data.stat().st_dev else shutil.copy(nquads, data)
        t0 = time.perf_counter()
        # .nq files carry their graphs; the third argument is only the fallback graph.
        self.server.isql(f"ld_dir('{data}', 'data.nq', 'https://w3id.org/budgetkg/graph/unknown');")
        self.server.isql("rdf_loader_run();", timeout=None)
        self.server.isql("checkpoint;", timeout=None)
        self.load_s = time.perf_counter() - t0

    def close(self) -> None:
        self.server.stop()


def virtuoso_memory(gb: float) -> dict[str, dict[str, str]]:
    """Virtuoso's buffer pool for ``gb`` GB of memory, on the scale its own ini suggests (170,000
    buffers of 8 KB and 130,000 dirty for 2 GB free). Without it the package's ini keeps 10,000
    buffers (80 MB), which a store of millions of quads reads through page by page."""
    if gb <= 0:
        return {}
    return {"Parameters": {"NumberOfBuffers": str(int(85_000 * gb)), "MaxDirtyBuffers": str(int(65_000 * gb))}}


def measure(engine, query: str, rounds: int) -> dict:
    """p50 / max ms and rows of ``rounds`` runs after a warm-up; a query that times out is not
    run again, and a warm-up that itself takes over a minute counts as the only round (caches do
    not matter at that length, and five more would cost the run an hour)."""
    times, rows = [], None
    try:
        t0 = time.perf_counter()
        rows = engine.run(query)  # warm-up: caches, first-use compilation
        warm_ms = (time.perf_counter() - t0) * 1000
        if warm_ms > 60_000:
            times = [warm_ms]
        else:
            for _ in range(rounds):
                t0 = time.perf_counter()
                rows = engine.run(query)
                times.append((time.perf_counter() - t0) * 1000)
    except QueryTimedOut as exc:
        return {"timed_out_s": engine.timeout_s, "error": str(exc)}
    return {"p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1), "rows": rows,
            "runs": len(times)}


def cell(result: dict) -> str:
    if "timed_out_s" in result:
        return f"> {result['timed_out_s']:.0f} s (timeout)"
    return f"{result['p50_ms']:>10.1f} ms ({result['rows']:>4} r)"


def export_public(home: Path, out: Path) -> int:
    from search.store import export_to_file, open_store

    store = open_store("oxigraph", path=home / "store", read_only=True)
    try:
        with open(out, "wb") as fh:  # streamed: 23 M quads at 10,000 disclosures
            export_to_file(store, "nq", fh)
    finally:
        store.close()
    with open(out, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a budgetkg home holding the corpus")
    parser.add_argument("--engines", default="embedded,oxigraph-server,virtuoso")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--virtuoso-memory-gb", type=float, default=0,
                        help="size Virtuoso's buffer pool for this much memory (default: the package's ini)")
    parser.add_argument("--query-timeout", type=float, default=600.0,
                        help="seconds a server may take over one query before it counts as timed out (the "
                             "embedded store has no timeout: pyoxigraph cannot stop a query)")
    parser.add_argument("--queries", default="",
                        help="comma-separated subset of the query names (default: all), e.g. 'point lookup,3-hop "
                             "project-indicator-basis'")
    parser.add_argument("--reuse-export", action="store_true",
                        help="load the servers from WORK/public.nq left by an earlier run instead of exporting again")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="budgetkg-engines-"))
    work.mkdir(parents=True, exist_ok=True)
    wanted = args.engines.split(",")
    embedded = Embedded(args.home)
    project, topic = constants(embedded.store)
    qs = queries(project, topic)
    if args.queries:
        chosen = [name.strip() for name in args.queries.split(",") if name.strip()]
        unknown = sorted(set(chosen) - set(qs))
        if unknown:
            parser.error(f"unknown query name(s) {unknown}; known: {sorted(qs)}")
        qs = {name: qs[name] for name in chosen}
    engines = [embedded] if "embedded" in wanted else []
    nquads = work / "public.nq"
    if set(wanted) - {"embedded"} and args.reuse_export and nquads.is_file():
        print(f"using the export already in {nquads}", flush=True)
    elif set(wanted) - {"embedded"}:
        t0 = time.perf_counter()
        quads = export_public(args.home, nquads)
        print(f"exported {quads:,} public quads in {time.perf_counter() - t0:.1f} s", flush=True)
    try:
        for name, cls in (("oxigraph-server", OxigraphServer), ("virtuoso", Virtuoso)):
            if name in wanted:
                print(f"loading {name} ...", flush=True)
                extra = {"timeout_s": args.query_timeout}
                if name == "virtuoso":
                    extra["settings"] = virtuoso_memory(args.virtuoso_memory_gb)
                engines.append(cls(nquads, work, **extra))
                optimized = getattr(engines[-1], "optimize_s", None)
                print(f"  loaded in {engines[-1].load_s:.1f} s"
                      + (f", optimized in {optimized:.1f} s" if optimized is not None else ""), flush=True)
        results: dict = {"home": str(args.home), "load_s": {e.name: round(e.load_s, 1) for e in engines},
                         "optimize_s": {e.name: round(e.optimize_s, 1) for e in engines if hasattr(e, "optimize_s")},
                         "queries": {}}
        for label, query in qs.items():
            row = results["queries"][label] = {}
            for engine in engines:
                row[engine.name] = measure(engine, query, args.rounds)
                print(f"  {label} on {engine.name}: {cell(row[engine.name]).strip()}", flush=True)
        width = 22
        print("\n" + f"{'query':<32}" + "".join(f"{e.name:>{width}}" for e in engines))
        for label, row in results["queries"].items():
            print(f"{label:<32}" + "".join(f"{cell(row[e.name]):>{width}}" for e in engines))
        print(f"{'load (s)':<32}" + "".join(f"{e.load_s:>{width}.1f}" for e in engines))
        answered = [{v["rows"] for v in row.values() if "rows" in v} for row in results["queries"].values()]
        agree = all(len(counts) <= 1 for counts in answered)
        print("row counts agree across engines (among those that answered)" if agree
              else "ROW COUNTS DIFFER between engines")
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    finally:
        for engine in engines:
            engine.close()
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
