"""Normalisers: 文号 in every bracket style the documents use, target values, numbers, codes."""
from decimal import Decimal

import pytest

from ingest.normalize import (find_document_numbers, find_titles, function_parent, join_fragments, parse_decimal,
                              parse_target_value, to_wan)


@pytest.mark.parametrize("text, numbers", [
    ("冀财社[2022]172 号", ["冀财社〔2022〕172号"]),
    ("根据晋医保发(2021)17号文件", ["晋医保发〔2021〕17号"]),
    ("(廊办字［2018]\n72号）", ["廊办字〔2018〕72号"]),
    ("【2008】2号", ["〔2008〕2号"]),
    ("兴财社(2022)82号关于下达2022年中央和省 级财政医疗救助补助资金预算晋财社(2021)250 号",
     ["兴财社〔2022〕82号", "晋财社〔2021〕250号"]),
    ("廊人社发[2015]226号文廊人社规[2017]1 号文", ["廊人社发〔2015〕226号", "廊人社规〔2017〕1号"]),
    ("兴财社【2023】76号2023年中央财政", ["兴财社〔2023〕76号"]),
    ("晋财社 (2021)247号-2", ["晋财社〔2021〕247号"]),
    ("（冀医保函〔2019〕42号）文件要求", ["冀医保函〔2019〕42号"]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_document_numbers_are_normalised(text, numbers):
    assert [m.ref.number for m in find_document_numbers(text)] == numbers


def test_document_number_parts():
    ref = find_document_numbers("冀财社[2022]218 号")[0].ref
    assert (ref.issuer, ref.year, ref.serial) == ("冀财社", 2022, "218")


def test_titles_keep_inner_quotes():
    titles = [t for t, _, _ in find_titles("按照廊坊市医疗保障局《关于印刷宣传贯彻<条例>加强基金监管集中宣传月活动实施方案》的通知")]
    assert titles == ["关于印刷宣传贯彻〈条例〉加强基金监管集中宣传月活动实施方案"]


@pytest.mark.parametrize("raw, comparator, number, unit", [
    ("≥98%", "≥", Decimal("98"), "%"),
    ("≧ 40 万", "≥", Decimal("40"), "万"),
    ("100 百分比", None, Decimal("100"), "%"),
    ("2400 人次", None, Decimal("2400"), "人次"),
    ("＝5人", "=", Decimal("5"), "人"),
    ("≤10000/人次", "≤", Decimal("10000"), "/人次"),
    ("2023 年 12 月", None, None, None),
    ("2021.12月", None, None, None),
    ("成效明显", None, None, None),
])
def test_target_values(raw, comparator, number, unit):
    value = parse_target_value(raw)
    assert (value.comparator, value.number, value.unit) == (comparator, number, unit)


def test_numbers_and_units():
    assert parse_decimal("4,881.48") == Decimal("4881.48")
    assert parse_decimal("合计") is None
    assert to_wan(Decimal("6670104"), "元") == Decimal("667.0104")
    assert function_parent("2101202") == "21012" and function_parent("21012") == "210"
    assert join_fragments(["社会", "保障", "和就业"]) == "社会保障和就业"
