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
