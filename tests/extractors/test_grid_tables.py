"""The fast table finder on synthetic pages: alternate-row shading without vertical rules (typical of
financial statements) and booktabs-style tables (three horizontal rules only)."""

from __future__ import annotations

from pathlib import Path

import pymupdf

import pipeline
from pipeline.document import ElementKind

ROWS = [("Revenue", "1,234", "1,100"), ("Cost of revenue", "(456)", "(400)"), ("Gross profit", "778", "700"),
        ("Operating expenses", "(300)", "(280)"), ("Operating income", "478", "420")]


def _page(tmp_path: Path, style: str) -> Path:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 60), "Consolidated statement of operations", fontsize=12)
    y = 100
    if style == "booktabs":
        page.draw_line((72, y - 12), (480, y - 12))
    page.insert_text((72, y), "(In millions)", fontsize=9)
    page.insert_text((330, y), "2024", fontsize=9)
    page.insert_text((420, y), "2023", fontsize=9)
    if style == "booktabs":
        page.draw_line((72, y + 4), (480, y + 4))
    for i, (label, a, b) in enumerate(ROWS):
        y += 16
        if style == "shaded" and i % 2 == 0:
            page.draw_rect(pymupdf.Rect(72, y - 11, 480, y + 4), color=None, fill=(0.85, 0.9, 1.0))
        page.insert_text((72, y), label, fontsize=9)
        page.insert_text((330, y), a, fontsize=9)
        page.insert_text((420, y), b, fontsize=9)
    if style == "booktabs":
        page.draw_line((72, y + 5), (480, y + 5))
    page.insert_text((72, y + 40), "The table above shows the results of operations for the two years.", fontsize=10)
    path = tmp_path / f"{style}.pdf"
    doc.save(path)
    return path


def _edgar_page(tmp_path: Path) -> Path:
    """An EDGAR-style statement: every row shaded in two bands (label + first period | last period, 5 pt
    apart), and the period headers above the body, each underlined by a short rule."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 50), "CONDENSED CONSOLIDATED STATEMENTS OF OPERATIONS", fontsize=11)
    page.insert_text((380, 80), "Three Months Ended", fontsize=9)
    page.draw_line((340, 84), (540, 84))
    page.insert_text((350, 96), "July 1, 2023", fontsize=9)
    page.insert_text((460, 96), "June 25, 2022", fontsize=9)
    page.draw_line((340, 100), (430, 100))
    page.draw_line((450, 100), (540, 100))
    y = 116
    for label, a, b in ROWS:
        page.draw_rect(pymupdf.Rect(60, y - 11, 440, y + 4), color=None, fill=(0.85, 0.9, 1.0))
        page.draw_rect(pymupdf.Rect(445, y - 11, 545, y + 4), color=None, fill=(0.85, 0.9, 1.0))
        page.insert_text((72, y), label, fontsize=9)
        page.insert_text((360, y), a, fontsize=9)
        page.insert_text((470, y), b, fontsize=9)
        y += 16
    path = tmp_path / "edgar.pdf"
    doc.save(path)
    return path


def _shaded_column_page(tmp_path: Path) -> Path:
    """A statement whose only drawing is the shading of its current-year column (figures only): the row labels
    and the prior year's column are printed on the same lines outside it."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 50), "Consolidated Balance Sheets", fontsize=11)
    page.insert_text((72, 80), "(MILLIONS)", fontsize=9)
    page.insert_text((360, 80), "2021", fontsize=9)
    page.insert_text((450, 80), "2020", fontsize=9)
    page.draw_line((340, 84), (400, 84))  # the year's underline
    page.draw_rect(pymupdf.Rect(340, 86, 400, 100 + 16 * len(ROWS)), color=None, fill=(0.85, 0.9, 1.0))
    y = 100
    for label, a, b in ROWS:
        page.insert_text((72, y), label, fontsize=9)
        page.insert_text((360, y), a, fontsize=9)
        page.insert_text((450, y), b, fontsize=9)
        y += 16
    path = tmp_path / "shaded_column.pdf"
    doc.save(path)
    return path


def _table(path: Path) -> list[list[str | None]]:
    doc = pipeline.parse(path)
    tables = [e for e in doc.elements if e.kind is ElementKind.TABLE]
    assert len(tables) == 1, doc.to_markdown()
    assert tables[0].table is not None
    assert "Revenue" not in " ".join(e.text for e in doc.elements if e.kind is not ElementKind.TABLE)
    return tables[0].table.rows


def test_shaded_rows_without_vertical_rules(tmp_path: Path) -> None:
    rows = _table(_page(tmp_path, "shaded"))
    assert ["Revenue", "1,234", "1,100"] in rows
    assert ["Operating income", "478", "420"] in rows


def test_booktabs(tmp_path: Path) -> None:
    rows = _table(_page(tmp_path, "booktabs"))
    assert rows[0] == ["(In millions)", "2024", "2023"]
    assert ["Cost of revenue", "(456)", "(400)"] in rows


def test_invoice_line_items(sample_docs: Path) -> None:
    doc = pipeline.parse(sample_docs / "invoice_acme.pdf")
    table = next(e for e in doc.elements if e.kind is ElementKind.TABLE).table
    assert table is not None
    assert table.rows[0] == ["Pos.", "Description", "Qty", "Unit price", "Amount"]
    assert ["2", "Refrigeration Systems Handbook, 3rd edition", "5", "79,95 EUR", "399,75 EUR"] in table.rows


def test_statement_shaded_in_two_bands_keeps_its_last_column_and_period_headers(tmp_path: Path) -> None:
    doc = pipeline.parse(_edgar_page(tmp_path))
    (table,) = [e.table for e in doc.elements if e.kind is ElementKind.TABLE and e.table is not None]
    rows = [[c or "" for c in r] for r in table.rows]
    assert ["Revenue", "1,234", "1,100"] in rows and ["Operating income", "478", "420"] in rows
    # The headers are part of the table, and are its header rows (repeated when a chunk splits it).
    assert table.header_rows == 2
    assert rows[1] == ["", "July 1, 2023", "June 25, 2022"]
    assert "Three Months Ended" in " ".join(rows[0])
    outside = " ".join(e.text for e in doc.elements if e.kind is not ElementKind.TABLE)
    assert "1,100" not in outside and "July 1, 2023" not in outside


def test_a_shaded_figures_column_takes_its_lines_labels_and_other_columns(tmp_path: Path) -> None:
    rows = _table(_shaded_column_page(tmp_path))
    assert ["Revenue", "1,234", "1,100"] in rows and ["Operating income", "478", "420"] in rows
