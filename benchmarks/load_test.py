"""Load test of a running ``budgetkg serve``: concurrent users for a bounded time, a mix of
questions (/api/ask), searches (/api/search, /api/similar) and SPARQL queries (/sparql).

It prints throughput, p50/p95/p99 latency per kind and overall, the error count (any non-2xx
answer or failed request; for the deliberately expensive requests, which run into their time
limit or a query worker's memory cap, the expected 504 or 500 ``query_failed`` is not an error) and the server's resident memory (web process and query
workers, from /api/health) at the start, during and at the end, so growth over the run is visible.

``--compare`` answers "does one expensive request slow everyone else down?" (issue 8, item 4): the
same cheap mix (fast question shapes, search, similar, small SPARQL) runs three times — alone, beside
a user who keeps asking an expensive question (one whose SPARQL is heavy on a big store), and beside
a user who keeps sending a heavy /sparql query — and it prints p50/p95/max of the cheap requests in
each run and the ratio to the run without (target: p95 with the expensive one <= 2x without).

    python benchmarks/load_test.py --url http://127.0.0.1:8000 --users 50 --duration 30
    python benchmarks/load_test.py --serve ~/.budgetkg          # start a server on a free port first
    python benchmarks/load_test.py --serve ~/.budgetkg --compare --users 8 --duration 20

Not a unit test: it measures, it does not assert (the exit status is 1 when any request failed).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    "哪些县有医疗救助项目", "which counties fund long-term care insurance", "what is the total 2023 budget of 兴县医疗保障局",
    "哪些项目引用了冀财社〔2022〕218号", "which counties in Shanxi have disclosures", "乐亭县2023年项目支出是多少",
    "哪些县有长期护理保险项目", "which projects fund COVID-19 vaccination",
]
# Question shapes that stay cheap as the store grows (one department or county, one measure).
FAST_QUESTIONS = [
    "what is the total 2023 budget of 兴县医疗保障局", "乐亭县2023年项目支出是多少", "霸州市医疗保障局2023年收入总计是多少",
    "大城县医疗保障局2021年基本支出是多少",
]
# Indicators of an area by category: the indicator template's UNION leaves ?project unbound for
# department-wide indicators, and its OPTIONAL label then joins every label of the graph (issue 8).
HEAVY_QUESTION = "霸州市的绩效指标有哪些关于满意度"
SEARCHES = [
    "长期照护险", "资金发放率", "医保基金监管", "long-term care insurance", "村级代办员补助", "2101301", "群众满意度",
    "medical assistance for poor households", "公费医疗", "慢特病鉴定",
]
PREFIX = ("PREFIX bkg: <https://w3id.org/budgetkg/ontology#>\n"
          "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n")
# A cross product of the whole store: runs into the time limit every time (``--slow-users``).
EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
SPARQL = [
    PREFIX + "SELECT ?d ?dept ?year WHERE { ?d a bkg:Disclosure ; bkg:publishedBy/rdfs:label ?dept . "
             "OPTIONAL { ?d bkg:fiscalYear ?year } }",
    PREFIX + "SELECT ?p ?label ?amount WHERE { ?p a bkg:Project ; rdfs:label ?label ; bkg:amount ?amount } "
             "ORDER BY DESC(?amount) LIMIT 20",
    PREFIX + "SELECT ?i ?label ?v WHERE { ?i a bkg:PerformanceIndicator ; rdfs:label ?label ; bkg:targetValue ?v "
             "FILTER(CONTAINS(?label, \"满意度\")) } LIMIT 50",
    PREFIX + "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    PREFIX + "ASK { ?d a bkg:Disclosure ; bkg:fiscalYear 2023 }",
    PREFIX + "SELECT ?check (COUNT(?f) AS ?n) WHERE { ?f a bkg:Finding ; bkg:checkName ?check } GROUP BY ?check",
]
# Small queries whatever the store's size (LIMIT, a point lookup).
SMALL_SPARQL = [
    PREFIX + "SELECT ?d ?dept WHERE { ?d a bkg:Disclosure ; bkg:publishedBy/rdfs:label ?dept } LIMIT 20",
    PREFIX + "SELECT ?p ?label WHERE { ?p a bkg:Project ; rdfs:label ?label } LIMIT 50",
    PREFIX + "ASK { ?d a bkg:Disclosure ; bkg:fiscalYear 2023 }",
]
KINDS = ("ask", "fast_ask", "search", "similar", "sparql", "small_sparql", "slow", "heavy_ask")
EXPECTED_TIMEOUT = {"slow", "heavy_ask"}  # a 504 (or the memory cap) is their normal outcome


def request_for(kind: str, rng: random.Random, heavy_question: str = HEAVY_QUESTION) -> tuple[str, str, dict]:
    if kind == "slow":
        return "POST", "/sparql", {"data": {"query": EXPENSIVE}}
    if kind == "heavy_ask":
        return "GET", "/api/ask", {"params": {"q": heavy_question}}
    if kind == "ask":
        return "GET", "/api/ask", {"params": {"q": rng.choice(QUESTIONS)}}
    if kind == "fast_ask":
        return "GET", "/api/ask", {"params": {"q": rng.choice(FAST_QUESTIONS)}}
    if kind == "search":
        return "GET", "/api/search", {"params": {"q": rng.choice(SEARCHES), "k": 10}}
    if kind == "similar":
        return "GET", "/api/similar", {"params": {"q": rng.choice(SEARCHES), "k": 10}}
    queries = SMALL_SPARQL if kind == "small_sparql" else SPARQL
    return "POST", "/sparql", {"data": {"query": rng.choice(queries)},
                               "headers": {"Accept": "application/sparql-results+json"}}


def expected_failure(response: httpx.Response) -> bool:
    """How a deliberately expensive request ends: at its time limit (504), or, for the cross product,
    when its worker reaches the memory cap first (500 query_failed; the worker is replaced)."""
    if response.status_code == 504:
        return True
    try:
        return response.status_code == 500 and response.json()["error"]["code"] == "query_failed"
    except (ValueError, KeyError, TypeError):
        return False


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name.strip() not in KINDS or name.strip() in EXPECTED_TIMEOUT:
            raise SystemExit(f"unknown request kind {name!r} in --mix; use ask, fast_ask, search, similar, sparql, "
                             "small_sparql")
        mix[name.strip()] = float(weight or 1)
    return mix


async def user(client: httpx.AsyncClient, uid: int, deadline: float, mix: dict[str, float],
               results: list, errors: list, heavy_question: str = HEAVY_QUESTION) -> None:
    rng = random.Random(uid)
    kinds, weights = list(mix), list(mix.values())
    while time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        method, path, kwargs = request_for(kind, rng, heavy_question)
        started = time.monotonic()
        try:
            response = await client.request(method, path, **kwargs)
            ok = 200 <= response.status_code < 300 or (kind in EXPECTED_TIMEOUT and expected_failure(response))
            if not ok:
                errors.append(f"{kind} {response.status_code}: {response.text[:200]}")
        except httpx.HTTPError as exc:
            ok = False
            errors.append(f"{kind} {type(exc).__name__}: {exc}")
        results.append((kind, time.monotonic() - started, ok))


async def sample_memory(client: httpx.AsyncClient, deadline: float, samples: list, every: float = 5.0) -> None:
    while time.monotonic() < deadline:
        await asyncio.sleep(every)
        samples.append(await memory(client))


async def memory(client: httpx.AsyncClient) -> dict:
    health = (await client.get("/api/health", timeout=30)).json()
    workers = health["sparql"]["workers"] or {}
    return {"web_mb": health.get("rss_mb"), "workers_mb": workers.get("worker_rss_mb", [])}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def report(results: list, errors: list, elapsed: float, mem_start: dict, mem_end: dict, samples: list) -> None:
    by_kind = defaultdict(list)
    for kind, latency, _ok in results:
        by_kind[kind].append(latency)
    print(f"\n{len(results)} requests in {elapsed:.1f} s = {len(results) / elapsed:.1f} req/s; "
          f"errors: {len(errors)}")
    print(f"{'kind':<13}{'count':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind in sorted(by_kind) + ["all"]:
        values = [lat for _, lat, _ in results] if kind == "all" else by_kind[kind]
        print(f"{kind:<13}{len(values):>7}{len(values) / elapsed:>8.1f}"
              + "".join(f"{percentile(values, p) * 1000:>9.0f}" for p in (50, 95, 99))
              + f"{max(values) * 1000:>9.0f}")
    for line in errors[:10]:
        print("  error:", line)
    peak = max([s["web_mb"] or 0 for s in samples + [mem_start, mem_end]])
    print(f"server RSS: web process {mem_start['web_mb']} MB at start -> {mem_end['web_mb']} MB at end "
          f"(peak sampled {peak} MB); query workers {mem_start['workers_mb']} -> {mem_end['workers_mb']} MB")


def _client(url: str, users: int, timeout: float) -> httpx.AsyncClient:
    # keepalive_expiry below uvicorn's 5 s keep-alive: never reuse a connection the server is closing.
    limits = httpx.Limits(max_connections=users + 4, max_keepalive_connections=users + 4, keepalive_expiry=4.0)
    return httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits)


async def _describe_server(client: httpx.AsyncClient, url: str) -> dict:
    health = (await client.get("/api/health")).json()
    requests = health.get("requests") or {}
    print(f"server {url}: {health['disclosures']} disclosures, index {health['index']['status']}, "
          f"{health['sparql']['workers']['size']} query workers, SPARQL limit {health['sparql']['timeout_s']:g} s"
          + (f", question/search limit {requests['timeout_s']:g} s, {requests['concurrency']} computing at once"
             if requests else ""))
    return health


async def _warm_up(client: httpx.AsyncClient, kinds) -> None:
    rng = random.Random(0)
    for kind in kinds:  # model loaded, caches filled, before the clock starts
        method, path, kwargs = request_for(kind, rng)
        await client.request(method, path, **kwargs)


async def run(url: str, users: int, duration: float, mix: dict[str, float], timeout: float,
              slow_users: int = 0) -> int:
    async with _client(url, users + slow_users, timeout) as client:
        await _describe_server(client, url)
        print(f"{users} users for {duration:g} s, mix {mix}" + (f", {slow_users} slow users" if slow_users else ""))
        await _warm_up(client, mix)
        mem_start = await memory(client)
        results, errors, samples = [], [], []
        started = time.monotonic()
        deadline = started + duration
        await asyncio.gather(sample_memory(client, deadline, samples),
                             *(user(client, uid, deadline, mix, results, errors) for uid in range(users)),
                             *(user(client, -1 - n, deadline, {"slow": 1}, results, errors)
                               for n in range(slow_users)))
        elapsed = time.monotonic() - started
        await asyncio.sleep(1.0)  # let the last responses' buffers go before measuring
        mem_end = await memory(client)
    report(results, errors, elapsed, mem_start, mem_end, samples)
    return 1 if errors else 0


# ---------------------------------------------------------------- --compare


async def _phase(client: httpx.AsyncClient, users: int, duration: float, mix: dict[str, float],
                 expensive: list[str], heavy_question: str) -> tuple[list, list, float]:
    results, errors = [], []
    deadline = time.monotonic() + duration
    started = time.monotonic()
    await asyncio.gather(*(user(client, uid, deadline, mix, results, errors, heavy_question) for uid in range(users)),
                         *(user(client, 1000 + n, deadline, {kind: 1}, results, errors, heavy_question)
                           for n, kind in enumerate(expensive)))
    return results, errors, time.monotonic() - started


def _summary(results: list, kinds) -> dict[str, tuple[int, float, float, float]]:
    out = {}
    for kind in list(kinds) + ["cheap"]:
        values = [lat for k, lat, _ in results if (k == kind if kind != "cheap" else k not in EXPECTED_TIMEOUT)]
        out[kind] = (len(values), percentile(values, 50), percentile(values, 95), max(values) if values else float("nan"))
    return out


async def _workers_settled(client: httpx.AsyncClient, limit_s: float = 600.0) -> float:
    """Wait until every query worker is alive and idle again (a killed one is replaced in the
    background), so each run starts from a whole server; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        workers = (await client.get("/api/health", timeout=30)).json()["sparql"]["workers"] or {}
        if workers.get("alive", 0) >= workers.get("size", 0) and not workers.get("spawning") \
                and workers.get("idle", 0) >= workers.get("size", 0):
            break
        await asyncio.sleep(0.5)
    return time.monotonic() - started


async def compare(url: str, users: int, duration: float, mix: dict[str, float], timeout: float,
                  heavy_question: str) -> int:
    """The cheap mix alone, beside a heavy question, beside a heavy /sparql query; p95 ratios."""
    phases = [("alone", []), ("+ heavy question", ["heavy_ask"]), ("+ heavy SPARQL", ["slow"])]
    all_errors = []
    summaries = {}
    heavy_outcomes = {}
    async with _client(url, users + 2, timeout) as client:
        await _describe_server(client, url)
        print(f"cheap mix {mix}, {users} users, {duration:g} s per run; heavy question: {heavy_question!r}")
        await _warm_up(client, mix)
        await _phase(client, users, min(5.0, duration), mix, [], heavy_question)  # settle, not measured
        for name, expensive in phases:
            waited = await _workers_settled(client)
            if waited > 1:
                print(f"  (waited {waited:.0f} s for the query workers to be replaced before this run)")
            results, errors, _ = await _phase(client, users, duration, mix, expensive, heavy_question)
            summaries[name] = _summary(results, mix)
            heavy = [lat for k, lat, _ in results if k in EXPECTED_TIMEOUT]
            heavy_outcomes[name] = heavy
            cheap = summaries[name]["cheap"][0]
            # Cheap users stop at the deadline; a heavy request still running only delays the return.
            print(f"  {name:<18} {cheap} cheap requests in {duration:g} s ({cheap / duration:.1f}/s)"
                  + (f"; {len(heavy)} heavy requests, each {min(heavy):.1f}-{max(heavy):.1f} s" if heavy else "")
                  + (f"; {len(errors)} errors" if errors else ""))
            all_errors += errors
    print(f"\n{'kind':<13}{'run':<19}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'p95 / alone':>13}")
    for kind in list(mix) + ["cheap"]:
        base = summaries["alone"][kind][2]
        for name, _ in phases:
            n, p50, p95, top = summaries[name][kind]
            ratio = "" if name == "alone" else f"{p95 / base:>12.2f}x"
            print(f"{kind:<13}{name:<19}{n:>7}{p50 * 1000:>9.0f}{p95 * 1000:>9.0f}{top * 1000:>9.0f}{ratio:>13}")
    worst = max(summaries[name]["cheap"][2] / summaries["alone"]["cheap"][2] for name, _ in phases[1:])
    print(f"\ncheap p95 with an expensive request / without: {worst:.2f}x at worst (target <= 2x)")
    for line in all_errors[:10]:
        print("  error:", line)
    return 1 if all_errors else 0


# ---------------------------------------------------------------- a server to test


def start_server(home: str, extra_env: dict | None = None) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = str(Path(home).expanduser())
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(extra_env or {})}
    # `budgetkg --home HOME serve` (the console script's own code, run from this checkout).
    process = subprocess.Popen([sys.executable, "-c", "from api.cli import app; app()", "--home", home,
                                "serve", "--port", str(port), "--log-level", "warning"],
                               cwd=ROOT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    for _ in range(3000):
        try:
            health = httpx.get(url + "/api/health", timeout=2).json()
            ready = health.get("readiness", {}).get("ready")
            if ready or (ready is None and health["index"]["status"] != "loading"):
                startup = health.get("readiness", {}).get("startup_s")
                print(f"server ready after {time.monotonic() - started:.1f} s"
                      + (f" (reports {startup:g} s since its process started)" if startup else ""))
                return process, url
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}")
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit("the server did not come up within 600 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="base URL of a running server")
    parser.add_argument("--serve", metavar="HOME", help="start a server for BUDGETKG_HOME=HOME on a free port "
                                                        "instead of using --url")
    parser.add_argument("--users", type=int, default=None, help="concurrent users (default 50; 8 with --compare)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of load (default 30; 20 per run "
                                                                     "with --compare)")
    parser.add_argument("--mix", default=None, help="weights of request kinds (default ask=1,search=2,sparql=2; "
                                                    "with --compare fast_ask=1,search=2,similar=1,small_sparql=1)")
    parser.add_argument("--timeout", type=float, default=60.0, help="client timeout per request, seconds")
    parser.add_argument("--slow-users", type=int, default=0, help="extra users sending only a query that runs "
                                                                  "into the time limit (504 expected); keep below "
                                                                  "the server's query workers")
    parser.add_argument("--compare", action="store_true", help="run the cheap mix alone, beside a heavy "
                                                               "question and beside a heavy SPARQL query, and "
                                                               "print the p95 ratios")
    parser.add_argument("--heavy-question", default=HEAVY_QUESTION, help="the expensive question of --compare")
    parser.add_argument("--query-workers", type=int, help="with --serve: the server's query workers")
    args = parser.parse_args()
    process = None
    url = args.url
    if args.serve:
        env = {"BUDGETKG_QUERY_WORKERS": str(args.query_workers)} if args.query_workers else {}
        process, url = start_server(args.serve, env)
    try:
        if args.compare:
            mix = parse_mix(args.mix or "fast_ask=1,search=2,similar=1,small_sparql=1")
            return asyncio.run(compare(url, args.users or 8, args.duration or 20.0, mix, args.timeout,
                                       args.heavy_question))
        mix = parse_mix(args.mix or "ask=1,search=2,sparql=2")
        return asyncio.run(run(url, args.users or 50, args.duration or 30.0, mix, args.timeout, args.slow_users))
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(20)


if __name__ == "__main__":
    sys.exit(main())
