"""Word material for the synthetic corpus (``benchmarks/synthetic.py``): made-up place and person
names, the provinces counties are spread over, and the wording variations (equal-length phrase
swaps, paraphrases of 三级指标 names, target-value changes).

Everything here is data plus small pure functions; which variation is actually safe for which
template is decided by ``benchmarks/synthetic_plan.py``, which checks it with the real parser.
"""
from __future__ import annotations

import re
from decimal import Decimal
from random import Random

from ingest.gazetteer import AMBIGUOUS_ABBREVIATIONS, PROVINCES, Province
from ingest.normalize import PROVINCE_ABBREVIATIONS

# Fiscal years of the generated documents.
YEARS = tuple(range(2019, 2026))

# ------------------------------------------------------------------ provinces

# Provinces a generated county may lie in. Only the real province-level divisions are usable: the
# parser knows exactly those 34 (ingest/gazetteer.py), so a made-up province would silently lose the
# province level. Of them we keep the 17 whose full name is three characters (河北省: the templates'
# wrapped PDF-text cells keep their geometry) and whose first 文号 abbreviation the parser trusts
# (冀, not the everyday-word 吉/川/甘/青), so the province resolves from the same evidence as in the
# template. Municipalities (no prefecture level) and autonomous regions (longer names) are left out.
USABLE_PROVINCES: tuple[Province, ...] = tuple(
    p for p in PROVINCES
    if len(p.name) == 3 and p.name.endswith("省") and p.code not in {"71"}
    and p.abbreviations[0] not in AMBIGUOUS_ABBREVIATIONS
)

# ------------------------------------------------------------------ made-up places

# Characters a made-up place name may not contain: province abbreviations (they would vote for a
# province as 文号 issuers), area suffixes (乐亭县 must split as one area, not two), and the
# characters the identity reader strips off the front of a candidate city name.
_FORBIDDEN = (set(PROVINCE_ABBREVIATIONS) | set("台港澳蜀陇秦黔滇") | set("县市区旗州盟林特自地省")
              | set("的和与及对在是为将向从经由按据照于即等把被给让号文见到至同并或全我本各该"))

# County cores: a first character from plants/water/stone words, a second from landform words that
# rarely end real county names (real ones mostly end in 山/江/阳/城/安/平 ...).
COUNTY_FIRST = tuple("桐枫栖棠岚霁筠荻芷菁苇蓼葭蘅杉椿柘枞楠樟梧菱蒲萍藤檀漪淇澹泓涟璟琪翎鸥鹭麓岫砚曦榴桦楸棣栎蕙茗荇芸苓湛溱瀚沣淼"
                     "榆椒棕菖蔺苕蘋荠薇")
COUNTY_SECOND = tuple("汀渚屿坞垣埠岗峪陂泽湄皋滨塘湾岭坪源桥集营堤湖冈丘原")
# Prefecture cores: colour and jade words + landforms, disjoint from the county pools.
PREFECTURE_FIRST = tuple("琅瑶翠绮紫碧彤珀璃瑾珂瑄璇翡黛绯缃缇绀赭苍靛霓珊琳瑛")
PREFECTURE_SECOND = tuple("峰岳屏陵泉潭关谷峡浦沙崖冲墩阜")
TOWN_FIRST = tuple("杏梨桃麦稻禾柳榛栗苎")
TOWN_SECOND = tuple("汀渚坞垣埠岗峪湾坪桥")

# Real names a generator must never produce: the seed documents' places (real counties whose
# officials the seeds name) and real counties, cities and well-known towns the pools can spell.
DENY = frozenset({
    "乐亭", "霸州", "大城", "兴县", "唐山", "廊坊", "吕梁", "蔚汾", "乐亭县", "霸州市", "大城县", "唐山市", "廊坊市",
    "吕梁市", "蔚汾镇",
    "松岭", "荷塘", "彭泽", "枫桥", "岫岩", "泽州", "泽普", "梧桐", "樟树", "蒲城", "芦山", "竹溪", "松溪", "桐柏", "桐城",
    "桐乡", "桐庐", "桐梓", "栖霞", "岚皋", "澜沧", "淇滨", "鹭岛", "柘城", "柘荣", "枞阳", "楠溪", "蒲江", "萍乡", "藤县",
    "檀营", "麓山", "砚山", "曦园", "涟源", "涟水", "泓源", "杉湖", "蓼坞", "琅岐", "瑶海", "翠屏", "紫阳", "碧江", "苍溪",
    "苍南", "紫金", "翠峦", "瑶岗", "珊瑚", "琳琅", "苍山", "绯红", "靛青", "珂岳", "冲坪", "梨园", "桃源", "杏坛",
    "柳湾", "禾坪", "麦积", "稻城", "栗坪", "榛子", "藤原", "芸湖", "湛江", "瀚海", "沣河", "茗岭", "桦甸", "棣州",
})


def _allowed(core: str) -> bool:
    return core not in DENY and not (set(core) & _FORBIDDEN) and len(set(core)) == len(core)


def _space(first: tuple[str, ...], second: tuple[str, ...], seed: int, salt: str) -> list[str]:
    names = [a + b for a in first for b in second if _allowed(a + b)]
    Random(f"{seed}:{salt}").shuffle(names)
    return names


class NameBook:
    """Made-up names by number: ``county(i)`` and ``prefecture(i)`` are unique for distinct ``i``
    (a fixed shuffle of the name space, so the same seed gives the same names)."""

    def __init__(self, seed: int) -> None:
        self.counties = _space(COUNTY_FIRST, COUNTY_SECOND, seed, "county")
        self.prefectures = _space(PREFECTURE_FIRST, PREFECTURE_SECOND, seed, "prefecture")
        self.towns = _space(TOWN_FIRST, TOWN_SECOND, seed, "town")

    def county_core(self, i: int) -> str:
        if i >= len(self.counties):
            raise ValueError(f"only {len(self.counties)} distinct county names; asked for number {i}")
        return self.counties[i]

    def prefecture_core(self, i: int) -> str:
        if i >= len(self.prefectures):
            raise ValueError(f"only {len(self.prefectures)} distinct prefecture names; asked for number {i}")
        return self.prefectures[i]

    def town(self, i: int) -> str:
        return self.towns[i % len(self.towns)] + "镇"


# ------------------------------------------------------------------ made-up people

SURNAMES = tuple("张李刘陈杨赵黄周吴徐孙马朱胡林何高罗梁宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = tuple("晓明海建丽静磊洋勇军杰涛超霞平刚英华芳燕红玲伟敏强斌鹏辉娜颖慧倩琳峰浩宁雪梅飞凯婷欣佳悦晨阳莉蕾")


def person_name(rng: Random, avoid: set[str]) -> str:
    """A two- or three-character made-up name (none of the characters the contact reader rejects)."""
    while True:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        if name not in avoid and len(set(name)) == len(name):
            return name


def phone_number(rng: Random) -> str:
    """A made-up mobile number in the 170 (virtual operator) block: 11 digits, 1[3-9] prefix."""
    return "170" + "".join(str(rng.randrange(10)) for _ in range(8))


# ------------------------------------------------------------------ wording

# Doc-wide phrase swaps (from -> to). Each is the same number of Chinese characters, so wrapped PDF
# text keeps its line widths; in a document each swap is switched on or off as a whole, so a project
# name or a repeated phrase changes the same way everywhere it occurs.
PHRASE_SWAPS: tuple[tuple[str, str], ...] = (
    ("建立健全", "健全完善"), ("监督检查", "监管检查"), ("政策宣传", "政策宣讲"), ("困难群众", "困难群体"),
    ("保障水平", "保障能力"), ("服务水平", "服务质量"), ("经济负担", "经济压力"), ("决策部署", "工作部署"),
    ("参保人员", "参保对象"), ("补助资金", "补贴资金"), ("工作人员", "干部职工"), ("专项业务", "专项工作"),
    ("鉴定评审", "评审鉴定"), ("代办员", "协办员"), ("进一步", "更好地"),
    ("加强", "强化"), ("强化", "加强"), ("推进", "推动"), ("推动", "推进"), ("确保", "保证"), ("提高", "提升"),
    ("提升", "提高"), ("积极", "主动"), ("不断", "持续"), ("持续", "不断"), ("严格", "从严"), ("相关", "有关"),
    ("有关", "相关"), ("逐步", "稳步"), ("明显", "显著"), ("显著", "明显"), ("认真", "切实"), ("扎实", "切实"),
    ("大力", "着力"), ("各项", "各类"), ("及时", "按时"), ("足额", "全额"), ("完善", "健全"), ("稳定", "平稳"),
    ("解决", "化解"), ("办理", "受理"), ("实现", "达成"), ("群众", "民众"), ("建立", "构建"), ("统筹", "协调"),
    ("依法", "依规"), ("维护", "守护"), ("打击", "惩治"), ("检查", "核查"), ("简化", "精简"), ("优化", "改进"),
    ("促进", "助推"), ("加快", "加速"), ("考核", "考评"), ("全面", "全力"), ("我局", "本局"), ("我县", "本县"),
    ("我市", "本市"), ("我省", "本省"), ("工作", "业务"), ("制度", "机制"), ("费用", "开支"), ("要求", "规定"),
    ("情况", "状况"), ("提供", "给予"), ("居民", "群众"), ("加大", "加强"), ("机制", "制度"), ("开展", "组织"),
    ("监督", "监管"), ("重点", "主要"), ("负担", "压力"), ("全县", "县域"),
)

_SATISFACTION_RE = re.compile(r"^(?P<who>.*?)(?P<about>对.{1,12}的)?满意(?:度|率|程度)(?P<tail>[（(]%[）)])?$")
_SATISFIED = ("群众", "参保群众", "服务对象", "参保人员", "受益群众", "办事群众", "参保对象", "受益对象", "参保居民")
_TIME_NAMES = ("项目完成时间", "项目完成时限", "任务完成时间", "工作完成时限", "项目实施期限", "完成时间")
_VERBS = {"提高": ("提升", "进一步提高"), "提升": ("提高", "持续提升"), "减轻": ("降低", "有效减轻"),
          "降低": ("减轻", "有效降低"), "保障": ("确保", "切实保障"), "实现": ("推动实现", "基本实现"),
          "扶持": ("帮扶", "精准扶持"), "维护": ("守护", "切实维护"), "推进": ("推动", "加快推进")}
_COUNTED = ("人数", "人次", "户数", "次数", "数量", "个数", "家数")


def indicator_variants(name: str, area_word: str) -> list[str]:
    """Paraphrases of a 三级指标 name (the name itself excluded), most plausible first.

    ``area_word`` is 全县 or 全市 (what the template calls its own area). ``{county}`` stands for the
    document's county (short form) and is filled in at render time.
    """
    out: list[str] = []
    m = _SATISFACTION_RE.match(name)
    if m:
        about, tail = m.group("about") or "", m.group("tail") or ""
        out.extend(f"{who}{about}满意度{tail}" for who in _SATISFIED)
        out.insert(3, f"{{county}}{_SATISFIED[1]}{about}满意度{tail}")
        out.extend(f"{who}{about}满意率{tail}" for who in _SATISFIED)
    elif name in _TIME_NAMES or name.endswith("完成时间"):
        out.extend(_TIME_NAMES)
    elif name[:2] in _VERBS:
        verb, rest = name[:2], name[2:]
        alternatives = _VERBS[verb]
        out.extend([alternatives[0] + rest, alternatives[1] + rest, f"{verb}{{county}}{rest}",
                    f"{alternatives[0]}{{county}}{rest}"])
    elif name.startswith("对") and name.endswith(("的作用", "的影响")):
        core = name[1:-3]
        out.extend([f"对{core}的影响" if name.endswith("的作用") else f"对{core}的作用", f"对{core}的促进作用",
                    f"对{core}的推动作用", f"对{{county}}{core}的作用"])
    elif name.endswith(_COUNTED):
        out.extend([f"年度{name}", f"{area_word}{name}", f"{{county}}{name}", f"全年{name}", f"预计{name}"])
    elif name.endswith("率"):
        out.extend([f"年度{name}", f"{name}（%）", f"{{county}}{name}", f"全年{name}", f"项目{name}"])
    else:
        out.extend([f"{name}情况", f"年度{name}", f"{{county}}{name}"])
    seen = {name}
    unique = []
    for v in out:
        if v not in seen and not re.search(r"\s", v):
            seen.add(v)
            unique.append(v)
    return unique


def vary_number(text: str, rng: Random, percent: bool) -> str:
    """A plausible other target figure with the same number of digits (so the cell keeps its width):
    percentages move within 85-100, counts by up to -20%/+25% keeping their rounding."""
    if "." in text:
        whole, frac = text.split(".")
        value = Decimal(text)
        for _ in range(20):
            new = (value * Decimal(str(rng.uniform(0.8, 1.25)))).quantize(Decimal(1).scaleb(-len(frac)))
            s = f"{new:.{len(frac)}f}"
            if len(s.split(".")[0]) == len(whole) and s != text and new > 0:
                return s
        return text
    n = int(text)
    if percent:
        choices = [v for v in (85, 88, 90, 92, 95, 96, 97, 98, 99) if len(str(v)) == len(text) and v != n]
        return str(rng.choice(choices)) if choices and n < 100 else text
    if n <= 9:
        return str(max(1, min(9, n + rng.choice((-1, 1, 2))))) if n > 1 else text
    # one significant digit more than the template printed: 2400 -> 2380, 293 -> 301
    zeros = len(text) - len(text.rstrip("0"))
    step = 10 ** max(0, min(zeros, len(text) - 1) - 1)
    for _ in range(20):
        new = int(round(n * rng.uniform(0.8, 1.25) / step)) * step
        if len(str(new)) == len(text) and new != n:
            return str(new)
    return text
