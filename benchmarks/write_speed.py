"""Parse and write speed of ``budgetkg ingest``'s pipeline, printed as figures (not a test).

For each corpus size (default 100 and 1,000 disclosures) it ingests a fresh corpus into a fresh
on-disk store the way ``budgetkg ingest --no-index`` does (``api.ingest_run``: parse + map in
worker processes, writes in batches through Oxigraph's bulk loader) and prints

- parse: worker seconds per disclosure (read, parse, map to RDF, serialise) and the wall-clock
  rate of the whole pipeline in disclosures/s;
- write: seconds the writing process spent per disclosure (shared-graph additions one by one,
  own graphs bulk-loaded in batches);
- publish: the checkpoint readers open; store size on disk;
- for comparison, in the same run and on the same documents, the previous write path (one
  SPARQL ``INSERT DATA`` update per disclosure) on the first 50 of them.

The corpus is ``benchmarks.synthetic.generate(n, out, seed)`` when that module exists; until then,
copies of the five samples with the county renamed (every copy its own disclosure, texts
otherwise identical, so only parse/write/store figures mean anything, not embedding ones).

    .venv/bin/python benchmarks/write_speed.py [--sizes 100 1000] [--workers 2] [--keep DIR]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.ingest_run import IngestOptions, default_workers, prepare, run_ingest  # noqa: E402
from api.service import ensure_ontology, expand_paths  # noqa: E402
from search.store import is_private_graph, open_store  # noqa: E402

SAMPLES = sorted((ROOT / "ingest" / "samples").glob("*.txt"))
# Characters for made-up county names of the stand-in corpus.
_NAME_CHARS = "安丰宁和平康泰永昌兴隆福寿清源长乐新河东西南北上下中阳春秋江山林泉石水云月明光华庆祥瑞"
_COUNTIES = ("乐亭县", "霸州市", "大城县", "兴县")


def _made_up_county(i: int) -> str:
    n = len(_NAME_CHARS)
    return _NAME_CHARS[i % n] + _NAME_CHARS[i // n % n] + _NAME_CHARS[i // n // n % n]


def sample_copies(n: int, out: Path) -> None:
    """``n`` disclosures: the samples in turn, each copy's county renamed (so each is its own)."""
    out.mkdir(parents=True, exist_ok=True)
    texts = [p.read_text(encoding="utf-8") for p in SAMPLES]
    for k in range(n):
        text = texts[k % len(texts)]
        for county in _COUNTIES:
            text = text.replace(county, _made_up_county(k) + county[-1])
        (out / f"{k:05d}_{SAMPLES[k % len(SAMPLES)].name}").write_text(text, encoding="utf-8")


def make_corpus(n: int, out: Path, seed: int = 1) -> str:
    """Write ``n`` disclosures to ``out``; returns which generator made them."""
    try:
        from benchmarks.synthetic import generate
    except ImportError:
        sample_copies(n, out)
        return "copies of the samples (counties renamed)"
    generate(n, out, seed)
    return f"benchmarks.synthetic (seed {seed})"


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def old_write_path(files: list[Path], folder: Path) -> tuple[float, float]:
    """Seconds (wall, CPU) per disclosure writing ``files`` one SPARQL INSERT DATA update each,
    as before the bulk loader."""
    from api.service import write_disclosure
    from ingest.mapper import to_rdf
    from ingest.pipeline import parse_path
    from search.store_oxigraph import _replace_text

    class _TextUpdates:
        """The previous write path: one INSERT DATA text per disclosure on the on-disk store."""

        def __init__(self, store):
            self.inner = store

        def query(self, *args, **kwargs):
            return self.inner.query(*args, **kwargs)

        def replace_graphs(self, graphs, additions=None):
            private = {g: v for g, v in graphs.items() if is_private_graph(g)}
            public = {g: v for g, v in graphs.items() if not is_private_graph(g)}
            if private:
                self.inner._private.update(_replace_text(private, {}))
            self.inner._store.update(_replace_text(public, additions or {}))

    store = open_store("oxigraph", path=folder)
    ensure_ontology(store)
    mapped = [to_rdf(parse_path(f)) for f in files]
    started, cpu = time.perf_counter(), time.process_time()
    for m in mapped:
        write_disclosure(_TextUpdates(store), m)
    seconds = (time.perf_counter() - started) / len(files)
    cpu = (time.process_time() - cpu) / len(files)
    store.close()
    return seconds, cpu


def run(n: int, workers: int, scratch: Path) -> None:
    corpus = scratch / f"corpus-{n}"
    made_by = make_corpus(n, corpus)
    files = expand_paths([corpus])
    store_dir = scratch / f"store-{n}"
    store = open_store("oxigraph", path=store_dir)
    ensure_ontology(store)
    report = run_ingest(store, files, IngestOptions(workers=workers))
    t = report.timings
    started = time.perf_counter()
    generation = store.publish()
    publish_s = time.perf_counter() - started
    stored = len(report.stored)
    print(f"\n{n} disclosures ({made_by}), {workers} parse workers: {stored} stored, {len(report.failed)} failed")
    print(f"  parse  {t['parse_s'] / n * 1000:7.1f} ms/disclosure of worker time, {t['parse_cpu_s'] / n * 1000:.1f} ms "
          f"CPU ({n / t['parse_s'] * workers:5.1f} disclosures/s over {workers} workers)")
    per_doc = max(stored, 1)
    print(f"  write  {t['write_s'] / per_doc * 1000:7.1f} ms/disclosure in the writing process, "
          f"{t['write_cpu_s'] / per_doc * 1000:.1f} ms CPU ({per_doc / t['write_s']:5.1f} disclosures/s)")
    print(f"  parse + write, wall clock: {t['wall_s']:.1f} s = {n / t['wall_s']:.1f} disclosures/s")
    print(f"  publish {publish_s * 1000:.0f} ms (generation {generation}); store on disk "
          f"{folder_size(store_dir / 'public') / 1e6:.0f} MB")
    store.close()
    sample = files[:50]
    old, old_cpu = old_write_path(sample, scratch / f"old-{n}")
    print(f"  previous write path (one INSERT DATA update each), same run, first {len(sample)} documents: "
          f"{old * 1000:.1f} ms/disclosure, {old_cpu * 1000:.1f} ms CPU")
    # Single worker-time figure for the record: prepare() in this process on a few documents.
    started = time.perf_counter()
    for path in files[:10]:
        prepare(path)
    print(f"  parse in this process (10 documents): {(time.perf_counter() - started) / 10 * 1000:.1f} ms/disclosure")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], help="corpus sizes")
    parser.add_argument("--workers", type=int, default=default_workers(), help="parse worker processes")
    parser.add_argument("--keep", type=Path, help="scratch folder to keep (default: a temporary one, removed)")
    args = parser.parse_args()
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="budgetkg-write-speed-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        for n in args.sizes:
            run(n, args.workers, scratch)
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
