from __future__ import annotations

from pathlib import Path

import pipeline
from pipeline.document import ElementKind


def test_article_main_content_only(sample_docs: Path) -> None:
    doc = pipeline.parse(sample_docs / "article.html")
    md = doc.to_markdown()
    assert md.startswith("# Harbour district tests cargo bikes")
    assert "## How the pilot works" in md
    for boilerplate in ("cookie", "Subscribe", "Related", "©"):
        assert boilerplate.lower() not in md.lower(), boilerplate
    kinds = {e.kind for e in doc.elements}
    assert ElementKind.LIST_ITEM in kinds and ElementKind.TABLE in kinds
    table = next(e for e in doc.elements if e.kind is ElementKind.TABLE)
    assert table.table is not None and table.table.rows[0] == ["Month", "Parcels per week", "Van trips avoided per month"]
    item = next(e for e in doc.elements if e.kind is ElementKind.LIST_ITEM)
    assert item.heading_path[-1] == "How the pilot works"


def test_latin1_declared_charset(sample_docs: Path) -> None:
    doc = pipeline.parse(sample_docs / "article_latin1.html")
    assert "Café Müller" in doc.text and "Schloßstraße" in doc.text
    assert doc.metadata["encoding"] in ("cp1252", "iso8859-1", "latin-1")


def test_broken_utf8_keeps_text(bad_inputs: dict[str, Path]) -> None:
    doc = pipeline.parse(bad_inputs["html_broken_utf8.html"])
    assert "Müller" in doc.text and "naïve" in doc.text
    assert any("invalid UTF-8" in w for w in doc.warnings)


def test_header_inside_article_kept_site_header_dropped(tmp_path: Path) -> None:
    page = tmp_path / "a.html"
    page.write_text("<html><body><header><a href='/'>Site</a></header><article><header><h1>Real title</h1></header>"
                    + "<p>" + "Some words of the article body. " * 20 + "</p></article></body></html>")
    doc = pipeline.parse(page)
    assert doc.elements[0].kind is ElementKind.TITLE and doc.elements[0].text == "Real title"
    assert doc.metadata["title"] == "Real title"
    assert "Site" not in doc.text


def test_undeclared_cp1252_detected(tmp_path: Path) -> None:
    p = tmp_path / "legacy.html"
    p.write_bytes("<html><body><p>Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e \u2013 na\u00efve d\u00e9j\u00e0 vu, r\u00e9sum\u00e9 \u00e9t\u00e9.</p></body></html>".encode("cp1252"))
    assert "Café crème brûlée" in pipeline.parse(p).text
