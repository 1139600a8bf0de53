"""Plain-text and Markdown backend."""

from __future__ import annotations

import re

from extractors._encoding import decode_text
from extractors._structure import assign_heading_paths
from pipeline.document import Document, Element, ElementKind, TableData

_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+(.*)$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


class TextExtractor:
    """Plain text (paragraphs split on blank lines) or Markdown (headings, lists, tables, code)."""

    def __init__(self, markdown: bool = False) -> None:
        self.format = "markdown" if markdown else "text"

    def extract(self, data: bytes, *, source: str, content_hash: str) -> Document:
        text, encoding, warnings = decode_text(data)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        elements = _parse_markdown(text) if self.format == "markdown" else _parse_plain(text)
        assign_heading_paths(elements)
        return Document(
            source=source,
            content_hash=content_hash,
            format="markdown" if self.format == "markdown" else "text",
            pages=1,
            elements=elements,
            metadata={"encoding": encoding},
            warnings=warnings,
        )


def _parse_plain(text: str) -> list[Element]:
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in block.strip().splitlines() if ln.strip()]
        if not lines:
            continue
        if all(_LIST.match(ln) for ln in lines):
            out += [Element(kind=ElementKind.LIST_ITEM, text=_LIST.match(ln).group(1), page=1) for ln in lines]  # type: ignore[union-attr]
        else:
            out.append(Element(kind=ElementKind.PARAGRAPH, text=" ".join(lines), page=1))
    return out


def _parse_markdown(text: str) -> list[Element]:
    out: list[Element] = []
    lines = text.split("\n")
    i = 0
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append(Element(kind=ElementKind.PARAGRAPH, text=" ".join(s.strip() for s in para), page=1))
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            flush()
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            out.append(Element(kind=ElementKind.CODE, text="\n".join(lines[i + 1 : j]), page=1))
            i = j + 1
            continue
        m = _ATX.match(line)
        if m:
            flush()
            out.append(Element(kind=ElementKind.HEADING, text=m.group(2), level=len(m.group(1)), page=1))
            i += 1
            continue
        if "|" in line and i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1]):
            flush()
            rows = [_cells(line)]
            j = i + 2
            while j < len(lines) and "|" in lines[j] and lines[j].strip():
                rows.append(_cells(lines[j]))
                j += 1
            table = TableData(rows=rows, header_rows=1)  # type: ignore[arg-type]
            out.append(Element(kind=ElementKind.TABLE, text=table.to_markdown(), table=table, page=1))
            i = j
            continue
        lm = _LIST.match(line)
        if lm:
            flush()
            out.append(Element(kind=ElementKind.LIST_ITEM, text=lm.group(1).strip(), page=1))
            i += 1
            continue
        if not line.strip():
            flush()
        else:
            para.append(line)
        i += 1
    flush()
    return out


def _cells(line: str) -> list[str]:
    s = line.strip()
    s = s.removeprefix("|")
    s = s.removesuffix("|")
    return [c.strip() for c in re.split(r"(?<!\\)\|", s)]
