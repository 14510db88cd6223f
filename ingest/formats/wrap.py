"""Joining text that a page or a cell wrapped onto several lines, shared by the PDF and DOCX readers.

Both readers promise one line per paragraph and one line per table row with ``\\t`` between
cells, so a wrapped line must be joined back and a tab may never survive inside a cell.
"""
from __future__ import annotations

import re

_ASCII_LETTER = re.compile(r"[A-Za-z]")
_SPACES = re.compile(r"[ \t\u3000\xa0]+")


def join_wrapped(parts: list[str]) -> str:
    """Join the lines of a wrapped cell or paragraph.

    A break between two Latin letters was a space (an English word wrapped); every other break
    (CJK text, or a number split by a narrow column: ``9736`` / ``.74``) joins without one.
    """
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if out and _ASCII_LETTER.match(out[-1]) and _ASCII_LETTER.match(part[0]):
            out += " "
        out += part
    return out


def clean_line(text: str) -> str:
    """Collapse runs of spaces, tabs, ideographic and no-break spaces to one space; strip.

    A tab is the cell separator of the readers' output, so it must never appear inside a cell.
    """
    return _SPACES.sub(" ", text).strip()
