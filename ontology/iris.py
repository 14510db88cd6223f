"""Minting of instance IRIs under ``https://w3id.org/budgetkg/id/``.

Every function takes plain strings and numbers (nothing of ``ingest``), so the ontology layer stays
at the ground. The scheme, in one place:

==========================  ==========================================================================
resource                    IRI (relative to ``INSTANCE_BASE``)
==========================  ==========================================================================
disclosure                  ``disclosure/{key}``
project                     ``disclosure/{key}/project/{h(name)}`` or ``.../project/{n}``
project detail text         ``disclosure/{key}/project/{h}/detail/{n}``
project indicator           ``disclosure/{key}/project/{h}/indicator/{n}``
department-wide indicator   ``disclosure/{key}/indicator/{n}``
budget line                 ``disclosure/{key}/line/{table}/{code}`` (``-{n}`` for a repeat in a table)
passage, finding, contact   ``disclosure/{key}/passage/{n}``, ``.../finding/{check}-{n}``, ``.../contact/{h}``
department                  ``department/{h(name)}``
administrative area         ``area/{h(province/name)}``
legal document              ``legal/{h(文号 or title)}`` -- global: one resource per 文号 across disclosures
code-list concept           ``concept/function/{code}``, ``concept/economic/{code}``, ``concept/{kind}/n-{h}``
category, kind, table ...   ``concept/indicator/{local}``, ``concept/kind/{v}``, ``concept/table/{v}``,
                            ``concept/severity/{v}``
topic                       ``topic/{slug}``
concept scheme              ``scheme/{name}``
==========================  ==========================================================================

``h`` is the first 12 hex digits of SHA-1 over the UTF-8 text (the same digest as
``ingest.keys.short_hash``): Chinese names become short, stable ASCII segments, while codes and
years stay readable. Resources that only exist inside one disclosure live under its IRI, so
replacing a disclosure's named graph replaces them too; departments, areas, legal documents and
concepts are shared across disclosures and therefore minted from what they are, not where they
were seen.
"""
from __future__ import annotations

import hashlib
import re

from rdflib import URIRef

from ontology.terms import INSTANCE_BASE

_SAFE_SEGMENT = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*$")
_SLUG_RE = re.compile(r"[^0-9A-Za-z]+")


def short_hash(*parts: object, length: int = 12) -> str:
    """Stable hex digest of the parts joined with U+001F (``None`` counts as empty)."""
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()[:length]


def segment(text: str) -> str:
    """``text`` itself when it is already a safe ASCII path segment (a code, a year), else its hash."""
    text = text.strip()
    return text if _SAFE_SEGMENT.match(text) else short_hash(text)


def slug(text: str) -> str:
    """Lower-case ASCII slug of a text, or a hash where the text has no ASCII letters or digits."""
    s = _SLUG_RE.sub("-", text).strip("-").lower()
    return s or short_hash(text)


def _iri(*segments: str) -> URIRef:
    return URIRef(INSTANCE_BASE + "/".join(segments))


# ------------------------------------------------------------------ disclosure-local resources


def disclosure_iri(key: str) -> URIRef:
    """The disclosure itself; ``key`` is ``ingest.keys.disclosure_key`` (already ASCII)."""
    return _iri("disclosure", segment(key))


def project_iri(disclosure_key: str, name_or_index: str | int, occurrence: int = 1) -> URIRef:
    """A project of a disclosure, by its name (hashed) or, for a nameless one, its 1-based index;
    ``occurrence`` > 1 distinguishes a second project printed under the same name."""
    part = str(name_or_index) if isinstance(name_or_index, int) else short_hash(name_or_index.strip())
    suffix = "" if occurrence <= 1 else f"-{occurrence}"
    return URIRef(f"{disclosure_iri(disclosure_key)}/project/{part}{suffix}")


def project_detail_iri(project: str, index: int) -> URIRef:
    """The n-th detail text (项目概况, 立项依据 ...) of a project."""
    return URIRef(f"{project}/detail/{index}")


def indicator_iri(project: str, index: int) -> URIRef:
    """The n-th (1-based) performance indicator of a project."""
    return URIRef(f"{project}/indicator/{index}")


def department_indicator_iri(disclosure_key: str, index: int) -> URIRef:
    """The n-th (1-based) department-wide indicator of a disclosure (部门整体绩效目标)."""
    return URIRef(f"{disclosure_iri(disclosure_key)}/indicator/{index}")


def budget_line_iri(disclosure_key: str, table: str, code_or_name: str, occurrence: int = 1) -> URIRef:
    """A row of a standard table: by code (or hashed name for an uncoded row); ``occurrence`` > 1
    distinguishes a code printed twice in the same table."""
    suffix = "" if occurrence <= 1 else f"-{occurrence}"
    key = code_or_name if code_or_name.isdigit() else "n-" + short_hash(code_or_name)
    return URIRef(f"{disclosure_iri(disclosure_key)}/line/{segment(table)}/{key}{suffix}")


def passage_iri(disclosure_key: str, index: int) -> URIRef:
    """The n-th (1-based) narrative passage of a disclosure."""
    return URIRef(f"{disclosure_iri(disclosure_key)}/passage/{index}")


def finding_iri(disclosure_key: str, check: str, index: int) -> URIRef:
    """The n-th (1-based, in the disclosure's list) finding, named after its check for readability."""
    return URIRef(f"{disclosure_iri(disclosure_key)}/finding/{slug(check)}-{index}")


def contact_iri(disclosure_key: str, role: str, name: str | None, phone: str | None) -> URIRef:
    """A person named in a form; the same role, name and phone in one disclosure is one contact."""
    return URIRef(f"{disclosure_iri(disclosure_key)}/contact/{short_hash(role, name, phone)}")


# ------------------------------------------------------------------ shared resources


def department_iri(name: str) -> URIRef:
    """A department by its full name (乐亭县医疗保障局): the same across years and documents."""
    return _iri("department", short_hash(name.strip()))


def area_iri(name: str, province: str | None = None) -> URIRef:
    """An administrative area by name, qualified by its province where known (county names repeat
    across provinces). Pass ``province=None`` for a province itself."""
    name = name.strip()
    if province and province.strip() != name:
        return _iri("area", short_hash(province.strip() + "/" + name))
    return _iri("area", short_hash(name))


def legal_iri(key: str) -> URIRef:
    """A cited legal or policy document by its normalised 文号 (or title when it has none).

    Global on purpose: 冀财社〔2022〕172号 cited by two disclosures is one resource.
    """
    return _iri("legal", short_hash(key.strip()))


# ------------------------------------------------------------------ concepts and schemes

SCHEMES = ("function", "economic", "indicator", "kind", "table", "severity", "topic")


def scheme_iri(name: str) -> URIRef:
    """A SKOS concept scheme: one of ``SCHEMES``."""
    if name not in SCHEMES:
        raise ValueError(f"unknown concept scheme {name!r}; known: {', '.join(SCHEMES)}")
    return _iri("scheme", name)


def classification_iri(kind: str, code: str | None, name: str | None = None) -> URIRef:
    """A 支出功能/经济分类科目 concept: ``concept/{kind}/{code}``, or by hashed name for an uncoded row.

    ``kind`` is ``"function"`` or ``"economic"``.
    """
    if kind not in ("function", "economic"):
        raise ValueError(f"unknown classification kind {kind!r}; use 'function' or 'economic'")
    if code:
        return _iri("concept", kind, segment(code))
    if not name:
        raise ValueError("a classification concept needs a code or a name")
    return _iri("concept", kind, "n-" + short_hash(name.strip()))


def indicator_category_iri(local: str) -> URIRef:
    """A standard indicator category (``output``, ``quantity`` ...; see ``normalize.LEVEL*_CANONICAL``)."""
    return _iri("concept", "indicator", segment(local))


def minted_indicator_category_iri(level: int, printed: str) -> URIRef:
    """A category for a printed 一级/二级 name outside the standard list (kept, not guessed)."""
    return _iri("concept", "indicator", f"l{level}-{short_hash(printed.strip())}")


def kind_iri(value: str) -> URIRef:
    """A document kind: ``budget``, ``final-accounts``, ``performance-targets``."""
    return _iri("concept", "kind", segment(value))


def table_iri(value: str) -> URIRef:
    """A standard table kind (``TableKind`` value), the ``bkg:sourceTable`` of a budget line."""
    return _iri("concept", "table", segment(value))


def severity_iri(value: str) -> URIRef:
    """A finding severity: ``error``, ``warning``, ``info``."""
    return _iri("concept", "severity", segment(value))


def topic_iri(topic_slug: str) -> URIRef:
    """A policy topic of ``topics.ttl`` by its slug (``long-term-care-insurance``)."""
    return _iri("topic", slug(topic_slug))
