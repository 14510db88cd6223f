"""Normalisers shared by every parser: numbers and units, 文号 (document numbers), target values,
and the vocabulary of indicator levels.

Pure functions on strings; no knowledge of layouts or RDF.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ingest.model import LegalReference, Span

# ---------------------------------------------------------------- text

_FULLWIDTH = str.maketrans({
    "＝": "=", "＜": "<", "＞": ">", "％": "%", "．": ".", "，": "，", "－": "-",
    "≧": "≥", "≦": "≤", "⩾": "≥", "⩽": "≤",
    **{chr(ord("０") + i): str(i) for i in range(10)},  # full-width digits
})
_SPACES_RE = re.compile(r"[ \t\u3000\xa0]+")


def clean_text(text: str) -> str:
    """NFKC-free cleanup: unify comparator glyphs and full-width digits, collapse whitespace.

    NFKC is not applied wholesale because it would turn 〔〕 and Chinese punctuation into ASCII.
    """
    return _SPACES_RE.sub(" ", text.translate(_FULLWIDTH)).strip()


_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_CJK_PUNCT = r"，。、；：？！“”‘’（）《》〔〕【】—…·「」"


def join_fragments(parts: list[str]) -> str:
    """Join text fragments that a narrow column broke apart.

    Between two CJK characters (or CJK punctuation) no space is inserted; elsewhere one space.
    """
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if out and not (_is_cjkish(out[-1]) and _is_cjkish(part[0])):
            out += " "
        out += part
    return out


_CJKISH_RE = re.compile(f"[{_CJK}{_CJK_PUNCT}]")


def _is_cjkish(ch: str) -> bool:
    return bool(_CJKISH_RE.match(ch))


# ---------------------------------------------------------------- numbers

_NUMBER_RE = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[-+]?\d+(?:\.\d+)?")


def parse_decimal(text: str | None) -> Decimal | None:
    """A number as printed ("4,881.48", "9736.74", "６．５") or None if the text is not one number."""
    if text is None:
        return None
    t = clean_text(text).replace(" ", "")
    if not t or t in {"-", "—", "——", "/"}:
        return None
    if not re.fullmatch(r"[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?", t):
        return None
    try:
        return Decimal(t.replace(",", ""))
    except InvalidOperation:
        return None


def find_numbers(text: str) -> list[Decimal]:
    """Every number in a text, in order."""
    return [Decimal(m.group().replace(",", "")) for m in _NUMBER_RE.finditer(clean_text(text))]


YUAN_PER_WAN = Decimal(10000)


def to_wan(value: Decimal, unit: str | None) -> Decimal:
    """Convert an amount to 万元 given its printed unit (元, 万元, 亿元; None means 万元)."""
    if not unit:
        return value
    u = unit.strip()
    if u in {"元", "yuan"}:
        return value / YUAN_PER_WAN
    if u in {"亿元", "亿"}:
        return value * YUAN_PER_WAN
    return value


def is_amount(text: str) -> bool:
    """True for a table amount cell: digits with two decimals or a plain integer, commas allowed."""
    return parse_decimal(text) is not None


# ---------------------------------------------------------------- 文号 (document numbers)

# A year in any of the bracket styles the documents use: 〔2022〕 [2022] 【2022】 (2022) （2022） ［2018］
_OPEN = r"[〔\[【(（［]"
_CLOSE = r"[〕\]】)）］]"
_DOC_NUMBER_RE = re.compile(
    rf"(?P<issuer>[{_CJK}]{{0,12}})\s*{_OPEN}\s*(?P<year>(?:19|20)\d\d)\s*{_CLOSE}\s*(?P<serial>\d{{1,5}})\s*号"
)

# One-character abbreviations of provinces: an issuer prefix starts at one of them when present.
PROVINCE_ABBREVIATIONS = {
    "京": "北京市", "津": "天津市", "冀": "河北省", "晋": "山西省", "蒙": "内蒙古自治区", "辽": "辽宁省",
    "吉": "吉林省", "黑": "黑龙江省", "沪": "上海市", "苏": "江苏省", "浙": "浙江省", "皖": "安徽省",
    "闽": "福建省", "赣": "江西省", "鲁": "山东省", "豫": "河南省", "鄂": "湖北省", "湘": "湖南省",
    "粤": "广东省", "桂": "广西壮族自治区", "琼": "海南省", "渝": "重庆市", "川": "四川省", "蜀": "四川省",
    "黔": "贵州省", "贵": "贵州省", "滇": "云南省", "云": "云南省", "藏": "西藏自治区", "陕": "陕西省",
    "秦": "陕西省", "甘": "甘肃省", "陇": "甘肃省", "青": "青海省", "宁": "宁夏回族自治区",
    "新": "新疆维吾尔自治区",
}
# Abbreviations that are also common words; only trusted at the very start of an issuer run.
_AMBIGUOUS_ABBREVIATIONS = set("吉云贵新青宁秦甘黑川")

# Words that precede a 文号 in running text but are not part of the issuer.
_LEADING_NOISE = [
    "根据", "依据", "按照", "依照", "参照", "执行", "落实", "贯彻", "印发", "转发", "关于", "文件", "要求",
    "精神", "通知", "规定", "办法", "方案", "资金", "预算", "补助", "号", "文", "及", "和", "与", "的", "按", "据",
]


# Words of running text that can precede an issuer but are never part of one (cut after the last).
_RUN_IN_WORDS = ["安排", "预算", "资金", "项目", "依据", "根据", "按照", "依照", "文件", "标准", "确定", "年初",
                 "专款", "补助", "指标", "号"]


@dataclass
class DocNumberMatch:
    ref: LegalReference
    start: int
    end: int


def _trim_issuer(run: str) -> str:
    """Cut the words of the running sentence off the front of an issuer run."""
    # Prefer a cut at an unambiguous province abbreviation (晋财社, 冀财社) when it leaves >= 2 chars.
    for i, ch in enumerate(run):
        if ch in PROVINCE_ABBREVIATIONS and ch not in _AMBIGUOUS_ABBREVIATIONS and len(run) - i >= 2:
            if i > 0:
                return run[i:]
            break
    # A table cell or sentence can run straight into the issuer (县级预算安排唐财社): cut after the
    # last word that never belongs to an issuer abbreviation.
    cut = 0
    for word in _RUN_IN_WORDS:
        k = run.rfind(word)
        if k >= 0 and len(run) - (k + len(word)) >= 2:
            cut = max(cut, k + len(word))
    run = run[cut:]
    changed = True
    while changed and run:
        changed = False
        for word in _LEADING_NOISE:
            if run.startswith(word) and len(run) > len(word):
                run = run[len(word):]
                changed = True
    # Issuer abbreviations are short; a long run still holds sentence words: keep the tail.
    return run[-7:] if len(run) > 7 else run


def find_document_numbers(text: str, span: Span | None = None) -> list[DocNumberMatch]:
    """Every 文号 in a text, normalised: 冀财社[2022]172 号 -> 冀财社〔2022〕172号.

    A number printed without an issuer (【2008】2号) is kept with issuer None and number 〔2008〕2号.
    """
    if "号" not in text:
        return []  # every 文号 ends in 号; most lines have none, and the pattern is slow to rule out
    out = []
    for m in _DOC_NUMBER_RE.finditer(text):
        issuer = _trim_issuer(m.group("issuer")) or None
        # A unit after a number in a table cell is not an issuer: ≧2000人 【2008】2号, ≤10000/人次 【2008】2号.
        run_start = m.start("issuer")
        if issuer and len(m.group("issuer")) <= 2 and run_start > 0 and text[run_start - 1] in "0123456789/%":
            issuer = None
        year = int(m.group("year"))
        serial = str(int(m.group("serial")))
        start = m.start("issuer") + (len(m.group("issuer")) - len(issuer or ""))
        # A PDF line wrap can leave a space after the province abbreviation: 晋 财社(2022)79号.
        before = text[max(0, start - 2):start]
        if (issuer and issuer[0] not in PROVINCE_ABBREVIATIONS and len(before) == 2 and before[1] == " "
                and before[0] in PROVINCE_ABBREVIATIONS and before[0] not in _AMBIGUOUS_ABBREVIATIONS):
            issuer = before[0] + issuer
            start -= 2
        number = f"{issuer or ''}〔{year}〕{serial}号"
        ref = LegalReference(number=number, issuer=issuer, year=year, serial=serial,
                             raw=text[start:m.end()], span=span)
        out.append(DocNumberMatch(ref, start, m.end()))
    return out


def normalize_document_number(raw: str) -> str | None:
    """The normalised form of a single 文号, or None if the text holds none."""
    found = find_document_numbers(raw)
    return found[0].ref.number if found else None


_TITLE_RE = re.compile(r"《([^《》\n]{2,80}?)》")


def find_titles(text: str) -> list[tuple[str, int, int]]:
    """Every 《title》 in a text as (title, start, end); nested 《<>》 inner titles are kept whole."""
    fixed = text.replace("<", "〈").replace(">", "〉")
    return [(m.group(1).strip(), m.start(), m.end()) for m in _TITLE_RE.finditer(fixed)]


# ---------------------------------------------------------------- target values

COMPARATORS = {"≥": "≥", ">=": "≥", "≤": "≤", "<=": "≤", "=": "=", ">": ">", "<": "<", "≈": "≈",
               "不低于": "≥", "不少于": "≥", "不高于": "≤", "不超过": "≤", "大于": ">", "小于": "<",
               "高于": ">", "低于": "<", "达到": "≥"}

_VALUE_RE = re.compile(
    r"^(?P<cmp>≥|≤|>=|<=|=|>|<|≈|不低于|不少于|不高于|不超过|大于|小于|高于|低于|达到)?\s*"
    r"(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)\s*(?P<unit>[^\d\s].{0,11})?$"
)
_DATE_RE = re.compile(r"^(?:(?:≤|≥|=)?\s*)?((19|20)\d\d)\s*(年|\.|-)\s*\d{1,2}\s*月?(底|末)?$")


@dataclass
class TargetValue:
    text: str
    comparator: str | None
    number: Decimal | None
    unit: str | None


def parse_target_value(raw: str) -> TargetValue:
    """Split a printed target ("≥98%", "2400 人次", "≧ 40 万", "100 百分比") into its parts.

    Dates ("2023 年 12 月", "2021.12月") and qualitative targets ("成效明显") keep only the text.
    """
    text = clean_text(raw)
    compact = text.replace(" ", "")
    if not compact or compact in {"—", "——", "-", "/"}:
        return TargetValue(text, None, None, None)
    if _DATE_RE.match(compact):
        return TargetValue(text, None, None, None)
    m = _VALUE_RE.match(compact)
    if not m:
        return TargetValue(text, None, None, None)
    comparator = COMPARATORS.get(m.group("cmp")) if m.group("cmp") else None
    number = Decimal(m.group("num").replace(",", ""))
    unit = (m.group("unit") or "").strip() or None
    if unit in {"百分比", "百分数", "百分之", "%"}:
        unit = "%"
    return TargetValue(text, comparator, number, unit)


# ---------------------------------------------------------------- indicator levels

LEVEL1_NAMES = ["产出指标", "效益指标", "满意度指标", "效果指标", "成本指标", "部门产出", "部门效果",
                "部门效益", "社会效益", "满意度", "产出", "效益", "效果"]
LEVEL2_NAMES = ["数量指标", "质量指标", "时效指标", "成本指标", "经济效益指标", "社会效益指标",
                "生态效益指标", "可持续影响指标", "服务对象满意度指标", "服务对象满意度", "满意度指标",
                "社会成本指标", "经济成本指标", "生态环境成本指标", "可持续影响", "数量", "质量", "时效",
                "成本", "社会效益", "经济效益", "生态效益", "满意度"]

# Canonical category for each printed level name: the SKOS concept's local name in the ontology.
LEVEL1_CANONICAL = {
    "产出指标": "output", "产出": "output", "部门产出": "output",
    "效益指标": "outcome", "效果指标": "outcome", "效益": "outcome", "效果": "outcome",
    "部门效果": "outcome", "部门效益": "outcome", "社会效益": "outcome",
    "满意度指标": "satisfaction", "满意度": "satisfaction",
    "成本指标": "cost",
}
LEVEL2_CANONICAL = {
    "数量指标": "quantity", "数量": "quantity",
    "质量指标": "quality", "质量": "quality",
    "时效指标": "timeliness", "时效": "timeliness",
    "成本指标": "cost", "成本": "cost", "社会成本指标": "cost", "经济成本指标": "cost",
    "生态环境成本指标": "cost",
    "经济效益指标": "economic-benefit", "经济效益": "economic-benefit",
    "社会效益指标": "social-benefit", "社会效益": "social-benefit",
    "生态效益指标": "ecological-benefit", "生态效益": "ecological-benefit",
    "可持续影响指标": "sustainability", "可持续影响": "sustainability",
    "服务对象满意度指标": "beneficiary-satisfaction", "服务对象满意度": "beneficiary-satisfaction",
    "满意度指标": "beneficiary-satisfaction", "满意度": "beneficiary-satisfaction",
}


def canonical_level1(name: str) -> str | None:
    return LEVEL1_CANONICAL.get(clean_text(name).replace(" ", ""))


def canonical_level2(name: str) -> str | None:
    return LEVEL2_CANONICAL.get(clean_text(name).replace(" ", ""))


# ---------------------------------------------------------------- classification codes

FUNCTION_CODE_RE = re.compile(r"^2\d{2}(\d{2}(\d{2})?)?$")
ECONOMIC_CODE_RE = re.compile(r"^[35]\d{2}(\d{2})?$")


def function_parent(code: str) -> str | None:
    """类/款/项: 2101202 -> 21012 -> 210 -> None."""
    if len(code) == 7:
        return code[:5]
    if len(code) == 5:
        return code[:3]
    return None


def economic_parent(code: str) -> str | None:
    """类/款: 30101 -> 301 -> None."""
    return code[:3] if len(code) == 5 else None


_HTML_TAG_RE = re.compile(r"</?[A-Za-z][^<>]{0,200}>")  # HTML tags only: <条例> in a title stays
_MD_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s*")


def strip_markup(text: str) -> str:
    """Remove HTML tags and Markdown emphasis/heading marks from a line (003 carries <b> and #)."""
    # The tests before each pattern skip it on the plain lines that are nearly all of a document.
    if "<" in text:
        text = _HTML_TAG_RE.sub("", text)
    if "#" in text:
        text = _MD_HEADING_RE.sub("", text)
    text = text.replace("**", "")
    return unicodedata.normalize("NFC", text)
