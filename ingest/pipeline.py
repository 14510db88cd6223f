"""From a file to a checked ``Disclosure``: read -> layout parser -> prose enrichment -> merge ->
page provenance -> accounting checks.

This is the one entry point the CLI, the HTTP upload route and the tests use. It knows nothing of
RDF or stores (``ingest.mapper`` and ``api`` do that).
"""
from __future__ import annotations

from dataclasses import fields, is_dataclass
from pathlib import Path

from ingest.model import Disclosure, Span
from ingest.registry import detect_layout, get_layout, reader_for
from ingest.source import DEFAULT_MAX_BYTES, SourceText
from ontology.errors import BudgetKGError, InputError, ParseError

# Formats whose readers render tables as tab-separated rows: their text is always that layout.
_TABULAR_FORMATS = {"pdf", "docx"}


def read_source(path: Path, *, fmt: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                name: str | None = None) -> SourceText:
    """Read a file with the format reader chosen by sniffing/suffix (or ``fmt``)."""
    reader = reader_for(path, fmt)
    source = reader.read(path, max_bytes)
    if name:
        source.name = name
    return source


def parse_source(source: SourceText, *, layout: str | None = None) -> Disclosure:
    """Parse decoded text into a checked ``Disclosure``."""
    from ingest.checks import run_checks
    from ingest.identity import enrich_identity
    from ingest.merge import merge_projects
    from ingest.narrative import enrich_narrative

    if layout:
        parser = get_layout(layout)
    elif source.format in _TABULAR_FORMATS:
        parser = get_layout("markdown-tsv")
    else:
        parser = detect_layout(source)
    try:
        disclosure = parser.parse(source)
    except BudgetKGError:
        raise
    except Exception as exc:  # a parser bug must name the file, not crash the batch
        raise ParseError(source.name, f"the {parser.name} parser failed: {type(exc).__name__}: {exc}") from exc
    disclosure.source_name = source.name
    disclosure.sha256 = source.sha256
    disclosure.line_count = len(source.lines)
    disclosure.page_count = source.page_count
    enrich_identity(disclosure, source)
    enrich_narrative(disclosure, source)
    merge_projects(disclosure)
    if source.pages:
        _attach_pages(disclosure, source)
    run_checks(disclosure)
    if not (disclosure.budget_lines or disclosure.projects or disclosure.figures):
        raise ParseError(source.name, "no budget tables, projects or totals found: not a budget disclosure "
                                      f"in the {parser.name} layout (force another with --layout)")
    return disclosure


def parse_path(path: str | Path, *, fmt: str | None = None, layout: str | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES, name: str | None = None) -> Disclosure:
    """Read and parse one file. Raises ``InputError`` (or a subclass) naming the file on bad input."""
    path = Path(path)
    if path.is_dir():
        raise InputError(str(path), "is a directory; pass the files in it (the CLI expands folders)")
    return parse_source(read_source(path, fmt=fmt, max_bytes=max_bytes, name=name), layout=layout)


def _attach_pages(obj, source: SourceText, _seen: set | None = None) -> None:
    """Fill ``Span.page`` everywhere from the source's line -> page map (paged formats)."""
    seen = _seen if _seen is not None else set()
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            if isinstance(item, Span):
                obj[i] = _with_page(item, source)
            else:
                _attach_pages(item, source, seen)
        return
    if not is_dataclass(obj) or isinstance(obj, Span):
        return
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, Span):
            object.__setattr__(obj, f.name, _with_page(value, source))
        elif isinstance(value, list) or is_dataclass(value):
            _attach_pages(value, source, seen)


def _with_page(span: Span, source: SourceText) -> Span:
    if span.page is not None:
        return span
    return Span(span.line_start, span.line_end, source.page_of(span.line_start))
