"""Unit checks of the PDF backend's pure helpers (the end-to-end behaviour is in test_pdf / test_golden)."""

from __future__ import annotations

from extractors._grid_tables import _booktabs_stacks, _merge_side_by_side, _merge_stacked, _regions
from extractors._pdf_hyphens import SOFT_HYPHEN, join_lines, resolve_hyphens
from extractors.pdf import _ranges
from pipeline.document import Element, ElementKind


def test_ranges_collapses_runs() -> None:
    assert _ranges([1, 2, 3, 7, 9, 10]) == "1-3, 7, 9-10"
    assert _ranges([4]) == "4"


def test_line_end_hyphen_decided_by_document_vocabulary() -> None:
    broken = join_lines(["the docu-", "mentation of temperature-", "controlled rooms"])
    assert broken == f"the docu{SOFT_HYPHEN}mentation of temperature{SOFT_HYPHEN}controlled rooms"
    elements = [
        Element(kind=ElementKind.PARAGRAPH, text=broken, page=1),
        Element(kind=ElementKind.PARAGRAPH, text="Keep it temperature-controlled.", page=1),
    ]
    resolve_hyphens(elements)
    assert elements[0].text == "the documentation of temperature-controlled rooms"


def test_booktabs_needs_three_aligned_rules() -> None:
    rules = [(10.0, 100.0, 200.0, 100.0), (10.0, 50.0, 200.0, 50.0), (11.0, 150.0, 201.0, 150.0)]
    assert _booktabs_stacks(rules) == [(10.0, 50.0, 201.0, 150.0)]
    assert _booktabs_stacks(rules[:2]) == []


def test_regions_merge_stacked_and_side_by_side() -> None:
    assert _merge_stacked([(0.0, 0.0, 100.0, 20.0), (0.0, 35.0, 100.0, 60.0)]) == [(0.0, 0.0, 100.0, 60.0)]
    assert _merge_side_by_side([(105.0, 0.0, 150.0, 50.0), (0.0, 0.0, 100.0, 50.0)]) == [(0.0, 0.0, 150.0, 50.0)]


def test_regions_from_a_ruled_box() -> None:
    hs = [(10.0, 10.0, 210.0, 10.0), (10.0, 60.0, 210.0, 60.0)]
    vs = [(10.0, 10.0, 10.0, 60.0), (210.0, 10.0, 210.0, 60.0)]
    assert _regions(hs, vs) == [(10.0, 10.0, 210.0, 60.0)]
    assert _regions(hs * 1500, vs * 1500) == []  # too many rules: a drawing, not a table
