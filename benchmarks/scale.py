"""Scale benchmark: ingest, size, start-up and HTTP latency at N = 10, 100, 1,000, 10,000 disclosures.

Usage::

    python benchmarks/scale.py [--sizes 10,100,1000,10000] [--corpus DIR] [--work DIR]
                               [--workers N] [--rounds R] [--json OUT] [--keep] [--reuse EARLIER.json]
                               [--cold] [--settle S]

For each N, a fresh budgetkg home gets the first N files of a synthetic corpus
(``benchmarks/synthetic.py``; its first N files are the corpus of size N, so the sizes nest), and
the figures are taken the way a user meets them, through the real commands:

- ``budgetkg ingest DIR --workers W``: wall time, split as the command reports it into parse
  (summed over the worker processes), write (store), index (embedding + lexical + vectors, and the
  embedding part alone where the index reports it), and disclosures/s overall;
- store and index size on disk;
- ``budgetkg serve``: seconds until ``/api/health`` says ready, and RSS of the server and its
  query workers;
- p50 / p95 / max milliseconds over HTTP (one client, ``--rounds`` rounds) for every question
  shape ``ask`` supports (questions filled with names the store holds, ``ask_speed.questions_for``),
  for ``/api/search``, ``/api/similar`` and the example SPARQL queries (``examples/queries``);
  errors (non-200) are counted, not timed.

Last, the growth exponent of each figure: the slope of log(figure) against log(N) fitted over the
sizes from 100 up (the smallest size is mostly fixed costs: model load, ontology). Targets from
the scale issue are printed beside the figures at the largest size. Results go to ``--json`` too.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import stat
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SEARCHES = ["long-term care insurance", "医疗救助资金", "COVID-19 vaccine subsidy", "村级代办员补助",
            "office renovation project", "群众满意度", "2101202", "冀财社〔2022〕172号",
            "inspection coverage of designated medical institutions", "异地就医直接结算"]
SIMILAR = ["群众满意度", "how satisfied the insured are", "参保率", "timely payment of subsidies",
           "慢特病审核人次", "number of people covered by long-term care insurance"]
TARGETS = {  # figure -> (comparison, bound) at the largest size, from the scale issue
    "ingest_docs_per_s": (">=", 5.0), "ask_p95_ms": ("<=", 300.0), "ask_max_ms": ("<=", 2000.0),
    "search_p95_ms": ("<=", 50.0), "similar_p95_ms": ("<=", 50.0), "serve_ready_s": ("<=", 10.0),
}


# ------------------------------------------------------------------ helpers


def du(path: Path) -> int:
    """Bytes of the files under ``path``, each file once (0 if missing).

    The store's published generations (``HOME/store/snapshots``) are hard links to the primary's
    table files: summing every path counted the same bytes once per generation (13.4 GB reported at
    10,000 disclosures where ``du -sh`` said 6.8 GB). Files are counted by inode, as ``du`` does."""
    if not path.exists():
        return 0
    seen: set[tuple[int, int]] = set()
    total = 0
    for f in path.rglob("*"):
        st = f.lstat()
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        total += st.st_size
    return total


def stats(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    p95 = values[min(len(values) - 1, math.ceil(0.95 * len(values)) - 1)]
    return {"n": len(values), "p50": round(statistics.median(values), 1), "p95": round(p95, 1),
            "max": round(values[-1], 1)}


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants (Linux /proc), in MB."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1)


def cli(home: Path, *args: str, timeout: float = 7200) -> subprocess.CompletedProcess:
    """Run the ``budgetkg`` command of this checkout with ``home``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", "from api.cli import app; app()", "--home", str(home), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def corpus_files(corpus: Path, n: int) -> list[Path]:
    """The first ``n`` files of the corpus, in generation order (the manifest's)."""
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    files = [corpus / d["file"] for d in manifest["documents"]]
    if len(files) < n:
        raise SystemExit(f"{corpus} holds {len(files)} disclosures, fewer than {n}")
    return files[:n]


def ensure_corpus(corpus: Path | None, work: Path, n: int) -> Path:
    if corpus is not None:
        return corpus
    corpus = work / f"corpus-{n}"
    if not (corpus / "manifest.json").exists():
        from synthetic import generate

        print(f"generating a synthetic corpus of {n} disclosures in {corpus} ...", flush=True)
        generate(n, corpus, seed=0)
    return corpus


# ------------------------------------------------------------------ one size


def ingest(home: Path, files: list[Path], workers: int, folder: Path) -> dict:
    """Ingest ``files`` (linked into ``folder``) with the CLI; the figures it reports."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for f in files:
        (folder / f.name).symlink_to(f.resolve())
    t0 = time.perf_counter()
    out = cli(home, "ingest", str(folder), "--workers", str(workers))
    wall = time.perf_counter() - t0
    if out.returncode != 0 and "disclosures stored" not in out.stdout:
        raise SystemExit(f"ingest failed:\n{out.stderr[-3000:]}")
    figures: dict = {"wall_s": round(wall, 2), "docs": len(files),
                     "stored": int(m.group(1)) if (m := re.search(r"(\d+) disclosures stored", out.stdout)) else None,
                     "failed": int(m.group(1)) if (m := re.search(r"(\d+) failed", out.stdout)) else None}
    timing = re.search(r"timing: parse ([\d.]+) s.*?write ([\d.]+) s(?:, index ([\d.]+) s)?", out.stderr)
    if timing:
        figures["parse_s"], figures["write_s"] = float(timing.group(1)), float(timing.group(2))
        figures["index_s"] = float(timing.group(3)) if timing.group(3) else None
    refreshed = re.search(r"search index refreshed: (\{.*\})", out.stderr)
    if refreshed:
        figures["index_stats"] = _literal(refreshed.group(1))
        embed = _find_number(figures["index_stats"], ("embed_s", "encode_s", "embedding_s"))
        if embed is not None:
            figures["embed_s"] = embed
    figures["docs_per_s"] = round(len(files) / wall, 2) if wall else None
    return figures


def _literal(text: str):
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _find_number(data, keys: tuple[str, ...]):
    """The first number under one of ``keys`` anywhere in a nested dict."""
    if isinstance(data, dict):
        for k in keys:
            if isinstance(data.get(k), (int, float)):
                return float(data[k])
        for v in data.values():
            found = _find_number(v, keys)
            if found is not None:
                return found
    return None


def start_server(home: Path) -> tuple[subprocess.Popen, str, float]:
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", "from api.cli import app; app()", "--home", str(home),
                                "serve", "--port", str(port), "--log-level", "warning"],
                               cwd=ROOT, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while time.perf_counter() - t0 < 900:
        try:
            health = httpx.get(url + "/api/health", timeout=2).json()
            if health.get("readiness", {}).get("ready"):
                return process, url, time.perf_counter() - t0
        except (httpx.HTTPError, ValueError):
            pass
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}")
        time.sleep(0.1)
    stop_server(process)
    raise SystemExit("the server was not ready within 900 s")


def drop_page_cache() -> None:
    """Empty the kernel's page cache (root only), so the server starts as it would after a reboot."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
    except OSError as exc:
        raise SystemExit(f"--cold needs to write /proc/sys/vm/drop_caches (root on Linux): {exc}")


def stop_server(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def questions(home: Path) -> list[tuple[str, str]]:
    """Every question shape, filled with names this store holds."""
    from ask_speed import _CachedIndex, open_store, questions_for

    from search.qa import gazetteer

    store = open_store(home / "store")
    try:
        return questions_for(gazetteer(store, _CachedIndex(store)))
    finally:
        store.close()


def http_latencies(url: str, asks: list[tuple[str, str]], rounds: int) -> dict:
    """p50/p95/max per request kind (each ask shape separately), and the errors seen."""
    import httpx

    sparql = {p.stem: p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples" / "queries").glob("*.rq"))}
    requests: list[tuple[str, str, dict]] = []
    requests += [(f"ask:{shape}", "/api/ask", {"q": q}) for shape, q in asks]
    requests += [("search", "/api/search", {"q": q, "k": 10}) for q in SEARCHES]
    requests += [("similar", "/api/similar", {"q": q, "k": 10}) for q in SIMILAR]
    requests += [(f"sparql:{name}", "/sparql", {"query": q}) for name, q in sparql.items()]
    times: dict[str, list[float]] = {}
    errors: list[str] = []
    with httpx.Client(base_url=url, timeout=60, headers={"Accept": "application/json"}) as client:
        for path in ("/api/ask", "/api/search", "/api/similar"):  # warm-up: first-use caches
            client.get(path, params={"q": "医疗救助"})
        for _ in range(rounds):
            for kind, path, params in requests:
                t0 = time.perf_counter()
                r = client.get(path, params=params)
                ms = (time.perf_counter() - t0) * 1000
                if r.status_code != 200:
                    errors.append(f"{kind} {params.get('q', '')[:40]!r}: HTTP {r.status_code} {r.text[:120]}")
                    continue
                times.setdefault(kind, []).append(ms)
    out = {kind: stats(v) for kind, v in times.items()}
    asks_all = [t for k, v in times.items() if k.startswith("ask:") for t in v]
    out["ask"] = stats(asks_all)
    out["sparql"] = stats([t for k, v in times.items() if k.startswith("sparql:") for t in v])
    return {"latency": out, "errors": errors}


def run_size(n: int, corpus: Path, work: Path, workers: int, rounds: int, reuse: dict | None = None,
             cold: bool = False, settle_s: float = 0.0) -> dict:
    """Ingest N files into a clean home and measure it; with ``reuse`` (this size's result from an
    earlier ``--json``), measure the home that run kept instead, with its ingest figures. ``cold``:
    empty the page cache just before ``serve`` starts; ``settle_s``: wait that long after it is
    ready before the first request (a user who comes a little after a restart)."""
    home = work / f"home-{n}"
    print(f"\n== N = {n}", flush=True)
    if reuse is not None:
        if not home.is_dir():
            raise SystemExit(f"--reuse: no kept home at {home} (run once with --keep)")
        result = {"n": n, "ingest": reuse["ingest"], "store_mb": reuse["store_mb"], "index_mb": reuse["index_mb"],
                  "reused_home": str(home)}
        print(f"ingest figures and sizes from the earlier run; serving the home it kept ({home})", flush=True)
    else:
        if home.exists():
            shutil.rmtree(home)
        result = {"n": n, "ingest": ingest(home, corpus_files(corpus, n), workers, work / f"input-{n}")}
        result["store_mb"] = round(du(home / "store") / 2**20, 1)
        result["index_mb"] = round(du(home / "index") / 2**20, 1)
    ing = result["ingest"]
    print(f"ingest: {ing['wall_s']} s, {ing['docs_per_s']} docs/s (parse {ing.get('parse_s')} s summed over "
          f"workers, write {ing.get('write_s')} s, index {ing.get('index_s')} s, embed {ing.get('embed_s')} s); "
          f"stored {ing['stored']}, failed {ing['failed']}", flush=True)
    print(f"size: store {result['store_mb']} MB, index {result['index_mb']} MB", flush=True)
    asks = questions(home)
    if cold:
        drop_page_cache()
        result["cold_start"] = True
    process, url, ready = start_server(home)
    try:
        result["serve_ready_s"] = round(ready, 2)
        result["serve_rss_mb"] = rss_mb(process.pid)
        print(f"serve: ready in {ready:.1f} s, RSS {result['serve_rss_mb']} MB (server + query workers)"
              + (" after emptying the page cache" if cold else ""), flush=True)
        if settle_s:
            result["settle_s"] = settle_s
            time.sleep(settle_s)
        result.update(http_latencies(url, asks, rounds))
        result["serve_rss_after_mb"] = rss_mb(process.pid)
    finally:
        stop_server(process)
    lat = result["latency"]
    for kind in sorted(lat):
        s = lat[kind]
        if s["n"]:
            print(f"  {kind:<28} n={s['n']:>3}  p50 {s['p50']:>8.1f}  p95 {s['p95']:>8.1f}  max {s['max']:>8.1f} ms")
    for e in result["errors"][:10]:
        print("  error:", e)
    return result


# ------------------------------------------------------------------ summary


def figures_of(r: dict) -> dict[str, float | None]:
    lat, ing = r.get("latency", {}), r["ingest"]
    f = {"ingest_s": ing["wall_s"], "ingest_docs_per_s": ing["docs_per_s"], "parse_s": ing.get("parse_s"),
         "write_s": ing.get("write_s"), "index_s": ing.get("index_s"), "embed_s": ing.get("embed_s"),
         "store_mb": r["store_mb"], "index_mb": r["index_mb"], "serve_ready_s": r.get("serve_ready_s"),
         "serve_rss_mb": r.get("serve_rss_mb"), "http_errors": len(r.get("errors", []))}
    for kind in ("ask", "search", "similar", "sparql"):
        s = lat.get(kind) or {}
        f[f"{kind}_p50_ms"], f[f"{kind}_p95_ms"], f[f"{kind}_max_ms"] = s.get("p50"), s.get("p95"), s.get("max")
    return f


def exponent(ns: list[int], values: list[float | None]) -> float | None:
    """Least-squares slope of log(value) on log(N) over the sizes from 100 up (all, if fewer than 2)."""
    pairs = [(n, v) for n, v in zip(ns, values) if v is not None and v > 0]
    big = [(n, v) for n, v in pairs if n >= 100]
    pairs = big if len(big) >= 2 else pairs
    if len(pairs) < 2:
        return None
    xs, ys = [math.log(n) for n, _ in pairs], [math.log(v) for _, v in pairs]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return round(sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den, 2) if den else None


def summary(results: list[dict]) -> str:
    ns = [r["n"] for r in results]
    rows = {n: figures_of(r) for n, r in zip(ns, results)}
    names = list(next(iter(rows.values())))
    head = f"| figure | " + " | ".join(f"N={n:,}" for n in ns) + " | exponent | target at largest N |"
    lines = [head, "|" + "---|" * (len(ns) + 3)]
    for name in names:
        values = [rows[n][name] for n in ns]
        target = ""
        if name in TARGETS:
            op, bound = TARGETS[name]
            last = values[-1]
            ok = last is not None and (last >= bound if op == ">=" else last <= bound)
            target = f"{op} {bound:g}: {'met' if ok else 'NOT met'}"
        cells = " | ".join("–" if v is None else f"{v:g}" for v in values)
        exp = exponent(ns, values)
        lines.append(f"| {name} | {cells} | {'–' if exp is None else exp} | {target} |")
    return "\n".join(lines)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    return f"{os.cpu_count()} cores ({cpu}), {mem / 2**20:.0f} GiB RAM, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000", help="comma-separated corpus sizes")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="a synthetic corpus (benchmarks/synthetic.py) of at least the largest size")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "budgetkg" / "scale",
                        help="folder for the homes, inputs and generated corpus (several GB at 10,000)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="ingest worker processes")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the HTTP request set")
    parser.add_argument("--keep", action="store_true", help="keep each size's home (store and index)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here as JSON")
    parser.add_argument("--reuse", type=Path, default=None,
                        help="the --json of an earlier run with --keep: serve and measure the homes it kept "
                             "(after a change to serving code) and carry its ingest figures over")
    parser.add_argument("--cold", action="store_true",
                        help="empty the page cache before each serve start (root on Linux): the first requests "
                             "after a reboot; with --rounds 1 the figures are those of the cold start alone")
    parser.add_argument("--settle", type=float, default=0.0,
                        help="seconds to wait after serve is ready before the first request")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    args.work.mkdir(parents=True, exist_ok=True)
    corpus = ensure_corpus(args.corpus, args.work, sizes[-1])
    print(f"machine: {machine()}; corpus {corpus}; workers {args.workers}; rounds {args.rounds}", flush=True)
    earlier = {}
    if args.reuse is not None:
        earlier = {r["n"]: r for r in json.loads(args.reuse.read_text(encoding="utf-8"))["results"]}
    results = []
    for n in sizes:
        if args.reuse is not None and n not in earlier:
            raise SystemExit(f"--reuse: {args.reuse} has no result for N = {n}")
        results.append(run_size(n, corpus, args.work, args.workers, args.rounds, earlier.get(n), args.cold,
                                args.settle))
        if args.json:
            args.json.write_text(json.dumps({"machine": machine(), "results": results}, ensure_ascii=False,
                                            indent=1), encoding="utf-8")
        if not args.keep and args.reuse is None:
            shutil.rmtree(args.work / f"home-{n}", ignore_errors=True)
            shutil.rmtree(args.work / f"input-{n}", ignore_errors=True)
    print("\n" + summary(results))


if __name__ == "__main__":
    main()
