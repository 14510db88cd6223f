"""Python names of the budget ontology's terms (namespace ``bkg:``) and the IRI bases of instances.

``BKG`` is an rdflib ``DefinedNamespace`` with ``_fail = True``: a misspelt term raises at import
or first use instead of silently minting a new IRI. The names below are the public contract that
users' SPARQL depends on (see ``budget.ttl``); add terms freely, never rename or drop one.
A test checks that every name here is declared in ``budget.ttl`` with zh and en labels.
"""
from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DefinedNamespace

ONTOLOGY_IRI = "https://w3id.org/budgetkg/ontology"
INSTANCE_BASE = "https://w3id.org/budgetkg/id/"
GRAPH_BASE = "https://w3id.org/budgetkg/graph/"

ID = Namespace(INSTANCE_BASE)

# W3C vocabularies we align with (rdflib ships most; these are not all in rdflib.namespace).
QB = Namespace("http://purl.org/linked-data/cube#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
ORG = Namespace("http://www.w3.org/ns/org#")
SH = Namespace("http://www.w3.org/ns/shacl#")


class BKG(DefinedNamespace):
    """The budgetkg ontology, ``https://w3id.org/budgetkg/ontology#``."""

    _fail = True
    _NS = Namespace(ONTOLOGY_IRI + "#")

    # --- classes (contract) ---
    Disclosure: URIRef
    Department: URIRef
    AdministrativeArea: URIRef
    BudgetLine: URIRef
    Project: URIRef
    PerformanceIndicator: URIRef
    LegalDocument: URIRef
    Finding: URIRef
    # --- classes (additions) ---
    TextPassage: URIRef  # a narrative section (部门职责, 绩效目标, 工作保障措施 ...) kept for search
    Contact: URIRef  # a person named in a form (负责人/经办人 + phone); personal data, private graph
    DocumentKind: URIRef  # budget / final accounts / performance targets
    BudgetTable: URIRef  # which standard table a budget line came from
    Severity: URIRef

    # --- disclosure (contract) ---
    publishedBy: URIRef
    fiscalYear: URIRef
    documentKind: URIRef
    totalRevenue: URIRef
    totalExpenditure: URIRef
    basicExpenditure: URIRef
    projectExpenditure: URIRef
    carryover: URIRef
    hasBudgetLine: URIRef
    hasProject: URIRef
    hasIndicator: URIRef
    # --- disclosure (additions) ---
    currentYearRevenue: URIRef  # 本年收入合计
    currentYearExpenditure: URIRef  # 本年支出合计
    generalBudgetRevenue: URIRef  # 一般公共预算(拨款)收入
    personnelExpenditure: URIRef  # 人员经费
    publicExpenditure: URIRef  # 公用经费
    threePublicCosts: URIRef  # "三公"经费
    operatingCosts: URIRef  # 机关运行经费
    procurementBudget: URIRef  # 政府采购预算
    fixedAssetsValue: URIRef  # 固定资产金额
    hasFinding: URIRef
    hasPassage: URIRef
    hasContact: URIRef
    cites: URIRef  # disclosure or passage -> LegalDocument cited anywhere in its text
    fileName: URIRef
    sha256: URIRef
    layout: URIRef
    lineCount: URIRef
    pageCount: URIRef
    truncated: URIRef

    # --- department and area (contract) ---
    area: URIRef
    partOf: URIRef
    adminLevel: URIRef
    adminCode: URIRef
    # --- department (additions) ---
    departmentCode: URIRef  # the budget system's unit code, e.g. 460, 807, 036

    # --- budget line (contract) ---
    classification: URIRef
    amount: URIRef
    basicAmount: URIRef
    projectAmount: URIRef
    sourceTable: URIRef
    # --- budget line (additions) ---
    carryoverAmount: URIRef
    personnelAmount: URIRef
    publicAmount: URIRef
    classificationKind: URIRef  # "function" or "economic"
    inferredColumns: URIRef  # true where a figure's column was inferred, not read from its position
    budgetLineStructure: URIRef  # the qb:DataStructureDefinition of budget lines

    # --- project (contract) ---
    projectCode: URIRef
    goal: URIRef
    # --- project (additions) ---
    carriedOver: URIRef  # listed under 上年结转 (carried over from the previous year)
    foundIn: URIRef  # where the project was found: narrative, project-table, performance-table, form
    # --- indicator (contract) ---
    indicatorLevel1: URIRef
    indicatorLevel2: URIRef
    targetValue: URIRef
    comparator: URIRef
    targetNumber: URIRef
    unit: URIRef
    valueBasis: URIRef
    # --- indicator (additions) ---
    indicatorDescription: URIRef  # 绩效指标描述

    # --- legal basis (contract) ---
    legalBasis: URIRef
    documentNumber: URIRef
    issuerCode: URIRef  # 冀财社
    documentYear: URIRef
    serialNumber: URIRef

    # --- topics (search issue) ---
    topic: URIRef
    topicEvidence: URIRef
    PolicyTopic: URIRef

    # --- findings ---
    checkName: URIRef
    severity: URIRef
    expectedValue: URIRef
    foundValue: URIRef
    difference: URIRef
    tolerance: URIRef
    concerns: URIRef
    subjectLabel: URIRef  # the code or name a finding is about, as the check named it

    # --- passages and contacts ---
    sectionKind: URIRef
    text: URIRef
    contactRole: URIRef
    contactName: URIRef
    phone: URIRef

    # --- provenance of every resource ---
    fromDisclosure: URIRef
    lineStart: URIRef
    lineEnd: URIRef
    page: URIRef


# A DefinedNamespace builds a new URIRef on every attribute access (~2 µs; the mapper makes ~4,000
# per disclosure). The terms are constants: make each a plain class attribute once. Misspelt names
# still raise (they are not attributes, so the namespace's own lookup still runs and fails).
for _name in BKG.__annotations__:
    type.__setattr__(BKG, _name, BKG._NS[_name])
del _name


def graph_iri(disclosure_key: str) -> URIRef:
    """Named graph holding one disclosure's facts (replaced as a whole on re-ingest)."""
    return URIRef(GRAPH_BASE + "disclosure/" + disclosure_key)


def private_graph_iri(disclosure_key: str) -> URIRef:
    """Named graph holding one disclosure's personal data (not served publicly by default)."""
    return URIRef(GRAPH_BASE + "private/" + disclosure_key)


ONTOLOGY_GRAPH = URIRef(GRAPH_BASE + "ontology")
# Descriptive triples of resources many disclosures name (departments, areas, legal documents,
# concepts): stored once here, so a union default graph does not return them once per disclosure.
SHARED_GRAPH = URIRef(GRAPH_BASE + "shared")
