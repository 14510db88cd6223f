"""Speed and size of the search index (a benchmark, not a test).

Usage::

    python benchmarks/search_speed.py                       # the five seeds
    python benchmarks/search_speed.py --n 1000              # 1,000 disclosures (varied replicas)
    python benchmarks/search_speed.py --n 10000 --store DIR # reuse a corpus store built before
    python benchmarks/search_speed.py --n 1000 --json out.json --compare small.json

Corpus: the seeds, or N disclosures from ``benchmarks/synthetic.py`` (``--corpus synthetic``, the
default: parsed and bulk-loaded by ``benchmarks/corpus_store.py``), or the seeds replicated by
``benchmarks/replica_corpus.py`` (``varied`` or ``identical``; identical flatters de-duplication).

Prints, with the split ``refresh()`` reports:

- index build from scratch (read items, tokenise, embed, write, vector spaces, topic tagging),
  disclosures/s, texts encoded vs taken from the embedding cache;
- an incremental refresh after 1 % more disclosures, and a refresh with nothing to do;
- index size on disk by part; load time and RSS of a fresh process opening the index
  (``serve``'s part of start-up) and answering its first search;
- p50/p95/max of ``search`` (seen and fresh texts, by type) and ``similar`` (IRIs and texts),
  sequentially and from 4 threads at once;
- recall@10 of every approximate vector space against exact search over the same vectors;
- with ``--compare``: the growth exponent of each latency between two runs (log ratio of the
  figure over log ratio of the corpus size).

Targets at 10,000 disclosures on a 2-core machine (issue 8): refresh <= 0.1 s per disclosure,
search and similar p95 <= 50 ms, index load well inside serve's 10 s, latency exponent <= 0.5.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from retrieval_eval import SEARCH_CASES  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def timed(fn, inputs, rounds: int = 1) -> list[float]:
    out = []
    for _ in range(rounds):
        for x in inputs:
            t0 = time.perf_counter()
            fn(x)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_corpus(n: int, kind: str, out: Path) -> Path:
    """An on-disk store of ``n`` disclosures (the seeds when n <= 5)."""
    if n <= 5:
        from api.service import ingest_paths
        from search.store import open_store

        store = open_store("oxigraph", path=out)
        ingest_paths(store, sorted((ROOT / "ingest" / "samples").glob("*.txt")))
        store.close()
        return out
    if kind == "synthetic":
        import corpus_store

        return corpus_store.build_store(n, out)
    import replica_corpus

    return replica_corpus.build_store(n, out, vary=kind != "identical")


def append_disclosures(store_path: Path, n: int, kind: str, work: Path) -> None:
    """Add ``n`` more disclosures, different from the corpus's, to a corpus store (closed)."""
    import pyoxigraph as ox

    if kind == "synthetic":
        import corpus_store

        corpus_store.build_store(n, work / "extra", seed=1)  # another seed: other counties and wording
        source = ox.Store.read_only(str(work / "extra" / "public"))
        quads = list(source.quads_for_pattern(None, None, None))
        del source
    else:
        import random as rnd

        import replica_corpus

        _, lines = replica_corpus.seed_nquads()
        provinces = replica_corpus._provinces(lines)
        text = []
        for i in range(10**6, 10**6 + (n + 4) // 5):
            text += replica_corpus.replicate(lines, i, kind != "identical", provinces, rnd.Random(i))
        quads = list(ox.parse(input="\n".join(text).encode("utf-8"), format=ox.RdfFormat.N_QUADS))
    store = ox.Store(str(store_path / "public"))
    store.extend(quads)
    store.flush()
    del store


LOAD_PROBE = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
from search.embedder import get_embedder
get_embedder({model!r}, 1)
t_model = time.perf_counter() - t0
from search.index import SearchIndex
from search.store import open_store
store = open_store("oxigraph", path={store!r}, read_only=True)
t1 = time.perf_counter()
index = SearchIndex.open(store, {index!r}, {model!r}, 1, refresh=False)
t_open = time.perf_counter() - t1
rss_open = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t2 = time.perf_counter()
index.search("医疗保障", k=10)
t_first = time.perf_counter() - t2
print(json.dumps({{"model_s": t_model, "open_s": t_open, "first_search_s": t_first, "items": len(index),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss_open_mb": rss_open / 1024}}))
"""


def load_probe(store: Path, index_dir: Path, model: str) -> dict:
    """Open the index in a fresh process, as ``serve`` does, and time it."""
    code = LOAD_PROBE.format(root=str(ROOT), model=model, store=str(store), index=str(index_dir))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        return {"error": out.stderr[-500:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def ann_recall(index, samples: int = 200, k: int = 10) -> dict:
    """recall@k of each approximate space against exact inner product over its vectors."""
    import faiss
    import numpy as np

    from search.index_build import SPACES

    view = index._current_view()
    out = {}
    for name, space in view.spaces.items():
        if space.base is None or space.kind == "flat":
            continue
        type_, column = SPACES[name]
        ids = np.asarray(sorted(v for (v,) in view.items._reader().execute(
            f"SELECT DISTINCT {column} FROM items WHERE type = ? AND {column} IS NOT NULL AND dead IS NULL",
            (type_,))), dtype=np.int64)
        vectors = np.concatenate([index.vectors(ids[i:i + 50_000], view) for i in range(0, len(ids), 50_000)])
        exact = faiss.IndexFlatIP(vectors.shape[1])
        exact.add(vectors)
        rng = random.Random(0)
        picks = rng.sample(range(len(ids)), min(samples // 2, len(ids)))
        queries = [vectors[p] for p in picks]
        queries += list(index.embedder.encode_queries([c.query for c in SEARCH_CASES][:samples - len(queries)]))
        hit = total = 0
        t_ann = t_exact = 0.0
        for q in queries:
            t0 = time.perf_counter()
            got = {i for i, _ in space.search(q, k)[0]}
            t_ann += time.perf_counter() - t0
            t0 = time.perf_counter()
            _, pos = exact.search(np.asarray(q, dtype=np.float32)[None, :], k)
            t_exact += time.perf_counter() - t0
            want = {int(ids[p]) for p in pos[0] if p >= 0}
            hit += len(got & want)
            total += len(want)
        out[name] = {"kind": space.kind, "vectors": len(ids), "recall@10": round(hit / max(total, 1), 4),
                     "ann_ms": round(1000 * t_ann / len(queries), 2), "exact_ms": round(1000 * t_exact / len(queries), 2)}
    return out


def latencies(index, rounds: int) -> dict[str, list[float]]:
    queries = [c.query for c in SEARCH_CASES]
    typed = [(c.query, c.type) for c in SEARCH_CASES if c.type]
    view = index._current_view()
    rows = view.items._reader().execute(
        "SELECT iri FROM items WHERE type = 'indicator' ORDER BY row LIMIT 2000").fetchall()
    iris = [r[0] for r in random.Random(1).sample(rows, min(40, len(rows)))]
    for q in queries[:10]:  # warm up: topic vectors, first-use caches
        index.search(q, k=10)
        index.similar(q, k=10)
    out = {"search (seen text)": timed(lambda q: index.search(q, k=10), queries, rounds),
           "search by type": timed(lambda qt: index.search(qt[0], k=10, type=qt[1]), typed, rounds),
           "similar (IRI)": timed(lambda i: index.similar(i, k=10), iris, rounds)}
    fresh, fresh_similar = [], []
    for r in range(rounds):
        for q in queries:
            t0 = time.perf_counter()
            index.search(f"{q} {r}", k=10)
            fresh.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            index.similar(f"{q} s{r}", k=10)  # a text the search above did not encode
            fresh_similar.append((time.perf_counter() - t0) * 1000)
    out["search (new text)"] = fresh
    out["similar (new text)"] = fresh_similar
    # Four threads at once: no lock serialises them, so two cores serve two at a time.
    mixed = [(q, i) for q, i in zip(queries * rounds, (iris * (len(queries) * rounds // max(len(iris), 1) + 1)))]
    lock, concurrent = threading.Lock(), []

    def worker(part):
        for j, (q, iri) in enumerate(part):
            t0 = time.perf_counter()
            index.search(f"{q} t{j}", k=10) if j % 2 == 0 else index.similar(iri, k=10)
            with lock:
                concurrent.append((time.perf_counter() - t0) * 1000)

    threads = [threading.Thread(target=worker, args=(mixed[t::4],)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["4 threads (search+similar)"] = concurrent
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5, help="Disclosures in the corpus (5 = the seeds).")
    parser.add_argument("--corpus", choices=["synthetic", "varied", "identical"], default="synthetic",
                        help="benchmarks/synthetic.py (default), or seed replicas with varied or identical texts "
                             "(identical flatters de-duplication).")
    parser.add_argument("--store", type=Path, help="Corpus store folder to reuse (built there when missing).")
    parser.add_argument("--rounds", type=int, default=3, help="Passes over the query set per operation.")
    parser.add_argument("--workers", type=int, default=0, help="Refresh worker processes (0 = core count).")
    parser.add_argument("--kind", default="auto", help="Vector index kind (auto, flat, ivf-flat, ivf-sq8, ivf-pq, hnsw).")
    parser.add_argument("--exact-limit", type=int, help="Vectors per space below which search is exact.")
    parser.add_argument("--model", default="use-multilingual", help="Embedding model (name or path).")
    parser.add_argument("--json", type=Path, help="Write the figures to this file.")
    parser.add_argument("--compare", type=Path, help="A --json file of a smaller run: print growth exponents.")
    parser.add_argument("--keep", action="store_true", help="Keep the work folder (index and store copy).")
    args = parser.parse_args()

    from search.embedder import get_embedder
    from search.index import IndexOptions, SearchIndex, refresh_after_ingest
    from search.store import open_store
    from search.vectors import AnnOptions

    work = Path(tempfile.mkdtemp(prefix="budgetkg-speed-"))
    results: dict = {"n": args.n, "corpus": args.corpus if args.n > 5 else "seeds", "machine": f"{os.cpu_count()} cores"}
    try:
        source = args.store or work / "corpus"
        if not (source / "public").exists():
            t0 = time.perf_counter()
            build_corpus(args.n, args.corpus, source)
            print(f"corpus: {args.n} disclosures ({results['corpus']}) built in {time.perf_counter() - t0:.0f} s")
        store_path = work / "store"
        shutil.copytree(source, store_path)  # the refresh writes topic tags: keep the source clean
        options = IndexOptions(ann=AnnOptions(kind=args.kind, exact_limit=args.exact_limit), workers=args.workers)

        t0 = time.perf_counter()
        embedder = get_embedder(args.model, 1)
        embedder.encode_query("warm up")
        print(f"model load: {time.perf_counter() - t0:.2f} s ({args.model}, 1 thread)")

        store = open_store("oxigraph", path=store_path)
        index_dir = work / "index"
        stats = refresh_after_ingest(store, index_dir, args.model, 1, options)
        results["build"] = stats
        n_docs = stats["added_or_replaced"]
        print(f"\nindex build, {n_docs} disclosures: {stats['seconds']:.1f} s wall = "
              f"{stats['seconds'] / max(n_docs, 1):.3f} s/disclosure ({n_docs / stats['seconds']:.1f} disclosures/s), "
              f"{stats['items']} items")
        print(f"  split: read {stats['read_s']:.1f} s (SPARQL, wall), tokenise {stats['tokenize_s']:.1f} s CPU, "
              f"embed {stats['embed_s']:.1f} s CPU, write {stats['write_s']:.1f} s, vectors {stats['vectors_s']:.1f} s, "
              f"topics {stats['topics_s']:.1f} s, waiting on workers {stats['wait_s']:.1f} s; workers: {stats['workers']}")
        print(f"  texts encoded {stats['texts_encoded']} ({stats['texts_encoded'] / max(n_docs, 1):.0f} per disclosure), "
              f"from cache {stats['texts_cached']}; spaces {stats['index']}")

        if args.n > 5:
            extra = max(5, args.n // 100)  # +1 % of the disclosures
            store.close()
            del store
            append_disclosures(store_path, extra, args.corpus, work)
            store = open_store("oxigraph", path=store_path)
            inc = refresh_after_ingest(store, index_dir, args.model, 1, options)
            results["incremental"] = inc
            print(f"\nincremental refresh, +{inc['added_or_replaced']} disclosures: {inc['seconds']:.2f} s "
                  f"({inc['seconds'] / max(inc['added_or_replaced'], 1):.3f} s/disclosure; read {inc['read_s']:.2f}, "
                  f"embed {inc['embed_s']:.2f} CPU, write {inc['write_s']:.2f}, vectors {inc['vectors_s']:.2f}, "
                  f"topics {inc['topics_s']:.2f}); texts encoded {inc['texts_encoded']}, cached {inc['texts_cached']}")
        t0 = time.perf_counter()
        noop = SearchIndex.open(store, index_dir, args.model, 1, options=options)
        results["noop_refresh_s"] = time.perf_counter() - t0
        print(f"open + refresh with nothing to do: {results['noop_refresh_s']:.2f} s "
              f"(fingerprints of {len(noop.manifest.get('graphs', {}))} disclosure graphs)")

        layout = {p.name: du(p) for p in sorted(index_dir.iterdir())}
        results["size_bytes"] = layout
        total = sum(layout.values())
        print(f"\nindex on disk: {total / 2**20:.1f} MiB — " +
              ", ".join(f"{k} {v / 2**20:.1f}" for k, v in layout.items() if v > 2**16))
        store.close()
        del store
        probe = load_probe(store_path, index_dir, args.model)
        results["load"] = probe
        print(f"fresh process: model {probe.get('model_s', 0):.2f} s, index open {probe.get('open_s', 0) * 1000:.0f} ms, "
              f"first search {probe.get('first_search_s', 0) * 1000:.0f} ms; RSS {probe.get('rss_mb', 0):.0f} MB "
              f"(after open {probe.get('rss_open_mb', 0):.0f} MB)" if "error" not in probe else f"load probe failed: {probe}")

        store = open_store("oxigraph", path=store_path, read_only=True)
        index = SearchIndex.open(store, index_dir, args.model, 1, refresh=False, options=options)
        rows = latencies(index, args.rounds)
        results["latency_ms"] = {k: {"p50": pct(v, .5), "p95": pct(v, .95), "max": max(v), "n": len(v)}
                                 for k, v in rows.items()}
        print(f"\nlatency, {args.rounds} rounds ({len(index)} items):")
        print(f"{'operation':<28} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for name, v in rows.items():
            print(f"{name:<28} {len(v):>5} {pct(v, .5):>8.1f} {pct(v, .95):>8.1f} {max(v):>8.1f}")

        recall = ann_recall(index)
        results["ann"] = recall
        if recall:
            print("\napproximate spaces vs exact search over the same vectors:")
            for name, r in recall.items():
                print(f"  {name:<15} {r['kind']:<9} {r['vectors']:>8} vectors  recall@10 {r['recall@10']:.3f}  "
                      f"{r['ann_ms']:.2f} ms vs exact {r['exact_ms']:.2f} ms")
        else:
            print("\nevery vector space is exact (flat) at this size: recall@10 = 1 by construction")
        del index, store  # read-only: nothing to flush
        if args.compare:
            small = json.loads(args.compare.read_text("utf-8"))
            ratio = math.log(args.n / small["n"])
            print(f"\ngrowth exponents from {small['n']} to {args.n} disclosures (<= 0.5 wanted for latency):")
            for name, row in results["latency_ms"].items():
                before = small.get("latency_ms", {}).get(name)
                if before:
                    print(f"  {name:<28} p95 {math.log(row['p95'] / before['p95']) / ratio:+.2f}  "
                          f"p50 {math.log(row['p50'] / before['p50']) / ratio:+.2f}")
            before = small["build"]["seconds"] / max(small["build"]["added_or_replaced"], 1)
            after = results["build"]["seconds"] / max(results["build"]["added_or_replaced"], 1)
            print(f"  build s/disclosure {math.log(after / before) / ratio:+.2f}")
        if args.json:
            args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str), "utf-8")
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
