"""Layout-independent reading of a disclosure's text into blocks: headings, table titles, prose
paragraphs, table lines and noise.

Whatever rendered the text (PDF text with lines broken mid-sentence and repeated page headers,
narrow PDF columns, Markdown with ``#`` and ``<b>``, DOCX text with tab-indented cells and
``[bookmark: …]`` lines), the result is the same: prose paragraphs rejoined across line breaks and
page breaks without spurious spaces between Chinese characters, headings with their numbering level,
and everything tabular set aside. Each block keeps, per character, the 1-based source line it came
from, so a match anywhere in joined text maps back to a line range.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from itertools import repeat

from ingest.normalize import strip_markup
from ingest.source import SourceText


class BlockKind(str, Enum):
    HEADING = "heading"
    TABLE_TITLE = "table-title"  # 部门预算收支总表, 1、医保鉴定评审费绩效目标表, …申报表
    PROSE = "prose"
    TABLE = "table"  # a table row, cell, header fragment or table meta line (单位：万元)
    NOISE = "noise"  # page numbers, table of contents, bookmarks


@dataclass
class Block:
    """A heading, a prose paragraph or one table/noise line, with the source line of each character."""

    kind: BlockKind
    text: str
    line_of: list[int] = field(repr=False)
    level: int | None = None  # headings: 0 第X部分/document title, 1 一、, 2 （一）, 3 1、, 4 ①, 5 unnumbered
    ordinal: int | None = None
    title: str | None = None  # headings and table titles: the text without its numbering

    @property
    def first_line(self) -> int:
        return self.line_of[0] if self.line_of else 0

    @property
    def last_line(self) -> int:
        return self.line_of[-1] if self.line_of else 0

    def lines_at(self, start: int, end: int) -> tuple[int, int]:
        """The source line range of the characters ``text[start:end]``."""
        if not self.line_of:
            return 0, 0
        start = max(0, min(start, len(self.line_of) - 1))
        end = max(start + 1, min(end, len(self.line_of)))
        return self.line_of[start], self.line_of[end - 1]


# ------------------------------------------------------------------ characters

SENTENCE_END = "。！？；!?;"
_CJK_PUNCTUATION = set("“”‘’—…·")


def is_cjk(ch: str) -> bool:
    """A CJK ideograph (basic block, extension A, compatibility)."""
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def is_cjkish(ch: str) -> bool:
    """CJK characters and CJK/full-width punctuation."""
    return ("\u3000" <= ch <= "\u303f" or is_cjk(ch) or "\uff00" <= ch <= "\uffef"
            or ch in _CJK_PUNCTUATION)


_WIDE_RE = re.compile("[\u3000-\U0010ffff" + "".join(sorted(_CJK_PUNCTUATION)) + "]")


def display_width(text: str) -> int:
    """Width of a line as printed: CJK and full-width characters count two."""
    return len(text) + len(_WIDE_RE.findall(text))


# Last characters of organ names (市委, 人民政府, 财政局, 财政厅, 教育部, 委员会, 办公室 ...).
_ORGAN_ENDINGS = set("委府局厅部院会室办署")


def tidy_chars(chars: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Collapse whitespace and drop the spaces PDF text puts around numbers and punctuation.

    ``2023 年支出预算 7895.40 万元`` becomes ``2023年支出预算7895.40万元`` and ``医疗、 医保`` becomes
    ``医疗、医保``, and a wrap artifact inside a word (``中央和省 级财政``) goes too. A space survives
    between two Latin letters or digits (``Excel 2019``) and, printed inside one line, after the name
    of an organ (``中共廊坊市委 廊坊市人民政府``: two issuers of one document). Line breaks never
    become spaces, so rejoined lines never gain one.
    """
    out: list[tuple[str, int]] = []
    i = 0
    n = len(chars)
    while i < n:
        ch, line = chars[i]
        if ch in " \t\u3000\xa0":
            j = i
            while j < n and chars[j][0] in " \t\u3000\xa0":
                j += 1
            left = out[-1][0] if out else ""
            right = chars[j][0] if j < n else ""
            same_line = bool(out) and j < n and out[-1][1] == chars[j][1]
            if left and right and (not (is_cjkish(left) or is_cjkish(right))
                                   or (same_line and left in _ORGAN_ENDINGS and is_cjk(right))):
                out.append((" ", line))
            i = j
            continue
        out.append((ch, line))
        i += 1
    return out


def tidy(text: str) -> str:
    """``tidy_chars`` for a plain string."""
    return "".join(ch for ch, _ in tidy_chars([(ch, 0) for ch in text]))


# ------------------------------------------------------------------ line classes

_BOOKMARK_RE = re.compile(r"\[bookmark:[^\]]*\]")
_PAGE_NUMBER_RE = re.compile(
    r"^[-—–\s]*(?:第\s*)?\d{1,4}\s*(?:页)?(?:\s*[/／]\s*\d{1,4})?(?:\s*共\s*\d{1,4}\s*页)?[-—–\s]*$"
)
_TOC_RE = re.compile(r"(?:\.{4,}|…{2,}|·{4,}|-{6,})\s*\d{0,4}\s*$")
_TOC_TITLE_RE = re.compile(r"^目\s*录$")
_META_RE = re.compile(
    r"单位\s*[：:]\s*(?:万元|元|千元|亿元)|预算年度\s*[：:]|截止时间\s*[：:]|截止日期\s*[：:]|金额单位|"
    r"^(?:部门名称|编制部门|编制单位|填报单位|预算单位)\s*[：:]|^单位\s*[：:]|^预算年度"
)

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def chinese_numeral(text: str) -> int | None:
    """一 -> 1, 十二 -> 12, 二十三 -> 23 (enough for section numbering)."""
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    if "十" in text:
        head, _, tail = text.partition("十")
        tens = _CN_DIGITS.get(head, 1) if head else 1
        ones = _CN_DIGITS.get(tail, 0) if tail else 0
        return tens * 10 + ones
    if len(text) == 1 and text in _CN_DIGITS:
        return _CN_DIGITS[text]
    if "①" <= text <= "⑳":
        return ord(text) - ord("①") + 1
    return None


_CN_NUM = "[一二三四五六七八九十]+"
# (level, pattern): the numbering styles of Chinese official documents, outermost first.
_MARKERS: list[tuple[int, re.Pattern[str]]] = [
    (0, re.compile(r"^第(?P<n>[一二三四五六七八九十百零〇]+)(?:部分|章|篇)")),
    (1, re.compile(rf"^(?P<n>{_CN_NUM})\s*[、.．]")),
    (2, re.compile(rf"^[（(]\s*(?P<n>{_CN_NUM})\s*[)）]\s*[、.．]?")),
    (3, re.compile(r"^(?P<n>\d{1,2})\s*(?:[、．]|\.(?!\d)|\.(?=(?:19|20)\d\d\s*年))")),
    (4, re.compile(r"^[（(]\s*(?P<n>\d{1,2})\s*[)）]")),
    (4, re.compile(r"^(?P<n>[①-⑳])")),
]
_DOCUMENT_TITLE_RE = re.compile(
    r"(?:19|20)\d\d\s*年度?\s*(?:部门|单位)?\s*(?:预算|决算)\s*(?:信息)?\s*(?:公开)?\s*(?:情况)?\s*(?:说明|公开|报告)?$"
)
# Patterns the line classifier applies to every line, compiled once.
_CLAUSE_RE = re.compile(r"[，。；,;]")
_CN_CLAUSE_RE = re.compile(r"[，。；]")
_CLAUSE_OR_COLON_RE = re.compile(r"[，。；,;：:]")
_SENTENCE_OR_COMMA_RE = re.compile(r"[。；;，]")
_SENTENCE_IN_TITLE_RE = re.compile(r"[。；;：:]")
_DEFINITION_RE = re.compile(r"是指|是对|系指")
_LABEL_HEADING_RE = re.compile(r"[\u4e00-\u9fff“”\"（）()、]{2,16}[：:]")
_LEADING_CN_NUMBER_RE = re.compile(rf"^{_CN_NUM}、")
_CN_NUMBER_ITEM_RE = re.compile(rf"(?:^|\s){_CN_NUM}、")
_CELL_PUNCT_RE = re.compile(r"[，。；,;、]")
_ROW_NUMBER_RE = re.compile(r"\d{1,3}")
_CJK_WORD_RE = re.compile(r"[\u4e00-\u9fff]{2,}")
_CJK_CHAR_RE = re.compile(r"[\u4e00-\u9fff]")
_AMOUNT_CELL_RE = re.compile(r"[-+≥≤=<>]?[\d,.%—-]+")
_MARKDOWN_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s")
_TABLE_TITLE_RE = re.compile(r"(?:表|报表|申报表)\s*(?:[（(][^（()）]{0,16}[)）])?$")
_FIGURE_TITLE_RE = re.compile(r"(?:结构图|示意图|图)$")


def list_marker(text: str) -> tuple[int, int | None, int] | None:
    """(level, ordinal, end offset) of the numbering a text starts with, or None."""
    for level, pattern in _MARKERS:
        m = pattern.match(text)
        if m:
            return level, chinese_numeral(m.group("n")), m.end()
    return None


def parse_heading(text: str, marked: bool = False) -> tuple[int, int | None, str] | None:
    """(level, ordinal, title) when a line is a section heading, else None.

    Numbered headings are short and hold no sentence (一、部门职责及机构设置情况, （二）完善制度建设。);
    unnumbered ones are short label lines ending in a colon (部门职责：) or Markdown headings.
    A numbered paragraph (（一）贯彻执行中央…，…。) is not a heading.
    """
    t = text.strip()
    if not t:
        return None
    found = list_marker(t)
    if found:
        level, ordinal, end = found
        raw_title = t[end:].strip()
        title = raw_title.strip(" 、.．:：")
        if level == 0:
            return (0, ordinal, title) if len(title) <= 40 and not _CLAUSE_RE.search(title) else None
        if not _heading_title_ok(raw_title.lstrip("、.．")):
            return None if not marked else (level, ordinal, title.rstrip("。"))
        return level, ordinal, title.rstrip("。：:")
    if _DOCUMENT_TITLE_RE.search(t) and len(t) <= 50 and not _CLAUSE_OR_COLON_RE.search(t):
        return 0, None, t
    if marked:
        return (0, None, t.strip("：:")) if len(t) <= 40 else None
    if _LABEL_HEADING_RE.fullmatch(t):
        return 5, None, t.rstrip("：:")
    return None


def _heading_title_ok(title: str) -> bool:
    if not title or len(title) > 32:
        return False
    if title[-1] in "，、,（(《“-—":
        return False
    body = title[:-1] if title[-1] in "。：:" else title
    if _SENTENCE_IN_TITLE_RE.search(body) or _DEFINITION_RE.search(body):
        return False  # a sentence or a definition (十一、国有资本经营预算是对…), not a title
    commas = body.count("，") + body.count(",")
    return commas == 0 or (commas == 1 and len(body) <= 20)


def is_table_title(text: str) -> bool:
    """A table's caption: a short line without a sentence that ends in 表 (…绩效目标表, …（本年预算）)."""
    t = text.strip()
    return (4 <= len(t) <= 100 and not _SENTENCE_OR_COMMA_RE.search(t) and bool(_TABLE_TITLE_RE.search(t))
            and not t.endswith(("代表", "发表", "列表如下")))


def is_row_like(text: str) -> bool:
    """A table row printed with spaces between cells (PDF text), not a wrapped sentence.

    Rows have several cells and no sentence punctuation: mostly numbers (``1 合计 7895.40 7895.40``)
    or several separate words (``单位名称 单位性质 单位规格 经费保障形式``). PDF prose also has spaces
    (around numbers: ``2023 年支出预算 7895.40 万元``) but few separate multi-character words.
    """
    tokens = text.split()
    if len(tokens) < 2:
        return False
    stripped = [_LEADING_CN_NUMBER_RE.sub("", tok) for tok in tokens]
    if any(_CELL_PUNCT_RE.search(tok) for tok in stripped):
        return False
    if _ROW_NUMBER_RE.fullmatch(tokens[0]) and is_cjk(tokens[1][0]):
        return True  # a numbered row: 11 十一、节能环保支出
    if len(tokens) == 2 and all(_CJK_WORD_RE.fullmatch(tok) for tok in tokens) and len(text) <= 24:
        return True  # two header cells: 科目编码 科目名称
    if _is_numeric_row(text):
        return True
    words = sum(1 for tok in tokens if len(_CJK_CHAR_RE.findall(tok)) >= 2)
    return len(tokens) >= 3 and words >= 2


def _is_numeric_row(text: str) -> bool:
    """Cells that are mostly amounts: ``4、其他固定资产 163 27.89``, ``9.20 9.20``.

    A wrapped sentence listing amounts (``4.18 万元、邮电费 2.81 万元、…``) is not a row: it has 、.
    """
    tokens = text.split()
    if len(tokens) < 2 or _CLAUSE_RE.search(text) or "、" in _CN_NUMBER_ITEM_RE.sub(" ", text):
        return False
    numeric = sum(1 for tok in tokens if _AMOUNT_CELL_RE.fullmatch(tok))
    return numeric >= 2 and numeric * 2 >= len(tokens)


@dataclass
class _Line:
    no: int
    text: str  # cleaned: markup and bookmarks gone, stripped
    kind: BlockKind
    marked: bool = False  # a Markdown heading (#)
    heading: tuple[int, int | None, str] | None = None


def _classify_line(no: int, raw: str) -> _Line | None:
    line = _BOOKMARK_RE.sub("", raw.replace("\f", ""))
    marked = bool(_MARKDOWN_HEADING_RE.match(line))
    tabbed = "\t" in line.strip(" \u3000\xa0") or line.startswith("\t")
    text = strip_markup(line).strip(" \t\u3000\xa0\ufeff")
    if not text:
        return None
    if _PAGE_NUMBER_RE.match(text) or _TOC_RE.search(text) or _TOC_TITLE_RE.match(text):
        return _Line(no, text, BlockKind.NOISE)
    if tabbed:
        return _Line(no, text, BlockKind.TABLE)
    if _META_RE.search(text):
        return _Line(no, text, BlockKind.TABLE)
    if is_table_title(text):
        return _Line(no, text, BlockKind.TABLE_TITLE, marked)
    if _is_numeric_row(text):
        return _Line(no, text, BlockKind.TABLE)
    heading = parse_heading(text, marked)
    if heading:
        return _Line(no, text, BlockKind.HEADING, marked, heading)
    if _FIGURE_TITLE_RE.search(text) and len(text) <= 30 and not _CN_CLAUSE_RE.search(text):
        return _Line(no, text, BlockKind.TABLE)
    if is_row_like(text):
        return _Line(no, text, BlockKind.TABLE)
    return _Line(no, text, BlockKind.PROSE, marked)


def _is_fragment(line: _Line) -> bool:
    """A short piece of a table cell broken over lines (一级 / 指标 / 城乡居民): no sentence in it."""
    return (line.kind == BlockKind.PROSE and display_width(line.text) <= 16
            and not any(ch in line.text for ch in SENTENCE_END + "，,"))


def _mark_table_fragments(lines: list[_Line], wrap: int | None) -> None:
    """Table cells that a narrow PDF column broke into short lines are table, not prose.

    Two rules: runs of short unpunctuated lines (一级 / 指标 / 二级) are cells; and a short line
    touching a table line is a cell too (propagated, so a whole broken-up table goes), unless it is
    the tail of a wrapped paragraph (the line before it is printed at full width).
    """
    content = [ln for ln in lines if ln.kind != BlockKind.NOISE]
    frag = [_is_fragment(ln) for ln in content]
    for i, ln in enumerate(content):
        if frag[i] and ((i > 0 and frag[i - 1]) or (i + 1 < len(content) and frag[i + 1])):
            ln.kind = BlockKind.TABLE
    short = 0.5 * wrap if wrap else 40

    def cell_like(i: int) -> bool:
        ln = content[i]
        if ln.kind != BlockKind.PROSE or display_width(ln.text) > short:
            return False
        prev_ln = content[i - 1] if i > 0 else None
        return not (prev_ln is not None and prev_ln.kind == BlockKind.PROSE and wrap
                    and display_width(prev_ln.text) >= 0.8 * wrap)

    # One sweep each way spreads "table" through every run of short lines that touches a table.
    for i in range(1, len(content)):
        if content[i - 1].kind == BlockKind.TABLE and cell_like(i):
            content[i].kind = BlockKind.TABLE
    for i in range(len(content) - 2, -1, -1):
        if content[i + 1].kind == BlockKind.TABLE and cell_like(i):
            content[i].kind = BlockKind.TABLE


def _mark_captions(lines: list[_Line]) -> None:
    """An unnumbered heading directly above a table is the table's caption (部门政府采购预算, set
    as ``##`` by a PDF reader), not a section: it is dropped like the table itself."""
    content = [ln for ln in lines if ln.kind != BlockKind.NOISE]
    for ln, nxt in zip(content, content[1:]):
        if (ln.kind == BlockKind.HEADING and ln.heading and ln.heading[1] is None
                and ln.heading[0] in (0, 5) and nxt.kind == BlockKind.TABLE):
            ln.kind = BlockKind.TABLE


# ------------------------------------------------------------------ joining


def _wrap_width(lines: list[_Line]) -> int | None:
    """The printed line width when the text is hard-wrapped (PDF), else None (one line per paragraph).

    Hard-wrapped text has a cluster of lines at the full width of the page; text with one
    paragraph per line (Markdown, DOCX) has no such cluster, or one far wider than a printed line.
    """
    # Short lines (table cells, headings) say nothing about the page width.
    widths = sorted(w for w in (display_width(ln.text) for ln in lines if ln.kind == BlockKind.PROSE) if w >= 24)
    if len(widths) < 5:
        return None
    top = widths[max(0, int(len(widths) * 0.95) - 1)]
    if top > 150:
        return None
    full = sum(1 for w in widths if w >= 0.85 * top)
    return top if full >= 5 and full >= 0.12 * len(widths) else None


_CONTINUATION_RE = re.compile(r"^(?:[\d.,]+\s*(?:万元|亿元|元|万|%|％|人次|人|个|次)(?:[，。、；）)]|$)|号[）)])")


# Words no sentence ends with: a line ending in one was cut (…按照某某县人民政府关于 / 印发…).
_OPEN_END_RE = re.compile(r"(?:关于|按照|根据|依据|依照|以及|通过|和|及|与|的|对|在|把|从|向|由)$")


def _continues(last_line: str, open_bracket: bool, nxt: str, wrap: int | None) -> bool:
    """Whether the prose line ``nxt`` continues the paragraph whose last printed line is ``last_line``
    (``open_bracket``: the paragraph so far has an unclosed 《 or （)."""
    if list_marker(nxt) or nxt.startswith(("注：", "注:")):
        return False
    if nxt[0] in "，。、；：）)》”％%,.;:":
        return True
    # A line cannot open with the tail of an amount or of a 文号: "200.00 万元，…", "号）相关规定".
    if last_line[-1] not in SENTENCE_END and _CONTINUATION_RE.match(nxt):
        return True
    if _OPEN_END_RE.search(last_line):
        return True
    if last_line[-1] in "，、（(《“：:—-,":
        return True
    if open_bracket:
        return True
    if wrap and display_width(last_line) >= 0.8 * wrap and last_line[-1] not in SENTENCE_END:
        return True
    return False


def _make_block(kind: BlockKind, parts: list[_Line], heading=None, tidy_text: bool = True) -> Block:
    chars: list[tuple[str, int]] = []
    for ln in parts:
        if chars and chars[-1][0].isascii() and chars[-1][0].isalpha() and ln.text[0].isascii() and ln.text[0].isalpha():
            chars.append((" ", ln.no))
        chars.extend(zip(ln.text, repeat(ln.no)))
    if tidy_text:
        chars = tidy_chars(chars)
    text = "".join([ch for ch, _ in chars])
    block = Block(kind, text, [no for _, no in chars])
    if heading:
        block.level, block.ordinal, block.title = heading[0], heading[1], tidy(heading[2])
    elif kind == BlockKind.TABLE_TITLE:
        found = list_marker(text)
        block.title = text[found[2]:].strip(" 、.．") if found else text
    return block


def _prose_run(lines: list[_Line], i: int, wrap: int | None) -> int:
    """The index after the last line of the paragraph starting at ``lines[i]`` (page numbers and
    other noise in between are skipped, so a paragraph continues over a page break)."""
    last = lines[i]
    texts = [last.text]
    depth = Counter(ch for ch in last.text if ch in "《》（）")
    j = k = i + 1
    while k < len(lines):
        nxt = lines[k]
        if nxt.kind == BlockKind.NOISE:
            k += 1
            continue
        # An unnumbered label heading (编制是：) right after a wrapped line is that line's tail.
        joinable = nxt.kind == BlockKind.PROSE or (nxt.kind == BlockKind.HEADING and nxt.heading
                                                   and nxt.heading[0] == 5)
        # A wrapped caption (…绩效目 / 标表) ends in a short piece that looks like a table cell.
        caption_tail = (nxt.kind in (BlockKind.TABLE, BlockKind.TABLE_TITLE) and wrap and len(nxt.text) <= 4
                        and display_width(last.text) >= 0.8 * wrap and is_table_title("".join(texts) + nxt.text))
        open_bracket = depth["《"] > depth["》"] or depth["（"] > depth["）"]
        if not ((joinable and _continues(last.text, open_bracket, nxt.text, wrap)) or caption_tail):
            break
        last = nxt
        texts.append(nxt.text)
        depth.update(ch for ch in nxt.text if ch in "《》（）")
        j = k = k + 1
        if caption_tail:
            break
    return j


def _titled_part(lines: list[_Line], i: int) -> int | None:
    """For 第一部分 alone on its line (DOCX, PDF): the index of the short line that is its title."""
    j = i + 1
    while j < len(lines) and lines[j].kind == BlockKind.NOISE:
        j += 1
    if j < len(lines) and lines[j].kind in (BlockKind.PROSE, BlockKind.TABLE_TITLE) and len(lines[j].text) <= 30:
        return j
    return None


def read_blocks(source: SourceText) -> list[Block]:
    """The text as blocks in reading order: prose paragraphs joined across wrapped lines and pages."""
    lines = [ln for ln in (_classify_line(i, raw) for i, raw in enumerate(source.lines, 1)) if ln]
    wrap = _wrap_width(lines)
    _mark_table_fragments(lines, wrap)
    _mark_captions(lines)
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.kind == BlockKind.PROSE:
            j = _prose_run(lines, i, wrap)
            parts = [p for p in lines[i:j] if p.kind != BlockKind.NOISE]
            text = "".join(p.text for p in parts)
            blocks.append(_make_block(BlockKind.TABLE_TITLE if is_table_title(text) else BlockKind.PROSE, parts))
            i = j
        elif ln.kind == BlockKind.HEADING and ln.heading and ln.heading[0] == 0 and not ln.heading[2] \
                and (j := _titled_part(lines, i)) is not None:
            title = lines[j]
            if title.kind == BlockKind.TABLE_TITLE:
                blocks.append(_make_block(BlockKind.TABLE_TITLE, [ln, title]))
            else:
                blocks.append(_make_block(BlockKind.HEADING, [ln, title], (0, ln.heading[1], title.text)))
            i = j + 1
        else:
            blocks.append(_make_block(ln.kind, [ln], ln.heading, tidy_text=ln.kind != BlockKind.TABLE))
            i += 1
    return blocks
