"""The little geography the identity layer needs: China's 34 province-level divisions (GB/T 2260
two-digit codes, full and short names, 文号 abbreviations) and the suffixes that mark
administrative areas in a name (县, 市, 区, 旗, 自治州 ...).

Deliberately no table of prefectures or counties: those are read from each document's own text
(department names, issuing authorities, project codes), so a disclosure from a county never seen
before resolves exactly like the seed ones.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Province:
    code: str  # GB/T 2260 two-digit prefix, "13"
    name: str  # 河北省
    short: str  # 河北
    abbreviations: tuple[str, ...]  # one-character forms used in 文号 and plates: ("冀",)


PROVINCES: tuple[Province, ...] = (
    Province("11", "北京市", "北京", ("京",)),
    Province("12", "天津市", "天津", ("津",)),
    Province("13", "河北省", "河北", ("冀",)),
    Province("14", "山西省", "山西", ("晋",)),
    Province("15", "内蒙古自治区", "内蒙古", ("蒙",)),
    Province("21", "辽宁省", "辽宁", ("辽",)),
    Province("22", "吉林省", "吉林", ("吉",)),
    Province("23", "黑龙江省", "黑龙江", ("黑",)),
    Province("31", "上海市", "上海", ("沪",)),
    Province("32", "江苏省", "江苏", ("苏",)),
    Province("33", "浙江省", "浙江", ("浙",)),
    Province("34", "安徽省", "安徽", ("皖",)),
    Province("35", "福建省", "福建", ("闽",)),
    Province("36", "江西省", "江西", ("赣",)),
    Province("37", "山东省", "山东", ("鲁",)),
    Province("41", "河南省", "河南", ("豫",)),
    Province("42", "湖北省", "湖北", ("鄂",)),
    Province("43", "湖南省", "湖南", ("湘",)),
    Province("44", "广东省", "广东", ("粤",)),
    Province("45", "广西壮族自治区", "广西", ("桂",)),
    Province("46", "海南省", "海南", ("琼",)),
    Province("50", "重庆市", "重庆", ("渝",)),
    Province("51", "四川省", "四川", ("川", "蜀")),
    Province("52", "贵州省", "贵州", ("黔", "贵")),
    Province("53", "云南省", "云南", ("滇", "云")),
    Province("54", "西藏自治区", "西藏", ("藏",)),
    Province("61", "陕西省", "陕西", ("陕", "秦")),
    Province("62", "甘肃省", "甘肃", ("甘", "陇")),
    Province("63", "青海省", "青海", ("青",)),
    Province("64", "宁夏回族自治区", "宁夏", ("宁",)),
    Province("65", "新疆维吾尔自治区", "新疆", ("新",)),
    Province("71", "台湾省", "台湾", ("台",)),
    Province("81", "香港特别行政区", "香港", ("港",)),
    Province("82", "澳门特别行政区", "澳门", ("澳",)),
)

_BY_CODE = {p.code: p for p in PROVINCES}
_BY_NAME = {p.name: p for p in PROVINCES} | {p.short: p for p in PROVINCES}
_BY_ABBREVIATION = {a: p for p in PROVINCES for a in p.abbreviations}

# Abbreviations that are also everyday words (吉 lucky, 新 new, 云 cloud ...): as the first
# character of a 文号 issuer they still count, but only as weak evidence.
AMBIGUOUS_ABBREVIATIONS = frozenset("吉云贵新青宁秦甘黑川台港澳蒙京")


def province_by_code(code: str | None) -> Province | None:
    """The province of a GB/T 2260 code (its first two digits), or None."""
    if not code or len(code) < 2:
        return None
    return _BY_CODE.get(code[:2])


def province_by_name(name: str | None) -> Province | None:
    """The province for a full or short name (河北省, 河北), or None."""
    return _BY_NAME.get((name or "").strip())


def province_by_abbreviation(char: str | None) -> Province | None:
    """The province whose one-character abbreviation this is (冀 -> 河北省), or None."""
    return _BY_ABBREVIATION.get(char or "")


_FULL_NAME_RE = re.compile("|".join(sorted((re.escape(p.name) for p in PROVINCES), key=len, reverse=True)))


def find_province_names(text: str) -> list[tuple[Province, int]]:
    """Every full province name in a text (河北省, 广西壮族自治区) with its offset.

    Short names (河北) are not searched: they occur inside other words too often.
    """
    return [(_BY_NAME[m.group()], m.start()) for m in _FULL_NAME_RE.finditer(text)]


def is_admin_code(code: str) -> bool:
    """True for a six-digit GB/T 2260 code of a county-level area (province known, not 'xxxx00')."""
    return (len(code) == 6 and code.isdigit() and code[:2] in _BY_CODE
            and code[4:] != "00" and code[2:4] != "00")


# ------------------------------------------------------------------ area names

# Suffixes of county-level areas and of prefecture-level ones, longest first so 自治县 wins over 县.
COUNTY_SUFFIXES = ("自治县", "自治旗", "林区", "特区", "县", "市", "区", "旗")
PREFECTURE_SUFFIXES = ("自治州", "地区", "盟", "市")

# Words that end in an area suffix but are not area names (城市 city, 社区 community ...).
_NOT_AREAS = ("城市", "都市", "市场", "社区", "园区", "街区", "片区", "辖区", "城区", "地区", "小区", "景区",
              "全市", "本市", "我市", "各市", "全县", "本县", "我县", "各县", "全区", "本区", "我区")

_AREA_RE = re.compile(r"[\u4e00-\u9fff]{1,9}?(?:" + "|".join(COUNTY_SUFFIXES) + ")")


def split_area_chain(name: str) -> list[str]:
    """The administrative areas a department name starts with, outermost first.

    ``唐山市乐亭县医疗保障局`` -> ["唐山市", "乐亭县"]; ``兴县医疗保障局`` -> ["兴县"];
    ``河北省石家庄市裕华区教育局`` -> ["河北省", "石家庄市", "裕华区"]. A province prefix is matched by
    name; the other levels by their suffixes, so any county resolves without a table.
    """
    rest = name.strip()
    chain: list[str] = []
    for province in sorted(PROVINCES, key=lambda p: -len(p.name)):
        if rest.startswith(province.name):
            chain.append(province.name)
            rest = rest[len(province.name):]
            break
    while rest:
        m = _AREA_RE.match(rest)
        if not m:
            break
        area = m.group()
        # Names like 城市管理局 or 市场监督管理局 after the area are organs, not further areas.
        if area in _NOT_AREAS or any(area.endswith(w) for w in _NOT_AREAS) or len(area) < 2:
            break
        # A further level must leave an organ name behind it (乐亭县|医疗保障局).
        remainder = rest[len(area):]
        if chain and not remainder:
            break
        chain.append(area)
        rest = remainder
        if area.endswith(("县", "旗", "区", "自治县", "自治旗", "林区", "特区")):
            break  # nothing sits below a county-level area in a department name
    return chain


def is_county_level(area: str) -> bool:
    """True when the suffix alone makes the area county-level (县, 区, 旗 ...); 市 is ambiguous."""
    return area.endswith(("县", "区", "旗", "自治县", "自治旗", "林区", "特区")) and area not in _NOT_AREAS
