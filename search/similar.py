"""Similar performance indicators across departments and years.

Given an indicator (by IRI) or free text, the nearest indicators by embedding: the same measure
phrased differently in another county's table (享受长护险待遇人数 ~ 长护险参保人数), or the same
target set by another year. The query indicator itself is never among the hits.

Two vector spaces are searched together: indicators' bare names (what an indicator measures, the
space an indicator's IRI is looked up by) and their full texts (name, target, project). A vector
is one distinct text, which at scale may be the row of hundreds of disclosures (群众满意度 in
every county's table): each text contributes a few of its items, counties not yet shown first, so
that a plain phrasing ("satisfaction") lists that measure from several counties and then its
neighbours in meaning, rather than one county's copies or one label ten times.
"""
from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np

from ontology.errors import QueryRejected, QueryTimeout
from search.item_store import item_from_row
from search.measure_terms import chinese_measure_words
from search.sparql import is_iri

if TYPE_CHECKING:
    from search.index import SearchIndex

# Rows read per matching text, among which the few shown are chosen (counties not yet seen first).
ROWS_PER_TEXT = 24


def similar_indicators(index: "SearchIndex", text_or_iri: str, k: int = 10, *, deadline: float | None = None
                       ) -> list[dict]:
    """Hits with ``iri, label, target_value, level1, level2, project, department, county,
    fiscal_year, score, source`` (score = cosine), best first, excluding the query indicator.

    Rows repeated verbatim (label and target) within one disclosure are shown once.
    """
    started = time.monotonic()
    query = (text_or_iri or "").strip()
    if not query:
        raise QueryRejected("empty text or IRI")
    k = min(max(1, int(k)), index.options.max_k)
    view = index._current_view()
    if view is None:
        return []
    query_key = None
    if is_iri(query):
        rows = [r for r in view.items.rows_for_iri(query, view.gen) if r[2] == "indicator"] or \
            view.items.rows_for_iri(query, view.gen)
        if not rows:
            raise QueryRejected(f"no indexed resource has the IRI {query[:200]}; pass an indicator's IRI "
                                "or free text", status=404)
        _, iri, type_, graph, data, vec, name = rows[0]
        query_item = item_from_row(iri, type_, graph, data)
        query_key = (query_item.label, query_item.extra.get("target_value"), query_item.disclosure)
        # The name vector: what the indicator measures, without its project as context.
        vector = index.vectors([name if name is not None else vec], view)[0]
    else:
        query = query[:index.options.max_query_chars]
        vector = index.encode_query(query)
        measures = chinese_measure_words(query)
        if measures:
            # English phrasing: add the Chinese measure words it names (see search.measure_terms),
            # so short Chinese labels are found by meaning, not only by the model's cross-lingual pull.
            combined = vector + index.encode_query(" ".join(measures))
            vector = combined / max(float(np.linalg.norm(combined)), 1e-9)
    _check(deadline, started)
    # Over-fetch: generic rows (群众满意度 under every project) fold into one below.
    n = 4 * k + 20
    ranking = sorted([(score, vid, "name") for vid, score in index.vector_hits(view, "indicator-name", vector, n)] +
                     [(score, vid, "vec") for vid, score in index.vector_hits(view, "indicator", vector, n)],
                     key=lambda x: -x[0])
    per_text = max(2, math.ceil(k / 3))
    hits, seen_iris, shown, counties = [], {query} if query_key else set(), set(), set()
    for score, vid, column in ranking:
        _check(deadline, started)
        rows = view.items.rows_for_vectors(column, "indicator", [vid], view.gen, ROWS_PER_TEXT).get(vid, [])
        meta = view.items.fetch(rows, view.gen)
        items = [item_from_row(*meta[r][:4]) for r in rows if r in meta and meta[r][0] not in seen_iris]
        # Counties not shown yet first, then the rest in row order.
        items.sort(key=lambda it: it.county in counties)
        taken = 0
        for item in items:
            if item.iri in seen_iris:
                continue
            # The same row printed under several projects of one disclosure is one finding here.
            key = (item.label, item.extra.get("target_value"), item.disclosure)
            if key in shown or key == query_key:
                continue
            seen_iris.add(item.iri)
            shown.add(key)
            counties.add(item.county)
            hits.append({"iri": item.iri, "label": item.label, "target_value": item.extra.get("target_value"),
                         "level1": item.extra.get("level1"), "level2": item.extra.get("level2"),
                         "project": item.project, "department": item.department, "county": item.county,
                         "fiscal_year": item.fiscal_year, "score": round(float(score), 6), "source": item.source})
            taken += 1
            if len(hits) >= k or taken >= per_text:
                break
        if len(hits) >= k:
            break
    return hits


def _check(deadline: float | None, started: float) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise QueryTimeout(max(0.0, deadline - started))
