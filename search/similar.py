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
    fiscal_year, score, source`` (score = cosine), best first, excluding the query indicator.

    Rows repeated verbatim (label and target) within one disclosure are shown once.
    """
    query = (text_or_iri or "").strip()
    if not query:
        raise QueryRejected("empty text or IRI")
    k = max(1, int(k))
    exclude: set[str] = set()
    vector = None
    if is_iri(query):
        positions = index._by_iri.get(query, [])
        items = [index.items[p] for p in positions]
        if not items:
            raise QueryRejected(f"no indexed resource has the IRI {query[:200]}; pass an indicator's IRI "
                                "or free text", status=404)
        exclude.add(query)
        # The name vector: what the indicator measures, without its project as context.
        named = [p for p in positions if index.items[p].extra.get("variant")] or positions
        vector = index.vectors[named[0]]
        text = items[0].text
        query_item = items[0]
    else:
        text = query
        query_item = None
    # Over-fetch: one table repeats generic rows (群众满意度 in every project) and every item has
    # two vectors; both are folded below.
    ranking = index.dense(text, 4 * k + 20, ["indicator"], vector=vector)
    hits, seen, shown = [], set(), set()
    for pos, score in ranking:
        item = index.items[pos]
        if item.iri in exclude or item.iri in seen:
            continue
        seen.add(item.iri)
        if item.extra.get("variant"):
            item = index.items[index._by_iri[item.iri][0]]
        extra = item.extra
        # The same row printed under several projects of one disclosure is one finding here.
        key = (item.label, extra.get("target_value"), item.disclosure)
        if key in shown or (query_item is not None and key == (query_item.label, query_item.extra.get("target_value"),
                                                              query_item.disclosure)):
            continue
        shown.add(key)
        hits.append({"iri": item.iri, "label": item.label, "target_value": extra.get("target_value"),
                     "level1": extra.get("level1"), "level2": extra.get("level2"), "project": item.project,
                     "department": item.department, "county": item.county, "fiscal_year": item.fiscal_year,
                     "score": round(float(score), 6), "source": item.source})
        if len(hits) >= k:
            break
    return hits
