"""Blocks -> Elements: document-wide font statistics and outline, then each block classified as table,
furniture, heading (with its level), code, caption, list item or paragraph."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from extractors._pdf_layout import Block, Page, normalized
from extractors._pdf_lists import BULLET_ONLY_RE, BULLET_RE, list_items
from pipeline.document import BBox, Element, ElementKind

_CAPTION_RE = re.compile(r"^(Figure|Fig\.|Table|Listing|Chart|Exhibit)\s*[0-9IVX]+(\.\d+)?\s*[.:—–-]\s", re.IGNORECASE)
_NUMBERED_HEADING_RE = re.compile(r"^((?:\d{1,2}\.)*\d{1,2})\.?\s+\S")
_SENTENCE_END_RE = re.compile(r"[.;,]\s*$")


def font_statistics(pages: list[Page]) -> tuple[float, dict[float, int], bool]:
    """(body size, heading size -> level, whether body text itself is bold)."""
    sizes: Counter[float] = Counter()
    bold_chars = 0
    for p in pages:
        for b in p.blocks:
            if b.table is None and not b.furniture:
                for ln in b.lines:
                    sizes[ln.size] += ln.chars
                    bold_chars += ln.chars if ln.bold else 0
    if not sizes:
        return 10.0, {}, False
    body = sizes.most_common(1)[0][0]
    total = sum(sizes.values())
    # Heading sizes: clearly larger than body and rare (a size used for a large share of text is body text
    # of another kind, e.g. a large-print abstract).
    big = sorted((s for s, c in sizes.items() if s >= body * 1.15 and c < total * 0.2), reverse=True)
    return body, {s: i + 1 for i, s in enumerate(big[:5])}, bold_chars > 0.5 * total


def outline_by_page(toc: list[list[Any]]) -> dict[int, dict[str, int]]:
    """The outline as page -> normalised title -> level."""
    index: dict[int, dict[str, int]] = {}
    for level, title, page in toc:
        if isinstance(page, int) and page >= 1 and title:
            index.setdefault(page, {})[normalized(title)] = int(level)
    return index


def classify(
    block: Block,
    page: Page,
    body_size: float,
    heading_levels: dict[float, int],
    toc_index: dict[int, dict[str, int]],
    bold_body: bool = False,
) -> list[Element]:
    bbox = BBox.of(block.bbox)
    if block.table is not None:
        return [
            Element(
                kind=ElementKind.TABLE,
                text=block.table.to_markdown(),
                table=block.table,
                page=page.number,
                bbox=bbox,
            )
        ]
    text = block.text
    if not text:
        return []
    if block.furniture:
        return [Element(kind=block.kind or ElementKind.PAGE_FOOTER, text=text, page=page.number, bbox=bbox)]
    lines = block.lines
    first = lines[0]
    toc_level = toc_index.get(page.number, {}).get(normalized(text))
    if toc_level is not None:
        return [Element(kind=ElementKind.HEADING, text=text, level=toc_level, page=page.number, bbox=bbox, metadata={"from": "outline"})]
    if all(ln.mono for ln in lines) and len(lines) >= 1 and not _looks_like_heading(block, body_size, bold_body):
        return [Element(kind=ElementKind.CODE, text="\n".join(ln.text for ln in lines), page=page.number, bbox=bbox)]
    level = _heading_level(block, body_size, heading_levels, bold_body)
    if level is not None:
        return [Element(kind=ElementKind.HEADING, text=text, level=level, page=page.number, bbox=bbox)]
    if _CAPTION_RE.match(text):
        return [Element(kind=ElementKind.CAPTION, text=text, page=page.number, bbox=bbox)]
    if block.bulleted and not BULLET_RE.match(first.text):
        return [Element(kind=ElementKind.LIST_ITEM, text=text, page=page.number, bbox=bbox)]
    if BULLET_RE.match(first.text) or BULLET_ONLY_RE.match(first.text):
        return list_items(lines, page.number)
    return [Element(kind=ElementKind.PARAGRAPH, text=text, page=page.number, bbox=bbox)]


def _heading_level(block: Block, body_size: float, heading_levels: dict[float, int], bold_body: bool) -> int | None:
    if not _looks_like_heading(block, body_size, bold_body):
        return None
    size = max(ln.size for ln in block.lines)
    m = _NUMBERED_HEADING_RE.match(block.text)
    if m:
        return min(m.group(1).count(".") + 1, 6)
    if size in heading_levels:
        return heading_levels[size]
    return max(heading_levels.values(), default=0) + 1


def _looks_like_heading(block: Block, body_size: float, bold_body: bool = False) -> bool:
    text = block.text
    if len(block.lines) > 3 or len(text) > 160 or len(text) < 2:
        return False
    if not any(c.isalpha() for c in text):
        return False
    if _SENTENCE_END_RE.search(text) and not _NUMBERED_HEADING_RE.match(text):
        return False
    size = max(ln.size for ln in block.lines)
    all_bold = all(ln.bold for ln in block.lines)
    if size >= body_size * 1.15:
        return len(text.split()) <= 25
    if bold_body:
        # Bold is the body weight here, so it says nothing about headings.
        return False
    if all_bold and size >= body_size * 1.04:
        # Slightly larger and heavier than body text: a sub-heading (common: body + 1 pt, medium weight).
        return len(text.split()) <= 25
    if all_bold and size >= body_size * 0.9:
        # Bold lines at body size: a run-in label ("Note:") or a heading. Headings are short.
        return len(text.split()) <= 14 and not text.endswith(":")
    if len(block.lines) == 1 and block.lines[0].italic and size >= body_size * 0.95:
        # A lone italic line at body size: the lowest heading level of many manuals and papers.
        return len(text.split()) <= 8 and text[:1].isupper() and not text.endswith(":")
    return False


def promote_title(elements: list[Element]) -> None:
    """The first, largest level-1 heading on page 1 is the document title."""
    for el in elements[:15]:
        if el.page != 1:
            break
        if el.kind is ElementKind.HEADING and el.level == 1 and el.metadata.get("from") != "outline":
            el.kind = ElementKind.TITLE
            break
