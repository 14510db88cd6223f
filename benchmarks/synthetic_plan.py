"""A seed disclosure compiled into a template for the synthetic corpus: the raw text cut into
literal pieces and *slots* (a place name, a year, an amount, a 三级指标 name, a target figure, a
swappable phrase, a person), and a ``render`` that fills the slots for one made-up document.

Compiling reads the seed with the real parser (``ingest.pipeline``) to learn what to replace (its
county, prefecture, province, department, unit code, people, indicators) and then *proves* each
kind of variation on the real parser before using it: an amount factor is kept only when the
scaled text parses to the same structure with no new error, a paraphrase of an indicator only when
the indicator still reads back as that paraphrase, a phrase swap only when nothing else changes.
So a generated document parses like its template by construction, not by hope; ``synthetic.py``
re-checks whole documents on request (``--verify``).

Slots are found on text where line breaks are removed (as the identity and citation readers see
it), so 大城|县 or 9736|.74 broken across lines are still one name or one number; rendering puts
the break back at the same place (for numbers: at the same distance from the decimal point).
"""
from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from random import Random

from benchmarks.synthetic_vocab import (PHRASE_SWAPS, USABLE_PROVINCES, YEARS, NameBook, indicator_variants,
                                        vary_number)
from ingest.gazetteer import Province, province_by_name
from ingest.layouts.pdf_text_tokens import completes
from ingest.model import Disclosure, Severity
from ingest.normalize import LEVEL1_NAMES, LEVEL2_NAMES, find_document_numbers
from ingest.pipeline import parse_source
from ingest.source import SourceText, sha256_hex

# Higher first: where two candidate slots overlap, the earlier kind wins.
_PRIORITY = ("person", "phone", "unit_code", "admin_code", "place", "abbr", "town", "year", "year2", "amount",
             "ind_name", "ind_value", "phrase")
_RANK = {k: i for i, k in enumerate(_PRIORITY)}
FACTOR_CANDIDATES = (1, 2, 3, 4, 5)
_MAX_NAME_VARIANTS = 8


@dataclass
class Slot:
    start: int
    end: int
    kind: str
    text: str  # the raw text it covers (may hold a line break)
    key: object = None  # place role, swap index, indicator group ...
    percent: bool = False  # ind_value: a percentage
    shared: bool = False  # phrase: inside a project name, so swapped document-wide or not at all
    row: int | None = None  # phrase: the indicator row it is in (one decision per row and swap)


@dataclass
class Params:
    """Everything that makes one generated document differ from its template."""

    county_core: str
    county_suffix: str
    prefecture_core: str
    province: Province
    town: str
    unit_code: str  # three digits
    admin_code: str  # six digits
    year_delta: int
    factor: int
    swaps: frozenset[int] = frozenset()  # swaps on at shared sites (in project names): all or none
    loose_swaps: frozenset[int] = frozenset()  # swaps allowed at every other site ...
    loose_share: float = 1.0  # ... each site taking it with this chance
    names: dict[int, int] = field(default_factory=dict)  # indicator group -> variant index
    values: dict[int, int] = field(default_factory=dict)  # indicator group -> rng seed
    people: dict[str, str] = field(default_factory=dict)  # old -> new (names and phones)

    @property
    def county(self) -> str:
        return self.county_core + self.county_suffix

    @property
    def prefecture(self) -> str:
        return self.prefecture_core + "市"


# ------------------------------------------------------------------ text helpers


def collapse(raw: str) -> tuple[str, list[int]]:
    """The text with every whitespace run that holds a line break removed (one space kept between
    two ASCII letters or digits), and for each kept character its offset in ``raw`` (close to the
    view the identity and citation readers use)."""
    parts, index, pos = [], [], 0
    for m in re.finditer(r"[^\S\n]*\n\s*", raw):
        parts.append(raw[pos:m.start()])
        index.extend(range(pos, m.start()))
        # a page number above a code must not fuse with it (4 / 807 is not 4807)
        if m.start() > 0 and m.end() < len(raw) and raw[m.start() - 1].isascii() and raw[m.start() - 1].isalnum() \
                and raw[m.end()].isascii() and raw[m.end()].isalnum():
            parts.append(" ")
            index.append(m.start())
        pos = m.end()
    parts.append(raw[pos:])
    index.extend(range(pos, len(raw)))
    return "".join(parts), index


def rebreak(raw: str, new: str, at_dot: bool = False) -> str:
    """``new`` with the whitespace runs of ``raw`` put back at the same character offsets (for a
    number: at the same distance from its decimal point), clipped to ``new``'s length."""
    if not re.search(r"\s", raw):
        return new
    pieces = re.split(r"(\s+)", raw)
    compact = "".join(pieces[0::2])
    shift = new.find(".") - compact.find(".") if at_dot and "." in new and "." in compact else 0
    out, done, offset = [], 0, 0
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            offset += len(piece)
            continue
        cut = max(done, min(len(new), offset + shift))
        out.append(new[done:cut])
        out.append(piece)
        done = cut
    out.append(new[done:])
    return "".join(out)


def _swap_regex() -> re.Pattern[str]:
    froms = sorted({a for a, _ in PHRASE_SWAPS}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, froms)))


SWAP_RE = _swap_regex()
_SWAP_INDEX = {a: i for i, (a, _) in enumerate(PHRASE_SWAPS)}


def apply_swaps(text: str, active: frozenset[int], rng: Random | None = None, share: float = 1.0) -> str:
    """``text`` with the active swaps applied, each occurrence with chance ``share`` (drawn from ``rng``)."""
    if not active:
        return text

    def sub(m: re.Match[str]) -> str:
        i = _SWAP_INDEX[m.group()]
        take = share >= 1 or (rng is not None and rng.random() < share)
        return PHRASE_SWAPS[i][1] if i in active and take else m.group()
    return SWAP_RE.sub(sub, text)


def scale_number(text: str, factor: int) -> str:
    """``text`` (a printed amount: commas, any decimals) times an integer factor, printed alike."""
    plain = text.replace(",", "")
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    value = Decimal(plain) * factor
    if "," in text:
        return f"{value:,.{decimals}f}"
    return f"{value:.{decimals}f}"


# ------------------------------------------------------------------ the template


_YEAR = r"(?:19|20)\d\d"
_YEAR_PATTERNS = [re.compile(p) for p in (
    rf"(?<!\d)({_YEAR})(?=\s*年)",
    rf"[〔\[【(（［]\s*({_YEAR})\s*[〕\]】)）］]",
    rf"预算年度\s*[：:]\s*({_YEAR})(?!\d)",
    rf"(?<![\d.])({_YEAR})-\d{{1,2}}-\d{{1,2}}(?!\d)",
    rf"(?<![\d.])({_YEAR})\.\d{{1,2}}\s*月",
    rf"(?<![\d.])({_YEAR})(?=预算数)",
    rf"填报日期\s*[:：]?\s*({_YEAR})\d{{10}}(?!\d)",
)]
_YEAR2_RE = re.compile(r"(?<![\d.])(\d\d)(?=年底)")
_NUMBER_RE = re.compile(r"(?<![\d.,A-Za-z])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\d,A-Za-z])")
# Units that make a figure a count, share, date or size rather than money.
_NOT_MONEY = r"(?:[%％‰]|万人次|万人|万次|万户|人次|人|户|个月|个|次|家|项|名|岁|天|日|月|年|平方米|分钟|小时|百分比|百分数|百分|号|/)"
_NOT_MONEY_RE = re.compile("^" + _NOT_MONEY)
_NOT_MONEY_TOKEN_RE = re.compile(_NOT_MONEY + r"[，。；、,)）]*")
# A bare 万 after a number is money unless the cell names people or times (城乡居民医疗参保人数 ≧ 40 万).
_COUNTED_BEFORE_RE = re.compile(r"人数|人次|户数|次数|参保")
_THRESHOLD_RE = re.compile(r"^(?:万元|元)(?:以上|以下)")
_VALUE_RE = re.compile(r"^(?:≥|≧|≤|≦|>|<|=|＝)?(?P<num>\d+(?:\.\d+)?)(?P<unit>%|百分比|百分数|人次|万人|人|次|个|户|家|项|名)$")
_LEVEL_WORDS = set(LEVEL1_NAMES) | set(LEVEL2_NAMES)
# Table vocabulary the parsers key on (可持续影响指标 must not become 可不断影响指标).
_LEVEL_RE = re.compile("|".join(sorted(map(re.escape, _LEVEL_WORDS), key=len, reverse=True)))


class Template:
    """One seed disclosure, its slots and the variations proven safe for it."""

    def __init__(self, path: Path, proven: dict | None = None) -> None:
        """Compile ``path``; ``proven`` (from ``proven()`` of an earlier compile of the same text by
        the same sources) skips the proof."""
        self.path = path
        self.tid = path.name[:3]
        self.raw = path.read_text(encoding="utf-8")
        self.base = parse_text(self.raw, path.name)
        d = self.base
        if not (d.county and d.prefecture and d.province and d.department and d.fiscal_year):
            raise ValueError(f"{path.name}: the parser does not name county, prefecture, province, department "
                             "and year; it cannot serve as a template")
        self.county = d.county
        self.county_core, self.county_suffix = d.county[:-1], d.county[-1]
        self.prefecture_core = d.prefecture[:-1]
        self.province = province_by_name(d.province)
        self.department_suffix = d.department[len(d.county):] if d.department.startswith(d.county) else None
        if self.department_suffix is None:
            raise ValueError(f"{path.name}: department {d.department} does not start with its county {d.county}")
        self.unit_code = (d.department_code or "")[:3] or None
        self.admin_code = d.admin_code
        self.year = d.fiscal_year
        self.area_word = "全市" if self.county_suffix == "市" else "全县"
        self.people = sorted({c.name for c in d.contacts if c.name} | {c.phone for c in d.contacts if c.phone},
                             key=len, reverse=True)
        self.groups: list[tuple[str, str]] = []  # indicator group -> (name, target value)
        self.rows: list[tuple[int, int, int]] = []  # raw span of each indicator's row, its group
        self.slots = self._find_slots()
        self.name_variants: dict[int, list[str]] = {}
        self.value_groups: set[int] = set()
        self.swaps: frozenset[int] = frozenset()
        self.factors: tuple[int, ...] = (1,)
        if proven is None:
            self._prove()
        else:
            self.factors = tuple(proven["factors"])
            self.swaps = frozenset(proven["swaps"])
            self.name_variants = {int(g): v for g, v in proven["name_variants"].items()}
            self.value_groups = set(proven["value_groups"])

    def proven(self) -> dict:
        """The outcome of the proof, as JSON-able data."""
        return {"factors": list(self.factors), "swaps": sorted(self.swaps),
                "name_variants": {str(g): v for g, v in sorted(self.name_variants.items())},
                "value_groups": sorted(self.value_groups)}

    # -------------------------------------------------------------- finding slots

    def _find_slots(self) -> list[Slot]:
        raw = self.raw
        ctext, index = collapse(raw)
        found: list[Slot] = []

        def from_ctext(s: int, e: int, kind: str, key=None) -> None:
            a, b = index[s], index[e - 1] + 1
            found.append(Slot(a, b, kind, raw[a:b], key))

        # people first: they must never survive into the output
        for who in self.people:
            for m in re.finditer(re.escape(who), raw):
                found.append(Slot(m.start(), m.end(), "phone" if who.isdigit() else "person", who, who))
        # places
        terms = {self.county: "county", self.prefecture_core + "市": "prefecture", self.province.name: "province_full",
                 self.province.short: "province_short"}
        if len(self.county_core) >= 2:
            terms[self.county_core] = "county_core"
        if len(self.prefecture_core) >= 2:
            terms[self.prefecture_core] = "prefecture_core"
        place_re = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)))
        for m in place_re.finditer(ctext):
            from_ctext(m.start(), m.end(), "place", terms[m.group()])
        town_re = re.compile(re.escape(self.county) + r"([\u4e00-\u9fff]{2}镇)")
        for m in town_re.finditer(ctext):
            from_ctext(m.start(1), m.end(1), "town")
        # 文号 issuers that start with the province's, the prefecture's or the county's letter
        letters = {self.province.abbreviations[0]: "province", self.prefecture_core[0]: "prefecture",
                   self.county_core[0]: "county"}
        for m in find_document_numbers(ctext):
            issuer = m.ref.issuer or ""
            # the issuer may carry words of the cell before it (逐步减轻唐财社): take the last letter
            # that still leaves an issuer behind it
            at = max((k for k, ch in enumerate(issuer[:-1]) if ch in letters), default=None)
            if at is not None:
                from_ctext(m.start + at, m.start + at + 1, "abbr", letters[issuer[at]])
        if self.unit_code:
            for m in re.finditer(rf"(?<!\d){self.unit_code}(?:\d{{3}})?(?=\s*[-－]?\s*{re.escape(self.county)})", ctext):
                from_ctext(m.start(), m.end(), "unit_code")
        if self.admin_code:
            for m in re.finditer(rf"(?<![0-9A-Za-z]){self.admin_code}\d\d(?=P[0-9A-Z]{{4,}})", ctext):
                from_ctext(m.start(), m.end(), "admin_code")
        for pattern in _YEAR_PATTERNS:
            for m in pattern.finditer(ctext):
                from_ctext(m.start(1), m.end(1), "year")
        for m in _YEAR2_RE.finditer(ctext):
            from_ctext(m.start(1), m.end(1), "year2")
        found.extend(self._amount_slots())
        found.extend(self._indicator_slots())
        # phrase swaps, but never inside the title of a cited document (《…》, 关于…的通知), in the
        # table vocabulary or on a budget line (公务用车运行维护费 is a classification's name); inside
        # a project name a swap is made everywhere or nowhere, since the parser matches a project's
        # mentions in the narrative and in its table by name
        titles = [(index[s], index[e - 1] + 1) for s, e in _title_spans(ctext)]
        titles += [(m.start(), m.end()) for m in _LEVEL_RE.finditer(raw)]
        line_starts = _line_starts(raw)
        titles += [(line_starts[b.span.line_start - 1], line_starts[min(b.span.line_end, len(line_starts) - 1)])
                   for b in self.base.budget_lines if b.span]
        projects = []
        for name in {n for p in self.base.projects for n in [p.name, *p.aliases] if len(n) >= 4}:
            pattern = r"\s*".join(map(re.escape, re.sub(r"\s+", "", name)))
            projects += [(index[m.start()], index[m.end() - 1] + 1) for m in re.finditer(pattern, ctext)]
        for m in SWAP_RE.finditer(raw):
            if not any(a < m.end() and m.start() < b for a, b in titles):
                shared = any(a < m.end() and m.start() < b for a, b in projects)
                # a row prints its name twice (三级 and 描述): both copies must read alike
                row = next((g for a, b, g in self.rows if a <= m.start() and m.end() <= b), None)
                found.append(Slot(m.start(), m.end(), "phrase", m.group(), _SWAP_INDEX[m.group()], shared=shared,
                                  row=row))
        return _resolve(found)

    def _amount_slots(self) -> list[Slot]:
        """Money figures: two-decimal numbers (the 万元 tables), any number followed by 万元/万, 元
        figures of at least 10,000 (smaller ones are per-person standards: 每人280元) and comma-grouped
        元 totals. Counts, shares, dates, thresholds (单价在 20 万元以上) and codes are left alone."""
        raw = self.raw
        out = []
        matches = list(_NUMBER_RE.finditer(raw))
        i = 0
        while i < len(matches):
            m = matches[i]
            i += 1
            start, end, text = m.start(), m.end(), m.group()
            # a number a narrow column broke over lines: 9736 / .74, 121. / 00, 14.2 / 2
            head = text + "." if raw[end:end + 1] == "." else text
            nxt = re.match(r"[^\S\n]*\n\s*(\S+)", raw[start + len(head):])
            if nxt and completes(head, nxt.group(1)) and re.fullmatch(r"\d[\d,]*\.\d\d", head + nxt.group(1)):
                end = start + len(head) + nxt.end()
                text = head + nxt.group(1)
                while i < len(matches) and matches[i].start() < end:
                    i += 1
            # what follows in the same cell: line breaks inside a sentence are skipped, tabs end it;
            # after a space only a whole token is a unit ("34.93 万人" is, "121.00 年终结转结余" is not)
            cell = raw[end:end + 24].split("\t")[0]
            spaced = cell[:1].isspace()
            after = re.sub(r"[^\S\n]*\n\s*", "", cell).lstrip(" \u3000")
            token = after.split(" ")[0]
            not_money = bool(_NOT_MONEY_TOKEN_RE.fullmatch(token) if spaced else _NOT_MONEY_RE.match(after))
            after = after.replace(" ", "")
            if raw[max(0, start - 1):start] == "第" or _THRESHOLD_RE.match(after):
                continue
            plain = text.replace(",", "")
            if Decimal(plain) == 0:
                continue
            money = after.startswith(("万元", "亿元")) or (after.startswith("万") and not _NOT_MONEY_RE.match(after[1:])
                                                          and not _COUNTED_BEFORE_RE.search(compact_before(raw, start)))
            if not money and after.startswith("元") and not after.startswith("元/"):
                money = Decimal(plain) >= 10000
            if not money:
                if not_money or after.startswith(("元", "万")):
                    continue
                money = bool(re.fullmatch(r"\d+\.\d\d", plain)) or ("," in text and "." not in text)
            if money:
                out.append(Slot(start, end, "amount", raw[start:end]))
        return out

    def _indicator_slots(self) -> list[Slot]:
        """The 三级指标 names and target figures of every indicator, found on the lines the parser
        read them from; one group per indicator, so the copies in 三级 and 描述 change together."""
        d = self.base
        line_starts = _line_starts(self.raw)
        indicators = [ind for p in d.projects for ind in p.indicators] + list(d.department_indicators)
        out = []
        for ind in indicators:
            group = len(self.groups)
            self.groups.append((ind.name, ind.target_value))
            if not ind.span:
                continue
            a = line_starts[ind.span.line_start - 1]
            b = line_starts[min(ind.span.line_end, len(line_starts) - 1)] - 1
            self.rows.append((a, b, group))
            region = self.raw[a:b]
            name = ind.name
            if (len(name) >= 3 and not re.search(r"\s", name) and name not in _LEVEL_WORDS and "指标" not in name
                    and not re.search(r"\d", name)):
                hits = list(re.finditer(re.escape(name), region))
                # In PDF text a cell alone on its line is wrapped by width; a longer paraphrase would
                # wrap differently. Vary only names that share their line with other cells there.
                alone = any(_line_at(region, m.start(), m.end()).strip() == name for m in hits)
                if not (alone and self.base.layout == "pdf-text"):
                    for m in hits:
                        out.append(Slot(a + m.start(), a + m.end(), "ind_name", name, group))
            value = re.sub(r"\s+", "", ind.target_value or "")
            vm = _VALUE_RE.match(value)
            if vm:
                pattern = r"\s?".join(re.escape(ch) for ch in value)
                for m in re.finditer(pattern, region):
                    digits = re.search(re.escape(vm.group("num")), m.group())
                    if digits:
                        s = a + m.start() + digits.start()
                        out.append(Slot(s, s + len(vm.group("num")), "ind_value", vm.group("num"), group,
                                        percent=vm.group("unit") in ("%", "百分比", "百分数")))
        return out

    # -------------------------------------------------------------- rendering

    def render(self, p: Params, rng_seed: str = "", stats: Counter | None = None) -> str:
        """The document ``p`` describes; ``stats`` (if given) counts the phrase sites and how many
        of them were reworded."""
        out, pos = [], 0
        raw = self.raw
        cache: dict = {"sites": Random(f"{rng_seed}:sites")}
        for s in self.slots:
            out.append(raw[pos:s.start])
            text = self._fill(s, p, cache, rng_seed)
            out.append(text)
            if stats is not None and s.kind == "phrase":
                stats["phrase_sites"] += 1
                stats["phrase_sites_reworded"] += text != s.text
            pos = s.end
        out.append(raw[pos:])
        return "".join(out)

    def _fill(self, s: Slot, p: Params, cache: dict, rng_seed: str) -> str:
        k = s.kind
        if k == "amount":
            return s.text if p.factor == 1 else rebreak(s.text, scale_number(re.sub(r"\s+", "", s.text), p.factor),
                                                        at_dot=True)
        if k == "phrase":
            if s.shared:
                return PHRASE_SWAPS[s.key][1] if s.key in p.swaps else s.text
            draw = cache["sites"].random()  # drawn for every site, so decisions do not shift
            if s.row is not None:
                draw = cache.setdefault(("row", s.row, s.key), draw)
            return PHRASE_SWAPS[s.key][1] if s.key in p.loose_swaps and draw < p.loose_share else s.text
        if k == "year":
            return str(int(s.text) + p.year_delta)
        if k == "year2":
            return f"{(int(s.text) + p.year_delta) % 100:02d}"
        if k == "place":
            new = {"county": p.county, "county_core": p.county_core, "prefecture": p.prefecture,
                   "prefecture_core": p.prefecture_core, "province_full": p.province.name,
                   "province_short": p.province.short}[s.key]
            return rebreak(s.text, new)
        if k == "abbr":
            return {"province": p.province.abbreviations[0], "prefecture": p.prefecture_core[0],
                    "county": p.county_core[0]}[s.key]
        if k == "town":
            return p.town
        if k == "unit_code":
            return p.unit_code + s.text[3:]
        if k == "admin_code":
            return p.admin_code + f"{(int(s.text[6:8]) + p.year_delta) % 100:02d}"
        if k in ("person", "phone"):
            return p.people.get(s.key, s.text)
        if k == "ind_name":
            # one text for every copy of the name (三级 and 描述)
            if ("name", s.key) not in cache:
                cache[("name", s.key)] = self.name_text(s.key, p.names.get(s.key), p, rng_seed)
            return cache[("name", s.key)]
        if k == "ind_value":
            seed = p.values.get(s.key)
            if seed is None:
                return s.text
            # one figure for every copy of an indicator's value (实施期 and 年度 halves)
            if ("value", s.key) not in cache:
                cache[("value", s.key)] = vary_number(s.text, Random(f"{rng_seed}:{seed}"), s.percent)
            return cache[("value", s.key)]
        raise AssertionError(k)

    def name_text(self, group: int, variant: int | None, p: Params, rng_seed: str = "") -> str:
        """An indicator's name in a document: the paraphrase chosen (or the template's), with the
        document's swaps applied occurrence by occurrence."""
        text = self.groups[group][0] if variant is None else self.name_variants[group][variant]
        text = text.replace("{county}", p.county_core)
        return apply_swaps(text, p.loose_swaps, Random(f"{rng_seed}:name:{group}"), p.loose_share)

    # -------------------------------------------------------------- proving variations on the parser

    def params(self, **changes) -> Params:
        """The template's own values as ``Params`` (rendering them gives the template back)."""
        base = Params(county_core=self.county_core, county_suffix=self.county_suffix,
                      prefecture_core=self.prefecture_core, province=self.province,
                      town=self._town(), unit_code=self.unit_code or "000",
                      admin_code=self.admin_code or "000000", year_delta=0, factor=1)
        for key, value in changes.items():
            setattr(base, key, value)
        return base

    def _town(self) -> str:
        return next((s.text for s in self.slots if s.kind == "town"), "")

    def probe_place(self, j: int) -> dict:
        """Made-up place and year for probe round ``j`` (each round another province and year)."""
        names = NameBook(seed=-1)
        province = USABLE_PROVINCES[(3 + 5 * j) % len(USABLE_PROVINCES)]
        return dict(county_core=names.county_core(j), prefecture_core=names.prefecture_core(j), province=province,
                    town=names.town(j), unit_code=f"{901 + j:03d}", admin_code=f"{province.code}0{j % 9 + 1}"
                    f"{81 if self.county_suffix == '市' else 21}", year_delta=YEARS[j % len(YEARS)] - self.year)

    def reads_as(self, d: Disclosure, p: Params) -> bool:
        """True when the parser names the document's county, prefecture, province, department and
        year (and county code, where the template prints one) as ``p`` says."""
        return ((d.county, d.prefecture, d.province, d.department, d.fiscal_year) ==
                (p.county, p.prefecture, p.province.name, p.county + self.department_suffix, self.year + p.year_delta)
                and (not self.admin_code or d.admin_code == p.admin_code))

    def _prove(self) -> None:
        """Decide which variations are safe by parsing probe renderings.

        Probe round ``j`` applies everything at once: a made-up place and another year, amount factor
        ``j`` (2..5), every phrase swap, the ``j``-th paraphrase of every indicator and a new figure
        for every target value. When the probe parses to the template's structure (``signature``)
        under its new names, the factor and the swaps are proven, and each paraphrase or figure that
        reads back as written is kept. When it does not, the round's parts are probed one by one to
        find the culprit. Failures are rare, so a template costs about eight parses. A place or
        year the parser does not read back is a generator bug: it raises instead of being dropped.
        """
        if self.render(self.params()) != self.raw:
            raise AssertionError(f"{self.path.name}: rendering the template's own values does not give it back")
        base_sig = signature(self.base)
        swaps = sorted({s.key for s in self.slots if s.kind == "phrase"})
        name_groups = sorted({s.key for s in self.slots if s.kind == "ind_name"})
        value_groups = sorted({s.key for s in self.slots if s.kind == "ind_value"})
        candidates = {g: [v for v in indicator_variants(self.groups[g][0], self.area_word)
                          if v not in _LEVEL_WORDS and "指标" not in v][:_MAX_NAME_VARIANTS]
                      for g in name_groups}
        # An integer factor multiplies the template's own rounding differences too: keep only the
        # factors that leave each within its tolerance (003's 0.01 differences allow none).
        factors = [f for f in FACTOR_CANDIDATES[1:] if all(
            x.expected is None or x.found is None or x.tolerance is None
            or abs(x.expected - x.found) * f <= x.tolerance for x in self.base.findings)]
        rounds = max([len(factors)] + [len(v) for v in candidates.values()])
        good_factors, bad_factors, good_swaps = {1}, set(), None
        kept: dict[int, list[str]] = {g: [] for g in name_groups}
        value_ok: dict[int, bool] = {g: True for g in value_groups}

        def probe(factor: int = 1, swap=(), names: dict[int, str] | None = None, values=(),
                  seed: str = "", place: dict | None = None) -> tuple[bool, Disclosure, Params]:
            self.name_variants = {g: [v] for g, v in (names or {}).items()}
            p = self.params(factor=factor, swaps=frozenset(swap), loose_swaps=frozenset(swap),
                            names={g: 0 for g in names or {}}, values={g: g for g in values}, **(place or {}))
            d = parse_text(self.render(p, rng_seed=seed), self.path.name)
            return signature(d, factor=factor) == base_sig and self.reads_as(d, p), d, p

        def read_back(d: Disclosure, p: Params, names: dict[int, str], values, seed: str) -> None:
            read = _indicator_texts(d)
            for g, v in names.items():
                if g < len(read) and _same(read[g][0], self.name_text(g, 0, p, seed)):
                    kept[g].append(v)
            expect = _expected_values(self, p, seed)
            for g in values:
                value_ok[g] = value_ok[g] and g < len(read) and _same(read[g][1], expect.get(g, ""))

        for j in range(rounds):
            untested = [f for f in factors if f not in good_factors | bad_factors]
            factor = untested[0] if untested else 1
            names = {g: v[j] for g, v in candidates.items() if j < len(v)}
            values = [g for g in value_groups if value_ok[g]]
            swap = swaps if good_swaps is None else good_swaps
            seed = f"prove{j}"
            place = self.probe_place(j)
            ok, d, p = probe(factor, swap, names, values, seed, place)
            if not ok and not probe(place=place)[0]:
                raise ValueError(f"{self.path.name}: the parser does not read the template back under a made-up "
                                 f"place and year ({place['county_core']}{self.county_suffix}, "
                                 f"{self.year + place['year_delta']}); the place/year substitution misses something")
            if ok:
                good_factors.add(factor)
                good_swaps = swap
                read_back(d, p, names, values, seed)
                continue
            # isolate the culprits of a failed round: the factor, then each kind of wording change
            if factor != 1:
                ok, d, p = probe(1, swap, names, values, seed)
                bad_factors.add(factor)
                if ok:
                    good_swaps = swap
                    read_back(d, p, names, values, seed)
                    continue
                if probe(factor)[0]:
                    bad_factors.discard(factor)
                    good_factors.add(factor)
            if good_swaps is None:
                good_swaps = _bisect(swaps, lambda ks: probe(swap=ks)[0])
            keep_names = _bisect(sorted(names), lambda ks: probe(names={g: names[g] for g in ks})[0])
            keep_values = _bisect(values, lambda ks: probe(values=ks, seed=seed)[0])
            for g in set(values) - set(keep_values):
                value_ok[g] = False
            ok, d, p = probe(names={g: names[g] for g in keep_names}, values=keep_values, seed=seed)
            if ok:
                read_back(d, p, {g: names[g] for g in keep_names}, keep_values, seed)
        self.factors = tuple(sorted(good_factors))
        self.swaps = frozenset(good_swaps or ())
        self.name_variants = {g: v for g, v in kept.items() if v}
        self.value_groups = {g for g, ok in value_ok.items() if ok}

    def describe(self) -> dict:
        kinds = Counter(s.kind for s in self.slots)
        return {"template": self.path.name, "county": self.county, "prefecture": self.prefecture_core + "市",
                "province": self.province.name, "year": self.year, "slots": dict(kinds),
                "factors": list(self.factors), "swaps": len(self.swaps),
                "indicators": len(self.groups), "indicators_with_paraphrases": len(self.name_variants),
                "indicators_with_varied_figures": len(self.value_groups)}


def _bisect(keys: list, passes) -> list:
    """The keys that ``passes`` accepts, found by halving a failing set (culprits are few)."""
    if not keys:
        return []
    if passes(keys):
        return keys
    if len(keys) == 1:
        return []
    half = len(keys) // 2
    return _bisect(keys[:half], passes) + _bisect(keys[half:], passes)


def _resolve(found: list[Slot]) -> list[Slot]:
    """Non-overlapping slots, the higher-priority kind winning, in text order."""
    found.sort(key=lambda s: (_RANK[s.kind], s.start, -(s.end - s.start)))
    starts: list[int] = []
    kept: list[Slot] = []
    for s in found:
        i = bisect.bisect_right(starts, s.start)
        if i > 0 and kept[i - 1].end > s.start:
            continue
        if i < len(kept) and kept[i].start < s.end:
            continue
        starts.insert(i, s.start)
        kept.insert(i, s)
    return kept


_BARE_TITLE_RE = re.compile(r"关于[^，。；;《》\t]{2,80}?(?:通知|意见|办法|方案|规定|决定|批复|请示|函|细则)")


def _title_spans(text: str) -> list[tuple[int, int]]:
    """Spans of 《titles》 (nesting allowed) and of bare 关于…的通知 titles."""
    spans, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "《":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "》" and depth:
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
    spans.extend((m.start(), m.end()) for m in _BARE_TITLE_RE.finditer(text))
    return spans


def _line_starts(text: str) -> list[int]:
    """Offset of each line's first character (1-based line n starts at [n - 1]), and one past the end."""
    return [0] + [m.end() for m in re.finditer("\n", text)] + [len(text) + 1]


def _line_at(text: str, start: int, end: int) -> str:
    """The whole line of ``text`` holding ``text[start:end]``."""
    first = text.rfind("\n", 0, start) + 1
    last = text.find("\n", end)
    return text[first:last if last >= 0 else len(text)]


def compact_before(raw: str, pos: int, chars: int = 16) -> str:
    """The ``chars`` characters before ``pos``, whitespace removed."""
    return re.sub(r"\s+", "", raw[max(0, pos - 4 * chars):pos])[-chars:]


def _same(a: str, b: str) -> bool:
    return re.sub(r"\s+", "", a or "") == re.sub(r"\s+", "", b or "")


def _indicator_texts(d: Disclosure) -> list[tuple[str, str]]:
    return [(i.name, i.target_value) for p in d.projects for i in p.indicators] + \
        [(i.name, i.target_value) for i in d.department_indicators]


def _expected_values(t: Template, p: Params, seed: str) -> dict[int, str]:
    """What each varied indicator's target value should read as after rendering ``p``."""
    cache: dict = {"sites": Random(f"{seed}:sites")}
    out: dict[int, str] = {}
    for s in t.slots:
        if s.kind == "ind_value" and s.key not in out:
            figure = t._fill(s, p, cache, seed)
            original = re.sub(r"\s+", "", t.groups[s.key][1])
            out[s.key] = original.replace(s.text, figure, 1)
    return out


# ------------------------------------------------------------------ parsing and comparing


def parse_text(text: str, name: str) -> Disclosure:
    data = text.encode("utf-8")
    return parse_source(SourceText(name=name, text=text, sha256=sha256_hex(data)))


def signature(d: Disclosure, factor: int = 1) -> tuple:
    """What must not change between a template and a document made from it: the numbers of budget
    lines, projects, indicators (per project), citations, passages and contacts; the stated figures
    (divided by the amount factor); and the findings that are errors or warnings."""
    f = Decimal(factor)
    return (
        len(d.budget_lines), tuple(len(p.indicators) for p in d.projects), len(d.department_indicators),
        len(d.legal_refs), len(d.passages), len(d.contacts), d.truncated,
        tuple(sorted((x.measure.value, x.source.value, x.value / f) for x in d.figures)),
        tuple(sorted((b.table.value, b.code or "", b.name, (b.amount or 0) / f) for b in d.budget_lines)),
        serious_findings(d),
    )


def serious_findings(d: Disclosure) -> tuple:
    return tuple(sorted((x.check, x.severity.value) for x in d.findings
                        if x.severity in (Severity.ERROR, Severity.WARNING)))
