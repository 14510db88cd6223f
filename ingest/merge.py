"""Merge the mentions of one project found in different places of a disclosure.

A project is typically named three times, a little differently each time: in the narrative list
of project spending (长期照护险 1414.00万元), in the project table (with its amount) and in the
title of its 绩效目标表 or 申报表 (with goal and indicators). Pairs from different sources are
scored by name similarity (character bigrams, containment) plus agreement of amounts, and merged
greedily best-first, one-to-one per source. The other names become aliases (skos:altLabel).
Two projects from the same source are never merged: a document may list near-identical projects.
"""
from __future__ import annotations

import re
from decimal import Decimal

from ingest.model import Disclosure, Finding, Project, Severity
from ingest.normalize import find_numbers

# Which source's name and amount win when mentions merge (earlier wins).
SOURCE_PRIORITY = ["project-table", "form", "performance-table", "narrative", "narrative-mention"]
MERGE_THRESHOLD = 0.6
AMOUNT_TOLERANCE = Decimal("0.01")

_NOISE_RE = re.compile(
    r"^\s*[0-9０-９]+\s*[、.．,，)）]\s*|绩效目标表$|绩效目标$|项目$|[\s\-—–_·:：,，、()（）【】\[\]〔〕《》“”\"']"
)
_DOC_NO_RE = re.compile(r"[\u4e00-\u9fff]{0,6}[〔\[【(（]\s*(19|20)\d\d\s*[〕\]】)）]\s*\d+\s*号")


def normalize_name(name: str) -> str:
    """Name reduced for comparison: no numbering, 文号, punctuation, spaces or 'N年'."""
    text = _DOC_NO_RE.sub("", name)
    text = re.sub(r"(19|20)\d\d\s*年(度)?", "", text)
    previous = None
    while previous != text:
        previous = text
        text = _NOISE_RE.sub("", text)
    return text


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)} or {text}


def name_similarity(a: str, b: str) -> float:
    """Dice coefficient of character bigrams, 1.0 for equality, 0.9 when one contains the other."""
    na, nb = normalize_name(a), normalize_name(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    shorter, longer = sorted((na, nb), key=len)
    if len(shorter) >= 4 and shorter in longer:
        return 0.9
    ba, bb = _bigrams(na), _bigrams(nb)
    return 2 * len(ba & bb) / (len(ba) + len(bb))


def _amount_agreement(a: Project, b: Project) -> float:
    """Bonus when the amounts agree, or when one side's amount is printed in the other's goal."""
    if a.amount is not None and b.amount is not None:
        return 0.3 if abs(a.amount - b.amount) <= AMOUNT_TOLERANCE else -0.2
    for with_amount, other in ((a, b), (b, a)):
        if with_amount.amount is not None and other.goal:
            if any(abs(n - with_amount.amount) <= AMOUNT_TOLERANCE for n in find_numbers(other.goal)):
                return 0.3
    return 0.0


def _source(project: Project) -> str:
    return project.sources[0] if project.sources else "narrative"


def _rank(source: str) -> int:
    return SOURCE_PRIORITY.index(source) if source in SOURCE_PRIORITY else len(SOURCE_PRIORITY)


def merge_projects(disclosure: Disclosure) -> None:
    """Merge project mentions in place; unmatched bare mentions (no amount, no table) are dropped."""
    mentions = sorted(disclosure.projects, key=lambda p: _rank(_source(p)))
    merged: list[Project] = []
    for source in dict.fromkeys(_source(p) for p in mentions):
        group = [p for p in mentions if _source(p) == source]
        pairs = []
        for gi, candidate in enumerate(group):
            for mi, existing in enumerate(merged):
                if source in existing.sources:
                    continue  # one-to-one per source
                score = name_similarity(candidate.name, existing.name)
                for alias in existing.aliases:
                    score = max(score, name_similarity(candidate.name, alias))
                score += _amount_agreement(candidate, existing)
                if score >= MERGE_THRESHOLD:
                    pairs.append((score, gi, mi))
        used_g, used_m = set(), set()
        for score, gi, mi in sorted(pairs, key=lambda t: -t[0]):
            if gi in used_g or mi in used_m:
                continue
            used_g.add(gi)
            used_m.add(mi)
            _absorb(merged[mi], group[gi], disclosure)
        for gi, candidate in enumerate(group):
            if gi not in used_g and source != "narrative-mention":
                merged.append(candidate)
    disclosure.projects = merged


def _absorb(target: Project, other: Project, disclosure: Disclosure) -> None:
    """Fold ``other`` (a lower-priority mention) into ``target``."""
    if normalize_name(other.name) != normalize_name(target.name) and other.name not in target.aliases:
        target.aliases.append(other.name)
    for alias in other.aliases:
        if alias not in target.aliases and alias != target.name:
            target.aliases.append(alias)
    if target.amount is None:
        target.amount = other.amount
    elif other.amount is not None and abs(other.amount - target.amount) > AMOUNT_TOLERANCE:
        disclosure.findings.append(Finding(
            check="project-amounts-agree", severity=Severity.ERROR,
            message=f"project '{target.name}' is {target.amount} 万元 in one place and {other.amount} 万元 "
                    f"where it is named '{other.name}'",
            expected=target.amount, found=other.amount, tolerance=AMOUNT_TOLERANCE,
            spans=[s for s in (target.span, other.span) if s], subject=target.name))
    target.code = target.code or other.code
    target.goal = target.goal or other.goal
    if not target.indicators:
        target.indicators = other.indicators
    known = {r.key for r in target.legal_refs}
    target.legal_refs.extend(r for r in other.legal_refs if r.key not in known)
    for key, value in other.extra.items():
        target.extra.setdefault(key, value)
    target.carryover = target.carryover or other.carryover
    target.sources.extend(s for s in other.sources if s not in target.sources)
    if target.span is None:
        target.span = other.span

