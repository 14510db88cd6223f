"""Every question and search over HTTP is bounded, and none holds up another (issue 8, item 4).

Against ``budgetkg serve`` itself (a real uvicorn server on 127.0.0.1, the real samples on disk,
the real model): ``/api/ask``, ``/api/search`` and ``/api/similar`` answer within their time limit
or with the ``/sparql`` timeout's error shape; ask's SPARQL runs in the killable query workers
and gives the same answer as in-process; a question that cannot get its SPARQL evaluated in time,
or a heavy ``/sparql`` query, leaves searches answering normally; a burst queues; an upload's
index refresh does not stop searches; ``/api/health`` and the server log say when it is ready.
No test here measures speed targets (``benchmarks/load_test.py`` does).
"""
from __future__ import annotations

from urllib.parse import quote_plus

import gc
import shutil
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.http_support import ADMIN_TOKEN, ROOT, SAMPLES, LiveServer, memory_copy, prepared_home

# A triple cross product of the whole store: hours of work, stopped only by the time limit.
EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
QUESTIONS = ["哪些县有医疗救助项目", "which county has the largest total budget", "哪些项目引用了冀财社〔2022〕218号",
             "霸州市的绩效指标有哪些关于满意度", "乐亭县2023年项目支出是多少", "预算"]
SEARCHES = ["长期照护险", "资金发放率", "long-term care insurance", "2101301", "群众满意度"]
SEED_002 = SAMPLES / "002_20041eb3cb8715ee.txt"  # 大城县医疗保障局 2021

pytestmark = pytest.mark.server


class ServeCommand(LiveServer):
    """``budgetkg --home HOME serve`` (the CLI, as a user starts it) instead of bare uvicorn."""

    def start(self, wait_for_index: bool = True, timeout: float = 300.0) -> "ServeCommand":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "--home", str(self.home), "serve", "--port", str(self.port),
             "--log-level", "info"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited with {self.process.returncode}: {self.output()[-3000:]}")
            try:
                if httpx.get(self.url + "/api/health", timeout=2).json()["readiness"]["ready"]:
                    return self
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"serve was not ready in {timeout} s: {self.output()[-3000:]}")


@pytest.fixture(scope="module")
def server():
    home, info = prepared_home()
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet")
    live = ServeCommand(home, workers=2, timeout_s=10,
                        env={"BUDGETKG_REQUEST_TIMEOUT_S": "10", "BUDGETKG_ADMIN_TOKEN": ""}).start()
    yield live
    live.stop()


def health(server) -> dict:
    return httpx.get(server.url + "/api/health", timeout=30).json()


def get(server, path: str, **params) -> httpx.Response:
    """GET with query parameters (``timeout`` among them is the request's own time limit)."""
    return httpx.get(server.url + path, params=params, timeout=120)


class Background(threading.Thread):
    """One request in a thread; ``status``, ``body`` and ``seconds`` once it is done."""

    def __init__(self, server, method: str, path: str, **kwargs):
        super().__init__(daemon=True)
        self.args_ = (method, server.url + path)
        self.kwargs_ = {"timeout": 120, **kwargs}

    def run(self):
        started = time.monotonic()
        response = httpx.request(*self.args_, **self.kwargs_)
        self.seconds = time.monotonic() - started
        self.status, self.body = response.status_code, response.json()


def search_while(server, busy: threading.Thread, minimum: int = 6) -> list[httpx.Response]:
    """Cheap searches (and a similar) from three clients while ``busy`` runs; at least ``minimum``."""
    responses: list = []

    def client(offset: int):
        with httpx.Client(base_url=server.url, timeout=60) as c:
            n = 0
            while busy.is_alive() or n < minimum // 3:
                text = SEARCHES[(offset + n) % len(SEARCHES)]
                path = "/api/similar" if n % 4 == 3 else "/api/search"
                responses.append((busy.is_alive(), c.get(path, params={"q": text, "k": 5})))
                n += 1

    clients = [threading.Thread(target=client, args=(i,)) for i in range(3)]
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    return responses


# ---------------------------------------------------------------- readiness


def test_health_says_what_is_ready_and_serve_logs_it(server):
    h = health(server)
    readiness = h["readiness"]
    assert readiness["ready"] is True and readiness["unavailable"] == []
    assert set(readiness["parts"]) == {"store", "workers", "index", "warm_up"}
    for name, part in readiness["parts"].items():
        assert part["ready"] is True, (name, part)
        assert 0 < part["at_s"] <= readiness["startup_s"]
    assert readiness["parts"]["store"]["at_s"] <= readiness["parts"]["workers"]["at_s"]
    assert readiness["parts"]["index"]["at_s"] <= readiness["parts"]["warm_up"]["at_s"]
    assert h["requests"]["timeout_s"] == 10 and h["requests"]["concurrency"] >= 1
    log = server.output()
    assert "budgetkg ready in" in log and "search index" in log and "warm-up" in log


# ---------------------------------------------------------------- the error shape


@pytest.mark.parametrize("path, q", [("/api/ask", QUESTIONS[0]), ("/api/search", SEARCHES[0]),
                                     ("/api/similar", SEARCHES[4])], ids=["ask", "search", "similar"])
def test_past_the_limit_is_the_sparql_timeout_shape_with_a_hint(server, path, q):
    r = get(server, path, q=q, timeout="0.000001")
    assert r.status_code == 504
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "detail"}
    error = body["error"]
    assert error["code"] == "query_timeout"  # the code /sparql uses for its timeout
    assert set(error["detail"]) == {"limit_s", "request", "stage", "hint"}
    assert error["detail"]["limit_s"] == pytest.approx(1e-6) and error["detail"]["request"] == path.rsplit("/", 1)[1]
    assert "time limit of 1e-06 s" in error["message"] and error["detail"]["hint"] in error["message"]
    sparql = httpx.get(server.url + "/sparql", params={"query": EXPENSIVE, "timeout": "0.5"}, timeout=30).json()
    assert set(sparql["error"]) == set(error) and sparql["error"]["code"] == error["code"]


def test_ask_hint_points_to_narrower_questions_and_sparql(server):
    detail = get(server, "/api/ask", q=QUESTIONS[0], timeout="0.000001").json()["error"]["detail"]
    assert "county" in detail["hint"] and "/sparql" in detail["hint"] and "LIMIT" in detail["hint"]


def test_bad_timeouts_are_refused_and_long_ones_shortened(server):
    for bad in ("abc", "0", "-1", "nan"):
        r = get(server, "/api/search", q=SEARCHES[0], timeout=bad)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request", bad
    r = get(server, "/api/ask", q=QUESTIONS[0], timeout="100000")
    assert r.status_code == 200 and r.json()["answers"]


# ---------------------------------------------------------------- ask's SPARQL in the workers


def test_ask_runs_its_sparql_in_the_query_workers_with_the_same_answer(server):
    """The HTTP answer (SPARQL in a worker process, parsed back from SPARQL JSON) is the answer
    ``search.qa.ask`` gives in-process on the same data."""
    from search.index import SearchIndex
    from search.qa import ask

    home, _ = prepared_home()
    store = memory_copy()
    index = SearchIndex.open(store, home / "index", "use-multilingual", 1, refresh=False)
    before = health(server)
    with_sparql = 0
    for question in QUESTIONS:
        r = get(server, "/api/ask", q=question)
        assert r.status_code == 200, r.text
        expected = ask(question, store, index)
        answer = r.json()
        assert answer.pop("permalink").endswith("/?q=" + quote_plus(question)), question  # the HTTP API adds it
        assert answer == expected, question
        with_sparql += expected["sparql"] is not None
    assert with_sparql >= 4
    after = health(server)
    assert after["requests"]["sparql"] - before["requests"]["sparql"] == with_sparql
    assert after["sparql"]["workers"]["queries"] - before["sparql"]["workers"]["queries"] == with_sparql


# ---------------------------------------------------------------- no request holds up another


def test_an_ask_whose_sparql_cannot_run_in_time_leaves_searches_answering(server):
    """Both query workers are busy with heavy /sparql queries: an ask waits for one only until its
    own 2 s limit, then gets the timeout error; searches meanwhile answer normally."""
    heavy = [Background(server, "GET", "/sparql", params={"query": EXPENSIVE, "timeout": "6"}) for _ in range(2)]
    for t in heavy:
        t.start()
    time.sleep(0.5)  # both workers hold a heavy query now
    slow_ask = Background(server, "GET", "/api/ask", params={"q": QUESTIONS[0], "timeout": "2"})
    slow_ask.start()
    responses = search_while(server, slow_ask)
    slow_ask.join()
    for t in heavy:
        t.join()
    assert slow_ask.status == 504 and slow_ask.body["error"]["code"] == "query_timeout"
    assert "SPARQL" in slow_ask.body["error"]["detail"]["stage"]
    assert 1.9 < slow_ask.seconds < 2 + 2.0  # the limit plus slack for a loaded machine
    assert all(t.status == 504 for t in heavy)
    during = [r for alive, r in responses if alive]
    assert len(during) >= 3, "searches should have answered while the ask was waiting"
    assert all(r.status_code == 200 and r.json()["hits"] for _, r in responses), \
        [r.text[:200] for _, r in responses if r.status_code != 200]


def test_a_heavy_sparql_query_leaves_questions_and_searches_answering(server):
    heavy = Background(server, "GET", "/sparql", params={"query": EXPENSIVE, "timeout": "3"})
    heavy.start()
    time.sleep(0.3)
    asks = []
    while heavy.is_alive() and len(asks) < 6:  # the second worker serves the questions
        asks.append(get(server, "/api/ask", q=QUESTIONS[len(asks) % 3]))
    responses = search_while(server, heavy)
    heavy.join()
    assert heavy.status == 504 and heavy.body["error"]["code"] == "query_timeout"
    assert 2.9 < heavy.seconds < 3 + 3.0
    assert asks and all(r.status_code == 200 and r.json()["answers"] for r in asks), [r.text[:200] for r in asks]
    assert all(r.status_code == 200 for _, r in responses)
    assert any(alive for alive, _ in responses)


def test_a_burst_of_requests_queues_and_every_one_answers(server):
    before = health(server)["requests"]["requests"]
    results: list = []

    def one(i: int):
        path = ("/api/search", "/api/similar", "/api/ask")[i % 3]
        q = QUESTIONS[i % 3] if path == "/api/ask" else SEARCHES[i % len(SEARCHES)]
        results.append(get(server, path, q=q, k=5) if path != "/api/ask" else get(server, path, q=q))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 24 and all(r.status_code == 200 for r in results), \
        [r.text[:200] for r in results if r.status_code != 200]
    h = health(server)["requests"]
    assert h["requests"] - before >= 24 and h["running"] == 0 and h["waiting"] == 0


# ---------------------------------------------------------------- a refresh does not stop searches


@pytest.fixture(scope="module")
def upload_server(tmp_path_factory):
    """A server on its own on-disk copy of the prepared data, without 大城县 2021, uploads enabled."""
    from collections import defaultdict

    import pyoxigraph as ox
    from rdflib import Graph

    from search.store import open_store

    home, info = prepared_home()
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet")
    own = tmp_path_factory.mktemp("limits-upload-home")
    shutil.copytree(home / "index", own / "index")  # start from a built index, not from scratch
    groups: dict[str, list] = defaultdict(list)
    for quad in ox.parse(path=str(home / "dump.nq"), format=ox.RdfFormat.N_QUADS):
        if not quad.graph_name.value.endswith("/2021-budget-c00978f14ddf"):
            groups[quad.graph_name.value].append(ox.Triple(quad.subject, quad.predicate, quad.object))
    store = open_store("oxigraph", path=own / "store")
    store.replace_graphs({name: Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
                          for name, triples in groups.items()})
    store.close()
    del store
    gc.collect()  # RocksDB releases its lock when the store object goes
    live = LiveServer(own, workers=2, timeout_s=10, env={"BUDGETKG_ADMIN_TOKEN": ADMIN_TOKEN}).start(
        wait_for_index=True)
    yield live
    live.stop()


def test_searches_keep_answering_while_an_upload_refreshes_the_index(upload_server):
    server = upload_server
    before = get(server, "/api/search", q="大城县 门诊特殊疾病鉴定", k=10).json()["hits"]
    assert not any(h["county"] == "大城县" for h in before)
    upload = Background(server, "POST", "/api/disclosures",
                        files={"file": (SEED_002.name, SEED_002.read_bytes(), "application/octet-stream")},
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=600)
    upload.start()
    responses = search_while(server, upload)
    upload.join()
    assert upload.status == 201, upload.body
    bad = [(r.status_code, r.text[:300]) for _, r in responses if not (r.status_code == 200 and r.json()["hits"])]
    assert not bad, bad
    assert sum(1 for alive, _ in responses if alive) >= 3
    after = get(server, "/api/search", q="大城县 门诊特殊疾病鉴定", k=10).json()["hits"]
    assert any(h["county"] == "大城县" for h in after)  # the refreshed index was swapped in
    answer = get(server, "/api/ask", q="大城县的项目有哪些").json()
    assert answer["answers"] and {a["county"] for a in answer["answers"]} == {"大城县"}


def test_no_request_thread_is_left_behind(server):
    """Timed-out requests finish their bounded work and free their slots."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        h = health(server)["requests"]
        if h["running"] == 0 and h["waiting"] == 0:
            break
        time.sleep(0.2)
    assert h["running"] == 0 and h["waiting"] == 0, h
    assert h["timeouts"] >= 3
