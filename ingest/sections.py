"""Splitting a disclosure's prose into its sections (部门职责, 机构设置, 收支说明, 绩效目标 ...).

Works on the blocks of ``ingest.paragraphs``, so every rendering splits the same way. A heading
whose title names a known section starts a new section of that kind; an unnamed heading starts an
"other" section only at the top levels (第X部分, 一、), deeper ones stay inside the section as its
sub-headings (1.认真开展党史学习教育 inside 分项绩效目标). A table caption ends the section: what
follows belongs to the table (project goals, indicator rows), not to the narrative.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.model import SectionKind
from ingest.paragraphs import Block, BlockKind

# First match wins: 三公 before 经费, 职责 before 机构设置 (部门职责及机构设置情况 is about duties).
_SECTION_PATTERNS: list[tuple[re.Pattern[str], SectionKind]] = [
    (re.compile(r"名词解释|名词说明|术语解释"), SectionKind.GLOSSARY),
    (re.compile(r"三公"), SectionKind.THREE_PUBLIC),
    (re.compile(r"机关运行"), SectionKind.OPERATING),
    (re.compile(r"政府采购"), SectionKind.PROCUREMENT),
    (re.compile(r"国有资产|固定资产|资产占[用有]|资产信息|资产情况"), SectionKind.ASSETS),
    (re.compile(r"保障措施"), SectionKind.SAFEGUARDS),
    (re.compile(r"绩效"), SectionKind.PERFORMANCE_GOALS),
    (re.compile(r"职责|职能"), SectionKind.DUTIES),
    (re.compile(r"机构设置|内设机构|机构情况|人员情况|财政供养|人员编制"), SectionKind.ORGANISATION),
    (re.compile(r"收入说明|支出说明|收支|预算安排|总体情况|收入预算|支出预算|基本支出|支出情况|收入情况|拨款"),
     SectionKind.OVERVIEW),
]


def classify_heading(title: str | None) -> SectionKind | None:
    """The section kind a heading names, or None for headings that name none (比上年增减情况)."""
    if not title:
        return None
    for pattern, kind in _SECTION_PATTERNS:
        if pattern.search(title):
            return kind
    return None


@dataclass
class Section:
    """A run of prose under one heading; ``blocks`` are its prose paragraphs and sub-headings."""

    kind: SectionKind
    title: str
    level: int
    heading: Block | None
    blocks: list[Block] = field(default_factory=list)

    @property
    def first_line(self) -> int:
        if self.heading is not None:
            return self.heading.first_line
        return self.blocks[0].first_line if self.blocks else 0

    @property
    def last_line(self) -> int:
        return self.blocks[-1].last_line if self.blocks else self.first_line

    @property
    def prose(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == BlockKind.PROSE]

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)

    def has_content(self) -> bool:
        """Whether the section says something: some prose, not just a caption-like line."""
        text = "".join(b.text for b in self.prose)
        if not text:
            return False
        if self.kind == SectionKind.OTHER:
            return len(text) >= 20 or bool(re.search(r"[。；！？]", text))
        return True


def split_sections(blocks: list[Block]) -> list[Section]:
    """The prose sections of a document in reading order (sections with no prose are dropped)."""
    sections: list[Section] = []
    current: Section | None = None
    seen_heading = False

    def close() -> None:
        if current is not None and current.has_content():
            sections.append(current)

    for block in blocks:
        if block.kind == BlockKind.HEADING:
            seen_heading = True
            kind = classify_heading(block.title)
            level = block.level if block.level is not None else 5
            top = level <= 1 and (current is None or level <= current.level)
            # A numbered sentence ((九)所属事业单位承担的行政职能全部划归行政机关。) is an item of the
            # section it stands in, whatever it mentions; so is any sub-heading of a glossary.
            item = block.text.endswith("。") or (current is not None and current.kind == SectionKind.GLOSSARY)
            if current is not None and item and not top:
                current.blocks.append(block)
            elif kind is not None or top:
                close()
                current = Section(kind or SectionKind.OTHER, block.title or "", level, block)
            elif current is not None:
                current.blocks.append(block)
        elif block.kind == BlockKind.TABLE_TITLE:
            seen_heading = True
            close()
            current = None
        elif block.kind == BlockKind.PROSE:
            if current is None:
                if seen_heading:
                    continue  # text between tables: goals and notes of a table, not narrative
                current = Section(SectionKind.OTHER, "", 0, None)
            current.blocks.append(block)
    close()
    return sections
