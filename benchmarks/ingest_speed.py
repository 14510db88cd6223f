"""Ingestion speed and store growth, printed as figures (not a test).

Parses each bundled sample, then writes N copies of them (each copy renamed as another county's
department, so each is its own disclosure) into an on-disk store, and reports parse time per
document, write throughput (triples/s), store size on disk and the time of two typical queries
as the store grows.

    .venv/bin/python benchmarks/ingest_speed.py [--copies 40]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.mapper import to_rdf  # noqa: E402
from ingest.pipeline import parse_path  # noqa: E402
from api.service import write_disclosure  # noqa: E402
from search.store import open_store  # noqa: E402

SAMPLES = sorted((ROOT / "ingest" / "samples").glob("*.txt"))
QUERIES = {
    "totals by county": (ROOT / "examples" / "queries" / "totals_by_county.rq").read_text(encoding="utf-8"),
    "indicators by category": (ROOT / "examples" / "queries" / "indicators_by_category.rq").read_text(encoding="utf-8"),
}


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=40, help="copies of the sample set to write")
    args = parser.parse_args()

    timings = {}
    disclosures = []
    for path in SAMPLES:
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            d = parse_path(path)
            runs.append(time.perf_counter() - start)
        timings[path.name] = min(runs)
        disclosures.append(d)
    print("parse time per document (best of 3):")
    for name, seconds in timings.items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        print(f"  {name}: {seconds * 1000:7.1f} ms")
    print(f"  lines/s over the sample set: "
          f"{sum(len(p.read_text(encoding='utf-8').splitlines()) for p in SAMPLES) / sum(timings.values()):,.0f}")

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store("oxigraph", path=Path(tmp) / "store")
        total_triples, write_seconds = 0, 0.0
        for copy in range(args.copies):
            for d in disclosures:
                original = d.department
                d.department = f"第{copy}号县{original}"
                mapped = to_rdf(d)
                d.department = original
                start = time.perf_counter()
                write_disclosure(store, mapped)
                write_seconds += time.perf_counter() - start
                total_triples += len(mapped.public_triples)
            if copy + 1 in (1, args.copies // 2 or 1, args.copies):
                store.flush()
                line = [f"{(copy + 1) * len(disclosures):5d} disclosures, {total_triples:9,d} triples, "
                        f"{folder_size(Path(tmp) / 'store') / 1e6:7.1f} MB on disk"]
                for name, query in QUERIES.items():
                    runs = []
                    for _ in range(3):
                        start = time.perf_counter()
                        store.query(query)
                        runs.append(time.perf_counter() - start)
                    line.append(f"{name} {statistics.median(runs) * 1000:.0f} ms")
                print("  ".join(line))
        print(f"write throughput: {total_triples / write_seconds:,.0f} triples/s "
              f"({write_seconds / (args.copies * len(disclosures)) * 1000:.1f} ms per disclosure graph)")
        store.close()


if __name__ == "__main__":
    main()
