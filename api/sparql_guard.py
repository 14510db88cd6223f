"""The gate in front of the public SPARQL endpoint: which requests may reach a query worker.

A query is tokenised with the SPARQL 1.1 lexical rules (IRIs, strings, comments, variables,
prefixed names, language tags) so that a keyword is recognised only where it is a keyword:
``SERVICE`` inside a string, an IRI, a comment or a variable name (``?service``) is data, while a
bare ``SERVICE`` or ``DROP`` anywhere is refused. The form (SELECT / ASK / CONSTRUCT / DESCRIBE)
is read after the prologue, so content negotiation can be decided before evaluation. Full syntax
checking is left to the engine in the worker, which reports errors as 400s.

Refusals are ``GuardRejected`` (a ``QueryRejected`` with a machine-readable ``code``):
413 for a query over the size limit, 403 for Update operations and ``SERVICE`` (the server would
fetch arbitrary URLs), 400 for text that is not a SPARQL query.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ontology.errors import QueryRejected

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
# Every operation of SPARQL 1.1 Update. None of these words is a keyword or a built-in function of
# the query language, so a bare one anywhere in a request means it is (or hides) an update.
UPDATE_VERBS = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"})
# Words that make a server reach out to other URLs or change its own behaviour.
FORBIDDEN_WORDS = {
    "SERVICE": "SERVICE (federated query) is not allowed here: this endpoint does not fetch other URLs",
}
NON_STANDARD_WORDS = {
    "DEFINE": "engine pragmas (DEFINE ...) are not accepted: send standard SPARQL 1.1",
}


class GuardRejected(QueryRejected):
    """A request refused by the guard; ``code`` names the reason for the API's error shape."""

    def __init__(self, reason: str, status: int, code: str):
        super().__init__(reason, status)
        self.code = code


@dataclass(frozen=True)
class Token:
    kind: str  # IRI, STRING, VAR, PNAME, WORD, LANGTAG, NUMBER, PUNCT
    text: str
    offset: int


# Order matters: long strings before short ones, IRIs before the '<' operator, prefixed names
# before bare words. IRIREF follows the grammar's character exclusions, so "?a < ?b" stays an
# operator while "<http://x>" is an IRI.
_TOKEN_RE = re.compile(r"""
    (?P<WS>\s+)
  | (?P<COMMENT>\#[^\n\r]*)
  | (?P<IRI><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<STRING>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              | '''(?:[^'\\]|\\.|'(?!''))*'''
              | "(?:[^"\\\n\r]|\\.)*"
              | '(?:[^'\\\n\r]|\\.)*')
  | (?P<VAR>[?$][\w\u00B7\u0300-\u036F\u203F-\u2040]+)
  | (?P<LANGTAG>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<PNAME>(?:[^\W\d_][\w.\-\u00B7]*)?:(?:[\w\-.:%\u00B7]|\\[_~.\-!$&'()*+,;=/?\#@%])*)
  | (?P<WORD>[^\W\d][\w]*)
  | (?P<NUMBER>[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
  | (?P<PUNCT>\^\^|\|\||&&|!=|<=|>=|[{}()\[\];,.*=<>!+\-/|^?&@$])
""", re.VERBOSE | re.DOTALL)


def tokenize(text: str) -> list[Token]:
    """SPARQL tokens of ``text`` without whitespace and comments; raises GuardRejected on
    an unterminated string or a character no SPARQL token can start with."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            char = text[pos]
            hint = " (unterminated string?)" if char in "\"'" else ""
            raise GuardRejected(f"SPARQL syntax error at character {pos}: unexpected {char!r}{hint}", 400,
                                "query_syntax")
        kind = match.lastgroup
        if kind not in ("WS", "COMMENT"):
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


@dataclass(frozen=True)
class CheckedQuery:
    """A query the guard let through, with its form: 'select', 'ask', 'construct' or 'describe'."""

    text: str
    form: str

    @property
    def returns_graph(self) -> bool:
        return self.form in ("construct", "describe")


def check_query(text: str, *, max_bytes: int) -> CheckedQuery:
    """Accept a read-only SPARQL query or raise ``GuardRejected`` before anything evaluates it."""
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise GuardRejected(f"query is {size} bytes; this endpoint accepts at most {max_bytes} bytes "
                            "(setting max_query_bytes)", 413, "query_too_large")
    if not text.strip():
        raise GuardRejected("empty query: send a SPARQL SELECT, ASK, CONSTRUCT or DESCRIBE query in the "
                            "'query' parameter", 400, "query_missing")
    tokens = tokenize(text)
    for token in tokens:
        if token.kind != "WORD":
            continue
        word = token.text.upper()
        if word in UPDATE_VERBS:
            raise GuardRejected(f"SPARQL Update ({word}) is not allowed: this endpoint is read-only. "
                                "Add documents with `budgetkg ingest` or POST /api/disclosures.", 403,
                                "update_forbidden")
        if word in FORBIDDEN_WORDS:
            raise GuardRejected(FORBIDDEN_WORDS[word], 403, "service_forbidden")
        if word in NON_STANDARD_WORDS:
            raise GuardRejected(NON_STANDARD_WORDS[word], 400, "query_syntax")
    return CheckedQuery(text, _query_form(tokens))


def _query_form(tokens: list[Token]) -> str:
    """The query form after the prologue (BASE <iri> / PREFIX p: <iri>)."""
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        word = tok.text.upper() if tok.kind == "WORD" else None
        if word == "BASE" and i + 1 < len(tokens) and tokens[i + 1].kind == "IRI":
            i += 2
            continue
        if word == "PREFIX" and i + 2 < len(tokens) and tokens[i + 1].kind == "PNAME" \
                and tokens[i + 2].kind == "IRI":
            i += 3
            continue
        if word in QUERY_FORMS:
            return word.lower()
        found = tok.text if len(tok.text) <= 40 else tok.text[:40] + "…"
        raise GuardRejected(f"not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE after the "
                            f"prologue, found {found!r}", 400, "query_syntax")
    raise GuardRejected("not a SPARQL query: only a prologue (BASE/PREFIX) was given", 400, "query_syntax")


def check_update_request(update: str | None) -> None:
    """The protocol's ``update`` parameter is always refused on the public endpoint."""
    if update is not None:
        raise GuardRejected("SPARQL Update is not allowed: this endpoint is read-only", 403, "update_forbidden")


_IRI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^<>\"{}|^`\\\x00-\x20]+")


def check_iri(iri: str, *, what: str = "IRI", max_length: int = 2000) -> str:
    """An absolute IRI safe to write between ``<`` and ``>`` in SPARQL, or GuardRejected(400)."""
    if len(iri) > max_length or not _IRI_RE.fullmatch(iri):
        shown = iri if len(iri) <= 80 else iri[:80] + "…"
        raise GuardRejected(f"invalid {what} {shown!r}: give an absolute IRI without spaces, quotes or "
                            "angle brackets", 400, "invalid_iri")
    return iri
