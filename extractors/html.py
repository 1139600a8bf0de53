"""HTML backend: the page's main content found by trafilatura, turned into ragline Elements.

* ``main_content_only=True`` (default): trafilatura picks the article (``_html_main``) and writes it as XML with
  headings, lists, tables and links; ``_html_elements`` turns that into Elements (heading levels, list markers and
  levels, table cells, Markdown links). The headline becomes the document's TITLE. When trafilatura finds no main
  content, the whole page is kept instead (a warning says so, ``metadata["content"] == "whole_page"``).
* ``main_content_only=False`` (``--all-html``): the whole page, less scripts, styles, navigation and forms, through
  unstructured's ``partition_html`` (``_html_unstructured``).

A page with no text at all (or only a title) is an ``EmptyDocumentError``, never an empty document.
"""

from __future__ import annotations

from extractors._encoding import decode_text
from extractors._structure import assign_heading_paths
from pipeline.document import HEADING_KINDS, Document, Element, ElementKind
from pipeline.exceptions import DocumentTooLargeError, EmptyDocumentError

MAX_HTML_BYTES = 64 * 1024 * 1024  # one page; larger is refused with this limit named (DocumentTooLargeError)


class HtmlExtractor:
    """HTML -> Document (one page)."""

    format = "html"
    OPTION_NAMES = ("main_content_only",)

    def __init__(self, *, main_content_only: bool = True) -> None:
        self.main_content_only = main_content_only

    def warm_up(self) -> None:
        if self.main_content_only:
            from extractors import _html_main

            _html_main.warm_up()
        else:
            from extractors import _html_unstructured

            _html_unstructured.warm_up()

    def extract(self, data: bytes, *, source: str, content_hash: str) -> Document:
        from extractors._html_tree import page_title, parse_html

        if len(data) > MAX_HTML_BYTES:
            raise DocumentTooLargeError(
                f"HTML page is {len(data):,} bytes, over the limit of {MAX_HTML_BYTES:,} for one page",
                source=source, stage="parse",
            )
        text, encoding, warnings = decode_text(data, html=True)
        root = parse_html(text)
        title = page_title(root)
        metadata: dict[str, str] = {"encoding": encoding}
        elements = self._main_content(root, title, metadata) if self.main_content_only else []
        if self.main_content_only:
            metadata["content"] = "main" if elements else "whole_page"
            if not elements:
                warnings.append("no main content found in the page; the whole page is kept")
        if not elements:
            elements = self._whole_page(root, title)
        if not any(e.text.strip() for e in elements if e.kind is not ElementKind.TITLE):
            raise EmptyDocumentError(
                "no text content in the HTML page" + (f" beyond its title {title!r}" if title else ""),
                source=source, stage="parse",
            )
        assign_heading_paths(elements)
        if title:
            metadata["title"] = title
        return Document(source=source, content_hash=content_hash, format="html", pages=1, elements=elements,
                        metadata=metadata, warnings=warnings)

    def _main_content(self, root: object, title: str, metadata: dict[str, str]) -> list[Element]:
        """Elements of trafilatura's main content (empty when it finds none), the headline as TITLE; what it read
        about the page (author, date, site name, URL) goes into ``metadata``."""
        from extractors._html_elements import xml_to_elements
        from extractors._html_main import main_content
        from extractors._html_tree import absolutize_links, base_url

        absolutize_links(root, base_url(root))  # before trafilatura, which would resolve against the host only
        body, about = main_content(root)
        metadata.update(about)
        elements = xml_to_elements(body) if body is not None else []
        if not any(e.text.strip() for e in elements):
            return []
        return _with_title(elements, title)

    def _whole_page(self, root: object, title: str) -> list[Element]:
        from extractors._html_tree import whole_page_html
        from extractors._html_unstructured import partition_elements

        elements = partition_elements(whole_page_html(root))
        if self.main_content_only and title and not any(e.kind in HEADING_KINDS for e in elements[:3]):
            elements.insert(0, Element(kind=ElementKind.TITLE, text=title, level=1, page=1))
        return elements


def _with_title(elements: list[Element], title: str) -> list[Element]:
    """The article's headline as the document's TITLE: a level-1 heading near the top (after a kicker such as
    "Review") or one that reads as the page title; else the page title, which usually sits outside the article
    container, is put first."""
    folded = title.casefold()
    for i, el in enumerate(elements):
        if el.kind is ElementKind.HEADING and el.level == 1 and (i < 3 or el.text.casefold() == folded):
            elements[i] = el.model_copy(update={"kind": ElementKind.TITLE})
            return elements
    if title:
        elements.insert(0, Element(kind=ElementKind.TITLE, text=title, level=1, page=1))
    return elements
