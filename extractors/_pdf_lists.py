"""List items in PDF text: the bullet and numbering patterns, and splitting a bulleted block into items."""

from __future__ import annotations

import re

from extractors._pdf_hyphens import join_lines
from extractors._pdf_layout import Line, union
from pipeline.document import BBox, Element, ElementKind

BULLET_RE = re.compile(r"^\s*([•◦▪▫●○■□‣⁃∙·*\-–—]|\(?[0-9]{1,2}[.)]|\(?[a-zA-Z][.)]|\([ivxIVX]{1,4}\))\s+")
BULLET_ONLY_RE = re.compile(r"^\s*([•◦▪▫●○■□‣⁃∙·*\-–—])\s*$")


def list_items(lines: list[Line], page: int) -> list[Element]:
    items: list[list[Line]] = []
    for ln in lines:
        if BULLET_RE.match(ln.text) or BULLET_ONLY_RE.match(ln.text) or not items:
            items.append([ln])
        else:
            items[-1].append(ln)
    out = []
    for it in items:
        text = join_lines([ln.text for ln in it])
        m = BULLET_RE.match(text)
        marker = m.group(1) if m else ""
        text = text[m.end():] if m else text
        text = BULLET_ONLY_RE.sub("", text).strip()
        if text.startswith(("•", "◦", "▪", "●", "■", "‣", "∙", "·")):
            text = text[1:].strip()
        if text:
            # Ordered lists keep their numbering ("1.", "(a)"), which the text refers to.
            meta = {"marker": marker} if any(ch.isalnum() for ch in marker) else {}
            out.append(Element(kind=ElementKind.LIST_ITEM, text=text, page=page, bbox=BBox.of(union([ln.bbox for ln in it])), metadata=meta))
    return out
