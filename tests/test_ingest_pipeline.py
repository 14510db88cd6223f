"""``budgetkg ingest``'s pipeline on real files and a real on-disk store: parsing in worker
processes, writes in batches, results in input order, progress, and ingesting while a real
``budgetkg serve`` (uvicorn on 127.0.0.1) answers from the published snapshot.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.ingest_run import IngestOptions, run_ingest
from api.progress import Progress
from api.service import ensure_ontology
from search.store import open_store
from tests.http_support import ADMIN_TOKEN, LiveServer, prepared_home

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "ingest" / "samples").glob("*.txt"))
COUNTIES = ("乐亭县", "霸州市", "大城县", "兴县")


def renamed(seed: Path, county: str, out: Path) -> Path:
    """The seed with its county renamed: another department's disclosure, same layout."""
    text = seed.read_text(encoding="utf-8")
    for name in COUNTIES:
        text = text.replace(name, county + name[-1])
    out.write_text(text, encoding="utf-8")
    return out


def bad_files(folder: Path) -> list[Path]:
    folder.mkdir(exist_ok=True)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (folder / "truncated.docx").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    return sorted(folder.iterdir())


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", "--home", str(home), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


def nquads(store_path: Path) -> list[str]:
    """The store's quads, sorted; the ontology graph left out (its blank nodes differ per load)."""
    store = open_store("oxigraph", path=store_path, read_only=True)
    lines = store.export("nq", include_private=True).decode("utf-8").splitlines()
    store.close()
    return sorted(line for line in lines if not line.endswith("<https://w3id.org/budgetkg/graph/ontology> ."))


def test_bad_files_in_the_middle_of_a_batch(tmp_path):
    bad = bad_files(tmp_path / "bad")
    files = [SEEDS[0], bad[0], SEEDS[1], bad[1], bad[2], SEEDS[3]]
    store = open_store("oxigraph", path=tmp_path / "store")
    ensure_ontology(store)
    seen = []
    report = run_ingest(store, files, IngestOptions(batch_docs=2), on_outcome=lambda o: seen.append(o.path))
    assert [o.path for o in report.outcomes] == seen == [str(f) for f in files]  # input order
    assert [o.ok for o in report.outcomes] == [True, False, True, False, False, True]
    for outcome in report.failed:
        assert Path(outcome.path).name in outcome.error and "\n" not in outcome.error
    store.publish()
    store.close()

    alone = open_store("oxigraph", path=tmp_path / "alone")
    ensure_ontology(alone)
    run_ingest(alone, [SEEDS[0], SEEDS[1], SEEDS[3]], IngestOptions(batch_docs=1))
    alone.close()
    assert nquads(tmp_path / "store") == nquads(tmp_path / "alone")  # the bad files left no trace


def test_the_same_disclosure_twice_in_one_batch_is_stored_once(tmp_path):
    store = open_store("oxigraph", path=tmp_path / "store")
    ensure_ontology(store)
    copy = tmp_path / "copy.txt"
    shutil.copy(SEEDS[0], copy)
    report = run_ingest(store, [SEEDS[0], copy, SEEDS[1]], IngestOptions(batch_docs=10))
    assert [o.ok for o in report.outcomes] == [True, True, True]
    assert report.outcomes[0].graph_iri == report.outcomes[1].graph_iri
    store.close()
    once = open_store("oxigraph", path=tmp_path / "once")
    ensure_ontology(once)
    run_ingest(once, [copy, SEEDS[1]])
    once.close()
    assert nquads(tmp_path / "store") == nquads(tmp_path / "once")


def test_one_or_two_workers_give_identical_stores(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(SEEDS):
        shutil.copy(seed, corpus / seed.name)
        renamed(seed, "安丰" if i % 2 else "长乐", corpus / f"renamed_{seed.name}")
    bad = bad_files(tmp_path / "bad")
    runs = {}
    for workers in (1, 2):
        home = tmp_path / f"home{workers}"
        proc = cli(home, "ingest", str(corpus), *map(str, bad), "--no-index", "--workers", str(workers))
        assert proc.returncode == 1, proc.stderr  # the bad files fail, the rest goes in
        runs[workers] = proc
    one, two = runs[1], runs[2]
    oks = lambda p: [line for line in p.stdout.splitlines() if line.startswith("ok")]  # noqa: E731
    assert oks(one) == oks(two) and len(oks(one)) == 2 * len(SEEDS)  # in input order
    errors = lambda p: [line for line in p.stderr.splitlines() if line.startswith("ERROR")]  # noqa: E731
    assert errors(one) == errors(two) and len(errors(one)) == len(bad)
    assert f"{2 * len(SEEDS)} disclosures stored, {len(bad)} failed" in one.stdout
    assert nquads(tmp_path / "home1" / "store") == nquads(tmp_path / "home2" / "store")
    # Not a terminal: plain progress lines on standard error, no bar drawn with escape codes.
    assert "\x1b[" not in two.stderr
    total = 2 * len(SEEDS) + len(bad)
    assert f"ingest: {total}/{total} documents (100%), {len(bad)} failed" in two.stderr
    assert "timing: parse" in two.stderr and "in 2 processes" in two.stderr


def test_plain_progress_lines_every_n_documents():
    out = io.StringIO()
    with Progress(5, stream=out, every_docs=2, every_s=3600) as progress:
        for i in range(5):
            progress.advance(failed=i == 3)
    lines = out.getvalue().splitlines()
    assert [line.split(" documents")[0] for line in lines] == ["ingest: 2/5", "ingest: 4/5", "ingest: 5/5"]
    assert "ETA" in lines[0] and "docs/s" in lines[0] and "1 failed" in lines[-1]


def test_progress_bar_on_a_terminal():
    out = io.StringIO()
    with Progress(3, stream=out, interactive=True) as progress:
        for _ in range(3):
            progress.advance()
    assert out.getvalue().splitlines()[-1].startswith("ingest: 3/3 documents (100%)")


# ---------------------------------------------------------------- while `budgetkg serve` runs


BKG = "https://w3id.org/budgetkg/ontology#"


def has_department(url: str, name: str) -> bool:
    query = (f'ASK {{ ?d <{BKG}publishedBy>/<http://www.w3.org/2000/01/rdf-schema#label> ?l '
             f'FILTER(STR(?l) = "{name}") }}')
    r = httpx.post(url + "/sparql", data={"query": query}, headers={"Accept": "application/sparql-results+json"},
                   timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["boolean"]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    prepared, info = prepared_home()
    if not info["samples"]:
        pytest.skip("the parsers cannot read the samples yet")
    home = tmp_path_factory.mktemp("serving") / "home"
    shutil.copytree(prepared, home, ignore=shutil.ignore_patterns("dump.nq"))
    server = LiveServer(home).start()
    yield server
    server.stop()


@pytest.mark.server
def test_ingest_while_serve_runs(live, tmp_path):
    variant = renamed(SEEDS[0], "安丰", tmp_path / "安丰县医疗保障局2023.txt")
    assert not has_department(live.url, "安丰县医疗保障局")
    before = httpx.get(live.url + "/api/health", timeout=5).json()["sparql"]["workers"]["store_generation"]
    proc = cli(live.home, "ingest", str(variant), "--no-index")
    assert proc.returncode == 0, proc.stderr
    deadline = time.monotonic() + 10
    while not has_department(live.url, "安丰县医疗保障局"):  # the SPARQL workers follow the new generation
        assert time.monotonic() < deadline, "serve did not pick up the ingest within 10 s"
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while "安丰县医疗保障局" not in {d["department"] for d in
                                httpx.get(live.url + "/api/disclosures", timeout=30).json()["disclosures"]}:
        assert time.monotonic() < deadline, "the web process did not follow the new generation within 10 s"
        time.sleep(0.2)
    after = httpx.get(live.url + "/api/health", timeout=5).json()["sparql"]["workers"]["store_generation"]
    assert after != before


@pytest.mark.server
def test_upload_while_serve_runs_is_visible_when_the_call_returns(live, tmp_path):
    variant = renamed(SEEDS[1], "长乐", tmp_path / "长乐市医疗保障局2023.txt")
    r = httpx.post(live.url + "/api/disclosures", files={"file": (variant.name, variant.read_bytes())},
                   headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=300)
    assert r.status_code == 201, r.text
    assert has_department(live.url, "长乐市医疗保障局")
    listed = httpx.get(live.url + "/api/disclosures", timeout=30).json()["disclosures"]
    assert "长乐市医疗保障局" in {d["department"] for d in listed}


@pytest.mark.server
def test_upload_while_an_ingest_holds_the_store_is_refused_clearly(live, tmp_path):
    variant = renamed(SEEDS[3], "福寿", tmp_path / "福寿县医疗保障局2023.txt")
    holder = open_store("oxigraph", path=live.home / "store")  # as a running `budgetkg ingest` would
    try:
        r = httpx.post(live.url + "/api/disclosures", files={"file": (variant.name, variant.read_bytes())},
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=300)
    finally:
        holder.close()
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "store_busy" and "budgetkg ingest" in error["message"]
    assert r.headers.get("retry-after")
    assert not has_department(live.url, "福寿县医疗保障局")


def test_a_remote_store_gets_the_same_graphs(tmp_path):
    """Backends without a bulk loader take the batches through ``replace_graphs``."""
    from tests.test_store import _start_server

    proc, base = _start_server(tmp_path / "oxiserver")
    try:
        remote = open_store("sparql", query_url=base + "/query", update_url=base + "/update")
        ensure_ontology(remote)
        report = run_ingest(remote, [SEEDS[0], SEEDS[3]], IngestOptions(batch_docs=2))
        assert all(o.ok for o in report.outcomes)
        embedded = open_store("oxigraph", path=tmp_path / "store")
        ensure_ontology(embedded)
        run_ingest(embedded, [SEEDS[0], SEEDS[3]], IngestOptions(batch_docs=2))
        count = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER(?g != <https://w3id.org/budgetkg/graph/ontology>) }"
        assert remote.query(count).rows[0]["n"].toPython() == embedded.query(count).rows[0]["n"].toPython() > 4000
        embedded.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
