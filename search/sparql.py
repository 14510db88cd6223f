"""Safe building blocks for SPARQL text: prefixes, escaped literals, validated IRIs, row values.

User text (questions, search strings, IRIs) may only reach a query through ``literal`` or
``iri``: a string becomes one quoted literal whatever it holds (quotes, braces, ``#``, newlines,
a whole SPARQL fragment), and an IRI is accepted only when it is a plain http(s) IRI with none of
the characters that could close it. Nothing else in search/ concatenates user text into SPARQL.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from rdflib import Literal, URIRef

from ontology.errors import QueryRejected
from ontology.terms import BKG, INSTANCE_BASE

PREFIXES = f"""PREFIX bkg: <{BKG._NS}>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX dct: <http://purl.org/dc/terms/>
"""

_ECHAR = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_IRI_OK = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")


def literal(text: str, lang: str | None = None) -> str:
    """``text`` as one SPARQL string literal (optionally ``@lang``); safe for any input.

    Quotes, backslashes and line breaks are escaped; other control characters are dropped
    (some engines reject them even escaped).
    """
    out = []
    for ch in str(text):
        if ch in _ECHAR:
            out.append(_ECHAR[ch])
        elif unicodedata.category(ch) == "Cc":
            continue
        else:
            out.append(ch)
    tag = ""
    if lang:
        if not re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", lang):
            raise QueryRejected(f"not a language tag: {lang!r}")
        tag = "@" + lang
    return '"' + "".join(out) + '"' + tag


def number(value: int | float | Decimal) -> str:
    """A numeric SPARQL literal from a Python number (never from text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise QueryRejected(f"not a number: {value!r}")
    return str(int(value)) if isinstance(value, int) else f'"{Decimal(str(value))}"^^xsd:decimal'


def is_iri(text: str) -> bool:
    return bool(_IRI_OK.match(text or ""))


def iri(text: str, *, base: str | None = INSTANCE_BASE) -> str:
    """``<text>`` after checking it is a plain http(s) IRI (under ``base`` unless base=None)."""
    if not is_iri(text):
        raise QueryRejected(f"not a valid IRI: {text[:200]!r}")
    if base and not text.startswith(base):
        raise QueryRejected(f"IRI {text[:200]!r} is not a budgetkg resource (expected it under {base})")
    return f"<{text}>"


def value(term) -> object:
    """A result term as a plain Python value (str, int, Decimal...), None stays None."""
    if term is None:
        return None
    if isinstance(term, Literal):
        return term.toPython()
    if isinstance(term, URIRef):
        return str(term)
    return str(term)


def text(term) -> str | None:
    """A result term as a string (None stays None)."""
    return None if term is None else str(term)
