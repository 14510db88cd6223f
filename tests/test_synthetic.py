"""The synthetic corpus generator (benchmarks/synthetic.py) on the real parser: a small corpus that
covers every seed template must parse like its templates, under its new names and years, with
scaled amounts that still add up and without the seeds' places or people."""
from __future__ import annotations

import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic import generate, load_templates  # noqa: E402
from ingest.model import Severity  # noqa: E402
from ingest.pipeline import parse_path  # noqa: E402

SAMPLES = sorted((ROOT / "ingest" / "samples").glob("*.txt"))
N = 15  # three documents per template
SEED = 7
# Places and people printed in the seeds (tests/expectations/*.json; 003's officials).
SEED_NAMES = ("乐亭", "霸州", "大城县", "兴县", "唐山", "廊坊", "吕梁", "蔚汾镇", "王宇", "郭瑞林", "13633587231")


@pytest.fixture(scope="module")
def templates():
    return load_templates()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, templates):
    out = tmp_path_factory.mktemp("synthetic")
    manifest = generate(N, out, SEED, templates=templates)
    parsed = {e["file"]: parse_path(out / e["file"]) for e in manifest["documents"]}
    return out, manifest, parsed


@pytest.fixture(scope="module")
def seeds():
    return {p.name: parse_path(p) for p in SAMPLES}


def _counts(d):
    return (len(d.budget_lines), len(d.projects), sum(len(p.indicators) for p in d.projects),
            len(d.department_indicators), len(d.legal_refs))


def _serious(d):
    return Counter((f.check, f.severity) for f in d.findings if f.severity in (Severity.ERROR, Severity.WARNING))


def test_corpus_covers_every_template(corpus):
    _, manifest, _ = corpus
    assert len(manifest["documents"]) == N
    assert Counter(e["template"] for e in manifest["documents"]) == {p.name: N // len(SAMPLES) for p in SAMPLES}


def test_each_file_names_its_new_place_and_year(corpus, seeds):
    _, manifest, parsed = corpus
    for e in manifest["documents"]:
        d, seed = parsed[e["file"]], seeds[e["template"]]
        got = (d.county, d.prefecture, d.province, d.department, d.fiscal_year)
        assert got == (e["county"], e["prefecture"], e["province"], e["department"], e["fiscal_year"]), e["file"]
        assert d.county != seed.county and d.prefecture != seed.prefecture, e["file"]
        assert 2019 <= d.fiscal_year <= 2025
        assert d.kind == seed.kind
        if seed.admin_code:  # 004's project codes carry the county code
            assert d.admin_code == e["admin_code"] != seed.admin_code, e["file"]
    counties = {(e["county"], e["template"], e["fiscal_year"]) for e in manifest["documents"]}
    assert len(counties) == N


def test_each_file_has_its_templates_structure(corpus, seeds):
    _, manifest, parsed = corpus
    for e in manifest["documents"]:
        d, seed = parsed[e["file"]], seeds[e["template"]]
        assert _counts(d) == _counts(seed), e["file"]
        assert [(b.table, b.code, b.name) for b in d.budget_lines] == \
            [(b.table, b.code, b.name) for b in seed.budget_lines], e["file"]
        assert d.truncated == seed.truncated, e["file"]


def test_no_new_errors_or_warnings(corpus, seeds):
    """The accounting checks find nothing the template itself does not have (003's 65% formula,
    004's truncation may come back; 0.01 rounding differences stay information)."""
    _, manifest, parsed = corpus
    for e in manifest["documents"]:
        extra = _serious(parsed[e["file"]]) - _serious(seeds[e["template"]])
        assert not extra, (e["file"], [f.message for f in parsed[e["file"]].findings])


def test_amounts_are_scaled_by_the_documents_factor(corpus, seeds):
    _, manifest, parsed = corpus
    scaled = 0
    for e in manifest["documents"]:
        d, seed = parsed[e["file"]], seeds[e["template"]]
        factor = Decimal(e["amount_factor"])
        assert sorted((f.measure, f.source, f.value) for f in d.figures) == \
            sorted((f.measure, f.source, f.value * factor) for f in seed.figures), e["file"]
        assert [b.amount for b in d.budget_lines] == [b.amount * factor if b.amount is not None else None
                                                      for b in seed.budget_lines], e["file"]
        scaled += factor != 1
    assert scaled >= N // 3  # most templates allow factors 1-5


def test_no_seed_place_or_person_survives(corpus, seeds):
    out, manifest, parsed = corpus
    for e in manifest["documents"]:
        text = (out / e["file"]).read_text(encoding="utf-8")
        assert not [w for w in SEED_NAMES if w in text], e["file"]
        d, seed = parsed[e["file"]], seeds[e["template"]]
        assert len(d.contacts) == len(seed.contacts)
        assert not {c.name for c in d.contacts} & {c.name for c in seed.contacts}


def test_wording_varies(corpus, seeds):
    _, manifest, parsed = corpus
    differ = total = 0
    for e in manifest["documents"]:
        mine = [(i.name, i.target_value) for p in parsed[e["file"]].projects for i in p.indicators]
        theirs = [(i.name, i.target_value) for p in seeds[e["template"]].projects for i in p.indicators]
        differ += sum(a != b for a, b in zip(mine, theirs))
        total += len(mine)
    assert differ / total > 0.6


def test_same_seed_same_files_other_seed_other_files(corpus, tmp_path, templates):
    out, manifest, _ = corpus
    again = generate(5, tmp_path / "again", SEED, templates=templates)
    other = generate(5, tmp_path / "other", SEED + 1, templates=templates)
    for e in again["documents"]:
        assert (tmp_path / "again" / e["file"]).read_bytes() == (out / e["file"]).read_bytes()
    assert again["documents"] == manifest["documents"][:5]
    for e in other["documents"]:
        assert (tmp_path / "other" / e["file"]).read_bytes() != (out / e["file"]).read_bytes()


def test_money_is_scaled_and_counts_shares_dates_and_standards_are_not(templates):
    """Amount detection on the seeds' own text: 万元 table cells and prose, 003's 元 forms and
    numbers broken over lines (001: 9736 / .74) scale; people, percentages, per-person standards,
    thresholds, dates and codes do not."""
    by_id = {t.tid: t for t in templates}
    t000, t001, t003 = by_id["000"], by_id["001"], by_id["003"]
    text = t000.render(t000.params(factor=3))
    assert "本年收入合计 23686.20 本年支出合计 23686.20" in text  # 7895.40 x 3
    assert "公用经费 56.70\n\n万元" in text  # 18.90 x 3, unit on the next line
    assert "为城乡居民发放医疗保险 12525 万元" in text  # 4175 x 3
    for unchanged in ("32.5 万人", "3、单价在 20 万元以上的设备", "2400 人次", "≥98%", "10%的比例", "截止时间：2022-12-31"):
        assert unchanged in text
    text = t001.render(t001.params(factor=2))
    assert "1 合计\n19473\n\n.48" in text  # 9736 / .74 x 2, broken at the same place
    assert "≤36 万 计划标准" in text and "≤14336 万元" in text  # cost bounds follow the amounts
    text = t003.render(t003.params(factor=2))
    assert "实施期资金总额:\t13,340,208" in text and "合计13340208元" in text  # 6,670,104 元 x 2
    for unchanged in ("参保资助每人280元", "640元*10%*65%=35.2元", "79406人", "占82.39%", "人均疫苗费用84元"):
        assert unchanged in text
