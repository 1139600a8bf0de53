from __future__ import annotations

from pathlib import Path

import pytest

import pipeline
from pipeline.document import ElementKind


@pytest.fixture(scope="module")
def report(sample_docs: Path) -> pipeline.Document:
    return pipeline.parse(sample_docs / "report_two_column.pdf")


def test_report_headings_in_reading_order(report: pipeline.Document) -> None:
    headings = [e.text for e in report.elements if e.is_heading]
    assert headings[0].startswith("Energy Use in Cold-Chain")
    numbered = [h for h in headings if h[0].isdigit()]
    # Two-column pages: the left column (1.1) must come before the right column (1.2).
    assert numbered[:5] == ["1 Introduction", "1.1 Background", "1.2 Scope of this report", "2 Method", "2.1 Sites and metering"]


def test_heading_levels_and_paths(report: pipeline.Document) -> None:
    by_text = {e.text: e for e in report.elements if e.is_heading}
    assert by_text["1 Introduction"].level == 1
    assert by_text["1.1 Background"].level == 2
    para = next(e for e in report.elements if e.kind is ElementKind.PARAGRAPH and "64-hectare" in e.text)
    assert para.heading_path[-2:] == ["1 Introduction", "1.1 Background"]


def test_table_cells_kept(report: pipeline.Document) -> None:
    tables = [e for e in report.elements if e.kind is ElementKind.TABLE]
    assert len(tables) == 1
    t = tables[0]
    assert t.page == 2 and t.table is not None
    assert t.table.rows[0][:2] == ["Site", "Type"]
    assert ["W-11", "Frozen (-24 °C)", "11,600", "3,051", "263"] in t.table.rows
    assert "| W-03 | Ambient |" in t.to_markdown()
    # The table's text is not repeated as loose paragraphs.
    assert not any("11,600" in e.text for e in report.elements if e.kind is not ElementKind.TABLE)
    caption = next(e for e in report.elements if e.kind is ElementKind.CAPTION)
    assert caption.text.startswith("Table 1: Floor area")


def test_running_headers_and_page_numbers_dropped(report: pipeline.Document) -> None:
    md = report.to_markdown()
    assert "confidential" not in md
    assert "Page 1 of 3" not in md
    furniture = report.metadata["page_furniture"]
    assert any("confidential" in h for h in furniture["headers"])
    assert furniture["page_labels"] == ["Page 1 of 3", "Page 2 of 3", "Page 3 of 3"]


def test_pages_and_bboxes(report: pipeline.Document) -> None:
    assert report.pages == 3
    assert {e.page for e in report.elements} == {1, 2, 3}
    for e in report.elements:
        assert e.bbox is not None and 0 <= e.bbox.x0 < e.bbox.x1 <= 612 and 0 <= e.bbox.y0 < e.bbox.y1 <= 792


def test_hyphenation_and_ligatures_repaired(report: pipeline.Document) -> None:
    text = report.text
    assert "docu-" not in text and "\ufb01" not in text and "\ufb02" not in text
    assert "documentation" in text
    # A real compound broken after its own hyphen keeps the hyphen (MuPDF's dehyphenation drops it).
    assert "temperature-controlled" in text and "temperaturecontrolled" not in text


def test_list_items(report: pipeline.Document) -> None:
    items = [e for e in report.elements if e.kind is ElementKind.LIST_ITEM]
    assert len(items) >= 3
    assert all(not e.text.startswith("•") for e in items)


def test_outline_in_metadata(report: pipeline.Document) -> None:
    assert [1, "1 Introduction", 1] in report.metadata["outline"]


def test_invoice_side_by_side_blocks_stay_in_rows(sample_docs: Path) -> None:
    doc = pipeline.parse(sample_docs / "invoice_acme.pdf")
    text = doc.text
    assert "Invoice number: INV-2026-0042" in text
    assert "Invoice date: 14.03.2026" in text
    assert text.index("Subtotal") < text.index("Total amount due")
