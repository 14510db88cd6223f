"""Shared fixtures of the HTTP tests (imported by tests/test_http_*.py, test_sparql_endpoint.py,
test_browser.py): stores filled with the real samples plus one hostile disclosure, a real uvicorn
server on a free 127.0.0.1 port, and small helpers.

The hostile disclosure (``tests/data/hostile/hostile_hebei_2023.txt``, synthetic, in the Hebei
layout of seed 000) names a project ``<script>…</script>…<img onerror=…>``, carries the same markup
in a goal, an indicator and a narrative passage, and prints a contact's name and mobile number. When
the text parser is not available it is built through the domain model instead, with the same
content, so the escaping tests never depend on the parser.
"""
from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "ingest" / "samples"
HOSTILE_FILE = ROOT / "tests" / "data" / "hostile" / "hostile_hebei_2023.txt"

HOSTILE_PROJECT = '<script>window.__pwned=1</script>医保<img src=x onerror="window.__pwned=2">专项'
HOSTILE_DEPARTMENT = "样例县医疗保障局"
HOSTILE_PHONE = "13912345678"
HOSTILE_PERSON = "张三丰"
ADMIN_TOKEN = "test-admin-token-0123456789"


def sample_files() -> list[Path]:
    return sorted(SAMPLES.glob("*.txt"))


def hostile_disclosure():
    """The hostile disclosure as a domain object (used when the text parser cannot read the file)."""
    from ingest.model import (BudgetLine, ClassificationKind, Contact, Disclosure, DocumentKind, FigureSource,
                              Finding, Indicator, Measure, Passage, Project, SectionKind, Severity, Span,
                              StatedFigure, TableKind)

    d = Disclosure(source_name=HOSTILE_FILE.name, sha256="0" * 64, layout="pdf-text", line_count=60,
                   department=HOSTILE_DEPARTMENT, department_code="999", county="样例县", prefecture="唐山市",
                   province="河北省", fiscal_year=2023, kind=DocumentKind.BUDGET)
    d.figures = [StatedFigure(Measure.TOTAL_EXPENDITURE, Decimal("120.00"), FigureSource.TABLE, Span(10, 10)),
                 StatedFigure(Measure.TOTAL_REVENUE, Decimal("120.00"), FigureSource.TABLE, Span(10, 10))]
    f, e = ClassificationKind.FUNCTION, TableKind.EXPENDITURE
    d.budget_lines = [
        BudgetLine(e, f, "210", "卫生健康支出<b>粗体</b>", Decimal("100.00"), Decimal("40.00"), Decimal("60.00"),
                   span=Span(20, 20)),
        BudgetLine(e, f, "208", "社会保障和就业支出", Decimal("20.00"), Decimal("20.00"), None, span=Span(21, 21)),
    ]
    indicator = Indicator("产出指标", "数量指标", '参保人数<img src=x onerror="window.__pwned=3">', "≥98%",
                          comparator="≥", number=Decimal("98"), unit="%", basis="县级年初预算项目", span=Span(40, 40))
    d.projects = [Project(HOSTILE_PROJECT, amount=Decimal("60.00"), goal="目标<script>alert(4)</script>",
                          indicators=[indicator], sources=["performance-table"], span=Span(35, 45))]
    d.passages = [Passage(SectionKind.DUTIES, "部门职责", "负责<script>alert(5)</script>医疗保障", Span(25, 26))]
    d.contacts = [Contact("经办人", HOSTILE_PERSON, HOSTILE_PHONE, Span(50, 50))]
    d.findings = [Finding("narrative-vs-table", Severity.WARNING, "说明<script>alert(6)</script>与表格不一致",
                          expected=Decimal("120.00"), found=Decimal("121.00"), spans=[Span(30, 30)])]
    return d


def add_hostile(store) -> str:
    """Store the hostile disclosure (parsed from its text file when the parser can, else built
    from the model); returns its identifier."""
    from api.service import ingest_file, write_disclosure
    from ingest.mapper import to_rdf

    outcome = ingest_file(store, HOSTILE_FILE)
    if outcome.ok and any(HOSTILE_PROJECT in p.name for p in outcome.disclosure.projects):
        return outcome.disclosure.key
    mapped = to_rdf(hostile_disclosure())
    write_disclosure(store, mapped)
    return mapped.key


@functools.lru_cache(maxsize=1)
def samples_ingest_ok() -> bool:
    """True once the parsers read all five samples (then tests use them)."""
    from api.service import ingest_paths
    from search.store import open_store

    store = open_store("memory")
    report = ingest_paths(store, sample_files())
    return bool(report.outcomes) and not report.failed


def fill_store(store) -> dict:
    """Ontology + the five samples (where the parsers work) + the hostile disclosure."""
    from api.service import ensure_ontology, ingest_paths

    ensure_ontology(store)
    samples = []
    if samples_ingest_ok():
        report = ingest_paths(store, sample_files())
        samples = [o.disclosure.key for o in report.stored]
    return {"samples": samples, "hostile": add_hostile(store)}


def memory_store():
    from search.store import open_store

    store = open_store("memory")
    info = fill_store(store)
    return store, info


# ---------------------------------------------------------------- a real server in a subprocess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@functools.lru_cache(maxsize=1)
def prepared_home() -> tuple[Path, dict]:
    """A BUDGETKG_HOME with an on-disk store holding the samples and the hostile disclosure, its
    search index and topic tags (as ``budgetkg ingest`` leaves them), and ``dump.nq``, a copy of
    every graph for in-memory stores.

    Filled in a child process so this one never holds the store's lock; shared by all test
    modules of the session and removed at exit.
    """
    home = Path(tempfile.mkdtemp(prefix="budgetkg-http-test-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    out = subprocess.run([sys.executable, "-m", "tests.http_support", str(home)], capture_output=True, text=True,
                         cwd=ROOT, timeout=900, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode != 0:
        raise RuntimeError(f"could not prepare the test store: {out.stderr[-3000:]}")
    return home, json.loads(out.stdout.strip().splitlines()[-1])


def _prepare(home: Path) -> dict:
    from search.store import open_store

    store = open_store("oxigraph", path=home / "store")
    info = fill_store(store)
    if search_available():
        from search.index import refresh_after_ingest

        refresh_after_ingest(store, home / "index", "use-multilingual", 1)
    (home / "dump.nq").write_bytes(store.export("nq", include_private=True))
    store.close()
    return info


def memory_copy():
    """A memory store holding the prepared home's graphs, written through the GraphStore API (so
    personal-data graphs land wherever the store keeps them)."""
    from collections import defaultdict

    import pyoxigraph as ox
    from rdflib import Graph

    from search.store import open_store

    home, _ = prepared_home()
    groups: dict[str, list] = defaultdict(list)
    for quad in ox.parse(path=str(home / "dump.nq"), format=ox.RdfFormat.N_QUADS):
        groups[quad.graph_name.value].append(ox.Triple(quad.subject, quad.predicate, quad.object))
    graphs = {name: Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
              for name, triples in groups.items()}
    store = open_store("memory")
    store.replace_graphs(graphs)
    return store


def make_app(home: Path | None = None, *, store=None, **settings):
    """An in-process app over a memory copy of the prepared data (or ``store``); ``home`` defaults
    to the prepared home, whose search index matches that data."""
    from api.app import create_app
    from api.settings import Settings

    prepared, _ = prepared_home()
    return create_app(Settings(home=home or prepared, store="memory", **settings),
                      store=store if store is not None else memory_copy())


def wait_for_index(client, timeout: float = 300.0) -> str:
    """Poll /api/health until the search index is ready or known to be unavailable."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get("/api/health").json()["index"]["status"]
        if status != "loading":
            return status
        time.sleep(0.2)
    raise TimeoutError("the search index did not load")


class LiveServer:
    """``budgetkg serve``'s app under uvicorn in a child process, on 127.0.0.1:<free port>."""

    def __init__(self, home: Path, *, env: dict | None = None, workers: int = 2, timeout_s: float = 10.0):
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "BUDGETKG_HOME": str(home), "BUDGETKG_STORE": "oxigraph",
                    "BUDGETKG_QUERY_WORKERS": str(workers), "BUDGETKG_QUERY_TIMEOUT_S": str(timeout_s),
                    "BUDGETKG_ADMIN_TOKEN": ADMIN_TOKEN, "PYTHONPATH": str(ROOT), **(env or {})}
        self.process: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()

    def start(self, wait_for_index: bool = False, timeout: float = 300.0) -> "LiveServer":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_env", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log",
             "--h11-max-incomplete-event-size", str(self.head_limit())],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.output()[-3000:]}")
            try:
                health = httpx.get(self.url + "/api/health", timeout=2).json()
                if not wait_for_index or health["index"]["status"] != "loading":
                    return self
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not come up in {timeout} s: {self.output()[-3000:]}")

    def head_limit(self) -> int:
        from api.cli_serve import request_head_limit
        from api.settings import Settings

        return request_head_limit(Settings(home=self.home))

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def search_available() -> bool:
    try:
        import search.index  # noqa: F401
        import search.qa  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":  # python -m tests.http_support HOME: fill HOME for prepared_home()
    print(json.dumps(_prepare(Path(sys.argv[1]))))
