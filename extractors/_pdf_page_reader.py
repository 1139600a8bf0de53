"""Reading one PDF page: text lines from MuPDF's ``get_text("dict")`` with their dominant style, grouped
into blocks that each hold one logical element, and the page's tables."""

from __future__ import annotations

from typing import Any

from extractors._grid_tables import Span
from extractors._pdf_layout import Block, Box, Line, Page, inside_any, union
from extractors._pdf_lists import BULLET_ONLY_RE, BULLET_RE
from extractors._pdf_tables import find_tables
from extractors._table_mode import TableMode
from pipeline.document import ElementKind

# MuPDF text flags: keep whitespace, clip to the page, repair hyphenation; ligatures are expanded because
# TEXT_PRESERVE_LIGATURES is NOT set; images are not extracted (faster).
# Hyphenation is repaired by us, not by MuPDF's DEHYPHENATE, which also deletes the hyphen of real compounds
# broken at a line end ("temperature-" / "controlled" -> "temperaturecontrolled"); see _pdf_hyphens.
_TEXT_FLAGS = 1 | 64  # PRESERVE_WHITESPACE | MEDIABOX_CLIP
# Ligature code points some producers put in the text layer itself (MuPDF expands only glyph ligatures).
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"})


def read_page(page: Any, number: int, tables: TableMode) -> Page:
    """``page`` (a PyMuPDF page, 1-based ``number``) as blocks; ``tables`` is the extractor's option."""
    rect = page.rect
    out = Page(number=number, width=rect.width, height=rect.height)
    raw = page.get_text("dict", flags=_TEXT_FLAGS)
    markers: list[Box] = []
    # First pass: lines (with their spans, which the table finder needs), grouped by MuPDF block.
    raw_blocks: list[list[Line]] = []
    spans_all: list[Span] = []
    for b in raw.get("blocks", []):
        if b.get("type") != 0:
            out.has_images = True
            continue
        lines: list[Line] = []
        for ln in b.get("lines", []):
            spans = [s for s in ln.get("spans", []) if s.get("text", "").strip()]
            if not spans:
                continue
            direction = ln.get("dir", (1, 0))
            if direction[0] < 0.5 and abs(direction[1]) > 0.5:
                continue  # vertical text (e.g. arXiv side stamps) is not body text
            line = _styled_line(ln, spans)
            if not any(ch.isalnum() for ch in line.text) and len(line.text) <= 3:
                # A lone glyph (checkbox, bullet drawn apart from its text): remember it as a marker
                # for the text to its right instead of emitting noise.
                markers.append(line.bbox)
                continue
            spans_all.extend(Span(text=s["text"].translate(_LIGATURES), bbox=tuple(s["bbox"]), mono=_is_mono(s),
                                  font=s.get("font", ""))
                             for s in spans)
            lines.append(line)
        raw_blocks.append(lines)
    found = find_tables(page, spans_all, tables)
    table_rects = [t[0] for t in found]
    for lines in raw_blocks:
        if table_rects:
            lines = [ln for ln in lines if not inside_any(ln.bbox, table_rects)]
        out.chars += sum(ln.chars for ln in lines)
        for group in _split_block(lines):
            _add_block(out.blocks, Block(lines=group, bbox=union([ln.bbox for ln in group])))
    for m in markers:
        _attach_marker(out.blocks, m)
    if not out.has_images and out.chars == 0:
        out.has_images = bool(page.get_images())
    for rect_t, tdata in found:
        out.chars += 1
        out.blocks.append(Block(lines=[], bbox=rect_t, table=tdata, kind=ElementKind.TABLE))
    return out


def _styled_line(raw_line: dict[str, Any], spans: list[dict[str, Any]]) -> Line:
    """A ``get_text("dict")`` line whose non-blank ``spans`` are given: its text, and the size and styles
    that most of its characters have."""
    bbox = tuple(raw_line["bbox"])
    text = "".join(s["text"] for s in raw_line["spans"]).strip().translate(_LIGATURES)
    weights = [len(s["text"].strip()) for s in spans]
    n = sum(weights) or 1
    size = sum(s["size"] * w for s, w in zip(spans, weights)) / n
    bold = sum(w for s, w in zip(spans, weights) if _is_bold(s)) / n > 0.6
    mono = sum(w for s, w in zip(spans, weights) if _is_mono(s)) / n > 0.8
    italic = sum(w for s, w in zip(spans, weights) if _is_italic(s)) / n > 0.9
    return Line(text=text, bbox=bbox, size=round(size * 2) / 2, bold=bold, mono=mono, chars=n, italic=italic)


def _is_bold(span: dict[str, Any]) -> bool:
    font = span.get("font", "")
    return bool(span.get("flags", 0) & 16) or any(
        w in font for w in ("Bold", "Black", "Heavy", "Semibold", "SemiBold", "Demi", "Medium")
    )


def _is_italic(span: dict[str, Any]) -> bool:
    font = span.get("font", "")
    return bool(span.get("flags", 0) & 2) or "Italic" in font or "Oblique" in font


def _is_mono(span: dict[str, Any]) -> bool:
    font = span.get("font", "")
    return bool(span.get("flags", 0) & 8) or any(w in font for w in ("Mono", "Courier", "Consolas", "Code"))


def _attach_marker(blocks: list[Block], m: Box) -> None:
    """Mark as bulleted the block whose first line starts just right of the lone glyph ``m``."""
    cy = (m[1] + m[3]) / 2
    best = None
    for b in blocks:
        if b.table is not None or not b.lines:
            continue
        ln = b.lines[0]
        on_row = ln.bbox[1] - 2 <= cy <= ln.bbox[3] + 2 and 0 <= ln.bbox[0] - m[2] <= 40
        if on_row and (best is None or ln.bbox[0] < best.lines[0].bbox[0]):
            best = b
    if best is not None:
        best.bulleted = True


def _split_block(lines: list[Line]) -> list[list[Line]]:
    """Split a MuPDF block where the style changes (a heading glued to its paragraph) or a bullet starts
    after prose, so each group is one logical element."""
    groups: list[list[Line]] = []
    for ln in lines:
        if groups:
            prev = groups[-1][-1]
            style_change = (
                abs(ln.size - prev.size) >= 0.75 or ln.bold != prev.bold or ln.mono != prev.mono or ln.italic != prev.italic
            )
            same_row = abs(ln.bbox[1] - prev.bbox[1]) < 2  # spans of one visual line split by MuPDF
            if same_row or not style_change:
                groups[-1].append(ln)
                continue
        groups.append([ln])
    return groups


def _add_block(blocks: list[Block], block: Block) -> None:
    """Append ``block``, or merge it into a recent block it continues (same column, same style, next
    line). Some producers emit every line as its own block, interleaving columns; looking back a few
    blocks re-assembles paragraphs before reading order is decided."""
    first = block.lines[0]
    if not BULLET_RE.match(first.text) and not BULLET_ONLY_RE.match(first.text):
        for prev in reversed(blocks[-8:]):
            if prev.table is not None:
                continue
            last = prev.lines[-1]
            line_h = max(1.0, last.bbox[3] - last.bbox[1])
            gap = first.bbox[1] - last.bbox[3]
            same_style = (
                abs(first.size - last.size) < 0.75
                and (first.bold, first.mono, first.italic) == (last.bold, last.mono, last.italic)
            )
            indent = prev.bbox[0] - first.bbox[0]
            # Same left edge, or the previous block is a paragraph's indented first line.
            aligned = abs(indent) <= max(3.0, 0.5 * line_h) or (len(prev.lines) == 1 and 0 < indent <= 3 * line_h)
            overlap = min(block.bbox[2], prev.bbox[2]) - max(block.bbox[0], prev.bbox[0])
            if same_style and aligned and -0.3 * line_h <= gap <= 0.7 * line_h and overlap >= 0.5 * min(block.width, prev.width):
                prev.lines.extend(block.lines)
                prev.bbox = union([prev.bbox, block.bbox])
                return
    blocks.append(block)
