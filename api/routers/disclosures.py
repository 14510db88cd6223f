"""``/api/disclosures``: the disclosures in the graph, one in full, and uploads of new ones.

``POST /api/disclosures`` (multipart, field ``file``: .txt, .md, .pdf or .docx) needs the admin
token and is refused outright when none is configured. The body size is checked before it is
read (Content-Length against ``max_upload_bytes``); the file is parsed and stored through
``api.service.ingest_file``, which replaces the disclosure's graphs whole or stores nothing. Serving
the on-disk store, the upload writes to its primary (409 while `budgetkg ingest` holds it) and
publishes a new generation. After a successful upload the search index is brought up to date and
the SPARQL workers serve the new data, so the new document is searchable and queryable when the
call returns.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Path as PathParam, Query, Request
from starlette.concurrency import run_in_threadpool

from api.app_state import open_writer, publish_upload, refresh_after_write
from api.catalog import Catalog
from api.deps import AdminDep, SettingsDep, StoreDep
from api.http_errors import ApiError
from api.service import ingest_file
from ontology.errors import StoreError

router = APIRouter(tags=["disclosures"])

UPLOAD_SUFFIXES = (".txt", ".md", ".pdf", ".docx")
_MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file
Key = Annotated[str, PathParam(max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                               description="The disclosure's identifier (the `id` of the list).")]


def catalog(store, settings) -> Catalog:
    return Catalog(store, include_private=settings.serve_personal_data)


@router.get("/api/disclosures", summary="Disclosures with department, county, year and totals")
def list_disclosures(store: StoreDep, settings: SettingsDep,
                     department: Annotated[str | None, Query(max_length=100, description="Part of the "
                                                             "department's name.")] = None,
                     county: Annotated[str | None, Query(max_length=100, description="Part of the county's, "
                                                         "prefecture's or province's name.")] = None,
                     year: Annotated[int | None, Query(ge=1990, le=2100, description="Fiscal year.")] = None) -> dict:
    items = catalog(store, settings).disclosures(department=department, county=county, year=year)
    return {"count": len(items), "disclosures": items}


@router.get("/api/disclosures/{key}", summary="One disclosure: totals, budget lines, projects with "
                                              "indicators, findings, source")
def get_disclosure(key: Key, store: StoreDep, settings: SettingsDep) -> dict:
    found = catalog(store, settings).disclosure(key)
    if found is None:
        raise ApiError(404, "not_found", f"no disclosure with id {key!r}; GET /api/disclosures lists them")
    return found


@router.post("/api/disclosures", status_code=201, summary="Add a disclosure (admin token required)")
async def upload_disclosure(request: Request, _admin: AdminDep, settings: SettingsDep, store: StoreDep) -> dict:
    limit = settings.max_upload_bytes
    length = request.headers.get("content-length")
    if length is None:
        raise ApiError(411, "length_required", "send a Content-Length header with the upload")
    if not length.isdigit() or int(length) > limit + _MULTIPART_SLACK:
        raise ApiError(413, "upload_too_large", f"upload over the limit of {limit} bytes (setting max_upload_bytes)",
                       {"limit_bytes": limit})
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise ApiError(415, "unsupported_media_type", "send the file as multipart/form-data in a field named 'file'")
    form = await request.form(max_files=1, max_fields=4)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise ApiError(422, "invalid_request", "no file: send it in a multipart field named 'file'")
    name = safe_filename(upload.filename or "")
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise ApiError(415, "unsupported_format", f"cannot ingest {name or 'a file without a name'!r}: "
                                                  f"upload one of {', '.join(UPLOAD_SUFFIXES)}")
    data = await upload.read()
    await form.close()
    if len(data) > limit:
        raise ApiError(413, "upload_too_large", f"{name} is {len(data)} bytes; the limit is {limit}",
                       {"limit_bytes": limit})
    if not data:
        raise ApiError(422, "bad_document", f"{name} is empty")
    outcome = await run_in_threadpool(_ingest, request.app.state, store, name, suffix, data, settings)
    if not outcome.ok:
        raise ApiError(422, "bad_document", f"{outcome.error}; nothing was stored", {"file": name})
    await refresh_after_write(request.app)
    d = outcome.disclosure
    return {"id": d.key, "iri": _disclosure_iri(d.key), "graph": outcome.graph_iri,
            "file": name, "department": d.department, "county": d.county, "fiscal_year": d.fiscal_year,
            "projects": len(d.projects), "triples": outcome.triples, "summary": outcome.summary()}


def _ingest(state, store, name: str, suffix: str, data: bytes, settings):
    with state.write_lock, tempfile.TemporaryDirectory(prefix="budgetkg-upload-") as tmp:
        path = Path(tmp) / (name if Path(name).stem else "upload" + suffix)
        path.write_bytes(data)
        try:
            with open_writer(store) as writer:
                outcome = ingest_file(writer, path, name=name, max_bytes=settings.max_upload_bytes)
                if outcome.ok and writer is not store:
                    publish_upload(state.index, store, writer)
        except StoreError as exc:
            if "lock" not in str(exc).lower():
                raise
            raise ApiError(409, "store_busy", "another process (e.g. `budgetkg ingest`) is writing the graph "
                                              "store; retry when it is done", headers={"Retry-After": "30"}) from None
    if outcome.error:  # readers name the file they read: the user knows it by its own name
        outcome.error = outcome.error.replace(str(path), name)
    return outcome


def _disclosure_iri(key: str) -> str:
    from ontology.iris import disclosure_iri

    return str(disclosure_iri(key))


_UNSAFE_NAME = re.compile(r"[^\w.\- ()\u3400-\u9fff]+")


def safe_filename(name: str) -> str:
    """The base name of an uploaded file, without path parts or control characters, at most 200 chars."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE_NAME.sub("_", base).strip(" .")[:200]
