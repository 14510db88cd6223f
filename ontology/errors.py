"""The project's exception hierarchy.

It lives at the ground layer so that ``ingest``, ``search`` and ``api`` share one base class
without importing each other. Every error carries structured fields and a message that names the
bad value and, where there is one, the fix.
"""
from __future__ import annotations


class BudgetKGError(Exception):
    """Base class of every error budgetkg raises on purpose."""


class InputError(BudgetKGError):
    """A file cannot be ingested: empty, binary, wrong encoding, truncated, too big, hostile."""

    def __init__(self, path: str, reason: str, line: int | None = None):
        self.path = str(path)
        self.reason = reason
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


class ParseError(InputError):
    """The file was read but its content does not parse as a budget disclosure."""


class UnknownFormat(InputError):
    """No registered parser accepts the file; the message lists the known formats."""


class StoreError(BudgetKGError):
    """The graph store failed or is unreachable (locked directory, remote server down...)."""


class QueryRejected(BudgetKGError):
    """A SPARQL query was refused before evaluation (update on a read-only port, SERVICE, too long)."""

    def __init__(self, reason: str, status: int = 400):
        self.reason = reason
        self.status = status
        super().__init__(reason)


class QueryTimeout(BudgetKGError):
    """A query ran past its time limit and was stopped."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"query stopped after its time limit of {seconds:g} s")


class IndexMismatch(BudgetKGError):
    """A vector index was built with another embedding model than the one configured."""
