"""Every citation in a disclosure, in prose and tables alike: 文号 (document numbers), 《titles》,
and the two together when a title is followed by its number (《…实施办法》（乐政发〔2017〕12号）) or a
number by its title (兴政办发(2022)30号兴县人民政府办公室关于…的通知).

Text is read as units: a rejoined prose paragraph, a heading, or one table line; a unit whose
《title》 or 文号 is cut by a line break is joined with the next ones first, so character offsets
always map back to the lines the citation spans.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.model import LegalReference, Span
from ingest.normalize import DocNumberMatch, find_document_numbers
from ingest.paragraphs import Block, BlockKind, is_cjkish, tidy

_MAX_JOIN_LINES = 12

# A unit ends inside a 文号: 〔2018 / 〔2018〕 / 〔2018〕72 / （霸民
_CUT_NUMBER_RE = re.compile(
    r"(?:[〔\[【(（［]\s*(?:(?:19|20)\d{0,2})?|[〔\[【(（［]\s*(?:19|20)\d\d\s*[〕\]】)）］]\s*\d{0,5}|"
    r"[（(][\u4e00-\u9fff]{1,8})\s*$"
)

_DOC_TYPES = "通知|意见|办法|方案|规定|决定|批复|请示|函|细则|报告|通告|公告|规划|纲要|条例|制度|规程|指引|标准"
_ORGAN = r"(?:人民政府办公室|人民政府办公厅|人民政府|办公室|办公厅|委员会|财政局|财政厅|医疗保障局|局|厅|部|委)"
# An unbracketed title: [issuing organ]关于……的通知 (no sentence punctuation inside).
_BARE_TITLE_RE = re.compile(
    rf"(?P<title>(?:[\u4e00-\u9fff]{{2,24}}?{_ORGAN})?关于[^，。；;\t《》\n]{{2,80}}(?:{_DOC_TYPES}))"
)
# A title printed right after its number without 《》 and without a document type, as project names
# of carried-over funds are (兴财社(2022)82号关于下达2022年…补助资金预算晋财社(2021)250号).
_AFTER_NUMBER_TITLE_RE = re.compile(r"(?:文件|文)?\s*(?P<title>关于[^，。；;,\t\n《》]{4,80})")
# A title in round brackets right after the organ that issued it: 国务院(社会救助暂行办法).
_ROUND_TITLE_RE = re.compile(
    rf"(?:国务院|政府|部|委|厅|局|办公室)[（(](?P<title>[\u4e00-\u9fff]{{2,30}}(?:{_DOC_TYPES}))[)）]"
)
_RUN_IN_RE = re.compile(r"^(?:根据|依据|按照|依照|参照|执行|落实|贯彻|转发|印发|文件|号文|号|文|及|和|与|的|是|为)+")
_NESTING_VERBS_RE = re.compile(r"(?:印发|转发|发布|颁布|公布|下发|关于)\s*$")


@dataclass
class _Unit:
    text: str
    line_of: list[int]

    def lines_at(self, start: int, end: int) -> tuple[int, int]:
        start = max(0, min(start, len(self.line_of) - 1))
        end = max(start + 1, min(end, len(self.line_of)))
        return self.line_of[start], self.line_of[end - 1]


def _units(blocks: list[Block]) -> list[_Unit]:
    raw = [_Unit(b.text, b.line_of) for b in blocks if b.kind != BlockKind.NOISE and b.text]
    units: list[_Unit] = []
    i = 0
    while i < len(raw):
        unit = _Unit(raw[i].text, list(raw[i].line_of))
        j = i + 1
        lines = {unit.line_of[0], unit.line_of[-1]}
        while j < len(raw) and len(lines) < _MAX_JOIN_LINES and _is_cut(unit.text):
            nxt = raw[j]
            if unit.text and nxt.text and not (is_cjkish(unit.text[-1]) or is_cjkish(nxt.text[0])):
                unit.text += " "
                unit.line_of.append(nxt.line_of[0])
            unit.text += nxt.text
            unit.line_of.extend(nxt.line_of)
            lines.update((nxt.line_of[0], nxt.line_of[-1]))
            j += 1
        units.append(unit)
        i = j
    return units


def _is_cut(text: str) -> bool:
    return text.count("《") > text.count("》") or bool(_CUT_NUMBER_RE.search(text))


def _titles(text: str) -> list[tuple[str, int, int]]:
    """《titles》 with balanced brackets, as (title, start, end).

    A title that quotes another (关于印发《霸州市机构改革方案》的通知) is kept whole with the inner
    title in 〈〉, and the inner one is returned too. Two titles a narrow column interleaved
    (《廊坊《大城县…征缴方案》市人民政府…意见》) come apart into the inner one and the outer one.
    """
    if "《" not in text:
        return []  # most units cite nothing: skip the walk over their characters
    text = text.replace("<", "〈").replace(">", "〉")
    found: list[tuple[str, int, int]] = []
    stack: list[int] = []
    inner: dict[int, list[tuple[int, int]]] = {}
    for k, ch in enumerate(text):
        if ch == "《":
            stack.append(k)
        elif ch == "》" and stack:
            start = stack.pop()
            if stack:
                inner.setdefault(stack[-1], []).append((start, k + 1))
            body = text[start + 1:k]
            children = inner.pop(start, [])
            if not children:
                found.append((body, start, k + 1))
                continue
            nested = all(_NESTING_VERBS_RE.search(text[start + 1:s]) for s, _ in children)
            if nested:
                whole = body.replace("《", "〈").replace("》", "〉")
                found.append((whole, start, k + 1))
            else:
                outer = body
                for s, e in sorted(children, reverse=True):
                    outer = outer[:s - start - 1] + outer[e - start - 1:]
                found.append((outer, start, k + 1))
    found.sort(key=lambda t: t[1])
    return [(tidy(t).strip(), s, e) for t, s, e in found if len(tidy(t).strip()) >= 2]


def _bare_titles(text: str, taken: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """关于…的通知 titles outside 《》 and outside 文号, with a leading organ name when there is one."""
    if "关于" not in text:
        return []  # every bare title starts with 关于
    flat = text
    for s, e in taken:
        e = min(e, len(flat))
        if s < e:
            flat = flat[:s] + "\n" * (e - s) + flat[e:]
    out = []
    for m in _BARE_TITLE_RE.finditer(flat):
        title = m.group("title")
        lead = _RUN_IN_RE.match(title)
        start = m.start("title") + (lead.end() if lead else 0)
        title = tidy(flat[start:m.end("title")])
        if len(title) >= 6:
            out.append((title, start, m.end("title")))
    return out


def _titles_after_numbers(text: str, numbers: list[DocNumberMatch],
                          taken: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """关于… right after a 文号, up to the next 文号 or cell or clause end."""
    out = []
    for idx, m in enumerate(numbers):
        t = _AFTER_NUMBER_TITLE_RE.match(text, m.end)
        if not t:
            continue
        start, end = t.start("title"), t.end("title")
        if idx + 1 < len(numbers) and numbers[idx + 1].start < end:
            end = numbers[idx + 1].start
        if any(s < end and start < e for s, e in taken):
            continue
        title = tidy(text[start:end]).rstrip("-—_ ")
        if len(title) >= 6:
            out.append((title, start, start + len(text[start:end].rstrip("-—_ "))))
    return out


def _round_titles(text: str) -> list[tuple[str, int, int]]:
    return [(m.group("title"), m.start("title") - 1, m.end("title") + 1) for m in _ROUND_TITLE_RE.finditer(text)]


def _adjacent(gap: str, limit: int) -> bool:
    return len(gap) <= limit and not re.search(r"[，。；;,、]", gap)


def find_citations(blocks: list[Block], page_of=None) -> list[LegalReference]:
    """Every citation in reading order, one per occurrence (``merge_citations`` dedupes)."""
    refs: list[LegalReference] = []
    for unit in _units(blocks):
        text = unit.text
        numbers: list[DocNumberMatch] = find_document_numbers(text)
        titles = _titles(text)
        taken = [(m.start, m.end) for m in numbers] + [(s, e) for _, s, e in titles]
        bare = [t for t in _bare_titles(text, taken) if _bare_is_citation(t, text, numbers)]
        taken += [(s, e) for _, s, e in bare]
        bare += _titles_after_numbers(text, numbers, taken)
        bare += [t for t in _round_titles(text) if not any(s < t[2] and t[1] < e for s, e in taken)]
        all_titles = sorted(titles + bare, key=lambda t: t[1])
        used_numbers: set[int] = set()
        for title, start, end in all_titles:
            number = None
            for idx, m in enumerate(numbers):
                if idx in used_numbers:
                    continue
                # 《title》（文号） or title 文号 ...
                if m.start >= end and _adjacent(re.sub(r"[\s（(【\[]", "", text[end:m.start]), 1):
                    number = (idx, m)
                    break
                # ... or 文号 title (兴政办发(2022)30号兴县人民政府办公室关于…的通知)
                if m.end <= start and _adjacent(re.sub(r"[\s)）\]】文件]", "", text[m.end:start]), 0):
                    number = (idx, m)
                    break
            span_start, span_end = start, end
            if number:
                idx, m = number
                used_numbers.add(idx)
                ref = m.ref
                span_start, span_end = min(start, m.start), max(end, m.end)
                ref = LegalReference(number=ref.number, issuer=ref.issuer, year=ref.year, serial=ref.serial,
                                     title=title, raw=text[span_start:span_end])
            else:
                ref = LegalReference(title=title, raw=text[start:end])
            ref.span = _span(unit, span_start, span_end, page_of)
            refs.append(ref)
        for idx, m in enumerate(numbers):
            if idx in used_numbers:
                continue
            ref = m.ref
            refs.append(LegalReference(number=ref.number, issuer=ref.issuer, year=ref.year, serial=ref.serial,
                                       raw=ref.raw, span=_span(unit, m.start, m.end, page_of)))
    refs.sort(key=lambda r: (r.span.line_start if r.span else 0))
    return refs


def _bare_is_citation(title: tuple[str, int, int], text: str, numbers: list[DocNumberMatch]) -> bool:
    """An unbracketed 关于… title counts when a 文号 is next to it or it fills its table cell."""
    _, start, end = title
    for m in numbers:
        if m.start >= end and _adjacent(re.sub(r"[\s（(【\[]", "", text[end:m.start]), 1):
            return True
        if m.end <= start and _adjacent(re.sub(r"[\s)）\]】文件]", "", text[m.end:start]), 0):
            return True
    cell_start = max(text.rfind("\t", 0, start), text.rfind("\n", 0, start)) + 1
    cell_end = min([k for k in (text.find("\t", end), text.find("\n", end)) if k >= 0] or [len(text)])
    return text[cell_start:start].strip() == "" and text[end:cell_end].strip(" 。") == ""


def _span(unit: _Unit, start: int, end: int, page_of) -> Span:
    first, last = unit.lines_at(start, end)
    return Span(first, last, page_of(first) if page_of else None)


def _title_key(title: str | None) -> str:
    return re.sub(r"[\s《》〈〉<>]", "", title or "")


def merge_citations(existing: list[LegalReference], found: list[LegalReference]) -> list[LegalReference]:
    """The ``found`` references to append to ``existing``: one per key (number, else title).

    The first occurrence gives the span; the number comes from the first occurrence that has one;
    the longest title seen for a key wins. A title-only reference whose title also appears with a
    number is folded into that numbered one. References already in ``existing`` are not repeated,
    but get a title from ``found`` when they had none or a shorter one.
    """
    titled_numbers: dict[str, str] = {}
    for ref in list(existing) + list(found):
        if ref.number and ref.title:
            titled_numbers.setdefault(_title_key(ref.title), ref.number)

    def key_of(ref: LegalReference) -> str:
        return ref.number or titled_numbers.get(_title_key(ref.title)) or _title_key(ref.title) or ref.raw

    existing_by_key = {key_of(ref): ref for ref in existing}
    merged: dict[str, LegalReference] = {}
    for ref in found:
        key = key_of(ref)
        target = existing_by_key.get(key) or merged.get(key)
        if target is None:
            merged[key] = LegalReference(number=ref.number, issuer=ref.issuer, year=ref.year, serial=ref.serial,
                                         title=ref.title, raw=ref.raw, span=ref.span)
            continue
        if ref.number and not target.number:
            target.number, target.issuer, target.year, target.serial = ref.number, ref.issuer, ref.year, ref.serial
        if ref.title and (not target.title or len(_title_key(ref.title)) > len(_title_key(target.title))):
            target.title = ref.title
    return list(merged.values())
