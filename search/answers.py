"""Answer rows and the sentence that sums them up, in the question's language.

A row is one result row of the query ``ask`` ran (never computed here). The summary states only
numbers that are in the rows (amounts, counts, totals, averages, changes — all computed by the
SPARQL), the years and codes the rows carry, the number of rows, and the numbers of the question
itself; when nothing is held for a place, department or year the question names, it says so and
lists what the graph does hold.
"""
from __future__ import annotations

from decimal import Decimal

from search.gazetteer import Gazetteer
from search.questions import MEASURES, Question
from search.quantities import FAMILY_NAMES
from search.sparql import text, value

_EXTRA_TEXT = ("measure", "target_value", "level1", "level2", "topics", "title", "code", "unit")
_EXTRA_NUMBERS = ("value", "count", "total", "valued", "average", "all_count", "all_total", "all_valued",
                  "all_average", "previous", "previous_year", "change", "basic", "project_amount")


def to_row(r: dict) -> dict:
    """One result row as an answer row (see ``search.qa`` for the shape)."""
    amount = value(r.get("amount"))
    start, end, page = value(r.get("line_start")), value(r.get("line_end")), value(r.get("page"))
    year = value(r.get("fiscal_year"))
    row = {"county": text(r.get("county")), "department": text(r.get("department")),
           "fiscal_year": int(year) if year is not None else None, "label": text(r.get("label")),
           "amount": _float(amount), "iri": text(r.get("iri")),
           "source": {"file": text(r.get("file")),
                      "lines": [int(start), int(end if end is not None else start)] if start is not None else None,
                      "page": int(page) if page is not None else None}}
    for key in _EXTRA_TEXT:
        if r.get(key) is not None:
            v = text(r.get(key))
            row[key] = v.rsplit("#", 1)[-1] if key == "measure" else v
    project = r.get("project_label") if r.get("project_label") is not None else r.get("project")
    if project is not None:
        row["project"] = text(project)
    for key in _EXTRA_NUMBERS:
        if r.get(key) is not None:
            v = _float(value(r.get(key)))
            if v is not None:
                row[key] = int(v) if key in ("count", "valued", "all_count", "all_valued", "previous_year") else v
    return row


def _float(v) -> float | None:
    return float(v) if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) else None


def fmt(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:,.2f}".rstrip("0").rstrip(".")


# ------------------------------------------------------------------ what the graph holds


def holdings_text(q: Question, gaz: Gazetteer, en: bool, limit: int = 12) -> str:
    """"乐亭县 (2023, 2024), 兴县 (2023) …": the areas (or a named area's years) the graph holds."""
    if q.places or q.departments:
        held = gaz.holdings_in(q.places, q.departments)
    else:
        held = gaz.holdings
    by_area: dict[str, set[int]] = {}
    for h in held:
        who = gaz.area_label(h.area) if h.area else (gaz.department(h.department).label
                                                      if gaz.department(h.department) else "?")
        by_area.setdefault(who, set()).update([h.year] if h.year else [])
    parts = [f"{a} ({', '.join(map(str, sorted(ys)))})" if en else f"{a}（{'、'.join(map(str, sorted(ys)))}年）"
             for a, ys in sorted(by_area.items())[:limit]]
    more = (" and others" if en else "等") if len(by_area) > limit else ""
    return (", " if en else "、").join(parts) + more


def absent_text(q: Question, gaz: Gazetteer) -> str:
    en = q.language == "en"
    areas = [m for m in q.missing if m.kind == "area"]
    depts = [m for m in q.missing if m.kind == "department"]
    years = [m for m in q.missing if m.kind == "year"]
    scopes = [m for m in q.missing if m.kind == "scope"]
    sentences = []
    if areas or depts:
        names = [f"{m.name}" + (f" ({m.text})" if m.text and m.text != m.name else "") for m in areas + depts]
        sentences.append((f"The graph holds no disclosure from {', '.join(names)}." if en
                          else f"图中没有来自{'、'.join(names)}的公开文件。"))
    if years:
        ys = ", ".join(m.name for m in years)
        where = ", ".join(p.label for p in q.places)
        sentences.append((f"The graph holds no disclosure for {ys}" + (f" from {where}" if where else "") + "."
                          if en else f"图中没有{where}{'、'.join(m.name for m in years)}年的公开文件。"))
    if scopes:
        sentences.append((f"The graph holds no disclosure for {', '.join(m.name for m in scopes)}." if en
                          else f"图中没有{'、'.join(m.name for m in scopes)}年的公开文件。"))
    if (years or scopes) and (q.places or q.departments):
        sentences.append((f"It holds: {holdings_text(q, gaz, en)}." if en else f"图中有：{holdings_text(q, gaz, en)}。"))
    else:
        q_all = Question(text=q.text, language=q.language)
        sentences.append((f"It holds disclosures from {holdings_text(q_all, gaz, en)}." if en
                          else f"图中有以下地区的公开文件：{holdings_text(q_all, gaz, en)}。"))
    sentences.append("Nothing is answered for a place, department or year the graph does not hold; related search "
                     "hits are listed as evidence." if en else "对图中没有的地区、部门或年份不作回答；以下列出相关检索结果供参考。")
    return " ".join(sentences)


# ------------------------------------------------------------------ summaries


def summarise(q: Question, answers: list[dict], gaz: Gazetteer, truncated: bool) -> str:
    en = q.language == "en"
    body = _summary(q, answers, en)
    notes = []
    partial = [m for m in q.missing if m.kind in ("area", "year")]
    if partial:
        names = ", ".join(m.name for m in partial) if en else "、".join(m.name for m in partial)
        notes.append(f"Nothing is held for {names}." if en else f"图中没有{names}的数据。")
    if truncated:
        notes.append(f"Only the first {len(answers)} rows are listed; narrow the question by area or year."
                     if en else f"仅列出前{len(answers)}行，可按地区或年份缩小范围。")
    if not answers and (q.places or q.departments or q.years):
        notes.append(f"The graph holds: {holdings_text(q, gaz, en)}." if en else f"图中有：{holdings_text(q, gaz, en)}。")
    return " ".join([body] + notes) + _sources_text(answers, en)


def _topic_names(q: Question, en: bool) -> str:
    names = [(m.topic.en if en else m.topic.zh) for m in q.topics]
    return ", ".join(names) if en else "、".join(names)


def _subject(q: Question, en: bool) -> str:
    """What the rows are about, in words: a topic, named projects, a 文号, codes, a measure."""
    if q.topics:
        return _topic_names(q, en)
    if q.projects:
        return ", ".join(q.projects) if en else "、".join(q.projects)
    if q.documents:
        return q.documents[0]
    if q.codes:
        return ", ".join(q.codes)
    return ""


def scope_text(q: Question, en: bool) -> str:
    bits = [d.label for d in q.departments] or [p.label for p in q.places]
    where = ", ".join(bits) if en else "、".join(bits)
    years = ", ".join(str(y) for y in q.years)
    if en:
        return (f" in {where}" if where else "") + (f" in {years}" if years else "")
    return (where or "") + (f"{years}年" if years else "")


def _who(a: dict) -> str:
    return f"{a['county'] or a['department'] or '?'} {a['fiscal_year'] or ''}".strip()


def _item(a: dict, en: bool) -> str:
    amount = f", {fmt(a['amount'])} 万元" if a["amount"] is not None else ""
    target = f" {a['target_value']}" if a.get("target_value") else ""
    if en:
        return f"{a['label']}{target} ({_who(a)}{amount})"
    return f"{a['label']}{target}（{_who(a)}{amount.replace(', ', '，')}）"


def _items(answers: list[dict], en: bool, limit: int = 8) -> str:
    shown = "; ".join(_item(a, en) for a in answers[:limit]) if en else "；".join(_item(a, en) for a in answers[:limit])
    # The rest are in the table; their number is not restated (a summary states only row values).
    return shown + (("; …" if en else "；……") if len(answers) > limit else "")


def _counties(answers: list[dict], en: bool) -> str:
    seen: dict[str, set] = {}
    for a in answers:
        seen.setdefault(a["county"] or a["department"] or "?", set()).add(a["fiscal_year"])
    parts = [f"{c} ({'/'.join(str(y) for y in sorted(ys) if y)})" if en
             else f"{c}（{'/'.join(str(y) for y in sorted(ys) if y)}年）" for c, ys in seen.items()]
    return ", ".join(parts) if en else "、".join(parts)


def _groups(answers: list[dict], en: bool, what: str) -> str:
    """Per-disclosure aggregates as the rows carry them (count, total, average per ?d)."""
    seen: dict[tuple, dict] = {}
    for a in answers:
        seen.setdefault((a["county"] or a["department"], a["fiscal_year"]), a)
    parts = []
    for (who, year), a in seen.items():
        bits = []
        if a.get("total") is not None and a.get("valued") and a.get("unit") is None:
            bits.append(f"{fmt(a['total'])} 万元")
        if a.get("average") is not None and a.get("valued"):
            bits.append(("average " if en else "平均") + fmt(a["average"]) + _unit_word(a, en))
        if a.get("count") is not None:
            bits.append(_n(a["count"], what) if en else f"{a['count']}个{what}")
        if a.get("valued") is not None and a.get("count") is not None and a["valued"] != a["count"]:
            bits.append(f"{a['valued']} with an amount" if en else f"其中{a['valued']}个列明金额")
        if a.get("previous") is not None and a.get("change") is not None:
            bits.append((f"year before {fmt(a['previous'])} 万元, change " if en else f"上年{fmt(a['previous'])}万元，变化")
                        + ("+" if a["change"] >= 0 else "") + fmt(a["change"]))
        parts.append(f"{who} {year or ''}: {', '.join(bits)}" if en else f"{who}{year or ''}年：{'，'.join(bits)}")
    return "; ".join(parts) if en else "；".join(parts)


def _n(count: int, what: str) -> str:
    """"1 project", "2 projects" (``what`` is the plural)."""
    if count != 1:
        return f"{count} {what}"
    return f"1 {what[:-3] + 'y' if what.endswith('ies') else what[:-1] if what.endswith('s') else what}"


def _unit_word(a: dict, en: bool) -> str:
    unit = a.get("unit")
    if unit in ("%", "百分比", "百分数"):
        return "%"
    return f" {unit}" if unit else ""


def _what(q: Question, en: bool) -> str:
    if q.counted == "county":
        return "counties" if en else "县"
    if q.counted == "disclosure" or q.intent == "disclosures":
        return "disclosures" if en else "份公开文件"
    return {"indicators": ("indicators", "指标"), "lines": ("budget lines", "预算行"), "basis": ("documents", "文件"),
            }.get(q.intent, ("projects", "项目"))[0 if en else 1]


def _summary(q: Question, answers: list[dict], en: bool) -> str:
    n = len(answers)
    what = _what(q, en)
    subject = _subject(q, en)
    scope = scope_text(q, en)
    if q.operation == "negate":
        if not n:
            return (f"Every disclosure{scope} in the graph has a project about {subject}." if en
                    else f"图中{scope}的每份公开文件都有涉及{subject}的项目。")
        return (f"Disclosures{scope} with no project about {subject}: {_counties(answers, en)}." if en
                else f"{scope}没有{subject}相关项目的公开文件：{_counties(answers, en)}。")
    if not n:
        return _nothing(q, en, subject, scope, what)
    first = answers[0]
    if q.operation == "count" and first.get("count") is not None and q.counted == "county":
        return (f"{first['count']} {what}{scope}" + (f" with {subject}" if subject else "") +
                f": {_counties(answers, en)}. Items: {_items(answers, en)}." if en else
                f"{scope}" + (f"涉及{subject}的" if subject else "") + f"县共{first['count']}个：{_counties(answers, en)}。"
                f"明细：{_items(answers, en)}。")
    if q.operation == "count" and first.get("count") is not None:
        return (f"{first['count']} {what}{scope}" + (f" about {subject}" if subject else "") + f": {_items(answers, en)}."
                if en else f"{scope}" + (f"涉及{subject}的" if subject else "") + f"{what}共{first['count']}个：{_items(answers, en)}。")
    if q.operation in ("sum", "average", "change") and q.intent != "measure" and first.get("count") is not None:
        if q.per_group:
            overall = ""
            if first.get("all_total") is not None and first.get("all_valued") and q.intent != "indicators":
                overall = (f" All together: {fmt(first['all_total'])} 万元 over {_n(first['all_count'], what)}." if en
                           else f"合计{fmt(first['all_total'])}万元（共{first['all_count']}个{what}）。")
            elif first.get("all_average") is not None and first.get("all_valued"):
                overall = (f" Overall average: {fmt(first['all_average'])}{_unit_word(first, en)}." if en
                           else f"总平均{fmt(first['all_average'])}{_unit_word(first, en)}。")
            return (f"{subject or 'Amounts'}{scope} per disclosure: {_groups(answers, en, what)}.{overall} "
                    f"Items: {_items(answers, en)}." if en else
                    f"{scope}{subject}按公开文件：{_groups(answers, en, what)}。{overall}明细：{_items(answers, en)}。")
        lead = []
        if first.get("total") is not None and first.get("valued") and q.intent != "indicators":
            lead.append(f"total {fmt(first['total'])} 万元" if en else f"合计{fmt(first['total'])}万元")
        if first.get("average") is not None and first.get("valued"):
            lead.append(("average " if en else "平均") + fmt(first["average"]) + _unit_word(first, en))
        lead.append(f"over {_n(first['count'], what)}" if en else f"共{first['count']}个{what}")
        if first.get("valued") is not None and first["valued"] != first["count"]:
            lead.append(f"{first['valued']} of them with a value" if en else f"其中{first['valued']}个有数值")
        return (f"{subject or what}{scope}: {', '.join(lead)}. Items: {_items(answers, en)}." if en
                else f"{scope}{subject}：{'，'.join(lead)}。明细：{_items(answers, en)}。")
    if q.operation == "change" and q.intent == "projects":
        parts = []
        for a in answers:
            if a.get("previous") is not None and a.get("change") is not None:
                parts.append(f"{a['label']} ({a['county']}): {fmt(a['previous'])} → {fmt(a['amount'])} 万元 in "
                             f"{a['fiscal_year']} ({'+' if a['change'] >= 0 else ''}{fmt(a['change'])})" if en else
                             f"{a['label']}（{a['county']}）：{a['fiscal_year']}年{fmt(a['amount'])}万元，上年"
                             f"{fmt(a['previous'])}万元（{'+' if a['change'] >= 0 else ''}{fmt(a['change'])}）")
        lead = ("; ".join(parts) + ". " if en else "；".join(parts) + "。") if parts else ""
        return lead + (f"Rows: {_items(answers, en)}." if en else f"各年：{_items(answers, en)}。")
    if q.intent == "measure":
        return _measure_summary(q, answers, en)
    ranked = q.operation == "rank" or (q.rank and first.get("value") is not None)
    if ranked and (first.get("value") is not None or first.get("amount") is not None):
        v = first.get("value") if first.get("value") is not None else first.get("amount")
        unit = _unit_word(first, en) if q.intent == "indicators" else " 万元"
        word = ("Largest" if q.rank != "asc" else "Smallest") if en else ("最高" if q.rank != "asc" else "最低")
        top = f"{word}: {first['label']} ({_who(first)}), {fmt(v)}{unit}." if en else \
            f"{word}：{first['label']}（{_who(first)}），{fmt(v)}{unit.strip()}。"
        return top + (f" Ranking: {_items(answers, en)}." if en else f"排序：{_items(answers, en)}。")
    if q.intent in ("topic", "topic-amount"):
        return (f"Counties funding {subject}{scope}: {_counties(answers, en)}. {n} project{'s' if n != 1 else ''}: "
                f"{_items(answers, en)}." if en else
                f"{scope}安排{subject}相关项目的县：{_counties(answers, en)}。共{n}个项目：{_items(answers, en)}。")
    if q.intent == "cites":
        return (f"{n} project{'s' if n != 1 else ''} cite{'s' if n == 1 else ''} {subject}: {_items(answers, en)}."
                if en else f"共有{n}个项目引用{subject}：{_items(answers, en)}。")
    if q.intent == "lines":
        rows = ("; " if en else "；").join(f"{_who(a)} {a['label']}: {fmt(a['amount'])} 万元" for a in answers[:20])
        return (f"{n} budget line{'s' if n != 1 else ''} (合计 column of the expenditure tables): {rows}." if en
                else f"共{n}条预算行（支出表合计列）：{rows}。")
    if q.intent == "basis":
        docs = ("; " if en else "；").join(
            f"{a['label']}" + (f" {a['title']}" if a.get("title") and a["title"] != a["label"] else "")
            + f" ({a.get('project') or '?'}, {_who(a)})" for a in answers[:20])
        return (f"{n} citation{'s' if n != 1 else ''} of legal documents: {docs}." if en
                else f"共{n}处引用文件：{docs}。")
    if q.intent == "indicators":
        items = ("; " if en else "；").join(f"{a['label']} {a.get('target_value') or ''} ({_who(a)})".strip()
                                           for a in answers[:20])
        more = ("; …" if en else "等") if n > 20 else ""
        cond = f" with a target {q.comparison.text}" if (q.comparison and en) else ""
        cond_zh = f"目标{q.comparison.text}的" if q.comparison else ""
        return (f"{n} indicator{'s' if n != 1 else ''}{cond}{scope}: {items}{more}." if en
                else f"{scope}{cond_zh}绩效指标共{n}个：{items}{more}。")
    if q.intent == "disclosures":
        return (f"Disclosures{scope} in the graph ({n}): {_counties(answers, en)}." if en
                else f"{scope}图中的公开文件（{n}份）：{_counties(answers, en)}。")
    return (f"{n} {what}{scope}: {_items(answers, en, 12)}." if en
            else f"{scope}共有{n}个{what}：{_items(answers, en, 12)}。")


def _nothing(q: Question, en: bool, subject: str, scope: str, what: str) -> str:
    if q.intent in ("topic", "topic-amount"):
        return (f"No funded project about {subject}{scope} was found in the graph." if en
                else f"图中未找到{scope}涉及{subject}的有资金项目。")
    if q.intent == "cites":
        return f"No project in the graph cites {subject}." if en else f"图中没有引用{subject}的项目。"
    if q.intent == "basis":
        return ("No legal document (文号 or policy title) is cited by that project in the graph." if en
                else "图中该项目没有引用文号或政策文件（其依据可能只写作“县级年初预算项目”等）。")
    if q.intent == "lines":
        return (f"No budget line with code {subject}{scope} is in the graph." if en
                else f"图中没有{scope}科目{subject}的预算行。")
    if q.intent == "indicators":
        return "No such indicator is in the graph." if en else "图中没有符合条件的绩效指标。"
    if q.intent == "measure":
        names = ", ".join(MEASURES[m][1 if en else 0] for m in q.measures or ["totalExpenditure"])
        return f"The graph holds no {names}{scope}." if en else f"图中没有{scope}的{names}数据。"
    return f"No {what}{scope} is in the graph." if en else f"图中没有{scope}的{what}。"


def _measure_summary(q: Question, answers: list[dict], en: bool) -> str:
    first = answers[0]
    parts = []
    for a in answers[:20]:
        m = MEASURES.get(a.get("measure") or "", ("", "", ()))
        line = (f"{a['department'] or a['county']} {a['fiscal_year'] or ''}" + (f" {m[1]}: " if en else f"年{m[0]}：")
                + f"{fmt(a['amount'])} 万元")
        if a.get("change") is not None and a.get("previous") is not None:
            line += (f" ({a.get('previous_year') or 'previous year'}: {fmt(a['previous'])}, change "
                     f"{'+' if a['change'] >= 0 else ''}{fmt(a['change'])})" if en else
                     f"（{a.get('previous_year') or '上年'}年{fmt(a['previous'])}，变化{'+' if a['change'] >= 0 else ''}"
                     f"{fmt(a['change'])}）")
        parts.append(line)
    text_ = ("; ".join(parts) + ".") if en else ("；".join(parts) + "。")
    lead = ""
    if q.operation in ("sum", "average") and first.get("total") is not None:
        lead = (f"Across {first['count']} disclosures: total {fmt(first['total'])} 万元, average "
                f"{fmt(first['average'])} 万元. " if en else
                f"{first['count']}份公开文件合计{fmt(first['total'])}万元，平均{fmt(first['average'])}万元。")
    elif q.operation == "count" and first.get("count") is not None:
        lead = f"{first['count']} disclosures. " if en else f"共{first['count']}份公开文件。"
    elif q.rank:
        word = ("Largest" if q.rank != "asc" else "Smallest") if en else ("最高" if q.rank != "asc" else "最低")
        who = f"{first['label']} ({_who(first)})"
        lead = (f"{word}: {who}, {fmt(first['amount'])} 万元. " if en else
                f"{word}：{who}，{fmt(first['amount'])}万元。")
    return lead + text_


def _sources_text(answers: list[dict], en: bool) -> str:
    files = sorted({a["source"]["file"] for a in answers if a["source"].get("file")})
    if not files:
        return ""
    shown = files[:10]
    more = (" …" if len(files) > 10 else "")
    return f" Sources: {', '.join(shown)}{more}." if en else f"来源：{'、'.join(shown)}{more}。"


def cannot_text(q: Question) -> str:
    if q.language == "en":
        return ("I could not turn this question into a query over the graph: it names no policy topic, 文号, "
                "area with a measure, or project I can resolve. The closest search hits are listed as evidence.")
    return "无法将该问题转换为图谱查询（未识别出政策主题、文号、地区与指标口径或项目）。以下列出最相关的检索结果供参考。"


__all__ = ["to_row", "summarise", "absent_text", "cannot_text", "fmt", "FAMILY_NAMES"]
