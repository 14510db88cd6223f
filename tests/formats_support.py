"""Shared helpers of the PDF/DOCX format tests: where the fixtures are, which seed each was made
from, cached reads and parses (pdfplumber takes seconds per file), and the seed's own pages.

The fixtures are rendered from the seeds by ``tests/data/make_fixtures.py`` (see
``tests/data/README.md``); this module reads that script's table of fixtures so the two can never
disagree about which seed a fixture shows.
"""
from __future__ import annotations

import importlib.util
import re
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "ingest" / "samples"
FIXTURES = ROOT / "tests" / "data" / "fixtures"
NO_LIMIT = 10**9


@lru_cache(maxsize=None)
def fixture_script():
    """``tests/data/make_fixtures.py`` as a module (it imports reportlab only when rendering)."""
    spec = importlib.util.spec_from_file_location("make_fixtures", ROOT / "tests" / "data" / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def fixture_stems() -> list[str]:
    return sorted(fixture_script().FIXTURES)


def seed_of(stem: str) -> Path:
    """The seed text a fixture was rendered from."""
    return SAMPLES / fixture_script().FIXTURES[stem][0]


def fixture(stem: str, suffix: str) -> Path:
    return FIXTURES / f"{stem}{suffix}"


@lru_cache(maxsize=None)
def read(stem: str, suffix: str):
    """The format reader's ``SourceText`` of a fixture (through the registry, as ingestion does)."""
    from ingest.registry import reader_for

    path = fixture(stem, suffix)
    return reader_for(path).read(path, NO_LIMIT)


@lru_cache(maxsize=None)
def parsed(path: Path):
    """The pipeline's ``Disclosure`` of a file, parsed once per test session."""
    from ingest.pipeline import parse_path

    return parse_path(path)


def seed_pages(text: str) -> list[int]:
    """Page of each line of a seed whose pages open with a line starting with a space (seed 000)."""
    pages, page = [], 1
    for k, line in enumerate(text.split("\n")):
        if k and line.startswith(" ") and line.strip():
            page += 1
        pages.append(page)
    return pages


def seed_page_of(text: str, line_text: str) -> int:
    """The seed page of the first seed line whose stripped text is ``line_text``."""
    lines = text.split("\n")
    index = next(k for k, line in enumerate(lines) if line.strip() == line_text)
    return seed_pages(text)[index]


def unheaded(line: str) -> str:
    """A reader line without its Markdown heading marks."""
    return re.sub(r"^#+ ", "", line)


def tsv_form(line: str) -> str:
    """Comparison form of a seed or reader line: tags and bold marks gone, whitespace removed inside
    cells (a wrapped cell may lose a space at its break), trailing empty cells dropped."""
    line = re.sub(r"</?b>|\*\*", "", line)
    line = re.sub(r"^#+\s*", "", line.strip(" \u3000"))
    cells = [re.sub(r"\s+", "", c) for c in line.split("\t")]
    while cells and not cells[-1]:
        cells.pop()
    return "\t".join(cells)
