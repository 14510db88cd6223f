"""Who published a disclosure, where, for which year, and what kind of document it is.

``enrich_identity`` fills what a layout parser left empty: the department (乐亭县医疗保障局), the
county-level area it belongs to (乐亭县, 霸州市, 兴县), the prefecture-level city above it (唐山市),
the province (河北省), the GB/T 2260 county code (130225, from project codes), the fiscal year and
the document kind. Everything is read from the document's own words, by votes over all the places
a fact is printed (titles, table headers, form fields, issuing authorities, 文号 prefixes), so a
county never seen before resolves the same way; ``ingest.gazetteer`` adds only province-level
knowledge.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict

from ingest.gazetteer import (AMBIGUOUS_ABBREVIATIONS, find_province_names, is_admin_code,
                              is_county_level, province_by_abbreviation, province_by_code, province_by_name,
                              split_area_chain)
from ingest.model import Disclosure, DocumentKind, Finding, Severity
from ingest.normalize import find_document_numbers, strip_markup
from ingest.source import SourceText

_BOOKMARK_RE = re.compile(r"\[bookmark:[^\]]*\]")
_YEAR = r"((?:19|20)\d\d)"

# ------------------------------------------------------------------ department

_ORG_SUFFIX_RE = re.compile(
    r"(?:局|委员会|委|办公室|办|厅|院|中心|所|站|馆|队|部|会|处|社|室|校|园|团|政府|公司|集团|股|署|台|场)$"
)
_DEPT = r"[\u4e00-\u9fff（）()]{3,40}?"
# (weight, pattern with a "dept" group and maybe a "code" group): where a department's name is printed.
_DEPARTMENT_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    # 乐亭县医疗保障局 2023 年部门预算信息公开情况说明
    (5, re.compile(rf"^(?:第[一二三四五六七八九十]+部分\s*)?(?P<dept>{_DEPT})\s*{_YEAR}\s*年度?\s*(?:部门|单位)\s*(?:预算|决算)")),
    # 部门名称：兴县医疗保障局 / 实施单位<TAB>兴县医疗保障局 / 主管部门及代码<TAB>036-兴县医疗保障局
    (3, re.compile(rf"(?:部门名称|单位名称|编制部门|编制单位|预算单位|预算部门|填报单位|实施单位|主管部门(?:及代码)?)"
                   rf"\s*[：:\t]\s*(?:(?P<code>\d{{3,6}})\s*[-－]\s*)?(?P<dept>[\u4e00-\u9fff（）()]{{3,40}})")),
    # 460 乐亭县医疗保障局 预算年度：2023 / 460001乐亭县医疗保障局本级
    (2, re.compile(rf"^(?P<code>\d{{3,6}})\s*[-－]?\s*(?P<dept>{_DEPT})(?:本级)?(?=\s|$|预算年度|单位|截止)")),
]
_H1_RE = re.compile(r"^\s{0,3}#\s+(?P<dept>[\u4e00-\u9fff（）()]{3,40})\s*$")


def _clean_department(name: str) -> str | None:
    name = re.sub(r"[（(](?:含所属单位|本级|机关)[)）]", "", name.strip())
    name = re.sub(r"(?:本级|机关本级)$", "", name)
    name = re.sub(r"^(?:现将|将|由|对|为)", "", name)
    if len(name) < 3 or not _ORG_SUFFIX_RE.search(name) or name in {"本部门", "本单位", "部门", "单位"}:
        return None
    return name


def find_department(lines: list[str]) -> tuple[str | None, str | None]:
    """(department, budget unit code) by weighted votes over the lines that print them."""
    votes: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    codes: dict[str, Counter[str]] = defaultdict(Counter)
    for no, raw in enumerate(lines):
        line = _BOOKMARK_RE.sub("", raw)
        h1 = _H1_RE.match(line)
        if h1:
            name = _clean_department(h1.group("dept"))
            if name:
                votes[name] += 4
                first_seen.setdefault(name, no)
        text = strip_markup(line).strip()
        for weight, pattern in _DEPARTMENT_PATTERNS:
            for m in pattern.finditer(text):
                name = _clean_department(m.group("dept"))
                if not name:
                    continue
                votes[name] += weight
                first_seen.setdefault(name, no)
                code = m.groupdict().get("code")
                if code:
                    codes[name][code] += 1
    if not votes:
        return None, None
    best = max(votes, key=lambda n: (votes[n], -first_seen[n]))
    code = codes[best].most_common(1)[0][0] if codes[best] else None
    # A six-digit unit code is the department's three digits plus the unit's (460001 = 460 + 本级 001).
    if code and len(code) == 6:
        code = code[:3]
    return best, code


# ------------------------------------------------------------------ year and kind

_STRONG_YEAR_RE = re.compile(rf"{_YEAR}\s*年度?\s*(?:部门|单位)\s*(?P<kind>预算|决算)")
_BUDGET_YEAR_RE = re.compile(rf"预算年度\s*[：:]\s*{_YEAR}")
_TABLE_YEAR_RE = re.compile(rf"{_YEAR}\s*年度?\s*(?:部门)?\s*(?:预算|财政拨款)?\s*收支总表")
_PLAN_YEAR_RE = re.compile(rf"{_YEAR}\s*年\s*[，,]?\s*(?:将|要|计划)")
_DEADLINE_YEAR_RE = re.compile(rf"{_YEAR}\s*年\s*12\s*月")
_ANY_YEAR_RE = re.compile(rf"{_YEAR}\s*年")


def find_fiscal_year(text: str) -> int | None:
    """The year the document is about: from its title and table headers, else from its plans.

    A disclosure titled ``2023 年部门预算`` is 2023 whatever earlier years it compares with; a
    document without such a title (绩效目标 only) is dated by ``2024年，将…`` and ``2024年12月``
    deadlines and, last, by the year it names most.
    """
    strong: Counter[int] = Counter()
    for pattern, weight in ((_STRONG_YEAR_RE, 5), (_BUDGET_YEAR_RE, 3), (_TABLE_YEAR_RE, 3)):
        for m in pattern.finditer(text):
            strong[int(m.group(1))] += weight
    if strong:
        return max(strong, key=lambda y: (strong[y], y))
    weak: Counter[int] = Counter()
    for pattern, weight in ((_PLAN_YEAR_RE, 3), (_DEADLINE_YEAR_RE, 2), (_ANY_YEAR_RE, 1)):
        for m in pattern.finditer(text):
            weak[int(m.group(1))] += weight
    if weak:
        return max(weak, key=lambda y: (weak[y], y))
    return None


_BUDGET_TABLE_RE = re.compile(r"收支总表|收入总表|支出总表|基本支出表|收支预算表|支出预算表|财政拨款支出表")
_NARRATIVE_TOTAL_RE = re.compile(r"(?:收入预算|预算收入|支出预算|预算支出)\s*[\d,.]+\s*万?元")


def find_kind(text: str, has_budget_lines: bool) -> DocumentKind:
    """决算 when the title says so; 绩效目标 only when there is no budget at all; else 预算."""
    kinds = Counter(m.group("kind") for m in _STRONG_YEAR_RE.finditer(text))
    if kinds["决算"] > kinds["预算"]:
        return DocumentKind.FINAL_ACCOUNTS
    if ("绩效目标" in text and not kinds["预算"] and not has_budget_lines
            and not _BUDGET_TABLE_RE.search(text) and not _NARRATIVE_TOTAL_RE.search(text)):
        return DocumentKind.PERFORMANCE_TARGETS
    return DocumentKind.BUDGET


# ------------------------------------------------------------------ places

_PREFECTURE_SUFFIXES = ("自治州", "地区", "盟", "市")
# What follows a city's name when the city acts as an authority: 唐山市医疗保障局, 廊坊市委, 吕梁市财政局.
_AUTHORITY_AFTER_RE = re.compile(
    r"(?:委|人民政府|政府|人大|政协|[\u4e00-\u9fff]{0,8}?(?:局|委员会|办公室|办公厅|厅|中心|院))"
)
_NAME_NOISE_WORDS = ("按照", "根据", "依据", "依照", "参照", "贯彻", "落实", "执行", "关于", "印发", "转发", "中共",
                     "党中央", "报送", "上报", "经过", "做好", "开展")
_NAME_NOISE_CHARS = set("的和与及对在是为将向从经由按据照于即等把被给让号文见到至同并或省县区市全我本各该")


def _strip_name_noise(name: str) -> str:
    changed = True
    while changed and name:
        changed = False
        for word in _NAME_NOISE_WORDS:
            if name.startswith(word):
                name = name[len(word):]
                changed = True
        if name and name[0] in _NAME_NOISE_CHARS:
            name = name[1:]
            changed = True
    return name


def find_prefecture(text: str, county: str | None, issuers: list[str]) -> str | None:
    """The prefecture-level city most often acting as an authority in the text (not the county).

    Candidates are the 2-4 characters before each 市/州/盟 followed by an organ (唐山市医疗保障局,
    中共廊坊市委) or opening a title (《廊坊市城乡…》); each position votes once for each reading of
    it. 文号 prefixes that start like a candidate (唐医保办字, 吕财社) add weak evidence.
    """
    counts: Counter[str] = Counter()
    for suffix in _PREFECTURE_SUFFIXES:
        for m in re.finditer(suffix, text):
            p = m.start()
            after = text[p + len(suffix):p + len(suffix) + 12]
            if not _AUTHORITY_AFTER_RE.match(after) and not (suffix == "市" and after.startswith("城乡")):
                continue
            readings: set[str] = set()
            for k in (2, 3, 4):
                if p - k < 0:
                    break
                stem = text[p - k:p]
                if not re.fullmatch(r"[\u4e00-\u9fff]+", stem):
                    break
                stem = _strip_name_noise(stem)
                if len(stem) < 2 or any(w in stem for w in _NAME_NOISE_WORDS):
                    continue
                opens = text[max(0, p - k - 1):p - k] in ("《", "") or text[max(0, p - k - 2):p - k] == "中共"
                if suffix == "市" and after.startswith("城乡") and not opens:
                    continue
                readings.add(stem + suffix)
            for name in readings:
                counts[name] += 1
    county_core = re.sub(r"(?:自治县|自治旗|县|市|区|旗)$", "", county or "")
    scores: dict[str, float] = {}
    for name, count in counts.items():
        core = re.sub(r"(?:自治州|地区|盟|市)$", "", name)
        if county and (name == county or (county_core and (county_core in name or core in county_core))):
            continue
        if province_by_name(core) or province_by_name(name):
            continue
        bonus = sum(1 for issuer in issuers
                    if issuer and issuer[0] == name[0] and not province_by_abbreviation(issuer[0])
                    and not (county and issuer[0] == county[0]))
        scores[name] = count + 0.5 * bonus
    if not scores:
        return None
    # Ties: the longer reading (石家庄市 over 家庄市), which every shorter reading's mention also holds.
    return max(scores, key=lambda n: (scores[n], len(n)))


_PROJECT_CODE_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{2}P[0-9A-Z]{4,}(?![0-9A-Za-z])")
_ADMIN_CODE_RE = re.compile(r"(?:行政区划代码|区划代码|行政区划)\s*[：:\t]\s*(\d{6})(?!\d)")


def find_admin_code(text: str) -> str | None:
    """A county's GB/T 2260 code: printed as such, or as the head of project codes (13022524P…)."""
    votes: Counter[str] = Counter()
    for m in _ADMIN_CODE_RE.finditer(text):
        votes[m.group(1)] += 3
    for m in _PROJECT_CODE_RE.finditer(text):
        votes[m.group(1)] += 1
    valid = [code for code in votes if is_admin_code(code)]
    return max(valid, key=lambda c: votes[c]) if valid else None


def find_province(text: str, issuers: list[str], chain_province: str | None, admin_code: str | None) -> str | None:
    """The province by votes: the department's own name, the county code, full province names in
    the text (河北省医疗保障局, 《河北省省级预算公开办法》) and the province letters of 文号 (冀财社)."""
    votes: Counter[str] = Counter()
    if chain_province:
        votes[chain_province] += 10
    by_code = province_by_code(admin_code)
    if by_code:
        votes[by_code.name] += 10
    for province, _ in find_province_names(text):
        votes[province.name] += 2
    for issuer in issuers:
        if issuer and len(issuer) >= 2:
            province = province_by_abbreviation(issuer[0])
            if province:
                votes[province.name] += 0.25 if issuer[0] in AMBIGUOUS_ABBREVIATIONS else 1
    if not votes:
        return None
    best = max(votes, key=lambda n: votes[n])
    return best if votes[best] >= 1 else None


def _county_of(department: str | None) -> tuple[str | None, str | None, str | None]:
    """(province, prefecture, county) named in the department itself (唐山市乐亭县医疗保障局)."""
    if not department:
        return None, None, None
    chain = split_area_chain(re.sub(r"^中共", "", department))
    province = chain.pop(0) if chain and province_by_name(chain[0]) else None
    if not chain:
        return province, None, None
    county = chain[-1]
    prefecture = chain[-2] if len(chain) >= 2 else None
    if len(chain) == 1 and not is_county_level(county) and not county.endswith("市"):
        return province, None, None
    return province, prefecture, county


def _plain_text(source: SourceText) -> str:
    return "\n".join(strip_markup(_BOOKMARK_RE.sub("", line)) for line in source.lines)


def enrich_identity(disclosure: Disclosure, source: SourceText) -> None:
    """Fill department, department_code, county, prefecture, province, admin_code, fiscal_year and
    kind where the layout parser left them empty (kind only when it is still the default BUDGET).

    Never raises: a failure is recorded as a finding and the fields stay as they were.
    """
    try:
        _enrich(disclosure, source)
    except Exception as exc:  # odd text must not stop an ingest
        disclosure.findings.append(Finding(check="identity", severity=Severity.WARNING,
                                           message=f"identity not fully read: {type(exc).__name__}: {exc}"))


def _enrich(disclosure: Disclosure, source: SourceText) -> None:
    text = _plain_text(source)
    if disclosure.department is None or disclosure.department_code is None:
        department, code = find_department(source.lines)
        if disclosure.department is None:
            disclosure.department = department
        if disclosure.department_code is None and department == disclosure.department:
            disclosure.department_code = code
    issuers = [m.ref.issuer for m in find_document_numbers(re.sub(r"\s*\n\s*", "", text)) if m.ref.issuer]
    chain_province, chain_prefecture, county = _county_of(disclosure.department)
    if disclosure.county is None:
        disclosure.county = county
    if disclosure.prefecture is None:
        disclosure.prefecture = chain_prefecture or find_prefecture(text, disclosure.county, issuers)
    admin_code = disclosure.admin_code or find_admin_code(text)
    if disclosure.province is None:
        disclosure.province = find_province(text, issuers, chain_province, admin_code)
    if disclosure.admin_code is None and admin_code:
        by_code = province_by_code(admin_code)
        if by_code and (disclosure.province is None or by_code.name == disclosure.province):
            disclosure.admin_code = admin_code
    if disclosure.fiscal_year is None:
        disclosure.fiscal_year = find_fiscal_year(text)
    if disclosure.kind == DocumentKind.BUDGET:
        disclosure.kind = find_kind(text, bool(disclosure.budget_lines))

