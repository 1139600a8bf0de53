"""The PDF backend's intermediate page model: text lines, blocks of lines (or a table) and pages, plus the
box geometry and text normalisation shared by the analysis steps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from extractors._pdf_hyphens import join_lines
from pipeline.document import ElementKind

Box = tuple[float, float, float, float]

_WS_RE = re.compile(r"\s+")


@dataclass
class Line:
    """One text line of the page, with the dominant style of its spans."""

    text: str
    bbox: Box
    size: float
    bold: bool
    mono: bool
    chars: int
    italic: bool = False


@dataclass
class Block:
    """Lines that form one logical element (or, with ``table`` set, a table found on the page)."""

    lines: list[Line]
    bbox: Box
    table: Any = None  # TableData for table blocks
    kind: ElementKind | None = None
    level: int | None = None
    furniture: bool = False
    bulleted: bool = False

    @property
    def text(self) -> str:
        return join_lines([ln.text for ln in self.lines])

    @property
    def width(self) -> float:
        return self.bbox[2] - self.bbox[0]


@dataclass
class Page:
    """One page as read: its blocks in MuPDF's order, before reading order is decided."""

    number: int  # 1-based
    width: float
    height: float
    blocks: list[Block] = field(default_factory=list)
    chars: int = 0
    has_images: bool = False


def union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def inside_any(bbox: Box, rects: list[Box]) -> bool:
    """Whether the centre of ``bbox`` lies in one of ``rects`` (1 pt tolerance)."""
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return any(r[0] - 1 <= cx <= r[2] + 1 and r[1] - 1 <= cy <= r[3] + 1 for r in rects)


def normalized(text: str) -> str:
    """Whitespace-collapsed, lower-case text, for comparing lines with outline titles and across pages."""
    return _WS_RE.sub(" ", text).strip().lower()
