"""Retrieval quality on the bundled seed disclosures: dense vs lexical vs hybrid, and ``ask``.

Usage: ``python benchmarks/retrieval_eval.py [--verbose] [--model NAME] [--questions FILE]``

The question set below is ours, written by reading the five seeds (ingest/samples): English and
Chinese, paraphrases, codes and 文号. Each search case lists what counts as a right hit (a label
pattern, and the county where it matters). Printed per ranking mode:

- recall@k: share of cases with a right hit in the top k;
- MRR@10: mean reciprocal rank of the first right hit;
- answer accuracy: share of cases whose top hit is right (what a user reads first).

The ``ask`` cases check the structured answer (the set of counties, or the amount) instead.

``--questions FILE`` scores a question file in the shared format (benchmarks/questions_dev.json,
the blind set): per question the expected rows found, extra rows (when the list is complete), their
order (rankings), the count or value stated in a row, and "nothing held" answered with no rows; and
precision@5 of ``similar`` for its similar-indicator entries. Printed overall, per shape and per
language; ``--verbose`` lists what each failed question got.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@dataclass
class Case:
    query: str
    label: str  # regex a right hit's label (or its project) matches
    county: set[str] = field(default_factory=set)  # right hits come from one of these (empty: any)
    type: str | None = None  # restrict the search to one item type


SEARCH_CASES = [
    # --- English questions for Chinese items
    Case("long-term care insurance", r"长期照护|长护险", {"乐亭县"}),
    Case("COVID-19 vaccine subsidy", r"新冠", {"霸州市", "兴县"}),
    Case("county subsidy for COVID vaccination costs", r"新冠|疫苗", {"霸州市", "兴县"}, "project"),
    Case("medical assistance for people in difficulty", r"医疗救助|救助"),
    Case("subsidy for village-level insurance agents", r"代办员"),
    Case("serious illness insurance for staff of restructured enterprises", r"大病保险|大病"),
    Case("publicly funded medical care", r"公费医疗", {"乐亭县"}),
    Case("archive sorting fees", r"档案"),
    Case("legal services fee", r"法律服务"),
    Case("office renovation project", r"办公场所改造", {"霸州市"}),
    Case("wages and insurance of dispatched labour staff", r"劳务派遣", {"大城县"}),
    Case("assessment of outpatient special diseases", r"门诊特殊疾病|慢特病|鉴定"),
    Case("reward for townships that meet enrolment targets", r"奖励"),
    Case("support for registered poor households", r"建档立卡|贫困"),
    Case("number of people insured by long-term care insurance", r"长护险", {"乐亭县"}, "indicator"),
    Case("inspection coverage of designated medical institutions", r"监督检查|检查覆盖", type="indicator"),
    Case("emergency medical relief fund", r"应急救助|医疗救助"),
    Case("basic living assistance for people in hardship", r"困难群众", {"霸州市"}),
    Case("duties of the medical security bureau", r"职责", type="text"),
    Case("government procurement budget", r"政府采购", type="text"),
    # --- Chinese
    Case("长期照护险", r"长期照护|长护险", {"乐亭县"}),
    Case("长护险", r"长护险|长期照护", {"乐亭县"}),
    Case("新冠疫苗接种补助", r"新冠", {"霸州市", "兴县"}),
    Case("村级代办员补助", r"代办员"),
    Case("医疗救助资金", r"医疗救助"),
    Case("慢特病审核人次", r"慢特病审核", {"乐亭县"}, "indicator"),
    Case("档案归档率", r"档案归档率", {"霸州市"}, "indicator"),
    Case("城乡居民医疗保险参保人数", r"参保人数", type="indicator"),
    Case("打击欺诈骗保", r"欺诈骗保|基金监管|基金安全"),
    Case("异地就医直接结算", r"异地就医|工作保障措施|绩效目标|职责"),
    Case("新冠病毒疫苗及接种费用县级配套", r"新冠", {"兴县"}),
    Case("医保局及医保中心专项业务费", r"专项业务费", {"兴县"}),
    Case("群众满意度", r"满意度", type="indicator"),
    # --- codes and document numbers (exact strings)
    Case("2101202", r"^2101202"),
    Case("2101301", r"^2101301"),
    Case("30231", r"^30231"),
    Case("13022524P00CGB110004W", r"医保鉴定评审费", {"乐亭县"}),
    Case("冀财社〔2022〕218号", r"218|医疗服务与保障能力提升", {"霸州市"}),
    Case("冀财社[2022]172号", r"172|代办员", {"霸州市"}),
    Case("唐财社〔2022〕126号", r"126|代办员", {"乐亭县"}),
    Case("吕财社(2021)171号", r"171|新冠", {"兴县"}),
    Case("晋医保发(2021)17号", r"晋医保发|建档立卡|医疗救助", {"兴县"}),
    Case("乐政发〔2017〕12号", r"乐政发|医疗救助", {"乐亭县"}),
]


@dataclass
class AskCase:
    question: str
    counties: set[str] = field(default_factory=set)  # the answer's counties must include these
    exact: bool = False  # ... and be exactly these
    amount: float | None = None  # some row has this amount
    label: str | None = None  # some row's label matches
    first: str | None = None  # the first row's county (ranking questions)


ASK_CASES = [
    AskCase("which counties fund long-term care insurance", {"乐亭县"}, True, 1414.0),
    AskCase("哪些县有长期照护险项目", {"乐亭县"}, True),
    AskCase("哪些县有医疗救助项目", {"乐亭县", "霸州市", "大城县", "兴县"}),
    AskCase("which counties fund COVID vaccination", {"霸州市", "兴县"}, True),
    AskCase("哪些县有新冠疫苗接种项目", {"霸州市", "兴县"}, True),
    AskCase("what is the total 2023 budget of 兴县医疗保障局", {"兴县"}, True, 4881.48),
    AskCase("which projects cite 冀财社〔2022〕218号", {"霸州市"}, True, label=r"医疗服务与保障能力提升"),
    AskCase("哪些项目引用了冀财社[2022]172号", {"霸州市"}, True, label=r"代办员"),
    AskCase("which counties in Shanxi have disclosures", {"兴县"}, True),
    AskCase("河北省有哪些县公开了预算", {"乐亭县", "霸州市", "大城县"}, True),
    AskCase("how much does 乐亭县 spend on medical assistance", {"乐亭县"}, True, 800.0),
    AskCase("乐亭县2023年基本支出是多少", {"乐亭县"}, True, 601.4),
    AskCase("霸州市2023年项目支出是多少", {"霸州市"}, True, 8255.31),
    AskCase("what is the total revenue of 霸州市医疗保障局 in 2023", {"霸州市"}, True, 9736.74),
    AskCase("大城县2021年预算总额", {"大城县"}, True, 6325.23),
    AskCase("what is the carry-over of 兴县医疗保障局 in 2023", {"兴县"}, True, 859.45),
    AskCase("哪些县安排了村级代办员补助", {"乐亭县", "霸州市", "大城县"}, True),
    AskCase("which counties fund serious illness insurance", {"乐亭县"}),
    AskCase("哪些县有建档立卡扶贫项目", {"兴县", "大城县"}),
    AskCase("which counties fund archive management", {"霸州市", "大城县"}, True),
    AskCase("哪些县有公费医疗项目", {"乐亭县"}, True, 800.0),
    AskCase("list the indicators of the 长期照护险 project", {"乐亭县"}, True, label=r"长护险参保人数"),
    # Question types added later in the first session (rankings, indicator categories, legal
    # basis, classification codes, English place names, provinces without data): written after
    # the code that answers them, so they show coverage more than they measure quality.
    AskCase("which county has the largest total budget", {"霸州市", "乐亭县", "兴县", "大城县"}, first="霸州市"),
    AskCase("2023年哪个县项目支出最少", {"兴县", "乐亭县", "霸州市"}, True, first="兴县"),
    AskCase("霸州市的绩效指标有哪些关于满意度", {"霸州市"}, True, label=r"满意"),
    AskCase("quality indicators of Xing County", {"兴县"}, True, label=r"率"),
    AskCase("which documents is the village insurance agents subsidy based on", {"乐亭县", "霸州市"}, True,
            label=r"财社"),
    AskCase("兴县的项目引用了哪些文件", {"兴县"}, True, label=r"晋医保发〔2021〕17号"),
    AskCase("how much is budgeted under 2101301 in each county", {"乐亭县", "兴县", "霸州市"}, True, 3382.95),
    AskCase("霸州市城乡医疗救助科目的金额", {"霸州市"}, True, 821.0),
    AskCase("how much does Laoting county spend on medical assistance", {"乐亭县"}, True, 800.0),
    AskCase("which counties in Guangdong fund medical assistance", set(), True),
]


def build(model: str):
    from api.service import ingest_paths
    from search.index import SearchIndex, refresh_after_ingest
    from search.store import open_store

    store = open_store("memory")
    report = ingest_paths(store, sorted((ROOT / "ingest" / "samples").glob("*.txt")))
    if report.failed:
        print("warning: some seeds failed to ingest:", [o.error for o in report.failed])
    folder = Path(tempfile.mkdtemp(prefix="budgetkg-eval-"))
    t0 = time.perf_counter()
    stats = refresh_after_ingest(store, folder, model, 1)
    print(f"index built in {time.perf_counter() - t0:.1f}s: {stats['items']} items, "
          f"{stats.get('topics', {}).get('tags', 0)} topic tags")
    return store, SearchIndex.open(store, folder, model, 1), folder


def is_right(hit: dict, case: Case) -> bool:
    """The hit's label, project or text matches the case, from one of its counties."""
    text = " ".join(x for x in (hit["label"], hit.get("project") or "", hit.get("text") or "") if x)
    return bool(re.search(case.label, text)) and (not case.county or hit.get("county") in case.county)


def evaluate_search(index, verbose: bool) -> dict[str, dict[str, float]]:
    results = {}
    for mode in ("dense", "lexical", "hybrid"):
        recall = {1: 0, 5: 0, 10: 0}
        rr = 0.0
        misses = []
        for case in SEARCH_CASES:
            hits = index.search(case.query, k=10, type=case.type, mode=mode)
            rank = next((i + 1 for i, h in enumerate(hits) if is_right(h, case)), None)
            for k in recall:
                recall[k] += rank is not None and rank <= k
            rr += 1.0 / rank if rank else 0.0
            if rank != 1:
                misses.append((case.query, rank, hits[0]["label"] if hits else None))
        n = len(SEARCH_CASES)
        results[mode] = {"recall@1": recall[1] / n, "recall@5": recall[5] / n, "recall@10": recall[10] / n,
                         "MRR@10": rr / n, "answer accuracy": recall[1] / n}
        if verbose:
            for q, rank, top in misses:
                print(f"  [{mode}] {q!r}: first right hit at {rank}, top was {top!r}")
    return results


def evaluate_ask(store, index, verbose: bool) -> float:
    from search.qa import ask

    right = 0
    for case in ASK_CASES:
        answer = ask(case.question, store, index)
        counties = {a["county"] for a in answer["answers"]}
        ok = case.counties <= counties and (not case.exact or counties == case.counties)
        if case.amount is not None:
            ok = ok and any(a["amount"] is not None and abs(a["amount"] - case.amount) < 0.005 for a in answer["answers"])
        if case.label:
            ok = ok and any(re.search(case.label, a["label"] or "") for a in answer["answers"])
        if case.first:
            ok = ok and bool(answer["answers"]) and answer["answers"][0]["county"] == case.first
        # The reported query must reproduce the rows.
        if ok and answer["sparql"]:
            ok = [str(r["iri"]) for r in store.query(answer["sparql"]).rows] == [a["iri"] for a in answer["answers"]]
        right += ok
        if verbose and not ok:
            print(f"  [ask] {case.question!r}: got {sorted(c for c in counties if c)} "
                  f"({answer['interpretation']['intent']}) — {answer['summary'][:120]}")
    return right / len(ASK_CASES)


# ------------------------------------------------------------------ question files (dev and blind sets)


def _norm(text) -> str:
    """Width, punctuation and spaces folded away, for comparing labels as printed."""
    import unicodedata

    text = unicodedata.normalize("NFKC", str(text or "")).lower()
    text = text.replace("〔", "[").replace("〕", "]").replace("【", "[").replace("】", "]")
    return re.sub(r"[\s\W_]+", "", text)


_NOT_STATED_NUMBERS = ("fiscal_year", "previous_year", "source")  # numbers in a row that state no answer


def row_matches(expected: dict, row: dict) -> bool:
    """An answer row has every field the expected (partial) row gives."""
    for key, want in expected.items():
        if key == "evidence":
            continue
        got = row.get(key)
        if key == "fiscal_year":
            if got is None or int(got) != int(want):
                return False
        elif key == "amount":
            if got is None or abs(float(got) - float(want)) > 0.01:
                return False
        elif key in ("label", "target_value", "county", "department", "project"):
            a, b = _norm(want), _norm(got)
            if key == "county":
                if a != b:
                    return False
            elif not b or not (a in b or b in a):
                return False
        elif got != want:
            return False
    return True


def _states_number(answers: list[dict], number: float, unit: str | None, *, rows_count_ok: bool) -> bool:
    targets = [float(number)]
    if unit and unit.strip() == "元":
        targets.append(float(number) / 10000)  # rows are in 万元
    if unit and unit.strip() == "亿元":
        targets.append(float(number) * 10000)
    for a in answers:
        for key, v in a.items():
            if key in _NOT_STATED_NUMBERS or isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            if any(abs(v - t) <= 0.01 for t in targets):
                return True
    return rows_count_ok and len(answers) == int(number)


def score_question(case: dict, answer: dict) -> dict:
    """Checks of one question: each applicable one is 1.0 (right) to 0.0; ``ok`` when all pass."""
    expect = case.get("expect", {})
    answers = answer["answers"]
    checks: dict[str, float] = {}
    if expect.get("none"):
        checks["none"] = float(not answers)
    else:
        rows = expect.get("rows") or []
        if rows:
            found = [any(row_matches(r, a) for a in answers) for r in rows]
            checks["rows"] = sum(found) / len(rows)
            if expect.get("complete"):
                extra = [a for a in answers if not any(row_matches(r, a) for r in rows)]
                checks["extra"] = 1.0 - len(extra) / len(answers) if answers else 1.0
            if expect.get("ordered"):
                head = answers[:len(rows)]
                checks["order"] = float(len(head) == len(rows) and all(row_matches(r, a) for r, a in zip(rows, head)))
        elif not answers:
            checks["rows"] = 0.0  # something was expected (a count, a value) and nothing came back
        if expect.get("count") is not None:
            checks["count"] = float(_states_number(answers, expect["count"], None, rows_count_ok=True))
        if expect.get("value") is not None:
            checks["value"] = float(_states_number(answers, expect["value"], expect.get("unit"), rows_count_ok=False))
    score = sum(checks.values()) / len(checks) if checks else 0.0
    return {"ok": bool(checks) and all(v == 1.0 for v in checks.values()), "score": score, "checks": checks}


def _hit_matches(relevant: dict, hit: dict) -> bool:
    a, b = _norm(relevant.get("label")), _norm(hit.get("label"))
    if not b or not (a in b or b in a):
        return False
    if relevant.get("county") and hit.get("county") and _norm(relevant["county"]) != _norm(hit["county"]):
        return False
    if relevant.get("fiscal_year") and hit.get("fiscal_year") and int(relevant["fiscal_year"]) != int(hit["fiscal_year"]):
        return False
    return True


def evaluate_question_file(store, index, path: Path, verbose: bool) -> dict:
    """Score every question (and similar-indicator entry) of a question file; print the table."""
    import json

    from search.qa import ask

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    results = []
    for case in data.get("questions", []):
        t0 = time.perf_counter()
        answer = ask(case["question"], store, index)
        res = score_question(case, answer) | {"id": case.get("id"), "shape": case.get("shape", "?"),
                                              "lang": case.get("lang", "?"), "ms": (time.perf_counter() - t0) * 1000}
        results.append(res)
        if verbose and not res["ok"]:
            got = [(a.get("county"), a.get("fiscal_year"), (a.get("label") or "")[:30], a.get("amount"),
                    {k: a[k] for k in ("count", "total", "average", "value") if k in a}) for a in answer["answers"][:6]]
            print(f"  [{case.get('id')} {case.get('shape')}] {case['question']!r}: "
                  f"{ {k: round(v, 2) for k, v in res['checks'].items()} } intent={answer['interpretation']['intent']}"
                  f"/{answer['interpretation'].get('operation')} got {len(answer['answers'])} rows {got}")
    similar = []
    for entry in data.get("similar", []):
        hits = index.similar(entry["question"], k=5) if index is not None else []
        relevant = entry.get("relevant") or []
        good = sum(1 for h in hits[:5] if any(_hit_matches(r, h) for r in relevant))
        similar.append({"id": entry.get("id"), "lang": entry.get("lang", "?"), "p@5": good / 5})
        if verbose and good < 5:
            print(f"  [{entry.get('id')} similar] {entry['question']!r}: {good}/5 — "
                  f"{[(h.get('label'), h.get('county')) for h in hits[:5]]}")
    _print_question_table(results, similar, path)
    return {"questions": results, "similar": similar}


def _print_question_table(results: list[dict], similar: list[dict], path: Path) -> None:
    def line(name: str, rs: list[dict]) -> str:
        ok = sum(r["ok"] for r in rs)
        return f"{name:<16} {len(rs):>4} {ok:>5} {ok / len(rs):>8.3f} {sum(r['score'] for r in rs) / len(rs):>8.3f}"

    print(f"\nquestions from {path}: {len(results)}")
    if results:
        print(f"{'':<16} {'n':>4} {'right':>5} {'accuracy':>8} {'score':>8}")
        print(line("overall", results))
        for key in ("lang", "shape"):
            for value in sorted({r[key] for r in results}):
                print(line(f"{key} {value}", [r for r in results if r[key] == value]))
        ms = sorted(r["ms"] for r in results)
        print(f"ask time: p50 {ms[len(ms) // 2]:.0f} ms, max {ms[-1]:.0f} ms")
    if similar:
        print(f"similar indicators: {len(similar)} entries, mean precision@5 "
              f"{sum(s['p@5'] for s in similar) / len(similar):.3f}")
        for lang in sorted({s["lang"] for s in similar}):
            rs = [s for s in similar if s["lang"] == lang]
            print(f"  {lang}: {sum(s['p@5'] for s in rs) / len(rs):.3f} ({len(rs)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="List the cases each mode gets wrong.")
    parser.add_argument("--model", default="use-multilingual", help="Embedding model (name or path).")
    parser.add_argument("--questions", type=Path, default=None,
                        help="Score a question file (dev or blind set format) instead of the built-in cases.")
    args = parser.parse_args()
    store, index, folder = build(args.model)
    try:
        if args.questions is not None:
            evaluate_question_file(store, index, args.questions, args.verbose)
            return
        results = evaluate_search(index, args.verbose)
        en = sum(1 for c in SEARCH_CASES if re.fullmatch(r"[A-Za-z ,'-]+", c.query))
        print(f"\nsearch: {len(SEARCH_CASES)} cases ({en} English, {len(SEARCH_CASES) - en} Chinese, codes or 文号), "
              f"model {args.model}")
        metrics = list(next(iter(results.values())))
        print(f"{'mode':<8} " + " ".join(f"{m:>16}" for m in metrics))
        for mode, row in results.items():
            print(f"{mode:<8} " + " ".join(f"{row[m]:>16.3f}" for m in metrics))
        accuracy = evaluate_ask(store, index, args.verbose)
        print(f"\nask: {len(ASK_CASES)} questions, answer accuracy {accuracy:.3f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
