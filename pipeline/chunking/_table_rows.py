"""Tables as retrievable facts: every table row is also indexed as a small unit of its own.

A row unit reads ``heading path`` (a line, as every chunk) then ``group: row label | column header:
value | ...``, e.g. ``... > CONDENSED CONSOLIDATED STATEMENTS OF OPERATIONS`` / ``Net sales: Products |
Three Months Ended June 25, 2022: 63,355 | ...``: its row label, its column headers (multi-row headers
flattened, a spanning header given to the columns nearest to it) and the table's heading. It is a :class:`Chunk` with
``element_kinds == ["table_row"]`` and ``metadata["unit"] == "table_row"``, linked to its parent table
chunk (``parent_chunk``), page and ``metadata["bbox"]``: the row's box where the parser measured one
(``TableData.row_boxes``: PDF tables), else the table's (formats without geometry have neither; parses stored
before row boxes existed have the table's), and ``metadata["cells"]``: its cells' boxes, one per column (None for
an empty cell), where the parser measured them (``TableData.cell_boxes``), so a citation of one figure can point
at that figure.

At search time a row hit is replaced by its parent table chunk, placed at the row's rank, with the row
marked in ``metadata["rows"]`` (row index, text, table line, page, bbox and cell boxes, so a citation or a report
can point at the row or its cell); a parent reached twice is listed once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence

from pipeline.chunking._models import Chunk
from pipeline.document import BBox, Document, Element, ElementKind, TableData

ROW_KIND = "table_row"
_NUMERIC = re.compile(r"^[\s$€£(%)—–-]*[\d.,]+[\s%)]*$|^[\s$€£%()—–-]*$")


def _nearest(cells: Sequence[str], j: int) -> str:
    """The header cell over column ``j``: its own, else the nearest non-empty one (ties: left)."""
    if cells[j] if j < len(cells) else "":
        return cells[j]
    best, dist = "", 10**9
    for i, c in enumerate(cells):
        if c and i > 0 and abs(i - j) < dist:
            best, dist = c, abs(i - j)
    return best


def column_headers(table: TableData) -> list[str]:
    """One flattened header per column: the header rows' cells over it, joined top to bottom."""
    header = [[" ".join((c or "").split()) for c in r] for r in table.rows[: table.header_rows]]
    out = []
    for j in range(table.n_cols):
        parts = [_nearest(r, j) for r in header]
        out.append(" ".join(p for i, p in enumerate(parts) if p and p not in parts[:i]))
    return out


def row_facts(table: TableData, heading: str) -> list[tuple[int, str]]:
    """(row index, fact text) for the body rows that hold a label and at least one value."""
    headers = column_headers(table)
    group = ""
    out = []
    for i in range(table.header_rows, table.n_rows):
        cells = [" ".join((c or "").split()) for c in table.rows[i]]
        label_at = next((j for j, c in enumerate(cells) if c and not _NUMERIC.match(c)), None)
        values = [(j, c) for j, c in enumerate(cells) if c and j != label_at and not set(c) <= set("$€£%()")]
        if label_at is None:
            continue
        label = cells[label_at]
        if not values:  # "Net sales:" opens a group of rows
            group = label.rstrip(":")
            continue
        total = label.lower().startswith("total")
        name = f"{group}: {label}" if group and not total else label
        group = "" if total else group  # a total closes its group
        cols = " | ".join(f"{headers[j]}: {c}" if j < len(headers) and headers[j] else c for j, c in values)
        out.append((i, " | ".join(p for p in (heading, name, cols) if p)))
    return out


def _row_line(table: TableData, i: int) -> str:
    row = list(table.rows[i]) + [""] * (table.n_cols - len(table.rows[i]))
    return table.to_markdown([row]).splitlines()[0]


def row_chunks(document: Document, chunks: list[Chunk], context: str, fingerprint: str) -> list[Chunk]:
    """Row units of every table of ``document`` whose rows are found in one of ``chunks``."""
    tables = [c for c in chunks if "table" in c.element_kinds]
    out: list[Chunk] = []
    for el in _tables(document.elements):
        assert el.table is not None
        for i, fact in row_facts(el.table, ""):
            line = _row_line(el.table, i)
            parent = next((c for c in tables if c.page_start <= el.page <= c.page_end and line in c.text), None)
            if parent is None:
                continue
            path = " > ".join(parent.heading_path)
            text = f"{path}\n{fact}" if path and parent.text.startswith(path) else fact  # as its table chunk
            key = json.dumps([parent.id, i, text, fingerprint], ensure_ascii=False)
            out.append(Chunk(
                id=hashlib.sha256(key.encode()).hexdigest(), doc_id=document.content_hash, source=document.source,
                text=text, page_start=el.page, page_end=el.page, heading_path=list(parent.heading_path),
                element_kinds=[ROW_KIND], n_tokens=0, index=len(chunks) + len(out), options_fingerprint=fingerprint,
                context=context,
                metadata={"unit": ROW_KIND, "parent_chunk": parent.id, "row": i, "row_line": line,
                          "bbox": _row_bbox(el, i), **_cell_bboxes(el.table, i)},
            ))
    return out


def _row_bbox(element: Element, i: int) -> dict[str, float] | None:
    """Row ``i``'s box of a table ``element``, as chunk metadata carries boxes (``BBox.model_dump()``); the
    table's when the parse has no row boxes."""
    assert element.table is not None
    boxes = element.table.row_boxes
    if boxes is not None and i < len(boxes):
        return BBox.of(boxes[i]).model_dump()
    return element.bbox.model_dump() if element.bbox else None


def _cell_bboxes(table: TableData, i: int) -> dict[str, list[dict[str, float] | None]]:
    """``{"cells": [box of column j, ...]}`` for row ``i`` (boxes as ``BBox.model_dump()``, one per column of the
    table, None for an empty cell or a column the row lacks); nothing when the parse has no cell boxes, so row
    units of parses without them carry what they carried before."""
    if table.cell_boxes is None or i >= len(table.cell_boxes):
        return {}
    row = table.cell_boxes[i]
    return {"cells": [BBox.of(row[j]).model_dump() if j < len(row) and row[j] else None for j in range(table.n_cols)]}


def _tables(elements: Iterable[Element]) -> Iterable[Element]:
    return (e for e in elements if e.kind is ElementKind.TABLE and e.table and e.table.n_rows > e.table.header_rows)


__all__ = ["ROW_KIND", "column_headers", "row_chunks", "row_facts"]
