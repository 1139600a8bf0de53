"""HTML main content keeps ragline's structure: headings and heading paths, lists with markers and levels,
tables with cells, links as Markdown links; no main content falls back to the whole page; no content is a typed
error."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipeline
from extractors._html_elements import xml_to_elements
from pipeline import exceptions as ex
from pipeline.document import ElementKind

PROSE = "The committee met on Tuesday and agreed the budget for next year after a long debate. " * 3

PAGE = f"""<!DOCTYPE html><html><head><title>Budget agreed | Town Gazette</title>
<link rel="canonical" href="https://gazette.example/news/2026/budget-agreed"></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><p class="kicker">Council</p><h1>Budget agreed</h1>
<p>{PROSE} Read the <a href="/docs/budget.pdf">full budget</a>, the
<a href="https://other.example/a (b)">[draft] notes</a> or jump to <a href="#votes">the votes</a>.</p>
<h2>What changes</h2><p>{PROSE}</p>
<ol><li>Schools get more money<ul><li>for buildings</li><li>for teachers</li></ul></li><li>Roads get less</li></ol>
<h2 id="votes">Votes</h2><p>{PROSE}</p>
<table><tr><th>Party</th><th>For</th><th>Against</th></tr><tr><td>Greens</td><td>5</td><td>1</td></tr>
<tr><td>Liberals</td><td>3</td><td>4</td></tr></table>
<p>{PROSE}</p></article>
<footer>Copyright Town Gazette</footer></body></html>"""


@pytest.fixture()
def page(tmp_path: Path) -> Path:
    p = tmp_path / "budget.html"
    p.write_text(PAGE)
    return p


def test_headline_is_the_title_and_sections_keep_their_path(page: Path) -> None:
    doc = pipeline.parse(page)
    titles = [e for e in doc.elements if e.kind is ElementKind.TITLE]
    assert [t.text for t in titles] == ["Budget agreed"]  # the h1 after the kicker, not duplicated
    assert doc.metadata["title"] == "Budget agreed" and doc.metadata["content"] == "main"
    votes = next(e for e in doc.elements if e.kind is ElementKind.HEADING and e.text == "Votes")
    assert votes.level == 2 and votes.heading_path == ["Budget agreed"]
    table = next(e for e in doc.elements if e.kind is ElementKind.TABLE)
    assert table.heading_path == ["Budget agreed", "Votes"]
    assert table.table is not None and table.table.rows == [["Party", "For", "Against"], ["Greens", "5", "1"],
                                                            ["Liberals", "3", "4"]]
    assert "Home" not in doc.text and "Copyright" not in doc.text


def test_lists_keep_markers_and_levels(page: Path) -> None:
    items = [e for e in pipeline.parse(page).elements if e.kind is ElementKind.LIST_ITEM]
    got = [(e.text, e.metadata["marker"], e.metadata["list_level"]) for e in items]
    assert got == [("Schools get more money", "1.", 0), ("for buildings", "-", 1), ("for teachers", "-", 1),
                   ("Roads get less", "2.", 0)]


def test_links_are_markdown_links_resolved_against_the_page_url(page: Path) -> None:
    md = pipeline.parse(page).to_markdown()
    assert "[full budget](https://gazette.example/docs/budget.pdf)" in md
    assert "[\\[draft\\] notes](https://other.example/a%20%28b%29)" in md
    assert "jump to the votes." in md  # an in-page anchor is not a link worth keeping


@pytest.mark.slow
def test_whole_page_when_asked(page: Path) -> None:
    doc = pipeline.parse(page, pipeline.ParseOptions(main_content_only=False))
    assert "Copyright Town Gazette" in doc.text and "content" not in doc.metadata


def test_no_main_content_falls_back_to_the_whole_page(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from extractors import _html_main

    monkeypatch.setattr(_html_main, "main_content", lambda root: (None, {}))
    doc = pipeline.parse(page)
    assert doc.metadata["content"] == "whole_page"
    assert any("whole page" in w for w in doc.warnings)
    assert "The committee met on Tuesday" in doc.text


@pytest.mark.parametrize("html", ["<html><head><title>Only a title</title></head><body></body></html>",
                                  "<html><body><script>var x = 1;</script></body></html>"])
def test_page_without_text_is_a_typed_error(tmp_path: Path, html: str) -> None:
    p = tmp_path / "empty.html"
    p.write_text(html)
    with pytest.raises(ex.EmptyDocumentError) as info:
        pipeline.parse(p)
    assert info.value.source == str(p)


def test_inline_content_under_a_container_becomes_paragraphs() -> None:
    """trafilatura's fallback algorithms can put text and inline elements straight under a container."""
    from lxml import etree

    body = etree.fromstring(
        '<body><div>Lead text with <hi rend="#i"><ref target="https://x.example/">a link</ref></hi>.'
        "<p>A paragraph<lb/>on two lines.</p>tail words <hi>here</hi><head rend=\"h3\">Sub</head>"
        "<quote><p>Quoted.</p></quote><code>x = 1\n  y = 2</code></div></body>"
    )
    els = xml_to_elements(body)
    assert [(e.kind.value, e.text) for e in els] == [
        ("paragraph", "Lead text with [a link](https://x.example/)."),
        ("paragraph", "A paragraph\non two lines."),
        ("paragraph", "tail words here"),
        ("heading", "Sub"),
        ("paragraph", "Quoted."),
        ("code", "x = 1\n  y = 2"),
    ]
    assert els[3].level == 3 and els[4].metadata["role"] == "quote"
