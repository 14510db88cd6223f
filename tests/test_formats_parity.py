"""Variants must agree: a seed rendered as PDF or DOCX yields the same facts as the seed's text.

For every format in the registry (``ingest.registry.FORMATS``) other than plain text, and every
fixture ``tests/data/make_fixtures.py`` renders, the fixture and its seed text go through the real
pipeline (``ingest.pipeline.parse_path``) and their facts are compared kind by kind: identity,
coded budget lines with every amount column, projects (name, amount, carry-over, code) and their
other names, indicators (project, 一级, 二级, 三级, value, basis), stated totals, cited documents,
and the accounting checks' findings. A format registered without a fixture fails here until
make_fixtures.py renders one, so a new format is covered the day it is registered.

Names and values are compared without whitespace (a wrapped cell loses the space at its break) and
with ≧≦＝ read as ≥≤=; nothing else is relaxed.
"""
from __future__ import annotations

import re

import pytest

from formats_support import fixture, fixture_stems, parsed, seed_of
from ingest.registry import FORMATS

KINDS = ("identity", "lines", "projects", "project names", "indicators", "figures", "legal refs", "findings")
SHOWN = 12


def norm(text) -> str:
    text = re.sub(r"\s+", "", text or "")
    return text.replace("≧", "≥").replace("≦", "≤").replace("＝", "=")


def facts(disclosure) -> dict[str, set]:
    d = disclosure
    return {
        "identity": {(d.department, d.department_code, d.county, d.prefecture, d.province, d.admin_code,
                      d.fiscal_year, d.kind.value, d.truncated)},
        "lines": {(b.table.value, b.kind.value, b.code or norm(b.name), norm(b.name), b.amount, b.basic_amount,
                   b.project_amount, b.carryover_amount, b.personnel_amount, b.public_amount)
                  for b in d.budget_lines},
        "projects": {(norm(p.name), p.amount, p.carryover, p.code) for p in d.projects},
        "project names": {(norm(p.name), tuple(sorted(norm(a) for a in p.aliases))) for p in d.projects},
        "indicators": {(norm(p.name), norm(i.level1), norm(i.level2), norm(i.name), norm(i.target_value),
                        norm(i.basis)) for p in d.projects for i in p.indicators}
                      | {("(department)", norm(i.level1), norm(i.level2), norm(i.name), norm(i.target_value),
                          norm(i.basis)) for i in d.department_indicators},
        "figures": {(f.measure.value, f.value, f.source.value, f.table) for f in d.figures},
        "legal refs": {norm(r.key) for r in d.legal_refs},
        "findings": {(f.check, f.severity.value, norm(f.subject), f.expected, f.found) for f in d.findings},
    }


def rendered(fmt: str, stem: str):
    reader = FORMATS[fmt]
    paths = [fixture(stem, suffix) for suffix in reader.suffixes if fixture(stem, suffix).exists()]
    if not paths:
        pytest.fail(f"format '{fmt}' is registered but {stem} has no {'/'.join(reader.suffixes)} rendering: "
                    "add one to tests/data/make_fixtures.py", pytrace=False)
    return paths[0]


def cases() -> list:
    return [pytest.param(fmt, stem, kind, id=f"{stem}-{fmt}-{kind}")
            for fmt in sorted(FORMATS) if fmt != "text"
            for stem in fixture_stems()
            for kind in KINDS]


@pytest.mark.parametrize(("fmt", "stem", "kind"), cases())
def test_same_facts_as_the_text_seed(fmt: str, stem: str, kind: str):
    want = facts(parsed(seed_of(stem)))[kind]
    got = facts(parsed(rendered(fmt, stem)))[kind]
    missing, extra = sorted(want - got, key=str), sorted(got - want, key=str)
    assert not missing and not extra, (
        f"{stem} as {fmt}: {kind} differ from the seed text's ({len(want)} there, {len(got)} here)\n"
        f"  only in the text seed: {missing[:SHOWN]}\n  only in the {fmt}: {extra[:SHOWN]}")
