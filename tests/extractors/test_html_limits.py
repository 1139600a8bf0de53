"""A minified page whose text is one node over libxml2's 10 MB default is parsed in full; a page over the size
limit is refused with the limit named."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipeline
from pipeline import exceptions as ex


def test_single_line_page_with_a_huge_text_node(tmp_path: Path) -> None:
    page = tmp_path / "minified.html"
    page.write_text("<html><body><article><h1>Log</h1><p>" + "word " * 2_200_000 + "</p></article></body></html>")
    doc = pipeline.parse(page)
    assert len(doc.text) > 10_900_000


def test_page_over_the_limit_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from extractors import html

    monkeypatch.setattr(html, "MAX_HTML_BYTES", 1000)
    page = tmp_path / "big.html"
    page.write_text("<html><body><p>" + "x " * 1000 + "</p></body></html>")
    with pytest.raises(ex.DocumentTooLargeError, match="over the limit of 1,000") as info:
        pipeline.parse(page)
    assert info.value.source == str(page)


@pytest.mark.parametrize("levels", [1_000, 100_000])
def test_a_page_nested_deeper_than_any_parser_keeps_its_text(tmp_path: Path, levels: int) -> None:
    """A browser renders it; trafilatura and unstructured would exhaust Python's stack walking it, and libxml2
    drops what lies past 2,048 levels."""
    page = tmp_path / "deep.html"
    page.write_text("<html><body><p>Before the nest.</p>" + "<div>" * levels + "Deep text here." + "</div>" * levels
                    + "<p>After the nest.</p></body></html>")
    doc = pipeline.parse(page)
    assert "Deep text here." in doc.text and "Before the nest." in doc.text and "After the nest." in doc.text


def test_utf16_without_a_byte_order_mark(tmp_path: Path) -> None:
    page = tmp_path / "u16.html"
    html = "<html><head><title>T</title></head><body><p>Grüße aus Köln, ohne BOM.</p></body></html>"
    for codec in ("utf-16-le", "utf-16-be"):
        page.write_bytes(html.encode(codec))
        assert "Grüße aus Köln" in pipeline.parse(page).text, codec
