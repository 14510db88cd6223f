"""Project mentions from narrative, project table and 绩效目标表 merge into one project with the
other names as aliases; near-identical projects from the same table stay apart."""
from decimal import Decimal

from ingest.merge import merge_projects, name_similarity
from ingest.model import Disclosure, Indicator, Project, Span


def _d(*projects):
    d = Disclosure(source_name="x.txt", sha256="0" * 64, layout="test")
    d.projects = list(projects)
    return d


def test_narrative_and_performance_table_merge():
    d = _d(Project("长期照护险", amount=Decimal("1414.00"), sources=["narrative"], span=Span(30, 30)),
           Project("长期照护险", goal="长期照护险及时足额发放到位。", sources=["performance-table"],
                   indicators=[Indicator("产出指标", "数量指标", "长护险参保人数", "34.93 万人")], span=Span(90, 99)),
           Project("城乡居民医疗保险", goal="1.为城乡居民发放医疗保险 4175 万元。", sources=["performance-table"]),
           Project("财政对城乡居民医保基金补助", amount=Decimal("4175.00"), sources=["narrative"]))
    merge_projects(d)
    assert len(d.projects) == 2
    care = next(p for p in d.projects if p.name == "长期照护险")
    assert care.amount == Decimal("1414.00") and len(care.indicators) == 1
    insurance = next(p for p in d.projects if "城乡居民医疗保险" in [p.name] + p.aliases)
    assert insurance.amount == Decimal("4175.00")
    assert {"城乡居民医疗保险", "财政对城乡居民医保基金补助"} == {insurance.name, *insurance.aliases}


def test_table_and_form_names_differing_by_a_character_merge():
    d = _d(Project("2023年原建档立卡贫困人员个人缴费医疗救助补助县级配套资金", amount=Decimal("667.01"),
                   sources=["project-table"]),
           Project("2023年原建档立卡贫困人员补充医疗保险医疗救助补助县级配套资金", amount=Decimal("397.03"),
                   sources=["project-table"]),
           Project("2023年原建档立卡卡贫困人口补充医疗保险医疗救助补助县级配套资金", amount=Decimal("397.03"),
                   sources=["form"]),
           Project("2023年原建档立卡贫困人口个人缴费医疗救助补助县级配套资金", amount=Decimal("667.0104"),
                   sources=["form"]))
    merge_projects(d)
    assert sorted(p.amount for p in d.projects) == [Decimal("397.03"), Decimal("667.01")]
    assert all(len(p.aliases) == 1 for p in d.projects)
    assert not [f for f in d.findings if f.check == "project-amounts-agree"]


def test_same_source_projects_never_merge():
    d = _d(Project("城乡医疗救助-中央上级", sources=["performance-table"]),
           Project("城乡医疗救助-上级", sources=["performance-table"]))
    merge_projects(d)
    assert len(d.projects) == 2


def test_conflicting_amounts_become_a_finding():
    d = _d(Project("医保专项业务费", amount=Decimal("45.00"), sources=["project-table"]),
           Project("医保专项业务费", amount=Decimal("50.00"), sources=["narrative"]))
    merge_projects(d)
    assert len(d.projects) == 1
    assert [f.check for f in d.findings] == ["project-amounts-agree"]


def test_unmatched_bare_mentions_are_dropped():
    d = _d(Project("医疗救助补助资金", sources=["performance-table"]),
           Project("医疗救助补助资金", sources=["narrative-mention"]),
           Project("劳务派遣人员工资", sources=["narrative-mention"]))
    merge_projects(d)
    assert [p.name for p in d.projects] == ["医疗救助补助资金"]


def test_similarity_ignores_numbering_and_document_numbers():
    assert name_similarity("5、关于提前下达（冀财社[2022]172 号）绩效目标表", "关于提前下达") == 1.0
    assert name_similarity("中央-医疗服务与保障能力提升补助资金", "中央财政医疗服务与保障能力提升补助资金") > 0.8
