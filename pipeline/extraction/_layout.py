"""The page as rows of cells: where each piece of text sits, so labels can be found beside values.

Candidate extraction (:mod:`._candidates`) needs to know which text is *beside* a value: the label
to its left on the same row, or the column header above it. Elements of a parsed document are too
coarse for that (a PDF block may hold a label column and a value column at once), so for a PDF
whose file is at hand the words are read again with PyMuPDF and grouped into visual rows, and each
row is cut into cells at wide horizontal gaps. Other documents (text, HTML, a PDF that is gone)
use their elements: each line is a row, cut into cells at runs of two or more spaces, and a
table's cells keep their grid (the header row above its column).

Geometry is in PDF points for PDFs, and synthetic (character columns, line numbers) otherwise;
``box`` is the real box on the page when there is one, for evidence.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.document import BBox, Document, Element, ElementKind
from pipeline.values import ISO_CURRENCIES

_CELL_RE = re.compile(r"(?:(?!\s{2,}|\t| \| ).)+")  # a run of text between wide gaps or table bars
_CHAR_W = 5.0  # synthetic width of one character for text documents
_LINE_H = 12.0  # synthetic height of one line


@dataclass
class Cell:
    """A run of text on one row, separated from its neighbours by a wide gap."""

    page: int
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    box: BBox | None = None
    # (start, end, box) of each word in ``text``, for the box of a value inside the cell
    words: list[tuple[int, int, BBox | None]] = field(default_factory=list)

    @property
    def height(self) -> float:
        return max(1.0, self.y1 - self.y0)

    def box_of(self, start: int, end: int) -> BBox | None:
        """The box of the characters ``start..end`` of the cell (its words), else the cell's box."""
        boxes = [b for s, e, b in self.words if b is not None and s < end and e > start]
        if not boxes:
            return self.box
        return BBox(x0=min(b.x0 for b in boxes), y0=min(b.y0 for b in boxes),
                    x1=max(b.x1 for b in boxes), y1=max(b.y1 for b in boxes))


@dataclass
class Layout:
    """Every cell of a document, in reading order per page (top to bottom, left to right)."""

    cells: list[Cell]
    page_heights: dict[int, float]
    _by_page: dict[int, list[Cell]] | None = field(default=None, init=False, repr=False, compare=False)

    def on_page(self, page: int) -> list[Cell]:
        """The cells of one page (indexed once: a 160-page filing has tens of thousands of cells, and every
        label lookup scanning them all made the layout quadratic in the document's length)."""
        if self._by_page is None:
            index: dict[int, list[Cell]] = {}
            for c in self.cells:
                index.setdefault(c.page, []).append(c)
            self._by_page = index
        return self._by_page.get(page, [])

    def left_of(self, cell: Cell) -> Cell | None:
        """The nearest cell on the same row to the left of ``cell``."""
        best: Cell | None = None
        for c in self.on_page(cell.page):
            if c is cell or c.x1 > cell.x0 + 1:
                continue
            if _overlap(c.y0, c.y1, cell.y0, cell.y1) < 0.5 * min(c.height, cell.height):
                continue
            if best is None or c.x1 > best.x1:
                best = c
        return best

    def row_label(self, cell: Cell) -> tuple[Cell | None, bool]:
        """The nearest cell with letters to the left on ``cell``'s row, and whether it is adjacent.

        Numbers in between are skipped: in ``Total facture  24.99  5.00  29.99`` every amount's row
        label is "Total facture".
        """
        cur: Cell | None = cell
        adjacent = True
        for _ in range(12):
            assert cur is not None
            cur = self.left_of(cur)
            if cur is None or _has_letters(cur.text):
                return cur, adjacent
            adjacent = False
        return None, False

    def column_label(self, cell: Cell) -> tuple[Cell | None, bool]:
        """The nearest cell with letters above ``cell`` in its column, and whether it is directly above.

        A column of numbers is climbed to its header; a gap of more than eight rows ends the climb.
        A header printed on stacked lines ("Zeilenbetrag" over "Ohne MwSt.") is joined into one cell.
        """
        cur = cell
        adjacent = True
        for _ in range(25):
            up = self._above(cur, cell)
            if up is None:
                return None, False
            if _has_letters(up.text):
                return self._stacked(up), adjacent
            cur, adjacent = up, False
        return None, False

    def _stacked(self, header: Cell) -> Cell:
        parts = [header]
        for _ in range(3):
            up = self._above(parts[0], parts[0], max_rows=0.6)
            if up is None or not _has_letters(up.text):
                break
            parts.insert(0, up)
        if len(parts) == 1:
            return header
        return Cell(header.page, " ".join(p.text for p in parts), min(p.x0 for p in parts), parts[0].y0,
                    max(p.x1 for p in parts), header.y1, header.box)

    def _above(self, cur: Cell, anchor: Cell, max_rows: float = 8.0) -> Cell | None:
        best: Cell | None = None
        for c in self.on_page(cur.page):
            if c is cur or c.y1 > cur.y0 + 1 or cur.y0 - c.y1 > max_rows * anchor.height:
                continue
            if _overlap(c.x0, c.x1, anchor.x0, anchor.x1) <= 0:
                continue
            if best is None or c.y1 > best.y1:
                best = c
        return best


_CODE_RE = re.compile(r"\b(?:" + "|".join(sorted(ISO_CURRENCIES)) + r"|Rs\.?)(?![A-Za-z])")


def _has_letters(text: str) -> bool:
    """Whether a cell reads as a label: two letters besides currency codes ("586,80 EUR" is a number)."""
    return sum(ch.isalpha() for ch in _CODE_RE.sub("", text)) >= 2


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


# -- PDFs: words read again ------------------------------------------------------------------


def _pdf_words(path: Path) -> tuple[dict[int, list[tuple[Any, ...]]], dict[int, float]] | None:
    try:
        import pymupdf
    except ImportError:  # pragma: no cover - pymupdf is a core dependency
        return None
    try:
        with pymupdf.open(path) as pdf:
            words = {i + 1: page.get_text("words") for i, page in enumerate(pdf)}
            heights = {i + 1: float(page.rect.height) for i, page in enumerate(pdf)}
    except Exception:  # noqa: BLE001 - a file that changed or cannot be opened: fall back to the elements
        return None
    return words, heights


def _rows(words: list[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
    """Words grouped into visual rows: a word joins a row whose vertical centre is close to its own."""
    rows: list[list[tuple[Any, ...]]] = []
    centres: list[float] = []
    for w in sorted(words, key=lambda w: ((w[1] + w[3]) / 2, w[0])):
        c, h = (w[1] + w[3]) / 2, max(1.0, w[3] - w[1])
        if rows and abs(c - centres[-1]) <= 0.35 * h:
            rows[-1].append(w)
            centres[-1] = sum((x[1] + x[3]) / 2 for x in rows[-1]) / len(rows[-1])
        else:
            rows.append([w])
            centres.append(c)
    return rows


def _cells_of_row(page: int, row: list[tuple[Any, ...]]) -> list[Cell]:
    row = sorted(row, key=lambda w: w[0])
    groups: list[list[tuple[Any, ...]]] = [[row[0]]]
    for prev, w in itertools.pairwise(row):
        h = max(1.0, min(w[3] - w[1], prev[3] - prev[1]))
        gap = w[0] - prev[2]
        if gap > 0.9 * h or (gap > 0.45 * h and (w[5], w[6]) != (prev[5], prev[6])):
            groups.append([w])
        else:
            groups[-1].append(w)
    cells = []
    for g in groups:
        text = ""
        spans: list[tuple[int, int, BBox | None]] = []
        for w in g:
            if text:
                text += " "
            box = BBox.of(w[:4])
            spans.append((len(text), len(text) + len(w[4]), box))
            text += w[4]
        x0, y0 = min(w[0] for w in g), min(w[1] for w in g)
        x1, y1 = max(w[2] for w in g), max(w[3] for w in g)
        cells.append(Cell(page, text, x0, y0, x1, y1, BBox.of((x0, y0, x1, y1)), spans))
    return cells


def _pdf_layout(document: Document) -> Layout | None:
    path = Path(document.source)
    if document.format != "pdf" or not path.is_file():
        return None
    read = _pdf_words(path)
    if read is None:
        return None
    words, heights = read
    cells: list[Cell] = []
    for page, page_words in words.items():
        for row in _rows([w for w in page_words if str(w[4]).strip()]):
            cells.extend(_cells_of_row(page, row))
    return Layout(cells, heights) if cells else None


# -- other documents: elements --------------------------------------------------------------


def _table_cells(el: Element, y: float) -> tuple[list[Cell], float]:
    assert el.table is not None
    cells = []
    for r, row in enumerate(el.table.rows):
        for c, text in enumerate(row):
            if text and text.strip():
                cells.append(Cell(el.page, " ".join(text.split()), c * 100.0, y, c * 100.0 + 90.0,
                                  y + _LINE_H - 2, el.bbox))
        y += _LINE_H
    return cells, y


def _text_cells(el: Element, y: float) -> tuple[list[Cell], float]:
    cells = []
    for line in el.text.splitlines():
        for m in _CELL_RE.finditer(line):
            part = m.group(0).strip(" |")
            if part:
                x0 = m.start() * _CHAR_W
                cells.append(Cell(el.page, part, x0, y, x0 + len(part) * _CHAR_W, y + _LINE_H - 2, el.bbox))
        y += _LINE_H
    return cells, y


def _element_layout(document: Document) -> Layout:
    cells: list[Cell] = []
    y_by_page: dict[int, float] = {}
    for el in document.elements:
        if not (el.text.strip() or el.table is not None):
            continue
        y = y_by_page.get(el.page, 0.0)
        if el.kind is ElementKind.TABLE and el.table is not None:
            new, y = _table_cells(el, y)
        else:
            new, y = _text_cells(el, y)
        cells.extend(new)
        y_by_page[el.page] = y + _LINE_H / 2
    return Layout(cells, {p: max(y, 1.0) for p, y in y_by_page.items()})


def _text_file_layout(document: Document) -> Layout | None:
    """A plain-text document read again from its file, where the parser joined lines: columns survive."""
    path = Path(document.source)
    if document.format != "text" or not path.is_file() or path.stat().st_size > 2_000_000:
        return None
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    box = next((e.bbox for e in document.elements if e.bbox is not None), None)
    el = Element(kind=ElementKind.PARAGRAPH, text=text, page=1, bbox=box)
    cells, y = _text_cells(el, 0.0)
    return Layout(cells, {1: max(y, 1.0)}) if cells else None


def document_layout(document: Document) -> Layout:
    """The rows and cells of ``document``: from the PDF's words or the text file when at hand, else its elements."""
    return _pdf_layout(document) or _text_file_layout(document) or _element_layout(document)


__all__ = ["Cell", "Layout", "document_layout"]
