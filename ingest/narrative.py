"""The prose layer that runs after any layout parser: it reads the same ``SourceText`` again,
layout-independently, and adds to the ``Disclosure`` what the tables do not hold.

``enrich_narrative`` adds
  * passages: the narrative sections (部门职责, 机构设置, 收支说明, 绩效目标, 工作保障措施, 三公,
    机关运行经费, 政府采购, 国有资产, 名词解释 …) as rejoined text for search, table rows left out;
  * narrative figures (收入/支出预算, 基本支出, 项目支出, 人员/公用经费, 上年结转, 三公经费 …);
  * the projects the narrative lists after 项目支出, with amounts where printed;
  * every citation (文号 and 《title》) anywhere, prose or table;
  * contacts (负责人, 经办人 … with phone numbers), masked out of every passage.

Each step lives in its own module (``ingest.paragraphs``, ``ingest.sections``,
``ingest.narrative_figures``, ``ingest.citations``, ``ingest.personal``); this one wires them.
"""
from __future__ import annotations

from ingest.citations import find_citations, merge_citations
from ingest.identity import find_fiscal_year
from ingest.model import Disclosure, Finding, Passage, SectionKind, Severity, Span
from ingest.narrative_figures import find_figures, find_projects
from ingest.paragraphs import Block, read_blocks
from ingest.personal import find_contacts, mask_personal
from ingest.sections import Section, split_sections
from ingest.source import SourceText


def enrich_narrative(disclosure: Disclosure, source: SourceText) -> None:
    """Append passages, narrative figures and projects, citations and contacts to ``disclosure``.

    Never raises on odd text: a step that fails is recorded as a warning finding and the others
    still run.
    """
    page_of = source.page_of
    blocks: list[Block] = _step(disclosure, "read prose", lambda: read_blocks(source), [])
    sections: list[Section] = _step(disclosure, "split sections", lambda: split_sections(blocks), [])
    contacts = _step(disclosure, "find contacts", lambda: find_contacts(source), [])
    _add_contacts(disclosure, contacts)
    _step(disclosure, "passages", lambda: disclosure.passages.extend(
        _passages(sections, disclosure.contacts, page_of)), None)

    year = disclosure.fiscal_year
    if year is None:
        year = _step(disclosure, "fiscal year", lambda: find_fiscal_year(source.text), None)
    narrative = [b for s in sections if s.kind != SectionKind.GLOSSARY for b in s.prose]
    figures = _step(disclosure, "narrative figures", lambda: find_figures(narrative, year, page_of), [])
    for match in figures:
        match.figure.quote = mask_personal(match.figure.quote, disclosure.contacts)
        disclosure.figures.append(match.figure)
    _step(disclosure, "narrative projects", lambda: disclosure.projects.extend(
        find_projects(figures, narrative, page_of)), None)

    def citations() -> None:
        found = find_citations(blocks, page_of)
        disclosure.legal_refs.extend(merge_citations(disclosure.legal_refs, found))
    _step(disclosure, "citations", citations, None)


def _add_contacts(disclosure: Disclosure, contacts) -> None:
    """Add contacts, completing (not repeating) a person a layout parser already recorded."""
    for contact in contacts:
        same = next((c for c in disclosure.contacts if (c.role, c.name) == (contact.role, contact.name)
                     and (c.phone is None or contact.phone is None or c.phone == contact.phone)), None)
        if same is None:
            disclosure.contacts.append(contact)
            continue
        same.phone = same.phone or contact.phone
        same.span = same.span or contact.span


def _passages(sections: list[Section], contacts, page_of) -> list[Passage]:
    passages = []
    for section in sections:
        first, last = section.first_line, section.last_line
        text = mask_personal(section.text, contacts)
        passages.append(Passage(kind=section.kind, title=mask_personal(section.title, contacts), text=text,
                                span=Span(first, last, page_of(first))))
    return passages


def _step(disclosure: Disclosure, name: str, run, default):
    try:
        return run()
    except Exception as exc:  # one odd construct must not cost the rest of the document
        disclosure.findings.append(Finding(check="narrative", severity=Severity.WARNING,
                                           message=f"{name} skipped: {type(exc).__name__}: {exc}"))
        return default
