"""Two small registries: file formats (bytes -> ``SourceText``) and layout families
(``SourceText`` -> ``Disclosure``).

A format is chosen by suffix, confirmed by content sniffing (a PDF renamed .txt is still a PDF);
a layout family is chosen by asking every registered parser how well it recognises the text.
Both can be overridden by name (``budgetkg ingest --format pdf --layout docx-text``). An unknown
name or an unrecognised file raises ``UnknownFormat`` listing what is known.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from ingest.model import Disclosure
from ingest.source import SourceText, text_source
from ontology.errors import InputError, UnknownFormat

# ------------------------------------------------------------------ layouts


class LayoutParser(Protocol):
    """One parser per layout family; all return the same ``Disclosure``."""

    name: str
    description: str

    def sniff(self, source: SourceText) -> float:
        """Confidence in [0, 1] that this parser's layout family produced the text."""

    def parse(self, source: SourceText) -> Disclosure:
        """Extract the disclosure. Raise ``ParseError`` only when nothing usable is found."""


# name -> "module:attribute"; imported on first use so one broken parser cannot break the others.
_LAYOUT_PATHS: dict[str, str] = {
    "pdf-text": "ingest.layouts.pdf_text:PARSER",
    "markdown-tsv": "ingest.layouts.markdown_tsv:PARSER",
    "docx-text": "ingest.layouts.docx_text:PARSER",
}
_LAYOUT_ALIASES = {"pdf": "pdf-text", "text": "pdf-text", "txt": "pdf-text", "markdown": "markdown-tsv",
                   "md": "markdown-tsv", "tsv": "markdown-tsv", "docx": "docx-text", "word": "docx-text"}
MIN_CONFIDENCE = 0.2


def register_layout(name: str, path: str) -> None:
    """Register a layout parser by import path ("package.module:ATTRIBUTE")."""
    _LAYOUT_PATHS[name] = path


def layout_names() -> list[str]:
    return sorted(_LAYOUT_PATHS)


def _load(path: str):
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def get_layout(name: str) -> LayoutParser:
    key = _LAYOUT_ALIASES.get(name, name)
    if key not in _LAYOUT_PATHS:
        raise UnknownFormat(name, f"unknown layout '{name}'; known layouts: {', '.join(layout_names())}")
    return _load(_LAYOUT_PATHS[key])


def detect_layout(source: SourceText) -> LayoutParser:
    """The registered parser most confident about this text, or ``UnknownFormat``."""
    scored = []
    for name in layout_names():
        parser = get_layout(name)
        scored.append((parser.sniff(source), name, parser))
    scored.sort(key=lambda t: -t[0])
    if not scored or scored[0][0] < MIN_CONFIDENCE:
        raise UnknownFormat(source.name, "not recognised as a budget disclosure in any known layout "
                                         f"({', '.join(layout_names())}); if it is one, force a layout "
                                         "with --layout NAME")
    return scored[0][2]


# ------------------------------------------------------------------ formats


@dataclass(frozen=True)
class FormatReader:
    name: str
    suffixes: tuple[str, ...]
    read: Callable[[Path, int], SourceText]
    sniff: Callable[[bytes], bool]


def _read_text(path: Path, max_bytes: int) -> SourceText:
    return text_source(path, max_bytes)


def _lazy(path: str) -> Callable[[Path, int], SourceText]:
    def read(p: Path, max_bytes: int) -> SourceText:
        return _load(path)(p, max_bytes)
    return read


def _is_pdf(head: bytes) -> bool:
    return head[:1024].lstrip().startswith(b"%PDF-")


def _is_zip(head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04")


def _is_ole(head: bytes) -> bool:  # legacy .doc/.wps/.xls container
    return head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


FORMATS: dict[str, FormatReader] = {
    "text": FormatReader("text", (".txt", ".md", ".markdown", ".text"), _read_text,
                         lambda head: not (_is_pdf(head) or _is_zip(head) or _is_ole(head))),
    "pdf": FormatReader("pdf", (".pdf",), _lazy("ingest.formats.pdf:read_pdf"), _is_pdf),
    "docx": FormatReader("docx", (".docx",), _lazy("ingest.formats.docx:read_docx"), _is_zip),
}
_FORMAT_ALIASES = {"txt": "text", "md": "text", "markdown": "text", "word": "docx"}


def format_names() -> list[str]:
    return sorted(FORMATS)


def reader_for(path: Path, override: str | None = None) -> FormatReader:
    """The format reader for a file: the override, else by content sniffing, else by suffix."""
    if override:
        key = _FORMAT_ALIASES.get(override, override)
        if key not in FORMATS:
            raise UnknownFormat(str(path), f"unknown format '{override}'; known formats: {', '.join(format_names())}")
        return FORMATS[key]
    try:
        with path.open("rb") as fh:
            head = fh.read(2048)
    except OSError as exc:
        raise UnknownFormat(str(path), f"cannot read file: {exc.strerror or exc}") from None
    if not head:  # before sniffing, or an empty .docx would be called a renamed .doc
        raise InputError(str(path), "file is empty")
    if _is_ole(head):
        raise UnknownFormat(str(path), "legacy Word/WPS binary (.doc/.wps) is not supported; "
                                       "save it as .docx or PDF first")
    if _is_pdf(head):
        return FORMATS["pdf"]
    suffix = path.suffix.lower()
    for reader in FORMATS.values():
        if suffix in reader.suffixes:
            if reader.name == "docx" and not _is_zip(head):
                raise UnknownFormat(str(path), "has a .docx suffix but is not a DOCX (zip) file; "
                                               "a renamed .doc/.wps must be saved as .docx first")
            return reader
    if _is_zip(head):
        return FORMATS["docx"]
    known = ", ".join(s for r in FORMATS.values() for s in r.suffixes)
    raise UnknownFormat(str(path), f"unknown file type '{suffix or '(no suffix)'}'; known: {known} "
                                   "(or force one with --format)")
