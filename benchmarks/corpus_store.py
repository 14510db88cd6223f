"""An on-disk graph store of N synthetic disclosures, built fast enough for benchmarks.

Usage: ``python benchmarks/corpus_store.py N OUT_STORE [--seed S] [--workers W]``

The files come from ``benchmarks/synthetic.py`` (issue 8's generator: made-up counties, years,
amounts and reworded indicators); each is parsed and mapped to RDF by the real pipeline
(``ingest.pipeline.parse_path``, ``ingest.mapper.to_rdf``) in worker processes, and the public
graphs are bulk-loaded into a new Oxigraph store in one go, as ingest would have written them
(its own graph per disclosure, shared resources in the shared graph, the ontology graph).
Personal data (private graphs) is left out: search never reads it. Skipping ingest's one
transaction per file makes a 10,000-disclosure store a matter of minutes; the store is for the
search benchmarks, not a measure of ingest.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHARED = "https://w3id.org/budgetkg/graph/shared"
ONTOLOGY = "https://w3id.org/budgetkg/graph/ontology"


def _quads(graph, name: str) -> list[str]:
    data = graph.serialize(format="nt")
    return [line[:-1].rstrip() + f" <{name}> ." for line in data.splitlines() if line.strip()]


def nquads_of_file(path: str) -> tuple[list[str], str | None]:
    """N-Quads lines of one file's public graphs (own and shared), or an error message."""
    from api.service import _ontology_triples
    from ingest.mapper import to_rdf
    from ingest.pipeline import parse_path

    try:
        mapped = to_rdf(parse_path(Path(path)))
    except Exception as exc:  # one bad file: reported, the rest still load
        return [], f"{path}: {exc}"
    own, shared = mapped.own_and_shared()
    known = _ontology_triples()
    for triple in [t for t in shared if t in known]:
        shared.remove(triple)
    return _quads(own, str(mapped.graph_iri)) + _quads(shared, SHARED), None


def build_store(n: int, out: Path, *, seed: int = 0, workers: int = 2, files: Path | None = None) -> Path:
    """A store of ``n`` synthetic disclosures at ``out`` (files generated under ``files``)."""
    import pyoxigraph as ox

    from api.service import ontology_graph
    from benchmarks.synthetic import generate

    out = Path(out)
    files = Path(files or out.parent / f"{out.name}-files")
    t0 = time.perf_counter()
    manifest = generate(n, files, seed)
    paths = [str(files / d["file"]) for d in manifest["documents"]]
    print(f"generated {n} files in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    errors = []
    with tempfile.NamedTemporaryFile("w", suffix=".nq", dir=out.parent, delete=False, encoding="utf-8") as fh:
        nq = Path(fh.name)
        fh.write("\n".join(_quads(ontology_graph(), ONTOLOGY)) + "\n")
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            for i, (lines, error) in enumerate(pool.map(nquads_of_file, paths, chunksize=8)):
                if error:
                    errors.append(error)
                fh.write("\n".join(lines) + "\n")
                if (i + 1) % 1000 == 0:
                    print(f"  parsed {i + 1}/{n} ({time.perf_counter() - t0:.0f} s)", flush=True)
    try:
        out.mkdir(parents=True, exist_ok=True)
        store = ox.Store(str(out / "public"))
        store.bulk_load(path=str(nq), format=ox.RdfFormat.N_QUADS)
        store.flush()
        ox.Store(str(out / "private")).flush()
        del store
    finally:
        nq.unlink(missing_ok=True)
    print(f"parsed and loaded {n - len(errors)} disclosures in {time.perf_counter() - t0:.0f} s"
          + (f"; {len(errors)} failed: {errors[:3]}" if errors else ""), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="Disclosures.")
    parser.add_argument("out", type=Path, help="Folder of the new Oxigraph store.")
    parser.add_argument("--seed", type=int, default=0, help="Generator seed.")
    parser.add_argument("--workers", type=int, default=2, help="Processes that parse the files.")
    args = parser.parse_args()
    build_store(args.n, args.out, seed=args.seed, workers=args.workers)


if __name__ == "__main__":
    main()
