"""Speed of the search layer on the bundled seed disclosures (a benchmark, not a test).

Usage: ``python benchmarks/search_speed.py [--rounds N] [--store memory|disk] [--model NAME]``

Prints: model load time; index build time for the sample set (model already loaded); encode
throughput (batched passages, and one query at a time); p50/p95 latency of ``search``,
``similar`` and ``ask`` with the model loaded and warmed up. Targets on a 2-core machine:
search and similar p95 < 50 ms, ask p95 < 300 ms.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from retrieval_eval import ASK_CASES, SEARCH_CASES  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(fn, inputs, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        for x in inputs:
            t0 = time.perf_counter()
            fn(x)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="Passes over the query set per operation.")
    parser.add_argument("--store", choices=["memory", "disk"], default="memory",
                        help="Embedded Oxigraph in memory, or on disk as `budgetkg` uses it.")
    parser.add_argument("--model", default="use-multilingual", help="Embedding model (name or path).")
    args = parser.parse_args()

    from api.service import ingest_paths
    from search.embedder import get_embedder
    from search.index import SearchIndex, refresh_after_ingest
    from search.qa import ask
    from search.store import open_store

    work = Path(tempfile.mkdtemp(prefix="budgetkg-speed-"))
    try:
        store = open_store("memory") if args.store == "memory" else open_store("oxigraph", path=work / "store")
        ingest_paths(store, sorted((ROOT / "ingest" / "samples").glob("*.txt")))

        t0 = time.perf_counter()
        embedder = get_embedder(args.model, 1)
        embedder.encode_query("warm up")
        print(f"model load: {time.perf_counter() - t0:.2f} s ({args.model}, 1 thread)")

        t0 = time.perf_counter()
        stats = refresh_after_ingest(store, work / "index", args.model, 1)
        build_s = time.perf_counter() - t0
        print(f"index build (5 seed disclosures, model loaded): {build_s:.2f} s — {stats['items']} items, "
              f"encoding {stats.get('encode_s', 0):.2f} s, topic tagging included; index {stats['index']}")
        index = SearchIndex.open(store, work / "index", args.model, 1)

        texts = [it.text for it in index.items]
        t0 = time.perf_counter()
        embedder.encode_passages(texts)
        dt = time.perf_counter() - t0
        print(f"encode throughput: {len(texts) / dt:.0f} passages/s batched ({len(texts)} item texts, "
              f"mean {statistics.mean(len(t) for t in texts):.0f} chars)")
        queries = [c.query for c in SEARCH_CASES]
        single = timed(lambda q: embedder.encode_query(q), queries, 1)
        print(f"encode one query: p50 {pct(single, .5):.1f} ms, p95 {pct(single, .95):.1f} ms")

        iris = [it.iri for it in index.items if it.type == "indicator"][:40]
        questions = [c.question for c in ASK_CASES]
        for fn, inputs in ((lambda q: index.search(q, k=10), queries),
                           (lambda q: index.similar(q, k=10), iris + queries[:20]),
                           (lambda q: ask(q, store, index), questions)):
            timed(fn, inputs, 1)  # warm up: first-use caches (gazetteer, topic vectors)
        index._query_cache.clear()
        rows = []
        for name, fn, inputs in (("search", lambda q: index.search(q, k=10), queries),
                                 ("similar", lambda q: index.similar(q, k=10), iris + queries[:20]),
                                 ("ask", lambda q: ask(q, store, index), questions)):
            if name in ("search", "similar"):
                # A repeated text hits the query-vector cache; time texts never seen before too.
                fresh = []
                for r in range(args.rounds):
                    for q in queries:
                        text = f"{q} {r}"
                        t0 = time.perf_counter()
                        index.search(text, k=10) if name == "search" else index.similar(text, k=10)
                        fresh.append((time.perf_counter() - t0) * 1000)
                rows.append((f"{name} (new text)", fresh))
            rows.append((name, timed(fn, inputs, args.rounds)))
        print(f"\nlatency over {args.rounds} rounds, store {args.store}:")
        print(f"{'operation':<18} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for name, values in rows:
            print(f"{name:<18} {len(values):>5} {pct(values, .5):>8.1f} {pct(values, .95):>8.1f} {max(values):>8.1f}")
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
