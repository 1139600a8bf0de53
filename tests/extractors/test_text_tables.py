"""Tables without ruling lines (``extractors/_text_tables.py``): whitespace-aligned columns become a table with
row and cell boxes in ``tables="auto"``; two-column prose, tables of contents, reference lists, numbered lists and
code listings stay text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pymupdf
import pytest

import pipeline
from pipeline.document import Document, ElementKind, TableData

SPEC = [("Property", "Value", "Unit"), ("Weight", "2", "kg"), ("Height", "185", "cm"), ("Supply voltage", "3.3", "V"),
        ("Operating temperature", "-40 to 85", "°C")]


def _save(doc: pymupdf.Document, path: Path) -> Path:
    doc.save(path)
    return path


def _spec_pdf(path: Path, rows: Sequence[Sequence[str]] = SPEC, xs: Sequence[float] = (72, 250, 370)) -> Path:
    """A heading, a borderless table (no drawings at all; its first row in bold) and a paragraph below it."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 60), "Technical specification", fontsize=13)
    for i, row in enumerate(rows):
        for x, cell in zip(xs, row):
            page.insert_text((x, 100 + 16 * i), cell, fontsize=10, fontname="hebo" if i == 0 else "helv")
    page.insert_text((72, 100 + 16 * len(rows) + 30), "All values are typical and measured at room temperature.",
                     fontsize=10)
    return _save(doc, path)


def _tables(doc: Document) -> list[TableData]:
    return [e.table for e in doc.elements if e.kind is ElementKind.TABLE and e.table is not None]


def _text(doc: Document) -> str:
    return " ".join(e.text for e in doc.elements if e.kind is not ElementKind.TABLE)


def test_borderless_spec_table_has_its_rows_cells_and_boxes(tmp_path: Path) -> None:
    path = _spec_pdf(tmp_path / "spec.pdf")
    doc = pipeline.parse(path)
    (table,) = _tables(doc)
    assert table.rows == [list(r) for r in SPEC]
    assert table.header_rows == 1  # set apart by its font
    # Its text is in the table only, not once more in the running text.
    assert "Weight" not in _text(doc) and "Supply voltage" not in _text(doc)
    assert "typical and measured" in _text(doc)
    assert table.row_boxes is not None and table.cell_boxes is not None
    page = pymupdf.open(path)[0]
    for i, row in enumerate(SPEC):
        rb = pymupdf.Rect(table.row_boxes[i])
        words = {w[4] for w in page.get_text("words") if rb.contains(pymupdf.Rect(w[:4]).tl + (1, 1))}
        assert set(" ".join(row).split()) <= words
        for j, cell in enumerate(row):
            box = table.cell_boxes[i][j]
            assert box is not None
            got = {w[4] for w in page.get_text("words", clip=pymupdf.Rect(box))}
            assert set(cell.split()) <= got
            assert rb.y0 - 0.01 <= box[1] and box[3] <= rb.y1 + 0.01  # a cell lies in its row
    # Rows do not overlap: each text line's centre is in its own row box.
    assert all(a[3] <= b[1] + 0.01 for a, b in zip(table.row_boxes, table.row_boxes[1:]))


def test_never_mode_leaves_a_borderless_table_as_text(tmp_path: Path) -> None:
    doc = pipeline.parse(_spec_pdf(tmp_path / "spec.pdf"), pipeline.ParseOptions(tables="never"))
    assert not _tables(doc)
    assert "Supply voltage" in _text(doc)


def test_variable_description_table_joins_wrapped_descriptions(tmp_path: Path) -> None:
    """A label column beside descriptions that wrap (dvipdfm's list of driver variables)."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 60), "Table 2: driver defined variables", fontsize=12)
    lines = [(90, "Variable", 180, "Description"), (90, "@catalog", 180, "A reference to the document's catalog."),
             (90, "@pages", 180, "A reference to the root of the document's /Pages"), (None, "", 180, "tree."),
             (90, "@thispage", 180, "A reference to the current page."),
             (90, "@nextpage", 180, "A reference to the page following @thispage.")]
    y = 90
    for lx, label, vx, value in lines:
        if lx is not None:
            page.insert_text((lx, y), label, fontsize=10)
        page.insert_text((vx, y), value, fontsize=10)
        y += 13
    page.insert_text((72, y + 30), "These variables may be used wherever an object reference is expected.", fontsize=10)
    (table,) = _tables(pipeline.parse(_save(doc, tmp_path / "vars.pdf")))
    assert table.rows[0] == ["Variable", "Description"]
    assert ["@pages", "A reference to the root of the document's /Pages tree."] in table.rows
    assert ["@nextpage", "A reference to the page following @thispage."] in table.rows
    assert len(table.rows) == 5


def test_booktabs_body_rows_in_one_band_are_rows_of_their_own(tmp_path: Path) -> None:
    """Rules above and below the header and at the end only: the body rows share one band between rules, and each
    is still a row with its figures in their own cells (paper-S3-turkjmedsci page 3: max height 185)."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((150, 60), "Table 1. Age, height and weight of footballers.", fontsize=9)
    for y in (70, 90, 140):
        page.draw_line((44, y), (525, y), width=0.5)
    for x, head in zip((138, 261, 381, 476), ("Arithmetic Mean", "Standard Deviation", "Minimum", "Maximum")):
        page.insert_text((x, 83), head, fontsize=8)
    body = [("Age (years)", "24.21", "3.41", "18.00", "32.00"), ("Height (cm)", "173.2", "7.04", "162", "185"),
            ("Weight (kg)", "67.85", "5.17", "62.32", "77.67")]
    for i, row in enumerate(body):
        for x, cell in zip((45, 158, 287, 390, 485), row):
            page.insert_text((x, 106 + 13 * i), cell, fontsize=8)
    (table,) = _tables(pipeline.parse(_save(doc, tmp_path / "booktabs.pdf")))
    assert ["Height (cm)", "173.2", "7.04", "162", "185"] in table.rows
    assert table.rows[-1] == ["Weight (kg)", "67.85", "5.17", "62.32", "77.67"]


PROSE = ("Retrieval quality depends on how a document is cut into passages, and a passage that mixes two "
         "unrelated columns of text reads as noise to the model that has to answer from it. ") * 6


def test_two_column_prose_is_not_a_table(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 60), "Two columns of prose", fontsize=13)
    for x0 in (72, 316):
        page.insert_textbox(pymupdf.Rect(x0, 80, x0 + 224, 700), PROSE, fontsize=10, align=pymupdf.TEXT_ALIGN_JUSTIFY)
    doc2 = pipeline.parse(_save(doc, tmp_path / "prose.pdf"))
    assert not _tables(doc2)
    assert "unrelated columns" in _text(doc2)


@pytest.mark.parametrize("leaders", [True, False])
def test_table_of_contents_stays_text(tmp_path: Path, leaders: bool) -> None:
    """A table of contents reads well line by line (title, page), and docling's ground truth keeps it as text:
    it is not made a table, with dot leaders or without."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 60), "Contents", fontsize=13)
    entries = [("1 Introduction", 1), ("2 Installation", 3), ("3 Configuration", 7), ("4 Usage", 12),
               ("5 Troubleshooting", 18), ("6 Reference", 25)]
    for i, (title, pno) in enumerate(entries):
        y = 90 + 16 * i
        page.insert_text((72, y), title + (" " + ". " * 40 if leaders else ""), fontsize=10)
        page.insert_text((500, y), str(pno), fontsize=10)
    parsed = pipeline.parse(_save(doc, tmp_path / "toc.pdf"))
    assert not _tables(parsed)
    assert "Troubleshooting" in _text(parsed)


@pytest.mark.parametrize("marker", ["[{n}]", "{n}."])
def test_reference_and_numbered_lists_are_not_tables(tmp_path: Path, marker: str) -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 60), "References", fontsize=13)
    refs = ["A. Smith. Whitespace tables in practice. J. Doc. Eng., 12(3), 2001.",
            "B. Jones and C. Lee. Reading order of scientific papers. In Proc. DocEng, 2004.",
            "D. Brown. Column detection. Technical report, 2010.",
            "E. White. Layout analysis revisited. Pattern Recognition, 40:1-20, 2012."]
    for i, ref in enumerate(refs):
        y = 90 + 16 * i
        page.insert_text((72, y), marker.format(n=i + 1), fontsize=10)
        page.insert_text((100, y), ref, fontsize=10)
    parsed = pipeline.parse(_save(doc, tmp_path / "refs.pdf"))
    assert not _tables(parsed)
    assert "Column detection" in _text(parsed)


def test_code_listing_with_aligned_comments_is_not_a_table(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 60), "Example", fontsize=13)
    code = [("x <- read.csv(file)", "# read the data"), ("n <- nrow(x)", "# 40 rows"), ("m <- mean(x$age)", "# 24.2"),
            ("s <- sd(x$age)", "# 3.41")]
    for i, (stmt, comment) in enumerate(code):
        page.insert_text((72, 90 + 12 * i), stmt, fontsize=9, fontname="cour")
        page.insert_text((300, 90 + 12 * i), comment, fontsize=9, fontname="cour")
    parsed = pipeline.parse(_save(doc, tmp_path / "code.pdf"))
    assert not _tables(parsed)


def test_a_first_row_like_the_others_is_no_header(tmp_path: Path) -> None:
    """An abbreviation list has no header row: its first entry must not become every row's column names."""
    rows = [("LRM", "Linear Reference Method"), ("LRS", "Linear Reference System"), ("NID", "National Identifier"),
            ("NRCan", "Natural Resources Canada")]
    doc = pipeline.parse(_spec_pdf(tmp_path / "abbrev.pdf", [rows[0], *rows[1:]], xs=(72, 160)))
    (table,) = _tables(doc)
    assert table.header_rows == 1  # the builder sets the first row in bold: a header after all
    plain = pymupdf.open()
    page = plain.new_page()
    for i, (a, b) in enumerate(rows):
        page.insert_text((72, 100 + 16 * i), a, fontsize=10)
        page.insert_text((160, 100 + 16 * i), b, fontsize=10)
    (table,) = _tables(pipeline.parse(_save(plain, tmp_path / "plain.pdf")))
    assert table.header_rows == 0
    assert table.rows[2] == ["NID", "National Identifier"]
