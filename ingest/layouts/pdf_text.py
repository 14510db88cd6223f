"""Layout family "pdf-text": text extracted from the PDF budget disclosures of the Hebei template.

Two renderings share this code path: flowing text (one table row per line, cells separated by
spaces) and narrow-column text (every cell, code and number broken across lines). The parser cuts
the text into table regions (``pdf_text_regions``) and hands each to its table reader:

* coded tables -> ``BudgetLine``s and 合计 figures (``pdf_text_coded``, ``pdf_text_columns``);
* 收支总表 / 财政拨款收支总表 / "三公" / 固定资产 -> ``StatedFigure``s (``pdf_text_summary``);
* 绩效目标表 -> ``Project``s with indicators (``pdf_text_performance``, ``pdf_text_cells``);
* 部门整体支出绩效指标 -> department indicators (``pdf_text_department``).

Narrative prose (sections, narrative figures, 文号 in sentences) is left to ``ingest.narrative``.
"""
from __future__ import annotations

import re

from ingest.layouts import pdf_text_regions as regions
from ingest.layouts.pdf_text_coded import CODED_KINDS, parse_coded
from ingest.layouts.pdf_text_department import parse_department_table
from ingest.layouts.pdf_text_performance import parse_performance
from ingest.layouts.pdf_text_summary import SUMMARY_KINDS, parse_summary, summary_complete
from ingest.layouts.pdf_text_tokens import body_lines, clean_line, header_block, printed_unit, tokenize
from ingest.model import (BudgetLine, Disclosure, DocumentKind, Finding, Indicator, LegalReference, Severity, Span,
                          StatedFigure, TableKind)
from ingest.normalize import canonical_level1, canonical_level2, to_wan
from ingest.source import SourceText

_HEADER_IDENTITY_RE = re.compile(
    r"(?:^|\s)(?:编制部门[：:]\s*)?(?:(?P<code>\d{3,9})\s+)?(?P<dept>[\u4e00-\u9fff（）()]{3,40}?)\s+"
    r"(?:预算年度[：:]\s*(?P<year>(?:19|20)\d\d)|单位[：:]|截止时间)")
_FINAL_ACCOUNTS_RE = re.compile(r"(?<!预)决算")
_ORG_SUFFIX = ("局", "委", "院", "办", "厅", "中心", "会", "站", "所", "队", "处", "部", "社", "馆", "室", "司", "府")
_SNIFF_SIGNALS = [re.compile(p) for p in (
    r"栏次\s*1\s+2", r"预算年度[：:]", r"单位[：:]\s*万元", r"绩效目标表\s*$", r"一级指标\s+二级指标",
    r"^\d{1,3}\s+[235]\d{2,6}\s+\S", r"部门预算\S*表\s*$")]


class PdfTextParser:
    name = "pdf-text"
    description = ("Text extracted from PDF disclosures (Hebei template): flowing rows or narrow "
                   "columns broken across lines; page headers repeat inside tables")

    def sniff(self, source: SourceText) -> float:
        """High for PDF-extracted text; low for Markdown/TSV (tabs, # headings) and DOCX text
        (tab-indented cells, [bookmark:] lines), which have their own layout families."""
        lines = [ln for ln in source.lines[:4000] if ln.strip()]
        if not lines:
            return 0.0
        tabbed = sum("\t" in ln for ln in lines) / len(lines)
        headings = sum(bool(re.match(r"^#{1,6}\s", ln)) for ln in lines)
        bookmarks = sum("[bookmark:" in ln for ln in lines)
        if tabbed > 0.05 or headings >= 3 or bookmarks:
            return 0.05
        hits = sum(1 for ln in lines if any(p.search(ln.strip()) for p in _SNIFF_SIGNALS))
        if not hits:
            return 0.1 if re.search(r"[\u4e00-\u9fff]", "".join(lines[:200])) else 0.0
        return min(0.95, 0.5 + 0.05 * hits)

    def parse(self, source: SourceText) -> Disclosure:
        """Budget lines, table figures, projects and department indicators of one disclosure."""
        disclosure = Disclosure(source_name=source.name, sha256=source.sha256, layout=self.name,
                                line_count=len(source.lines), page_count=source.page_count)
        found = regions.find_regions(source.lines)
        complete = True
        for region in found:
            try:
                complete = _read_region(region, source, disclosure)
            except Exception as exc:  # one unreadable table must not lose the rest of the document
                complete = False
                disclosure.findings.append(Finding(
                    "table-unreadable", Severity.WARNING, f"{region.title}: could not be read ({exc!r})",
                    spans=[_region_span(region, source)]))
        _identify(found, source, disclosure)
        if found and found[-1].reaches_eof and not complete:
            _mark_truncated(found[-1], source, disclosure)
        return disclosure


def _region_span(region: regions.Region, source: SourceText) -> Span:
    return Span(region.title_start + 1, max(region.end, region.title_start + 1), source.page_of(region.title_start + 1))


def _read_region(region: regions.Region, source: SourceText, disclosure: Disclosure) -> bool:
    """Add what one table states to the disclosure; True when the table looks complete."""
    lines, page_of = source.lines, source.page_of
    if region.kind == regions.PERFORMANCE:
        name, _ = regions.performance_title(lines, region.title_start)
        project = parse_performance(name, region.title_start, region.start, region.end, lines, page_of)
        disclosure.projects.append(project)
        _collect_refs(disclosure, project.legal_refs + [r for i in project.indicators for r in i.legal_refs])
        return _indicators_complete(project.indicators)
    if region.kind == regions.DEPARTMENT_INDICATORS:
        found = parse_department_table(lines, region.start, region.end, page_of)
        disclosure.department_indicators.extend(found)
        _collect_refs(disclosure, [r for i in found for r in i.legal_refs])
        return _indicators_complete(found)
    kind = TableKind(region.kind)
    header = header_block(lines, region.start, region.end)
    tokens = tokenize(body_lines(lines, region.start, region.end, header))
    unit = printed_unit(lines, region.start, region.end)
    if kind in CODED_KINDS:
        result = parse_coded(kind, region.title, tokens, page_of)
        disclosure.budget_lines.extend(_line_in_wan(b, unit) for b in result.lines)
        disclosure.figures.extend(_figure_in_wan(f, unit) for f in result.figures)
        disclosure.findings.extend(result.findings)
        return result.complete
    if kind in SUMMARY_KINDS:
        figures = parse_summary(kind, region.title, tokens, page_of)
        # The assets table states its own unit in the 价值 column header; others in 单位：….
        disclosure.figures.extend(_figure_in_wan(f, unit) for f in figures)
        return summary_complete(kind, tokens, figures)
    body = [t for t in (clean_line(lines[i]) for i in range(region.start, region.end)) if t]
    # Other tables (采购, 机关运行经费 …) end with an amount, a 合计 row or an "空表列示" note.
    last = body[-1].replace(" ", "") if body else ""
    return "空表" in last or last.startswith("合计") or bool(re.search(r"\d\.\d\d", last))


_AMOUNT_FIELDS = ("amount", "basic_amount", "project_amount", "carryover_amount", "personnel_amount", "public_amount")


def _line_in_wan(line: BudgetLine, unit: str | None) -> BudgetLine:
    """The model keeps 万元; a table printed in 元 (or 亿元) is converted."""
    if unit and unit != "万元":
        for name in _AMOUNT_FIELDS:
            value = getattr(line, name)
            if value is not None:
                setattr(line, name, to_wan(value, unit))
    return line


def _figure_in_wan(figure: StatedFigure, unit: str | None) -> StatedFigure:
    if unit and unit != "万元":
        figure.value = to_wan(figure.value, unit)
    return figure


def _collect_refs(disclosure: Disclosure, refs: list[LegalReference]) -> None:
    known = {r.key for r in disclosure.legal_refs}
    for ref in refs:
        if ref.key not in known:
            known.add(ref.key)
            disclosure.legal_refs.append(ref)


# ------------------------------------------------------------------ identity and kind


def _identify(found: list[regions.Region], source: SourceText, disclosure: Disclosure) -> None:
    """Department, budget-unit code and year from the first table header that prints them
    ("460 乐亭县医疗保障局 预算年度：2023 单位：万元"), and 决算 vs 预算 from the titles."""
    for region in found:
        first_lines = (clean_line(source.lines[i]) for i in range(region.start, min(region.end, region.start + 8)))
        m = _HEADER_IDENTITY_RE.search(" ".join(t for t in first_lines if t))
        if not m or not m.group("dept").endswith(_ORG_SUFFIX):
            continue
        disclosure.department = disclosure.department or re.sub(r"本级$", "", m.group("dept"))
        disclosure.department_code = disclosure.department_code or m.group("code")
        if m.group("year") and disclosure.fiscal_year is None:
            disclosure.fiscal_year = int(m.group("year"))
    if any(_FINAL_ACCOUNTS_RE.search(t) for t in _title_lines(found, source)):
        disclosure.kind = DocumentKind.FINAL_ACCOUNTS


def _title_lines(found: list[regions.Region], source: SourceText) -> list[str]:
    """Table titles and the short lines opening the document: where 预算 or 决算 is declared.

    Sentences are left out: they cite 《地方预决算公开操作规程》 in budgets too.
    """
    opening = [t for t in (clean_line(ln) for ln in source.lines[:30]) if t][:6]
    return [r.title for r in found] + [t for t in opening if len(t) <= 40 and "《" not in t and "，" not in t]


# ------------------------------------------------------------------ truncation


def _mark_truncated(region: regions.Region, source: SourceText, disclosure: Disclosure) -> None:
    """The text ends inside an incomplete table: the document was cut. Say where."""
    last = next((i for i in range(len(source.lines) - 1, region.title_start - 1, -1)
                 if clean_line(source.lines[i])), region.title_start)
    text = clean_line(source.lines[last])
    span = Span(region.title_start + 1, last + 1, source.page_of(region.title_start + 1))
    disclosure.truncated = True
    disclosure.findings.append(Finding(
        "truncated", Severity.WARNING,
        f"the text ends inside the table 「{region.title}」 at line {last + 1} ({text[:40]!r}); "
        "the rest of the document is missing", spans=[span], subject=region.title))


def _indicators_complete(found: list[Indicator]) -> bool:
    """Indicator tables close with a satisfaction row holding a value and a 依据. A row cut in the
    middle leaves an unclosed 《title》, or text that only looks like value + 依据: then the
    value is not a quantity and the 依据 is one no other row of the table uses."""
    if not found:
        return False
    last = found[-1]
    satisfied = canonical_level1(last.level1) == "satisfaction" or \
        canonical_level2(last.level2) == "beneficiary-satisfaction"
    basis = last.basis or ""
    if not (satisfied and last.target_value and basis) or basis.count("《") != basis.count("》"):
        return False
    return last.number is not None or any(i.basis == basis for i in found[:-1])


PARSER = PdfTextParser()
