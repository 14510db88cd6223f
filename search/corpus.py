"""What gets embedded and indexed: items pulled from the graph store by SPARQL.

One item per searchable resource, keyed to its IRI: every performance indicator (三级指标 with its
levels, target value and project as context), every project (name, aliases, goal), every legal
document (文号 and title), every coded budget line (so codes like 2101202 are findable) and the
narrative passages (部门职责, 绩效目标, 工作保障措施, 情况说明 ...), split into paragraph-sized chunks.
Each item carries its context (department, county, fiscal year, project) and its source (file,
line range, page) so a hit can be shown and checked without another query.

What is embedded per item: ``embed_text`` (the shown text; passages clipped to ``EMBED_CHARS``:
on the retrieval benchmark a 100-character head ranked as well as the whole chunk, at a third of
the encoder's work; indicators without their level-2 category) and, for indicators, ``name``
(the bare label: what ``similar`` compares).

The store is the source of truth: items are read per disclosure named graph, so an index can be
refreshed for just the graphs that changed (``store_state`` fingerprints them). Each query names
its graphs as constants (``GRAPH <g>``, a UNION of one block per graph): a ``VALUES ?g`` list is
joined after a scan of every graph, which took ~60 s per query on a 10,000-disclosure Oxigraph
store, while constant graphs read ~0.04 s per disclosure. Data shared between disclosures
(concept labels, legal-document titles, departments and areas) is looked up once per batch by
subject and remembered across batches (``Lookups``).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from ontology.terms import GRAPH_BASE, INSTANCE_BASE
from search.lexical import DOC_NUMBER
from search.sparql import PREFIXES, iri, text, value
from search.store import GraphStore, select_all

DISCLOSURE_GRAPH_PREFIX = GRAPH_BASE + "disclosure/"
LEGAL_PREFIX = INSTANCE_BASE + "legal/"
ITEM_TYPES = ("indicator", "project", "legal", "text", "line")

# Longest chunk of a passage, in characters; paragraphs are merged up to this size.
CHUNK_CHARS = 320
# Longest goal text embedded with a project (the rest still goes to the lexical index).
GOAL_CHARS = 240
# Characters of a passage that are embedded (the lexical index keeps all of it).
EMBED_CHARS = 100
# Graphs per SPARQL query: one UNION block each (~1 KB of query text per block). A store may ask
# for fewer (``graphs_per_query``): Virtuoso refuses a query whose estimated cost passes its
# MaxQueryCostEstimationTime, and 50 blocks of OPTIONALs are estimated at ~25 minutes.
GRAPHS_PER_QUERY = 50


def graphs_per_query(store: GraphStore) -> int:
    """Disclosure graphs read per query from ``store``."""
    return int(getattr(store, "graphs_per_query", GRAPHS_PER_QUERY) or GRAPHS_PER_QUERY)
# Subjects per VALUES lookup of shared data.
LOOKUP_BATCH = 500


@dataclass
class Item:
    """One searchable thing. ``text`` is what is shown, ``embed_text`` what is embedded, ``name``
    the bare label of an indicator (its second vector), ``lex`` the words for the lexical index."""

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
    embed: str = ""
    name: str = ""

    @property
    def embed_text(self) -> str:
        return self.embed or self.text

    def to_json(self) -> dict:
        return {"iri": self.iri, "type": self.type, "label": self.label, "text": self.text,
                "graph": self.graph, "disclosure": self.disclosure, "department": self.department,
                "county": self.county, "fiscal_year": self.fiscal_year, "project": self.project,
                "project_iri": self.project_iri, "source": self.source, "extra": self.extra,
                "lex": self.lex, "chunk": self.chunk, "embed": self.embed, "name": self.name}

    @staticmethod
    def from_json(data: dict) -> "Item":
        return Item(**data)


# ------------------------------------------------------------------ store state


def store_state(store: GraphStore) -> dict[str, str]:
    """Fingerprint of every disclosure graph: ``{graph IRI: "sha256:typed"}``.

    ``typed`` is the number of ``rdf:type`` statements in the graph. The file hash alone would
    miss a re-ingest of the same file by a better parser (new or fewer resources); counting every
    triple would catch more but read the whole store (10 s warm, 37 s cold at 10,000
    disclosures), where the type statements take ~1.5 s.
    """
    typed = select_all(store, PREFIXES + f"""
SELECT ?g (COUNT(*) AS ?n) WHERE {{
  GRAPH ?g {{ ?s a ?type }}
  FILTER(STRSTARTS(STR(?g), "{DISCLOSURE_GRAPH_PREFIX}"))
}} GROUP BY ?g""")
    sha_of = store_files(store)
    return {str(r["g"]): f"{sha_of.get(str(r['g']), '')}:{int(value(r['n']))}" for r in typed}


def store_files(store: GraphStore) -> dict[str, str]:
    """The file hash of every disclosure graph: ``{graph IRI: sha256}``, the cheap half of
    ``store_state`` (0.9 s against 7 s for the type counts at 10,000 disclosures)."""
    shas = select_all(store, PREFIXES + f"""
SELECT ?g ?sha WHERE {{
  GRAPH ?g {{ ?d a bkg:Disclosure . OPTIONAL {{ ?d bkg:sha256 ?sha }} }}
  FILTER(STRSTARTS(STR(?g), "{DISCLOSURE_GRAPH_PREFIX}"))
}}""")
    return {str(r["g"]): text(r.get("sha")) or "" for r in shas}


# ------------------------------------------------------------------ query shapes


def in_graphs(graphs: Iterable[str] | None, body: str) -> str:
    """``body`` evaluated inside each graph, the graph bound to ``?g``: one UNION block per graph.

    ``graphs=None`` means every disclosure graph (one pattern over all of them).
    """
    if graphs is None:
        return f'GRAPH ?g {{ {body} }} FILTER(STRSTARTS(STR(?g), "{DISCLOSURE_GRAPH_PREFIX}"))'
    blocks = []
    for g in graphs:
        ref = iri(g, base=GRAPH_BASE)
        blocks.append(f"{{ BIND({ref} AS ?g) GRAPH {ref} {{ {body} }} }}")
    return "\n UNION ".join(blocks)


def _prefer_zh(rows: list, key: str) -> str | None:
    """The label to show: a @zh or untagged one before any other language; between several, the
    first in code-point order (an item's text must not depend on the order a store returns rows
    in: the index reads the same graph from the store or from an ingest's spool)."""
    chinese, other = [], []
    for r in rows:
        term = r.get(key)
        if term is None:
            continue
        lang = getattr(term, "language", None)
        (chinese if lang in (None, "", "zh") or (lang or "").startswith("zh") else other).append(str(term))
    return min(chinese or other) if chinese or other else None


def _group(rows, key: str = "s") -> dict[tuple[str, str], list]:
    grouped: dict[tuple[str, str], list] = defaultdict(list)
    for row in rows:
        grouped[(str(row["g"]), str(row[key]))].append(row)
    return grouped


def _project_of(rows: list) -> tuple[str | None, str | None]:
    """(IRI, label) of the project rows name (``?p``, ``?pLabel``); the first IRI in order when
    several projects hold the same resource."""
    iris = _all(rows, "p")
    if not iris:
        return None, None
    return iris[0], _prefer_zh([r for r in rows if str(r.get("p")) == iris[0]], "pLabel")


def _all(rows: list, key: str) -> list[str]:
    """Every value of ``key`` in the rows, once each, sorted (not in the store's row order)."""
    return sorted({str(r[key]) for r in rows if r.get(key) is not None})


# ------------------------------------------------------------------ shared data


class Lookups:
    """Data shared between disclosures, fetched by subject and remembered across batches:
    concept labels (indicator levels), classification codes and names, legal documents,
    departments and the chain of areas above each county."""

    def __init__(self, store: GraphStore):
        self.store = store
        self._concepts: dict[str, str | None] = {}
        self._classifications: dict[str, tuple[str | None, str | None]] = {}
        self._legal: dict[str, dict | None] = {}
        self._departments: dict[str, tuple[str | None, str | None, str | None]] = {}
        self._areas: dict[str, list[str]] = {}

    def _fetch(self, subjects: Iterable[str], cache: dict, query_body: str, fill) -> None:
        todo = sorted({s for s in subjects if s and s not in cache})
        for i in range(0, len(todo), LOOKUP_BATCH):
            batch = todo[i:i + LOOKUP_BATCH]
            values = " ".join(iri(s, base=None) for s in batch)
            result = self.store.query(PREFIXES + query_body.replace("$VALUES", values))
            grouped: dict[str, list] = defaultdict(list)
            for row in result.rows:
                grouped[str(row["s"])].append(row)
            for s in batch:
                cache[s] = fill(grouped.get(s, []))

    def concepts(self, subjects: Iterable[str]) -> dict[str, str | None]:
        self._fetch(subjects, self._concepts, """
SELECT ?s ?l WHERE { VALUES ?s { $VALUES } ?s skos:prefLabel|rdfs:label ?l }""", lambda rows: _prefer_zh(rows, "l"))
        return self._concepts

    def classifications(self, subjects: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
        self._fetch(subjects, self._classifications, """
SELECT ?s ?code ?name WHERE { VALUES ?s { $VALUES }
  OPTIONAL { ?s skos:notation ?code } OPTIONAL { ?s skos:prefLabel ?name } }""",
                    lambda rows: (text(rows[0].get("code")) if rows else None, _prefer_zh(rows, "name")))
        return self._classifications

    def legal(self, subjects: Iterable[str]) -> dict[str, dict | None]:
        def fill(rows):
            if not rows:
                return None  # not a bkg:LegalDocument
            return {"number": _prefer_zh(rows, "number") or "", "title": _prefer_zh(rows, "title") or "",
                    "label": _prefer_zh(rows, "label") or "", "raw": _all(rows, "raw")}
        self._fetch(subjects, self._legal, """
SELECT ?s ?number ?label ?title ?raw WHERE { VALUES ?s { $VALUES } ?s a bkg:LegalDocument .
  OPTIONAL { ?s bkg:documentNumber ?number } OPTIONAL { ?s rdfs:label ?label }
  OPTIONAL { ?s dct:title ?title } OPTIONAL { ?s skos:hiddenLabel ?raw } }""", fill)
        return self._legal

    def departments(self, subjects: Iterable[str]) -> dict[str, tuple[str | None, str | None, str | None]]:
        """Department -> (label, area IRI, area label)."""
        self._fetch(subjects, self._departments, """
SELECT ?s ?deptLabel ?area ?areaLabel WHERE { VALUES ?s { $VALUES }
  OPTIONAL { ?s rdfs:label ?deptLabel }
  OPTIONAL { ?s bkg:area ?area . OPTIONAL { ?area rdfs:label ?areaLabel } } }""",
                    lambda rows: (_prefer_zh(rows, "deptLabel"), text(rows[0].get("area")) if rows else None,
                                  _prefer_zh(rows, "areaLabel")))
        return self._departments

    def area_chains(self, areas: Iterable[str]) -> dict[str, list[str]]:
        todo = {a for a in areas if a and a not in self._areas}
        if todo:
            self._areas.update(_area_ancestors(self.store, todo))
        return self._areas


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


def disclosure_contexts(store: GraphStore, graphs: Iterable[str] | None = None,
                        lookups: Lookups | None = None) -> dict[str, Context]:
    """Context of each disclosure graph (all disclosure graphs when ``graphs`` is None)."""
    lookups = lookups or Lookups(store)
    result = store.query(PREFIXES + f"""
SELECT ?g ?d ?year ?file ?dept WHERE {{
  {in_graphs(graphs, "?d a bkg:Disclosure . OPTIONAL { ?d bkg:fiscalYear ?year } "
                     "OPTIONAL { ?d bkg:fileName ?file } OPTIONAL { ?d bkg:publishedBy ?dept }")}
}}""")
    grouped: dict[str, list] = defaultdict(list)
    for row in result.rows:
        grouped[str(row["g"])].append(row)
    departments = lookups.departments(text(r.get("dept")) for r in result.rows)
    chains = lookups.area_chains(departments[d][1] for d in {text(r.get("dept")) for r in result.rows} if d)
    out = {}
    for g, rows in grouped.items():
        first = rows[0]
        dept = text(first.get("dept"))
        label, area, county = departments.get(dept, (None, None, None)) if dept else (None, None, None)
        year = value(first.get("year"))
        out[g] = Context(graph=g, disclosure=str(first["d"]), department=label, department_iri=dept,
                         county=county, area_iri=area, areas=[a for a in [county, *chains.get(area or "", [])] if a],
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


_PROV = """OPTIONAL { ?s bkg:lineStart ?ls } OPTIONAL { ?s bkg:lineEnd ?le } OPTIONAL { ?s bkg:page ?page }"""


def indicator_items(store: GraphStore, contexts: dict[str, Context], graphs=None,
                    lookups: Lookups | None = None) -> list[Item]:
    lookups = lookups or Lookups(store)
    result = store.query(PREFIXES + f"""
SELECT ?g ?s ?label ?value ?basis ?desc ?c1 ?c2 ?p ?pLabel ?ls ?le ?page WHERE {{
  {in_graphs(graphs, f'''?s a bkg:PerformanceIndicator . {_PROV}
    OPTIONAL {{ ?s rdfs:label ?label }}
    OPTIONAL {{ ?s bkg:targetValue ?value }}
    OPTIONAL {{ ?s bkg:valueBasis ?basis }}
    OPTIONAL {{ ?s bkg:indicatorDescription ?desc }}
    OPTIONAL {{ ?s bkg:indicatorLevel1 ?c1 }}
    OPTIONAL {{ ?s bkg:indicatorLevel2 ?c2 }}
    OPTIONAL {{ ?p bkg:hasIndicator ?s . ?p a bkg:Project . OPTIONAL {{ ?p rdfs:label ?pLabel }} }}''')}
}}""")
    concepts = lookups.concepts(text(r.get(k)) for r in result.rows for k in ("c1", "c2"))
    items = []
    for (g, _), rows in _group(result.rows).items():
        ctx = contexts.get(g)
        label = _prefer_zh(rows, "label") or ""
        target = _prefer_zh(rows, "value") or ""
        l1 = next((concepts.get(c) for c in _all(rows, "c1") if concepts.get(c)), None)
        l2 = next((concepts.get(c) for c in _all(rows, "c2") if concepts.get(c)), None)
        project_iri, project = _project_of(rows)
        basis = _prefer_zh(rows, "basis") or ""
        desc = _prefer_zh(rows, "desc") or ""
        context = "；".join(x for x in (l2, project) if x)
        body = f"{label}：{target}" if target else label
        if context:
            body += f"（{context}）"
        item = _base("indicator", rows[0], label, body, ctx, g)
        item.project, item.project_iri = project, project_iri
        item.extra = {"target_value": target or None, "level1": l1, "level2": l2}
        item.lex = " ".join(x for x in (label, desc if desc != label else "", target, l1 or "", l2 or "",
                                        project or "", basis) if x)
        # Embedded without the level-2 category (数量指标, 满意度指标 ...): as good on the retrieval
        # benchmark (hybrid recall@1 1.000 either way) and a tenth fewer tokens to encode.
        embed = (f"{label}：{target}" if target else label) + (f"（{project}）" if project else "")
        item.embed = embed if embed != body else ""
        item.name = label
        items.append(item)
    return items


def project_items(store: GraphStore, contexts: dict[str, Context], graphs=None,
                  lookups: Lookups | None = None) -> list[Item]:
    lookups = lookups or Lookups(store)
    result = store.query(PREFIXES + f"""
SELECT ?g ?s ?label ?alt ?amount ?goal ?code ?doc ?ls ?le ?page WHERE {{
  {in_graphs(graphs, f'''?s a bkg:Project . {_PROV}
    OPTIONAL {{ ?s rdfs:label ?label }}
    OPTIONAL {{ ?s skos:altLabel ?alt }}
    OPTIONAL {{ ?s bkg:amount ?amount }}
    OPTIONAL {{ ?s bkg:goal ?goal }}
    OPTIONAL {{ ?s bkg:projectCode ?code }}
    OPTIONAL {{ ?s bkg:legalBasis ?doc }}''')}
}}""")
    docs = lookups.legal(text(r.get("doc")) for r in result.rows)
    items = []
    for (g, _), rows in _group(result.rows).items():
        ctx = contexts.get(g)
        label = _prefer_zh(rows, "label") or ""
        aliases = [a for a in _all(rows, "alt") if a != label]
        goal = _prefer_zh(rows, "goal") or ""
        amount = value(rows[0].get("amount"))
        numbers = [d["number"] for d in (docs.get(x) for x in _all(rows, "doc")) if d and d["number"]]
        body = label
        if aliases:
            body += "（" + "；".join(aliases) + "）"
        if goal:
            body += "：" + _clip(goal, GOAL_CHARS)
        item = _base("project", rows[0], label, body, ctx, g)
        item.project, item.project_iri = label, item.iri
        item.extra = {"amount": float(amount) if amount is not None else None, "aliases": aliases,
                      "code": text(rows[0].get("code"))}
        item.lex = " ".join([label, *aliases, goal, text(rows[0].get("code")) or "", *numbers])
        items.append(item)
    return items


def legal_items(store: GraphStore, contexts: dict[str, Context], graphs=None,
                lookups: Lookups | None = None) -> list[Item]:
    # Legal documents are shared across disclosures (one IRI per 文号): one item per citing
    # disclosure graph, so each hit names the county that cites it. Their description lives in
    # a graph shared by all disclosures; which disclosure cites them (fromDisclosure, lines)
    # lives in that disclosure's graph.
    lookups = lookups or Lookups(store)
    result = store.query(PREFIXES + f"""
SELECT ?g ?s ?pLabel ?ls ?le ?page WHERE {{
  {in_graphs(graphs, f'''?s bkg:fromDisclosure ?d . FILTER(STRSTARTS(STR(?s), "{LEGAL_PREFIX}")) {_PROV}
    OPTIONAL {{ ?p bkg:legalBasis ?s . ?p a bkg:Project ; rdfs:label ?pLabel }}''')}
}}""")
    docs = lookups.legal(str(r["s"]) for r in result.rows)
    items = []
    for (g, s), rows in _group(result.rows).items():
        doc = docs.get(s)
        if doc is None:
            continue
        ctx = contexts.get(g)
        number, title = doc["number"], doc["title"]
        label = number or title or doc["label"]
        body = " ".join(x for x in (number, f"《{title}》" if title and title != number else "") if x) or label
        item = _base("legal", rows[0], label, body, ctx, g)
        projects = _all(rows, "pLabel")
        item.project = projects[0] if projects else None
        item.extra = {"document_number": number or None, "title": title or None, "cited_by": projects}
        item.lex = " ".join([body, *doc["raw"], *projects])
        items.append(item)
    return items


def line_items(store: GraphStore, contexts: dict[str, Context], graphs=None,
               lookups: Lookups | None = None) -> list[Item]:
    lookups = lookups or Lookups(store)
    result = store.query(PREFIXES + f"""
SELECT ?g ?s ?label ?c ?amount ?kind ?ls ?le ?page WHERE {{
  {in_graphs(graphs, f'''?s a bkg:BudgetLine . {_PROV}
    OPTIONAL {{ ?s rdfs:label ?label }}
    OPTIONAL {{ ?s bkg:amount ?amount }}
    OPTIONAL {{ ?s bkg:classificationKind ?kind }}
    OPTIONAL {{ ?s bkg:classification ?c }}''')}
}}""")
    classes = lookups.classifications(text(r.get("c")) for r in result.rows)
    best: dict[tuple[str, str], tuple[Item, int]] = {}
    for (g, _), rows in _group(result.rows).items():
        ctx = contexts.get(g)
        code, name = classes.get(text(rows[0].get("c")) or "", (None, None))
        name = name or ""
        label = _prefer_zh(rows, "label") or " ".join(x for x in (code, name) if x)
        if not label:
            continue
        amount = value(rows[0].get("amount"))
        item = _base("line", rows[0], label, label, ctx, g)
        item.extra = {"code": code, "amount": float(amount) if amount is not None else None,
                      "classification_kind": text(rows[0].get("kind"))}
        item.lex = label
        # The same code is printed in several standard tables: keep one item per code and
        # disclosure, the one with the largest amount (the 合计 of the widest table); between equal
        # amounts the smallest IRI, so that the choice does not depend on the store's row order.
        key = (g, code or name)
        rank = int(float(amount or 0) * 100)
        if key not in best or rank > best[key][1] or (rank == best[key][1] and item.iri < best[key][0].iri):
            best[key] = (item, rank)
    return [item for item, _ in best.values()]


def passage_items(store: GraphStore, contexts: dict[str, Context], graphs=None,
                  lookups: Lookups | None = None) -> list[Item]:
    result = store.query(PREFIXES + f"""
SELECT ?g ?s ?kind ?title ?body ?p ?pLabel ?ls ?le ?page WHERE {{
  {in_graphs(graphs, f'''?s a bkg:TextPassage ; bkg:text ?body . {_PROV}
    OPTIONAL {{ ?s bkg:sectionKind ?kind }}
    OPTIONAL {{ ?s rdfs:label ?title }}
    OPTIONAL {{ ?p bkg:hasPassage ?s . ?p a bkg:Project . OPTIONAL {{ ?p rdfs:label ?pLabel }} }}''')}
}}""")
    items = []
    for (g, _), rows in _group(result.rows).items():
        ctx = contexts.get(g)
        body = _prefer_zh(rows, "body") or ""
        title = _prefer_zh(rows, "title") or ""
        kind = text(rows[0].get("kind"))
        project_iri, project = _project_of(rows)
        start = value(rows[0].get("ls"))
        end = value(rows[0].get("le"))
        for n, (chunk, offset) in enumerate(chunk_text(body)):
            if not _worth_indexing(chunk, ctx):
                continue
            # The heading says what the paragraph is (部门职责, 立项依据 ...): embed it with the text.
            shown = f"{title}：{chunk}" if title and not chunk.startswith(title) else chunk
            item = _base("text", rows[0], title or (kind or "passage"), shown, ctx, g)
            item.chunk = n
            item.embed = shown[:EMBED_CHARS] if len(shown) > EMBED_CHARS else ""
            item.project, item.project_iri = project, project_iri
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


COLLECTORS = (indicator_items, project_items, legal_items, line_items, passage_items)


def collect_items(store: GraphStore, graphs: Iterable[str] | None = None, lookups: Lookups | None = None) -> list[Item]:
    """All items of the given disclosure graphs (all of them when ``graphs`` is None), in a
    stable order (graph, type, IRI, chunk). Reads ``GRAPHS_PER_QUERY`` graphs per query."""
    lookups = lookups or Lookups(store)
    if graphs is None:
        graphs = sorted(disclosure_contexts(store, None, lookups))
    graphs = sorted(set(graphs))
    items: list[Item] = []
    step = graphs_per_query(store)
    for i in range(0, len(graphs), step):
        items.extend(_items_in(store, graphs[i:i + step], lookups))
    items.sort(key=item_order)
    return items


def items_of_every_graph(store: GraphStore, lookups: Lookups | None = None) -> list[Item]:
    """All items of every disclosure graph in ``store``, each query one pattern over all of them:
    for a small scratch store holding just the graphs to read (``search.graph_spool``), where
    that costs two thirds of the per-graph UNION blocks ``collect_items`` needs on a large store."""
    items = _items_in(store, None, lookups or Lookups(store))
    items.sort(key=item_order)
    return items


def _items_in(store: GraphStore, graphs: list[str] | None, lookups: Lookups) -> list[Item]:
    """Every collector's items for ``graphs`` (None: one pattern over every graph), unsorted."""
    contexts = disclosure_contexts(store, graphs, lookups)
    items: list[Item] = []
    for collect in COLLECTORS:
        items.extend(collect(store, contexts, graphs, lookups))
    return items


def item_order(item: Item) -> tuple:
    """The order ``collect_items`` returns items in: graph, type, IRI, chunk."""
    return item.graph, ITEM_TYPES.index(item.type), item.iri, item.chunk


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
