"""Identity of a disclosure read from its own text: department, county, prefecture, province,
GB/T 2260 code, fiscal year and kind, on the five real seeds and on a county none of them is from."""
from functools import lru_cache
from pathlib import Path

import pytest

from ingest.gazetteer import PROVINCES, is_admin_code, province_by_code, split_area_chain
from ingest.identity import enrich_identity, find_fiscal_year
from ingest.model import Disclosure, DocumentKind
from ingest.normalize import PROVINCE_ABBREVIATIONS
from ingest.source import SourceText, sha256_hex, text_source

SAMPLES = Path(__file__).resolve().parent.parent / "ingest" / "samples"


def sample(prefix: str) -> SourceText:
    return text_source(next(SAMPLES.glob(f"{prefix}_*.txt")))


@lru_cache(maxsize=None)
def identified(prefix: str) -> Disclosure:
    source = sample(prefix)
    disclosure = Disclosure(source_name=source.name, sha256=source.sha256, layout="test")
    enrich_identity(disclosure, source)
    return disclosure


def synthetic(text: str, name: str = "synthetic.txt") -> SourceText:
    return SourceText(name=name, text=text, sha256=sha256_hex(text.encode("utf-8")))


SEEDS = [
    # prefix, department, code, county, prefecture, province, year, kind
    ("000", "乐亭县医疗保障局", "460", "乐亭县", "唐山市", "河北省", 2023, DocumentKind.BUDGET),
    ("001", "霸州市医疗保障局", "807", "霸州市", "廊坊市", "河北省", 2023, DocumentKind.BUDGET),
    ("002", "大城县医疗保障局", None, "大城县", "廊坊市", "河北省", 2021, DocumentKind.BUDGET),
    ("003", "兴县医疗保障局", "036", "兴县", "吕梁市", "山西省", 2023, DocumentKind.BUDGET),
    ("004", "乐亭县医疗保障局", "460", "乐亭县", "唐山市", "河北省", 2024, DocumentKind.PERFORMANCE_TARGETS),
]


@pytest.mark.parametrize("prefix, department, code, county, prefecture, province, year, kind", SEEDS,
                         ids=[s[0] for s in SEEDS])
def test_seed_identity(prefix, department, code, county, prefecture, province, year, kind):
    d = identified(prefix)
    assert (d.department, d.department_code, d.county, d.prefecture, d.province, d.fiscal_year, d.kind) == \
        (department, code, county, prefecture, province, year, kind)


def test_county_level_city_is_the_county_and_its_superior_the_prefecture():
    # 霸州市 is a county-level city: it must not be taken for the prefecture, which is 廊坊市.
    d = identified("001")
    assert d.county == "霸州市" and d.prefecture == "廊坊市"


def test_admin_code_comes_from_project_codes_not_from_the_unit_code():
    # 004 prints project codes 13022524P… (130225 = 乐亭县) and the unit code 460001.
    assert identified("004").admin_code == "130225"
    assert not is_admin_code("460001")


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003"])
def test_no_admin_code_where_none_is_printed(prefix):
    assert identified(prefix).admin_code is None


def test_province_from_document_number_prefixes_alone():
    # 003 never names 山西省; its 文号 (晋财社, 晋医保发) do.
    assert "山西省" not in sample("003").text
    assert identified("003").province == "山西省"


def test_fields_set_by_the_layout_parser_are_kept():
    source = sample("000")
    d = Disclosure(source_name=source.name, sha256=source.sha256, layout="test", department="乐亭县医疗保障局本级",
                   fiscal_year=2022, kind=DocumentKind.FINAL_ACCOUNTS, province="河北省")
    enrich_identity(d, source)
    assert (d.department, d.fiscal_year, d.kind, d.province) == ("乐亭县医疗保障局本级", 2022,
                                                                DocumentKind.FINAL_ACCOUNTS, "河北省")
    assert d.county == "乐亭县"  # still derived from the kept department


OTHER_COUNTY = """某某县教育局 2024 年部门预算信息公开情况说明
按照《中华人民共和国预算法》规定，现将某某县教育局 2024 年部门预算公开如下：
一、部门职责
贯彻落实《保定市教育局关于做好学前教育工作的通知》（冀教〔2023〕5号）精神，负责全县教育工作。
二、部门预算安排的总体情况
2024 年支出预算 1234.56 万元，其中：基本支出 1000.00 万元，项目支出 234.56 万元，包括学生资助 200.00 万元，校舍维修 34.56 万元。
"""


def test_a_county_none_of_the_seeds_is_from():
    d = Disclosure(source_name="other.txt", sha256="0" * 64, layout="test")
    enrich_identity(d, synthetic(OTHER_COUNTY))
    assert (d.department, d.county, d.prefecture, d.province, d.fiscal_year, d.kind) == \
        ("某某县教育局", "某某县", "保定市", "河北省", 2024, DocumentKind.BUDGET)


def test_final_accounts_by_title():
    text = "某某区财政局 2022 年度部门决算公开\n按照《预算法》规定，现将某某区财政局 2022 年度部门决算公开如下：\n"
    d = Disclosure(source_name="f.txt", sha256="0" * 64, layout="test")
    enrich_identity(d, synthetic(text))
    assert (d.department, d.county, d.fiscal_year, d.kind) == ("某某区财政局", "某某区", 2022,
                                                               DocumentKind.FINAL_ACCOUNTS)


def test_previous_year_comparisons_do_not_set_the_year():
    text = "某县卫生健康局2023年部门预算公开\n2023年预算安排100万元，2022年预算安排90万元，2022年决算80万元。"
    assert find_fiscal_year(text) == 2023


@pytest.mark.parametrize("text", ["", "\n\n\n", "\x00\x01 garbage", "《《《《", "预算年度：", "\t\t\t\n\t"])
def test_odd_text_never_raises(text):
    d = Disclosure(source_name="odd.txt", sha256="0" * 64, layout="test")
    enrich_identity(d, synthetic(text))
    assert d.findings == []


# ------------------------------------------------------------------ gazetteer


def test_gazetteer_has_the_34_province_level_divisions():
    assert len(PROVINCES) == 34
    assert len({p.code for p in PROVINCES}) == 34
    assert province_by_code("130225").name == "河北省"
    assert province_by_code("140000").name == "山西省"


def test_gazetteer_abbreviations_agree_with_the_document_number_normaliser():
    for abbreviation, name in PROVINCE_ABBREVIATIONS.items():
        assert any(p.name == name and abbreviation in p.abbreviations for p in PROVINCES), abbreviation


@pytest.mark.parametrize("name, chain", [
    ("乐亭县医疗保障局", ["乐亭县"]),
    ("兴县医疗保障局", ["兴县"]),
    ("霸州市医疗保障局", ["霸州市"]),
    ("唐山市乐亭县医疗保障局", ["唐山市", "乐亭县"]),
    ("河北省石家庄市裕华区教育局", ["河北省", "石家庄市", "裕华区"]),
    ("霸州市市场监督管理局", ["霸州市"]),
    ("乐亭县城市管理综合行政执法局", ["乐亭县"]),
    ("医疗保障局", []),
])
def test_area_chain_of_a_department_name(name, chain):
    assert split_area_chain(name) == chain
