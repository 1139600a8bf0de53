"""DOCX backend on python-docx: headings (Title / Heading N styles, outline levels), paragraphs, lists (with
their numbering format), tables (merged cells once) and hyperlinks as Markdown links, in body order.

A DOCX has no fixed pages: every element is on page 1. The archive is checked first (``_office_zip``).
"""

from __future__ import annotations

import io
import re
from typing import Any

from extractors._office_zip import ZipLimits, checked_zip
from extractors._structure import assign_heading_paths
from pipeline.document import Document, Element, ElementKind, TableData
from pipeline.exceptions import CorruptDocumentError

_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class DocxExtractor:
    """DOCX -> Document. python-docx is imported on first ``extract``."""

    format = "docx"

    def __init__(self, *, limits: ZipLimits | None = None) -> None:
        self.limits = limits or ZipLimits()

    def extract(self, data: bytes, *, source: str, content_hash: str) -> Document:
        checked_zip(data, source, self.limits, "docx")
        import docx

        try:
            document = docx.Document(io.BytesIO(data))
        except Exception as exc:  # python-docx raises KeyError, PackageNotFoundError, XMLSyntaxError ...
            raise CorruptDocumentError(f"cannot open DOCX: {type(exc).__name__}: {exc}", source=source, stage="parse") from exc
        numbering = _numbering_formats(document)
        counters: dict[tuple[str, int], int] = {}
        elements: list[Element] = []
        for block in document.iter_inner_content():
            if hasattr(block, "rows"):
                table = _table(block)
                if table is not None:
                    elements.append(Element(kind=ElementKind.TABLE, text=table.to_markdown(), table=table, page=1))
            else:
                element = _paragraph(block, numbering, counters)
                if element is not None:
                    elements.append(element)
        assign_heading_paths(elements)
        props = document.core_properties
        metadata = {k: v for k, v in {"title": props.title, "author": props.author, "subject": props.subject}.items() if v}
        return Document(source=source, content_hash=content_hash, format="docx", pages=1, elements=elements,
                        metadata=metadata)


def _paragraph(p: Any, numbering: dict[tuple[str, int], str], counters: dict[tuple[str, int], int]) -> Element | None:
    text = _runs_text(p).strip()
    if not text:
        return None
    style = (p.style.name if p.style is not None else "") or ""
    if style.lower() == "title":
        return Element(kind=ElementKind.TITLE, text=text, level=1, page=1)
    level = _heading_level(p, style)
    if level is not None:
        return Element(kind=ElementKind.HEADING, text=text, level=level, page=1)
    num = _num_pr(p)
    if num is not None or style.lower().startswith("list"):
        num_id, ilvl = num or ("style:" + style, 0)
        fmt = numbering.get((num_id, ilvl), "decimal" if "number" in style.lower() else "bullet")
        marker = "-"
        if fmt != "bullet":
            counters[(num_id, ilvl)] = counters.get((num_id, ilvl), 0) + 1
            marker = f"{counters[(num_id, ilvl)]}."
        return Element(kind=ElementKind.LIST_ITEM, text=text, page=1, metadata={"marker": marker, "list_level": ilvl})
    return Element(kind=ElementKind.PARAGRAPH, text=text, page=1)


def _runs_text(p: Any) -> str:
    """The paragraph's text with hyperlinks written as Markdown links."""
    parts: list[str] = []
    for item in p.iter_inner_content():
        url = getattr(item, "url", None)
        text = item.text
        if url and text.strip() and text.strip() != url:
            parts.append(f"[{text}]({url})")
        else:
            parts.append(text)
    return "".join(parts).replace("\t", " ")


def _heading_level(p: Any, style: str) -> int | None:
    """Heading N style (or one based on it), else the paragraph's own outline level."""
    s = p.style
    while s is not None:
        m = _HEADING_STYLE.match(s.name or "")
        if m:
            return int(m.group(1))
        s = s.base_style
    ppr = p._p.pPr
    lvl = ppr.find(f"{_W}outlineLvl") if ppr is not None else None
    if lvl is not None and (val := lvl.get(f"{_W}val", "")).isdigit() and int(val) < 9:
        return int(val) + 1
    return None


def _num_pr(p: Any) -> tuple[str, int] | None:
    ppr = p._p.pPr
    num_pr = ppr.numPr if ppr is not None else None
    if num_pr is None or num_pr.numId is None:
        return None
    num_id = str(num_pr.numId.val)
    if num_id == "0":  # numbering switched off
        return None
    return num_id, int(num_pr.ilvl.val) if num_pr.ilvl is not None else 0


def _numbering_formats(document: Any) -> dict[tuple[str, int], str]:
    """(numId, level) -> numFmt ("bullet", "decimal", ...) from the numbering part, when there is one."""
    try:
        root = document.part.numbering_part.element
    except (KeyError, NotImplementedError, AttributeError):
        return {}
    abstract = {}
    for an in root.findall(f"{_W}abstractNum"):
        levels = {}
        for lvl in an.findall(f"{_W}lvl"):
            fmt = lvl.find(f"{_W}numFmt")
            levels[int(lvl.get(f"{_W}ilvl", "0"))] = fmt.get(f"{_W}val", "bullet") if fmt is not None else "bullet"
        abstract[an.get(f"{_W}abstractNumId")] = levels
    out = {}
    for num in root.findall(f"{_W}num"):
        ref = num.find(f"{_W}abstractNumId")
        levels = abstract.get(ref.get(f"{_W}val") if ref is not None else None, {})
        for ilvl, fmt in levels.items():
            out[(str(num.get(f"{_W}numId")), ilvl)] = fmt
    return out


def _table(table: Any) -> TableData | None:
    """Cell texts row by row; a cell merged across columns or rows is given once, the rest are None."""
    rows: list[list[str | None]] = []
    seen: dict[int, Any] = {}  # id -> the cell element, kept alive so that ids stay unique
    for row in table.rows:
        cells: list[str | None] = []
        for cell in row.cells:
            key = id(cell._tc)
            cells.append(None if key in seen else " ".join(cell.text.split()))
            seen[key] = cell._tc
        rows.append(cells)
    if not any(c for r in rows for c in r):
        return None
    return TableData(rows=rows, header_rows=1)
