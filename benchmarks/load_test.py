"""Load test of a running ``budgetkg serve``: concurrent users for a bounded time, a mix of
questions (/api/ask), searches (/api/search) and SPARQL queries (/sparql).

It prints throughput, p50/p95/p99 latency per kind and overall, the error count (any non-2xx
answer or failed request; for ``--slow-users``, whose query always runs into the time limit, the
expected 504 is not an error) and the server's resident memory (web process and query workers, from
/api/health) at the start, during and at the end, so growth over the run is visible.

    python benchmarks/load_test.py --url http://127.0.0.1:8000 --users 50 --duration 30
    python benchmarks/load_test.py --serve ~/.budgetkg          # start a server on a free port first

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


def request_for(kind: str, rng: random.Random) -> tuple[str, str, dict]:
    if kind == "slow":
        return "POST", "/sparql", {"data": {"query": EXPENSIVE}}
    if kind == "ask":
        return "GET", "/api/ask", {"params": {"q": rng.choice(QUESTIONS)}}
    if kind == "search":
        return "GET", "/api/search", {"params": {"q": rng.choice(SEARCHES), "k": 10}}
    return "POST", "/sparql", {"data": {"query": rng.choice(SPARQL)},
                               "headers": {"Accept": "application/sparql-results+json"}}


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name.strip() not in ("ask", "search", "sparql"):
            raise SystemExit(f"unknown request kind {name!r} in --mix; use ask, search, sparql")
        mix[name.strip()] = float(weight or 1)
    return mix


async def user(client: httpx.AsyncClient, uid: int, deadline: float, mix: dict[str, float],
               results: list, errors: list) -> None:
    rng = random.Random(uid)
    kinds, weights = list(mix), list(mix.values())
    while time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        method, path, kwargs = request_for(kind, rng)
        started = time.monotonic()
        try:
            response = await client.request(method, path, **kwargs)
            ok = 200 <= response.status_code < 300 or (kind == "slow" and response.status_code == 504)
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
    print(f"{'kind':<8}{'count':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind in sorted(by_kind) + ["all"]:
        values = [lat for _, lat, _ in results] if kind == "all" else by_kind[kind]
        print(f"{kind:<8}{len(values):>7}{len(values) / elapsed:>8.1f}"
              + "".join(f"{percentile(values, p) * 1000:>9.0f}" for p in (50, 95, 99))
              + f"{max(values) * 1000:>9.0f}")
    for line in errors[:10]:
        print("  error:", line)
    peak = max([s["web_mb"] or 0 for s in samples + [mem_start, mem_end]])
    print(f"server RSS: web process {mem_start['web_mb']} MB at start -> {mem_end['web_mb']} MB at end "
          f"(peak sampled {peak} MB); query workers {mem_start['workers_mb']} -> {mem_end['workers_mb']} MB")


async def run(url: str, users: int, duration: float, mix: dict[str, float], timeout: float,
              slow_users: int = 0) -> int:
    # keepalive_expiry below uvicorn's 5 s keep-alive: never reuse a connection the server is closing.
    limits = httpx.Limits(max_connections=users + 2, max_keepalive_connections=users + 2, keepalive_expiry=4.0)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:
        health = (await client.get("/api/health")).json()
        print(f"server {url}: {health['disclosures']} disclosures, index {health['index']['status']}, "
              f"{health['sparql']['workers']['size']} query workers; {users} users for {duration:g} s, mix {mix}")
        rng = random.Random(0)
        for kind in mix:  # warm-up: model loaded, caches filled, before the clock starts
            method, path, kwargs = request_for(kind, rng)
            await client.request(method, path, **kwargs)
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


def start_server(home: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = str(Path(home).expanduser())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # `budgetkg --home HOME serve` (the console script's own code, run from this checkout).
    process = subprocess.Popen([sys.executable, "-c", "from api.cli import app; app()", "--home", home,
                                "serve", "--port", str(port), "--log-level", "warning"],
                               cwd=ROOT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(1500):
        try:
            if httpx.get(url + "/api/health", timeout=2).json()["index"]["status"] != "loading":
                return process, url
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}")
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit("the server did not come up within 300 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="base URL of a running server")
    parser.add_argument("--serve", metavar="HOME", help="start a server for BUDGETKG_HOME=HOME on a free port "
                                                        "instead of using --url")
    parser.add_argument("--users", type=int, default=50, help="concurrent users (default 50)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (default 30)")
    parser.add_argument("--mix", default="ask=1,search=2,sparql=2", help="weights of request kinds")
    parser.add_argument("--timeout", type=float, default=60.0, help="client timeout per request, seconds")
    parser.add_argument("--slow-users", type=int, default=0, help="extra users sending only a query that runs "
                                                                  "into the time limit (504 expected); keep below "
                                                                  "the server's query workers")
    args = parser.parse_args()
    process = None
    url = args.url
    if args.serve:
        process, url = start_server(args.serve)
    try:
        return asyncio.run(run(url, args.users, args.duration, parse_mix(args.mix), args.timeout,
                               args.slow_users))
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(20)


if __name__ == "__main__":
    sys.exit(main())
