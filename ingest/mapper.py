"""Map a parsed ``Disclosure`` to RDF: the one place where the domain model meets the ontology.

``to_rdf(disclosure)`` returns two graphs. ``public`` holds the facts (disclosure, department, areas,
budget lines and their classification concepts, projects, indicators, legal documents, passages,
findings); ``private`` holds the people named in forms (names, phones) so a public endpoint can leave
them out. Each is meant for its own named graph (``graph_iri`` / ``private_graph_iri``), replaced as
a whole when the disclosure is ingested again.

Rules the mapping keeps:

* Provenance on everything read from the document: ``bkg:fromDisclosure``, ``bkg:lineStart``,
  ``bkg:lineEnd``, ``bkg:page`` where known, and ``prov:wasDerivedFrom``. A fact without a span of
  its own inherits its parent's (an indicator its project's), else the whole document's.
* Deterministic: IRIs come from ``ontology.iris`` (names and codes, never counters over sets or
  blank nodes), so the same input gives the same triples and re-ingest is idempotent.
* Amounts are ``xsd:decimal`` literals written from the ``Decimal`` (never through float).
* Each named graph is self-contained for SHACL: every concept a resource points to is typed here.
* Personal data stays private even where a parser left it inside a text: the names and phones of
  the disclosure's contacts are masked in every free text that goes to the public graph.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from decimal import Decimal

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS

from ingest.model import (
    ClassificationKind,
    Contact,
    Disclosure,
    DocumentKind,
    Finding,
    Indicator,
    LegalReference,
    Measure,
    Project,
    Span,
)
from ingest.normalize import canonical_level1, canonical_level2, clean_text, economic_parent, function_parent
from ontology import iris
from ontology.terms import BKG, INSTANCE_BASE, QB, graph_iri, private_graph_iri

ZH = "zh"
MASK = "＊＊＊"

KIND_LABELS_ZH = {
    DocumentKind.BUDGET: "部门预算",
    DocumentKind.FINAL_ACCOUNTS: "部门决算",
    DocumentKind.PERFORMANCE_TARGETS: "绩效目标",
}

# The 一级 category each standard 二级 category sits under (skos:broader in codelists.ttl; a test
# keeps the two in step). Some tables print a 二级 name with no 一级 beside it (002 prints
# 可持续影响 straight after 成本指标); the 二级 then implies its 一级. 成本 has no fixed 一级.
LEVEL2_BROADER = {
    "quantity": "output", "quality": "output", "timeliness": "output",
    "economic-benefit": "outcome", "social-benefit": "outcome", "ecological-benefit": "outcome",
    "sustainability": "outcome", "beneficiary-satisfaction": "satisfaction",
}

# Where a Measure's preferred figure is missing, nothing is asserted: absence is not zero.
_MEASURE_TERMS = {m: BKG[m.value] for m in Measure}


# Resources named by many disclosures (departments, areas, legal documents, concepts). Their
# descriptive triples go to one shared graph instead of every disclosure's graph: a union default
# graph does not deduplicate a triple stored in several graphs, so repeating them would repeat
# every query row that touches them. What links them to one disclosure stays in its own graph.
SHARED_PREFIXES = tuple(INSTANCE_BASE + p for p in ("department/", "area/", "legal/", "concept/", "scheme/",
                                                     "topic/"))
PER_DISCLOSURE_PREDICATES = {BKG.fromDisclosure, PROV.wasDerivedFrom, BKG.lineStart, BKG.lineEnd, BKG.page}


class TripleBag:
    """Triples in the order first added, each once: what the mapper collects.

    rdflib's in-memory ``Graph`` indexes every triple three ways as it is added (about a third of
    an ingest worker's CPU went there); the mapper only adds, and its callers mostly serialise, so
    a graph is built only where one is asked for (``MappedDisclosure.public``)."""

    __slots__ = ("_triples",)

    def __init__(self) -> None:
        self._triples: dict[tuple, None] = {}

    def add(self, triple: tuple) -> None:
        self._triples[triple] = None

    def __iter__(self):
        return iter(self._triples)

    def __len__(self) -> int:
        return len(self._triples)

    def __contains__(self, triple: tuple) -> bool:
        return triple in self._triples

    def to_graph(self) -> Graph:
        graph = new_graph()
        for triple in self._triples:
            graph.add(triple)
        return graph


@dataclass
class MappedDisclosure:
    """The triples of one disclosure, split into what may be served publicly and what may not.

    ``public`` is self-contained (it validates against the shapes on its own); for storage,
    ``own_and_shared()`` separates the triples only this disclosure states from those about
    shared resources. ``public_triples``/``private_triples`` are the same triples without an
    rdflib graph around them (what the ingest workers serialise).
    """

    key: str
    iri: URIRef
    public_triples: TripleBag
    private_triples: TripleBag
    graph_iri: URIRef
    private_graph_iri: URIRef

    @cached_property
    def public(self) -> Graph:
        return self.public_triples.to_graph()

    @cached_property
    def private(self) -> Graph:
        return self.private_triples.to_graph()

    def split_shared(self) -> tuple[list[tuple], list[tuple]]:
        """(triples for this disclosure's named graph, triples for the shared graph), as lists."""
        own, shared = [], []
        for triple in self.public_triples:
            s, p, _ = triple
            # str.startswith itself: rdflib's Identifier.startswith ignores a tuple of prefixes.
            if str.startswith(s, SHARED_PREFIXES) and p not in PER_DISCLOSURE_PREDICATES:
                shared.append(triple)
            else:
                own.append(triple)
        return own, shared

    def own_and_shared(self) -> tuple[Graph, Graph]:
        """(triples for this disclosure's named graph, triples for the shared graph)."""
        own, shared = new_graph(), new_graph()
        own_triples, shared_triples = self.split_shared()
        for triple in own_triples:
            own.add(triple)
        for triple in shared_triples:
            shared.add(triple)
        return own, shared


def new_graph() -> Graph:
    """An in-memory graph with the project's prefixes bound (for readable serialisations)."""
    g = Graph()
    g.bind("bkg", BKG._NS)
    g.bind("qb", QB)
    g.bind("skos", SKOS)
    g.bind("prov", PROV)
    g.bind("dct", DCTERMS)
    return g


@lru_cache(maxsize=1 << 14)
def integer_literal(value: int) -> Literal:
    """An xsd:integer literal; line and page numbers repeat on every resource, and building a
    Literal (type checks, casts) cost a tenth of the mapper's time."""
    return Literal(value)


def decimal_literal(value: Decimal) -> Literal:
    """An xsd:decimal literal written from the Decimal itself, in plain (non-exponent) notation."""
    return Literal(format(value, "f"), datatype=XSD.decimal)


def to_rdf(disclosure: Disclosure) -> MappedDisclosure:
    """Map one disclosure to its public and private graphs. Pure: reads nothing but its argument."""
    return _Mapper(disclosure).run()


class _Mapper:
    """One mapping run; holds the graphs and the lookups shared by the ``_map_*`` steps."""

    def __init__(self, disclosure: Disclosure):
        self.d = disclosure
        self.key = disclosure.key
        self.iri = iris.disclosure_iri(self.key)
        self.g = TripleBag()
        self.private = TripleBag()
        self.whole = Span(1, max(disclosure.line_count, 1))
        self.lines_by_code: dict[str, list[tuple[URIRef, Span | None]]] = {}
        self.lines_by_name: dict[str, list[tuple[URIRef, Span | None]]] = {}
        self.projects_by_name: dict[str, URIRef] = {}
        # Longest first, so a phone is masked before any shorter name inside it.
        self.personal = sorted({v.strip() for c in disclosure.contacts for v in (c.name, c.phone)
                                if v and len(v.strip()) >= 2}, key=len, reverse=True)

    # ---------------------------------------------------------------- driver

    def run(self) -> MappedDisclosure:
        self._map_disclosure()
        self._map_department_and_areas()
        self._map_budget_lines()
        for index, project in enumerate(self.d.projects, start=1):
            self._map_project(project, index)
        for index, indicator in enumerate(self.d.department_indicators, start=1):
            node = iris.department_indicator_iri(self.key, index)
            self._map_indicator(indicator, node, parent_span=None)
            self.g.add((self.iri, BKG.hasIndicator, node))
        for ref in self.d.legal_refs:
            self.g.add((self.iri, BKG.cites, self._map_legal(ref)))
        self._map_passages()
        for index, finding in enumerate(self.d.findings, start=1):
            self._map_finding(finding, index)
        self._map_contacts()
        return MappedDisclosure(self.key, self.iri, self.g, self.private,
                                graph_iri(self.key), private_graph_iri(self.key))

    # ---------------------------------------------------------------- helpers

    def _provenance(self, node: URIRef, span: Span | None, graph: TripleBag | None = None,
                    lines: bool = True) -> None:
        g = self.g if graph is None else graph
        g.add((node, BKG.fromDisclosure, self.iri))
        if node != self.iri:
            g.add((node, PROV.wasDerivedFrom, self.iri))
        if not lines:
            return
        span = span or self.whole
        g.add((node, BKG.lineStart, integer_literal(span.line_start)))
        g.add((node, BKG.lineEnd, integer_literal(max(span.line_end, span.line_start))))
        if span.page is not None:
            g.add((node, BKG.page, integer_literal(span.page)))

    def _scrub(self, text: str) -> str:
        """Mask the contacts' names and phones in a free text bound for the public graph."""
        for value in self.personal:
            text = text.replace(value, MASK)
        return text

    def _text(self, node: URIRef, prop: URIRef, value: str | None, lang: str | None = ZH) -> None:
        if value is not None and value.strip():
            self.g.add((node, prop, Literal(self._scrub(value.strip()), lang=lang)))

    def _decimal(self, node: URIRef, prop: URIRef, value: Decimal | None) -> None:
        if value is not None:
            self.g.add((node, prop, decimal_literal(value)))

    def _concept(self, node: URIRef, *classes: URIRef) -> URIRef:
        """Type a referenced concept so the named graph validates on its own."""
        self.g.add((node, RDF.type, SKOS.Concept))
        for cls in classes:
            self.g.add((node, RDF.type, cls))
        return node

    # ---------------------------------------------------------------- disclosure

    def _map_disclosure(self) -> None:
        d, g, node = self.d, self.g, self.iri
        g.add((node, RDF.type, BKG.Disclosure))
        # The disclosure is also the qb:DataSet its budget lines are observations of.
        g.add((node, RDF.type, QB.DataSet))
        g.add((node, QB.structure, BKG.budgetLineStructure))
        g.add((node, DCTERMS.identifier, Literal(self.key)))
        g.add((node, BKG.fileName, Literal(d.source_name)))
        g.add((node, BKG.sha256, Literal(d.sha256.lower())))
        g.add((node, BKG.layout, Literal(d.layout)))
        g.add((node, BKG.lineCount, Literal(d.line_count)))
        if d.page_count is not None:
            g.add((node, BKG.pageCount, Literal(d.page_count)))
        if d.fiscal_year is not None:
            g.add((node, BKG.fiscalYear, Literal(d.fiscal_year)))
        g.add((node, BKG.documentKind, self._concept(iris.kind_iri(d.kind.value), BKG.DocumentKind)))
        g.add((node, BKG.truncated, Literal(bool(d.truncated))))
        label = d.source_name
        if d.department and d.fiscal_year:
            label = f"{d.department}{d.fiscal_year}年{KIND_LABELS_ZH[d.kind]}"
        g.add((node, RDFS.label, Literal(label, lang=ZH)))
        for measure, term in _MEASURE_TERMS.items():
            figure = d.figure(measure)
            if figure is not None:
                self._decimal(node, term, figure.value)
        self._provenance(node, self.whole)

    # ---------------------------------------------------------------- department and areas

    def _map_department_and_areas(self) -> None:
        d, g = self.d, self.g
        county = self._map_areas()
        if not d.department:
            return
        dept = iris.department_iri(d.department)
        g.add((dept, RDF.type, BKG.Department))
        g.add((dept, RDFS.label, Literal(d.department.strip(), lang=ZH)))
        if d.department_code:
            g.add((dept, BKG.departmentCode, Literal(d.department_code.strip())))
        if county is not None:
            g.add((dept, BKG.area, county))
        g.add((self.iri, BKG.publishedBy, dept))
        # Shared by every disclosure of the department: the source is recorded, not a line span
        # (two disclosures' spans would both attach to the one department).
        self._provenance(dept, None, lines=False)

    def _map_areas(self) -> URIRef | None:
        """County -> prefecture -> province, as far as the document tells; returns the county."""
        d = self.d
        province = d.province.strip() if d.province else None
        code = d.admin_code.strip() if d.admin_code else None
        chain: list[tuple[str, str, str | None]] = []  # (name, level, GB/T 2260 code)
        if d.county:
            chain.append((d.county.strip(), "county", code))
        if d.prefecture:
            chain.append((d.prefecture.strip(), "prefecture", _parent_code(code, "prefecture")))
        if province:
            chain.append((province, "province", _parent_code(code, "province")))
        nodes: list[URIRef] = []
        for name, level, area_code in chain:
            node = iris.area_iri(name, None if level == "province" else province)
            self.g.add((node, RDF.type, BKG.AdministrativeArea))
            self.g.add((node, RDFS.label, Literal(name, lang=ZH)))
            self.g.add((node, BKG.adminLevel, Literal(level)))
            if area_code:
                self.g.add((node, BKG.adminCode, Literal(area_code)))
            # Areas are shared by every disclosure that names them: no line span, only the source.
            self._provenance(node, None, lines=False)
            if nodes:
                self.g.add((nodes[-1], BKG.partOf, node))
            nodes.append(node)
        return nodes[0] if d.county and nodes else None

    # ---------------------------------------------------------------- budget lines

    def _map_budget_lines(self) -> None:
        seen: dict[tuple[str, str], int] = {}
        for line in self.d.budget_lines:
            code = line.code.strip() if line.code else None
            ident = code or clean_text(line.name)
            occurrence = seen[(line.table.value, ident)] = seen.get((line.table.value, ident), 0) + 1
            node = iris.budget_line_iri(self.key, line.table.value, ident, occurrence)
            g = self.g
            g.add((self.iri, BKG.hasBudgetLine, node))
            g.add((node, RDF.type, BKG.BudgetLine))
            g.add((node, QB.dataSet, self.iri))
            g.add((node, BKG.classification, self._classification(line.kind, code, line.name)))
            g.add((node, BKG.classificationKind, Literal(line.kind.value)))
            g.add((node, BKG.sourceTable, self._concept(iris.table_iri(line.table.value), BKG.BudgetTable)))
            g.add((node, RDFS.label, Literal(f"{code} {line.name}".strip() if code else line.name, lang=ZH)))
            self._decimal(node, BKG.amount, line.amount)
            self._decimal(node, BKG.basicAmount, line.basic_amount)
            self._decimal(node, BKG.projectAmount, line.project_amount)
            self._decimal(node, BKG.carryoverAmount, line.carryover_amount)
            self._decimal(node, BKG.personnelAmount, line.personnel_amount)
            self._decimal(node, BKG.publicAmount, line.public_amount)
            if line.inferred_columns:
                g.add((node, BKG.inferredColumns, Literal(True)))
            self._provenance(node, line.span)
            if code:
                self.lines_by_code.setdefault(code, []).append((node, line.span))
            self.lines_by_name.setdefault(clean_text(line.name), []).append((node, line.span))

    def _classification(self, kind: ClassificationKind, code: str | None, name: str) -> URIRef:
        """The 科目 concept of a line, with its 类/款/项 parents, in the function or economic scheme."""
        scheme = iris.scheme_iri(kind.value)
        name = clean_text(name)
        node = iris.classification_iri(kind.value, code, name or "?")
        g = self.g
        self._concept(node)
        g.add((node, SKOS.inScheme, scheme))
        if name:
            g.add((node, SKOS.prefLabel, Literal(name, lang=ZH)))
        if not code:
            return node
        parent_of = function_parent if kind == ClassificationKind.FUNCTION else economic_parent
        child, child_code = node, code
        while True:
            g.add((child, SKOS.notation, Literal(child_code)))
            parent_code = parent_of(child_code) if len(child_code) in (5, 7) else None
            if parent_code is None:
                g.add((child, SKOS.topConceptOf, scheme))
                break
            parent = self._concept(iris.classification_iri(kind.value, parent_code))
            g.add((parent, SKOS.inScheme, scheme))
            g.add((child, SKOS.broader, parent))
            child, child_code = parent, parent_code
        return node

    # ---------------------------------------------------------------- projects and indicators

    def _map_project(self, project: Project, index: int) -> None:
        g = self.g
        name = clean_text(project.name)
        occurrence = sum(1 for p in self.d.projects[: index - 1] if clean_text(p.name) == name) + 1
        node = iris.project_iri(self.key, name or index, occurrence)
        g.add((self.iri, BKG.hasProject, node))
        g.add((node, RDF.type, BKG.Project))
        g.add((node, RDFS.label, Literal(name or f"项目{index}", lang=ZH)))
        for alias in project.aliases:
            alias = clean_text(alias)
            if alias and alias != name:
                g.add((node, SKOS.altLabel, Literal(alias, lang=ZH)))
        self._decimal(node, BKG.amount, project.amount)
        if project.code:
            g.add((node, BKG.projectCode, Literal(project.code.strip())))
        self._text(node, BKG.goal, project.goal)
        g.add((node, BKG.carriedOver, Literal(bool(project.carryover))))
        for source in project.sources:
            g.add((node, BKG.foundIn, Literal(source)))
        for ref in project.legal_refs:
            legal = self._map_legal(ref)
            g.add((node, BKG.legalBasis, legal))
            g.add((self.iri, BKG.cites, legal))
        for n, (title, text) in enumerate(project.extra.items(), start=1):
            if not text or not text.strip():
                continue
            detail = iris.project_detail_iri(node, n)
            g.add((node, BKG.hasPassage, detail))
            g.add((detail, RDF.type, BKG.TextPassage))
            g.add((detail, BKG.sectionKind, Literal("project-detail")))
            g.add((detail, RDFS.label, Literal(title, lang=ZH)))
            self._text(detail, BKG.text, text)
            self._provenance(detail, project.span)
        for n, indicator in enumerate(project.indicators, start=1):
            ind = iris.indicator_iri(node, n)
            g.add((node, BKG.hasIndicator, ind))
            self._map_indicator(indicator, ind, parent_span=project.span)
        self._provenance(node, project.span)
        for label in [name, *project.aliases]:
            self.projects_by_name.setdefault(clean_text(label), node)

    def _map_indicator(self, indicator: Indicator, node: URIRef, parent_span: Span | None) -> None:
        g = self.g
        g.add((node, RDF.type, BKG.PerformanceIndicator))
        g.add((node, RDFS.label, Literal(clean_text(indicator.name), lang=ZH)))
        level1 = self._category(indicator.level1, 1)
        level2 = self._category(indicator.level2, 2)
        if level1 is None:
            implied = LEVEL2_BROADER.get(canonical_level2(indicator.level2 or "") or "")
            level1 = self._concept(iris.indicator_category_iri(implied)) if implied else None
        if level1 is not None:
            g.add((node, BKG.indicatorLevel1, level1))
        if level2 is not None:
            g.add((node, BKG.indicatorLevel2, level2))
        if indicator.target_value and indicator.target_value.strip():
            g.add((node, BKG.targetValue, Literal(indicator.target_value.strip())))
        if indicator.comparator:
            g.add((node, BKG.comparator, Literal(indicator.comparator)))
        self._decimal(node, BKG.targetNumber, indicator.number)
        if indicator.unit:
            g.add((node, BKG.unit, Literal(indicator.unit)))
        self._text(node, BKG.valueBasis, indicator.basis)
        self._text(node, BKG.indicatorDescription, indicator.description)
        for ref in indicator.legal_refs:
            legal = self._map_legal(ref)
            g.add((node, BKG.legalBasis, legal))
            g.add((self.iri, BKG.cites, legal))
        self._provenance(node, indicator.span or parent_span)

    def _category(self, printed: str, level: int) -> URIRef | None:
        """The indicator-category concept of a printed 一级/二级 name; unknown names get their own."""
        printed = clean_text(printed or "").replace(" ", "")
        if not printed:
            return None
        local = canonical_level1(printed) if level == 1 else canonical_level2(printed)
        if local is not None:
            return self._concept(iris.indicator_category_iri(local))
        node = self._concept(iris.minted_indicator_category_iri(level, printed))
        self.g.add((node, SKOS.inScheme, iris.scheme_iri("indicator")))
        self.g.add((node, SKOS.prefLabel, Literal(printed, lang=ZH)))
        self.g.add((node, SKOS.editorialNote,
                    Literal(f"Printed level-{level} category outside the standard list; kept as printed.",
                            lang="en")))
        return node

    # ---------------------------------------------------------------- legal documents

    def _map_legal(self, ref: LegalReference) -> URIRef:
        """A cited document; global IRI, so the same 文号 in two disclosures is one resource."""
        node = iris.legal_iri(ref.key)
        g = self.g
        g.add((node, RDF.type, BKG.LegalDocument))
        # The number is the label when there is one: every citing disclosure then gives the same
        # label, while a title seen in only some of them goes to dct:title.
        label = ref.number or ref.title or ref.raw
        if label:
            g.add((node, RDFS.label, Literal(label, lang=ZH)))
        if ref.number:
            g.add((node, BKG.documentNumber, Literal(ref.number)))
        if ref.issuer:
            g.add((node, BKG.issuerCode, Literal(ref.issuer)))
        if ref.year is not None:
            g.add((node, BKG.documentYear, Literal(ref.year)))
        if ref.serial:
            g.add((node, BKG.serialNumber, Literal(ref.serial)))
        if ref.title:
            g.add((node, DCTERMS.title, Literal(ref.title, lang=ZH)))
        raw = clean_text(ref.raw) if ref.raw else ""
        if raw and raw not in {ref.number, ref.title}:
            # The printed form (冀财社[2022]172 号) stays findable by lexical search.
            g.add((node, SKOS.hiddenLabel, Literal(raw, lang=ZH)))
        self._provenance(node, None, lines=False)
        return node

    # ---------------------------------------------------------------- passages

    def _map_passages(self) -> None:
        g = self.g
        for index, passage in enumerate(self.d.passages, start=1):
            node = iris.passage_iri(self.key, index)
            g.add((self.iri, BKG.hasPassage, node))
            g.add((node, RDF.type, BKG.TextPassage))
            g.add((node, BKG.sectionKind, Literal(passage.kind.value)))
            self._text(node, RDFS.label, passage.title)
            g.add((node, BKG.text, Literal(self._scrub(passage.text.strip()), lang=ZH)))
            if passage.span is not None:
                for ref in self.d.legal_refs:
                    if ref.span is not None and _within(ref.span, passage.span):
                        g.add((node, BKG.cites, iris.legal_iri(ref.key)))
            self._provenance(node, passage.span)

    # ---------------------------------------------------------------- findings

    def _map_finding(self, finding: Finding, index: int) -> None:
        g = self.g
        node = iris.finding_iri(self.key, finding.check, index)
        g.add((self.iri, BKG.hasFinding, node))
        g.add((node, RDF.type, BKG.Finding))
        g.add((node, BKG.checkName, Literal(finding.check)))
        g.add((node, BKG.severity, self._concept(iris.severity_iri(finding.severity.value), BKG.Severity)))
        g.add((node, RDFS.comment, Literal(self._scrub(finding.message))))
        self._decimal(node, BKG.expectedValue, finding.expected)
        self._decimal(node, BKG.foundValue, finding.found)
        self._decimal(node, BKG.tolerance, finding.tolerance)
        if finding.expected is not None and finding.found is not None:
            self._decimal(node, BKG.difference, finding.found - finding.expected)
        if finding.subject:
            g.add((node, BKG.subjectLabel, Literal(finding.subject)))
        for target in self._finding_subjects(finding):
            g.add((node, BKG.concerns, target))
        self._provenance(node, Span.cover(*finding.spans))

    def _finding_subjects(self, finding: Finding) -> list[URIRef]:
        """What a finding is about, tried in this order: the whole disclosure (no subject, or a
        measure name), the budget lines with that code, the project of that name, the budget lines
        of that name (names last: 其他… names repeat across codes). Lines are narrowed to those
        overlapping the finding's spans, since one code is printed in several tables."""
        subject = clean_text(finding.subject) if finding.subject else ""
        if not subject or subject in {m.value for m in Measure}:
            return [self.iri]
        if subject in self.lines_by_code:
            return self._nearest(self.lines_by_code[subject], finding.spans)
        if subject in self.projects_by_name:
            return [self.projects_by_name[subject]]
        return self._nearest(self.lines_by_name.get(subject, []), finding.spans)

    @staticmethod
    def _nearest(lines: list[tuple[URIRef, Span | None]], spans: list[Span]) -> list[URIRef]:
        near = [n for n, span in lines if span is not None and any(_overlaps(span, s) for s in spans)]
        return sorted(set(near or [n for n, _ in lines]))

    # ---------------------------------------------------------------- contacts (private graph)

    def _map_contacts(self) -> None:
        first: dict[URIRef, Contact] = {}
        for contact in self.d.contacts:
            node = iris.contact_iri(self.key, contact.role, contact.name, contact.phone)
            if node in first:
                continue
            first[node] = contact
            p = self.private
            p.add((self.iri, BKG.hasContact, node))
            p.add((node, RDF.type, BKG.Contact))
            p.add((node, BKG.contactRole, Literal(contact.role)))
            if contact.name:
                p.add((node, BKG.contactName, Literal(contact.name)))
            if contact.phone:
                p.add((node, BKG.phone, Literal(contact.phone)))
            self._provenance(node, contact.span, graph=p)


def _parent_code(code: str | None, level: str) -> str | None:
    """GB/T 2260 code of the prefecture or province enclosing a six-digit county code."""
    if not code or len(code) != 6 or not code.isdigit() or code[2:] == "0000":
        return None
    if level == "province":
        return code[:2] + "0000"
    if code[4:] == "00":
        return code
    # Municipalities (北京, 天津, 上海, 重庆) have no prefecture level between province and county.
    if code[:2] in {"11", "12", "31", "50"}:
        return None
    return code[:4] + "00"


def _within(inner: Span, outer: Span) -> bool:
    return outer.line_start <= inner.line_start and inner.line_end <= outer.line_end


def _overlaps(a: Span, b: Span) -> bool:
    return a.line_start <= b.line_end and b.line_start <= a.line_end
