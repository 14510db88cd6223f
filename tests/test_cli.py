"""The CLI end to end on the real samples, as a user runs it: ingest (idempotent, batch past bad
files), sparql (table/json/csv, @file), export, check, info. Each test uses its own store."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Dataset, Graph

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "ingest" / "samples"
SEEDS = sorted(SAMPLES.glob("*.txt"))


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "api.cli", "--home", str(home), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def info(home: Path) -> dict[str, int]:
    out = run(home, "info").stdout
    return {line[:22].strip(): int(line[22:].strip()) for line in out.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("home")
    run(home, "ingest", "--samples", "--no-index")
    return home


def test_ingest_samples_stores_every_disclosure(home):
    numbers = info(home)
    assert numbers["disclosures"] == 5
    assert numbers["departments"] == 4
    assert numbers["projects"] >= 40 and numbers["indicators"] >= 300 and numbers["budget lines"] >= 100


def test_reingest_is_idempotent(home):
    before = info(home)
    proc = run(home, "ingest", str(SEEDS[0]), "--no-index")
    assert "1 disclosures stored, 0 failed" in proc.stdout
    assert info(home) == before


def test_batch_continues_past_bad_files_and_keeps_what_was_stored(home, tmp_path):
    before = info(home)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (bad / "notes.txt").write_text("会议纪要：下周二开会讨论绿化工作。\n" * 20, encoding="utf-8")
    (bad / "fake.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    gbk = bad / "gbk_copy.txt"  # GBK text is decoded, not rejected: it is the same disclosure as seed 002
    gbk.write_bytes(SEEDS[2].read_text(encoding="utf-8").encode("gb18030"))
    proc = run(home, "ingest", str(bad), "--no-index", check=False)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 4, proc.stderr
    for name, reason in [("empty.txt", "empty"), ("binary.txt", "binary"), ("notes.txt", "not"),
                         ("fake.docx", ".doc")]:
        assert any(name in e and reason in e for e in errors), (name, errors)
    assert "1 disclosures stored, 4 failed" in proc.stdout
    assert info(home) == before  # the GBK copy replaced seed 002's graph with identical facts


def test_sparql_formats(home, tmp_path):
    query = ("PREFIX bkg: <https://w3id.org/budgetkg/ontology#> "
             "SELECT ?year (COUNT(?d) AS ?n) WHERE { ?d a bkg:Disclosure ; bkg:fiscalYear ?year } GROUP BY ?year ORDER BY ?year")
    data = json.loads(run(home, "sparql", query, "--format", "json").stdout)
    years = {b["year"]["value"]: int(b["n"]["value"]) for b in data["results"]["bindings"]}
    assert years == {"2021": 1, "2023": 3, "2024": 1}
    assert data["head"]["vars"] == ["year", "n"]
    csv_out = run(home, "sparql", query, "--format", "csv").stdout.splitlines()
    assert csv_out[0] == "year,n" and len(csv_out) == 4
    rq = tmp_path / "q.rq"
    rq.write_text(query, encoding="utf-8")
    assert "(3 rows)" in run(home, "sparql", f"@{rq}").stdout


def test_example_queries_answer_on_the_samples(home):
    for rq in sorted((ROOT / "examples" / "queries").glob("*.rq")):
        rows = json.loads(run(home, "sparql", f"@{rq}", "--format", "json").stdout)["results"]["bindings"]
        assert rows, f"{rq.name} returned no rows"


def test_bad_query_is_one_clear_line(home):
    proc = run(home, "sparql", "SELECT WHERE {", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error:") and "Traceback" not in proc.stderr


def test_export_formats(home, tmp_path):
    out = tmp_path / "all.trig"
    run(home, "export", "--format", "trig", "-o", str(out))
    ds = Dataset()
    ds.parse(out, format="trig")
    graphs = {str(g.identifier) for g in ds.graphs() if len(g)}
    assert sum("/graph/disclosure/" in g for g in graphs) == 5
    assert not any("/graph/private/" in g for g in graphs)
    nt = run(home, "export", "--format", "nt").stdout
    assert len(Graph().parse(data=nt, format="nt")) > 1000


def test_check_validates_and_lists_findings(home):
    proc = run(home, "check", check=False)
    assert "SHACL: conforms" in proc.stdout, proc.stdout[-3000:]
    assert proc.returncode == 0
    assert "truncated" in proc.stdout  # seed 004 is cut mid-table


def test_no_store_yet_is_a_clear_error(tmp_path):
    proc = run(tmp_path / "nothing", "info", check=False)
    assert proc.returncode == 1 and "budgetkg ingest" in proc.stderr and "Traceback" not in proc.stderr


def test_a_code_keeps_one_preferred_label(home, tmp_path):
    """A later document printing another name for a code adds an altLabel, not a second prefLabel."""
    variant = tmp_path / "variant.txt"
    text = SEEDS[0].read_text(encoding="utf-8").replace("2101202 财政对城乡居民基本医疗保险基金的补助",
                                                        "2101202 城乡居民医保基金补助")
    variant.write_text(text.replace("乐亭县医疗保障局", "某某县医疗保障局"), encoding="utf-8")
    run(home, "ingest", str(variant), "--no-index")
    query = ("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> SELECT ?p ?l WHERE { "
             "?c skos:notation '2101202' ; ?p ?l . FILTER(?p IN (skos:prefLabel, skos:altLabel)) }")
    rows = json.loads(run(home, "sparql", query, "--format", "json").stdout)["results"]["bindings"]
    labels = {(r["p"]["value"].rsplit("#", 1)[-1], r["l"]["value"]) for r in rows}
    assert labels == {("prefLabel", "财政对城乡居民基本医疗保险基金的补助"), ("altLabel", "城乡居民医保基金补助")}
