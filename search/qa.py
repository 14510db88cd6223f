"""Questions in Chinese or English answered from the graph, with the SPARQL that answers them.

``ask(question, store, index)`` resolves the question (``search.questions``) to topics, areas,
departments, years, 文号 and measures, builds one SPARQL query for its kind, runs it, and returns::

    {"question", "interpretation", "answers": [{county, department, fiscal_year, label, amount,
     iri, source: {file, lines, page}, ...}], "sparql", "evidence": [search hits], "summary"}

Every answer row is a row of that query's result (one per resource, ``GROUP BY`` the resource), so
rerunning ``sparql`` on the store gives the same rows. Question text enters the query only through
``sparql.literal`` / ``sparql.iri`` (escaped literals, validated IRIs of the store's own resources).
A question it cannot map says so in the summary and returns search hits as evidence; no row is
ever made up.

Kinds of question: which counties/projects fund a topic (optionally in an area and year), how
much an area spends on a topic, a disclosure-level measure (total budget, revenue, basic or
project expenditure, carry-over ...) of a department or county, which projects cite a 文号, which
counties of an area have disclosures, the projects of a department, and the indicators of a project.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ontology.errors import QueryRejected
from ontology.iris import indicator_category_iri, table_iri
from search import questions as qmod
from search.questions import MEASURES, Question
from search.sparql import PREFIXES, iri, literal, number, text, value
from search.store import GraphStore
from search.topics import TopicMatcher, load_topics

if TYPE_CHECKING:
    from search.index import SearchIndex

MAX_ROWS = 500
EVIDENCE_K = 5

_CONTEXT = """
  OPTIONAL { ?d bkg:publishedBy ?dept_ . OPTIONAL { ?dept_ rdfs:label ?department_ }
             OPTIONAL { ?dept_ bkg:area ?area_ . OPTIONAL { ?area_ rdfs:label ?county_ } } }
  OPTIONAL { ?d bkg:fiscalYear ?year_ }
  OPTIONAL { ?d bkg:fileName ?file_ }
  OPTIONAL { ?iri bkg:lineStart ?ls_ }
  OPTIONAL { ?iri bkg:lineEnd ?le_ }
  OPTIONAL { ?iri bkg:page ?page_ }"""

_CONTEXT_VARS = ("(SAMPLE(?county_) AS ?county) (SAMPLE(?department_) AS ?department) "
                 "(SAMPLE(?year_) AS ?fiscal_year) (SAMPLE(?file_) AS ?file) (SAMPLE(?ls_) AS ?line_start) "
                 "(SAMPLE(?le_) AS ?line_end) (SAMPLE(?page_) AS ?page)")


# ------------------------------------------------------------------ entry point


def ask(question: str, store: GraphStore, index: "SearchIndex | None" = None) -> dict:
    """Answer a question from the graph (see the module docstring for the shape)."""
    question = (question or "").strip()
    if not question:
        raise QueryRejected("empty question")
    gaz = _gazetteer(store, index)
    matcher = _matcher(index)
    q = qmod.parse_question(question[:1000], gaz, matcher)
    handler = _HANDLERS.get(q.intent)
    answers: list[dict] = []
    sparql = None
    summary = None
    if handler is not None:
        sparql = handler(q, gaz)
        if sparql is not None:
            result = store.query(sparql, max_rows=MAX_ROWS)
            answers = [_row(r) for r in result.rows]
            summary = _summarise(q, answers)
    if summary is None:
        summary = _elsewhere(q) if q.intent == "elsewhere" else _cannot(q)
    evidence = _evidence(q, index, answers)
    return {"question": question, "interpretation": q.describe(), "answers": answers, "sparql": sparql,
            "evidence": evidence, "summary": summary}


def _gazetteer(store: GraphStore, index) -> qmod.Gazetteer:
    if index is not None and getattr(index, "store", None) is store:
        return index.cached("gazetteer", lambda: qmod.build_gazetteer(store))
    return qmod.build_gazetteer(store)


def _matcher(index) -> TopicMatcher:
    if index is not None:
        return index.topic_matcher()
    return TopicMatcher(load_topics(), None)


# ------------------------------------------------------------------ query builders


def _scope(q: Question, area_var: str = "scopeArea_", year_var: str = "scopeYear_") -> str:
    """Filters for the departments, areas and years a question names (on ?d)."""
    parts = []
    if q.departments:
        parts.append("VALUES ?scopeDept_ { " + " ".join(iri(d.iri) for d in q.departments) + " }\n"
                     "  ?d bkg:publishedBy ?scopeDept_ .")
    elif q.places:
        parts.append(f"VALUES ?{area_var}Top {{ " + " ".join(iri(p.iri) for p in q.places) + " }\n"
                     f"  ?d bkg:publishedBy/bkg:area ?{area_var} . ?{area_var} bkg:partOf* ?{area_var}Top .")
    if q.years:
        parts.append(f"VALUES ?{year_var} {{ " + " ".join(number(y) for y in q.years) + " }\n"
                     f"  ?d bkg:fiscalYear ?{year_var} .")
    return "\n  ".join(parts)


def _resource_query(pattern: str, q: Question, *, label_prop: str = "rdfs:label",
                    extra_vars: str = "", extra_pattern: str = "", order: str = "?county ?fiscal_year ?label") -> str:
    return PREFIXES + f"""SELECT ?iri (SAMPLE(?label_) AS ?label) (SAMPLE(?amount_) AS ?amount) {_CONTEXT_VARS}{extra_vars}
WHERE {{
  {pattern}
  {_scope(q)}
  OPTIONAL {{ ?iri {label_prop} ?label_ }}
  OPTIONAL {{ ?iri bkg:amount ?amount_ }}{extra_pattern}{_CONTEXT}
}}
GROUP BY ?iri
ORDER BY {order}"""


_FUNDED = "FILTER(EXISTS { ?iri bkg:amount ?amt_ } || EXISTS { ?iri bkg:hasIndicator ?ind_ })"


def _topic_query(q: Question, gaz: qmod.Gazetteer) -> str:
    topics = " ".join(iri(m.topic.iri) for m in q.topics)
    extra_vars = " (GROUP_CONCAT(DISTINCT ?topicLabel_; separator=\"; \") AS ?topics)"
    if gaz.has_topic_tags:
        # Tags written by search.topics (label and embedding evidence); narrower topics count too.
        pattern = f"""VALUES ?topic_ {{ {topics} }}
  ?d bkg:hasProject ?iri .
  ?iri bkg:topic ?t_ . ?t_ skos:broader* ?topic_ .
  OPTIONAL {{ ?t_ skos:prefLabel ?topicLabel_ FILTER(LANG(?topicLabel_) = "zh") }}
  {_FUNDED}"""
    else:
        # No tags in the store (topics never computed): fall back to the topics' own labels.
        labels = sorted({l.text for m in q.topics for t in _with_narrower(m.topic) for l in t.labels
                         if l.lang == "zh"}, key=len)
        ors = " || ".join(f"CONTAINS(STR(?name_), {literal(l)})" for l in labels) or "false"
        pattern = f"""?d bkg:hasProject ?iri .
  ?iri rdfs:label|skos:altLabel ?name_ .
  FILTER({ors})
  BIND(STR(?name_) AS ?topicLabel_)
  {_FUNDED}"""
    return _resource_query(pattern, q, extra_vars=extra_vars, order=_ranked_order(q, "?county ?fiscal_year ?label"))


def _ranked_order(q: Question, default: str) -> str:
    """Largest/smallest first when the question asks for a ranking, else the default order."""
    if q.rank == "desc":
        return "DESC(?amount) " + default
    if q.rank == "asc":
        return "ASC(?amount) " + default
    return default


def _with_narrower(topic):
    return [t for t in load_topics() if t.iri == topic.iri or topic.iri in t.broader]


def _cites_query(q: Question, gaz: qmod.Gazetteer) -> str:
    pattern = f"""?doc_ bkg:documentNumber {literal(q.documents[0])} .
  ?d bkg:hasProject ?iri .
  {{ ?iri bkg:legalBasis ?doc_ }} UNION {{ ?iri bkg:hasIndicator ?i_ . ?i_ bkg:legalBasis ?doc_ }}"""
    return _resource_query(pattern, q)


def _lines_query(q: Question, gaz: qmod.Gazetteer) -> str:
    """Budget lines of the classification codes a question names, from the table that shows the
    full split: the 支出总表 for functional codes, the 基本支出表 for economic ones."""
    codes = " ".join(literal(c) for c in q.codes)
    tables = " ".join(iri(str(table_iri(t))) for t in ("expenditure", "basic-economic"))
    pattern = f"""VALUES ?code_ {{ {codes} }}
  VALUES ?table_ {{ {tables} }}
  ?d bkg:hasBudgetLine ?iri .
  ?iri bkg:classification ?c_ ; bkg:sourceTable ?table_ .
  ?c_ skos:notation ?code_ ."""
    extra_vars = " (SAMPLE(?code_) AS ?code) (SAMPLE(?basic_) AS ?basic) (SAMPLE(?projectAmount_) AS ?project_amount)"
    extra = """
  OPTIONAL { ?iri bkg:basicAmount ?basic_ }
  OPTIONAL { ?iri bkg:projectAmount ?projectAmount_ }"""
    return _resource_query(pattern, q, extra_vars=extra_vars, extra_pattern=extra,
                           order=_ranked_order(q, "?county ?fiscal_year ?code"))


def _basis_query(q: Question, gaz: qmod.Gazetteer) -> str | None:
    """The legal documents a project (named, or about a topic) cites, itself or in its indicators."""
    if q.projects:
        projects = " ".join(sorted({iri(p) for _, p in q.projects}))
        selector = f"VALUES ?project {{ {projects} }}\n  ?d bkg:hasProject ?project ."
    elif q.topics and gaz.has_topic_tags:
        topics = " ".join(iri(m.topic.iri) for m in q.topics)
        selector = (f"VALUES ?topic_ {{ {topics} }}\n  ?d bkg:hasProject ?project .\n"
                    "  ?project bkg:topic ?t_ . ?t_ skos:broader* ?topic_ .")
    elif q.places or q.departments:
        selector = "?d bkg:hasProject ?project ."  # every project of the area/department in scope
    else:
        return None
    pattern = selector + """
  { ?project bkg:legalBasis ?iri } UNION { ?project bkg:hasIndicator ?i_ . ?i_ bkg:legalBasis ?iri }"""
    extra_vars = " (SAMPLE(?projectLabel_) AS ?project) (SAMPLE(?title_) AS ?title)"
    # A legal document has no source lines of its own: the citing project's are the evidence.
    extra = """
  OPTIONAL { ?project rdfs:label ?projectLabel_ }
  OPTIONAL { ?iri dct:title ?title_ }
  OPTIONAL { ?project bkg:lineStart ?ls_ ; bkg:lineEnd ?le_ . OPTIONAL { ?project bkg:page ?page_ } }"""
    return _resource_query(pattern, q, extra_vars=extra_vars, extra_pattern=extra,
                           order="?county ?fiscal_year ?project ?label")


def _measure_query(q: Question, gaz: qmod.Gazetteer) -> str:
    measures = q.measures or ["totalExpenditure"]
    values = " ".join(f"(bkg:{m} {literal(MEASURES[m][0], 'zh')})" for m in measures)
    return PREFIXES + f"""SELECT ?iri ?measure (SAMPLE(?label_) AS ?label) (SAMPLE(?amount_) AS ?amount) {_CONTEXT_VARS}
WHERE {{
  VALUES (?measure ?measureLabel_) {{ {values} }}
  ?iri a bkg:Disclosure ; ?measure ?amount_ .
  BIND(?iri AS ?d)
  {_scope(q)}
  OPTIONAL {{ ?iri rdfs:label ?docLabel_ }}
  BIND(CONCAT(COALESCE(STR(?docLabel_), ""), " — ", ?measureLabel_) AS ?label_){_CONTEXT}
}}
GROUP BY ?iri ?measure
ORDER BY {_ranked_order(q, "?county ?fiscal_year ?measure")}"""


def _disclosures_query(q: Question, gaz: qmod.Gazetteer) -> str:
    return _resource_query("?iri a bkg:Disclosure .\n  BIND(?iri AS ?d)", q)


def _projects_query(q: Question, gaz: qmod.Gazetteer) -> str:
    return _resource_query("?d bkg:hasProject ?iri .", q)


def _indicators_query(q: Question, gaz: qmod.Gazetteer) -> str | None:
    if q.projects:
        projects = " ".join(sorted({iri(p) for _, p in q.projects}))
        pattern = f"""VALUES ?project {{ {projects} }}
  ?project bkg:hasIndicator ?iri .
  ?d bkg:hasProject ?project ."""
    elif q.topics and gaz.has_topic_tags:
        topics = " ".join(iri(m.topic.iri) for m in q.topics)
        pattern = f"""VALUES ?topic_ {{ {topics} }}
  ?d bkg:hasProject ?project .
  ?project bkg:topic ?t_ . ?t_ skos:broader* ?topic_ .
  ?project bkg:hasIndicator ?iri ."""
    elif q.places or q.departments or q.categories:
        # Indicators of every project in scope, and the department-wide ones.
        pattern = """{ ?d bkg:hasProject ?project . ?project bkg:hasIndicator ?iri . }
  UNION { ?d a bkg:Disclosure ; bkg:hasIndicator ?iri . }"""
    else:
        return None
    if q.categories:
        categories = " ".join(iri(str(indicator_category_iri(c))) for c in q.categories)
        pattern += f"""
  VALUES ?category_ {{ {categories} }}
  ?iri bkg:indicatorLevel1|bkg:indicatorLevel2 ?c_ . ?c_ skos:broader* ?category_ ."""
    extra_vars = (" (SAMPLE(?projectLabel_) AS ?project) (SAMPLE(?value_) AS ?target_value)"
                  " (SAMPLE(?l1_) AS ?level1) (SAMPLE(?l2_) AS ?level2)")
    extra = """
  OPTIONAL { ?project rdfs:label ?projectLabel_ }
  OPTIONAL { ?iri bkg:targetValue ?value_ }
  OPTIONAL { ?iri bkg:indicatorLevel1/skos:prefLabel ?l1_ FILTER(LANG(?l1_) = "zh") }
  OPTIONAL { ?iri bkg:indicatorLevel2/skos:prefLabel ?l2_ FILTER(LANG(?l2_) = "zh") }"""
    return _resource_query(pattern, q, extra_vars=extra_vars, extra_pattern=extra,
                           order="?county ?fiscal_year ?project ?line_start ?iri")


_HANDLERS = {"topic": _topic_query, "topic-amount": _topic_query, "cites": _cites_query,
             "measure": _measure_query, "disclosures": _disclosures_query, "projects": _projects_query,
             "indicators": _indicators_query, "basis": _basis_query, "lines": _lines_query}


# ------------------------------------------------------------------ answers


def _row(r: dict) -> dict:
    amount = value(r.get("amount"))
    start, end, page = value(r.get("line_start")), value(r.get("line_end")), value(r.get("page"))
    year = value(r.get("fiscal_year"))
    row = {"county": text(r.get("county")), "department": text(r.get("department")),
           "fiscal_year": int(year) if year is not None else None, "label": text(r.get("label")),
           "amount": float(amount) if isinstance(amount, (int, float, Decimal)) else None,
           "iri": text(r.get("iri")),
           "source": {"file": text(r.get("file")),
                      "lines": [int(start), int(end if end is not None else start)] if start is not None else None,
                      "page": int(page) if page is not None else None}}
    for key in ("measure", "project", "target_value", "level1", "level2", "topics", "title", "code"):
        if r.get(key) is not None:
            v = text(r.get(key))
            row[key] = v.rsplit("#", 1)[-1] if key == "measure" else v
    return row


def _fmt_amount(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def _topic_names(q: Question, en: bool) -> str:
    return ", ".join((m.topic.en if en else m.topic.zh) for m in q.topics)


def _scope_text(q: Question, en: bool) -> str:
    bits = [d.label for d in q.departments] or [p.label for p in q.places]
    where = "、".join(bits) if not en else ", ".join(bits)
    years = ", ".join(str(y) for y in q.years)
    if en:
        return (f" in {where}" if where else "") + (f" in {years}" if years else "")
    return (where or "") + (f"{years}年" if years else "")


def _per_county(answers: list[dict]) -> list[tuple[str, int, float | None, list[int]]]:
    """(county, projects, sum of stated amounts or None, years) per county, in answer order."""
    order: dict[str, list] = {}
    for a in answers:
        key = a["county"] or a["department"] or "?"
        entry = order.setdefault(key, [0, None, set()])
        entry[0] += 1
        if a["amount"] is not None:
            entry[1] = (entry[1] or 0.0) + a["amount"]
        if a["fiscal_year"]:
            entry[2].add(a["fiscal_year"])
    return [(k, n, total, sorted(years)) for k, (n, total, years) in order.items()]


def _item_list(answers: list[dict], en: bool, limit: int = 8) -> str:
    items = []
    for a in answers[:limit]:
        amount = f" {_fmt_amount(a['amount'])} 万元" if a["amount"] is not None else ""
        items.append(f"{a['label']}（{a['county'] or a['department']} {a['fiscal_year'] or ''}{amount}）".replace(" ）", "）")
                     if not en else f"{a['label']} ({a['county'] or a['department']} {a['fiscal_year'] or ''}{amount})")
    more = len(answers) - limit
    tail = (f"; and {more} more" if en else f"；另有{more}项") if more > 0 else ""
    return ("; " if en else "；").join(items) + tail


def _summarise(q: Question, answers: list[dict]) -> str:
    text = _summarise_rows(q, answers)
    ranked = [a for a in answers if a["amount"] is not None]
    if not q.rank or not ranked or q.intent not in ("measure", "topic", "topic-amount", "lines"):
        return text
    first, en = ranked[0], q.language == "en"
    who = f"{first['label']} ({first['county'] or first['department']}, {first['fiscal_year'] or '?'})"
    if en:
        return f"{'Largest' if q.rank == 'desc' else 'Smallest'}: {who}, {_fmt_amount(first['amount'])} 万元. " + text
    return f"{'最高' if q.rank == 'desc' else '最低'}：{who}，{_fmt_amount(first['amount'])}万元。" + text


def _summarise_rows(q: Question, answers: list[dict]) -> str:
    en = q.language == "en"
    n = len(answers)
    src = _sources_text(answers, en)
    unstated = sum(1 for a in answers if a["amount"] is None)
    if q.intent in ("topic", "topic-amount"):
        topic = _topic_names(q, en)
        if not n:
            return (f"No funded project about {topic}{_scope_text(q, en)} was found in the graph."
                    if en else f"图中未找到{_scope_text(q, en)}涉及{topic}的有资金项目。")
        per = _per_county(answers)
        if en:
            counties = ", ".join(f"{c} ({k} project{'s' if k != 1 else ''}"
                                 + (f", {_fmt_amount(t)} 万元" if t is not None else "")
                                 + f", {'/'.join(map(str, y))})" for c, k, t, y in per)
            lead = ("Spending on" if q.intent == "topic-amount" else
                    f"{len(per)} count{'y funds' if len(per) == 1 else 'ies fund'}")
            note = f" {unstated} of {n} projects state no amount." if unstated else ""
            return f"{lead} {topic}{_scope_text(q, en)}: {counties}. Projects: {_item_list(answers, en)}.{note}{src}"
        counties = "；".join(f"{c}（{k}个项目" + (f"，{_fmt_amount(t)}万元" if t is not None else "")
                            + f"，{'/'.join(map(str, y))}年）" for c, k, t, y in per)
        note = f"其中{unstated}个项目未列明金额。" if unstated else ""
        if q.intent == "topic-amount":
            return f"{_scope_text(q, en)}{topic}相关支出：{counties}。项目：{_item_list(answers, en)}。{note}{src}"
        return (f"{_scope_text(q, en)}共有{len(per)}个县安排{topic}相关项目：{counties}。"
                f"项目：{_item_list(answers, en)}。{note}{src}")
    if q.intent == "cites":
        doc = q.documents[0]
        if not n:
            return f"No project in the graph cites {doc}." if en else f"图中没有引用{doc}的项目。"
        return (f"{n} project{'s' if n != 1 else ''} cite{'s' if n == 1 else ''} {doc}: {_item_list(answers, en)}.{src}"
                if en else f"共有{n}个项目引用{doc}：{_item_list(answers, en)}。{src}")
    if q.intent == "measure":
        if not n:
            names = ", ".join(MEASURES[m][1 if en else 0] for m in q.measures or ["totalExpenditure"])
            return (f"The graph holds no {names}{_scope_text(q, en)}." if en
                    else f"图中没有{_scope_text(q, en)}的{names}数据。")
        parts = []
        for a in answers:
            m = MEASURES.get(a.get("measure") or "", ("", "", ()))
            parts.append(f"{a['department'] or a['county']} {a['fiscal_year'] or ''}"
                         + (f" {m[1]}: " if en else f"年{m[0]}：") + f"{_fmt_amount(a['amount'])} 万元")
        return ("; ".join(parts) + "." + src) if en else ("；".join(parts) + "。" + src)
    if q.intent == "disclosures":
        if not n:
            return (f"No disclosure{_scope_text(q, en)} is in the graph." if en
                    else f"图中没有{_scope_text(q, en)}的公开文件。")
        per = _per_county(answers)
        listed = (", " if en else "、").join(f"{c} ({'/'.join(map(str, y))})" if en else f"{c}（{'/'.join(map(str, y))}年）"
                                             for c, _, _, y in per)
        return (f"{len(per)} count{'y' if len(per) == 1 else 'ies'}{_scope_text(q, en)} "
                f"{'has' if len(per) == 1 else 'have'} disclosures in the graph ({n} in all): {listed}.{src}"
                if en else f"{_scope_text(q, en)}共有{len(per)}个县的{n}份公开文件：{listed}。{src}")
    if q.intent == "projects":
        if not n:
            return f"No project{_scope_text(q, en)} is in the graph." if en else f"图中没有{_scope_text(q, en)}的项目。"
        return (f"{n} project{'s' if n != 1 else ''}{_scope_text(q, en)}: {_item_list(answers, en, 12)}.{src}"
                if en else f"{_scope_text(q, en)}共有{n}个项目：{_item_list(answers, en, 12)}。{src}")
    if q.intent == "lines":
        if not n:
            return (f"No budget line with code {', '.join(q.codes)}{_scope_text(q, en)} is in the graph." if en
                    else f"图中没有{_scope_text(q, en)}科目{'、'.join(q.codes)}的预算行。")
        rows = ("; " if en else "；").join(
            f"{a['county'] or a['department']} {a['fiscal_year'] or ''} {a['label']}: {_fmt_amount(a['amount'])} 万元"
            for a in answers[:20])
        return (f"{n} budget line{'s' if n != 1 else ''} (合计 column of the expenditure tables): {rows}.{src}"
                if en else f"共{n}条预算行（支出表合计列）：{rows}。{src}")
    if q.intent == "basis":
        if not n:
            return ("No legal document (文号 or policy title) is cited by that project in the graph." if en
                    else "图中该项目没有引用文号或政策文件（其依据可能只写作“县级年初预算项目”等）。")
        docs = ("; " if en else "；").join(
            f"{a['label']}" + (f" {a['title']}" if a.get("title") and a["title"] != a["label"] else "")
            + f" ({a.get('project') or '?'}, {a['county'] or ''} {a['fiscal_year'] or ''})" for a in answers[:20])
        return (f"{n} legal document{'s' if n != 1 else ''} cited: {docs}.{src}" if en
                else f"共引用{n}份文件：{docs}。{src}")
    if q.intent == "indicators":
        if not n:
            return "No such indicator is in the graph." if en else "图中没有符合条件的绩效指标。"
        items = ("; " if en else "；").join(f"{a['label']} {a.get('target_value') or ''}".strip() for a in answers[:20])
        more = (f" and {n - 20} more" if en else f"等{n}个") if n > 20 else ""
        if q.projects or q.topics:
            projects = sorted({a.get("project") or "?" for a in answers})
            return (f"{n} indicator{'s' if n != 1 else ''} of {', '.join(projects)}: {items}{more}.{src}"
                    if en else f"{'、'.join(projects)}共有{n}个绩效指标：{items}{more}。{src}")
        kinds = ", ".join(q.categories)
        return (f"{n} {kinds + ' ' if kinds else ''}indicator{'s' if n != 1 else ''}{_scope_text(q, en)}: "
                f"{items}{more}.{src}" if en else f"{_scope_text(q, en)}共有{n}个绩效指标：{items}{more}。{src}")
    return _cannot(q)


def _sources_text(answers: list[dict], en: bool) -> str:
    files = sorted({a["source"]["file"] for a in answers if a["source"].get("file")})
    if not files:
        return ""
    return f" Sources: {', '.join(files)}." if en else f"来源：{'、'.join(files)}。"


def _elsewhere(q: Question) -> str:
    """The question names only provinces the graph holds no disclosure from."""
    names = "、".join(q.missing_places)
    if q.language == "en":
        return (f"The graph holds no disclosures from {names}, so it cannot answer for it; add them with "
                "`budgetkg ingest`. Related search hits are listed as evidence.")
    return f"图中没有{names}的公开文件，无法回答；可用 budgetkg ingest 导入。以下列出相关检索结果供参考。"


def _cannot(q: Question) -> str:
    if q.language == "en":
        return ("I could not turn this question into a query over the graph: it names no policy topic, 文号, "
                "area with a measure, or project I can resolve. The closest search hits are listed as evidence.")
    return "无法将该问题转换为图谱查询（未识别出政策主题、文号、地区与指标口径或项目）。以下列出最相关的检索结果供参考。"


# ------------------------------------------------------------------ evidence


def _evidence(q: Question, index, answers: list[dict]) -> list[dict]:
    """Passages and items that support (or, without answers, approach) the question."""
    if index is None or not len(index):
        return []
    # Search for what the question is about, not for its scaffolding ("which counties ...").
    where = [d.label for d in q.departments] or [p.label for p in q.places]
    query = q.text
    if q.documents:
        query = q.documents[0]
    elif q.topics:
        query = " ".join([m.topic.zh for m in q.topics] + where)
    elif q.intent == "measure":
        query = " ".join(where + [MEASURES[m][0] for m in q.measures or ["totalExpenditure"]] + ["预算"])
    elif q.intent in ("disclosures", "projects"):
        query = " ".join(where + ["部门预算", "项目支出" if q.intent == "projects" else "情况说明"])
    elif q.intent == "indicators" and q.projects:
        query = q.projects[0][0]
    try:
        hits = index.search(query, k=EVIDENCE_K * 4)
    except Exception:  # evidence is a courtesy: a search failure must not lose the answer
        return []
    answer_iris = {a["iri"] for a in answers}
    counties = {a["county"] for a in answers if a.get("county")}
    if answers:
        preferred = [h for h in hits if h["iri"] not in answer_iris and (not counties or h.get("county") in counties)]
        rest = [h for h in hits if h not in preferred and h["iri"] not in answer_iris]
        hits = preferred + rest
    out = []
    for h in hits[:EVIDENCE_K]:
        out.append({k: h.get(k) for k in ("iri", "type", "label", "text", "county", "department", "fiscal_year",
                                           "project", "source", "score")})
    return out
