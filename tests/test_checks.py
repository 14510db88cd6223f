"""Accounting checks on hand-built disclosures: each rule fires on a real inconsistency, treats
0.01 万元 as rounding, and stays silent on consistent figures."""
from decimal import Decimal as D

from ingest.checks import run_checks
from ingest.model import (BudgetLine, ClassificationKind, Disclosure, FigureSource, Measure, Project, Severity, Span,
                          StatedFigure, TableKind)


def _line(code, amount, basic=None, project=None, table=TableKind.EXPENDITURE, line=1):
    return BudgetLine(table, ClassificationKind.FUNCTION, code, f"科目{code}", D(amount),
                      D(basic) if basic else None, D(project) if project else None, span=Span(line, line))


def _d(**kw):
    d = Disclosure(source_name="x.txt", sha256="0" * 64, layout="test")
    for k, v in kw.items():
        setattr(d, k, v)
    return d


def _checks(d, severity=Severity.ERROR):
    return sorted(f.check for f in d.findings if f.severity == severity)


def test_consistent_tables_give_no_findings():
    d = _d(budget_lines=[_line("208", "58.67", "53.67", "5.00"), _line("20805", "53.67", "53.67"),
                         _line("2080501", "10.31", "10.31"), _line("2080505", "43.36", "43.36"),
                         _line("20899", "5.00", None, "5.00"), _line("2089999", "5.00", None, "5.00")])
    run_checks(d)
    assert d.findings == []


def test_children_not_summing_is_an_error_with_lines():
    d = _d(budget_lines=[_line("21015", "544.88", line=17), _line("2101501", "529.88", line=18),
                         _line("2101599", "5.00", line=19)])
    run_checks(d)
    [finding] = d.findings
    assert finding.check == "children-sum" and finding.severity == Severity.ERROR
    assert (finding.expected, finding.found) == (D("544.88"), D("534.88"))
    assert [s.line_start for s in finding.spans] == [17, 18, 19]


def test_one_cent_is_rounding():
    d = _d(budget_lines=[_line("210", "4807.42", "3952.98", "854.45")])
    run_checks(d)
    assert _checks(d) == [] and _checks(d, Severity.INFO) == ["basic-plus-project"]


def test_revenue_balance_and_narrative_vs_table():
    fig = lambda m, v, s=FigureSource.TABLE: StatedFigure(m, D(v), s, Span(1, 1))  # noqa: E731
    d = _d(figures=[fig(Measure.CURRENT_YEAR_REVENUE, "9615.74"), fig(Measure.CARRYOVER, "121.00"),
                    fig(Measure.TOTAL_REVENUE, "9736.74"), fig(Measure.TOTAL_EXPENDITURE, "9736.74"),
                    fig(Measure.TOTAL_EXPENDITURE, "9763.74", FigureSource.NARRATIVE)])
    run_checks(d)
    assert _checks(d) == ["narrative-vs-table"]


def test_project_list_must_add_up():
    d = _d(figures=[StatedFigure(Measure.PROJECT_EXPENDITURE, D("7294.00"), FigureSource.NARRATIVE)],
           projects=[Project("A", amount=D("50.00"), sources=["narrative"]),
                     Project("B", amount=D("7200.00"), sources=["narrative"])])
    run_checks(d)
    assert _checks(d) == ["projects-sum"]


def test_printed_formula_is_recomputed():
    d = _d(projects=[Project("城乡居民基本医疗保险县级财政配套资金", sources=["form"],
                             extra={"项目概况": "按参保人员每人每年配套35.2元(640元*10%*65%=35.2元),预算有215000人参保"})])
    run_checks(d)
    [finding] = [f for f in d.findings if f.check == "printed-arithmetic"]
    assert finding.expected == D("41.6") and finding.found == D("35.2")


def test_correct_formula_is_silent():
    d = _d(projects=[Project("x", sources=["form"], extra={"概况": "280元*30%=84元"})])
    run_checks(d)
    assert d.findings == []


# ------------------------------------------------------------------ on the real samples

import pytest  # noqa: E402

from ingest.pipeline import parse_path  # noqa: E402
from pathlib import Path  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "ingest" / "samples"


@pytest.fixture(scope="module")
def seeds():
    return {p.name[:3]: parse_path(p) for p in sorted(SAMPLES.glob("*.txt"))}


def test_seed_003_wrong_printed_formula_is_found(seeds):
    [finding] = [f for f in seeds["003"].findings if f.severity == Severity.ERROR]
    assert finding.check == "printed-arithmetic" and finding.found == D("35.2") and finding.expected == D("41.6")
    assert finding.spans and finding.spans[0].line_start > 0


def test_seed_003_one_cent_differences_are_rounding(seeds):
    info = [f for f in seeds["003"].findings if f.severity == Severity.INFO]
    assert len(info) >= 5 and all(abs(f.expected - f.found) <= D("0.01") for f in info)


def test_seed_004_truncation_is_reported_where_it_is_cut(seeds):
    [finding] = [f for f in seeds["004"].findings if f.check == "truncated"]
    assert seeds["004"].truncated and finding.spans[-1].line_end == 517


@pytest.mark.parametrize("seed", ["000", "001", "002"])
def test_seeds_that_add_up_have_no_errors(seeds, seed):
    assert [f.message for f in seeds[seed].findings if f.severity != Severity.INFO] == []
