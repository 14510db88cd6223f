"""Reading a file into decoded text lines, with clear errors for bad input.

``SourceText`` is what every layout parser receives: the decoded text split into lines (1-based
line numbers in spans), the file's SHA-256, and, for paged formats, the page of each line.
Decoding accepts UTF-8 (with or without BOM), UTF-16 with BOM and GB18030/GBK; empty, binary and
oversized files are refused with an ``InputError`` naming the file and the problem.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ontology.errors import InputError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass
class SourceText:
    """Decoded text of one source document."""

    name: str  # file name as given (no directories), recorded as bkg:fileName
    text: str
    sha256: str
    format: str = "text"  # the format reader that produced it: text, pdf, docx
    pages: list[int] | None = None  # pages[i] = 1-based page of line i+1, for paged formats
    page_count: int | None = None
    lines: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = self.text.split("\n")

    def page_of(self, line_no: int) -> int | None:
        if not self.pages or line_no < 1 or line_no > len(self.pages):
            return None
        return self.pages[line_no - 1]


def read_bytes(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The file's bytes, refusing missing, empty and oversized files."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(str(path), f"cannot read file: {exc.strerror or exc}") from None
    if size == 0:
        raise InputError(str(path), "file is empty")
    if size > max_bytes:
        raise InputError(str(path), f"file is {size / 1e6:.1f} MB, over the size limit of "
                                    f"{max_bytes / 1e6:.1f} MB (setting BUDGETKG_MAX_FILE_BYTES)")
    return path.read_bytes()


def decode_text(data: bytes, name: str) -> str:
    """Decode a text disclosure: UTF-8/UTF-16 (BOM) or GB18030 (a superset of GBK and GB2312).

    Binary content (NUL bytes, or mostly control characters) is refused rather than guessed at.
    """
    if not data.strip():
        raise InputError(name, "file is empty (only whitespace)")
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        text = data.decode("utf-16")
    else:
        head = data[:65536]
        if b"\x00" in head:
            raise InputError(name, "file is binary (contains NUL bytes), not a text disclosure; "
                                   "PDF and DOCX files need their .pdf/.docx suffix")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                raise InputError(name, "text is neither UTF-8 nor GBK/GB18030; re-save it as UTF-8") from None
    sample = text[:20000]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    if sample and controls / len(sample) > 0.05:
        raise InputError(name, "file looks binary (many control characters), not a text disclosure")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def text_source(path: Path, max_bytes: int = DEFAULT_MAX_BYTES, name: str | None = None) -> SourceText:
    """Read a .txt/.md disclosure into a ``SourceText``."""
    data = read_bytes(path, max_bytes)
    return SourceText(name=name or path.name, text=decode_text(data, name or path.name), sha256=sha256_hex(data))
