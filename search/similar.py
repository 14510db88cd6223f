"""Similar performance indicators across departments and years.

Given an indicator (by IRI) or free text, the nearest indicators by embedding: the same measure
phrased differently in another county's table (享受长护险待遇人数 ~ 长护险参保人数), or the same
target set by another year. The query indicator itself is never among the hits.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ontology.errors import QueryRejected
from search.sparql import is_iri

if TYPE_CHECKING:
    from search.index import SearchIndex


def similar_indicators(index: "SearchIndex", text_or_iri: str, k: int = 10) -> list[dict]:
    """Hits with ``iri, label, target_value, level1, level2, project, department, county,
    fiscal_year, score, source`` (score = cosine), best first, excluding the query indicator."""
    query = (text_or_iri or "").strip()
    if not query:
        raise QueryRejected("empty text or IRI")
    k = max(1, int(k))
    exclude: set[str] = set()
    vector = None
    if is_iri(query):
        items = index.items_for(query)
        if not items:
            raise QueryRejected(f"no indexed resource has the IRI {query[:200]}; pass an indicator's IRI "
                                "or free text", status=404)
        exclude.add(query)
        own = [i for i in index._by_iri[query]]
        vector = index.vectors[own[0]]
        text = items[0].text
    else:
        text = query
    # Over-fetch: identical labels of the query's own table rows may crowd the top.
    ranking = index.dense(text, k + len(exclude) + 5, ["indicator"], vector=vector)
    hits = []
    for pos, score in ranking:
        item = index.items[pos]
        if item.iri in exclude:
            continue
        extra = item.extra
        hits.append({"iri": item.iri, "label": item.label, "target_value": extra.get("target_value"),
                     "level1": extra.get("level1"), "level2": extra.get("level2"), "project": item.project,
                     "department": item.department, "county": item.county, "fiscal_year": item.fiscal_year,
                     "score": round(float(score), 6), "source": item.source})
        if len(hits) >= k:
            break
    return hits
