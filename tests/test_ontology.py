"""Tests of the ontology files and of ``ontology.iris``: every Python term of ``ontology.terms.BKG``
is declared in ``budget.ttl`` with Chinese and English labels and comments (and nothing undeclared
there), the alignments with W3C vocabularies hold, the SKOS code lists cover the model's enums and
every printed indicator-level variant the parsers normalise, the topic scheme carries the synonyms
the seeds print, the shapes are valid SHACL, and instance IRIs are readable and stable.
"""
from __future__ import annotations

import re

import pytest
from pyshacl import validate
from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef
from rdflib import namespace as rns
from rdflib.namespace import DCTERMS, FOAF, PROV, SKOS

from ingest.model import DocumentKind, Severity, TableKind
from ingest.normalize import LEVEL1_CANONICAL, LEVEL2_CANONICAL
from ontology import ONTOLOGY_DIR, iris
from ontology.terms import BKG, ELI, ONTOLOGY_IRI, ORG, QB

SDMX_MEASURE = "http://purl.org/linked-data/sdmx/2009/measure#"


def _load(name: str) -> Graph:
    return Graph().parse(ONTOLOGY_DIR / name)


BUDGET = _load("budget.ttl")
CODELISTS = _load("codelists.ttl")
TOPICS = _load("topics.ttl")
SHAPES = _load("shapes.ttl")
BKG_TERMS = sorted(name for name in BKG.__annotations__ if not name.startswith("_"))


def _langs(g: Graph, node: URIRef, prop: URIRef) -> set[str]:
    return {o.language for o in g.objects(node, prop) if isinstance(o, Literal) and str(o).strip()}


# ------------------------------------------------------------------ budget.ttl


def test_ontology_header():
    onto = URIRef(ONTOLOGY_IRI)
    assert (onto, RDF.type, OWL.Ontology) in BUDGET
    assert _langs(BUDGET, onto, RDFS.label) >= {"zh", "en"}


@pytest.mark.parametrize("name", BKG_TERMS)
def test_every_python_term_is_declared_with_zh_and_en_label_and_comment(name):
    term = BKG[name]
    types = set(BUDGET.objects(term, RDF.type))
    assert types & {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, QB.DataStructureDefinition}, \
        f"bkg:{name} is not declared in budget.ttl"
    assert _langs(BUDGET, term, RDFS.label) >= {"zh", "en"}, f"bkg:{name} lacks a zh or en rdfs:label"
    assert _langs(BUDGET, term, RDFS.comment) >= {"zh", "en"}, f"bkg:{name} lacks a zh or en rdfs:comment"


def test_budget_ttl_declares_nothing_outside_the_python_contract():
    ns = str(BKG._NS)
    declared = {str(s)[len(ns):] for s in BUDGET.subjects(RDF.type, None) if str(s).startswith(ns)}
    assert declared == set(BKG_TERMS)


def test_classes_and_properties_are_typed_as_such():
    for name in BKG_TERMS:
        term = BKG[name]
        types = set(BUDGET.objects(term, RDF.type))
        if name[0].isupper():
            assert OWL.Class in types, name
        elif name != "budgetLineStructure":
            assert types & {OWL.ObjectProperty, OWL.DatatypeProperty}, name
            assert not {OWL.ObjectProperty, OWL.DatatypeProperty} <= types, name


@pytest.mark.parametrize("term, relation, target", [
    (BKG.Disclosure, RDFS.subClassOf, rns.DCAT.Dataset),
    (BKG.Disclosure, RDFS.subClassOf, PROV.Entity),
    (BKG.Disclosure, RDFS.subClassOf, FOAF.Document),
    (BKG.Department, RDFS.subClassOf, ORG.Organization),
    (BKG.AdministrativeArea, RDFS.subClassOf, DCTERMS.Location),
    (BKG.BudgetLine, RDFS.subClassOf, QB.Observation),
    (BKG.LegalDocument, RDFS.subClassOf, ELI.LegalResource),
    (BKG.Finding, RDFS.subClassOf, PROV.Entity),
    (BKG.PolicyTopic, RDFS.subClassOf, SKOS.Concept),
    (BKG.DocumentKind, RDFS.subClassOf, SKOS.Concept),
    (BKG.amount, RDF.type, QB.MeasureProperty),
    (BKG.amount, RDFS.subPropertyOf, URIRef(SDMX_MEASURE + "obsValue")),
    (BKG.classification, RDF.type, QB.DimensionProperty),
    (BKG.sourceTable, RDF.type, QB.DimensionProperty),
    (BKG.documentNumber, RDFS.subPropertyOf, ELI.id_local),
    (BKG.publishedBy, RDFS.subPropertyOf, DCTERMS.publisher),
    (BKG.partOf, RDFS.subPropertyOf, DCTERMS.isPartOf),
    (BKG.topic, RDFS.subPropertyOf, DCTERMS.subject),
    (BKG.fromDisclosure, RDFS.subPropertyOf, PROV.wasDerivedFrom),
    (BKG.budgetLineStructure, RDF.type, QB.DataStructureDefinition),
], ids=lambda v: v.n3(BUDGET.namespace_manager) if isinstance(v, URIRef) else str(v))
def test_alignment(term, relation, target):
    assert (term, relation, target) in BUDGET


@pytest.mark.parametrize("prop, domain, range_", [
    (BKG.publishedBy, BKG.Disclosure, BKG.Department),
    (BKG.fiscalYear, BKG.Disclosure, URIRef("http://www.w3.org/2001/XMLSchema#integer")),
    (BKG.area, BKG.Department, BKG.AdministrativeArea),
    (BKG.hasBudgetLine, BKG.Disclosure, BKG.BudgetLine),
    (BKG.indicatorLevel1, BKG.PerformanceIndicator, SKOS.Concept),
    (BKG.indicatorLevel2, BKG.PerformanceIndicator, SKOS.Concept),
    (BKG.targetNumber, BKG.PerformanceIndicator, URIRef("http://www.w3.org/2001/XMLSchema#decimal")),
])
def test_domain_and_range(prop, domain, range_):
    assert (prop, RDFS.domain, domain) in BUDGET
    assert (prop, RDFS.range, range_) in BUDGET


def test_data_structure_definition_covers_the_line_columns():
    components = set(BUDGET.objects(BKG.budgetLineStructure, QB.component))
    dims = {BUDGET.value(c, QB.dimension) for c in components} - {None}
    measures = {BUDGET.value(c, QB.measure) for c in components} - {None}
    assert dims == {BKG.fiscalYear, BKG.classification, BKG.sourceTable}
    assert {BKG.amount, BKG.basicAmount, BKG.projectAmount} <= measures


# ------------------------------------------------------------------ codelists.ttl


def _concept_with_label(g: Graph, label: str) -> set[URIRef]:
    return {s for p in (SKOS.prefLabel, SKOS.altLabel) for s in g.subjects(p, Literal(label, lang="zh"))}


@pytest.mark.parametrize("printed, local", sorted(LEVEL1_CANONICAL.items()) + sorted(LEVEL2_CANONICAL.items()))
def test_every_normalised_level_name_is_a_label_of_its_concept(printed, local):
    assert iris.indicator_category_iri(local) in _concept_with_label(CODELISTS, printed)


def test_indicator_categories_form_two_levels():
    tops = set(CODELISTS.objects(iris.scheme_iri("indicator"), SKOS.hasTopConcept))
    assert {str(t).rsplit("/", 1)[1] for t in tops} == {"output", "outcome", "satisfaction", "cost"}
    expected_broader = {"quantity": "output", "quality": "output", "timeliness": "output",
                        "economic-benefit": "outcome", "social-benefit": "outcome",
                        "ecological-benefit": "outcome", "sustainability": "outcome",
                        "beneficiary-satisfaction": "satisfaction"}
    for child, parent in expected_broader.items():
        node = iris.indicator_category_iri(child)
        assert CODELISTS.value(node, SKOS.broader) == iris.indicator_category_iri(parent), child
    for local in [*expected_broader, "output", "outcome", "satisfaction", "cost"]:
        assert _langs(CODELISTS, iris.indicator_category_iri(local), SKOS.prefLabel) == {"zh", "en"}, local


@pytest.mark.parametrize("enum, mint, cls", [
    (TableKind, iris.table_iri, BKG.BudgetTable),
    (DocumentKind, iris.kind_iri, BKG.DocumentKind),
    (Severity, iris.severity_iri, BKG.Severity),
], ids=["table", "kind", "severity"])
def test_every_enum_value_has_a_concept(enum, mint, cls):
    for value in enum:
        node = mint(value.value)
        assert (node, RDF.type, cls) in CODELISTS, node
        assert (node, RDF.type, SKOS.Concept) in CODELISTS, node
        assert _langs(CODELISTS, node, SKOS.prefLabel) == {"zh", "en"}, node
        assert CODELISTS.value(node, SKOS.inScheme) is not None, node


def test_classification_schemes_are_declared():
    for name in ("function", "economic"):
        scheme = iris.scheme_iri(name)
        assert (scheme, RDF.type, SKOS.ConceptScheme) in CODELISTS
        assert _langs(CODELISTS, scheme, SKOS.prefLabel) == {"zh", "en"}


def test_no_concept_has_two_preflabels_in_one_language():
    for g in (CODELISTS, TOPICS):
        for concept in set(g.subjects(RDF.type, SKOS.Concept)):
            langs = [o.language for o in g.objects(concept, SKOS.prefLabel)]
            assert len(langs) == len(set(langs)), concept
            assert not set(g.objects(concept, SKOS.prefLabel)) & set(g.objects(concept, SKOS.altLabel)), concept


# ------------------------------------------------------------------ topics.ttl

TOPIC_SYNONYMS = {
    "long-term-care-insurance": ["长期护理保险", "长期照护险", "长护险", "长期照护保险", "长期护理险"],
    "medical-assistance": ["医疗救助", "城乡医疗救助", "大病医疗救助"],
    "resident-medical-insurance": ["城乡居民医疗保险", "城乡居民基本医疗保险", "居民医保"],
    "covid-19-vaccination": ["新冠疫苗接种", "新冠病毒疫苗及接种费用"],
    "village-insurance-agents": ["村级代办员", "代办员", "协办员"],
    "fund-supervision": ["基金监管", "打击欺诈骗保"],
    "chronic-special-disease": ["慢特病", "门诊特殊疾病", "门特", "慢性病鉴定"],
    "serious-illness-insurance": ["大病保险"],
    "poverty-alleviation": ["建档立卡", "脱贫", "精准扶贫", "医保扶贫", "脱贫人口"],
    "public-medical-care": ["公费医疗"],
    "employee-medical-insurance": ["职工医疗保险"],
    "medical-service-capacity": ["医疗服务与保障能力提升"],
    "information-systems": ["医保信息化"],
    "archives": ["档案整理"],
    "legal-services": ["法律服务"],
    "office-renovation": ["办公场所改造"],
    "labour-dispatch-staff": ["劳务派遣"],
    "policy-publicity": ["政策宣传"],
    "two-diseases": ["两病"],
    "civil-servant-medical-subsidy": ["公务员医疗补助"],
}


@pytest.mark.parametrize("slug, labels", sorted(TOPIC_SYNONYMS.items()))
def test_topic_carries_the_synonyms_the_documents_use(slug, labels):
    node = iris.topic_iri(slug)
    for label in labels:
        assert node in _concept_with_label(TOPICS, label), f"{slug} lacks {label}"


def test_every_topic_has_zh_and_en_labels_and_an_english_definition():
    topics = set(TOPICS.subjects(RDF.type, BKG.PolicyTopic))
    assert len(topics) >= len(TOPIC_SYNONYMS)
    scheme = iris.scheme_iri("topic")
    for topic in topics:
        assert str(topic).startswith("https://w3id.org/budgetkg/id/topic/")
        assert (topic, RDF.type, SKOS.Concept) in TOPICS
        assert (topic, SKOS.inScheme, scheme) in TOPICS
        assert _langs(TOPICS, topic, SKOS.prefLabel) == {"zh", "en"}, topic
        assert _langs(TOPICS, topic, SKOS.altLabel) >= {"zh", "en"}, topic
        assert "en" in _langs(TOPICS, topic, SKOS.definition), topic
        broader = TOPICS.value(topic, SKOS.broader)
        assert broader is None or broader in topics
        assert (broader is None) == ((topic, SKOS.topConceptOf, scheme) in TOPICS)


def test_topics_seen_in_the_seed_projects_are_found_by_label():
    """Project names printed in the seeds reach their topic through some label contained in them."""
    labels = [(str(o), s) for p in (SKOS.prefLabel, SKOS.altLabel)
              for s, o in TOPICS.subject_objects(p) if o.language == "zh"]
    projects = {
        "长期照护险": "long-term-care-insurance",
        "省级财政城乡居民医保村级代办员补助资金": "village-insurance-agents",
        "新冠病毒疫苗及接种费用县级补助资金": "covid-19-vaccination",
        "改制企业人员大病保险": "serious-illness-insurance",
        "2023年原建档立卡贫困人员个人缴费医疗救助补助县级配套资金": "poverty-alleviation",
        "档案整理及法律服务费": "archives",
        "基金监管法律宣传活动经费": "fund-supervision",
        "办公场所改造项目工程资金": "office-renovation",
        "劳务派遣人员工资及保险": "labour-dispatch-staff",
        "门诊特殊疾病鉴定项目": "chronic-special-disease",
        "中央-医疗服务与保障能力提升补助资金": "medical-service-capacity",
        "医保缴费奖励资金": "enrolment-and-collection",
        "提前下达2021年医疗救助资金（疾病应急救助补助资金）-上级": "emergency-medical-relief",
    }
    for name, slug in projects.items():
        hits = {s for label, s in labels if label in name}
        assert iris.topic_iri(slug) in hits, name


# ------------------------------------------------------------------ shapes.ttl


def test_shapes_are_valid_shacl():
    ok, _, report = validate(Graph(), shacl_graph=SHAPES, meta_shacl=True, inference="none")
    assert ok, report


def test_shapes_target_every_contract_class():
    SH = "http://www.w3.org/ns/shacl#"
    targeted = set(SHAPES.objects(None, URIRef(SH + "targetClass")))
    assert {BKG.Disclosure, BKG.Department, BKG.AdministrativeArea, BKG.BudgetLine, BKG.Project,
            BKG.PerformanceIndicator, BKG.LegalDocument, BKG.Finding} <= targeted


def test_all_turtle_files_share_one_vocabulary():
    """Every bkg: term used in the code lists, topics and shapes is declared in budget.ttl."""
    ns = str(BKG._NS)
    for g in (CODELISTS, TOPICS, SHAPES):
        used = {t for triple in g for t in triple if isinstance(t, URIRef) and str(t).startswith(ns)}
        for term in used:
            assert str(term)[len(ns):] in BKG_TERMS, term


# ------------------------------------------------------------------ iris.py

BASE = "https://w3id.org/budgetkg/id/"


def test_codes_and_keys_stay_readable():
    key = "2023-budget-6a4225031f02"
    assert str(iris.disclosure_iri(key)) == BASE + "disclosure/" + key
    assert str(iris.classification_iri("function", "2101301")) == BASE + "concept/function/2101301"
    assert str(iris.classification_iri("economic", "30101")) == BASE + "concept/economic/30101"
    assert str(iris.budget_line_iri(key, "expenditure", "210")) == BASE + f"disclosure/{key}/line/expenditure/210"
    assert str(iris.budget_line_iri(key, "expenditure", "210", 2)).endswith("/line/expenditure/210-2")
    assert str(iris.indicator_category_iri("output")) == BASE + "concept/indicator/output"
    assert str(iris.kind_iri("final-accounts")) == BASE + "concept/kind/final-accounts"
    assert str(iris.table_iri("basic-economic")) == BASE + "concept/table/basic-economic"
    assert str(iris.severity_iri("error")) == BASE + "concept/severity/error"
    assert str(iris.topic_iri("long-term-care-insurance")) == BASE + "topic/long-term-care-insurance"
    assert str(iris.finding_iri(key, "children-sum", 3)).endswith("/finding/children-sum-3")


def test_chinese_names_become_short_ascii_segments():
    for node in (iris.department_iri("乐亭县医疗保障局"), iris.area_iri("乐亭县", "河北省"),
                 iris.legal_iri("冀财社〔2022〕172号"), iris.project_iri("k", "长期照护险"),
                 iris.classification_iri("economic", None, "其他交通费用")):
        assert str(node).isascii(), node
        assert re.fullmatch(r"[0-9a-z/:._-]+", str(node), re.I), node


def test_shared_resources_do_not_depend_on_the_disclosure():
    assert iris.legal_iri("冀财社〔2022〕172号") == iris.legal_iri(" 冀财社〔2022〕172号")
    assert iris.department_iri("兴县医疗保障局") == iris.department_iri("兴县医疗保障局 ")
    assert iris.area_iri("兴县", "山西省") != iris.area_iri("兴县", "河北省")
    assert iris.area_iri("山西省") == iris.area_iri("山西省", "山西省")


def test_disclosure_local_resources_live_under_the_disclosure():
    key = "2024-performance-targets-abc"
    project = iris.project_iri(key, "医保专项业务费")
    for node in (project, iris.indicator_iri(project, 1), iris.department_indicator_iri(key, 1),
                 iris.passage_iri(key, 1), iris.contact_iri(key, "经办人", "某", None),
                 iris.project_detail_iri(project, 1)):
        assert str(node).startswith(str(iris.disclosure_iri(key)) + "/")
    assert iris.project_iri(key, "医保专项业务费", 2) != project


def test_unknown_scheme_or_kind_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="function"):
        iris.scheme_iri("functions")
    with pytest.raises(ValueError, match="economic"):
        iris.classification_iri("econ", "301")


def test_hash_matches_the_disclosure_key_hash():
    from ingest.keys import short_hash

    assert iris.short_hash("乐亭县医疗保障局") == short_hash("乐亭县医疗保障局")
