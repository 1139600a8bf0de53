"""Page images with boxes drawn over them, and where boxes come from (elements, chunks, quotes).

Boxes are in PDF points with the origin top-left (:class:`~pipeline.document.BBox`), as every extractor and
``FieldEvidence.bbox`` give them. Pages are rendered with PyMuPDF and drawn on with Pillow. Only paged
sources (PDF, images) can be rendered; HTML, Markdown and Office files have no page geometry.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.document import FURNITURE_KINDS, BBox, Document, Element

if TYPE_CHECKING:
    from pipeline.chunking import Chunk
    from pipeline.protocols import SearchHit

Source = str | os.PathLike[str] | bytes
Rect = tuple[float, float, float, float]

# One colour per element kind (notebook 01 draws elements by kind).
KIND_COLORS: dict[str, str] = {
    "title": "#7b1fa2", "heading": "#c2185b", "paragraph": "#1565c0", "list_item": "#00838f",
    "table": "#2e7d32", "caption": "#ef6c00", "code": "#5d4037", "formula": "#6d4c41",
    "page_header": "#9e9e9e", "page_footer": "#9e9e9e",
}
# Distinct colours cycled over chunks.
PALETTE: tuple[str, ...] = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
                            "#9a6324", "#469990", "#808000", "#000075", "#bfef45")
SUPPORTED_COLOR = "#e0a800"    # evidence found and consistent / a verified citation
UNSUPPORTED_COLOR = "#d00000"  # a value the document does not support / a citation that could not be verified
UNCERTAIN_COLOR = "#1e88e5"    # printed, but chosen by the model or tied by the field's own words only, or OCR
CONFLICT_COLOR = "#8e24aa"     # the same printed value taken by two fields of different meaning


@dataclass(frozen=True)
class Highlight:
    """A box to draw on ``page`` (1-based): ``fill`` shades it, ``dashed`` outlines it in dashes."""

    page: int
    bbox: BBox
    label: str = ""
    color: str = SUPPORTED_COLOR
    fill: bool = True
    dashed: bool = False


def open_paged(source: Source) -> Any | None:
    """The source as an open PyMuPDF document when it has page geometry (PDF, image), else None."""
    import pymupdf

    try:
        if isinstance(source, bytes):
            doc = pymupdf.open(stream=source)
        else:
            data = Path(source).read_bytes()
            doc = pymupdf.open(stream=data, filetype=_filetype(Path(source), data))
    except (RuntimeError, ValueError, OSError):
        return None
    if doc.is_reflowable or doc.page_count == 0:  # HTML, EPUB, text: no fixed pages
        doc.close()
        return None
    return doc


def _filetype(path: Path, data: bytes) -> str | None:
    if data[:5] == b"%PDF-":
        return "pdf"
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in {"png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif", "webp", "pnm"} else None


def page_png(doc: Any, page: int, highlights: Sequence[Highlight] = (), *, zoom: float = 1.5,
             gutter: int = 0) -> bytes:
    """PNG of ``page`` (1-based) of an open PyMuPDF document with ``highlights`` drawn over it; ``gutter``
    pixels of white space on the right give labels room beside the page."""
    import pymupdf
    from PIL import Image

    p = doc[page - 1]
    pix = p.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
    image = Image.new("RGB", (pix.width + max(0, gutter), pix.height), "white")
    image.paste(Image.frombytes("RGB", (pix.width, pix.height), pix.samples), (0, 0))
    words = [(w[0] * zoom, w[1] * zoom, w[2] * zoom, w[3] * zoom) for w in p.get_text("words")]
    image = draw_highlights(image, [h for h in highlights if h.page == page], zoom, obstacles=words)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def render_page(source: Source, page: int = 1, highlights: Iterable[Highlight] = (), *, zoom: float = 1.5,
                gutter: int = 0) -> bytes:
    """PNG bytes of one page of a PDF (or image) with ``highlights`` drawn on it and ``gutter`` pixels of room
    for labels on the right (ValueError when the source has no pages to render, or no such page)."""
    doc = open_paged(source)
    if doc is None:
        raise ValueError(f"{_name(source)} has no page images (not a PDF or image)")
    try:
        if not 1 <= page <= doc.page_count:
            raise ValueError(f"page {page} is outside 1..{doc.page_count}")
        return page_png(doc, page, list(highlights), zoom=zoom, gutter=gutter)
    finally:
        doc.close()


def page_size(doc: Any, page: int) -> tuple[float, float]:
    rect = doc[page - 1].rect
    return float(rect.width), float(rect.height)


def _rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def draw_highlights(image: Any, highlights: Sequence[Highlight], zoom: float,
                    obstacles: Sequence[Rect] = ()) -> Any:
    """``image`` (a PIL RGB image of a page rendered at ``zoom``) with the boxes drawn: translucent fill,
    a solid or dashed outline, and each label in a tag beside its box where it hides the least of the other
    boxes, the other tags and the ``obstacles`` (the page's words, in pixels)."""
    from PIL import Image, ImageDraw

    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    pen = ImageDraw.Draw(overlay)
    boxes = [_scaled(h.bbox, zoom) for h in highlights]
    for h, box in zip(highlights, boxes):
        r, g, b = _rgb(h.color)
        if h.fill:
            pen.rectangle(box, fill=(r, g, b, 70))
        if h.dashed:
            _dashed_rect(pen, box, (r, g, b, 255))
        else:
            pen.rectangle(box, outline=(r, g, b, 255), width=2)
    font = _font()
    placed: list[Rect] = []
    for i, h in enumerate(highlights):
        if h.label:
            others = boxes[:i] + boxes[i + 1:] + list(obstacles)
            _tag(pen, font, h, boxes[i], image.size, others, placed)
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")



def _scaled(b: BBox, zoom: float) -> Rect:
    return b.x0 * zoom - 2, b.y0 * zoom - 2, b.x1 * zoom + 2, b.y1 * zoom + 2


def _font() -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=13)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def _dashed_rect(pen: Any, box: Rect, color: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    step = 6.0
    for y in (y0, y1):
        x = x0
        while x < x1:
            pen.line([(x, y), (min(x + step, x1), y)], fill=color, width=2)
            x += 2 * step
    for x in (x0, x1):
        y = y0
        while y < y1:
            pen.line([(x, y), (x, min(y + step, y1))], fill=color, width=2)
            y += 2 * step


def _overlap(a: Rect, b: Rect) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def place_tag(w: float, h: float, box: Rect, area: Rect, others: Sequence[Rect], placed: Sequence[Rect]) -> Rect:
    """Where a ``w`` x ``h`` tag for ``box`` goes: left of, right of, above, below or inside the top of the box,
    whichever stays within ``area`` and covers the fewest ``others`` (boxes) and ``placed`` (tags); ties keep
    that order. Any unit, as long as all rectangles share it."""
    x0, y0, x1, y1 = box
    spots = [(x0 - w - 1, y0), (x1 + 1, y0), (x0, y0 - h - 1), (x0, y1 + 1), (x1 - w, y0 - h - 1), (x0, y0)]

    def cost(spot: tuple[float, float]) -> float:
        rect = (spot[0], spot[1], spot[0] + w, spot[1] + h)
        if rect[0] < area[0] or rect[1] < area[1] or rect[2] > area[2] or rect[3] > area[3]:
            return 1e12 + spot[1]
        return 10 * sum(_overlap(rect, p) for p in placed) + sum(_overlap(rect, o) for o in others)

    x, y = min(spots, key=cost)
    return x, y, x + w, y + h


def _text_color(r: int, g: int, b: int) -> tuple[int, int, int, int]:
    """Black on light strips, white on dark ones."""
    return (0, 0, 0, 255) if 0.299 * r + 0.587 * g + 0.114 * b > 150 else (255, 255, 255, 255)


def _tag(pen: Any, font: Any, h: Highlight, box: Rect, size: tuple[int, int], others: list[Rect],
         placed: list[Rect]) -> None:
    """The label on a strip of the box's colour, placed by :func:`place_tag`."""
    r, g, b = _rgb(h.color)
    text = h.label if len(h.label) <= 60 else h.label[:57] + "..."
    left, top, right, bottom = pen.textbbox((0, 0), text, font=font)
    rect = place_tag(right - left + 6, bottom - top + 4, box, (0, 0, size[0], size[1]), others, placed)
    placed.append(rect)
    pen.rectangle(rect, fill=(r, g, b, 235))
    pen.text((rect[0] + 3 - left, rect[1] + 2 - top), text, fill=_text_color(r, g, b), font=font)


def _name(source: Source) -> str:
    return "<bytes>" if isinstance(source, bytes) else os.fspath(source)


# -- where boxes come from -------------------------------------------------------------------------------


def element_highlights(document: Document, page: int | None = None, *, furniture: bool = False,
                       labels: bool = True) -> list[Highlight]:
    """One box per element with a bbox (on ``page`` only, when given), coloured by kind and labelled
    ``"#<element number> <kind>"``."""
    out: list[Highlight] = []
    for i, el in enumerate(document.elements):
        if el.bbox is None or (page is not None and el.page != page):
            continue
        if el.kind in FURNITURE_KINDS and not furniture:
            continue
        out.append(Highlight(el.page, el.bbox, f"#{i} {el.kind.value}" if labels else "",
                             KIND_COLORS.get(el.kind.value, "#1565c0"), fill=True))
    return out


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00ad", "")).strip().lower()


def chunk_elements(document: Document, chunk: Chunk | SearchHit) -> list[Element]:
    """The elements whose text went into ``chunk`` (on its pages, matched by text): a long element split
    over several chunks belongs to each of them; a heading belongs to the chunks of its own section."""
    lines = chunk.text.split("\n", 1)
    prefix = " > ".join(chunk.heading_path)
    body = _norm(lines[1] if (prefix and len(lines) == 2 and lines[0] == prefix) else chunk.text)
    own_heading = _norm(chunk.heading_path[-1]) if chunk.heading_path else None
    out: list[Element] = []
    for el in document.elements:
        if el.kind in FURNITURE_KINDS or not el.text.strip():
            continue
        if not chunk.page_start <= el.page <= chunk.page_end:
            continue
        text = _norm(el.text)
        if el.is_heading and text == own_heading or text[:60] in body or _shares_piece(text, body):
            out.append(el)
    return out


def _shares_piece(element_text: str, chunk_text: str) -> bool:
    """A piece of a split element: some 60-character stretch of the chunk lies in the element."""
    for start in range(0, max(1, len(chunk_text) - 60), 120):
        piece = chunk_text[start:start + 60]
        if len(piece) >= 40 and piece in element_text:
            return True
    return False


def chunk_highlights(document: Document, chunks: Iterable[Chunk | SearchHit], *,
                     page: int | None = None) -> list[Highlight]:
    """Boxes of each chunk's elements, one colour per chunk, the first box labelled ``"c<index>"``. An element
    in several chunks (overlap, a split paragraph) is filled for the first; a chunk made only of such elements
    is outlined dashed over them. A search hit reached through table rows (``metadata["rows"]``) is drawn as
    those rows, not as its whole table. Table-row units (``metadata["unit"] == "table_row"``) are skipped:
    their table's chunk is drawn."""
    out: list[Highlight] = []
    drawn: set[int] = set()
    for n, ch in enumerate(c for c in chunks if c.metadata.get("unit") != "table_row"):
        color = PALETTE[n % len(PALETTE)]
        label = f"c{ch.index if hasattr(ch, 'index') else ch.metadata.get('chunk_index', n)}"
        rows = marked_rows(ch, page)
        if rows:
            out += [Highlight(p, box, "" if i else label, color) for i, (p, box) in enumerate(rows)]
            continue
        mine = [el for el in chunk_elements(document, ch) if el.bbox is not None and page in (None, el.page)]
        fresh = [el for el in mine if id(el) not in drawn]
        for i, el in enumerate(fresh or mine):
            assert el.bbox is not None
            out.append(Highlight(el.page, el.bbox, "" if i else label, color, fill=bool(fresh), dashed=not fresh))
            drawn.add(id(el))
    return out


def marked_rows(hit: Chunk | SearchHit, page: int | None = None) -> list[tuple[int, BBox]]:
    """(page, box) of the table rows a search hit was reached through (``metadata["rows"]``, set by
    ``collapse_rows``), on ``page`` only when given."""
    out: list[tuple[int, BBox]] = []
    for row in hit.metadata.get("rows") or ():
        box, on = row.get("bbox"), row.get("page")
        if box and on and page in (None, on):
            out.append((int(on), BBox.model_validate(box)))
    return out


def table_row_boxes(element: Element, quote: str) -> list[BBox]:
    """Boxes of the rows of a table ``element`` that ``quote`` cites, top to bottom; empty when the table has no
    row boxes or no row matches. Each line of the quote (a markdown table row, ``|`` ignored) cites the rows
    holding it, else the rows it holds whole (a line over several rows)."""
    table = element.table
    if table is None or table.row_boxes is None:
        return []
    texts = [_norm(" ".join(c or "" for c in row)) for row in table.rows]
    cited: set[int] = set()
    for line in quote.splitlines():
        q = _norm(line.replace("|", " "))
        if q:
            cited.update([i for i, t in enumerate(texts) if q in t]
                         or [i for i, t in enumerate(texts) if len(t) >= 3 and t in q])
    return [BBox.of(table.row_boxes[i]) for i in sorted(cited)]


def quote_boxes(doc: Any, page: int, quote: str) -> list[BBox]:
    """Where ``quote`` is printed on ``page`` of an open PyMuPDF document: the whole quote, else its first and
    last words (a quote can differ inside, e.g. in spacing), merged per line."""
    if not quote.strip() or not 1 <= page <= doc.page_count:
        return []
    p = doc[page - 1]
    text = " ".join(quote.split())
    rects = p.search_for(text)
    if not rects:
        words = text.split()
        for probe in (" ".join(words[:8]), " ".join(words[-8:])):
            if len(probe) >= 8:
                rects += p.search_for(probe)
    return _merge_lines([BBox.of(r) for r in rects])


def _merge_lines(boxes: list[BBox]) -> list[BBox]:
    """Boxes on the same line (overlapping vertically and adjacent) joined into one."""
    out: list[BBox] = []
    for b in sorted(boxes, key=lambda b: (round(b.y0), b.x0)):
        if out and abs(out[-1].y0 - b.y0) < 2 and b.x0 - out[-1].x1 < 12:
            last = out.pop()
            b = BBox(x0=min(last.x0, b.x0), y0=min(last.y0, b.y0), x1=max(last.x1, b.x1), y1=max(last.y1, b.y1))
        out.append(b)
    return out


def element_for_quote(document: Document, quote: str, pages: Sequence[int] = ()) -> Element | None:
    """The element (on ``pages``, if given) whose text holds ``quote``, or its first 40 characters; a table's
    text is compared without its cell separators (a quote names cells, with or without the ``|``)."""
    q = _norm(quote)
    if not q:
        return None
    for probe in (q, q[:40]):
        for el in document.elements:
            if pages and el.page not in pages:
                continue
            text = _norm(el.text)
            if probe in text or el.table is not None and _norm(probe.replace("|", " ")) in _norm(text.replace("|", " ")):
                return el
    return None



__all__ = [
    "KIND_COLORS",
    "PALETTE",
    "SUPPORTED_COLOR",
    "UNSUPPORTED_COLOR",
    "Highlight",
    "chunk_elements",
    "chunk_highlights",
    "draw_highlights",
    "element_for_quote",
    "element_highlights",
    "marked_rows",
    "open_paged",
    "page_png",
    "page_size",
    "place_tag",
    "quote_boxes",
    "render_page",
    "table_row_boxes",
]
