"""trafilatura's XML of a page's main content -> ragline Elements.

trafilatura (``output_format="xml"`` with tables, links and formatting) writes the content it keeps in a small
vocabulary: ``head rend="hN"`` (headings), ``p``, ``list rend="ul|ol"`` / ``item`` (nested lists inside items),
``table`` / ``row`` / ``cell role="head"``, ``quote``, ``code``, ``div`` (containers), and inline ``hi``
(formatting), ``ref target=...`` (links) and ``lb`` (line breaks). When its own extraction fails it falls back to
other algorithms whose output can hold inline elements directly under a container; runs of such inline content
become paragraphs. Links are written as Markdown links when their target is an absolute URL (the caller resolves
relative ones against the page's URL first).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

from pipeline.document import Element, ElementKind, TableData

_BLOCK_TAGS = frozenset({"p", "head", "list", "table", "quote", "code", "div", "item", "row", "cell", "graphic"})
_CONTAINER_TAGS = frozenset({"div", "body", "doc", "main", "section", "article"})
_LINK_SCHEMES = frozenset({"http", "https", "mailto", "ftp"})
_LINE_BREAK = "\ue000"  # an ``lb`` while inline text is gathered (source newlines are only white space)


def xml_to_elements(body: Any, *, base_url: str | None = None) -> list[Element]:
    """Elements of a trafilatura XML body, in document order."""
    return _Converter(base_url).container(body)


class _Converter:
    def __init__(self, base_url: str | None) -> None:
        self.base_url = base_url

    # -- blocks -------------------------------------------------------------------------------------------------

    def container(self, node: Any) -> list[Element]:
        """A container's children: blocks become elements, runs of inline content between them paragraphs."""
        out: list[Element] = []
        run: list[str] = [node.text or ""]
        for child in node:
            if not isinstance(child.tag, str):
                run.append(child.tail or "")
                continue
            if child.tag in _BLOCK_TAGS:
                self._flush(run, out)
                out.extend(self.block(child))
                run = [child.tail or ""]
            else:
                run.append(self.inline(child))
                run.append(child.tail or "")
        self._flush(run, out)
        return out

    def block(self, node: Any) -> list[Element]:
        tag = node.tag
        if tag == "head":
            text = _one_line(self.inline_content(node))
            return [Element(kind=ElementKind.HEADING, text=text, level=_heading_level(node), page=1)] if text else []
        if tag == "p":
            return self.paragraph(node)
        if tag == "list":
            return self.list_items(node, depth=0)
        if tag == "item":
            return self.list_items_of([node], ordered=False, depth=0)
        if tag == "table":
            return self.table(node)
        if tag == "quote":
            return [e.model_copy(update={"metadata": {**e.metadata, "role": "quote"}}) for e in self.container(node)]
        if tag == "code":
            text = "".join(node.itertext()).strip("\n")
            return [Element(kind=ElementKind.CODE, text=text, page=1)] if text.strip() else []
        if tag in ("row", "cell"):
            return self.paragraph(node)
        if tag == "graphic":
            return []
        return self.container(node)

    def paragraph(self, node: Any) -> list[Element]:
        if any(isinstance(c.tag, str) and c.tag in ("p", "list", "table", "quote", "code", "div") for c in node):
            return self.container(node)  # a paragraph holding blocks (malformed input): keep them as blocks
        text = _normalise(self.inline_content(node))
        return [Element(kind=ElementKind.PARAGRAPH, text=text, page=1)] if text else []

    def list_items(self, node: Any, *, depth: int) -> list[Element]:
        items = [c for c in node if isinstance(c.tag, str)]
        return self.list_items_of(items, ordered=node.get("rend") == "ol", depth=depth)

    def list_items_of(self, items: list[Any], *, ordered: bool, depth: int) -> list[Element]:
        out: list[Element] = []
        number = 0
        for item in items:
            if item.tag == "list":  # a list directly inside a list: one level deeper
                out.extend(self.list_items(item, depth=depth + 1))
                continue
            nested = [c for c in item if isinstance(c.tag, str) and c.tag == "list"]
            text = _normalise(self.inline_content(item, skip=frozenset(nested)), lines=False)
            if text:
                number += 1
                marker = f"{number}." if ordered else "-"
                out.append(Element(kind=ElementKind.LIST_ITEM, text=text, page=1,
                                   metadata={"marker": marker, "list_level": depth}))
            for sub in nested:
                out.extend(self.list_items(sub, depth=depth + 1))
        return out

    def table(self, node: Any) -> list[Element]:
        rows: list[list[str | None]] = []
        header_rows = 0
        for row in node.iter("row"):
            cells = [c for c in row if isinstance(c.tag, str) and c.tag == "cell"]
            if not cells:
                continue
            texts = [_one_line(self.inline_content(c)) for c in cells]
            if len(rows) == header_rows and all(c.get("role") == "head" for c in cells):
                header_rows += 1
            rows.append(texts)  # type: ignore[arg-type]
        if not any(any(c for c in r) for r in rows):
            return []
        table = TableData(rows=rows, header_rows=max(1, header_rows))
        return [Element(kind=ElementKind.TABLE, text=table.to_markdown(), table=table, page=1)]

    def _flush(self, run: list[str], out: list[Element]) -> None:
        text = _normalise("".join(run))
        if text:
            out.append(Element(kind=ElementKind.PARAGRAPH, text=text, page=1))
        run.clear()

    # -- inline -------------------------------------------------------------------------------------------------

    def inline_content(self, node: Any, skip: frozenset[Any] = frozenset()) -> str:
        """Text of ``node``'s content (not its tail), with links as Markdown and ``lb`` as a newline."""
        parts = [node.text or ""]
        for child in node:
            if child in skip:
                parts.append(child.tail or "")
                continue
            if isinstance(child.tag, str):
                parts.append(self.inline(child))
            parts.append(child.tail or "")
        return "".join(parts)

    def inline(self, node: Any) -> str:
        tag = node.tag
        if tag == "lb":
            return _LINE_BREAK
        if tag in _BLOCK_TAGS:  # a block nested in inline content: keep its words, separated
            return " " + self.inline_content(node) + " "
        text = self.inline_content(node)
        if tag == "ref":
            return self.link(text, node.get("target"))
        return text

    def link(self, text: str, target: str | None) -> str:
        label = _one_line(text)
        url = _resolve(target, self.base_url)
        if not label or not url or label == url:
            return text
        lead = text[: len(text) - len(text.lstrip())]
        trail = text[len(text.rstrip()) :]
        label = label.replace("[", "\\[").replace("]", "\\]")
        return f"{lead}[{label}]({url}){trail}"


def _resolve(target: str | None, base_url: str | None) -> str | None:
    """An absolute URL worth keeping as a link, else None (in-page anchors, scripts, unresolvable paths)."""
    target = (target or "").strip()
    if not target or target.startswith("#"):
        return None
    if base_url:
        try:
            target = urljoin(base_url, target)
        except ValueError:
            return None
    try:
        scheme = urlsplit(target).scheme.lower()
    except ValueError:
        return None
    if scheme not in _LINK_SCHEMES:
        return None
    return target.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _heading_level(node: Any) -> int:
    rend = (node.get("rend") or "").lower()
    return int(rend[1]) if len(rend) == 2 and rend[0] == "h" and rend[1] in "123456" else 2


def _normalise(text: str, *, lines: bool = True) -> str:
    """Collapse white space; line breaks (``lb``) are kept inside paragraphs when ``lines``."""
    parts = [" ".join(line.split()) for line in text.split(_LINE_BREAK)]
    return ("\n" if lines else " ").join(p for p in parts if p)


def _one_line(text: str) -> str:
    return _normalise(text, lines=False)
