"""What gets embedded and indexed: items pulled from the graph store by SPARQL.

One item per searchable resource, keyed to its IRI: every performance indicator (三级指标 with its
levels, target value and project as context), every project (name, aliases, goal), every legal
document (文号 and title), every coded budget line (so codes like 2101202 are findable) and the
narrative passages (部门职责, 绩效目标, 工作保障措施, 情况说明 ...), split into paragraph-sized chunks.
Each item carries its context (department, county, fiscal year, project) and its source (file,
line range, page) so a hit can be shown and checked without another query.

The store is the source of truth: items are read per disclosure named graph, so an index can be
refreshed for just the graphs that changed (``store_state`` fingerprints them).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Iterable

from ontology.terms import GRAPH_BASE
from search.lexical import DOC_NUMBER
from search.sparql import PREFIXES, iri, text, value
from search.store import GraphStore

DISCLOSURE_GRAPH_PREFIX = GRAPH_BASE + "disclosure/"
ITEM_TYPES = ("indicator", "project", "legal", "text", "line")

# Longest chunk of a passage, in characters; paragraphs are merged up to this size.
CHUNK_CHARS = 320
# Longest goal text embedded with a project (the rest still goes to the lexical index).
GOAL_CHARS = 240


@dataclass
class Item:
    """One searchable thing. ``text`` is what is embedded and shown; ``lex`` adds words for BM25."""

    iri: str
    type: str
    label: str
    text: str
    graph: str
    disclosure: str | None = None
    department: str | None = None
    county: str | None = None
    fiscal_year: int | None = None
    project: str | None = None
    project_iri: str | None = None
    source: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    lex: str = ""
    chunk: int = 0

    def to_json(self) -> dict:
        return {"iri": self.iri, "type": self.type, "label": self.label, "text": self.text,
                "graph": self.graph, "disclosure": self.disclosure, "department": self.department,
                "county": self.county, "fiscal_year": self.fiscal_year, "project": self.project,
                "project_iri": self.project_iri, "source": self.source, "extra": self.extra,
                "lex": self.lex, "chunk": self.chunk}

    @staticmethod
    def from_json(data: dict) -> "Item":
        return Item(**data)


# ------------------------------------------------------------------ store state


def store_state(store: GraphStore) -> dict[str, str]:
    """Fingerprint of every disclosure graph: ``{graph IRI: "sha256:triples"}``.

    The file hash alone would miss a re-ingest of the same file by a better parser; the triple
    count alone would miss an edit that keeps the count. Together they catch what matters.
    """
    counts = store.query(PREFIXES + f"""
SELECT ?g (COUNT(*) AS ?n) WHERE {{
  GRAPH ?g {{ ?s ?p ?o }}
  FILTER(STRSTARTS(STR(?g), "{DISCLOSURE_GRAPH_PREFIX}"))
}} GROUP BY ?g""")
    shas = store.query(PREFIXES + f"""
SELECT ?g ?sha WHERE {{
  GRAPH ?g {{ ?d a bkg:Disclosure . OPTIONAL {{ ?d bkg:sha256 ?sha }} }}
  FILTER(STRSTARTS(STR(?g), "{DISCLOSURE_GRAPH_PREFIX}"))
}}""")
    sha_of = {str(r["g"]): text(r.get("sha")) or "" for r in shas.rows}
    return {str(r["g"]): f"{sha_of.get(str(r['g']), '')}:{int(value(r['n']))}" for r in counts.rows}


# ------------------------------------------------------------------ disclosure context


@dataclass
class Context:
    """Who published a disclosure, where and when; copied onto each of its items."""

    graph: str
    disclosure: str
    department: str | None = None
    department_iri: str | None = None
    county: str | None = None
    area_iri: str | None = None
    areas: list[str] = field(default_factory=list)  # county, prefecture, province labels (upwards)
    fiscal_year: int | None = None
    file: str | None = None


def graph_filter(var: str, graphs: Iterable[str] | None) -> str:
    if graphs is None:
        return f'FILTER(STRSTARTS(STR(?{var}), "{DISCLOSURE_GRAPH_PREFIX}"))'
    body = " ".join(iri(g, base=GRAPH_BASE) for g in graphs)
    return f"VALUES ?{var} {{ {body} }}"


def _prefer_zh(rows: list, key: str) -> str | None:
    """The label to show: a @zh or untagged one before any other language."""
    best = None
    for r in rows:
        term = r.get(key)
        if term is None:
            continue
        lang = getattr(term, "language", None)
        if lang in (None, "", "zh") or (lang or "").startswith("zh"):
            return str(term)
        best = best or str(term)
    return best


def disclosure_contexts(store: GraphStore, graphs: Iterable[str] | None = None) -> dict[str, Context]:
    """Context of each disclosure graph (all disclosure graphs when ``graphs`` is None)."""
    result = store.query(PREFIXES + f"""
SELECT ?g ?d ?year ?file ?dept ?deptLabel ?area ?areaLabel WHERE {{
  {graph_filter("g", graphs)}
  GRAPH ?g {{ ?d a bkg:Disclosure }}
  OPTIONAL {{ ?d bkg:fiscalYear ?year }}
  OPTIONAL {{ ?d bkg:fileName ?file }}
  OPTIONAL {{ ?d bkg:publishedBy ?dept .
             OPTIONAL {{ ?dept rdfs:label ?deptLabel }}
             OPTIONAL {{ ?dept bkg:area ?area . OPTIONAL {{ ?area rdfs:label ?areaLabel }} }} }}
}}""")
    grouped: dict[str, list] = defaultdict(list)
    for row in result.rows:
        grouped[str(row["g"])].append(row)
    uppers = _area_ancestors(store, {str(r["area"]) for r in result.rows if r.get("area") is not None})
    out = {}
    for g, rows in grouped.items():
        first = rows[0]
        area = text(first.get("area"))
        county = _prefer_zh(rows, "areaLabel")
        year = value(first.get("year"))
        out[g] = Context(graph=g, disclosure=str(first["d"]), department=_prefer_zh(rows, "deptLabel"),
                         department_iri=text(first.get("dept")), county=county, area_iri=area,
                         areas=[a for a in [county, *uppers.get(area or "", [])] if a],
                         fiscal_year=int(year) if year is not None else None, file=text(first.get("file")))
    return out


def _area_ancestors(store: GraphStore, areas: set[str]) -> dict[str, list[str]]:
    """Labels of the areas each area is part of, nearest first (prefecture, then province)."""
    if not areas:
        return {}
    body = " ".join(iri(a) for a in sorted(areas))
    # Direct partOf edges of the chains above the areas; the order is rebuilt by walking them
    # (bkg:partOf is transitive, so a store that materialised inferences has shortcut edges).
    result = store.query(PREFIXES + f"""
SELECT DISTINCT ?x ?up ?upLabel WHERE {{
  VALUES ?area {{ {body} }}
  ?area bkg:partOf* ?x . ?x bkg:partOf ?up .
  OPTIONAL {{ ?up rdfs:label ?upLabel }}
}}""")
    parents: dict[str, set[str]] = defaultdict(set)
    label_rows: dict[str, list] = defaultdict(list)
    for row in result.rows:
        parents[str(row["x"])].add(str(row["up"]))
        label_rows[str(row["up"])].append(row)
    out = {}
    for area in areas:
        chain, node, seen = [], area, {area}
        while True:
            ups = [u for u in parents.get(node, ()) if u not in seen]
            if not ups:
                break
            # The nearest parent is the one the others are above of.
            ups.sort(key=lambda u: -len(_reach(u, parents)))
            node = ups[0]
            seen.add(node)
            label = _prefer_zh(label_rows[node], "upLabel")
            if label:
                chain.append(label)
        out[area] = chain
    return out


def _reach(node: str, parents: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), [node]
    while todo:
        for up in parents.get(todo.pop(), ()):
            if up not in seen:
                seen.add(up)
                todo.append(up)
    return seen


# ------------------------------------------------------------------ items


def _source(ctx: Context | None, row: dict) -> dict:
    start, end, page = value(row.get("ls")), value(row.get("le")), value(row.get("page"))
    lines = [int(start), int(end if end is not None else start)] if start is not None else None
    return {"file": ctx.file if ctx else None, "lines": lines, "page": int(page) if page is not None else None}


def _base(kind: str, row: dict, label: str, body: str, ctx: Context | None, graph: str) -> Item:
    return Item(iri=str(row["s"]), type=kind, label=label, text=body, graph=graph,
                disclosure=ctx.disclosure if ctx else None, department=ctx.department if ctx else None,
                county=ctx.county if ctx else None, fiscal_year=ctx.fiscal_year if ctx else None,
                source=_source(ctx, row))


def _group(rows) -> dict[tuple[str, str], list]:
    grouped: dict[tuple[str, str], list] = defaultdict(list)
    for row in rows:
        grouped[(str(row["g"]), str(row["s"]))].append(row)
    return grouped


def _all(rows: list, key: str) -> list[str]:
    seen: list[str] = []
    for r in rows:
        v = r.get(key)
        if v is not None and str(v) not in seen:
            seen.append(str(v))
    return seen


_PROV = """OPTIONAL { ?s bkg:lineStart ?ls } OPTIONAL { ?s bkg:lineEnd ?le } OPTIONAL { ?s bkg:page ?page }"""


def indicator_items(store: GraphStore, contexts: dict[str, Context], graphs=None) -> list[Item]:
    result = store.query(PREFIXES + f"""
SELECT ?g ?s ?label ?value ?basis ?desc ?l1 ?l2 ?p ?pLabel ?ls ?le ?page WHERE {{
  {graph_filter("g", graphs)}
  GRAPH ?g {{ ?s a bkg:PerformanceIndicator . {_PROV}
    OPTIONAL {{ ?s rdfs:label ?label }}
    OPTIONAL {{ ?s bkg:targetValue ?value }}
    OPTIONAL {{ ?s bkg:valueBasis ?basis }}
    OPTIONAL {{ ?s bkg:indicatorDescription ?desc }}
    OPTIONAL {{ ?p bkg:hasIndicator ?s . ?p a bkg:Project . OPTIONAL {{ ?p rdfs:label ?pLabel }} }} }}
  OPTIONAL {{ ?s bkg:indicatorLevel1 ?c1 . ?c1 skos:prefLabel|rdfs:label ?l1 }}
  OPTIONAL {{ ?s bkg:indicatorLevel2 ?c2 . ?c2 skos:prefLabel|rdfs:label ?l2 }}
}}""")
    items = []
    for (g, _), rows in _group(result.rows).items():
        ctx = contexts.get(g)
        label = _prefer_zh(rows, "label") or ""
        target = _prefer_zh(rows, "value") or ""
        l1, l2 = _prefer_zh(rows, "l1"), _prefer_zh(rows, "l2")
        project = _prefer_zh(rows, "pLabel")
        basis = _prefer_zh(rows, "basis") or ""
        desc = _prefer_zh(rows, "desc") or ""
        context = "；".join(x for x in (l2, project) if x)
        body = f"{label}：{target}" if target else label
        if context:
            body += f"（{context}）"
        item = _base("indicator", rows[0], label, body, ctx, g)
        item.project, item.project_iri = project, text(rows[0].get("p"))
        item.extra = {"target_value": target or None, "level1": l1, "level2": l2}
        item.lex = " ".join(x for x in (label, desc if desc != label else "", target, l1 or "", l2 or "",
                                        project or "", basis) if x)
        items.append(item)
    return items


def project_items(store: GraphStore, contexts: dict[str, Context], graphs=None) -> list[Item]:
    result = store.query(PREFIXES + f"""
SELECT ?g ?s ?label ?alt ?amount ?goal ?code ?docNo ?ls ?le ?page WHERE {{
  {graph_filter("g", graphs)}
  GRAPH ?g {{ ?s a bkg:Project . {_PROV}
    OPTIONAL {{ ?s rdfs:label ?label }}
    OPTIONAL {{ ?s skos:altLabel ?alt }}
    OPTIONAL {{ ?s bkg:amount ?amount }}
    OPTIONAL {{ ?s bkg:goal ?goal }}
    OPTIONAL {{ ?s bkg:projectCode ?code }} }}
  OPTIONAL {{ ?s bkg:legalBasis ?doc . ?doc bkg:documentNumber ?docNo }}
}}""")
    items = []
    for (g, _), rows in _group(result.rows).items():
        ctx = contexts.get(g)
        label = _prefer_zh(rows, "label") or ""
        aliases = [a for a in _all(rows, "alt") if a != label]
        goal = _prefer_zh(rows, "goal") or ""
        amount = value(rows[0].get("amount"))
        body = label
        if aliases:
            body += "（" + "；".join(aliases) + "）"
        if goal:
            body += "：" + _clip(goal, GOAL_CHARS)
        item = _base("project", rows[0], label, body, ctx, g)
        item.project, item.project_iri = label, item.iri
        item.extra = {"amount": float(amount) if amount is not None else None, "aliases": aliases,
                      "code": text(rows[0].get("code"))}
        item.lex = " ".join([label, *aliases, goal, text(rows[0].get("code")) or "", *_all(rows, "docNo")])
        items.append(item)
    return items


def legal_items(store: GraphStore, contexts: dict[str, Context], graphs=None) -> list[Item]:
    # Legal documents are shared across disclosures (one IRI per 文号): one item per citing
    # disclosure graph, so each hit names the county that cites it.
    result = store.query(PREFIXES + f"""
PREFIX dct: <http://purl.org/dc/terms/>
SELECT ?g ?s ?number ?label ?title ?raw ?pLabel ?ls ?le ?page WHERE {{
  {graph_filter("g", graphs)}
  # A document's description may live in a graph shared by all disclosures; which disclosure
  # cites it (fromDisclosure, lines) lives in that disclosure's graph.
  GRAPH ?g {{ ?s bkg:fromDisclosure ?d . {_PROV}
    OPTIONAL {{ ?p bkg:legalBasis ?s . ?p a bkg:Project ; rdfs:label ?pLabel }} }}
  ?s a bkg:LegalDocument .
  OPTIONAL {{ ?s bkg:documentNumber ?number }}
  OPTIONAL {{ ?s rdfs:label ?label }}
  OPTIONAL {{ ?s dct:title ?title }}
  OPTIONAL {{ ?s skos:hiddenLabel ?raw }}
}}""")
    items = []
    for (g, _), rows in _group(result.rows).items():
        ctx = contexts.get(g)
        number = _prefer_zh(rows, "number") or ""
        title = _prefer_zh(rows, "title") or ""
        label = number or title or _prefer_zh(rows, "label") or ""
        body = " ".join(x for x in (number, f"《{title}》" if title and title != number else "") if x) or label
        item = _base("legal", rows[0], label, body, ctx, g)
        projects = _all(rows, "pLabel")
        item.project = projects[0] if projects else None
        item.extra = {"document_number": number or None, "title": title or None, "cited_by": projects}
        item.lex = " ".join([body, *_all(rows, "raw"), *projects])
        items.append(item)
    return items


def line_items(store: GraphStore, contexts: dict[str, Context], graphs=None) -> list[Item]:
    result = store.query(PREFIXES + f"""
SELECT ?g ?s ?label ?code ?name ?amount ?kind ?ls ?le ?page WHERE {{
  {graph_filter("g", graphs)}
  GRAPH ?g {{ ?s a bkg:BudgetLine . {_PROV}
    OPTIONAL {{ ?s rdfs:label ?label }}
    OPTIONAL {{ ?s bkg:amount ?amount }}
    OPTIONAL {{ ?s bkg:classificationKind ?kind }}
    OPTIONAL {{ ?s bkg:classification ?c }} }}
  OPTIONAL {{ ?c skos:notation ?code }}
  OPTIONAL {{ ?c skos:prefLabel ?name }}
}}""")
    best: dict[tuple[str, str], tuple[Item, int]] = {}
    for (g, _), rows in _group(result.rows).items():
        ctx = contexts.get(g)
        code = text(rows[0].get("code"))
        name = _prefer_zh(rows, "name") or ""
        label = _prefer_zh(rows, "label") or " ".join(x for x in (code, name) if x)
        if not label:
            continue
        amount = value(rows[0].get("amount"))
        item = _base("line", rows[0], label, label, ctx, g)
        item.extra = {"code": code, "amount": float(amount) if amount is not None else None,
                      "classification_kind": text(rows[0].get("kind"))}
        item.lex = label
        # The same code is printed in several standard tables: keep one item per code and
        # disclosure, the one with the largest amount (the 合计 of the widest table).
        key = (g, code or name)
        rank = int(float(amount or 0) * 100)
        if key not in best or rank > best[key][1]:
            best[key] = (item, rank)
    return [item for item, _ in best.values()]


def passage_items(store: GraphStore, contexts: dict[str, Context], graphs=None) -> list[Item]:
    result = store.query(PREFIXES + f"""
SELECT ?g ?s ?kind ?title ?body ?p ?pLabel ?ls ?le ?page WHERE {{
  {graph_filter("g", graphs)}
  GRAPH ?g {{ ?s a bkg:TextPassage ; bkg:text ?body . {_PROV}
    OPTIONAL {{ ?s bkg:sectionKind ?kind }}
    OPTIONAL {{ ?s rdfs:label ?title }}
    OPTIONAL {{ ?p bkg:hasPassage ?s . ?p a bkg:Project . OPTIONAL {{ ?p rdfs:label ?pLabel }} }} }}
}}""")
    items = []
    for (g, _), rows in _group(result.rows).items():
        ctx = contexts.get(g)
        body = _prefer_zh(rows, "body") or ""
        title = _prefer_zh(rows, "title") or ""
        kind = text(rows[0].get("kind"))
        project = _prefer_zh(rows, "pLabel")
        start = value(rows[0].get("ls"))
        end = value(rows[0].get("le"))
        for n, (chunk, offset) in enumerate(chunk_text(body)):
            if not _worth_indexing(chunk, ctx):
                continue
            # The heading says what the paragraph is (部门职责, 立项依据 ...): embed it with the text.
            shown = f"{title}：{chunk}" if title and not chunk.startswith(title) else chunk
            item = _base("text", rows[0], title or (kind or "passage"), shown, ctx, g)
            item.chunk = n
            item.project, item.project_iri = project, text(rows[0].get("p"))
            item.extra = {"section": kind, "title": title or None}
            item.lex = " ".join(x for x in (title, project or "", chunk) if x)
            item.source = dict(item.source)
            # Where the passage keeps its source line breaks, point at the chunk's own lines.
            if start is not None and end is not None and body.count("\n") == int(end) - int(start):
                first = int(start) + body.count("\n", 0, offset)
                item.source["lines"] = [first, first + chunk.count("\n")]
            items.append(item)
    return items


_CJK_CHAR = re.compile(r"[\u3400-\u9fff]")
# Fewer CJK characters than this is a form field (项目期: 1年, 实施单位: …), not a passage.
MIN_PASSAGE_CJK = 9


def _worth_indexing(chunk: str, ctx: Context | None) -> bool:
    """Skip form fields and fragments; keep anything citing a 文号 (lexical search needs it)."""
    if DOC_NUMBER.search(chunk):
        return True
    if ctx and chunk.strip() in {ctx.department, ctx.county}:
        return False
    return len(_CJK_CHAR.findall(chunk)) >= MIN_PASSAGE_CJK


def collect_items(store: GraphStore, graphs: Iterable[str] | None = None) -> list[Item]:
    """All items of the given disclosure graphs (all of them when ``graphs`` is None)."""
    graphs = None if graphs is None else sorted(set(graphs))
    if graphs is not None and not graphs:
        return []
    contexts = disclosure_contexts(store, graphs)
    items: list[Item] = []
    for collect in (indicator_items, project_items, legal_items, line_items, passage_items):
        items.extend(collect(store, contexts, graphs))
    items.extend(name_variants(items))
    items.sort(key=lambda it: (it.graph, ITEM_TYPES.index(it.type), it.iri, it.chunk))
    return items


def name_variants(items: list[Item]) -> list[Item]:
    """A second, name-only vector for projects and indicators.

    The full text (name + goal, or label + value + project) is what a Chinese paraphrase matches
    best; a short English question ("publicly funded medical care") matches the bare name better.
    The variant shares the IRI (search keeps the better of the two) and adds nothing lexically.
    """
    out = []
    for it in items:
        if it.type not in ("project", "indicator"):
            continue
        name = it.label
        if it.type == "project" and it.extra.get("aliases"):
            name += "；" + "；".join(it.extra["aliases"])
        if name and name != it.text:
            out.append(replace(it, text=name, lex="", chunk=1, extra={**it.extra, "variant": "name"},
                               source=dict(it.source)))
    return out


# ------------------------------------------------------------------ text helpers

_SENTENCE_END = re.compile(r"(?<=[。；;！？!?])")


def _clip(s: str, n: int) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[:n] + "…"


def chunk_text(body: str, size: int = CHUNK_CHARS) -> list[tuple[str, int]]:
    """Split a passage into paragraph-sized chunks: (chunk text, offset of its start in ``body``).

    Paragraphs (lines) are merged up to ``size`` characters; a longer paragraph is cut at
    sentence ends. Chunks keep their line breaks so source lines can still be counted.
    """
    chunks: list[tuple[str, int]] = []
    cur, cur_start, pos = "", 0, 0
    for line in body.splitlines(keepends=True):
        start = pos
        pos += len(line)
        if not line.strip():
            continue
        pieces = [line] if len(line) <= size else _split_sentences(line, size)
        offset = start
        for piece in pieces:
            if cur and len(cur) + len(piece) > size:
                chunks.append((cur.strip(), cur_start))
                cur = ""
            if not cur:
                cur_start = offset
            cur += piece
            offset += len(piece)
    if cur.strip():
        chunks.append((cur.strip(), cur_start))
    return chunks


def _split_sentences(line: str, size: int) -> list[str]:
    out, cur = [], ""
    for sentence in _SENTENCE_END.split(line):
        if cur and len(cur) + len(sentence) > size:
            out.append(cur)
            cur = ""
        while len(sentence) > size:
            out.append(sentence[:size])
            sentence = sentence[size:]
        cur += sentence
    if cur:
        out.append(cur)
    return out
