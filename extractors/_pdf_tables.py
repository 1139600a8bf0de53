"""Tables on a PDF page: our grid finder (``tables="auto"``) or PyMuPDF's ``find_tables`` (``"pymupdf"``,
``"always"``), with the checks that reject what either returns for diagrams, forms and ruled prose. Each table
carries one box per row (``TableData.row_boxes``) and one per cell (``TableData.cell_boxes``), so a hit or a
citation can point at the row, or at the one figure it cites."""

from __future__ import annotations

import re
from typing import Any

from extractors._grid_tables import GridTable, Span, find_grid_tables
from extractors._pdf_layout import Box
from extractors._table_mode import TableMode
from extractors._text_tables import find_text_tables
from pipeline.document import TableData

_CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f]")


def find_tables(page: Any, spans: list[Span], mode: TableMode) -> list[tuple[Box, TableData]]:
    """(bbox, table) for each table on ``page``; ``mode`` is the extractor's ``tables`` option."""
    if mode is TableMode.NEVER:
        return []
    if mode is TableMode.AUTO:
        found = []
        width = page.rect.width
        grids: list[GridTable] = []
        texts: list[GridTable] = []
        for g in find_grid_tables(page, spans):
            if not _plausible_table(g.rows):
                continue
            # A grid whose cells hold several figures each has missed its columns (two tables in one ruled box,
            # a booktabs table whose body rows share one band): the whitespace columns inside it read better.
            inner = find_text_tables([s for s in spans if _center_in(s.bbox, g.bbox)], width) if _merged_figures(g.rows) else []
            if inner:
                texts.extend(t for t in inner if _plausible_table(t.rows))
            else:
                grids.append(g)
        # Tables without rules, among the spans no ruled table holds.
        rest = [s for s in spans if not any(_center_in(s.bbox, t.bbox) for t in grids + texts)]
        texts += [t for t in find_text_tables(rest, width) if _plausible_table(t.rows)]
        for t in grids + texts:
            grid_boxes = [_rounded(b) for b in t.row_boxes]
            cell_boxes = [[_rounded(b) if b else None for b in r] for r in t.cell_boxes]
            found.append((t.bbox, TableData(rows=t.rows, header_rows=_header_rows(t.rows) if t.header_rows is None else t.header_rows, row_boxes=grid_boxes,
                                            cell_boxes=cell_boxes)))
        return found
    if mode is TableMode.PYMUPDF and not _looks_gridded(page):
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
            # extract() gives one list of cells per entry of t.rows (a property rebuilt on each access), in
            # order: row i's box is the box of row i's cells, and its cell j's box is ``.cells[j]`` (None where
            # extract() gives None: a merged cell).
            row_groups = t.rows
            same = len(row_groups) == len(rows)
            boxes = [_rounded(r.bbox) for r in row_groups] if same else None
            cells = [[_rounded(c) if c else None for c in r.cells] for r in row_groups] if same else None
            found.append((tuple(t.bbox), TableData(rows=cleaned, header_rows=1, row_boxes=boxes, cell_boxes=cells)))
    except Exception:  # noqa: BLE001  # table finder failures degrade to plain text, never lose the page
        return []
    return found


_FIGURE_RE = re.compile(r"^[(+\-−–$]*\d[\d.,%)]*$")


def _merged_figures(rows: list[list[str | None]]) -> bool:
    """Some cell holds >= 2 figures side by side ("24.21 3.41 18.00"): columns the grid did not separate."""
    return any(len(t) >= 2 and all(_FIGURE_RE.match(w) for w in t)
               for r in rows for c in r if c for t in [c.split()])


def _center_in(b: Box, r: Box) -> bool:
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    return r[0] - 1 <= cx <= r[2] + 1 and r[1] - 1 <= cy <= r[3] + 1


def _rounded(box: Any) -> tuple[float, float, float, float]:
    """A row or cell box as element bboxes are stored (``BBox.of``): PDF points to 0.01."""
    x0, y0, x1, y1 = tuple(box)[:4]
    return (round(x0, 2), round(y0, 2), round(x1, 2), round(y1, 2))


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
