"""Page furniture: running headers and footers and page numbers, found as text repeated in the top and
bottom margins across the document's pages."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from extractors._pdf_layout import Block, Box, Page, normalized
from pipeline.document import ElementKind

_PAGE_NUMBER_RE = re.compile(
    r"^\s*(?:page\s*)?(\d{1,5}|[ivxlcdm]{1,7})(?:\s*(?:of|/)\s*\d{1,5})?\s*$", re.IGNORECASE
)
# Running heads that carry the page number: "Chapter 3. Access Control 15", "12 Annual Report 2023".
_HEAD_WITH_NUMBER_RE = re.compile(r"^(\d{1,4}\s+\S.{0,100}|\S.{0,100}\S\s+\d{1,4})$")
_FOOT_WITH_NUMBER_RE = re.compile(r"^\S.{0,100}[^\s]\s+(\d{1,4}|[ivxlc]{1,6})$", re.IGNORECASE)


def mark_furniture(pages: list[Page]) -> dict[str, Any]:
    """Running headers/footers and page numbers: repeated text in the top/bottom margins.

    Marks their blocks (``furniture``, ``kind``) and returns what was found, for the document's metadata."""
    n = len(pages)
    counts: Counter[str] = Counter()
    candidates: list[tuple[Block, str, str]] = []
    for p in pages:
        seen: set[str] = set()
        for b in p.blocks:
            if b.table is not None:
                continue
            zone = _margin_zone(b.bbox, p.height)
            if not zone:
                continue
            key = _furniture_key(b.text)
            candidates.append((b, key, zone))
            if key not in seen:
                counts[key] += 1
                seen.add(key)
    # Running heads often alternate (even/odd pages, one per chapter): 20% of pages is enough.
    threshold = max(2, int(0.2 * n + 0.5))
    headers: set[str] = set()
    footers: set[str] = set()
    page_labels: list[str] = []
    for b, key, zone in candidates:
        text = b.text
        is_number = bool(_PAGE_NUMBER_RE.match(text))
        numbered_head = len(b.lines) == 1 and bool(
            (_HEAD_WITH_NUMBER_RE if zone == "top" else _FOOT_WITH_NUMBER_RE).match(text)
        )
        if (n >= 2 and counts[key] >= threshold and len(key) > 0) or is_number or numbered_head:
            b.furniture = True
            b.kind = ElementKind.PAGE_HEADER if zone == "top" else ElementKind.PAGE_FOOTER
            if is_number:
                page_labels.append(text.strip())
            else:
                (headers if zone == "top" else footers).add(text)
    return {"headers": sorted(headers), "footers": sorted(footers), "page_labels": page_labels}


def _furniture_key(text: str) -> str:
    # Digits vary between pages ("Page 3 of 9"); compare the rest.
    return re.sub(r"\d+", "#", normalized(text))


def _margin_zone(bbox: Box, height: float) -> str:
    if bbox[3] <= height * 0.1:
        return "top"
    if bbox[1] >= height * 0.9:
        return "bottom"
    return ""
