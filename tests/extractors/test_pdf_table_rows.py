"""Row boxes of PDF tables (``TableData.row_boxes``): one box per row, holding that row's printed words and no
other row's, from our grid finder (``tables="auto"``) and from PyMuPDF's ``find_tables``; none for formats
without geometry, and a document without boxes serialises as before."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pymupdf
import pytest
from pydantic import ValidationError

import pipeline
from pipeline.document import Document, Element, ElementKind, TableData
from pipeline.parsing import ParseOptions, PdfOptions, TableMode

ROWS = [("Segment", "2024", "2023"), ("Products", "60,584", "63,355"), ("Services", "21,213", "19,604"),
        ("Total net sales", "81,797", "82,959"), ("Gross margin", "36,413", "35,885")]


def ruled_table_pdf(path: Path, rows: Sequence[tuple[str, ...]] = ROWS, *, shaded: bool = False) -> Path:
    """A page with a heading, a table of ``rows`` (ruled grid, or alternate-row shading without rules) and a
    paragraph below it."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 60), "Statement of operations", fontsize=12)
    xs, top, h = [72, 250, 370, 490], 90, 20
    if shaded:
        for i in range(0, len(rows), 2):
            page.draw_rect(pymupdf.Rect(xs[0], top + i * h, xs[-1], top + (i + 1) * h), color=None, fill=(0.85, 0.9, 1))
    else:
        for i in range(len(rows) + 1):
            page.draw_line((xs[0], top + i * h), (xs[-1], top + i * h))
        for x in xs:
            page.draw_line((x, top), (x, top + len(rows) * h))
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            page.insert_text((xs[j] + 4, top + i * h + 14), cell, fontsize=10)
    page.insert_text((72, top + len(rows) * h + 30), "Net sales rose on services.", fontsize=10)
    doc.save(path)
    return path


def _inside(word: tuple[float, ...], box: tuple[float, float, float, float]) -> bool:
    cx, cy = (word[0] + word[2]) / 2, (word[1] + word[3]) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


@pytest.mark.parametrize(("mode", "shaded"), [("auto", False), ("auto", True), ("pymupdf", False), ("always", False)])
def test_each_row_box_holds_its_own_words_and_no_other_row(tmp_path: Path, mode: str, shaded: bool) -> None:
    path = ruled_table_pdf(tmp_path / "t.pdf", shaded=shaded)
    doc = pipeline.parse(path, options=ParseOptions(pdf=PdfOptions(tables=TableMode(mode))))
    tables = [e for e in doc.elements if e.kind is ElementKind.TABLE]
    assert len(tables) == 1 and tables[0].table is not None and tables[0].bbox is not None
    table = tables[0].table
    assert [tuple(r) for r in table.rows] == ROWS
    assert table.row_boxes is not None and len(table.row_boxes) == len(table.rows)
    words = pymupdf.open(path)[0].get_text("words")
    bbox = tables[0].bbox
    for i, (row, box) in enumerate(zip(table.rows, table.row_boxes)):
        band = (72, 90 + i * 20, 490, 110 + i * 20)  # where row i is drawn
        mine = [w for w in words if _inside(w, band)]
        assert sorted(w[4] for w in mine) == sorted(" ".join(c or "" for c in row).split())
        assert all(_inside(w, box) for w in mine), (i, box, mine)
        others = [w for w in words if w not in mine]
        assert not any(_inside(w, box) for w in others), (i, box)
        # a row box lies within the table's box, across its width
        assert bbox.x0 - 0.5 <= box[0] and box[2] <= bbox.x1 + 0.5 and box[2] - box[0] >= 0.9 * (bbox.x1 - bbox.x0)
    tops = [b[1] for b in table.row_boxes]
    assert tops == sorted(tops) and all(b[3] <= n[1] + 0.5 for b, n in zip(table.row_boxes, table.row_boxes[1:]))


def test_tightly_set_rows_get_boxes_that_do_not_overlap(tmp_path: Path) -> None:
    """Rows 12 pt apart in 10 pt type: the text's font boxes (13.7 pt high) overlap, the row boxes must not, and
    each word's centre stays in its own row's box."""
    rows = [*ROWS, ("Operating income", "12,345", "11,234")]  # more lines than rule bands: lines are rows
    doc = pymupdf.open()
    page = doc.new_page()
    top = 100
    for y in (top - 12, top + 3, top + 3 + 12 * (len(rows) - 1)):  # booktabs: top, under the header, bottom
        page.draw_line((72, y), (490, y))
    for i, printed in enumerate(rows):
        for j, cell in enumerate(printed):
            page.insert_text(([72, 250, 370][j], top + 12 * i), cell, fontsize=10)
    doc.save(tmp_path / "tight.pdf")
    parsed = pipeline.parse(tmp_path / "tight.pdf")
    table = next(e.table for e in parsed.elements if e.table is not None)
    assert [tuple(r) for r in table.rows] == rows and table.row_boxes is not None
    for above, below in zip(table.row_boxes, table.row_boxes[1:]):
        assert above[3] <= below[1]
    words = pymupdf.open(tmp_path / "tight.pdf")[0].get_text("words")
    for row, box in zip(table.rows, table.row_boxes):
        assert all(_inside(w, box) for w in words if w[4] in (row[0] or "").split()[:1])


def test_formats_without_geometry_have_no_row_boxes(sample_docs: Path) -> None:
    tables = [e.table for e in pipeline.parse(sample_docs / "article.html").elements if e.table is not None]
    assert tables and all(t.row_boxes is None for t in tables)


def test_documents_without_row_boxes_serialise_as_before() -> None:
    plain = TableData(rows=[["a", "b"], ["1", "2"]])
    assert json.loads(plain.model_dump_json()) == {"rows": [["a", "b"], ["1", "2"]], "header_rows": 1}
    assert "row_boxes" not in plain.model_dump() and "row_boxes" not in plain.model_dump(mode="json")
    boxed = TableData(rows=[["a", "b"], ["1", "2"]], row_boxes=[(1, 2, 3, 4), (1, 5, 3, 8)])
    el = Element(kind=ElementKind.TABLE, text=boxed.to_markdown(), page=1, table=boxed)
    doc = Document(source="x.pdf", content_hash="h", format="pdf", pages=1, elements=[el])
    again = Document.model_validate_json(doc.model_dump_json())
    assert again.elements[0].table is not None and again.elements[0].table.row_boxes == [(1, 2, 3, 4), (1, 5, 3, 8)]
    with pytest.raises(ValidationError, match="2 boxes for 1 rows"):
        TableData(rows=[["a", "b"]], row_boxes=[(1, 2, 3, 4), (1, 5, 3, 8)])


@pytest.mark.parametrize(("mode", "shaded"), [("auto", False), ("auto", True), ("pymupdf", False)])
def test_each_cell_box_holds_its_own_words_within_its_row(tmp_path: Path, mode: str, shaded: bool) -> None:
    """``TableData.cell_boxes``: a box per cell that holds the cell's printed words, lies in its row's box and is
    narrower than it, so a citation of one figure can point at that figure."""
    path = ruled_table_pdf(tmp_path / "t.pdf", shaded=shaded)
    doc = pipeline.parse(path, options=ParseOptions(pdf=PdfOptions(tables=TableMode(mode))))
    table = next(e.table for e in doc.elements if e.table is not None)
    assert [tuple(r) for r in table.rows] == ROWS and table.row_boxes is not None
    assert table.cell_boxes is not None and [len(r) for r in table.cell_boxes] == [len(r) for r in table.rows]
    words = pymupdf.open(path)[0].get_text("words")
    for i, (row, boxes, row_box) in enumerate(zip(table.rows, table.cell_boxes, table.row_boxes)):
        for j, (text, box) in enumerate(zip(row, boxes)):
            assert box is not None, (i, j)
            band = ([72, 250, 370][j], 90 + i * 20, [250, 370, 490][j], 110 + i * 20)  # where cell (i, j) is drawn
            mine = [w for w in words if _inside(w, band)]
            assert sorted(w[4] for w in mine) == sorted((text or "").split())
            assert all(_inside(w, box) for w in mine) and not any(_inside(w, box) for w in words if w not in mine)
            assert row_box[0] - 0.01 <= box[0] and box[2] <= row_box[2] + 0.01
            assert row_box[1] - 0.01 <= box[1] and box[3] <= row_box[3] + 0.01
            assert box[2] - box[0] < 0.5 * (row_box[2] - row_box[0])
    services = table.cell_boxes[2][1]  # "21,213"
    assert services is not None and services[0] >= 250 - 0.5 and services[2] <= 370 + 0.5


def test_documents_without_cell_boxes_serialise_as_before() -> None:
    plain = TableData(rows=[["a", "b"], ["1", "2"]], row_boxes=[(1, 2, 9, 4), (1, 5, 9, 8)])
    assert "cell_boxes" not in plain.model_dump() and "cell_boxes" not in json.loads(plain.model_dump_json())
    cells = [[(1, 2, 4, 4), (5, 2, 9, 4)], [None, (5, 5, 9, 8)]]
    boxed = TableData(rows=[["a", "b"], ["", "2"]], cell_boxes=cells)
    el = Element(kind=ElementKind.TABLE, text=boxed.to_markdown(), page=1, table=boxed)
    doc = Document(source="x.pdf", content_hash="h", format="pdf", pages=1, elements=[el])
    again = Document.model_validate_json(doc.model_dump_json())
    assert again.elements[0].table is not None and again.elements[0].table.cell_boxes == cells
    with pytest.raises(ValidationError, match="2 rows of boxes for 1 rows"):
        TableData(rows=[["a", "b"]], cell_boxes=cells)
