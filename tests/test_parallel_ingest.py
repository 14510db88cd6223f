"""Several ``budgetkg ingest`` processes writing to one SPARQL server at once lose nothing and
duplicate nothing: the server ends up holding exactly the quads a single sequential ingest of the
same files leaves, on Virtuoso and on the Oxigraph server.

The corpus mixes formats and makes the processes overlap: three samples as text, the PDF rendering
of seed 000 and the DOCX rendering of seed 003 (tests/data/fixtures), and copies of them with the
county renamed (new disclosures that name the same 文号, classification codes, provinces and
prefectures as the originals, so the shared graph gets the same resources from several processes).
Two of the copies print classification code 2101202 under other names than the seed does, one
shorter and one longer: which name becomes the skos:prefLabel must not depend on which process
wrote first. Every file goes to two of the four processes, so each disclosure is also written twice
at the same time. Skolemised blank nodes make the N-Quads comparable line by line.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.http_support import free_port
from tests.virtuoso_support import require_virtuoso

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "ingest" / "samples"
FIXTURES = ROOT / "tests" / "data" / "fixtures"
OXIGRAPH = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
FULL_NAME = "财政对城乡居民基本医疗保险基金的补助"
SHORT_NAME = "城乡居民医保基金补助"
LONG_NAME = "财政对城乡居民基本医疗保险基金的补助支出"
SKOS = "http://www.w3.org/2004/02/skos/core#"

pytestmark = pytest.mark.server


def _renamed_text(source: Path, target: Path, county: str, new_county: str, *edits: tuple[str, str]) -> Path:
    text = source.read_text(encoding="utf-8").replace(county, new_county)
    for old, new in edits:
        assert old in text, (source, old)
        text = text.replace(old, new)
    target.write_text(text, encoding="utf-8")
    return target


def _renamed_docx(source: Path, target: Path, county: str, new_county: str) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.decode("utf-8").replace(county, new_county).encode("utf-8")
            zout.writestr(item, data)
    return target


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("parallel-corpus")
    files = [shutil.copy(SAMPLES / name, folder / name) for name in
             ("001_410140da784744fc.txt", "002_20041eb3cb8715ee.txt", "004_2a810ef67890c9d0.txt")]
    files = [Path(f) for f in files]
    files.append(Path(shutil.copy(FIXTURES / "000_hebei_budget.pdf", folder / "000_hebei_budget.pdf")))
    files.append(Path(shutil.copy(FIXTURES / "003_shanxi_budget.docx", folder / "003_shanxi_budget.docx")))
    seed0 = SAMPLES / "000_bd07622c98d0036c.txt"
    files.append(_renamed_text(seed0, folder / "000_jia.txt", "乐亭县", "甲县",
                               (f"2101202 {FULL_NAME}", f"2101202 {SHORT_NAME}")))
    files.append(_renamed_text(seed0, folder / "000_wu.txt", "乐亭县", "戊县",
                               (f"2101202 {FULL_NAME}", f"2101202 {LONG_NAME}")))
    files.append(_renamed_text(SAMPLES / "001_410140da784744fc.txt", folder / "001_yi.txt", "霸州市", "乙市"))
    files.append(_renamed_text(SAMPLES / "002_20041eb3cb8715ee.txt", folder / "002_ding.txt", "大城县", "丁县"))
    files.append(_renamed_docx(FIXTURES / "003_shanxi_budget.docx", folder / "003_bing.docx", "兴县", "丙县"))
    return files


def _ingest(files: list[Path], home: Path, urls: tuple[str, str]) -> subprocess.Popen:
    env = {**os.environ, "BUDGETKG_HOME": str(home), "BUDGETKG_STORE": "sparql", "PYTHONPATH": str(ROOT),
           "BUDGETKG_SPARQL_QUERY_URL": urls[0], "BUDGETKG_SPARQL_UPDATE_URL": urls[1]}
    return subprocess.Popen([sys.executable, "-m", "api.cli", "ingest", "--no-index", *map(str, files)], cwd=ROOT,
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _finish(process: subprocess.Popen) -> str:
    out, _ = process.communicate(timeout=900)
    assert process.returncode == 0, out[-3000:]
    return out


def _canonical_nquads(urls: tuple[str, str]) -> list[str]:
    from search.store import open_store

    store = open_store("sparql", query_url=urls[0], update_url=urls[1])
    try:
        data = store.export("nq").decode("utf-8")
    finally:
        store.close()
    return sorted(line for line in data.splitlines() if line.strip())


def _run_both_ways(corpus: list[Path], urls: tuple[str, str], clear, tmp_path: Path) -> tuple[list[str], list[str]]:
    # Sequential: the longer name for 2101202 comes after the seed's and the shorter one, so the
    # stored preferred label has to be demoted once; in parallel the order is whatever it is.
    ordered = sorted(corpus, key=lambda p: (p.name == "000_wu.txt", p.name))
    clear()
    _finish(_ingest(ordered, tmp_path / "sequential", urls))
    sequential = _canonical_nquads(urls)
    clear()
    n = len(corpus)
    subsets = [[corpus[(i + j) % n] for j in range(0, n, 2)] + [corpus[(i + 1 + 2 * k) % n] for k in range(2)]
               for i in range(4)]
    covered = {p for subset in subsets for p in subset}
    assert covered == set(corpus)
    processes = [_ingest(subset, tmp_path / f"worker{i}", urls) for i, subset in enumerate(subsets)]
    for process in processes:
        _finish(process)
    return sequential, _canonical_nquads(urls)


def _check(sequential: list[str], parallel: list[str]) -> None:
    import pyoxigraph as ox

    only_seq, only_par = sorted(set(sequential) - set(parallel)), sorted(set(parallel) - set(sequential))
    assert not only_seq and not only_par, (f"{len(only_seq)} quads only after the sequential ingest, e.g. "
                                           f"{only_seq[:3]}; {len(only_par)} only after the parallel one, e.g. "
                                           f"{only_par[:3]}")
    quads = list(ox.parse("\n".join(parallel).encode("utf-8"), format=ox.RdfFormat.N_QUADS))
    assert len(quads) == len(set(parallel))
    assert not any(isinstance(t, ox.BlankNode) for q in quads for t in (q.subject, q.object))  # skolemised
    graphs = {q.graph_name.value for q in quads}
    assert len({g for g in graphs if "/graph/disclosure/" in g}) == 10, sorted(graphs)
    assert not any("/graph/private/" in g for g in graphs)
    labels = sorted((q.predicate.value[len(SKOS):], q.object.value) for q in quads
                    if q.subject.value.endswith("/concept/function/2101202")
                    and q.predicate.value in (SKOS + "prefLabel", SKOS + "altLabel"))
    assert labels == sorted([("prefLabel", LONG_NAME), ("altLabel", FULL_NAME), ("altLabel", SHORT_NAME)])


def test_four_ingest_processes_on_virtuoso_equal_a_sequential_ingest(corpus, tmp_path):
    server = require_virtuoso()
    urls = (server.sparql_url, server.sparql_url)
    started = time.monotonic()
    sequential, parallel = _run_both_ways(corpus, urls, server.clear, tmp_path)
    print(f"virtuoso: {len(parallel)} quads, both ingests in {time.monotonic() - started:.0f} s")
    _check(sequential, parallel)


@pytest.fixture(scope="module")
def oxigraph_server(tmp_path_factory):
    if not Path(OXIGRAPH).exists():
        pytest.skip("the oxigraph server binary (pip package 'oxigraph') is not installed")
    port = free_port()
    location = tmp_path_factory.mktemp("oxigraph-parallel")
    process = subprocess.Popen([OXIGRAPH, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}",
                                "--union-default-graph"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.post(base + "/query", data={"query": "ASK {}"}, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(20)


def test_four_ingest_processes_on_oxigraph_server_equal_a_sequential_ingest(corpus, oxigraph_server, tmp_path):
    urls = (oxigraph_server + "/query", oxigraph_server + "/update")

    def clear():
        httpx.post(urls[1], data={"update": "DROP SILENT ALL"}, timeout=120).raise_for_status()

    sequential, parallel = _run_both_ways(corpus, urls, clear, tmp_path)
    _check(sequential, parallel)
