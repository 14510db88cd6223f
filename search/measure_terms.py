"""What a performance indicator measures, said in English, as the Chinese words tables print.

Performance-target tables (绩效目标表) name their third-level indicators with a small stock of
measure words: 满意度, 知晓率, 覆盖率, 参保人数, 及时率, 拨付率, 到位率, 完成率 … The embedding model
matches an English phrasing ("how satisfied the insured are") to those short Chinese labels far
less reliably than to a Chinese phrasing, so ``similar`` adds a second query vector made of the
Chinese measure words the English text names. The table below is the stock of measure words of
the genre (Ministry of Finance performance-target templates), not of any one disclosure; a phrase
not in it leaves the query as it is.
"""
from __future__ import annotations

import re

# (English pattern, Chinese measure words). Patterns are matched on the lower-cased text as words.
MEASURES: list[tuple[str, tuple[str, ...]]] = [
    (r"satisf\w*|happy with|content with|approval|complain\w*", ("满意度",)),
    (r"aware\w*|know(?:s|n|ledge)? (?:of|about)|familiar\w*|understand\w* (?:of )?(?:the )?polic\w*", ("知晓率",)),
    (r"cover(?:age|ed|s)?", ("覆盖率",)),
    (r"insured|enrol+(?:ed|ment|s)?|sign(?:ed)? up|participa\w*|join(?:ed)? the insurance", ("参保人数", "参保率")),
    (r"how many people|number of (?:people|persons|residents|beneficiar\w*|recipients)|headcount",
     ("人数",)),
    (r"person[- ]times|visits|cases (?:handled|reviewed|processed)|times served", ("人次",)),
    (r"on time|timel\w*|punctual\w*|prompt\w*|within the deadline|delay\w*", ("及时率", "按时")),
    (r"complet\w*|finish\w*|accomplish\w*", ("完成率",)),
    (r"paid out|pay(?:ing)? out|disburs\w*|payout|payment\w*|allocat\w*|transfer\w*", ("拨付率", "发放率", "支付率")),
    (r"in place|arriv\w*|delivered on|received in full|funds? reach\w*", ("到位率",)),
    (r"spent|spending rate|execution|budget execution|use of (?:the )?funds?", ("执行率",)),
    (r"accura\w*|correct\w*|error[- ]free|mistake\w*", ("准确率",)),
    (r"pass rate|qualif\w*|up to standard|meet\w* (?:the )?standard|compliance|complian\w*", ("合格率", "达标率")),
    (r"cost\w*|within (?:the )?budget|expens\w*|overspend\w*", ("成本",)),
    (r"settle\w*|settlement", ("结算率",)),
    (r"reimburs\w*|refund\w*", ("报销比例",)),
    (r"subsid\w* (?:standard|per|rate)|per (?:person|capita|resident) subsid\w*|subsidy level", ("补助标准",)),
    (r"inspect\w*|supervis\w*|audit\w*|oversight|monitor\w*", ("检查", "监督检查覆盖率")),
    (r"fraud\w*|cheat\w*|misuse", ("欺诈骗保",)),
    (r"fund safety|safety of (?:the )?funds?|fund security|secure funds?", ("基金安全",)),
    (r"sustain\w*|long[- ]term effect\w*|lasting", ("可持续",)),
    (r"archiv\w*|filing|records? kept", ("档案归档率",)),
    (r"publicity|campaign\w*|promot\w*|outreach|advertis\w*", ("宣传",)),
    (r"train\w*", ("培训",)),
    (r"review\w*|assess\w*|apprais\w*|examin\w*", ("审核",)),
    (r"resolv\w*|handl\w*|dealt with|processed|closure rate", ("处理率", "办结率")),
    (r"dispute\w*|legal", ("法律纠纷",)),
    (r"poor|poverty|needy|low[- ]income|hardship|in difficulty", ("困难群众", "贫困人口")),
    (r"medical assistance|medical aid|medical relief", ("医疗救助",)),
    (r"long[- ]term care", ("长护险",)),
    (r"chronic|special (?:outpatient )?diseases?", ("慢特病",)),
    (r"hospital\w*|inpatient", ("住院",)),
    (r"vaccin\w*|immuni[sz]\w*", ("疫苗接种",)),
    (r"standard of living|living conditions|quality of life|wellbeing|well-being", ("生活水平",)),
    (r"burden|financial pressure|relie\w*", ("负担",)),
]

_COMPILED = [(re.compile(rf"\b(?:{pattern})\b"), words) for pattern, words in MEASURES]
_CJK = re.compile(r"[\u4e00-\u9fff]")


# A rate asked for ("share of", "percentage", "rate") wants the 率 forms; a number ("how many",
# "number of") the counts (人数, 人次, 次数). A phrase naming neither keeps both.
_RATE = re.compile(r"\b(?:rate|ratio|share|percentage|proportion|per ?cent|%)\b")
_COUNT = re.compile(r"\b(?:how many|number of|count of|total number)\b")


def _prefer(words: list[str], lowered: str) -> list[str]:
    rate, count = bool(_RATE.search(lowered)), bool(_COUNT.search(lowered))
    if rate == count:
        return words
    keep = [w for w in words if w.endswith(("率", "比例")) == rate or not w.endswith(("率", "比例", "人数", "人次"))]
    return keep or words


def chinese_measure_words(text: str) -> list[str]:
    """The Chinese measure words an English phrasing names, in table order, without repeats;
    [] for a text that already contains Chinese (the model matches Chinese to Chinese well)."""
    if _CJK.search(text or ""):
        return []
    lowered = (text or "").lower()
    words: list[str] = []
    for pattern, found in _COMPILED:
        if pattern.search(lowered):
            words += [w for w in found if w not in words]
    return _prefer(words, lowered)
