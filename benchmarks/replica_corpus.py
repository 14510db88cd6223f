"""A stand-in corpus for the search benchmarks: the five seed disclosures replicated N/5 times.

Usage: ``python benchmarks/replica_corpus.py N OUT_STORE [--identical] [--seed S]``

Each replica gets its own disclosure graphs, department and county (made-up name, same province),
so the store holds N disclosures as ingest would have written them (N-Quads, bulk-loaded). Texts:

- ``--identical``: every replica repeats the seeds' texts word for word. This flatters
  de-duplication (the encoder sees only the seeds' ~960 texts, whatever N) and is only right for
  store and query-latency experiments.
- default (varied): each replica's texts are changed the way real counties differ: the county's
  own name in passages, goals and half of the project names (乐亭县 -> 东安县, 2023年东安县…),
  target values and amounts in passages moved by up to ±10 %, and a third of the indicator labels
  reworded with a qualifier (年度/本年度/全年/全县). Nearly every full indicator and passage text is
  then unique to its disclosure (a pessimistic case for the encoder); names and budget lines still
  repeat as they do in real tables.

This is a benchmark tool, not the synthetic corpus generator of issue 8 (``benchmarks/synthetic.py``
varies the tables themselves); ``search_speed.py`` uses that one when it is present.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED_COUNTIES = ("乐亭县", "霸州市", "大城县", "兴县")
SEED_SHORT = ("乐亭", "霸州", "大城")
_SYLLABLES = "东西南北安平宁和兴乐清源阳山河泉丰永长宜新顺临德云华昌盛"
_QUALIFIERS = ("年度", "本年度", "全年", "全县")
_LINE = re.compile(r'^(<[^>]+>) (<[^>]+>) "((?:[^"\\]|\\.)*)"((?:@[A-Za-z-]+)|(?:\^\^<[^>]+>))? (<[^>]+>) \.$')
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_KEY = re.compile(r"(budgetkg/(?:id|graph)/(?:disclosure|topics|private)/)([^/>]+)")
_DEPARTMENT = re.compile(r"(budgetkg/id/department/)([0-9a-f]+)")
_AREA = re.compile(r"(budgetkg/id/area/)([0-9a-f]+)")
RDFS_LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
BKG = "https://w3id.org/budgetkg/ontology#"


def county_name(i: int) -> str:
    """A made-up county name, different for every replica number."""
    a, b = divmod(i, len(_SYLLABLES))
    c, a = divmod(a, len(_SYLLABLES))
    name = _SYLLABLES[a] + _SYLLABLES[b] + (_SYLLABLES[c % len(_SYLLABLES)] if c else "")
    return name + "县"


def seed_nquads() -> tuple[list[str], list[str]]:
    """The seeds as ingest writes them, one N-Quads line each: (ontology graph, the rest)."""
    from api.service import ingest_paths
    from search.store import open_store

    store = open_store("memory")
    report = ingest_paths(store, sorted((ROOT / "ingest" / "samples").glob("*.txt")))
    if report.failed:
        raise SystemExit(f"seed disclosures failed to ingest: {[o.error for o in report.failed]}")
    lines = [line for line in store.export("nq").decode("utf-8").splitlines() if line.strip()]
    ontology = [line for line in lines if line.endswith("<https://w3id.org/budgetkg/graph/ontology> .")]
    skip = set(ontology)
    return ontology, [line for line in lines if line not in skip]


def _provinces(lines: list[str]) -> set[str]:
    """Area keys of provinces (areas that are part of nothing): shared by every replica."""
    areas, children = set(), set()
    for line in lines:
        for m in _AREA.finditer(line):
            areas.add(m.group(2))
        if f"<{BKG}partOf>" in line:
            m = _AREA.search(line.split(" ", 1)[0])
            if m:
                children.add(m.group(2))
    return areas - children


def replicate(lines: list[str], i: int, vary: bool, provinces: set[str], rng: random.Random) -> list[str]:
    """Replica ``i`` of the seed lines: its own IRIs and county, its texts varied when asked."""
    sfx = f"r{i}"
    county = county_name(i)
    out = []
    for line in lines:
        line = _KEY.sub(lambda m: m.group(1) + m.group(2) + sfx, line)
        line = _DEPARTMENT.sub(lambda m: m.group(1) + m.group(2) + sfx, line)
        line = _AREA.sub(lambda m: m.group(0) if m.group(2) in provinces else m.group(1) + m.group(2) + sfx, line)
        m = _LINE.match(line)
        if m:
            s, p, lit, tag, g = m.groups()
            area_label = "/id/area/" in s and p == RDFS_LABEL
            if area_label and lit in SEED_COUNTIES:
                lit = county
            elif vary:
                lit = _vary(s, p, lit, county, rng)
            line = f'{s} {p} "{lit}"{tag or ""} {g} .'
        out.append(line)
    return out


def _vary(s: str, p: str, lit: str, county: str, rng: random.Random) -> str:
    if p in (f"<{BKG}text>", f"<{BKG}goal>"):
        return _numbers(_county(lit, county), rng)
    if p == f"<{BKG}targetValue>":
        return _numbers(lit, rng)
    if p == RDFS_LABEL and "/indicator/" in s and rng.random() < 0.35 and not lit.startswith(_QUALIFIERS):
        return rng.choice(_QUALIFIERS) + lit
    if p == RDFS_LABEL and "/project/" in s and "/indicator/" not in s and "/detail/" not in s:
        lit = _county(lit, county)
        if rng.random() < 0.5 and county not in lit:
            return f"{county}{rng.choice((2022, 2023, 2024))}年{lit}"
    return lit


def _county(text: str, county: str) -> str:
    for name in SEED_COUNTIES:
        text = text.replace(name, county)
    for name in SEED_SHORT:
        text = text.replace(name, county[:-1])
    return text


def _numbers(text: str, rng: random.Random) -> str:
    def move(m: re.Match) -> str:
        raw = m.group(0)
        value = float(raw) * rng.uniform(0.9, 1.1)
        if "." in raw:
            return f"{value:.{len(raw.split('.')[1])}f}"
        return str(max(1, round(value)))
    return _NUMBER.sub(move, text)


def build_store(n: int, out: Path, *, vary: bool = True, seed: int = 0) -> Path:
    """An on-disk Oxigraph store at ``out`` holding ``n`` disclosures (rounded up to 5s)."""
    import pyoxigraph as ox

    ontology, lines = seed_nquads()
    provinces = _provinces(lines)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".nq", dir=out.parent, delete=False, encoding="utf-8") as fh:
        nq = Path(fh.name)
        fh.write("\n".join(ontology) + "\n")
        for i in range((n + 4) // 5):
            rng = random.Random(seed * 1_000_003 + i)
            fh.write("\n".join(replicate(lines, i, vary, provinces, rng)) + "\n")
    try:
        store = ox.Store(str(out / "public"))
        store.bulk_load(path=str(nq), format=ox.RdfFormat.N_QUADS)
        store.flush()
        ox.Store(str(out / "private")).flush()
        del store
    finally:
        nq.unlink(missing_ok=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="Disclosures (a multiple of 5).")
    parser.add_argument("out", type=Path, help="Folder of the new Oxigraph store.")
    parser.add_argument("--identical", action="store_true", help="Replicas repeat the seeds' texts exactly.")
    parser.add_argument("--seed", type=int, default=0, help="Random seed of the text variation.")
    args = parser.parse_args()
    build_store(args.n, args.out, vary=not args.identical, seed=args.seed)
    print(f"{args.n} disclosures in {args.out}")


if __name__ == "__main__":
    main()
