"""How fast ``ask`` answers, per question shape, on a given store.

Usage::

    python benchmarks/ask_speed.py --store DIR [--index DIR] [--questions FILE] [--repeat N] [--json OUT]

``--store`` is an Oxigraph store folder, opened read-only: a budgetkg store (``HOME/store``, with
``public/``) or a bare pyoxigraph folder (a snapshot). Without ``--questions`` the questions are
made from the store's own names (its first county, department, year, cited 文号, project and
code), so they fit any corpus; ``--questions`` takes a question file (dev/blind set format) or a
JSON list of ``{"shape", "question"}``. Without ``--index`` topics are matched by label only and no
evidence search runs (the SPARQL side alone); with it, the full ``ask``.

Prints the gazetteer build time, then p50 / p95 / max milliseconds per shape and overall, the
number of SPARQL queries per question (at most 3 by contract) and the slowest questions. The scale
benchmark calls ``run()``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEMPLATES = {
    "topic": ["which counties fund long-term care insurance", "哪些县有医疗救助项目",
              "which counties pay village insurance agents"],
    "amount": ["how much does {county} spend on medical assistance", "{county}{year}年医疗救助花了多少钱"],
    "total": ["what is the total {year} budget of {dept}", "{county}{year}年基本支出是多少"],
    "ranking": ["which county has the largest total budget", "{county}{year}年金额最大的三个项目",
                "the largest project in each county of {county}", "top 3 budget lines of {county}",
                "哪个项目金额最大"],
    "count": ["how many projects does {county} have in {year}", "how many counties fund medical assistance",
              "{county}有多少个绩效指标"],
    "sum": ["total spent on medical assistance across counties", "{county}{year}年所有项目金额合计"],
    "average": ["average satisfaction target of {county}", "{year}年各县平均项目支出是多少"],
    "comparison": ["which indicators of {county} aim higher than 95%", "projects over 1000万元",
                   "哪些县的满意度指标目标值不低于98%"],
    "negation": ["which counties do not fund long-term care insurance", "{county}哪些年没有新冠疫苗接种项目"],
    "absent": ["how much does Zhuozhou spend on medical assistance", "霸州市的绩效指标有哪些关于满意度",
               "{county}财政局的预算"],
    "citation": ["which projects cite {doc}"],
    "legal-basis": ["{county}的项目引用了哪些文件"],
    "indicators": ["{county}的绩效指标有哪些关于满意度", "quality indicators of {county}"],
    "lines": ["how much is budgeted under {code} in each county", "{county}{code}科目的金额"],
    "year-over-year": ["how did the total budget of {county} change compared with the previous year"],
}


class _Counting:
    """The store, counting and timing the SPARQL ``ask`` sends through ``query``."""

    def __init__(self, store):
        self.store = store
        self.calls: list[float] = []

    def query(self, sparql, **kwargs):
        t0 = time.perf_counter()
        try:
            return self.store.query(sparql, **kwargs)
        finally:
            self.calls.append(time.perf_counter() - t0)

    def __getattr__(self, name):
        return getattr(self.store, name)


class _CachedIndex:
    """Stands in for a SearchIndex when none is given: caches the gazetteer, matches topics by
    label, and has no items (so ``ask`` runs no evidence search)."""

    def __init__(self, store):
        from search.topics import TopicMatcher, load_topics

        self.store = store
        self._cache: dict = {}
        self._matcher = TopicMatcher(load_topics(), None)

    def cached(self, key, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def topic_matcher(self):
        return self._matcher

    def __len__(self):
        return 0


def open_store(path: Path):
    """A read-only store over a budgetkg store folder or a bare pyoxigraph folder."""
    import pyoxigraph as ox

    from search.store_oxigraph import OxigraphStore

    if (path / "public").is_dir():
        return OxigraphStore(path, read_only=True)
    store = OxigraphStore.__new__(OxigraphStore)
    store.path, store.name = None, "oxigraph"
    store._store, store._private = ox.Store.read_only(str(path)), ox.Store()
    return store


def questions_for(gaz) -> list[tuple[str, str]]:
    """The template questions filled with names the store holds."""
    county = next((p.label for p in gaz.places if p.level == "county"), gaz.places[0].label if gaz.places else "")
    dept = next((d.label for d in gaz.departments if d.area and gaz.place(d.area) and gaz.place(d.area).label == county),
                gaz.departments[0].label if gaz.departments else "")
    years = sorted({h.year for h in gaz.holdings if h.year and gaz.area_label(h.area) == county}) or gaz.years
    values = {"county": county, "dept": dept, "year": years[-1] if years else 2023,
              "doc": gaz.doc_numbers[0] if gaz.doc_numbers else "冀财社〔2022〕218号",
              "code": next((c for _, c in gaz.classifications if c.startswith("21013")), "2101301")}
    return [(shape, t.format(**values)) for shape, texts in TEMPLATES.items() for t in texts]


def _load_questions(path: Path) -> list[tuple[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data.get("questions", []) if isinstance(data, dict) else data
    return [(q.get("shape", "?"), q["question"]) for q in items]


def run(store_path: Path, *, index_dir: Path | None = None, model: str = "use-multilingual",
        questions: list[tuple[str, str]] | None = None, repeat: int = 1, verbose: bool = True) -> dict:
    """Time ``ask`` over the questions; returns {"gazetteer_s", "shapes": {shape: {p50, p95, max, n}},
    "overall": {...}, "max_queries", "slowest": [...]} (milliseconds)."""
    from search.qa import ask, gazetteer

    store = _Counting(open_store(store_path))
    if index_dir is not None:
        from search.index import SearchIndex

        index = SearchIndex.open(store.store, index_dir, model, 1)
        store_for_ask = store.store  # the index caches the gazetteer for its own store
    else:
        index = _CachedIndex(store)
        store_for_ask = store
    t0 = time.perf_counter()
    gaz = gazetteer(store_for_ask, index)
    gaz_s = time.perf_counter() - t0
    if verbose:
        print(f"gazetteer: {gaz_s:.2f} s ({len(gaz.places)} areas, {len(gaz.holdings)} disclosures, "
              f"{len(gaz.project_names)} project names)")
    questions = questions or questions_for(gaz)
    times: dict[str, list[float]] = {}
    slowest: list[tuple[float, str, str, int]] = []
    max_queries = 0
    for _ in range(repeat):
        for shape, question in questions:
            store.calls.clear()
            t1 = time.perf_counter()
            answer = ask(question, store_for_ask if index_dir is not None else store, index)
            ms = (time.perf_counter() - t1) * 1000
            times.setdefault(shape, []).append(ms)
            max_queries = max(max_queries, len(store.calls))
            slowest.append((ms, shape, question, len(answer["answers"])))
    out = {"gazetteer_s": gaz_s, "shapes": {s: _stats(v) for s, v in times.items()},
           "overall": _stats([t for v in times.values() for t in v]), "max_queries": max_queries,
           "slowest": [{"ms": round(ms, 1), "shape": s, "question": q, "rows": n}
                       for ms, s, q, n in sorted(slowest, reverse=True)[:5]]}
    if verbose:
        print(f"{'shape':<16} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for shape, st in out["shapes"].items():
            print(f"{shape:<16} {st['n']:>3} {st['p50']:>8.0f} {st['p95']:>8.0f} {st['max']:>8.0f}")
        st = out["overall"]
        print(f"{'overall':<16} {st['n']:>3} {st['p50']:>8.0f} {st['p95']:>8.0f} {st['max']:>8.0f}")
        print(f"SPARQL queries per question: at most {max_queries}" if index_dir is None
              else "(SPARQL queries not counted with --index)")
        for s in out["slowest"]:
            print(f"  slowest: {s['ms']:>8.0f} ms  [{s['shape']}] {s['question']} ({s['rows']} rows)")
    return out


def _stats(values: list[float]) -> dict:
    values = sorted(values)
    p95 = values[min(len(values) - 1, max(0, round(0.95 * (len(values) - 1))))]
    return {"n": len(values), "p50": statistics.median(values), "p95": p95, "max": values[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="Oxigraph store folder (opened read-only).")
    parser.add_argument("--index", type=Path, default=None, help="Search index folder (full ask with evidence).")
    parser.add_argument("--model", default="use-multilingual", help="Embedding model of the index.")
    parser.add_argument("--questions", type=Path, default=None, help="Question file (dev/blind format or a list).")
    parser.add_argument("--repeat", type=int, default=1, help="Times each question is asked.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures as JSON here.")
    args = parser.parse_args()
    result = run(args.store, index_dir=args.index, model=args.model,
                 questions=_load_questions(args.questions) if args.questions else None, repeat=args.repeat)
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
