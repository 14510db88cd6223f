"""Bad input: every hostile or broken file gets one clear error naming it, stores nothing, and does
not stop the rest of a batch.

The files are made here, in a temporary folder, from the real fixtures and seeds: an encrypted
PDF, a scanned PDF (an image and no text), truncated and corrupt PDF/DOCX, legacy .doc/.wps and an
.xlsx renamed to .docx, a 200 MB file against the size limit (sparse, nothing written), zip bombs
dressed as DOCX (one honest about its sizes, one lying in its headers), empty files, binary junk
named .txt — and a GBK-encoded disclosure, which is not bad at all: it must be decoded and parsed.
"""
from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from formats_support import fixture, parsed, seed_of
from ingest.formats.guards import ZipLimits, check_docx_zip
from ingest.pipeline import parse_path
from ontology.errors import InputError

HEBEI = "000_hebei_budget"
MB = 1024 * 1024


# ------------------------------------------------------------------ makers


def encrypted_pdf(path: Path) -> None:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), encrypt=pdfencrypt.StandardEncryption("secret", "owner"))
    c.drawString(72, 700, "budget 7895.40")
    c.save()


def scanned_pdf(path: Path) -> None:
    """One page holding only a picture of a table, as a scanner makes it."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = Image.new("L", (400, 300), 255)
    draw = ImageDraw.Draw(image)
    for y in range(20, 300, 30):
        draw.line((20, y, 380, y), fill=0)
        draw.rectangle((40, y + 8, 200, y + 18), fill=60)  # "text" as pixels
    c = canvas.Canvas(str(path))
    c.drawImage(ImageReader(image), 72, 300, width=400, height=300)
    c.save()


def truncated(source: Path, path: Path) -> None:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def corrupt_pdf(path: Path) -> None:
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")


def ole_file(path: Path) -> None:
    """The header of a legacy Word/WPS (OLE compound) file."""
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4088)


def zip_with(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def docx_with_bad_xml(path: Path) -> None:
    with zipfile.ZipFile(fixture(HEBEI, ".docx")) as good:
        members = {name: good.read(name) for name in good.namelist()}
    members["word/document.xml"] = members["word/document.xml"][:5000]  # cut mid-element
    zip_with(path, members)


def zip_bomb(path: Path, size: int = 64 * MB) -> None:
    """A DOCX-shaped zip whose media part inflates from ~64 KB to ``size`` bytes of zeros."""
    with zipfile.ZipFile(fixture(HEBEI, ".docx")) as good, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for name in good.namelist():
            bomb.writestr(name, good.read(name))
        with bomb.open("word/media/image1.png", "w") as member:
            block = b"\0" * MB
            for _ in range(size // MB):
                member.write(block)


def lying_zip_bomb(path: Path) -> None:
    """A bomb whose headers claim its big part is 1 KB: only inflating it shows the truth."""
    zip_bomb(path, size=8 * MB)
    data = bytearray(path.read_bytes())
    name = b"word/media/image1.png"
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central directory
        start = 0
        while (k := data.find(signature, start)) >= 0:
            name_len = struct.unpack_from("<H", data, k + (26 if signature == b"PK\x03\x04" else 28))[0]
            name_at = k + (30 if signature == b"PK\x03\x04" else 46)
            if bytes(data[name_at:name_at + name_len]) == name:
                struct.pack_into("<I", data, k + size_at, 1024)
            start = k + 4
    path.write_bytes(bytes(data))


def sparse(path: Path, size: int, head: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(head)
        fh.truncate(size)  # a hole: no disk space, no time


# name, maker, phrase the error must contain
CASES = [
    ("encrypted.pdf", encrypted_pdf, "encrypted"),
    ("scanned.pdf", scanned_pdf, "no text layer"),
    ("truncated.pdf", lambda p: truncated(fixture(HEBEI, ".pdf"), p), "truncated"),
    ("corrupt.pdf", corrupt_pdf, "corrupt"),
    ("truncated.docx", lambda p: truncated(fixture(HEBEI, ".docx"), p), "corrupt or truncated"),
    ("bad-xml.docx", docx_with_bad_xml, "corrupt"),
    ("legacy-word.docx", ole_file, ".doc/.wps"),
    ("legacy-wps.wps", ole_file, ".doc/.wps"),
    ("spreadsheet.docx", lambda p: zip_with(p, {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"}),
     "only .docx is supported"),
    ("bomb.docx", zip_bomb, "zip bomb"),
    ("lying-bomb.docx", lying_zip_bomb, "corrupt"),
    ("huge.pdf", lambda p: sparse(p, 200 * 1000 * 1000, b"%PDF-1.7\n"), "over the size limit"),
    ("huge.docx", lambda p: sparse(p, 200 * 1000 * 1000, b"PK\x03\x04"), "over the size limit"),
    ("empty.pdf", lambda p: p.write_bytes(b""), "empty"),
    ("empty.docx", lambda p: p.write_bytes(b""), "empty"),
    ("empty.txt", lambda p: p.write_bytes(b""), "empty"),
    ("junk.txt", lambda p: p.write_bytes(bytes(range(256)) * 64), "binary"),
]
LIMIT = 50 * 1000 * 1000  # the size limit the tests run with (configurable: Settings.max_file_bytes)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    out = {}
    for name, make, _ in CASES:
        path = folder / name
        make(path)
        out[name] = path
    return out


@pytest.mark.parametrize(("name", "phrase"), [(n, p) for n, _, p in CASES], ids=[n for n, _, _ in CASES])
def test_bad_file_gets_one_clear_error_naming_it(bad_files, name: str, phrase: str):
    path = bad_files[name]
    with pytest.raises(InputError) as caught:
        parse_path(path, max_bytes=LIMIT)
    message = str(caught.value)
    assert str(path) in message or name in message, f"the error does not name the file: {message}"
    assert phrase in caught.value.reason, f"unclear error for {name}: {message}"
    assert "\n" not in message and "Traceback" not in message


def test_scanned_pdf_says_ocr_is_not_supported(bad_files):
    with pytest.raises(InputError, match="OCR is not supported"):
        parse_path(bad_files["scanned.pdf"])


def test_size_limit_is_the_callers(bad_files):
    """The same 200 MB file passes the size check under a higher limit (and then fails later, as
    a file of zeros must): the limit is configuration, not a constant."""
    with pytest.raises(InputError) as caught:
        parse_path(bad_files["huge.pdf"], max_bytes=300 * 1000 * 1000)
    assert "size limit" not in str(caught.value)


def test_zip_limits_are_configurable():
    data = fixture(HEBEI, ".docx").read_bytes()
    check_docx_zip(Path("ok.docx"), data).close()
    with pytest.raises(InputError, match="inflate to more than"):
        check_docx_zip(Path("small-limit.docx"), data, ZipLimits(max_uncompressed=100_000))


def test_owner_password_only_pdf_is_read(tmp_path: Path):
    """Opening needs no password when only an owner password is set (print/copy restrictions):
    such a PDF is read, not refused."""
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    from ingest.formats.pdf import read_pdf

    path = tmp_path / "restricted.pdf"
    c = canvas.Canvas(str(path), encrypt=pdfencrypt.StandardEncryption("", "owner", canCopy=0, canModify=0))
    c.drawString(72, 700, "Department budget 2023, total revenue 7895.40")
    c.save()
    assert read_pdf(path, LIMIT).lines == ["Department budget 2023, total revenue 7895.40"]


def test_gbk_text_is_decoded_and_parsed(tmp_path: Path):
    seed = seed_of(HEBEI)
    path = tmp_path / "gbk.txt"
    path.write_bytes(seed.read_text(encoding="utf-8").encode("gbk"))
    gbk, utf8 = parse_path(path), parsed(seed)
    assert gbk.department == utf8.department == "乐亭县医疗保障局"
    assert [(b.code, b.amount) for b in gbk.budget_lines] == [(b.code, b.amount) for b in utf8.budget_lines]
    assert [p.name for p in gbk.projects] == [p.name for p in utf8.projects]


def test_a_batch_stores_the_good_files_and_reports_each_bad_one(bad_files, tmp_path: Path):
    from api.service import ingest_paths
    from search.store import open_store

    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes(seed_of(HEBEI).read_text(encoding="utf-8").encode("gbk"))
    good = [fixture("003_shanxi_budget", ".pdf"), gbk]
    store = open_store("memory")
    try:
        before = set(store.graph_names())
        report = ingest_paths(store, [*good, *bad_files.values()], max_bytes=LIMIT)
        assert sorted(o.path for o in report.stored) == sorted(str(p) for p in good)
        assert len(report.failed) == len(bad_files)
        for outcome in report.failed:
            assert Path(outcome.path).name in outcome.error and "\n" not in outcome.error
        added = set(store.graph_names()) - before
        stored_graphs = {o.graph_iri for o in report.stored}
        assert stored_graphs <= added
        # nothing but the good files' graphs (their private twins, the shared graph and the
        # ontology) went in
        assert all(any(g.startswith(s) or s.rsplit("/", 1)[-1] in g for s in stored_graphs)
                   or g.endswith(("/ontology", "/shared")) for g in added), sorted(added)
    finally:
        store.close()
