"""Citations anywhere in a disclosure (prose, table cells, captions, 立项依据): every 文号 once,
《titles》, and a title and its number as one reference, also when a PDF line break cuts them."""
from functools import lru_cache
from pathlib import Path

import pytest

from ingest.citations import find_citations, merge_citations
from ingest.model import Disclosure, LegalReference
from ingest.narrative import enrich_narrative
from ingest.normalize import find_document_numbers, strip_markup
from ingest.paragraphs import read_blocks
from ingest.source import SourceText, sha256_hex, text_source

SAMPLES = Path(__file__).resolve().parent.parent / "ingest" / "samples"


@lru_cache(maxsize=None)
def sample(prefix: str) -> SourceText:
    return text_source(next(SAMPLES.glob(f"{prefix}_*.txt")))


@lru_cache(maxsize=None)
def enriched(prefix: str) -> Disclosure:
    source = sample(prefix)
    disclosure = Disclosure(source_name=source.name, sha256=source.sha256, layout="test")
    enrich_narrative(disclosure, source)
    return disclosure


def refs_by_number(prefix: str) -> dict[str, LegalReference]:
    return {r.number: r for r in enriched(prefix).legal_refs if r.number}


def titles(prefix: str) -> set[str]:
    return {r.title for r in enriched(prefix).legal_refs if r.title}


def synthetic(text: str) -> SourceText:
    return SourceText(name="synthetic.txt", text=text, sha256=sha256_hex(text.encode("utf-8")))


# Every 文号 printed in each seed, checked by hand against the text.
NUMBERS = {
    "000": {"冀医保函〔2019〕42号", "唐医保办字〔2019〕18号", "乐政发〔2017〕12号"},
    "001": {"冀财社〔2022〕172号", "冀财社〔2022〕218号", "冀财社〔2022〕178号", "霸民〔2015〕21号", "廊办字〔2018〕72号"},
    "002": {"廊发〔2019〕23号", "大医保〔2019〕29号", "廊人社发〔2015〕226号", "廊人社规〔2017〕1号", "〔2008〕2号"},
    "003": {"晋医保发〔2021〕17号", "兴政办发〔2022〕29号", "兴政办发〔2022〕30号", "晋财社〔2022〕281号",
            "晋财社〔2022〕282号", "吕财社〔2021〕171号", "吕财社〔2022〕252号", "吕医保发〔2021〕26号",
            "晋农合办〔2009〕1号", "兴财社〔2023〕76号", "兴财社〔2023〕77号", "兴财社〔2023〕64号",
            "兴财社〔2022〕82号", "兴财社〔2022〕285号", "兴财社〔2022〕359号", "兴财社〔2022〕86号",
            "兴财社〔2022〕284号", "晋财社〔2021〕250号", "晋财社〔2022〕79号", "吕财社〔2022〕105号",
            "晋财社〔2021〕247号", "晋财社〔2022〕78号"},
    "004": {"冀医保函〔2019〕42号", "唐医保办字〔2019〕18号", "乐政发〔2017〕12号", "唐财社〔2022〕126号",
            "唐财社〔2023〕177号", "唐财社〔2023〕178号"},
}


@pytest.mark.parametrize("prefix", sorted(NUMBERS))
def test_every_document_number_exactly(prefix):
    assert set(refs_by_number(prefix)) == NUMBERS[prefix]


@pytest.mark.parametrize("prefix", sorted(NUMBERS))
def test_one_reference_per_key(prefix):
    keys = [r.key for r in enriched(prefix).legal_refs]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("prefix, number, title", [
    ("000", "乐政发〔2017〕12号", "乐亭县重特大疾病贫困患者医疗救助实施办法"),
    ("000", "冀医保函〔2019〕42号", "河北省医疗保障局关于加快推进医疗保障定点医药机构协议管理工作的紧急通知"),
    ("000", "唐医保办字〔2019〕18号", "唐山市医疗保障局关于开展打击欺诈骗保“百日攻坚”专项行动的通知"),
    ("001", "冀财社〔2022〕172号", "关于提前下达2023年省级财政城乡社会保险代办员补助资金的通知"),
    ("001", "冀财社〔2022〕218号", "关于提前下达2023年中央财政医疗服务与保障能力提升补助资金预算的通知"),
    ("001", "冀财社〔2022〕178号", "关于下达2022年省级财政困难群众基本生活补助资金的通知"),
    ("001", "霸民〔2015〕21号", "关于进一步做好城乡医疗救助工作的通知"),
    ("001", "廊办字〔2018〕72号", "中共廊坊市委办公室廊坊市人民政府办公室关于印发〈霸州市机构改革方案〉的通知"),
    # joint issuers keep the space printed between them
    ("002", "廊发〔2019〕23号", "中共廊坊市委 廊坊市人民政府关于全面实施预算绩效管理的实施意见"),
    ("003", "兴政办发〔2022〕29号", "兴县人民政府办公室关于做好2022年城乡居民基本医疗保险缴费工作的通知"),
    ("003", "兴政办发〔2022〕30号", "兴县人民政府办公室关于印发兴县健全重特大疾病医疗保险和救助制度工作方案(试行)的通知"),
    ("003", "吕财社〔2021〕171号", "吕梁市财政局关于下达新冠病毒疫苗及接种费用财政配套资金的通知"),
    ("003", "吕医保发〔2021〕26号", "关于做好医保资金结算清算工作的通知"),
    # carried-over project names: 文号 + 关于… (no document type) + the forwarded 文号; wrap spaces go
    ("003", "兴财社〔2022〕82号", "关于下达2022年中央和省级财政医疗救助补助资金预算"),
    ("003", "兴财社〔2022〕285号", "关于下达2022年中央财政医疗救助资金(城乡医疗救助补助资金部分)"),
    ("003", "兴财社〔2022〕284号", "关于下达2022年中央专项彩票公益金支持城乡医疗救助资金"),
])
def test_title_and_number_are_one_reference(prefix, number, title):
    assert refs_by_number(prefix)[number].title == title
    assert title not in {r.title for r in enriched(prefix).legal_refs if not r.number}


@pytest.mark.parametrize("prefix, number, lines", [
    ("000", "乐政发〔2017〕12号", (769, 771)),  # "（乐政发〔2017〕12" / "号）"
    ("000", "唐医保办字〔2019〕18号", (749, 751)),  # "（唐医保办字" / "〔2019〕18号）"
    ("001", "霸民〔2015〕21号", (2999, 3001)),  # "（霸民" / "[2015]21 号）"
    ("001", "廊办字〔2018〕72号", (2181, 2183)),  # "(廊办字［2018]" / "72号）"
    ("001", "冀财社〔2022〕218号", (2726, 2726)),  # first of many occurrences
    ("003", "晋财社〔2022〕79号", (446, 446)),  # "晋 财社(2022)79号"
])
def test_spans_cover_the_lines_a_citation_is_printed_on(prefix, number, lines):
    span = refs_by_number(prefix)[number].span
    assert (span.line_start, span.line_end) == lines


@pytest.mark.parametrize("prefix, expected", [
    ("000", {"预算法", "地方预决算公开操作规程", "关于进一步推进预算公开工作的实施意见",
             "唐山市医疗保障局关于做好我市城乡居民高血压糖尿病门诊用药保障工作的通知"}),
    ("001", {"霸州市医疗保障局职能配置、内设机构和人员编制规定", "霸州市机构改革方案",
             "关于印刷宣传贯彻〈条例〉加强基金监管集中宣传月活动实施方案"}),
    # 002 prints two table-cell titles interleaved by a narrow column: 《廊坊《大城县…方案》市人民政府…意见》
    ("002", {"中华人民共和国预算法实施条例", "河北省省级预算公开办法", "廊坊市城乡居民基本医疗保险实施细则",
             "大城县2021年度城乡居民基本医疗保险征缴方案", "廊坊市人民政府关于落实河北省医疗保障基金监管办法的实施意见",
             "社会保险业务档案管理规定"}),
    # 立项依据 cells: a bare title filling its cell; a title in round brackets after its issuer
    ("003", {"关于申请解决工作经费的请示", "社会救助暂行办法"}),
])
def test_titles(prefix, expected):
    assert titles(prefix) >= expected
    assert not any("《" in t or "》" in t for t in titles(prefix))


def test_existing_references_are_enriched_not_repeated():
    source = sample("001")
    d = Disclosure(source_name=source.name, sha256=source.sha256, layout="test",
                   legal_refs=[LegalReference(number="冀财社〔2022〕172号", issuer="冀财社", year=2022, serial="172")])
    enrich_narrative(d, source)
    matching = [r for r in d.legal_refs if r.number == "冀财社〔2022〕172号"]
    assert len(matching) == 1
    assert matching[0].title == "关于提前下达2023年省级财政城乡社会保险代办员补助资金的通知"


def test_a_county_none_of_the_seeds_is_from():
    text = ("某某县教育局 2024 年部门预算信息公开情况说明\n"
            "一、部门职责\n"
            "贯彻落实《保定市教育局关于做好学前教育工作的通知》（冀教〔2023〕5号）精神，按照某某县人民政府关于\n"
            "印发教育发展规划的通知（某政发[2022]8 号）要求，负责全县教育工作。\n"
            "项目名称\t学前教育补助\t立项依据\t冀教〔2023〕5号\n")
    d = Disclosure(source_name="other.txt", sha256="0" * 64, layout="test")
    enrich_narrative(d, synthetic(text))
    refs = {r.number: r for r in d.legal_refs if r.number}
    assert set(refs) == {"冀教〔2023〕5号", "某政发〔2022〕8号"}
    assert refs["冀教〔2023〕5号"].title == "保定市教育局关于做好学前教育工作的通知"
    assert refs["冀教〔2023〕5号"].span.line_start == 3
    assert refs["某政发〔2022〕8号"].title == "某某县人民政府关于印发教育发展规划的通知"
    assert (refs["某政发〔2022〕8号"].span.line_start, refs["某政发〔2022〕8号"].span.line_end) == (3, 4)


def test_merge_keeps_first_span_and_longest_title():
    found = [LegalReference(title="预算法", raw="《预算法》"),
             LegalReference(number="冀财社〔2022〕1号", title="关于X的通知", raw="a"),
             LegalReference(number="冀财社〔2022〕1号", title="省财政厅关于X的通知", raw="b"),
             LegalReference(title="关于X的通知", raw="c"),
             LegalReference(title="预算法", raw="《预算法》")]
    merged = merge_citations([], found)
    assert [(r.number, r.title, r.raw) for r in merged] == [(None, "预算法", "《预算法》"),
                                                           ("冀财社〔2022〕1号", "省财政厅关于X的通知", "a")]


def test_blocks_feed_citations_with_line_numbers():
    refs = find_citations(read_blocks(synthetic("按照《关于做好\n某项工作的通知》（冀财\n社〔2021〕3号）执行。\n")))
    assert [(r.number, r.title, r.span.line_start, r.span.line_end) for r in refs] == [
        ("冀财社〔2021〕3号", "关于做好某项工作的通知", 1, 3)]


# ------------------------------------------------------------------ normaliser regressions


@pytest.mark.parametrize("text, numbers", [
    ("≧2000人 【2008】2号", ["〔2008〕2号"]),  # a unit is not an issuer
    ("≤10000/人次 【2008】2号", ["〔2008〕2号"]),
    ("及时拨付 2021.12月 【2008】2号", ["〔2008〕2号"]),
    ("县级预算安排唐财社〔2022〕126号", ["唐财社〔2022〕126号"]),  # a cell run into the issuer
    ("(城乡医疗救助补助资金部分)晋 财社(2022)79号", ["晋财社〔2022〕79号"]),  # a wrap after 晋
    ("=10人 大医保【2019】29号", ["大医保〔2019〕29号"]),
])
def test_document_number_regressions(text, numbers):
    assert [m.ref.number for m in find_document_numbers(text)] == numbers


def test_strip_markup_keeps_angle_quoted_titles():
    assert strip_markup("<b>《关于印刷宣传贯彻<条例>加强基金监管》</b>") == "《关于印刷宣传贯彻<条例>加强基金监管》"
