"""Checks that run before a PDF or DOCX is handed to its parsing library.

A disclosure folder is user input: a file may be huge, truncated, encrypted, scanned, or a zip bomb
dressed up as a .docx. Each check here refuses such a file with an ``InputError`` that names the
file and says what to do, before pdfminer or python-docx spend memory on it (the size limit is
checked by ``ingest.source.read_bytes`` before a byte is read). Nothing here parses content; the
readers in ``ingest.formats.pdf`` and ``ingest.formats.docx`` call these.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ontology.errors import InputError

# A DOCX is XML compressed at 5-20x; members with higher ratios and a real size are not documents.
MAX_DOCX_UNCOMPRESSED = 256 * 1024 * 1024
MAX_DOCX_RATIO = 200
_RATIO_MIN_SIZE = 1024 * 1024  # tiny members compress arbitrarily well (empty styles, zeros)
MAX_DOCX_MEMBERS = 10_000

# A complete PDF ends with %%EOF; some writers add a little junk after it.
_PDF_TAIL = 4096
# Below this many visible characters in the whole file there is no text layer worth parsing.
MIN_TEXT_CHARS = 20


@dataclass(frozen=True)
class ZipLimits:
    """Limits of the zip-bomb check on DOCX files (configurable by callers and tests)."""

    max_uncompressed: int = MAX_DOCX_UNCOMPRESSED
    max_ratio: float = MAX_DOCX_RATIO
    max_members: int = MAX_DOCX_MEMBERS


def check_pdf_bytes(path: Path, data: bytes) -> None:
    """Refuse bytes that are not a whole PDF: wrong header or no end-of-file marker (truncated)."""
    if not data[:1024].lstrip().startswith(b"%PDF-"):
        raise InputError(str(path), "not a PDF file (no %PDF- header); it may be corrupt or mis-named")
    if b"%%EOF" not in data[-_PDF_TAIL:]:
        raise InputError(str(path), "PDF is truncated or corrupt (no %%EOF end marker); "
                                    "download or export it again")


def check_text_layer(path: Path, visible_chars: int, unmapped_chars: int, page_count: int) -> None:
    """Refuse a PDF whose pages carry no usable text: scanned images, or glyphs without Unicode."""
    if visible_chars + unmapped_chars < MIN_TEXT_CHARS:
        raise InputError(str(path), f"PDF has no text layer ({page_count} page(s) of images, e.g. a scan); "
                                    "OCR is not supported: ingest the original PDF or a DOCX export")
    if unmapped_chars > visible_chars:
        raise InputError(str(path), "PDF text cannot be decoded (its fonts carry no Unicode mapping); "
                                    "OCR is not supported: ingest a PDF exported with embedded text or a DOCX")


def check_docx_zip(path: Path, data: bytes, limits: ZipLimits = ZipLimits()) -> zipfile.ZipFile:
    """Open a DOCX as a zip after checking its sizes, so a zip bomb is never inflated in memory.

    Returns the open ``ZipFile``. Refuses: not a zip / truncated zip, a zip without
    ``word/document.xml`` (another Office format), too many members, too much uncompressed data,
    or a member compressed beyond any real document's ratio.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InputError(str(path), "DOCX is corrupt or truncated (not a readable zip archive); "
                                    "open and re-save it in Word/WPS, or export a PDF") from None
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise InputError(str(path), f"DOCX has {len(infos)} parts, over the limit of {limits.max_members}: "
                                    "refused as a possible zip bomb")
    names = {info.filename for info in infos}
    if "word/document.xml" not in names:
        hint = "an Excel/PowerPoint file" if any(n.startswith(("xl/", "ppt/")) for n in names) else "not a Word document"
        raise InputError(str(path), f"zip archive without word/document.xml ({hint}); only .docx is supported")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise InputError(str(path), "DOCX parts are encrypted; remove the password and save again")
        total += info.file_size
        if total > limits.max_uncompressed:
            raise InputError(str(path), f"DOCX would inflate to more than {limits.max_uncompressed / 1e6:.0f} MB: "
                                        "refused as a possible zip bomb")
        if info.file_size >= _RATIO_MIN_SIZE and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise InputError(str(path), f"DOCX part {info.filename} is compressed {ratio:.0f}:1 "
                                        f"(limit {limits.max_ratio:.0f}:1): refused as a possible zip bomb")
    _inflate_bounded(path, archive, infos, limits)
    return archive


def _inflate_bounded(path: Path, archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    """Inflate every part in small chunks, stopping at the declared size.

    The sizes checked above are what the archive *claims*; a crafted header can understate them.
    Reading in bounded chunks finds the lie (and any CRC or truncation damage) without ever holding
    more than one chunk of inflated data.
    """
    chunk = 1024 * 1024
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        seen = 0
        try:
            with archive.open(info) as member:
                while block := member.read(chunk):
                    seen += len(block)
                    total += len(block)
                    if seen > info.file_size or total > limits.max_uncompressed:
                        raise InputError(str(path), f"DOCX part {info.filename} inflates beyond its declared "
                                                    "size: refused as a possible zip bomb")
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise InputError(str(path), f"DOCX is corrupt or truncated (part {info.filename}: {exc}); "
                                        "open and re-save it in Word/WPS, or export a PDF") from None
