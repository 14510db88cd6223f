"""The domain model every parser returns and the RDF mapper and accounting checks consume.

Plain dataclasses, no RDF and no file formats: parsers fill a ``Disclosure``; ``ingest.mapper``
turns it into triples; ``ingest.checks`` adds ``Finding``s. Amounts are ``Decimal`` in 万元
(parsers convert 元). Every fact carries a ``Span`` (1-based line range in the decoded text, and
the page where the source format has pages) so the graph can point back to its source.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum


@dataclass(frozen=True)
class Span:
    """Where a fact sits in the source: 1-based inclusive line range, page when known."""

    line_start: int
    line_end: int
    page: int | None = None

    @staticmethod
    def cover(*spans: "Span | None") -> "Span | None":
        """The smallest span covering all given spans (None ones ignored)."""
        real = [s for s in spans if s is not None]
        if not real:
            return None
        pages = [s.page for s in real if s.page is not None]
        return Span(min(s.line_start for s in real), max(s.line_end for s in real),
                    min(pages) if pages else None)


class DocumentKind(str, Enum):
    BUDGET = "budget"  # 部门预算
    FINAL_ACCOUNTS = "final-accounts"  # 部门决算
    PERFORMANCE_TARGETS = "performance-targets"  # 绩效目标 only


class Measure(str, Enum):
    """Disclosure-level figures; the value is the ontology property's local name."""

    TOTAL_REVENUE = "totalRevenue"  # 收入总计 (本年收入 + 上年结转)
    TOTAL_EXPENDITURE = "totalExpenditure"  # 支出总计
    CURRENT_YEAR_REVENUE = "currentYearRevenue"  # 本年收入合计
    CURRENT_YEAR_EXPENDITURE = "currentYearExpenditure"  # 本年支出合计
    GENERAL_BUDGET_REVENUE = "generalBudgetRevenue"  # 一般公共预算(拨款)收入
    BASIC_EXPENDITURE = "basicExpenditure"  # 基本支出
    PROJECT_EXPENDITURE = "projectExpenditure"  # 项目支出
    CARRYOVER = "carryover"  # 上年结转(结余)
    PERSONNEL = "personnelExpenditure"  # 人员经费
    PUBLIC = "publicExpenditure"  # 公用经费
    THREE_PUBLIC = "threePublicCosts"  # "三公"经费
    OPERATING_COSTS = "operatingCosts"  # 机关运行经费
    PROCUREMENT = "procurementBudget"  # 政府采购预算
    FIXED_ASSETS = "fixedAssetsValue"  # 固定资产金额


class FigureSource(str, Enum):
    TABLE = "table"
    NARRATIVE = "narrative"


@dataclass
class StatedFigure:
    """A disclosure-level figure as printed in one place (a table cell or a narrative sentence).

    The same measure is often stated twice; keeping both lets the checks compare them (文数一致性).
    """

    measure: Measure
    value: Decimal  # 万元
    source: FigureSource
    span: Span | None = None
    table: str | None = None  # TableKind value when source is TABLE
    quote: str = ""  # the words around it, for the finding message


class TableKind(str, Enum):
    """The standard tables budget lines come from (the ``bkg:sourceTable`` of a line)."""

    SUMMARY = "summary"  # 部门预算收支总表
    REVENUE = "revenue"  # 部门预算收入总表 (by functional class)
    EXPENDITURE = "expenditure"  # 部门预算支出总表 (by functional class)
    FISCAL_SUMMARY = "fiscal-summary"  # 财政拨款收支总表
    GENERAL_EXPENDITURE = "general-expenditure"  # 一般公共预算(财政拨款)支出表
    BASIC_ECONOMIC = "basic-economic"  # 一般公共预算基本支出表 (by economic class)
    FUND_EXPENDITURE = "fund-expenditure"  # 政府性基金预算支出表
    STATE_CAPITAL = "state-capital"  # 国有资本经营预算支出表
    THREE_PUBLIC = "three-public"  # "三公"经费支出表
    OPERATING = "operating"  # 机关运行经费表
    PROJECT = "project"  # 项目支出预算表
    PROJECT_CARRYOVER = "project-carryover"  # 项目支出预算表(上年结转)
    PROCUREMENT = "procurement"  # 政府采购预算表
    ASSETS = "assets"  # 固定资产占用情况表


class ClassificationKind(str, Enum):
    FUNCTION = "function"  # 支出功能分类科目: 3/5/7 digits, 类/款/项
    ECONOMIC = "economic"  # 支出经济分类科目: 3/5 digits, 类/款


@dataclass
class BudgetLine:
    """One coded row of a standard table. ``amount`` is the 合计 column."""

    table: TableKind
    kind: ClassificationKind
    code: str | None  # None for rows printed without a code (003's economic table)
    name: str
    amount: Decimal | None = None
    basic_amount: Decimal | None = None
    project_amount: Decimal | None = None
    carryover_amount: Decimal | None = None
    personnel_amount: Decimal | None = None
    public_amount: Decimal | None = None
    span: Span | None = None
    # True where the column of a figure was inferred (e.g. from sums), not read from a position.
    inferred_columns: bool = False


@dataclass
class LegalReference:
    """A cited legal or policy document: a 文号, a 《title》, or both.

    ``number`` is normalised to 〔YYYY〕 brackets with no spaces, e.g. 冀财社〔2022〕172号.
    """

    number: str | None = None
    issuer: str | None = None  # the prefix, 冀财社
    year: int | None = None
    serial: str | None = None  # usually digits; kept as text ("1", "226", "247-2" is not a serial)
    title: str | None = None
    raw: str = ""
    span: Span | None = None

    @property
    def key(self) -> str:
        """Identity across documents: the number when there is one, else the title."""
        return self.number or (self.title or self.raw)


@dataclass
class Indicator:
    """One row of a 绩效目标表: levels, 三级指标 (the label), target value and its basis."""

    level1: str  # 一级指标, as printed (产出指标, 效益指标, 满意度指标, 效果指标, 部门产出 ...)
    level2: str  # 二级指标, as printed (数量指标, 质量指标 ...)
    name: str  # 三级指标
    target_value: str = ""  # as printed: "≥98%", "2400人次", "成效明显"
    description: str | None = None  # 绩效指标描述
    comparator: str | None = None  # one of ≥ ≤ = > < ≈ (normalised), None for qualitative
    number: Decimal | None = None
    unit: str | None = None
    basis: str | None = None  # 指标值确定依据
    legal_refs: list[LegalReference] = field(default_factory=list)
    span: Span | None = None


@dataclass
class Project:
    """A budget project. Merged across narrative, project table and 绩效目标表 by ``ingest.merge``."""

    name: str
    aliases: list[str] = field(default_factory=list)
    amount: Decimal | None = None  # 万元
    code: str | None = None  # 项目编码, e.g. 13022524P00CGB110004W
    goal: str | None = None  # 绩效目标 / 总体目标 text
    indicators: list[Indicator] = field(default_factory=list)
    legal_refs: list[LegalReference] = field(default_factory=list)
    carryover: bool = False  # listed under 上年结转
    span: Span | None = None
    # Where the project was found: "narrative", "project-table", "performance-table", "form".
    sources: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)  # 项目概况, 立项依据, 项目属性 ... as text


class SectionKind(str, Enum):
    DUTIES = "duties"  # 部门职责
    ORGANISATION = "organisation"  # 机构设置
    OVERVIEW = "overview"  # 预算安排总体情况 / 收支情况说明
    PERFORMANCE_GOALS = "performance-goals"  # 绩效目标 (总体/分项)
    SAFEGUARDS = "safeguards"  # 工作保障措施
    THREE_PUBLIC = "three-public"  # 三公经费说明
    OPERATING = "operating"  # 机关运行经费说明
    PROCUREMENT = "procurement"
    ASSETS = "assets"
    GLOSSARY = "glossary"  # 名词解释
    OTHER = "other"


@dataclass
class Passage:
    """A narrative section kept as text for search (部门职责, 绩效目标, 工作保障措施 ...)."""

    kind: SectionKind
    title: str
    text: str
    span: Span | None = None


@dataclass
class Contact:
    """A person named in a form (负责人, 经办人) with a phone number: personal data."""

    role: str
    name: str | None = None
    phone: str | None = None
    span: Span | None = None


class Severity(str, Enum):
    ERROR = "error"  # arithmetic beyond rounding, contradictory figures
    WARNING = "warning"  # truncation, figures that cannot be reconciled, missing parts
    INFO = "info"  # rounding differences within tolerance, notes


@dataclass
class Finding:
    """The result of a check, or something a parser noticed (e.g. where a document was cut)."""

    check: str  # e.g. "children-sum", "basic-plus-project", "revenue-balance", "narrative-vs-table", "truncated"
    severity: Severity
    message: str
    expected: Decimal | None = None
    found: Decimal | None = None
    tolerance: Decimal | None = None
    spans: list[Span] = field(default_factory=list)
    subject: str | None = None  # e.g. the code or project name the finding is about


@dataclass
class Disclosure:
    """Everything extracted from one disclosure document."""

    source_name: str  # file name as given
    sha256: str
    layout: str  # the layout family that parsed it, e.g. "pdf-text", "markdown-tsv", "docx-text"
    line_count: int = 0
    page_count: int | None = None
    department: str | None = None  # 乐亭县医疗保障局 (without 本级)
    department_code: str | None = None  # budget unit code printed in table headers: 460, 807, 036
    county: str | None = None  # 乐亭县 / 霸州市 / 兴县
    prefecture: str | None = None  # 唐山市 / 廊坊市 / 吕梁市
    province: str | None = None  # 河北省 / 山西省
    admin_code: str | None = None  # GB/T 2260, e.g. 130225 (from project codes)
    fiscal_year: int | None = None
    kind: DocumentKind = DocumentKind.BUDGET
    figures: list[StatedFigure] = field(default_factory=list)
    budget_lines: list[BudgetLine] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    department_indicators: list[Indicator] = field(default_factory=list)
    legal_refs: list[LegalReference] = field(default_factory=list)  # every citation, anywhere
    passages: list[Passage] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    truncated: bool = False

    def figure(self, measure: Measure, source: FigureSource | None = None) -> StatedFigure | None:
        """The first stated figure for a measure, preferring tables over narrative."""
        found = [f for f in self.figures if f.measure == measure and (source is None or f.source == source)]
        found.sort(key=lambda f: 0 if f.source == FigureSource.TABLE else 1)
        return found[0] if found else None

    @property
    def key(self) -> str:
        """Stable identity of this disclosure for IRIs and named graphs (see ``ingest.keys``)."""
        from ingest.keys import disclosure_key

        return disclosure_key(self)
