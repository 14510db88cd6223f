"""Tests of ``ingest.mapper``: a disclosure built by hand from the model (with figures, lines, codes
and names taken from the seeds 000 and 003) maps to RDF that conforms to ``ontology/shapes.ttl``,
carries provenance on every resource, is deterministic, keeps personal data in the private graph and
shares one IRI per 文号 across disclosures. When ``ingest.pipeline`` exists the five seeds are also
mapped and validated.
"""
from __future__ import annotations

import copy
import importlib.util
from decimal import Decimal
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib import namespace as rns
from rdflib.namespace import DCTERMS, PROV, SKOS

from ingest.mapper import LEVEL2_BROADER, MappedDisclosure, to_rdf
from ingest.model import (
    BudgetLine,
    ClassificationKind,
    Contact,
    Disclosure,
    DocumentKind,
    FigureSource,
    Finding,
    Indicator,
    LegalReference,
    Measure,
    Passage,
    Project,
    SectionKind,
    Severity,
    Span,
    StatedFigure,
    TableKind,
)
from ontology import ONTOLOGY_DIR, iris
from ontology.terms import BKG, QB, graph_iri, private_graph_iri

SAMPLES = Path(__file__).resolve().parent.parent / "ingest" / "samples"
SHAPES = Graph().parse(ONTOLOGY_DIR / "shapes.ttl")

# Resources that must say where in which document they were read (shapes.ttl, ProvenanceShape).
# Departments are shared by all their disclosures: they record each source disclosure, not a line span.
PROVENANCE_CLASSES = [BKG.Disclosure, BKG.BudgetLine, BKG.Project, BKG.PerformanceIndicator,
                      BKG.Finding, BKG.TextPassage, BKG.Contact]

SHA = "a3f1" * 16
PHONE = "13633587231"


def ref(number: str, issuer: str, year: int, serial: str, line: int, title: str | None = None,
        raw: str = "") -> LegalReference:
    return LegalReference(number=number, issuer=issuer, year=year, serial=serial, title=title,
                          raw=raw or number, span=Span(line, line))


def leting_2023() -> Disclosure:
    """A small disclosure in the shape of seed 000 (乐亭县医疗保障局 2023), with contacts as in 003."""
    d = Disclosure(source_name="000_bd07622c98d0036c.txt", sha256=SHA, layout="pdf-text", line_count=1400,
                   page_count=40, department="乐亭县医疗保障局", department_code="460", county="乐亭县",
                   prefecture="唐山市", province="河北省", admin_code="130225", fiscal_year=2023,
                   kind=DocumentKind.BUDGET)
    d.figures = [
        StatedFigure(Measure.TOTAL_REVENUE, Decimal("7895.41"), FigureSource.NARRATIVE, Span(640, 640)),
        StatedFigure(Measure.TOTAL_REVENUE, Decimal("7895.40"), FigureSource.TABLE, Span(75, 75), "summary"),
        StatedFigure(Measure.BASIC_EXPENDITURE, Decimal("601.40"), FigureSource.TABLE, Span(196, 196), "expenditure"),
        StatedFigure(Measure.PROJECT_EXPENDITURE, Decimal("7294.00"), FigureSource.NARRATIVE, Span(648, 648)),
    ]
    e = TableKind.EXPENDITURE
    f = ClassificationKind.FUNCTION
    d.budget_lines = [
        BudgetLine(e, f, "210", "卫生健康支出", Decimal("7804.21"), Decimal("515.21"), Decimal("7289.00"),
                   span=Span(208, 208, 6)),
        BudgetLine(e, f, "21013", "医疗救助", Decimal("800.00"), None, Decimal("800.00"), span=Span(222, 222, 6)),
        BudgetLine(e, f, "2101301", "城乡医疗救助", Decimal("800.00"), None, Decimal("800.00"), span=Span(224, 224, 6)),
        BudgetLine(TableKind.REVENUE, f, "2101301", "城乡医疗救助", Decimal("800.00"), span=Span(150, 150, 4)),
        BudgetLine(TableKind.BASIC_ECONOMIC, ClassificationKind.ECONOMIC, "301", "工资福利支出",
                   Decimal("571.89"), personnel_amount=Decimal("571.89"), span=Span(400, 400, 9)),
        BudgetLine(TableKind.BASIC_ECONOMIC, ClassificationKind.ECONOMIC, "30101", "基本工资",
                   Decimal("127.95"), personnel_amount=Decimal("127.95"), span=Span(402, 402, 9),
                   inferred_columns=True),
        # 003 prints its economic table without codes.
        BudgetLine(TableKind.BASIC_ECONOMIC, ClassificationKind.ECONOMIC, None, "其他交通费用",
                   Decimal("5.22"), public_amount=Decimal("5.22"), span=Span(410, 410, 9)),
    ]
    qualifying = ref("冀财社〔2022〕172号", "冀财社", 2022, "172", 900, raw="冀财社[2022]172 号")
    d.projects = [
        Project(
            name="长期照护险", aliases=["长期照护险绩效目标表"], amount=Decimal("1414.00"),
            code="13022523P00CGB110004W", goal="长期照护险及时足额发放到位。",
            indicators=[
                Indicator("产出指标", "数量指标", "长护险参保人数", "34.93 万人", "长护险参保人数", None,
                          Decimal("34.93"), "万人", "县级年初预算项目", span=Span(1100, 1100)),
                Indicator("产出指标", "质量指标", "资金发放率", "≥98%", None, "≥", Decimal("98"), "%",
                          "冀财社[2022]172 号", [qualifying], span=Span(1102, 1102)),
                Indicator("部门产出", "时效指标", "项目完成时间", "2023 年 12 月", span=None),
                Indicator("效益指标", "其他指标", "提高居民幸福指数", "逐步提高", span=Span(1106, 1106)),
            ],
            legal_refs=[qualifying], span=Span(1090, 1110, 30), sources=["narrative", "performance-table"],
            extra={"立项依据": "根据冀财社[2022]172 号文件", "项目属性": "",
                   # A parser that keeps the signature row of a 003 form as text must not leak it.
                   "填报": f"负责人: 王宇 经办人: 郭瑞林 联系电话: {PHONE}"},
        ),
        Project(name="医疗救助", amount=Decimal("800.00"), span=Span(1200, 1230, 32), carryover=True,
                sources=["performance-table"]),
    ]
    d.department_indicators = [
        Indicator("满意度指标", "服务对象满意度指标", "群众满意度", "≥98%", comparator="≥", number=Decimal("98"),
                  unit="%", span=Span(700, 700)),
    ]
    d.legal_refs = [
        qualifying,
        ref("冀医保函〔2019〕42号", "冀医保函", 2019, "42", 690,
            title="河北省医疗保障局关于加快推进医疗保障定点医药机构协议管理工作的紧急通知"),
        LegalReference(title="预算法", raw="《预算法》", span=Span(600, 600)),
    ]
    d.passages = [
        Passage(SectionKind.DUTIES, "部门职责", "（一）贯彻执行……医疗救助等医疗保障法律法规。", Span(610, 630)),
        Passage(SectionKind.PERFORMANCE_GOALS, "分项绩效目标", "重新签订服务协议。", Span(680, 695)),
    ]
    d.contacts = [
        Contact("负责人", "王宇", None, Span(1111, 1111)),
        Contact("经办人", "郭瑞林", PHONE, Span(1111, 1111)),
        Contact("经办人", "郭瑞林", PHONE, Span(1231, 1231)),  # the same person in a second form
    ]
    d.findings = [
        Finding("children-sum", Severity.ERROR, "2101301 的下级科目之和与合计不符", expected=Decimal("800.00"),
                found=Decimal("800.10"), tolerance=Decimal("0.01"), spans=[Span(222, 224)], subject="2101301"),
        Finding("narrative-vs-table", Severity.INFO, "收入总计文数相差 0.01 万元", Decimal("7895.40"),
                Decimal("7895.41"), Decimal("0.01"), [Span(75, 75), Span(640, 640)], subject="totalRevenue"),
        Finding("truncated", Severity.WARNING, "文件在第 1400 行截断", spans=[Span(1400, 1400)]),
        Finding("project-sum", Severity.WARNING, "项目金额与项目支出不符", subject="医疗救助"),
    ]
    d.truncated = True
    return d


def bazhou_2023() -> Disclosure:
    """A second disclosure (shape of seed 001) citing the same 文号, this time with its title."""
    d = Disclosure(source_name="001_410140da784744fc.txt", sha256="0b" * 32, layout="pdf-text", line_count=3200,
                   department="霸州市医疗保障局", county="霸州市", prefecture="廊坊市", province="河北省",
                   fiscal_year=2023)
    citation = ref("冀财社〔2022〕172号", "冀财社", 2022, "172", 2671,
                   title="关于提前下达2023年省级财政城乡社会保险代办员补助资金的通知")
    d.projects = [Project(name="省级财政城乡社会保险代办员补助资金", amount=Decimal("5"),
                          legal_refs=[citation], span=Span(2671, 2700))]
    d.legal_refs = [citation]
    return d


@pytest.fixture(scope="module")
def mapped() -> MappedDisclosure:
    return to_rdf(leting_2023())


def conforms(graph: Graph, allow_warnings: bool = False) -> tuple[bool, str]:
    ok, _, text = validate(graph, shacl_graph=SHAPES, inference="none", allow_warnings=allow_warnings)
    return ok, text


def union(*graphs: Graph) -> Graph:
    g = Graph()
    for part in graphs:
        for t in part:
            g.add(t)
    return g


# ------------------------------------------------------------------ shapes


def test_public_graph_conforms_to_shapes(mapped):
    ok, report = conforms(mapped.public)
    assert ok, report


def test_public_and_private_together_conform(mapped):
    ok, report = conforms(union(mapped.public, mapped.private))
    assert ok, report


def test_two_disclosures_in_one_graph_conform():
    ok, report = conforms(union(to_rdf(leting_2023()).public, to_rdf(bazhou_2023()).public))
    assert ok, report


@pytest.mark.parametrize("change, why", [
    (lambda g, d: g.remove((d, BKG.fiscalYear, None)), "fiscal year missing"),
    (lambda g, d: g.set((d, BKG.fiscalYear, Literal("2023"))), "fiscal year as a string"),
    (lambda g, d: g.set((d, BKG.sha256, Literal("xyz"))), "sha256 not hex"),
    (lambda g, d: g.remove((None, BKG.lineStart, None)), "line provenance missing"),
    (lambda g, d: g.set((d, BKG.lineStart, Literal(2000))), "line start after line end"),
    (lambda g, d: g.remove((None, BKG.indicatorLevel1, None)), "indicator category missing"),
    (lambda g, d: g.remove((None, BKG.targetValue, None)), "target value missing (a warning)"),
    (lambda g, d: g.remove((None, BKG.publishedBy, None)), "publisher missing"),
    (lambda g, d: g.set((iris.classification_iri("function", "2101301"), SKOS.notation, Literal("21013011"))),
     "code of 8 digits"),
    (lambda g, d: g.add((iris.project_iri(leting_2023().key, "长期照护险"), BKG.amount,
                         Literal("-1", datatype=rns.XSD.decimal))), "negative project amount"),
    (lambda g, d: g.set((iris.legal_iri("冀财社〔2022〕172号"), BKG.documentNumber, Literal("冀财社[2022]172号"))),
     "文号 not normalised"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_shapes_reject_bad_data(mapped, change, why):
    g = union(mapped.public)
    change(g, mapped.iri)
    ok, _ = conforms(g)
    assert not ok, f"shapes accepted data with {why}"


# ------------------------------------------------------------------ provenance


def test_every_resource_read_from_the_document_has_provenance(mapped):
    g = union(mapped.public, mapped.private)
    checked = 0
    for cls in PROVENANCE_CLASSES:
        for node in g.subjects(RDF.type, cls):
            checked += 1
            assert (node, BKG.fromDisclosure, mapped.iri) in g, node
            assert g.value(node, BKG.lineStart) is not None, node
            assert g.value(node, BKG.lineEnd) is not None, node
            if node != mapped.iri:
                assert (node, PROV.wasDerivedFrom, mapped.iri) in g, node
    assert checked >= 20
    for node in g.subjects(RDF.type, BKG.Department):
        assert (node, BKG.fromDisclosure, mapped.iri) in g, node


def test_shared_resources_are_split_from_the_disclosure_graph(mapped):
    own, shared = mapped.own_and_shared()
    assert len(own) + len(shared) == len(mapped.public)
    departments = set(mapped.public.subjects(RDF.type, BKG.Department))
    assert departments and all((d, RDF.type, BKG.Department) in shared for d in departments)
    # What ties a shared resource to this disclosure stays in the disclosure's own graph.
    assert all((d, BKG.fromDisclosure, mapped.iri) in own for d in departments)
    assert not any(str(s).startswith(str(mapped.iri)) for s in shared.subjects())


def test_spans_and_pages_are_kept(mapped):
    g = mapped.public
    line = iris.budget_line_iri(mapped.key, "expenditure", "2101301")
    assert g.value(line, BKG.lineStart) == Literal(224)
    assert g.value(line, BKG.page) == Literal(6)
    project = iris.project_iri(mapped.key, "长期照护险")
    assert (g.value(project, BKG.lineStart), g.value(project, BKG.lineEnd)) == (Literal(1090), Literal(1110))


def test_resources_without_a_span_inherit_their_parents(mapped):
    project = iris.project_iri(mapped.key, "长期照护险")
    indicator = iris.indicator_iri(project, 3)  # printed without a span
    assert mapped.public.value(indicator, BKG.lineStart) == Literal(1090)
    assert mapped.public.value(indicator, BKG.page) == Literal(30)


def test_shared_resources_record_their_source_but_no_lines(mapped):
    g = mapped.public
    legal = iris.legal_iri("冀财社〔2022〕172号")
    county = iris.area_iri("乐亭县", "河北省")
    for node in (legal, county):
        assert (node, BKG.fromDisclosure, mapped.iri) in g
        assert g.value(node, BKG.lineStart) is None


# ------------------------------------------------------------------ determinism and identity


def test_mapping_is_deterministic(mapped):
    again = to_rdf(copy.deepcopy(leting_2023()))
    assert set(again.public) == set(mapped.public)
    assert set(again.private) == set(mapped.private)


def test_no_blank_nodes_so_reingest_replaces_exactly(mapped):
    for g in (mapped.public, mapped.private):
        assert not any(isinstance(term, BNode) for triple in g for term in triple)


def test_graph_names_come_from_the_disclosure_key(mapped):
    assert mapped.graph_iri == graph_iri(mapped.key)
    assert mapped.private_graph_iri == private_graph_iri(mapped.key)
    assert mapped.iri == URIRef(f"https://w3id.org/budgetkg/id/disclosure/{mapped.key}")
    assert mapped.key.startswith("2023-budget-")


def test_same_document_number_in_two_disclosures_is_one_resource():
    a, b = to_rdf(leting_2023()), to_rdf(bazhou_2023())
    legal = iris.legal_iri("冀财社〔2022〕172号")
    assert (a.iri, BKG.cites, legal) in a.public
    assert (b.iri, BKG.cites, legal) in b.public
    both = union(a.public, b.public)
    assert len(set(both.subjects(BKG.documentNumber, Literal("冀财社〔2022〕172号")))) == 1
    # The label is the number, the same from both disclosures; the title is added where known.
    assert list(both.objects(legal, RDFS.label)) == [Literal("冀财社〔2022〕172号", lang="zh")]
    assert both.value(legal, DCTERMS.title) == Literal("关于提前下达2023年省级财政城乡社会保险代办员补助资金的通知",
                                                       lang="zh")


# ------------------------------------------------------------------ personal data


def test_contacts_only_in_the_private_graph(mapped):
    pub, priv = mapped.public, mapped.private
    for text in (PHONE, "王宇", "郭瑞林"):
        assert not any(text in str(term) for triple in pub for term in triple), text
        assert any(text in str(o) for o in priv.objects()), text
    assert not list(pub.subjects(RDF.type, BKG.Contact))
    assert not list(pub.triples((None, BKG.hasContact, None)))


def test_personal_data_left_in_a_text_is_masked_in_public(mapped):
    project = iris.project_iri(mapped.key, "长期照护险")
    texts = [str(mapped.public.value(n, BKG.text)) for n in mapped.public.objects(project, BKG.hasPassage)]
    assert "负责人: ＊＊＊ 经办人: ＊＊＊ 联系电话: ＊＊＊" in texts


def test_a_person_named_in_two_forms_is_one_contact(mapped):
    contacts = set(mapped.private.subjects(RDF.type, BKG.Contact))
    assert len(contacts) == 2
    clerk = iris.contact_iri(mapped.key, "经办人", "郭瑞林", PHONE)
    assert mapped.private.value(clerk, BKG.phone) == Literal(PHONE)
    assert mapped.private.value(clerk, BKG.lineStart) == Literal(1111)


# ------------------------------------------------------------------ disclosure, department, areas


def test_disclosure_facts(mapped):
    g, d = mapped.public, mapped.iri
    assert g.value(d, BKG.fiscalYear) == Literal(2023)
    assert g.value(d, BKG.fiscalYear).datatype == rns.XSD.integer
    assert g.value(d, BKG.sha256) == Literal(SHA)
    assert g.value(d, BKG.fileName) == Literal("000_bd07622c98d0036c.txt")
    assert g.value(d, BKG.layout) == Literal("pdf-text")
    assert g.value(d, BKG.lineCount) == Literal(1400)
    assert g.value(d, BKG.pageCount) == Literal(40)
    assert g.value(d, BKG.truncated) == Literal(True)
    assert g.value(d, BKG.documentKind) == iris.kind_iri("budget")
    assert g.value(d, RDFS.label) == Literal("乐亭县医疗保障局2023年部门预算", lang="zh")
    assert (d, RDF.type, QB.DataSet) in g


def test_measures_prefer_the_table_figure_and_stay_exact_decimals(mapped):
    g, d = mapped.public, mapped.iri
    total = g.value(d, BKG.totalRevenue)
    assert total.datatype == rns.XSD.decimal and str(total) == "7895.40"  # table, not the narrative 7895.41
    assert str(g.value(d, BKG.basicExpenditure)) == "601.40"
    assert str(g.value(d, BKG.projectExpenditure)) == "7294.00"  # only stated in the narrative
    assert g.value(d, BKG.carryover) is None  # not stated: nothing asserted, not zero


def test_department_and_area_chain(mapped):
    g = mapped.public
    dept = iris.department_iri("乐亭县医疗保障局")
    assert g.value(mapped.iri, BKG.publishedBy) == dept
    assert g.value(dept, RDFS.label) == Literal("乐亭县医疗保障局", lang="zh")
    assert g.value(dept, BKG.departmentCode) == Literal("460")
    county, prefecture, province = (iris.area_iri("乐亭县", "河北省"), iris.area_iri("唐山市", "河北省"),
                                    iris.area_iri("河北省"))
    assert g.value(dept, BKG.area) == county
    assert g.value(county, BKG.partOf) == prefecture
    assert g.value(prefecture, BKG.partOf) == province
    assert [g.value(a, BKG.adminLevel).toPython() for a in (county, prefecture, province)] == \
        ["county", "prefecture", "province"]
    assert [g.value(a, BKG.adminCode).toPython() for a in (county, prefecture, province)] == \
        ["130225", "130200", "130000"]
    assert g.value(province, RDFS.label) == Literal("河北省", lang="zh")


def test_department_and_areas_are_the_same_resources_in_two_years(mapped):
    later = leting_2023()
    later.fiscal_year, later.sha256 = 2024, "c" * 64
    other = to_rdf(later)
    assert other.iri != mapped.iri
    assert other.public.value(other.iri, BKG.publishedBy) == mapped.public.value(mapped.iri, BKG.publishedBy)


# ------------------------------------------------------------------ budget lines and code lists


def test_budget_line_is_a_cube_observation_with_its_columns(mapped):
    g = mapped.public
    line = iris.budget_line_iri(mapped.key, "expenditure", "210")
    assert (mapped.iri, BKG.hasBudgetLine, line) in g
    assert g.value(line, QB.dataSet) == mapped.iri
    assert [str(g.value(line, p)) for p in (BKG.amount, BKG.basicAmount, BKG.projectAmount)] == \
        ["7804.21", "515.21", "7289.00"]
    assert g.value(line, BKG.sourceTable) == iris.table_iri("expenditure")
    assert g.value(line, BKG.classificationKind) == Literal("function")
    econ = iris.budget_line_iri(mapped.key, "basic-economic", "30101")
    assert str(g.value(econ, BKG.personnelAmount)) == "127.95"
    assert g.value(econ, BKG.inferredColumns) == Literal(True)


def test_same_code_in_two_tables_gives_two_lines_one_concept(mapped):
    g = mapped.public
    lines = set(g.subjects(BKG.classification, iris.classification_iri("function", "2101301")))
    assert lines == {iris.budget_line_iri(mapped.key, "expenditure", "2101301"),
                     iris.budget_line_iri(mapped.key, "revenue", "2101301")}


def test_classification_concepts_follow_lei_kuan_xiang(mapped):
    g = mapped.public
    item = iris.classification_iri("function", "2101301")
    section = iris.classification_iri("function", "21013")
    cls = iris.classification_iri("function", "210")
    assert str(item) == "https://w3id.org/budgetkg/id/concept/function/2101301"
    assert g.value(item, SKOS.notation) == Literal("2101301")
    assert g.value(item, SKOS.prefLabel) == Literal("城乡医疗救助", lang="zh")
    assert g.value(item, SKOS.broader) == section
    assert g.value(section, SKOS.broader) == cls
    assert g.value(cls, SKOS.broader) is None
    assert (cls, SKOS.topConceptOf, iris.scheme_iri("function")) in g
    assert g.value(iris.classification_iri("economic", "30101"), SKOS.broader) == \
        iris.classification_iri("economic", "301")
    assert (item, SKOS.inScheme, iris.scheme_iri("function")) in g


def test_uncoded_line_gets_a_name_based_concept(mapped):
    g = mapped.public
    line = iris.budget_line_iri(mapped.key, "basic-economic", "其他交通费用")
    concept = g.value(line, BKG.classification)
    assert concept == iris.classification_iri("economic", None, "其他交通费用")
    assert g.value(concept, SKOS.notation) is None
    assert g.value(concept, SKOS.prefLabel) == Literal("其他交通费用", lang="zh")
    assert (concept, SKOS.inScheme, iris.scheme_iri("economic")) in g


# ------------------------------------------------------------------ projects and indicators


def test_project_facts(mapped):
    g = mapped.public
    p = iris.project_iri(mapped.key, "长期照护险")
    assert (mapped.iri, BKG.hasProject, p) in g
    assert g.value(p, RDFS.label) == Literal("长期照护险", lang="zh")
    assert g.value(p, SKOS.altLabel) == Literal("长期照护险绩效目标表", lang="zh")
    assert str(g.value(p, BKG.amount)) == "1414.00"
    assert g.value(p, BKG.projectCode) == Literal("13022523P00CGB110004W")
    assert g.value(p, BKG.goal) == Literal("长期照护险及时足额发放到位。", lang="zh")
    assert g.value(p, BKG.carriedOver) == Literal(False)
    assert set(g.objects(p, BKG.foundIn)) == {Literal("narrative"), Literal("performance-table")}
    assert g.value(p, BKG.legalBasis) == iris.legal_iri("冀财社〔2022〕172号")
    details = {str(g.value(n, RDFS.label)): n for n in g.objects(p, BKG.hasPassage)}
    assert sorted(details) == ["填报", "立项依据"]  # the empty 项目属性 is left out
    assert g.value(details["立项依据"], BKG.sectionKind) == Literal("project-detail")
    assert g.value(details["立项依据"], BKG.text) == Literal("根据冀财社[2022]172 号文件", lang="zh")
    assert g.value(iris.project_iri(mapped.key, "医疗救助"), BKG.carriedOver) == Literal(True)


def test_indicator_facts(mapped):
    g = mapped.public
    p = iris.project_iri(mapped.key, "长期照护险")
    first, second = iris.indicator_iri(p, 1), iris.indicator_iri(p, 2)
    assert list(g.objects(p, BKG.hasIndicator)).__len__() == 4
    assert g.value(first, RDFS.label) == Literal("长护险参保人数", lang="zh")
    assert g.value(first, BKG.indicatorLevel1) == iris.indicator_category_iri("output")
    assert g.value(first, BKG.indicatorLevel2) == iris.indicator_category_iri("quantity")
    assert g.value(first, BKG.targetValue) == Literal("34.93 万人")
    assert str(g.value(first, BKG.targetNumber)) == "34.93"
    assert g.value(first, BKG.unit) == Literal("万人")
    assert g.value(first, BKG.valueBasis) == Literal("县级年初预算项目", lang="zh")
    assert g.value(first, BKG.indicatorDescription) == Literal("长护险参保人数", lang="zh")
    assert g.value(second, BKG.comparator) == Literal("≥")
    assert g.value(second, BKG.legalBasis) == iris.legal_iri("冀财社〔2022〕172号")


def test_printed_category_variants_map_to_the_standard_concepts(mapped):
    g = mapped.public
    p = iris.project_iri(mapped.key, "长期照护险")
    assert g.value(iris.indicator_iri(p, 3), BKG.indicatorLevel1) == iris.indicator_category_iri("output")  # 部门产出
    assert g.value(iris.indicator_iri(p, 4), BKG.indicatorLevel1) == iris.indicator_category_iri("outcome")


def test_unknown_printed_category_is_kept_as_its_own_concept(mapped):
    g = mapped.public
    p = iris.project_iri(mapped.key, "长期照护险")
    concept = g.value(iris.indicator_iri(p, 4), BKG.indicatorLevel2)
    assert concept == iris.minted_indicator_category_iri(2, "其他指标")
    assert g.value(concept, SKOS.prefLabel) == Literal("其他指标", lang="zh")
    assert (concept, SKOS.inScheme, iris.scheme_iri("indicator")) in g


def test_first_level_implied_by_second_where_not_printed():
    d = leting_2023()
    d.projects[0].indicators.append(Indicator("", "可持续影响", "规范医药机构医疗服务行为", "=100%", span=Span(1108, 1108)))
    d.projects[0].indicators.append(Indicator("", "成本指标", "人均财政投入水平", "≤50万次", span=Span(1109, 1109)))
    g = to_rdf(d).public
    p = iris.project_iri(d.key, "长期照护险")
    assert g.value(iris.indicator_iri(p, 5), BKG.indicatorLevel1) == iris.indicator_category_iri("outcome")
    assert g.value(iris.indicator_iri(p, 6), BKG.indicatorLevel1) is None  # 成本 implies no 一级


def test_level2_broader_table_agrees_with_the_code_list():
    codelists = Graph().parse(ONTOLOGY_DIR / "codelists.ttl")
    for child, parent in LEVEL2_BROADER.items():
        assert codelists.value(iris.indicator_category_iri(child), SKOS.broader) == \
            iris.indicator_category_iri(parent), child
    broader_in_ttl = {s for s in codelists.subjects(SKOS.broader, None)
                      if str(s).startswith("https://w3id.org/budgetkg/id/concept/indicator/")}
    assert {iris.indicator_category_iri(c) for c in LEVEL2_BROADER} == broader_in_ttl


def test_department_wide_indicators_hang_off_the_disclosure(mapped):
    g = mapped.public
    node = iris.department_indicator_iri(mapped.key, 1)
    assert (mapped.iri, BKG.hasIndicator, node) in g
    assert g.value(node, BKG.indicatorLevel2) == iris.indicator_category_iri("beneficiary-satisfaction")


# ------------------------------------------------------------------ legal documents and passages


def test_legal_document_parts(mapped):
    g = mapped.public
    legal = iris.legal_iri("冀财社〔2022〕172号")
    assert g.value(legal, BKG.documentNumber) == Literal("冀财社〔2022〕172号")
    assert g.value(legal, BKG.issuerCode) == Literal("冀财社")
    assert g.value(legal, BKG.documentYear) == Literal(2022)
    assert g.value(legal, BKG.serialNumber) == Literal("172")
    assert g.value(legal, SKOS.hiddenLabel) == Literal("冀财社[2022]172 号", lang="zh")
    titled = iris.legal_iri("冀医保函〔2019〕42号")
    assert g.value(titled, DCTERMS.title).startswith("河北省医疗保障局")
    title_only = iris.legal_iri("预算法")
    assert g.value(title_only, RDFS.label) == Literal("预算法", lang="zh")
    assert g.value(title_only, BKG.documentNumber) is None
    assert set(g.objects(mapped.iri, BKG.cites)) == {legal, titled, title_only}


def test_passages_carry_text_and_the_documents_they_cite(mapped):
    g = mapped.public
    duties, goals = iris.passage_iri(mapped.key, 1), iris.passage_iri(mapped.key, 2)
    assert g.value(duties, BKG.sectionKind) == Literal("duties")
    assert g.value(duties, RDFS.label) == Literal("部门职责", lang="zh")
    assert "医疗救助" in g.value(duties, BKG.text)
    assert list(g.objects(goals, BKG.cites)) == [iris.legal_iri("冀医保函〔2019〕42号")]
    assert not list(g.objects(duties, BKG.cites))


# ------------------------------------------------------------------ findings


def test_findings_with_figures_and_subjects(mapped):
    g = mapped.public
    sums = iris.finding_iri(mapped.key, "children-sum", 1)
    assert g.value(sums, BKG.severity) == iris.severity_iri("error")
    assert g.value(sums, BKG.checkName) == Literal("children-sum")
    assert g.value(sums, RDFS.comment) == Literal("2101301 的下级科目之和与合计不符")
    assert [str(g.value(sums, p)) for p in (BKG.expectedValue, BKG.foundValue, BKG.difference, BKG.tolerance)] == \
        ["800.00", "800.10", "0.10", "0.01"]
    # The code is in two tables; the finding's span picks the expenditure line.
    assert list(g.objects(sums, BKG.concerns)) == [iris.budget_line_iri(mapped.key, "expenditure", "2101301")]
    assert g.value(sums, BKG.subjectLabel) == Literal("2101301")
    assert (g.value(sums, BKG.lineStart), g.value(sums, BKG.lineEnd)) == (Literal(222), Literal(224))
    narrative = iris.finding_iri(mapped.key, "narrative-vs-table", 2)
    assert list(g.objects(narrative, BKG.concerns)) == [mapped.iri]
    assert (g.value(narrative, BKG.lineStart), g.value(narrative, BKG.lineEnd)) == (Literal(75), Literal(640))
    truncated = iris.finding_iri(mapped.key, "truncated", 3)
    assert g.value(truncated, BKG.severity) == iris.severity_iri("warning")
    assert list(g.objects(truncated, BKG.concerns)) == [mapped.iri]
    project = iris.finding_iri(mapped.key, "project-sum", 4)
    assert list(g.objects(project, BKG.concerns)) == [iris.project_iri(mapped.key, "医疗救助")]
    assert len(set(g.objects(mapped.iri, BKG.hasFinding))) == 4


# ------------------------------------------------------------------ the seeds, through the real parsers

HAS_PIPELINE = importlib.util.find_spec("ingest.pipeline") is not None


@pytest.mark.skipif(not HAS_PIPELINE, reason="ingest.pipeline (parse_path) is not written yet")
@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.txt")), ids=lambda p: p.name[:3])
def test_seed_maps_to_conforming_graph(path):
    from ingest.pipeline import parse_path

    disclosure = parse_path(path)
    result = to_rdf(disclosure)
    # Warnings (a target cell left blank in the document) are facts about the document, not errors.
    ok, report = conforms(union(result.public, result.private), allow_warnings=True)
    assert ok, report
    assert set(to_rdf(parse_path(path)).public) == set(result.public)
    assert (result.iri, BKG.sha256, Literal(disclosure.sha256)) in result.public
    for phone in {c.phone for c in disclosure.contacts if c.phone}:
        assert not any(phone in str(o) for o in result.public.objects())


@pytest.mark.skipif(not HAS_PIPELINE, reason="ingest.pipeline (parse_path) is not written yet")
def test_all_seeds_together_conform_and_share_departments_and_codes():
    """Shared resources (departments, areas, code concepts, 文号) agree across the seed graphs."""
    from ingest.pipeline import parse_path

    results = [to_rdf(parse_path(path)) for path in sorted(SAMPLES.glob("*.txt"))]
    g = union(*(r.public for r in results), *(r.private for r in results))
    ok, report = conforms(g, allow_warnings=True)
    assert ok, report
    # 乐亭县医疗保障局 publishes both the 2023 budget (000) and the 2024 targets (004): one department.
    leting = iris.department_iri("乐亭县医疗保障局")
    assert len(set(g.subjects(BKG.publishedBy, leting))) == 2
    assert len({r.iri for r in results}) == len(results)
    for concept in set(g.objects(None, BKG.classification)):
        assert len(set(g.objects(concept, SKOS.prefLabel))) <= 1, concept
