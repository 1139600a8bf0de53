"""Parsing a decoded HTML page with lxml, and what is read from the whole page: its title, its base URL for
resolving links, and the page without the tags that never hold content (for ``main_content_only=False``)."""

from __future__ import annotations

import copy
import re
from typing import Any

# Tags that never hold content; dropped from the whole page (``main_content_only=False`` and the fallback).
DROP_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "form", "button", "select", "input",
             "nav", "aside", "dialog", "canvas", "object", "embed")
# Characters libxml2 refuses in a Python str (C0 controls other than tab/newline/CR, lone surrogates, U+FFFE/F).
_ABSOLUTE = ("http://", "https://", "mailto:")
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# Deeper than this, an element's subtree is kept as its text: the libraries downstream (trafilatura,
# unstructured) walk the tree recursively and a page nested 100,000 levels deep (which a browser renders)
# would exhaust Python's stack. Real pages nest a few dozen levels.
MAX_DEPTH = 200


def parse_html(text: str) -> Any:
    """The page as an lxml ``<html>`` root (huge text nodes allowed, comments and PIs dropped, nesting past
    :data:`MAX_DEPTH` flattened to text)."""
    import lxml.html
    from lxml import etree

    parser = lxml.html.HTMLParser(huge_tree=True, remove_comments=True, remove_pis=True, collect_ids=False,
                                  default_doctype=False)
    text = _INVALID_XML.sub("", text)
    try:
        root = lxml.html.document_fromstring(text, parser=parser)
    except ValueError:  # a str with an XML encoding declaration: give libxml2 the bytes
        root = lxml.html.document_fromstring(text.encode("utf-8"), parser=_utf8_parser())
    except etree.ParserError:  # nothing parseable (e.g. white space only)
        return lxml.html.document_fromstring("<html><body></body></html>")
    if _max_depth(root) >= _LIBXML2_MAX_DEPTH - 8:
        # libxml2 stops building the tree at its depth limit and drops what lies deeper: rebuild the page
        # from its tags with the nesting capped first, so the text down there is kept.
        root = lxml.html.document_fromstring(_capped_source(text, MAX_DEPTH), parser=parser)
    flatten_deep(root, MAX_DEPTH)
    return root


_LIBXML2_MAX_DEPTH = 2048  # with huge_tree; 256 without
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())


def _max_depth(root: Any) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        el, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in el)
    return deepest


def _capped_source(text: str, limit: int) -> str:
    """``text`` re-serialised with every tag deeper than ``limit`` dropped (its text kept), read by the
    standard library's event parser, which holds no tree and never recurses."""
    import html
    from html.parser import HTMLParser

    out: list[str] = []
    depth = 0

    class _Capper(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            nonlocal depth
            if tag in _VOID:
                if depth < limit:
                    out.append(self.get_starttag_text() or "")
                return
            depth += 1
            if depth <= limit:
                out.append(self.get_starttag_text() or f"<{tag}>")

        def handle_endtag(self, tag: str) -> None:
            nonlocal depth
            if tag in _VOID:
                return
            if depth <= limit:
                out.append(f"</{tag}>")
            depth = max(0, depth - 1)

        def handle_data(self, data: str) -> None:
            out.append(html.escape(data, quote=False))

    capper = _Capper(convert_charrefs=True)
    capper.feed(text)
    capper.close()
    return "".join(out)


def flatten_deep(root: Any, limit: int) -> int:
    """Replace the children of every element at depth ``limit`` by their text (iteratively: no recursion);
    returns how many subtrees were flattened (0 for any page of ordinary depth)."""
    flattened = 0
    stack = [(root, 1)]
    while stack:
        el, depth = stack.pop()
        if depth >= limit and el.tag != "p" and (len(el) or (el.text or "").strip()):
            words = " ".join(" ".join(el.itertext()).split())
            for child in list(el):
                el.remove(child)
            el.text = None
            if words:  # as a paragraph: main-content extraction reads paragraphs, not a bare container's text
                el.append(el.makeelement("p", {}))
                el[0].text = words
            flattened += 1
            continue
        stack.extend((child, depth + 1) for child in el)
    return flattened


def _utf8_parser() -> Any:
    import lxml.html

    return lxml.html.HTMLParser(huge_tree=True, remove_comments=True, remove_pis=True, collect_ids=False,
                                default_doctype=False, encoding="utf-8")


def _text(el: Any) -> str:
    return " ".join(el.text_content().split())


def _meta(root: Any, *names: str) -> str:
    for name in names:
        for el in root.iter("meta"):
            if name in ((el.get("property") or "").lower(), (el.get("name") or "").lower()):
                value = " ".join((el.get("content") or "").split())
                if value:
                    return value
    return ""


def page_title(root: Any) -> str:
    """The article's headline: the ``<h1>`` that the page's ``<title>`` (or og:title) contains, else that title,
    else the first ``<h1>``. Site logos are often the first ``<h1>``, so it does not win on its own."""
    title_el = root.find(".//title")
    declared = _meta(root, "og:title", "twitter:title") or (_text(title_el) if title_el is not None else "")
    h1s = [t for t in (_text(h) for h in root.iter("h1")) if t]
    folded = declared.casefold()
    for h in h1s:
        if folded and h.casefold() in folded:
            return h
    return declared or (h1s[0] if h1s else "")


def base_url(root: Any) -> str | None:
    """The URL relative links resolve against: ``<base href>``, else the canonical URL the page gives."""
    base = root.find(".//base[@href]")
    if base is not None and (base.get("href") or "").strip().lower().startswith(("http://", "https://")):
        return base.get("href").strip()
    for el in root.iter("link"):
        rel = (el.get("rel") or "").lower().split()
        href = (el.get("href") or "").strip()
        if "canonical" in rel and href.lower().startswith(("http://", "https://")):
            return href
    url = _meta(root, "og:url")
    return url if url.lower().startswith(("http://", "https://")) else None


def absolutize_links(root: Any, base: str | None) -> None:
    """Resolve every ``<a href>`` against ``base`` (in place); in-page anchors (``#...``) lose their target."""
    from urllib.parse import urljoin

    for a in root.iter("a"):
        href = (a.get("href") or "").strip()
        if not href:
            continue
        if href.startswith("#"):
            del a.attrib["href"]
        elif base and not href.startswith(_ABSOLUTE):
            try:
                a.set("href", urljoin(base, href))
            except ValueError:  # a malformed URL: keep the text only
                del a.attrib["href"]


def whole_page_html(root: Any) -> str:
    """The page as HTML without scripts, styles, navigation, forms and the like (the rest is kept)."""
    import lxml.html

    page = copy.deepcopy(root)
    for el in list(page.iter(*DROP_TAGS)):
        _drop(el)
    return str(lxml.html.tostring(page, encoding="unicode"))


def _drop(el: Any) -> None:
    """Remove ``el`` but keep its tail text."""
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
