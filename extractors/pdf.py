"""PDF backend on PyMuPDF (1.x): reading order, headings, tables, page furniture, per-element page + bbox.

Why not PyMuPDF 2.x's layout model: see docs/decisions.md (it is an ONNX model run per page, an order of
magnitude slower than the text-layer analysis below, and our fidelity targets are met without it).

Pipeline per document:
1. open (typed errors for corrupt / encrypted / empty / too large);
2. per page: text lines from ``get_text("dict")`` (ligatures expanded, hyphenation repaired by MuPDF),
   tables from ``find_tables()`` only on pages whose vector drawings look like a grid (the costly step);
3. document-wide statistics: body font size, heading font sizes, repeated header/footer lines;
4. per page: lines grouped into blocks, blocks ordered (column-aware), classified, emitted as Elements.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pipeline.document import BBox, Document, Element, ElementKind, TableData
from pipeline.exceptions import (
    CorruptDocumentError,
    DocumentTooLargeError,
    EmptyDocumentError,
    EncryptedDocumentError,
    NeedsOCRError,
)

from ._grid_tables import Span, find_grid_tables
from ._structure import assign_heading_paths

# MuPDF text flags: keep whitespace, clip to the page, repair hyphenation; ligatures are expanded because
# TEXT_PRESERVE_LIGATURES is NOT set; images are not extracted (faster).
# Hyphenation is repaired by us, not by MuPDF's DEHYPHENATE, which also deletes the hyphen of real compounds
# broken at a line end ("temperature-" / "controlled" -> "temperaturecontrolled"); see _resolve_hyphens.
_TEXT_FLAGS = 1 | 64  # PRESERVE_WHITESPACE | MEDIABOX_CLIP
_SOFT = "\u00ad"  # marks a line-end hyphen until the document's vocabulary decides it
_SOFT_RE = re.compile(r"(\w+)\u00ad(\w+)")

_BULLET_RE = re.compile(r"^\s*([•◦▪▫●○■□‣⁃∙·*\-–—]|\(?[0-9]{1,2}[.)]|\(?[a-zA-Z][.)]|\([ivxIVX]{1,4}\))\s+")
_BULLET_ONLY_RE = re.compile(r"^\s*([•◦▪▫●○■□‣⁃∙·*\-–—])\s*$")
_CAPTION_RE = re.compile(r"^(Figure|Fig\.|Table|Listing|Chart|Exhibit)\s*[0-9IVX]+(\.\d+)?\s*[.:—–-]\s", re.IGNORECASE)
# Ligature code points some producers put in the text layer itself (MuPDF expands only glyph ligatures).
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"})
_NUMBERED_HEADING_RE = re.compile(r"^((?:\d{1,2}\.)*\d{1,2})\.?\s+\S")
_PAGE_NUMBER_RE = re.compile(
    r"^\s*(?:page\s*)?(\d{1,5}|[ivxlcdm]{1,7})(?:\s*(?:of|/)\s*\d{1,5})?\s*$", re.IGNORECASE
)
_SENTENCE_END_RE = re.compile(r"[.;,]\s*$")
_WS_RE = re.compile(r"\s+")
_CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f]")
# Running heads that carry the page number: "Chapter 3. Access Control 15", "12 Annual Report 2023".
_HEAD_WITH_NUMBER_RE = re.compile(r"^(\d{1,4}\s+\S.{0,100}|\S.{0,100}\S\s+\d{1,4})$")
_FOOT_WITH_NUMBER_RE = re.compile(r"^\S.{0,100}[^\s]\s+(\d{1,4}|[ivxlc]{1,6})$", re.IGNORECASE)


@dataclass
class _Line:
    text: str
    bbox: tuple[float, float, float, float]
    size: float
    bold: bool
    mono: bool
    chars: int
    italic: bool = False


@dataclass
class _Block:
    lines: list[_Line]
    bbox: tuple[float, float, float, float]
    table: Any = None  # TableData for table blocks
    kind: ElementKind | None = None
    level: int | None = None
    furniture: bool = False
    bulleted: bool = False

    @property
    def text(self) -> str:
        return _join_lines([ln.text for ln in self.lines])

    @property
    def width(self) -> float:
        return self.bbox[2] - self.bbox[0]


@dataclass
class _Page:
    number: int  # 1-based
    width: float
    height: float
    blocks: list[_Block] = field(default_factory=list)
    chars: int = 0
    has_images: bool = False


def _join_lines(lines: list[str]) -> str:
    out = ""
    for t in lines:
        t = t.strip()
        if not t:
            continue
        if not out:
            out = t
        elif out.endswith("-") and len(out) > 1 and out[-2].isalpha() and t[:1].islower():
            # A word broken at the line end: "docu-" + "mentation" or "temperature-" + "controlled".
            out = out[:-1] + _SOFT + t
        else:
            out += " " + t
    return out


def _resolve_hyphens(elements: list[Element]) -> None:
    """Decide each line-end hyphen from the document's own words: keep it when the hyphenated compound
    appears elsewhere unbroken ("temperature-controlled"), or when the first half is a word of the document
    and the joined form is not; otherwise join the halves ("docu-mentation" -> "documentation")."""
    if not any(_SOFT in e.text for e in elements):
        return
    vocab: Counter[str] = Counter()
    for e in elements:
        # Words of the document outside the broken ones themselves.
        for w in re.findall(r"[\w-]+", _SOFT_RE.sub(" ", e.text).lower()):
            vocab[w] += 1

    def fix(m: re.Match[str]) -> str:
        a, b = m.group(1), m.group(2)
        joined, hyphenated = (a + b).lower(), f"{a}-{b}".lower()
        if vocab[hyphenated] and not vocab[joined]:
            return f"{a}-{b}"
        if not vocab[joined] and vocab[a.lower()] and len(a) > 3 and len(b) > 3:
            # The first half is a word of this document and the joined form is not: a compound.
            return f"{a}-{b}"
        return a + b

    for e in elements:
        if _SOFT in e.text:
            e.text = _SOFT_RE.sub(fix, e.text).replace(_SOFT, "")


def _norm(text: str) -> str:
    return _WS_RE.sub(" ", text).strip().lower()


def _furniture_key(text: str) -> str:
    # Digits vary between pages ("Page 3 of 9"); compare the rest.
    return re.sub(r"\d+", "#", _norm(text))


class PdfExtractor:
    """PDF -> Document. Options are plain config; PyMuPDF is imported on first ``extract``."""

    format = "pdf"

    def __init__(
        self,
        *,
        password: str | None = None,
        max_pages: int | None = None,
        tables: str = "auto",
        keep_furniture: bool = False,
    ) -> None:
        if tables not in ("auto", "pymupdf", "always", "never"):
            raise ValueError("tables must be 'auto', 'pymupdf', 'always' or 'never'")
        self.password = password
        self.max_pages = max_pages
        self.tables = tables
        self.keep_furniture = keep_furniture

    # ------------------------------------------------------------------ open
    def _open(self, data: bytes, source: str) -> Any:
        import pymupdf

        # PyMuPDF prints an advert for its layout package on stdout, which would corrupt piped output.
        if hasattr(pymupdf, "no_recommend_layout"):
            pymupdf.no_recommend_layout()

        if not data:
            raise EmptyDocumentError("file is empty (0 bytes)", source=source, stage="parse")
        try:
            doc = pymupdf.open(stream=data, filetype="pdf")
        except Exception as exc:  # MuPDF raises FileDataError/RuntimeError subclasses
            raise CorruptDocumentError(f"cannot open PDF: {exc}", source=source, stage="parse") from exc
        if doc.needs_pass:
            if not self.password:
                raise EncryptedDocumentError(
                    "PDF is encrypted and needs a password (use --password / ParseOptions.password)",
                    source=source,
                    stage="parse",
                )
            if not doc.authenticate(self.password):
                raise EncryptedDocumentError("wrong password for encrypted PDF", source=source, stage="parse")
        if doc.page_count == 0:
            raise EmptyDocumentError("PDF has no pages", source=source, stage="parse")
        if self.max_pages is not None and doc.page_count > self.max_pages:
            raise DocumentTooLargeError(
                f"PDF has {doc.page_count} pages, over the limit of {self.max_pages} (--max-pages)",
                source=source,
                stage="parse",
            )
        return doc

    # ------------------------------------------------------------------ extract
    def extract(self, data: bytes, *, source: str, content_hash: str) -> Document:
        doc = self._open(data, source)
        warnings: list[str] = []
        unreadable: list[int] = []
        pages: list[_Page] = []
        try:
            for pno in range(doc.page_count):
                try:
                    pages.append(self._read_page(doc[pno], pno + 1))
                except Exception as exc:  # noqa: BLE001  # one broken page must not lose the document
                    warnings.append(f"page {pno + 1}: could not be read ({exc})")
                    unreadable.append(pno + 1)
                    pages.append(_Page(number=pno + 1, width=612, height=792))
            metadata = {k: v for k, v in (doc.metadata or {}).items() if v}
            toc = doc.get_toc(simple=True)
            repaired = bool(getattr(doc, "is_repaired", False))
        finally:
            doc.close()
        if warnings and all(not p.blocks for p in pages):
            raise CorruptDocumentError("no page of the PDF could be read: " + warnings[0], source=source, stage="parse")

        total_chars = sum(p.chars for p in pages)
        if repaired:
            warnings.append("the PDF file is damaged (e.g. truncated); MuPDF repaired it and content may be missing")
        if total_chars == 0 and repaired:
            raise CorruptDocumentError(
                "PDF is damaged (truncated or corrupt): no readable content after repair", source=source, stage="parse"
            )
        if total_chars == 0 and not any(p.has_images for p in pages):
            raise EmptyDocumentError(f"PDF has {len(pages)} page(s) but no text and no images", source=source, stage="parse")
        if total_chars == 0:
            images = sum(p.has_images for p in pages)
            raise NeedsOCRError(
                f"PDF has no text layer ({images} of {len(pages)} pages are images only); it needs OCR",
                source=source,
                stage="parse",
            )
        empty_pages = [p.number for p in pages if p.chars == 0 and p.has_images]
        if empty_pages:
            warnings.append(f"pages without a text layer (need OCR): {_ranges(empty_pages)}")

        furniture = self._mark_furniture(pages)
        body_size, heading_levels, bold_body = _font_statistics(pages)
        toc_index = _toc_index(toc)
        elements: list[Element] = []
        for page in pages:
            for block in _order_blocks(page.blocks):
                elements.extend(self._classify(block, page, body_size, heading_levels, toc_index, bold_body))
        _resolve_hyphens(elements)
        _promote_title(elements)
        assign_heading_paths(elements)
        if not self.keep_furniture:
            elements = [e for e in elements if e.kind not in (ElementKind.PAGE_HEADER, ElementKind.PAGE_FOOTER)]
        metadata.update(
            {
                "page_furniture": furniture,
                "body_font_size": body_size,
                "outline": [[lvl, title, page] for lvl, title, page in toc],
            }
        )
        return Document(
            source=source,
            content_hash=content_hash,
            format="pdf",
            pages=len(pages),
            elements=elements,
            metadata=metadata,
            warnings=warnings,
            unreadable_pages=unreadable,
        )

    # ------------------------------------------------------------------ page reading
    def _read_page(self, page: Any, number: int) -> _Page:
        rect = page.rect
        out = _Page(number=number, width=rect.width, height=rect.height)
        raw = page.get_text("dict", flags=_TEXT_FLAGS)
        markers: list[tuple[float, float, float, float]] = []
        # First pass: lines (with their spans, which the table finder needs), grouped by MuPDF block.
        raw_blocks: list[list[_Line]] = []
        spans_all: list[Span] = []
        for b in raw.get("blocks", []):
            if b.get("type") != 0:
                out.has_images = True
                continue
            lines: list[_Line] = []
            for ln in b.get("lines", []):
                spans = [s for s in ln.get("spans", []) if s.get("text", "").strip()]
                if not spans:
                    continue
                direction = ln.get("dir", (1, 0))
                if direction[0] < 0.5 and abs(direction[1]) > 0.5:
                    continue  # vertical text (e.g. arXiv side stamps) is not body text
                bbox = tuple(ln["bbox"])
                text = "".join(s["text"] for s in ln["spans"]).strip().translate(_LIGATURES)
                weights = [len(s["text"].strip()) for s in spans]
                n = sum(weights) or 1
                size = sum(s["size"] * w for s, w in zip(spans, weights)) / n
                bold = sum(w for s, w in zip(spans, weights) if _is_bold(s)) / n > 0.6
                mono = sum(w for s, w in zip(spans, weights) if _is_mono(s)) / n > 0.8
                italic = sum(w for s, w in zip(spans, weights) if _is_italic(s)) / n > 0.9
                if not any(ch.isalnum() for ch in text) and len(text) <= 3:
                    # A lone glyph (checkbox, bullet drawn apart from its text): remember it as a marker
                    # for the text to its right instead of emitting noise.
                    markers.append(bbox)
                    continue
                spans_all.extend(Span(text=s["text"].translate(_LIGATURES), bbox=tuple(s["bbox"])) for s in spans)
                lines.append(_Line(text=text, bbox=bbox, size=round(size * 2) / 2, bold=bold, mono=mono, chars=n, italic=italic))
            raw_blocks.append(lines)
        tables = self._find_tables(page, spans_all)
        table_rects = [t[0] for t in tables]
        for lines in raw_blocks:
            if table_rects:
                lines = [ln for ln in lines if not _inside_any(ln.bbox, table_rects)]
            out.chars += sum(ln.chars for ln in lines)
            for group in _split_block(lines):
                _add_block(out.blocks, _Block(lines=group, bbox=_union([ln.bbox for ln in group])))
        for m in markers:
            _attach_marker(out.blocks, m)
        if not out.has_images and out.chars == 0:
            out.has_images = bool(page.get_images())
        for rect_t, tdata in tables:
            out.chars += 1
            out.blocks.append(_Block(lines=[], bbox=rect_t, table=tdata, kind=ElementKind.TABLE))
        return out

    def _find_tables(self, page: Any, spans: list[Span]) -> list[tuple[tuple[float, float, float, float], TableData]]:
        if self.tables == "never":
            return []
        if self.tables == "auto":
            found = []
            for t in find_grid_tables(page, spans):
                if _plausible_table(t.rows):
                    found.append((t.bbox, TableData(rows=t.rows, header_rows=_header_rows(t.rows))))
            return found
        if self.tables == "pymupdf" and not _looks_gridded(page):
            return []
        found = []
        try:
            for t in page.find_tables().tables:
                rows = t.extract()
                if len(rows) < 2 or max((len(r) for r in rows), default=0) < 2:
                    continue
                cleaned = [[_logical_order(_CTRL_RE.sub(" ", c or "").replace("\n", " ").strip()) if c is not None else None for c in r] for r in rows]
                if not _plausible_table(cleaned):
                    continue
                found.append((tuple(t.bbox), TableData(rows=cleaned, header_rows=1)))
        except Exception:  # noqa: BLE001  # table finder failures degrade to plain text, never lose the page
            return []
        return found

    # ------------------------------------------------------------------ furniture
    def _mark_furniture(self, pages: list[_Page]) -> dict[str, Any]:
        """Running headers/footers and page numbers: repeated text in the top/bottom margins."""
        n = len(pages)
        counts: Counter[str] = Counter()
        candidates: list[tuple[_Block, str, str]] = []
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

    # ------------------------------------------------------------------ classification
    def _classify(
        self,
        block: _Block,
        page: _Page,
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
        toc_level = toc_index.get(page.number, {}).get(_norm(text))
        if toc_level is not None:
            return [Element(kind=ElementKind.HEADING, text=text, level=toc_level, page=page.number, bbox=bbox, metadata={"from": "outline"})]
        if all(ln.mono for ln in lines) and len(lines) >= 1 and not _looks_like_heading(block, body_size, bold_body):
            return [Element(kind=ElementKind.CODE, text="\n".join(ln.text for ln in lines), page=page.number, bbox=bbox)]
        level = self._heading_level(block, body_size, heading_levels, bold_body)
        if level is not None:
            return [Element(kind=ElementKind.HEADING, text=text, level=level, page=page.number, bbox=bbox)]
        if _CAPTION_RE.match(text):
            return [Element(kind=ElementKind.CAPTION, text=text, page=page.number, bbox=bbox)]
        if block.bulleted and not _BULLET_RE.match(first.text):
            return [Element(kind=ElementKind.LIST_ITEM, text=text, page=page.number, bbox=bbox)]
        if _BULLET_RE.match(first.text) or _BULLET_ONLY_RE.match(first.text):
            return _list_items(lines, page.number)
        return [Element(kind=ElementKind.PARAGRAPH, text=text, page=page.number, bbox=bbox)]

    def _heading_level(
        self, block: _Block, body_size: float, heading_levels: dict[float, int], bold_body: bool
    ) -> int | None:
        if not _looks_like_heading(block, body_size, bold_body):
            return None
        size = max(ln.size for ln in block.lines)
        m = _NUMBERED_HEADING_RE.match(block.text)
        if m:
            return min(m.group(1).count(".") + 1, 6)
        if size in heading_levels:
            return heading_levels[size]
        return max(heading_levels.values(), default=0) + 1


def _looks_like_heading(block: _Block, body_size: float, bold_body: bool = False) -> bool:
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


def _list_items(lines: list[_Line], page: int) -> list[Element]:
    items: list[list[_Line]] = []
    for ln in lines:
        if _BULLET_RE.match(ln.text) or _BULLET_ONLY_RE.match(ln.text) or not items:
            items.append([ln])
        else:
            items[-1].append(ln)
    out = []
    for it in items:
        text = _join_lines([ln.text for ln in it])
        m = _BULLET_RE.match(text)
        marker = m.group(1) if m else ""
        text = text[m.end():] if m else text
        text = _BULLET_ONLY_RE.sub("", text).strip()
        if text.startswith(("•", "◦", "▪", "●", "■", "‣", "∙", "·")):
            text = text[1:].strip()
        if text:
            # Ordered lists keep their numbering ("1.", "(a)"), which the text refers to.
            meta = {"marker": marker} if any(ch.isalnum() for ch in marker) else {}
            out.append(Element(kind=ElementKind.LIST_ITEM, text=text, page=page, bbox=BBox.of(_union([ln.bbox for ln in it])), metadata=meta))
    return out


def _is_bold(span: dict[str, Any]) -> bool:
    font = span.get("font", "")
    return bool(span.get("flags", 0) & 16) or any(
        w in font for w in ("Bold", "Black", "Heavy", "Semibold", "SemiBold", "Demi", "Medium")
    )


def _header_rows(rows: list[list[str | None]]) -> int:
    """Leading rows without a row label (first cell empty) are column headers: "Three Months Ended",
    then "July 1, 2023 | June 25, 2022". They are repeated when a long table is split into chunks."""
    n = 0
    while n < min(4, len(rows) - 1) and not (rows[n][0] or "").strip() and any((c or "").strip() for c in rows[n]):
        n += 1
    return max(1, n)


def _plausible_table(rows: list[list[str | None]]) -> bool:
    """Reject what the table finder returns for boxed diagrams and forms: mostly empty grids, or grids that
    repeat the same text in many cells (merged cells of a figure)."""
    cells = [c for r in rows for c in r]
    filled = [c for c in cells if c]
    if len(filled) < 4 or len(filled) < 0.4 * len(cells):
        return False
    if len(set(filled)) < 0.7 * len(filled):
        return False
    multi = sum(1 for r in rows if sum(1 for c in r if c) >= 2)
    if multi < 0.5 * len(rows):
        return False
    # Prose split by a column rule is not a table: table cells are short.
    words = sum(len(c.split()) for c in filled) / len(filled)
    return words <= 8


def _is_rtl_char(ch: str) -> bool:
    return "\u0590" <= ch <= "\u08ff" or "\ufb1d" <= ch <= "\ufdff" or "\ufe70" <= ch <= "\ufeff"


def _logical_order(text: str) -> str:
    """The table finder returns right-to-left cell text in visual order (reversed); the text layer gives
    logical order. Reverse cells that are mostly Arabic/Hebrew so both agree."""
    letters = [c for c in text if c.isalpha()]
    if letters and sum(_is_rtl_char(c) for c in letters) > 0.5 * len(letters):
        return text[::-1]
    return text


def _is_italic(span: dict[str, Any]) -> bool:
    font = span.get("font", "")
    return bool(span.get("flags", 0) & 2) or "Italic" in font or "Oblique" in font


def _attach_marker(blocks: list[_Block], m: tuple[float, float, float, float]) -> None:
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


def _is_mono(span: dict[str, Any]) -> bool:
    font = span.get("font", "")
    return bool(span.get("flags", 0) & 8) or any(w in font for w in ("Mono", "Courier", "Consolas", "Code"))


def _split_block(lines: list[_Line]) -> list[list[_Line]]:
    """Split a MuPDF block where the style changes (a heading glued to its paragraph) or a bullet starts
    after prose, so each group is one logical element."""
    groups: list[list[_Line]] = []
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


def _add_block(blocks: list[_Block], block: _Block) -> None:
    """Append ``block``, or merge it into a recent block it continues (same column, same style, next
    line). Some producers emit every line as its own block, interleaving columns; looking back a few
    blocks re-assembles paragraphs before reading order is decided."""
    first = block.lines[0]
    if not _BULLET_RE.match(first.text) and not _BULLET_ONLY_RE.match(first.text):
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
                prev.bbox = _union([prev.bbox, block.bbox])
                return
    blocks.append(block)


def _union(boxes: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _inside_any(bbox: tuple[float, float, float, float], rects: list[tuple[float, float, float, float]]) -> bool:
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return any(r[0] - 1 <= cx <= r[2] + 1 and r[1] - 1 <= cy <= r[3] + 1 for r in rects)


def _margin_zone(bbox: tuple[float, float, float, float], height: float) -> str:
    if bbox[3] <= height * 0.1:
        return "top"
    if bbox[1] >= height * 0.9:
        return "bottom"
    return ""


def _looks_gridded(page: Any) -> bool:
    """Cheap test for a ruled table: vertical rules at >= 2 distinct x and horizontal rules at >= 2
    distinct y, or cell-sized filled rectangles on a grid (>= 3 distinct x and y).

    ``get_cdrawings`` returns raw path dicts without building objects per item, so this costs well under
    a millisecond per page; ``find_tables`` (100+ ms) runs only when this says yes. Pages whose only
    drawings are full-width row shading or underlines (typical of financial statements) are skipped: the
    table finder rarely recovers a grid there, and their text already reads row by row."""
    try:
        paths = page.get_cdrawings()
    except Exception:  # noqa: BLE001
        return False
    if len(paths) < 3:
        return False
    hs: set[int] = set()
    vs: set[int] = set()
    rx: set[int] = set()
    ry: set[int] = set()
    for p in paths:
        for item in p.get("items", ()):
            op = item[0]
            if op == "l":
                (x0, y0), (x1, y1) = item[1], item[2]
                if abs(y0 - y1) < 1 and abs(x1 - x0) > 10:
                    hs.add(round(y0))
                elif abs(x0 - x1) < 1 and abs(y1 - y0) > 5:
                    vs.add(round(x0))
            elif op == "re":
                r = item[1]
                w, h = abs(r[2] - r[0]), abs(r[3] - r[1])
                if w > 10 and h < 2:
                    hs.add(round(r[1]))
                elif h > 5 and w < 2:
                    vs.add(round(r[0]))
                elif w > 10 and h > 5:
                    rx.add(round(r[0]))
                    ry.add(round(r[1]))
    return (len(vs) >= 2 and len(hs) >= 2) or (len(rx) >= 3 and len(ry) >= 3)


def _font_statistics(pages: list[_Page]) -> tuple[float, dict[float, int], bool]:
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


def _toc_index(toc: list[list[Any]]) -> dict[int, dict[str, int]]:
    index: dict[int, dict[str, int]] = {}
    for level, title, page in toc:
        if isinstance(page, int) and page >= 1 and title:
            index.setdefault(page, {})[_norm(title)] = int(level)
    return index


def _promote_title(elements: list[Element]) -> None:
    """The first, largest level-1 heading on page 1 is the document title."""
    for el in elements[:15]:
        if el.page != 1:
            break
        if el.kind is ElementKind.HEADING and el.level == 1 and el.metadata.get("from") != "outline":
            el.kind = ElementKind.TITLE
            break


def _ranges(nums: list[int]) -> str:
    out, start, prev = [], nums[0], nums[0]
    for n in nums[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out)


# ---------------------------------------------------------------------- reading order
def _order_blocks(blocks: list[_Block]) -> list[_Block]:
    """Column-aware reading order (a gutter-based XY-cut).

    Find a vertical gutter that separates narrow multi-line blocks into left and right columns; blocks
    that cross the gutter (titles, full-width figures, tables) split the region into bands; each band is
    read left column first, then right, recursively (three columns are two nested splits). Regions with
    no gutter are read in rows, top to bottom, left to right within a row.
    """
    if len(blocks) <= 1:
        return list(blocks)
    gutter = _find_gutter(blocks)
    if gutter is None:
        return _rows(blocks)
    g0, g1 = gutter
    spanners = sorted((b for b in blocks if b.bbox[0] < g1 and b.bbox[2] > g0), key=lambda b: b.bbox[1])
    rest = [b for b in blocks if not (b.bbox[0] < g1 and b.bbox[2] > g0)]
    out: list[_Block] = []
    top = float("-inf")
    for sp in spanners + [None]:
        bottom = sp.bbox[1] if sp is not None else float("inf")
        band = [b for b in rest if top <= (b.bbox[1] + b.bbox[3]) / 2 < bottom]
        left = [b for b in band if b.bbox[2] <= g0 + 0.5]
        right = [b for b in band if b.bbox[0] >= g1 - 0.5]
        if left and right:
            out += _order_blocks(left) + _order_blocks(right)
        else:
            out += _rows(band)
        if sp is not None:
            out.append(sp)
            top = (sp.bbox[1] + sp.bbox[3]) / 2
    return out


def _rows(blocks: list[_Block]) -> list[_Block]:
    ordered = sorted(blocks, key=lambda b: (b.bbox[1], b.bbox[0]))
    rows: list[list[_Block]] = []
    for b in ordered:
        if rows:
            r = rows[-1]
            ry0, ry1 = min(x.bbox[1] for x in r), max(x.bbox[3] for x in r)
            h = min(b.bbox[3] - b.bbox[1], ry1 - ry0) or 1
            overlap = min(ry1, b.bbox[3]) - max(ry0, b.bbox[1])
            if overlap > 0.5 * h and all(b.bbox[0] >= x.bbox[2] - 1 or b.bbox[2] <= x.bbox[0] + 1 for x in r):
                r.append(b)
                continue
        rows.append([b])
    return [b for r in rows for b in sorted(r, key=lambda x: x.bbox[0])]


def _find_gutter(blocks: list[_Block]) -> tuple[float, float] | None:
    x0 = min(b.bbox[0] for b in blocks)
    x1 = max(b.bbox[2] for b in blocks)
    y0 = min(b.bbox[1] for b in blocks)
    y1 = max(b.bbox[3] for b in blocks)
    width, height = x1 - x0, y1 - y0
    if width <= 0 or height <= 0:
        return None
    # Small single-line blocks (page numbers, short centred labels) may sit in the gutter; they must not
    # hide it. Furniture is never part of the reading order decision.
    narrow = [
        b for b in blocks
        if b.width < 0.6 * width and b.table is None and not b.furniture and (len(b.lines) > 1 or b.width >= 0.15 * width)
    ]
    if len(narrow) < 2:
        return None
    intervals = sorted((b.bbox[0], b.bbox[2]) for b in narrow)
    gaps: list[tuple[float, float]] = []
    cur_end = intervals[0][1]
    for s, e in intervals[1:]:
        if s > cur_end + 6:
            gaps.append((cur_end, s))
        cur_end = max(cur_end, e)
    best = None
    for g0, g1 in gaps:
        mid = (g0 + g1) / 2
        if not (x0 + 0.2 * width < mid < x1 - 0.2 * width):
            continue
        left = [b for b in narrow if b.bbox[2] <= g0 + 0.5]
        right = [b for b in narrow if b.bbox[0] >= g1 - 0.5]
        # Columns hold prose: several lines on each side, a real share of the height. This keeps
        # label/value pairs of forms and invoices (single-line blocks) in row order.
        lines_l = sum(len(b.lines) for b in left)
        lines_r = sum(len(b.lines) for b in right)
        h_l = sum(b.bbox[3] - b.bbox[1] for b in left)
        h_r = sum(b.bbox[3] - b.bbox[1] for b in right)
        if lines_l < 4 or lines_r < 4:
            continue
        if _median([b.width for b in left]) < 0.25 * width or _median([b.width for b in right]) < 0.25 * width:
            continue
        if min(h_l, h_r) < 0.15 * height:
            continue
        # Blocks crossing the gutter must not dominate: that would be a single-column region.
        crossing = [b for b in blocks if b.bbox[0] < g0 and b.bbox[2] > g1]
        if sum(len(b.lines) for b in crossing) > lines_l + lines_r:
            continue
        if best is None or (g1 - g0) > (best[1] - best[0]):
            best = (g0, g1)
    return best


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else 0.0
