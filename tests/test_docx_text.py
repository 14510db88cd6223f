"""The docx-text layout: sample 004 (Hebei 2024 project 绩效目标表, one cell per line, cut mid-table).

Expected values were read off the sample by hand.
"""
from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.layouts import docx_text
from ingest.layouts.docx_text import PARSER, read_elements
from ingest.layouts.table_rows import Para, Row
from ingest.model import DocumentKind, Severity
from ingest.registry import get_layout
from ingest.source import SourceText, text_source

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "ingest" / "samples"
DOCX = SAMPLES / "004_2a810ef67890c9d0.txt"
D = Decimal


def source_of(text: str) -> SourceText:
    return SourceText(name="inline.txt", text=text, sha256="0" * 64)


@pytest.fixture(scope="module")
def doc():
    return PARSER.parse(text_source(DOCX))


def test_registered_under_its_name():
    assert get_layout("docx-text") is PARSER and get_layout("docx") is PARSER
    assert PARSER.name == "docx-text" and PARSER.description


@pytest.mark.parametrize("name,low,high", [
    ("004_2a810ef67890c9d0.txt", 0.8, 1.0),
    ("003_4b03bed591dded21.txt", 0.0, 0.1),
    ("000_bd07622c98d0036c.txt", 0.0, 0.1),
    ("001_410140da784744fc.txt", 0.0, 0.1),
    ("002_20041eb3cb8715ee.txt", 0.0, 0.1),
], ids=["docx-text", "shanxi-tsv", "pdf-000", "pdf-001", "pdf-002"])
def test_sniff(name, low, high):
    assert low <= PARSER.sniff(text_source(SAMPLES / name)) <= high


def test_rows_are_rebuilt_from_cell_lines():
    text = ("[bookmark: _Toc_1]1.某项目绩效目标表\n\t460001某县某局本级\n\t单位：万元\n\n"
            "\t绩效目标\n\t1.第一句。\n2.第二句。\n\n\t\n\t质量指标\n\t \n")
    elements = list(read_elements(source_of(text)))
    assert elements == [
        Para("1.某项目绩效目标表", 1),
        Row(("460001某县某局本级", "单位：万元"), 2, 3),
        Row(("绩效目标", "1.第一句。\n2.第二句。"), 5, 7),
        Row(("", "质量指标", ""), 9, 11),
    ]


def test_identity(doc):
    assert doc.layout == "docx-text"
    assert (doc.department, doc.department_code) == ("乐亭县医疗保障局", "460001")
    assert doc.fiscal_year == 2024  # no header prints it: taken from the 时效 targets (2024年12月)
    assert doc.kind == DocumentKind.PERFORMANCE_TARGETS
    assert doc.admin_code == "130225"
    assert doc.budget_lines == [] and doc.figures == []


PROJECTS_004 = [
    ("13022524P00CGB110004W", "医保鉴定评审费", "6.00", 7, []),
    ("13022524P00001610002Y", "医保专项业务费", "45.00", 8, []),
    ("13022524P00010F100036", "2023年省级城乡居民医保村级代办员补助资金（唐财社〔2022〕126号）", "5.00", 8,
     ["唐财社〔2022〕126号"]),
    ("13022524P00002910001K", "省级财政城乡居民社会保险代办员补助资金", "5.00", 8, ["唐财社〔2023〕177号"]),
    ("13022524P00002810001X", "中央财政医疗服务与保障能力提升补助资金", "27.00", 1, ["唐财社〔2023〕178号"]),
]


def test_projects(doc):
    got = [(p.code, p.name, p.amount, len(p.indicators), [r.number for r in p.legal_refs]) for p in doc.projects]
    assert got == [(c, n, D(a), k, refs) for c, n, a, k, refs in PROJECTS_004]
    assert all(p.sources == ["performance-table"] and not p.carryover for p in doc.projects)
    assert sum(len(p.indicators) for p in doc.projects) == 32


def test_project_head_fields(doc):
    first = doc.projects[0]
    assert first.goal == ("1.通过聘请县中两院和其它医院的专家，保障慢性病鉴定得到及时有效会审。\n"
                          "2.通过与财政、食品药品监督管理部门联合鉴定评审，保障每年新增定点药店及定点医疗机构得到及时有效评审。")
    assert first.extra["资金用途"] == "主要用于医保鉴定评审费资金的支出。"
    assert first.extra["资金支出计划"] == "3月底 25%；6月底 50%；10月底 75%；12月底 100%"
    assert first.span.line_start == 55 and first.span.line_end == 147
    assert doc.projects[3].goal == "1.2024年城乡居民社会保险代办员省级补助资金5万元。"


def test_indicators_with_carried_levels(doc):
    rows = [(i.level1, i.level2, i.name, i.description, i.target_value, i.basis)
            for i in doc.projects[0].indicators]
    assert rows == [
        ("产出指标", "数量指标", "慢特病审核人次", "慢特病审核人次", "≥2400人次", "县级预算安排"),
        ("产出指标", "质量指标", "资金发放率", "资金发放率", "≥95%", "县级预算安排"),
        ("产出指标", "时效指标", "项目完成时间", "项目完成时间", "2024年12月", "县级预算安排"),
        ("产出指标", "成本指标", "各种费用拨付率", "各种费用拨付率", "≥95%", "县级预算安排"),
        ("效益指标", "经济效益指标", "减轻慢病人员经济负担", "减轻慢病人员经济负担", "逐步减轻", "县级预算安排"),
        ("效益指标", "社会效益指标", "提高医保基金使用效率", "提高医保基金使用效率", "逐步提高", "县级预算安排"),
        ("满意度指标", "服务对象满意度指标", "群众满意度", "群众满意度", "≥95%", "县级预算安排"),
    ]
    first = doc.projects[0].indicators[0]
    assert (first.comparator, first.number, first.unit) == ("≥", D("2400"), "人次")
    assert first.span.line_start == 100 and first.span.line_end == 105
    second = doc.projects[1].indicators
    assert (second[0].name, second[0].target_value, second[0].unit) == ("居民医保参保人数", "≥31万人", "万人")
    assert (second[1].level2, second[1].name) == ("数量指标", "参加检查的人次")
    third = doc.projects[2].indicators
    assert (third[6].level1, third[6].level2, third[6].name) == ("效益指标", "可持续影响指标", "对健全医疗保障制度体系的作用")
    assert [r.number for r in third[0].legal_refs] == ["唐财社〔2022〕126号"]


def test_truncated_mid_table(doc):
    assert doc.truncated
    (finding,) = doc.findings
    assert finding.check == "truncated" and finding.severity == Severity.WARNING
    assert finding.subject == "中央财政医疗服务与保障能力提升补助资金"
    assert "中央财政医疗服务与保障能力提升补助资金" in finding.message and "line 517" in finding.message
    assert finding.spans[0].line_start == 516 and finding.spans[0].line_end == 517
    (only,) = doc.projects[4].indicators
    assert (only.level1, only.level2, only.name, only.target_value) == ("产出指标", "数量指标", "医保政策宣传", "≥2次")


def test_citations_listed_once(doc):
    assert [r.key for r in doc.legal_refs] == ["唐财社〔2022〕126号", "唐财社〔2023〕177号", "唐财社〔2023〕178号"]


def test_complete_document_is_not_flagged():
    lines = DOCX.read_text(encoding="utf-8").split("\n")
    doc = PARSER.parse(source_of("\n".join(lines[:460])))  # ends after project 4's 满意度 row
    assert not doc.truncated and doc.findings == []
    assert len(doc.projects) == 4 and len(doc.projects[3].indicators) == 8


def test_cut_before_satisfaction_rows_is_flagged():
    lines = DOCX.read_text(encoding="utf-8").split("\n")
    doc = PARSER.parse(source_of("\n".join(lines[:141])))  # project 1 cut after its 效益 rows
    assert doc.truncated and doc.findings[0].subject == "医保鉴定评审费"
    assert "满意度" in doc.findings[0].message
    assert len(doc.projects[0].indicators) == 6


@pytest.mark.parametrize("seed", range(40))
def test_arbitrary_text_never_crashes(seed):
    rng = random.Random(seed)
    pieces = ["\t", "\n", "\n\n", " ", "\t一级指标\n\t二级指标\n\t三级指标\n\t指标值\n", "\t产出指标\n", "\t数量指标\n",
              "\t项目编码\n\t13022524P00CGB110004W\n", "\t预算数\n\t6.00\n", "[bookmark: _Toc]", "1.某项目绩效目标表\n",
              "\t460001某县某局本级\n", "\t≥95%\n", "\t", "\t满意度指标\n", "续行文字\n", "x"]
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 300)))
    parsed = PARSER.parse(source_of(text))
    assert parsed.layout == "docx-text"
    assert 0.0 <= docx_text.sniff(source_of(text)) <= 1.0


@pytest.mark.parametrize("seed", range(5))
def test_shuffled_sample_lines_never_crash(seed):
    lines = DOCX.read_text(encoding="utf-8").split("\n")
    random.Random(seed).shuffle(lines)
    PARSER.parse(source_of("\n".join(lines)))
