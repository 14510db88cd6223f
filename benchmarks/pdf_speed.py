"""How many PDF pages per second budgetkg ingests on this machine.

    .venv/bin/python benchmarks/pdf_speed.py [--repeat N] [PDF ...]

Without arguments it reads the PDF fixtures rendered from the seeds (tests/data/fixtures/*.pdf).
Two figures per file and overall: the PDF reader alone (pdfplumber: characters, ruled tables,
paragraph joining — ``ingest.formats.pdf.read_pdf``) and the whole ingestion up to a checked
``Disclosure`` (``ingest.pipeline.parse_path``: reader + layout parser + checks; no RDF, no store).
The best of N runs is kept, so a busy shared machine disturbs the figure less.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.formats.pdf import read_pdf  # noqa: E402  (after the path is set)
from ingest.pipeline import parse_path  # noqa: E402

NO_LIMIT = 10**9


def best_of(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pdfs", nargs="*", type=Path, help="PDF files (default: the test fixtures)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per file; the fastest counts (default 3)")
    args = parser.parse_args(argv)
    pdfs = args.pdfs or sorted((ROOT / "tests" / "data" / "fixtures").glob("*.pdf"))
    if not pdfs:
        print("no PDF given and no fixtures found; run tests/data/make_fixtures.py", file=sys.stderr)
        return 1
    parse_path(pdfs[0])  # warm-up: imports and lazy registries are not ingestion time
    total_pages = total_read = total_parse = 0.0
    print(f"{'file':32} {'pages':>5} {'reader p/s':>11} {'pipeline p/s':>13}")
    for pdf in pdfs:
        pages = read_pdf(pdf, NO_LIMIT).page_count or 0
        t_read = best_of(args.repeat, lambda: read_pdf(pdf, NO_LIMIT))
        t_parse = best_of(args.repeat, lambda: parse_path(pdf, max_bytes=NO_LIMIT))
        total_pages += pages
        total_read += t_read
        total_parse += t_parse
        print(f"{pdf.name:32} {pages:5d} {pages / t_read:11.1f} {pages / t_parse:13.1f}")
    print(f"{'all':32} {int(total_pages):5d} {total_pages / total_read:11.1f} {total_pages / total_parse:13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
