"""The words that tell the table interpreters what they are looking at.

Table titles (收入总表, 项目支出绩效目标申报表 …) name a ``TitleKind``; header cells name a column's
role; short form lines carry the department, the budget year and the unit. Everything here works
on printed words, never on positions, so the Shanxi and Hebei templates (and their renderings as
PDF, DOCX or Markdown text) share it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from ingest.layouts.table_rows import compact
from ingest.model import TableKind
from ingest.normalize import LEVEL1_CANONICAL, LEVEL2_CANONICAL


class TitleKind(str, Enum):
    """What a title opens: a standard table, a project form, or an indicator section."""

    CODED = "coded"  # coded budget lines (收入总表, 支出总表, 基本支出表 …)
    SUMMARY = "summary"  # label/amount pairs (收支总表, 财政拨款收支总表)
    TOTALS = "totals"  # one total row (三公, 机关运行经费, 固定资产)
    PROJECT_LIST = "project-list"  # 项目支出预算表
    PROJECT_FORM = "project-form"  # 项目支出绩效目标申报表 (Shanxi)
    PERFORMANCE = "performance"  # N.xxx绩效目标表 (Hebei)
    DEPARTMENT_PERFORMANCE = "department-performance"  # 部门整体(支出)绩效目标/指标
    IGNORED = "ignored"  # a known table with nothing for us (政府性基金收入表, 政府采购 …)


@dataclass(frozen=True)
class Title:
    kind: TitleKind
    table: TableKind | None
    text: str
    final_accounts: bool = False  # 决算


_YEAR_PREFIX_RE = re.compile(r"^(?:(?:19|20)\d\d年度?)")
_NUMBERING_RE = re.compile(r"^\s*(?:第[一二三四五六七八九十]+部分|[（(]?[0-9一二三四五六七八九十]{1,3}[)）]?\s*[、.．,，:：)）]?)\s*")
_SENTENCE_END_RE = re.compile(r"[。；;！？]")
_MAX_TITLE = 80


def classify_title(text: str) -> Title | None:
    """The kind of table a short line announces, or None when it announces none.

    A title is short, has no sentence punctuation and contains 表 (or, for the department's
    indicators, 绩效目标/绩效指标); table-of-contents lines are filtered out before.
    """
    t = compact(text)
    if not t or len(t) > _MAX_TITLE or _SENTENCE_END_RE.search(t):
        return None
    final = "决算" in t and "预决算" not in t
    if "部门整体" in t and ("绩效目标" in t or "绩效指标" in t):
        return Title(TitleKind.DEPARTMENT_PERFORMANCE, None, text, final)
    if "表" not in t:
        return None
    if "申报表" in t and "绩效" in t:
        return Title(TitleKind.PROJECT_FORM, None, text, final)
    if t.endswith("绩效目标表") or re.search(r"绩效目标表[（(].{0,20}[)）]$", t):
        return Title(TitleKind.PERFORMANCE, None, text, final)
    if "三公" in t:
        return Title(TitleKind.TOTALS, TableKind.THREE_PUBLIC, text, final)
    if "机关运行经费" in t or "机关运行费" in t:
        return Title(TitleKind.TOTALS, TableKind.OPERATING, text, final)
    if "固定资产" in t or "资产占用" in t or "资产占有" in t:
        return Title(TitleKind.TOTALS, TableKind.ASSETS, text, final)
    if "政府采购" in t:
        return Title(TitleKind.IGNORED, TableKind.PROCUREMENT, text, final)
    if "收支总表" in t or "收支预算总表" in t or "收支决算总表" in t:
        if "国有资本" in t or "政府性基金" in t:
            pass  # a fund's own 收支 table, handled below
        elif "财政拨款" in t:
            return Title(TitleKind.SUMMARY, TableKind.FISCAL_SUMMARY, text, final)
        else:
            return Title(TitleKind.SUMMARY, TableKind.SUMMARY, text, final)
    if "国有资本经营" in t:
        return Title(TitleKind.CODED, TableKind.STATE_CAPITAL, text, final)
    if "政府性基金" in t or "政府基金" in t:
        if "支出" in t:
            return Title(TitleKind.CODED, TableKind.FUND_EXPENDITURE, text, final)
        return Title(TitleKind.IGNORED, None, text, final)
    if "收入总表" in t or "收入预算总表" in t or "收入决算表" in t:
        return Title(TitleKind.CODED, TableKind.REVENUE, text, final)
    if "支出总表" in t or "支出预算总表" in t or ("支出决算表" in t and "一般公共" not in t):
        return Title(TitleKind.CODED, TableKind.EXPENDITURE, text, final)
    if "基本支出" in t:
        return Title(TitleKind.CODED, TableKind.BASIC_ECONOMIC, text, final)
    if "项目支出" in t and ("预算表" in t or "支出表" in t or "明细表" in t or "决算表" in t):
        kind = TableKind.PROJECT_CARRYOVER if "上年结转" in t and "不含上年结转" not in t else TableKind.PROJECT
        return Title(TitleKind.PROJECT_LIST, kind, text, final)
    if "一般公共预算" in t and "支出" in t:
        return Title(TitleKind.CODED, TableKind.GENERAL_EXPENDITURE, text, final)
    return None


def project_name_from_title(text: str) -> str:
    """"1.医保鉴定评审费绩效目标表" -> "医保鉴定评审费" (numbering and the 绩效目标表 suffix removed)."""
    name = _NUMBERING_RE.sub("", text.strip(), count=1)
    name = re.sub(r"(项目)?绩效目标表\s*$", "", name.strip())
    name = re.sub(r"(项目)?绩效目标表\s*[（(][^（()）]{0,20}[)）]\s*$", "", name)
    return name.strip(" -—:：")


# ------------------------------------------------------------------ form lines

_ORG_SUFFIXES = ("局", "委员会", "委", "办公室", "办", "中心", "厅", "院", "所", "站", "队", "馆", "部", "会",
                 "处", "社", "校", "园", "政府", "公司", "室", "署", "庭", "团")
# "460 乐亭县医疗保障局 预算年度：2023 单位：万元", "460001乐亭县医疗保障局本级"
_DEPT_HEADER_RE = re.compile(
    r"^\s*(?P<code>\d{3,9})\s*[-—－]?\s*(?P<name>[\u4e00-\u9fff（）()]{2,40}?)(?:本级)?\s*"
    r"(?=$|预算年度|决算年度|单位[：:]|金额单位|截止|\s)"
)
_DEPT_FIELD_RE = re.compile(r"(?:部门名称|单位名称|编制部门|编制单位|预算单位|部门)\s*[：:]\s*(?P<name>[^\s：:]{2,40})")
_UNIT_RE = re.compile(r"单位\s*[：:]\s*(?P<unit>亿元|万元|元)")
_BUDGET_YEAR_RE = re.compile(r"(?:预算|决算)年度\s*[：:]\s*(?P<year>(?:19|20)\d\d)")


def is_org_name(name: str) -> bool:
    """A department or unit name ("兴县医疗保障局"), as opposed to a project or line name."""
    n = compact(name)
    if n.endswith("本级"):
        n = n[:-2]
    return 2 <= len(n) <= 40 and n.endswith(_ORG_SUFFIXES) and not n.endswith(("经费", "资金"))


def department_header(text: str) -> tuple[str | None, str] | None:
    """(budget unit code, department name) from a header line, or None.

    Reads "460 乐亭县医疗保障局 预算年度：2023 …", "460001乐亭县医疗保障局本级" (本级 dropped),
    "036-兴县医疗保障局" and "部门名称：兴县医疗保障局".
    """
    m = _DEPT_HEADER_RE.match(text)
    if m and is_org_name(m.group("name")) and not re.fullmatch(r"(19|20)\d\d", m.group("code")):
        return m.group("code"), _drop_own_level(m.group("name"))
    m = _DEPT_FIELD_RE.search(text)
    if m and is_org_name(m.group("name")):
        return None, _drop_own_level(m.group("name"))
    return None


def _drop_own_level(name: str) -> str:
    name = compact(name)
    return name[:-2] if name.endswith("本级") else name


def unit_of(text: str) -> str | None:
    """The amount unit a header line declares ("单位：万元" -> 万元), or None."""
    m = _UNIT_RE.search(compact(text))
    return m.group("unit") if m else None


def budget_year(text: str) -> int | None:
    """The year of "预算年度：2023"."""
    m = _BUDGET_YEAR_RE.search(compact(text))
    return int(m.group("year")) if m else None


_TITLE_YEAR_RE = re.compile(r"((?:19|20)\d\d)年度?.{0,14}?(?:预算|决算)")
_FORM_YEAR_RE = re.compile(r"^[（(]((?:19|20)\d\d)年度?[)）]$")


def title_year(text: str) -> int | None:
    """The year a title or document heading names ("2023年预算收支总表", "2023年度部门预算公开")."""
    t = compact(text)
    m = _TITLE_YEAR_RE.search(t)
    if m and len(t) <= _MAX_TITLE:
        return int(m.group(1))
    return None


def form_year(text: str) -> int | None:
    """The year under a form title: "(2023年度)"."""
    m = _FORM_YEAR_RE.match(compact(text))
    return int(m.group(1)) if m else None


# ------------------------------------------------------------------ cells

def label(text: str) -> str:
    """A form or table label compared without spaces, trailing colons or leading numbering."""
    t = compact(text).rstrip(":：")
    return re.sub(r"^[一二三四五六七八九十]+、", "", t)


TOTAL_LABELS = {"合计", "总计", "部门合计", "单位合计", "本部门合计"}


_NOT_LEVELS = {"绩效指标", "一级指标", "二级指标", "三级指标", "年度指标", "实施期指标", "考核指标"}


def is_level_term(text: str) -> bool:
    """An indicator category (一级/二级指标) rather than an indicator: 产出指标, 数量指标, 满意度 …"""
    t = compact(text)
    if t in LEVEL1_CANONICAL or t in LEVEL2_CANONICAL:
        return True
    if t in _NOT_LEVELS:
        return False
    return t.endswith("指标") and 2 < len(t) <= 9 and not re.search(r"\d", t)


def is_level1_term(text: str) -> bool:
    t = compact(text)
    return t in LEVEL1_CANONICAL or (t not in LEVEL2_CANONICAL and is_level_term(t) and t.endswith("指标")
                                     and any(w in t for w in ("产出", "效益", "效果", "满意", "成本", "部门")))


def is_level2_term(text: str) -> bool:
    t = compact(text)
    return t in LEVEL2_CANONICAL or (is_level_term(t) and not is_level1_term(t))
