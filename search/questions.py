"""Reading a question: which topics, areas, departments, years, document numbers and measures it
names, and what kind of answer it wants.

Everything a question is resolved against comes from the store (area, department and project
names, cited 文号, years) or from ``topics.ttl`` (topic labels in zh and en), collected once into
a ``Gazetteer``. Names are matched longest first and a match inside a longer one is ignored (兴县
inside 兴县医疗保障局 is the department, and also tells the county). Topics without a listed label
in the question are found by embedding the question's remaining words.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from search.lexical import DOC_NUMBER
from search.romanize import english_names
from search.sparql import PREFIXES, text, value
from search.store import GraphStore
from search.topics import TopicMatch, TopicMatcher

# Provincial-level units, for English questions ("counties in Shanxi").
PROVINCES_EN = {
    "河北": "hebei", "山西": "shanxi", "内蒙古": "inner mongolia", "辽宁": "liaoning", "吉林": "jilin",
    "黑龙江": "heilongjiang", "江苏": "jiangsu", "浙江": "zhejiang", "安徽": "anhui", "福建": "fujian",
    "江西": "jiangxi", "山东": "shandong", "河南": "henan", "湖北": "hubei", "湖南": "hunan",
    "广东": "guangdong", "广西": "guangxi", "海南": "hainan", "四川": "sichuan", "贵州": "guizhou",
    "云南": "yunnan", "西藏": "tibet", "陕西": "shaanxi", "甘肃": "gansu", "青海": "qinghai",
    "宁夏": "ningxia", "新疆": "xinjiang", "北京": "beijing", "天津": "tianjin", "上海": "shanghai",
    "重庆": "chongqing",
}
# One-character province abbreviations as printed in 文号 (冀财社 = Hebei finance, social section).
PROVINCE_ABBR = {"冀": "河北", "晋": "山西"}
_AREA_SUFFIXES = ("自治县", "自治州", "自治区", "地区", "新区", "省", "市", "县", "区", "旗", "盟")

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
}
# Words that carry the question's shape, removed before a topic is looked up by embedding.
_SCAFFOLD_EN = re.compile(
    r"\b(?:which|what|how much|how many|does|do|did|is|are|the|of|in|on|for|fund(?:s|ed|ing)?|"
    r"spend(?:s|ing)?|count(?:y|ies)|projects?|programmes?|programs?|have|has|with|money|budget(?:ed)?|"
    r"list|show|me|any|a|an|by|to|who|pay|pays|paid|support(?:s|ed)?|finance[sd]?)\b", re.IGNORECASE)
_SCAFFOLD_ZH = re.compile(r"哪些(?:县市?|市|区|地方|地区)?|哪个(?:县|市|区)?|哪几个(?:县|市)?|什么|多少钱?|有没有|有|的|项目|资金|经费|"
                          r"安排|开展|用于|支出|预算|花了|花|在|上|了|吗|呢|？|\?")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


@dataclass
class Place:
    iri: str
    label: str
    level: str | None
    names: list[str] = field(default_factory=list)  # label, short form, English name


@dataclass
class Department:
    iri: str
    label: str
    area: str | None


@dataclass
class Gazetteer:
    """Names the store knows, for resolving questions."""

    places: list[Place] = field(default_factory=list)
    departments: list[Department] = field(default_factory=list)
    doc_numbers: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    projects: list[tuple[str, str]] = field(default_factory=list)  # (name, project IRI)
    classifications: list[tuple[str, str]] = field(default_factory=list)  # (科目 name, code)
    has_topic_tags: bool = False

    def place(self, iri: str) -> Place | None:
        return next((p for p in self.places if p.iri == iri), None)


def build_gazetteer(store: GraphStore) -> Gazetteer:
    """Collect area/department/project names, cited 文号 and years from the store."""
    gaz = Gazetteer()
    rows = store.query(PREFIXES + """
SELECT ?a (SAMPLE(?l) AS ?label) (SAMPLE(?lvl) AS ?level) WHERE {
  ?a a bkg:AdministrativeArea ; rdfs:label ?l . OPTIONAL { ?a bkg:adminLevel ?lvl }
} GROUP BY ?a""").rows
    for r in rows:
        label = text(r.get("label")) or ""
        names = [label]
        short = _short_name(label)
        if short:
            names.append(short)
        en = PROVINCES_EN.get(short or label)
        if en:
            names.append(en)
        names.extend(n for n in english_names(label) if n not in names)
        gaz.places.append(Place(str(r["a"]), label, text(r.get("level")), names))
    rows = store.query(PREFIXES + """
SELECT ?d (SAMPLE(?l) AS ?label) (SAMPLE(?a) AS ?area) WHERE {
  ?d a bkg:Department ; rdfs:label ?l . OPTIONAL { ?d bkg:area ?a }
} GROUP BY ?d""").rows
    gaz.departments = [Department(str(r["d"]), text(r.get("label")) or "", text(r.get("area"))) for r in rows]
    gaz.doc_numbers = sorted({str(r["n"]) for r in store.query(PREFIXES + """
SELECT DISTINCT ?n WHERE { ?doc bkg:documentNumber ?n }""").rows})
    gaz.years = sorted({int(value(r["y"])) for r in store.query(PREFIXES + """
SELECT DISTINCT ?y WHERE { ?d a bkg:Disclosure ; bkg:fiscalYear ?y }""").rows})
    gaz.projects = sorted({(str(r["l"]), str(r["p"])) for r in store.query(PREFIXES + """
SELECT DISTINCT ?p ?l WHERE { ?p a bkg:Project ; rdfs:label|skos:altLabel ?l }""").rows})
    gaz.classifications = sorted({(str(r["l"]), str(r["n"])) for r in store.query(PREFIXES + """
SELECT DISTINCT ?l ?n WHERE { ?line a bkg:BudgetLine ; bkg:classification ?c . ?c skos:notation ?n ;
  skos:prefLabel|skos:altLabel ?l }""").rows})
    gaz.has_topic_tags = any(g.startswith(_topics_prefix()) for g in store.graph_names())
    return gaz


def _topics_prefix() -> str:
    from search.topics import TOPIC_GRAPH_PREFIX

    return TOPIC_GRAPH_PREFIX


def _short_name(label: str) -> str | None:
    """乐亭县 -> 乐亭, 河北省 -> 河北; None when what is left would be one character (兴县)."""
    for suffix in _AREA_SUFFIXES:
        if label.endswith(suffix) and len(label) - len(suffix) >= 2:
            return label[: -len(suffix)]
    return None


# ------------------------------------------------------------------ the parsed question


@dataclass
class Question:
    text: str
    language: str  # "zh" or "en"
    topics: list[TopicMatch] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    departments: list[Department] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)  # normalised 文号
    measures: list[str] = field(default_factory=list)  # ontology property names
    projects: list[tuple[str, str]] = field(default_factory=list)  # (name, IRI) named in the question
    categories: list[str] = field(default_factory=list)  # indicator-category concept local names
    rank: str | None = None  # "desc" for largest/most/最高, "asc" for smallest/least/最低
    codes: list[str] = field(default_factory=list)  # 功能/经济分类 codes named (2101202, 30101)
    missing_places: list[str] = field(default_factory=list)  # provinces named that the graph does not hold
    intent: str = "unknown"

    def describe(self) -> dict:
        return {"intent": self.intent, "topics": [m.topic.to_json() | {"evidence": m.evidence} for m in self.topics],
                "areas": [p.label for p in self.places], "departments": [d.label for d in self.departments],
                "years": self.years, "documents": self.documents, "measures": self.measures,
                "projects": [name for name, _ in self.projects], "indicator_categories": self.categories,
                "rank": self.rank, "codes": self.codes, "missing_places": self.missing_places}


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


def _find_names(question: str, lowered: str, entries: list[tuple[str, object]]) -> list[tuple[object, tuple[int, int]]]:
    """Occurrences of names in the question, longest first, none inside an earlier match."""
    taken: list[tuple[int, int]] = []
    found = []
    for name, obj in sorted(entries, key=lambda e: -len(e[0])):
        if not name:
            continue
        if name.isascii():
            spans = [m.span() for m in re.finditer(r"(?<![a-z])" + re.escape(name.lower()) + r"(?![a-z])", lowered)]
        else:
            spans = [m.span() for m in re.finditer(re.escape(name), question)]
        for s, e in spans:
            if any(s >= a and e <= b for a, b in taken):
                continue
            taken.append((s, e))
            found.append((obj, (s, e)))
    return found


def parse_question(question: str, gaz: Gazetteer, matcher: TopicMatcher) -> Question:
    """Resolve a question against the gazetteer and the topic scheme, and guess its intent."""
    q = unicodedata.normalize("NFKC", question).strip()
    lowered = q.lower()
    out = Question(text=question, language=detect_language(q))

    doc = normalize_doc_number(q, gaz.doc_numbers)
    if doc:
        out.documents.append(doc)
    q_wo_doc = DOC_NUMBER.sub(" ", q)
    lowered_wo_doc = q_wo_doc.lower()

    depts = _find_names(q_wo_doc, lowered_wo_doc, [(d.label, d) for d in gaz.departments])
    out.departments = _unique([d for d, _ in depts])
    dept_spans = [span for _, span in depts]
    place_hits = _find_names(q_wo_doc, lowered_wo_doc, [(n, p) for p in gaz.places for n in p.names])
    places = [p for p, span in place_hits if not any(span[0] >= a and span[1] <= b for a, b in dept_spans)]
    # A department names its county too.
    for d in out.departments:
        place = gaz.place(d.area) if d.area else None
        if place:
            places.append(place)
    out.places = _unique(places)

    out.years = sorted({int(y) for y in _YEAR.findall(q_wo_doc)})
    out.measures = _measures(lowered_wo_doc)

    projects = _find_names(q_wo_doc, lowered_wo_doc, [(n, (n, p)) for n, p in gaz.projects if len(n) >= 3])
    out.projects = _unique([p for p, _ in projects])

    out.categories = indicator_categories(lowered_wo_doc)
    out.rank = ranking(lowered_wo_doc)
    out.codes = classification_codes(q_wo_doc) or _named_classifications(q_wo_doc, lowered_wo_doc, gaz)
    out.missing_places = _missing_provinces(q_wo_doc, lowered_wo_doc, gaz)
    out.topics = matcher.label_matches(q_wo_doc)
    out.intent = _intent(out, lowered_wo_doc)
    topical = any(w in lowered_wo_doc for w in _TOPICAL_WORDS)
    if not out.topics and out.intent in ("indicators", "unknown", "projects") and topical and matcher.embedder:
        remainder = _remainder(q_wo_doc, [n for p in out.places for n in p.names] +
                               [d.label for d in out.departments] + [str(y) for y in out.years])
        if remainder:
            vec = matcher.embedder.encode_queries([remainder])
            matches = matcher.embedding_matches(vec, matcher.embedder.profile.question_threshold)[0]
            if matches:
                best = matches[0]
                # Keep the runner-up only when it is nearly as close (a question about two topics).
                out.topics = [m for m in matches[:2] if m.score >= best.score - 0.03]
                out.intent = _intent(out, lowered_wo_doc)
    return out


def _unique(seq: list) -> list:
    out, seen = [], set()
    for x in seq:
        key = id(x) if not isinstance(x, tuple) else x
        if key not in seen:
            seen.add(key)
            out.append(x)
    return out


def _measures(lowered: str) -> list[str]:
    found = []
    for prop, (_, _, triggers) in MEASURES.items():
        if any(t in lowered for t in triggers):
            found.append(prop)
    # "项目支出" also contains the generic "支出"; a specific measure beats the total.
    specific = [m for m in found if m != "totalExpenditure"]
    if specific and "totalExpenditure" in found:
        found.remove("totalExpenditure")
    if "totalRevenue" in found and "totalExpenditure" in found:
        found.remove("totalExpenditure")
    return found


# Words that say the question is about what money goes to (so a topic may be looked up by meaning).
_TOPICAL_WORDS = ("fund", "pay", "spend", "spent", "support", "financ", "budget for", "project", "programme",
                  "program", "indicator", "哪些县", "哪些市", "哪些地区", "项目", "资金", "经费", "资助", "补助", "支出",
                  "花", "指标")
_INDICATOR_WORDS = ("indicator", "kpi", "performance target", "绩效指标", "指标", "绩效目标")
_DISCLOSURE_WORDS = ("disclosure", "disclose", "published", "公开", "披露", "have data", "有数据", "documents",
                     "budget documents")
_AMOUNT_WORDS = ("how much", "多少", "金额", "amount", "spend", "spent", "花了", "花费", "总额", "合计")
_PROJECT_WORDS = ("project", "programme", "program", "项目")
_BASIS_WORDS = ("legal basis", "basis", "based on", "which documents", "what documents", "policy documents",
                "documents cited", "cite which", "立项依据", "法律依据", "政策依据", "依据", "根据什么", "哪些文件",
                "引用了哪些", "引用哪些")


# Words naming a 一级/二级 indicator category -> the category concept's local name in
# ontology/codelists.ttl (longest first, so 服务对象满意度 wins over 满意度).
_CATEGORY_WORDS = [
    ("服务对象满意度", "beneficiary-satisfaction"), ("经济效益", "economic-benefit"), ("社会效益", "social-benefit"),
    ("生态效益", "ecological-benefit"), ("可持续", "sustainability"), ("满意度", "satisfaction"),
    ("数量", "quantity"), ("质量", "quality"), ("时效", "timeliness"), ("成本", "cost"), ("产出", "output"),
    ("效益", "outcome"), ("效果", "outcome"),
    ("beneficiary satisfaction", "beneficiary-satisfaction"), ("economic benefit", "economic-benefit"),
    ("social benefit", "social-benefit"), ("ecological", "ecological-benefit"), ("sustainab", "sustainability"),
    ("satisfaction", "satisfaction"), ("quantity", "quantity"), ("quality", "quality"), ("timeliness", "timeliness"),
    ("cost", "cost"), ("output", "output"), ("outcome", "outcome"),
]


_RANK_WORDS = {
    "desc": ("largest", "biggest", "highest", "most", "greatest", "maximum", "top", "最大", "最多", "最高", "排名"),
    "asc": ("smallest", "lowest", "least", "fewest", "minimum", "最小", "最少", "最低"),
}


def ranking(lowered: str) -> str | None:
    """"desc"/"asc" when the question asks for the largest/smallest, else None."""
    for direction, words in _RANK_WORDS.items():
        if any(re.search(r"(?<![a-z])" + re.escape(w) + r"(?![a-z])", lowered) if w.isascii() else w in lowered
               for w in words):
            return direction
    return None


_CODE = re.compile(r"(?<![\d.])(2\d{4}(?:\d{2})?|[35]\d{4}|[235]\d{2})(?![\d.])")
_CODE_WORDS = ("科目", "分类", "code", "class", "类", "款", "项")


def classification_codes(question: str) -> list[str]:
    """功能分类 (2xx, 2xxxx, 2xxxxxx) and 经济分类 (3xx/5xx, 3xxxx) codes named in a question; a
    three-digit number counts only next to a word like 科目 or code (it may be an amount)."""
    found = [m.group(1) for m in _CODE.finditer(question)]
    if any(w in question.lower() for w in _CODE_WORDS):
        return _unique(found)
    return _unique([c for c in found if len(c) >= 5])


_LINE_WORDS = ("科目", "功能分类", "经济分类", "budget line", "line item", "classification")


def _named_classifications(question: str, lowered: str, gaz: "Gazetteer") -> list[str]:
    """Codes of 科目 named by their name ("城乡医疗救助科目"), only when the question says it means
    a classification line (科目, budget line): otherwise the words are a topic's."""
    if not any(w in lowered for w in _LINE_WORDS):
        return []
    hits = _find_names(question, lowered, [(name, code) for name, code in gaz.classifications if len(name) >= 3])
    return _unique([code for code, _ in hits])


def _missing_provinces(question: str, lowered: str, gaz: "Gazetteer") -> list[str]:
    """Provinces the question names that no disclosure in the graph comes from (so the answer is
    "none there", not an answer for everywhere)."""
    known = {n for p in gaz.places for n in p.names}
    missing = []
    for short, english in PROVINCES_EN.items():
        named = short in question or re.search(r"(?<![a-z])" + re.escape(english) + r"(?![a-z])", lowered)
        if named and short not in known and not any(n.startswith(short) for n in known if not n.isascii()):
            missing.append(short)
    return missing


def indicator_categories(lowered: str) -> list[str]:
    """Indicator categories a question names ("满意度指标", "quality indicators")."""
    if not any(w in lowered for w in _INDICATOR_WORDS):
        return []
    found, rest = [], lowered
    for word, local in _CATEGORY_WORDS:
        if word in rest:
            found.append(local)
            rest = rest.replace(word, " ")
    return _unique(found)


def _intent(q: Question, lowered: str) -> str:
    if q.missing_places and not q.places and not q.departments:
        return "elsewhere"
    if q.documents:
        return "cites"
    if q.codes:
        return "lines"
    if any(w in lowered for w in _BASIS_WORDS) and (q.projects or q.topics or q.places or q.departments):
        return "basis"
    if any(w in lowered for w in _INDICATOR_WORDS) and (q.projects or q.topics or q.categories or q.places
                                                         or q.departments):
        return "indicators"
    if q.topics:
        return "topic-amount" if any(w in lowered for w in _AMOUNT_WORDS) else "topic"
    if q.measures and (q.departments or q.places or q.years):
        return "measure"
    if any(w in lowered for w in _DISCLOSURE_WORDS) and not q.measures:
        return "disclosures"
    if any(w in lowered for w in _PROJECT_WORDS) and (q.departments or q.places):
        return "projects"
    if q.measures:
        return "measure"
    return "unknown"


def _remainder(question: str, names: list[str]) -> str:
    rest = question
    for name in sorted(names, key=len, reverse=True):
        if name:
            rest = re.sub(re.escape(name), " ", rest, flags=re.IGNORECASE)
    rest = _YEAR.sub(" ", rest)
    rest = _SCAFFOLD_EN.sub(" ", rest)
    rest = _SCAFFOLD_ZH.sub(" ", rest)
    return " ".join(rest.split())
