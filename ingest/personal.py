"""Personal data in disclosures: the officials named in forms (负责人, 经办人, 联系人, 填报人) and
phone numbers. They become ``Contact`` records (kept apart, so they can be withheld from the public
graph) and are masked wherever text is kept for search.
"""
from __future__ import annotations

import re

from ingest.model import Contact, Span
from ingest.source import SourceText

MOBILE_RE = re.compile(r"(?<![\d])1[3-9]\d{9}(?![\d])")
# Landlines only where they cannot be an amount or a code: with an area-code dash (0358-1234567)
# or right after a phone label.
_LANDLINE_DASH_RE = re.compile(r"(?<![\d-])0\d{2,3}[-－—]\d{7,8}(?![\d])")
_PHONE_LABEL = r"(?:联系电话|联系方式|办公电话|固定电话|电话|手机号码|手机|Tel|TEL|tel)"
_LABELLED_PHONE_RE = re.compile(_PHONE_LABEL + r"\s*[:：]?\s*(?P<phone>0\d{2,3}[-－—\s]?\d{7,8}|1[3-9]\d{9})(?![\d])")

ROLES = ("项目负责人", "单位负责人", "财务负责人", "负责人", "经办人", "联系人", "填报人", "填表人", "审核人")
_ROLE = "|".join(ROLES)
# A role used as a form label (负责人: 王宇), not in a sentence (主要负责人要亲自抓).
_ROLE_RE = re.compile(
    rf"(?P<role>{_ROLE})\s*(?:[:：]\s*|\t\s*)(?P<name>[\u4e00-\u9fff·]{{2,4}}?)"
    rf"(?=$|[^\u4e00-\u9fff·]|{_ROLE}|{_PHONE_LABEL}|填报日期|日期)"
)
_ROLE_AT_END_RE = re.compile(rf"(?P<role>{_ROLE})\s*[:：]?\s*$")
_NOT_NAMES = re.compile(r"签字|签章|盖章|姓名|电话|日期|单位|部门|本人|负责|财务|办公|股|科|局|室|中心|县|市|区|处|组")


def _is_name(text: str | None) -> bool:
    """A personal name as forms print it: two to four Chinese characters that are not a label or unit."""
    return bool(text) and bool(re.fullmatch(r"[\u4e00-\u9fff·]{2,4}", text)) and not _NOT_NAMES.search(text)


def find_phones(text: str) -> list[tuple[str, int, int]]:
    """Every phone number in a text as (digits, start, end)."""
    found: dict[int, tuple[str, int, int]] = {}
    for m in MOBILE_RE.finditer(text):
        found[m.start()] = (m.group(), m.start(), m.end())
    for m in _LANDLINE_DASH_RE.finditer(text):
        found.setdefault(m.start(), (m.group(), m.start(), m.end()))
    for m in _LABELLED_PHONE_RE.finditer(text):
        start = m.start("phone")
        if not any(s <= start < e for _, s, e in found.values()):
            found[start] = (m.group("phone"), start, m.end("phone"))
    return sorted(found.values(), key=lambda t: t[1])


def mask_phone(phone: str) -> str:
    """Keep the first digit and the separators, star the rest: 13633587231 -> 1**********."""
    return phone[0] + "".join("*" if ch.isdigit() else ch for ch in phone[1:])


def find_contacts(source: SourceText) -> list[Contact]:
    """The people named in form fields with the phone number of their line, deduplicated."""
    contacts: list[Contact] = []
    seen: set[tuple[str, str | None, str | None]] = set()
    lines = source.lines
    for i, line in enumerate(lines):
        no = i + 1
        people = [(m.group("role"), m.group("name")) for m in _ROLE_RE.finditer(line) if _is_name(m.group("name"))]
        ending = _ROLE_AT_END_RE.search(line)
        if ending and not people:
            # The label ends the line and the name starts the next (narrow PDF columns).
            nxt = next((ln.strip() for ln in lines[i + 1:i + 4] if ln.strip()), "")
            if _is_name(nxt):
                people.append((ending.group("role"), nxt))
        phones = [p for p, _, _ in find_phones(line)]
        if not people and phones and re.search(_PHONE_LABEL, line):
            people = [("联系电话", None)]
        for role, name in people:
            phone = phones[0] if phones else None
            key = (role, name, phone)
            if key in seen:
                continue
            seen.add(key)
            contacts.append(Contact(role=role, name=name, phone=phone,
                                    span=Span(no, no, source.page_of(no))))
    return contacts


def mask_personal(text: str, contacts: list[Contact] | None = None) -> str:
    """The text with phone numbers starred and the names of form contacts replaced by stars."""
    out = text
    for phone, start, end in reversed(find_phones(out)):
        out = out[:start] + mask_phone(phone) + out[end:]
    out = _ROLE_RE.sub(lambda m: m.group(0)[: m.start("name") - m.start()] + "*" * len(m.group("name"))
                       if _is_name(m.group("name")) else m.group(0), out)
    for contact in contacts or []:
        if contact.name and len(contact.name) >= 2:
            out = out.replace(contact.name, "*" * len(contact.name))
    return out
