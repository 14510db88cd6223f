"""Stable keys for disclosures, used in IRIs and named-graph names.

A disclosure is identified by what it is (department, fiscal year, document kind), not by its
bytes: re-ingesting the same document, or a corrected copy, or the same disclosure as PDF instead
of text, replaces the earlier graph instead of adding a second copy. Where the department or year
could not be read, the file's SHA-256 is the fallback identity.
"""
from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.model import Disclosure


def short_hash(*parts: object, length: int = 12) -> str:
    """A short, stable hex digest of the given parts (joined with U+001F)."""
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()[:length]


def disclosure_key(disclosure: "Disclosure") -> str:
    """``{year}-{kind}-{hash of department}``, or ``sha-{sha256[:16]}`` when unidentified."""
    if disclosure.department and disclosure.fiscal_year:
        return f"{disclosure.fiscal_year}-{disclosure.kind.value}-{short_hash(disclosure.department)}"
    return "sha-" + disclosure.sha256[:16]


_SLUG_RE = re.compile(r"[^0-9A-Za-z]+")


def slug(text: str) -> str:
    """ASCII slug of a text, or a hash where the text has no ASCII letters or digits."""
    s = _SLUG_RE.sub("-", text).strip("-").lower()
    return s or short_hash(text)
