"""``/api/findings``: what the accounting checks found (sums that do not add up, narrative totals
that differ from the tables, truncated documents), across all disclosures or filtered."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.catalog import Catalog
from api.deps import SettingsDep, StoreDep

router = APIRouter(tags=["disclosures"])


@router.get("/api/findings", summary="Findings of the accounting checks, optionally filtered")
def list_findings(store: StoreDep, settings: SettingsDep,
                  severity: Annotated[Literal["error", "warning", "info"] | None,
                                      Query(description="Only findings of this severity.")] = None,
                  check: Annotated[str | None, Query(max_length=60, description="Only this check, e.g. "
                                                     "children-sum, narrative-vs-table, truncated.")] = None,
                  disclosure: Annotated[str | None, Query(max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                                                          description="Only this disclosure (its id).")] = None) -> dict:
    catalog = Catalog(store, include_private=settings.serve_personal_data)
    d_iri = None
    if disclosure:
        d_iri = catalog.disclosure_iri(disclosure)
        if d_iri is None:
            return {"count": 0, "findings": []}
    items = catalog.findings(disclosure=d_iri, severity=severity, check=check)
    return {"count": len(items), "findings": items}
