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


def parse_html(text: str) -> Any:
    """The page as an lxml ``<html>`` root (huge text nodes allowed, comments and PIs dropped)."""
    import lxml.html
    from lxml import etree

    parser = lxml.html.HTMLParser(huge_tree=True, remove_comments=True, remove_pis=True, collect_ids=False,
                                  default_doctype=False)
    text = _INVALID_XML.sub("", text)
    try:
        return lxml.html.document_fromstring(text, parser=parser)
    except ValueError:  # a str with an XML encoding declaration: give libxml2 the bytes
        return lxml.html.document_fromstring(text.encode("utf-8"), parser=_utf8_parser())
    except etree.ParserError:  # nothing parseable (e.g. white space only)
        return lxml.html.document_fromstring("<html><body></body></html>")


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
