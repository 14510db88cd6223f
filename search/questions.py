"""Reading a question: what it names (topics, areas, departments, years, 文号, measures, codes,
projects, indicator kinds, quantities) and what it asks of them (a list, a ranking, a count, a sum
or average, a comparison, the areas lacking something, a change between years).

Names are resolved against the ``Gazetteer`` (what the graph holds) and ``topics.ttl`` (topic labels
in zh and en). Places, departments and years the question names that the graph does NOT hold are
kept as ``missing``, so the answer can say "nothing held for 涿州市" instead of dropping the
constraint. Topics without a listed label in the question are found by embedding the words left
once everything else is resolved.

The parser is built around the *shape* of a question (the words that ask for a ranking, a count, a
comparison ...), not around sentences: each shape has its English and Chinese cue words below.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from search.gazetteer import Department, Gazetteer, Place, build_gazetteer  # noqa: F401 (re-exported)
from search.lexical import DOC_NUMBER
from search.places import (PlaceMention, chinese_place_mentions, department_types, english_place_mentions,
                           organ_after)
from search.quantities import COMPARATOR_WORDS, Comparison, find_comparison
from search.topics import TopicMatch, TopicMatcher

# One-character province abbreviations as printed in 文号 (冀财社 = Hebei finance, social section).
PROVINCE_ABBR = {"冀": "河北", "晋": "山西"}

# Disclosure-level measures: ontology property -> (zh name, en name, trigger words).
MEASURES = {
    "totalExpenditure": ("支出总计", "total expenditure",
                         ("总预算", "预算总额", "预算总计", "支出总计", "总支出", "支出预算", "预算总规模", "收支预算",
                          "total budget", "total expenditure", "total spending", "overall budget", "budget total",
                          "total 20", "whole budget", "budget of", "预算是多少", "预算多少", "budget")),
    "totalRevenue": ("收入总计", "total revenue",
                     ("收入总计", "总收入", "收入预算", "预算收入", "total revenue", "revenue", "income")),
    "basicExpenditure": ("基本支出", "basic expenditure", ("基本支出", "basic expenditure", "basic spending")),
    "projectExpenditure": ("项目支出", "project expenditure",
                           ("项目支出", "project expenditure", "project spending")),
    "carryover": ("上年结转", "carry-over from the previous year",
                  ("上年结转", "结转", "carryover", "carry-over", "carried over", "carry over")),
    "threePublicCosts": ("“三公”经费", "'three public costs'", ("三公", "three public")),
    "operatingCosts": ("机关运行经费", "operating costs", ("机关运行经费", "运行经费", "operating cost")),
    "personnelExpenditure": ("人员经费", "personnel costs", ("人员经费", "personnel")),
    "publicExpenditure": ("公用经费", "public (office) costs", ("公用经费",)),
    "procurementBudget": ("政府采购预算", "procurement budget", ("政府采购预算", "采购预算", "procurement budget",
                                                           "government procurement")),
    "fixedAssetsValue": ("固定资产金额", "fixed assets", ("固定资产", "fixed asset")),
}

# Words that carry the question's shape, removed before a topic is looked up by embedding.
_SCAFFOLD_EN = re.compile(
    r"\b(?:which|what|where|whose|how much|how many|how|does|do|did|not|no|is|are|was|were|the|of|in|on|for|"
    r"fund(?:s|ed|ing)?|spend(?:s|ing)?|spent|count(?:y|ies)|projects?|programmes?|programs?|have|has|with|"
    r"money|budget(?:ed|s)?|list|show|me|any|a|an|by|to|who|pay|pays|paid|support(?:s|ed)?|finance[sd]?|"
    r"total|sum|altogether|combined|across|all|each|every|per|average|mean|largest|biggest|highest|most|"
    r"smallest|lowest|least|top|bottom|number|amount|amounts|there|their|its|and|or|that|this|than|between|"
    r"indicators?|targets?|aim(?:s)?|goal|rate|value|values|year|years|change|changed|compare|compared|"
    r"do not|don't|doesn't|without|lack|lacks|rank(?:ed|ing)?|order(?:ed)?|get|gets|got|receive[sd]?|"
    r"allocate[sd]?|set|sets|put|puts|money|much|many|county's|counties'|area|areas|cities|city|district|"
    r"subsidi[sz](?:e|es|ed|ing)|help(?:s|ed|ing)?|give(?:s|n)?|gave|provide[sd]?|cover(?:s|ed)?|offer(?:s|ed)?|"
    r"invest(?:s|ed)?|put|towards?|about|related|relating|regarding|concerning|please|tell|can|you|i|we|"
    r"legal|basis|based|documents?|cite[sd]?|citing|justif(?:y|ies|ied)|policy|policies|grounds?)\b",
    re.IGNORECASE)
_SCAFFOLD_ZH = re.compile(
    r"哪些(?:县市?|市|区|地方|地区)?|哪个(?:县|市|区)?|哪几个(?:县|市)?|哪一?个|什么|多少钱?|有没有|没有|未|不|有|的|项目|资金|"
    r"经费|安排|开展|用于|支出|预算|花了|花|在|上|了|吗|呢|？|\?|最大|最小|最高|最低|最多|最少|合计|总共|一共|平均|"
    r"各县|每个县|分别|金额|多少个|几个|数量|指标|绩效|目标|排名|前|是|为|和|与|及|年|县|市|区|立项依据|依据|文件|文号|"
    r"引用|根据|政策")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


@dataclass
class Missing:
    """Something a question names that the graph does not hold."""

    kind: str  # "area", "department", "year", "scope" (each part held, not together)
    name: str  # 涿州市, 财政局, 2019, "乐亭县 2021"
    text: str = ""  # as written in the question


@dataclass
class Question:
    text: str
    language: str  # "zh" or "en"
    topics: list[TopicMatch] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    scope_areas: list[str] = field(default_factory=list)  # the places and every area inside them
    departments: list[Department] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)  # normalised 文号
    measures: list[str] = field(default_factory=list)  # ontology property names
    projects: list[str] = field(default_factory=list)  # project names named in the question
    categories: list[str] = field(default_factory=list)  # indicator-category concept local names
    kinds: list[str] = field(default_factory=list)  # indicator label words (覆盖率, 满意度, 参保人数)
    codes: list[str] = field(default_factory=list)  # 功能/经济分类 codes named (2101202, 30101)
    rank: str | None = None  # "desc" for largest/most/最高, "asc" for smallest/least/最低
    limit: int | None = None  # top N
    operation: str = "list"  # list, rank, count, sum, average, compare, negate, change
    counted: str | None = None  # what "how many" counts: item, county, disclosure
    per_group: bool = False  # per county (disclosure) rather than overall
    comparison: Comparison | None = None
    missing: list[Missing] = field(default_factory=list)
    line_words: bool = False  # the question speaks of budget lines / 科目
    singular: bool = False  # "which project ...", "哪个项目": a ranking wants its first row
    intent: str = "unknown"

    @property
    def missing_places(self) -> list[str]:
        return [m.name for m in self.missing if m.kind in ("area", "department")]

    def describe(self) -> dict:
        return {"intent": self.intent, "operation": self.operation,
                "topics": [m.topic.to_json() | {"evidence": m.evidence} for m in self.topics],
                "areas": [p.label for p in self.places], "departments": [d.label for d in self.departments],
                "years": self.years, "documents": self.documents, "measures": self.measures,
                "projects": self.projects, "indicator_categories": self.categories, "indicator_kinds": self.kinds,
                "rank": self.rank, "limit": self.limit, "counted": self.counted, "per_group": self.per_group,
                "comparison": self.comparison.describe() if self.comparison else None, "codes": self.codes,
                "missing": [{"kind": m.kind, "name": m.name} for m in self.missing],
                "missing_places": self.missing_places}


# ------------------------------------------------------------------ 文号


def normalize_doc_number(raw: str, known: list[str] | None = None) -> str | None:
    """The 〔YYYY〕 form of the first 文号 in ``raw`` (冀财社[2022]218 号 -> 冀财社〔2022〕218号).

    The issuer's left edge is ambiguous in running text ("哪些项目引用了冀财社[2022]218号"): a cited
    number the store knows with the same year and serial whose issuer ends the text before the
    bracket wins; otherwise the issuer is cut at the last province abbreviation (冀, 晋 ...) or
    to its last three characters.
    """
    m = DOC_NUMBER.search(unicodedata.normalize("NFKC", raw or ""))
    if not m:
        return None
    run, year, serial = m.group(1), m.group(2), m.group(3)
    core = f"〔{year}〕{serial}号"
    candidates = [k for k in (known or []) if k.endswith(core) and run.endswith(k[: -len(core)])]
    if candidates:
        return max(candidates, key=len)
    issuer = run
    if len(issuer) > 4:
        cut = max((issuer.rfind(ch) for ch in _ISSUER_STARTS), default=-1)
        issuer = issuer[cut:] if cut >= 0 else issuer[-3:]
    return issuer + core


# First characters of issuer abbreviations: provinces and the prefectures/counties seen so far.
_ISSUER_STARTS = "冀晋京津沪渝蒙辽吉黑苏浙皖闽赣鲁豫鄂湘粤桂琼川蜀贵黔云滇藏陕秦甘陇青宁新财国"


def detect_language(question: str) -> str:
    cjk = sum(1 for ch in question if "\u4e00" <= ch <= "\u9fff")
    latin = sum(1 for ch in question if ch.isascii() and ch.isalpha())
    return "zh" if cjk * 2 >= latin else "en"


def _blank(text: str, span: tuple[int, int] | None) -> str:
    """``text`` with ``span`` replaced by spaces (offsets of everything else stay valid)."""
    if not span:
        return text
    return text[: span[0]] + " " * (span[1] - span[0]) + text[span[1]:]


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < b and a < span[1] for a, b in spans)


# ------------------------------------------------------------------ parsing


def parse_question(question: str, gaz: Gazetteer, matcher: TopicMatcher) -> Question:
    """Resolve a question against the gazetteer and the topic scheme, and guess its shape."""
    q = unicodedata.normalize("NFKC", question).strip()
    out = Question(text=question, language=detect_language(q))

    # 1. Things with their own syntax, blanked once read so their digits are not read again
    # (a 文号's year is not a fiscal year, 95% is not a code, "top 3" is not a count).
    doc_match = DOC_NUMBER.search(q)
    doc = normalize_doc_number(q, gaz.doc_numbers)
    if doc:
        out.documents.append(doc)
    work = _blank(q, doc_match.span()) if doc_match else q
    lowered = work.lower()
    indicatorish = any(w in lowered for w in _INDICATOR_WORDS + _TARGET_WORDS)
    out.comparison, span = find_comparison(work, allow_bare=indicatorish or any(w in lowered for w in _AMOUNT_WORDS))
    work = _blank(work, span)
    out.limit, span = _top_n(work)
    work = _blank(work, span)
    out.codes = classification_codes(work)
    for code in out.codes:
        work = re.sub(r"(?<![\d.])" + re.escape(code) + r"(?![\d.])", lambda m: " " * len(m.group()), work)
    lowered = work.lower()

    # 2. Departments, areas and years the graph holds.
    dept_hits = gaz.department_index.find(work, min_length=2)
    out.departments = _unique([d for d, _, _ in dept_hits])
    dept_spans = [span for _, _, span in dept_hits]
    place_hits = list(gaz.place_index.find(work, min_length=2))
    if re.search(r"[A-Za-z]{3,}", work):
        place_hits += gaz.english_place_index.find(work, min_length=3)
    # 兴县 inside 兴县医疗保障局 is the department's (its county is added below).
    places = [p for p, _, span in place_hits if not any(span[0] >= a and span[1] <= b for a, b in dept_spans)]
    held_spans = dept_spans + [span for _, _, span in place_hits]
    for d in out.departments:  # a department names its county too
        place = gaz.place(d.area)
        if place:
            places.append(place)
    out.places = _unique(places)
    out.scope_areas = sorted(set().union(*(gaz.within(p.iri) for p in out.places))) if out.places else []
    out.years = sorted({int(y) for y in _YEAR.findall(work)})

    # 3. What the question names that is not held.
    project_hits = gaz.project_index.find(work, min_length=3)
    topic_hits = matcher.label_matches(work)
    known_spans = held_spans + [span for _, _, span in project_hits] + [m.span for m in topic_hits if m.span]
    out.missing = _missing(work, gaz, out, held_spans, known_spans)

    # 4. The question's content: measures, projects, topics, indicator kinds, codes by name.
    out.measures = _measures(lowered, scoped=bool(out.places or out.departments or out.years))
    out.projects = _unique([name for name, _, span in project_hits
                            if not any(span[0] >= a and span[1] <= b for a, b in held_spans)])
    out.categories = indicator_categories(lowered)
    out.kinds = indicator_kinds(work, lowered)
    out.line_words = any(w in lowered for w in _LINE_WORDS)
    if not out.codes and out.line_words:
        out.codes = _unique([code for code, _, _ in gaz.classification_index.find(work, min_length=3)])
    # A topic label inside a longer project name (专项业务费 in 医保专项业务费) names the project.
    project_spans = [span for name, _, span in project_hits if name in out.projects]
    out.topics = [m for m in _topics(work, matcher)
                  if not m.span or not any(a <= m.span[0] and m.span[1] <= b and (b - a) > (m.span[1] - m.span[0])
                                           for a, b in project_spans)]

    # 5. The shape.
    shape_text = _without_measure_words(lowered)
    out.rank = ranking(shape_text)
    out.per_group = bool(_PER_GROUP.search(lowered))
    out.singular = bool(_SINGULAR.search(lowered))
    out.operation, out.counted = _operation(out, lowered, shape_text)
    out.intent = _intent(out, lowered)
    _settle(out, lowered, shape_text)

    # 6. A topic by meaning, when no label names one and the question is about what money goes to.
    # A question already answerable without a topic ("the largest projects of 乐亭县") does not
    # go looking for one in its leftover words.
    answerable = out.intent == "projects" and (out.places or out.departments or out.years)
    if not out.topics and out.intent in ("indicators", "unknown", "projects", "basis") and matcher.embedder is not None \
            and any(w in lowered for w in _TOPICAL_WORDS + _BASIS_WORDS) and not out.projects and not answerable:
        remainder = _remainder(work, [n for p in out.places for n in p.names]
                               + [d.label for d in out.departments] + [str(y) for y in out.years]
                               + [m.text for m in out.missing] + out.kinds)
        if _has_content(remainder):
            vec = matcher.embedder.encode_queries([remainder])
            matches = matcher.embedding_matches(vec, matcher.embedder.profile.question_threshold)[0]
            if matches:
                best = matches[0]
                # Keep the runner-up only when it is nearly as close (a question about two topics).
                out.topics = [m for m in matches[:2] if m.score >= best.score - 0.03]
                out.operation, out.counted = _operation(out, lowered, shape_text)
                out.intent = _intent(out, lowered)
                _settle(out, lowered, shape_text)
    return out


def _settle(q: Question, lowered: str, shape_text: str) -> None:
    """Defaults that depend on the intent: a ranking is largest-first unless told otherwise; "how
    much does X spend on T" adds up per disclosure unless the question asks for one total."""
    if q.operation == "rank" and not q.rank:
        q.rank = "desc"
    if q.intent == "topic-amount" and not (_SUM_WORDS_EN.search(shape_text) or _SUM_WORDS_ZH.search(shape_text)):
        q.per_group = True
    if q.operation == "change" and q.intent in ("topic", "topic-amount"):
        q.per_group = True  # each year's total beside the same department's year before


def _unique(seq: list) -> list:
    out, seen = [], set()
    for x in seq:
        key = x if isinstance(x, (str, int, tuple)) else id(x)
        if key not in seen:
            seen.add(key)
            out.append(x)
    return out


def _topics(text: str, matcher: TopicMatcher) -> list[TopicMatch]:
    """Topic labels in the question, also in its hyphen-free and singular English forms
    ("long term care", "vaccinations")."""
    variants = [text]
    if re.search(r"[A-Za-z]", text):
        plain = re.sub(r"(?<=[A-Za-z])-(?=[A-Za-z])", " ", text)
        singular = re.sub(r"(?<=[a-z]{3})(?:ies)\b", "y", plain)
        singular = re.sub(r"(?<=[a-z]{3})(?<![su])s\b", "", singular)
        variants += [plain, singular]
    found: dict[str, TopicMatch] = {}
    for variant in variants:
        for m in matcher.label_matches(variant):
            found.setdefault(m.topic.iri, m)
    # A narrower topic's label inside a broader one's (资助参保 in 医疗救助资助参保) keeps both.
    return sorted(found.values(), key=lambda m: m.span or (0, 0))


# ------------------------------------------------------------------ places not held


def _missing(text: str, gaz: Gazetteer, q: Question, held_spans: list[tuple[int, int]],
             known_spans: list[tuple[int, int]]) -> list[Missing]:
    """Areas, departments and years the question names that the graph holds nothing for."""
    missing: list[Missing] = []
    held_labels = {n for p in gaz.places for n in p.names}
    mentions: list[PlaceMention] = chinese_place_mentions(text)
    if re.search(r"[A-Za-z]{3,}", text):
        mentions += english_place_mentions(text)
    for m in mentions:
        if _overlaps(m.span, known_spans) or m.name in held_labels or m.text in held_labels:
            continue
        missing.append(Missing("area", m.name, m.text))
    # Departments: an organ after a held area that is not that area's (乐亭县财政局 when only
    # 乐亭县医疗保障局 is held), or an organ the graph holds for no area at all (教育局).
    held_kinds = gaz.department_kinds
    dept_spans = [s for _, _, s in gaz.department_index.find(text)]
    organ_spans: list[tuple[int, int]] = []
    for place, _, span in gaz.place_index.find(text, min_length=2):
        if _overlaps(span, dept_spans):
            continue
        organ = organ_after(text, span[1])
        if organ and organ not in held_kinds and not gaz.department_index.find(text[span[0]:span[1]] + organ):
            name = text[span[0]:span[1]] + organ
            missing.append(Missing("department", name, name))
            organ_spans.append((span[0], span[1] + len(organ)))
    for kind, span in department_types(text):
        if kind in held_kinds or _overlaps(span, dept_spans + organ_spans):
            continue
        missing.append(Missing("department", kind, text[span[0]:span[1]]))
    for y in q.years:
        if y not in gaz.years:
            missing.append(Missing("year", str(y), str(y)))
    # Each part held, but not together (乐亭县 2021, 兴县医疗保障局 2024).
    if not missing and (q.places or q.departments) and q.years:
        if not gaz.holdings_in(q.places, q.departments, q.years):
            who = "、".join(d.label for d in q.departments) or "、".join(p.label for p in q.places)
            missing.append(Missing("scope", f"{who} {'/'.join(map(str, q.years))}"))
    return missing


# ------------------------------------------------------------------ shape words


# Measure words that name a measure only when the question also names an area, department or
# year ("the budget of 兴县"); on their own they are just "budget money" for something.
_WEAK_MEASURE_WORDS = ("budget", "budget of", "预算是多少", "预算多少", "支出预算", "收支预算")


def _measures(lowered: str, *, scoped: bool = True) -> list[str]:
    found = []
    for prop, (_, _, triggers) in MEASURES.items():
        if any(t in lowered for t in triggers if scoped or t not in _WEAK_MEASURE_WORDS):
            found.append(prop)
    # "项目支出" also contains the generic "支出"; a specific measure beats the total.
    specific = [m for m in found if m != "totalExpenditure"]
    if specific and "totalExpenditure" in found:
        found.remove("totalExpenditure")
    if "totalRevenue" in found and "totalExpenditure" in found:
        found.remove("totalExpenditure")
    return found


def _without_measure_words(lowered: str) -> str:
    """The question without measure names ("total budget"), so that their "total" is not read as
    a request to add things up."""
    out = lowered
    for _, _, triggers in MEASURES.values():
        for t in sorted(triggers, key=len, reverse=True):
            if len(t) > 3 and not t.startswith("total 20"):
                out = out.replace(t, " ")
    return out


# Words that say the question is about what money goes to (so a topic may be looked up by meaning).
_TOPICAL_WORDS = ("fund", "pay", "spend", "spent", "support", "financ", "budget for", "project", "programme",
                  "program", "indicator", "subsid", "allocat", "money", "budget", "cost", "expens", "which count",
                  "what count", "on ", "哪些县", "哪个县", "哪些市", "哪些地区", "钱", "费",
                  "项目", "资金", "经费", "资助", "补助", "支出", "花", "指标", "用于", "安排")
_INDICATOR_WORDS = ("indicator", "kpi", "performance target", "performance goal", "绩效指标", "指标", "绩效目标",
                    "目标值", "三级指标")
_TARGET_WORDS = ("target", "aim", "goal", "目标", "aims for", "aim for")
_DISCLOSURE_WORDS = ("disclosure", "disclose", "published", "公开", "披露", "have data", "有数据", "documents",
                     "budget documents", "budget reports", "reports")
_AMOUNT_WORDS = ("how much", "多少", "金额", "amount", "spend", "spent", "花了", "花费", "总额", "合计", "budgeted",
                 "万元", "yuan")
_PROJECT_WORDS = ("project", "programme", "program", "项目", "专项", "scheme")
_BASIS_WORDS = ("legal basis", "basis", "based on", "justify", "justifies", "justified", "grounds for", "which documents", "what documents", "policy documents",
                "documents cited", "documents does", "cite which", "cited by", "立项依据", "法律依据", "政策依据", "依据",
                "根据什么", "哪些文件", "引用了哪些", "引用哪些", "哪些文号", "文号有哪些", "哪些政策文件")
_LINE_WORDS = ("科目", "功能分类", "经济分类", "budget line", "line item", "classification", "expenditure line",
               "spending line", "lines", "支出分类")
_COUNTY_WORDS = ("county", "counties", "areas", "cities", "districts", "places", "县", "地区", "市县", "区县")
_LEGAL_WORDS = ("文号", "legal document", "policy document", "documents cited", "文件")

# Words naming a 一级/二级 indicator category -> the category concept's local name in
# ontology/codelists.ttl (longest first, so 服务对象满意度 wins over 满意度).
_CATEGORY_WORDS = [
    ("服务对象满意度", "beneficiary-satisfaction"), ("经济效益", "economic-benefit"), ("社会效益", "social-benefit"),
    ("生态效益", "ecological-benefit"), ("可持续", "sustainability"), ("满意度", "satisfaction"),
    ("数量", "quantity"), ("质量", "quality"), ("时效", "timeliness"), ("成本", "cost"), ("产出", "output"),
    ("效益", "outcome"), ("效果", "outcome"),
    ("beneficiary satisfaction", "beneficiary-satisfaction"), ("economic benefit", "economic-benefit"),
    ("social benefit", "social-benefit"), ("ecological", "ecological-benefit"), ("sustainab", "sustainability"),
    ("satisfaction", "satisfaction"), ("satisfied", "satisfaction"), ("quantity", "quantity"),
    ("quality", "quality"), ("timeliness", "timeliness"), ("cost indicator", "cost"), ("cost target", "cost"),
    ("output", "output"), ("outcome", "outcome"),
]
# Words naming what an indicator measures (its 三级指标 label), English -> Chinese label words.
_KIND_WORDS_EN = [
    ("coverage", "覆盖率"), ("awareness", "知晓率"), ("enrolment rate", "参保率"), ("enrollment rate", "参保率"),
    ("participation rate", "参保率"), ("insurance rate", "参保率"), ("on-time", "及时率"), ("timely", "及时率"),
    ("punctual", "及时率"), ("disbursement", "发放率"), ("payout", "发放率"), ("funds in place", "到位率"),
    ("funding in place", "到位率"), ("funds arrival", "到位率"), ("arrival rate", "到位率"), ("pass rate", "合格率"),
    ("qualification rate", "合格率"), ("acceptance", "合格率"), ("archiving", "归档率"), ("filing rate", "归档率"),
    ("vaccination rate", "接种率"), ("completion rate", "完成率"), ("settlement", "结算"),
    ("number of insured", "参保人数"), ("insured people", "参保人数"), ("people insured", "参保人数"),
    ("number of people", "人数"), ("beneficiaries", "人数"), ("person-times", "人次"), ("visits", "人次"),
    ("publicity", "宣传"), ("inspection", "检查"), ("training", "培训"), ("assistance rate", "救助率"),
    ("operating rate", "运行率"), ("uptime", "运行率"), ("accuracy", "准确率"),
]

_RANK_WORDS = {
    "desc": ("largest", "biggest", "highest", "most", "greatest", "maximum", "top", "best funded", "最大", "最多",
             "最高", "排名", "排行", "前几", "最贵"),
    "asc": ("smallest", "lowest", "least", "fewest", "minimum", "bottom", "最小", "最少", "最低", "垫底", "最便宜"),
}
_RANKING_WORDS = ("rank", "ranking", "ranked", "order by", "sorted", "sort", "排名", "排序", "排行", "从大到小",
                  "从高到低", "从小到大", "从低到高")
_COUNT_EN = re.compile(r"\bhow many\b|\bnumber of\b|\bcount (?:of|the)\b|^count\b|\bhow much .*\bcount\b")
_COUNT_ZH = re.compile(r"多少(?:个|项|家|份|条|所|种|笔|县|地区|市)|几(?:个|项|家|份|条|所|种|笔)|数量|个数|项目数|指标数|"
                       r"有多少(?!钱|万|元)")
_SUM_WORDS_EN = re.compile(r"\b(?:in total|total(?:led|ling)?|altogether|combined|sum(?:med)?|all together|"
                           r"add(?:s|ed)? up|aggregate|overall)\b")
_SUM_WORDS_ZH = re.compile(r"合计|总共|一共|共计|加起来|总和|之和|求和|总额|累计|总计|总金额|合起来")
_AVERAGE = re.compile(r"\baverage\b|\bmean\b|\bon average\b|\bavg\b|平均|均值")
_NEGATION_EN = re.compile(
    r"\b(?:do|does|did|is|are|was|were|has|have)(?:n't| not)\b|\bwithout\b|\b(?:has|have|had) no\b|"
    r"\bno (?:project|projects|money|funding|budget|spending)\b|\black(?:s|ing)?\b|\bnot (?:fund|pay|have|spend|"
    r"support|budget|list|include|cover)|\bnever\b|\bother than those\b|\bexcept those\b")
_NEGATION_ZH = re.compile(r"没有|没(?:资助|安排|开展|涉及|列|设|有)|未(?:安排|资助|开展|涉及|列|设|包括|包含|提供|支持)|"
                          r"不(?:资助|安排|开展|涉及|支持|包括|包含|提供|设立|出资|做|搞|列)|无(?:此类|相关|该类)?项目|缺少|缺乏")
_PER_GROUP = re.compile(
    r"\b(?:each|every|per|by|individual) (?:county|counties|area|areas|city|department|year|disclosure)\b|"
    r"\bin each\b|\bfor each\b|\bcounty by county\b|\bbroken down\b|\bper-county\b|"
    r"各县|每个县|各个县|每县|分县|各地|每个地区|各市|分别|按县|逐县|每年|各年|历年|逐年|各自|各区县|各部门")
_CHANGE = re.compile(
    r"\byear[- ]over[- ]year\b|\byear[- ]on[- ]year\b|\bcompared? (?:with|to) (?:the )?(?:previous|last|prior) year\b|"
    r"\bchange(?:d|s)?\b|\bincrease(?:d|s)?\b|\bdecrease(?:d|s)?\b|\bgr[oe]w(?:n|th)?\b|\bfell\b|\brose\b|\btrend\b|"
    r"\bfrom \d{4} to \d{4}\b|\bbetween \d{4} and \d{4}\b|"
    r"同比|比上年|较上年|与上年相比|变化|增长|增加了|减少了|下降|上升|变动|增减")
_SINGULAR = re.compile(r"\bwhich (?:project|indicator|line|budget line|item|programme|target)\b|\bthe (?:single |one )?"
                       r"(?:largest|biggest|highest|smallest|lowest|most expensive|cheapest) (?:project|indicator|line|"
                       r"budget line|item|programme|target|one)\b(?!s)|哪个项目|哪一个项目|哪项|哪个指标|哪一项|哪条|"
                       r"哪个科目|最(?:大|小|高|低|多|少)的(?:项目|指标|科目|一项|一个)")
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
                 "十": 10}
_N = r"(\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|[一两二三四五六七八九十])"
_TOP_N = [
    re.compile(r"\b(?:top|bottom|first|last)\s+" + _N + r"\b", re.IGNORECASE),
    re.compile(r"\b" + _N + r"\s+(?:largest|biggest|highest|smallest|lowest|most|least|costliest|cheapest)\b",
               re.IGNORECASE),
    re.compile(r"\b(?:largest|biggest|highest|smallest|lowest)\s+" + _N + r"\b", re.IGNORECASE),
    re.compile(r"前\s*" + _N + r"\s*(?:个|项|名|位|条|家)?"),
    re.compile(r"后\s*" + _N + r"\s*(?:个|项|名|位|条|家)"),
    re.compile(r"最(?:大|高|多|小|低|少)的\s*" + _N + r"\s*(?:个|项|条|家|份)"),
    re.compile(_N + r"\s*(?:个|项|条|家)(?:金额)?最(?:大|高|多|小|低|少)"),
]


def _top_n(text: str) -> tuple[int | None, tuple[int, int] | None]:
    for pattern in _TOP_N:
        m = pattern.search(text)
        if m:
            raw = m.group(1).lower()
            n = int(raw) if raw.isdigit() else _WORD_NUMBERS.get(raw)
            if n and 0 < n <= 100:
                return n, m.span()
    return None, None


def ranking(lowered: str) -> str | None:
    """"desc"/"asc" when the question asks for the largest/smallest, else None."""
    for direction, words in _RANK_WORDS.items():
        if any(re.search(r"(?<![a-z])" + re.escape(w) + r"(?![a-z])", lowered) if w.isascii() else w in lowered
               for w in words):
            return direction
    if any(w in lowered for w in ("从小到大", "从低到高", "ascending")):
        return "asc"
    return None


def _operation(q: Question, lowered: str, shape_text: str) -> tuple[str, str | None]:
    """(operation, what is counted) from the question's cue words."""
    negation_text = re.sub(r"有没有|是否|不同|不是|不仅|not only|whether or not", " ", lowered)
    for w in COMPARATOR_WORDS:
        negation_text = negation_text.replace(w, " ")
    if (_NEGATION_EN.search(negation_text) or _NEGATION_ZH.search(negation_text)) and (q.topics or q.projects):
        return "negate", None
    if _COUNT_EN.search(lowered) or _COUNT_ZH.search(lowered):
        return "count", _counted(lowered)
    if _AVERAGE.search(lowered):
        return "average", None
    if q.comparison is not None and q.rank is None:
        return "compare", None
    if q.rank or q.limit or any(w in lowered for w in _RANKING_WORDS):
        return "rank", None
    if _CHANGE.search(lowered) and (len(q.years) >= 2 or re.search(r"previous|last year|上年|同比", lowered)):
        return "change", None
    if _SUM_WORDS_EN.search(shape_text) or _SUM_WORDS_ZH.search(shape_text) or \
            re.search(r"\bacross (?:all )?(?:the )?(?:counties|areas|years|departments)\b|所有县|全部县", lowered):
        return "sum", None
    return "list", None


def _counted(lowered: str) -> str:
    m = re.search(r"(?:how many|number of|count of|count the|多少个?|几个?)\s*(\S+(?:\s+\S+)?)", lowered)
    after = m.group(1) if m else lowered
    if re.match(r"(?:counties|county|areas|cities|districts|places|县|地区|市|区)", after):
        return "county"
    if re.match(r"(?:disclosures|documents|reports|budget documents|份|公开文件|文件)", after):
        return "disclosure"
    return "item"


def _intent(q: Question, lowered: str) -> str:
    if q.missing and _missing_is_fatal(q):
        return "absent"
    if q.documents:
        return "cites"
    if q.codes:
        return "lines"
    if any(w in lowered for w in _BASIS_WORDS) and (q.projects or q.topics or q.places or q.departments):
        return "basis"
    indicator = any(w in lowered for w in _INDICATOR_WORDS)
    targeted = any(w in lowered for w in _TARGET_WORDS)
    if (indicator or targeted or q.kinds) and (q.comparison is not None and q.comparison.family != "money"):
        return "indicators"
    if indicator and (q.projects or q.topics or q.categories or q.kinds or q.places or q.departments
                      or q.operation in ("count", "rank", "average")):
        return "indicators"
    if q.categories and targeted:
        return "indicators"
    if q.projects and q.operation == "change":
        return "projects"
    if q.topics:
        if q.operation == "list" and any(w in lowered for w in _AMOUNT_WORDS):
            return "topic-amount"
        return "topic"
    if q.line_words and q.operation in ("rank", "sum", "average", "count", "list") and (q.rank or q.operation != "list"):
        return "lines"
    if q.measures and (q.departments or q.places or q.years or q.operation in ("rank", "sum", "average", "list",
                                                                                "change", "compare")) \
            and not (q.operation == "count"):
        return "measure"
    if q.projects and (q.operation == "change" or len(q.years) >= 2):
        return "projects"
    if q.operation == "count" and q.counted in ("county", "disclosure"):
        return "disclosures"
    if any(w in lowered for w in _DISCLOSURE_WORDS) and not q.measures:
        return "disclosures"
    if any(w in lowered for w in _PROJECT_WORDS) and (q.departments or q.places or q.years or q.projects
                                                      or q.operation in ("rank", "count", "sum", "average", "compare")):
        return "projects"
    if q.projects and any(w in lowered for w in _AMOUNT_WORDS):
        return "projects"
    if q.comparison is not None and q.comparison.family in ("money", None) and \
            any(w in lowered for w in _PROJECT_WORDS):
        return "projects"
    if (indicator or q.kinds) and q.comparison is not None:
        return "indicators"
    if q.measures:
        return "measure"
    if q.operation == "count" and any(w in lowered for w in _COUNTY_WORDS):
        return "disclosures"
    return "unknown"


def _missing_is_fatal(q: Question) -> bool:
    """No rows at all: every area named is missing (none held), or a department/year/scope is."""
    kinds = {m.kind for m in q.missing}
    if "department" in kinds or "scope" in kinds:
        return True
    if "area" in kinds and not q.places and not q.departments:
        return True
    # 河北省涿州市: the area not held is the narrower one; answering for all of 河北省 would drop it.
    if "area" in kinds and not q.departments and all(p.level in ("province", "prefecture") for p in q.places):
        return True
    if "year" in kinds and not [y for y in q.years if y not in {int(m.name) for m in q.missing if m.kind == "year"}]:
        return True
    return False


# ------------------------------------------------------------------ codes, categories, kinds


_CODE = re.compile(r"(?<![\d.])(2\d{4}(?:\d{2})?|[35]\d{4}|[235]\d{2})(?![\d.])")
_CODE_WORDS = ("科目", "分类", "code", "class", "类", "款", "项")


def classification_codes(question: str) -> list[str]:
    """功能分类 (2xx, 2xxxx, 2xxxxxx) and 经济分类 (3xx/5xx, 3xxxx) codes named in a question; a
    three-digit number counts only next to a word like 科目 or code (it may be an amount)."""
    found = [m.group(1) for m in _CODE.finditer(question) if not _YEAR.fullmatch(m.group(1))]
    if any(w in question.lower() for w in _CODE_WORDS):
        return _unique(found)
    return _unique([c for c in found if len(c) >= 5])


def indicator_categories(lowered: str) -> list[str]:
    """Indicator categories a question names ("满意度指标", "quality indicators", "satisfaction")."""
    found, rest = [], lowered
    indicator = any(w in lowered for w in _INDICATOR_WORDS + _TARGET_WORDS)
    for word, local in _CATEGORY_WORDS:
        # Satisfaction is a category whatever the question calls it; the others need the word
        # "indicator" nearby (quality of what? 数量 of what?).
        if word in rest and (indicator or local in ("satisfaction", "beneficiary-satisfaction")):
            found.append(local)
            rest = rest.replace(word, " ")
    return _unique(found)


def indicator_kinds(text: str, lowered: str) -> list[str]:
    """Words an indicator's label must contain (覆盖率, 知晓率, 参保人数), from English cue words or
    Chinese words ending in 率/人数/人次 (satisfaction is left to its category): the suffix with up
    to two characters before it, cut at words that are not part of a name (的, 目标, 指标 ...)."""
    kinds = [zh for en, zh in _KIND_WORDS_EN if re.search(r"(?<![a-z])" + re.escape(en), lowered)]
    for m in _KIND_SUFFIX.finditer(text):
        before = text[max(0, m.start() - 2):m.start()]
        for stop in _KIND_STOPS:
            cut = before.rfind(stop)
            if cut >= 0:
                before = before[cut + len(stop):]
        before = "".join(ch for ch in before if "\u4e00" <= ch <= "\u9fff")
        word = before + m.group()
        if len(word) >= 2:
            kinds.append(word)
    return _unique(kinds)


_KIND_SUFFIX = re.compile(r"率|人数|人次|知晓度")
_KIND_STOPS = ("的", "目标", "指标", "哪些", "哪个", "是", "为", "有", "中", "里", "和", "与", "县", "市", "年", "个")


def _has_content(remainder: str) -> bool:
    """Enough words left to mean something: two English words, or two Chinese characters."""
    words = [w for w in re.findall(r"[A-Za-z]{3,}", remainder)]
    cjk = sum(1 for ch in remainder if "\u4e00" <= ch <= "\u9fff")
    return len(words) >= 2 or cjk >= 2 or (len(words) == 1 and cjk >= 1)


def _remainder(question: str, names: list[str]) -> str:
    rest = question
    for name in sorted(names, key=len, reverse=True):
        if name:
            rest = re.sub(re.escape(name), " ", rest, flags=re.IGNORECASE)
    rest = _YEAR.sub(" ", rest)
    rest = _SCAFFOLD_EN.sub(" ", rest)
    rest = _SCAFFOLD_ZH.sub(" ", rest)
    rest = re.sub(r"[^\w\u4e00-\u9fff]+", " ", rest)
    return " ".join(rest.split())
