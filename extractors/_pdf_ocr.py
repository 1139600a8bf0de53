"""OCR for PDF pages without a usable text layer: the page is rendered, read by rapidocr (``_ocr``) and turned
into the same page model (lines in blocks, in PDF points) the text layer gives, so reading order, headings and
furniture work on it unchanged. Each line's font size is estimated from its box height."""

from __future__ import annotations

from typing import Any

from extractors._ocr import OcrLine, group_paragraphs, ocr_lines, pixmap_to_array
from extractors._pdf_layout import Block, Line, Page, union

_LINE_TO_FONT = 1.25  # a recognized line's box is about this many times the font size


def wants_ocr(page: Page, mode: str) -> bool:
    """``auto``: pages with images and no text layer; ``always``: every page; ``never``: none."""
    if mode == "always":
        return True
    return mode == "auto" and page.chars == 0 and page.has_images


def ocr_page(pdf_page: Any, page: Page, dpi: int) -> Page:
    """``page`` rebuilt from OCR of the rendered ``pdf_page`` (raises ``_ocr.OcrUnavailable``)."""
    import pymupdf

    pix = pdf_page.get_pixmap(dpi=dpi, colorspace=pymupdf.csRGB, alpha=False)
    scale = 72.0 / dpi
    lines = ocr_lines(pixmap_to_array(pix))
    blocks = [_block(group, scale) for group in group_paragraphs(lines)]
    return Page(number=page.number, width=page.width, height=page.height, blocks=blocks,
                chars=sum(len(ln.text) for b in blocks for ln in b.lines), has_images=page.has_images)


def _block(group: list[OcrLine], scale: float) -> Block:
    lines = [
        Line(
            text=ln.text,
            bbox=(ln.x0 * scale, ln.y0 * scale, ln.x1 * scale, ln.y1 * scale),
            size=round((ln.y1 - ln.y0) * scale / _LINE_TO_FONT, 1),
            bold=False,
            mono=False,
            chars=len(ln.text),
        )
        for ln in group
    ]
    return Block(lines=lines, bbox=union([ln.bbox for ln in lines]))
