"""PPTX backend on python-pptx: one page per slide; the slide title as a heading, text boxes and body
placeholders (bullets as list items) top to bottom, tables, grouped shapes, and the speaker notes.

A slide that holds pictures but no text is reported as unreadable (it needs OCR): nothing is dropped in silence.
"""

from __future__ import annotations

import io
from typing import Any

from extractors._office_zip import ZipLimits, checked_zip
from extractors._structure import assign_heading_paths
from pipeline.document import Document, Element, ElementKind, ErrorRecord, TableData
from pipeline.exceptions import CorruptDocumentError, NeedsOCRError


class PptxExtractor:
    """PPTX -> Document. python-pptx is imported on first ``extract``."""

    format = "pptx"

    def __init__(self, *, limits: ZipLimits | None = None) -> None:
        self.limits = limits or ZipLimits()

    def extract(self, data: bytes, *, source: str, content_hash: str) -> Document:
        checked_zip(data, source, self.limits, "pptx")
        import pptx

        try:
            prs = pptx.Presentation(io.BytesIO(data))
        except Exception as exc:  # python-pptx raises KeyError, PackageNotFoundError, XMLSyntaxError ...
            raise CorruptDocumentError(f"cannot open PPTX: {type(exc).__name__}: {exc}", source=source, stage="parse") from exc
        elements: list[Element] = []
        issues: list[ErrorRecord] = []
        n_slides = 0
        for number, slide in enumerate(prs.slides, start=1):
            n_slides = number
            slide_elements, pictures = _slide(slide, number)
            elements.extend(slide_elements)
            if pictures and not slide_elements:
                problem = NeedsOCRError(f"slide {number} holds only pictures ({pictures}); it needs OCR",
                                        source=source, page=number, stage="parse")
                issues.append(ErrorRecord.from_exception(problem))
        assign_heading_paths(elements)
        props = prs.core_properties
        metadata = {k: v for k, v in {"title": props.title, "author": props.author, "subject": props.subject}.items() if v}
        return Document(
            source=source, content_hash=content_hash, format="pptx", pages=n_slides, elements=elements,
            metadata=metadata, unreadable_pages=[r.page for r in issues if r.page], issues=issues,
        )


def _slide(slide: Any, number: int) -> tuple[list[Element], int]:
    """The slide's elements in reading order, and how many pictures it holds."""
    out: list[Element] = []
    title_shape = slide.shapes.title
    title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None and title_shape.has_text_frame else ""
    if title:
        out.append(Element(kind=ElementKind.HEADING, text=title, level=1, page=number, metadata={"slide": number}))
    pictures = 0
    title_id = title_shape.shape_id if title_shape is not None else None
    for shape in _reading_order(slide.shapes):
        if shape.shape_id == title_id:
            continue
        if shape.shape_type is not None and int(shape.shape_type) == 13:  # MSO_SHAPE_TYPE.PICTURE
            pictures += 1
        out.extend(_shape(shape, number))
    if slide.has_notes_slide:
        frame = slide.notes_slide.notes_text_frame
        notes = frame.text.strip() if frame is not None else ""
        if notes:
            out.append(Element(kind=ElementKind.PARAGRAPH, text=" ".join(notes.split()), page=number,
                               metadata={"role": "notes", "slide": number}))
    return out, pictures


def _reading_order(shapes: Any) -> list[Any]:
    """Shapes top to bottom, then left to right (rows of shapes within 1/2 inch share a band); groups flattened."""
    flat: list[Any] = []
    for shape in shapes:
        if hasattr(shape, "shapes"):  # a group
            flat.extend(_reading_order(shape.shapes))
        else:
            flat.append(shape)
    band = 457200  # EMU in half an inch
    return sorted(flat, key=lambda s: ((s.top or 0) // band, s.left or 0))


def _shape(shape: Any, number: int) -> list[Element]:
    if getattr(shape, "has_table", False) and shape.has_table:
        rows: list[list[str | None]] = [[" ".join(c.text.split()) for c in row.cells] for row in shape.table.rows]
        if not any(c for r in rows for c in r):
            return []
        table = TableData(rows=rows, header_rows=1)
        return [Element(kind=ElementKind.TABLE, text=table.to_markdown(), table=table, page=number)]
    if not getattr(shape, "has_text_frame", False) or not shape.has_text_frame:
        return []
    bulleted = _is_body_placeholder(shape)
    out = []
    for para in shape.text_frame.paragraphs:
        text = " ".join(_runs_text(para).split())
        if not text:
            continue
        if bulleted or para.level > 0:
            meta = {"marker": "-", "list_level": para.level}
            out.append(Element(kind=ElementKind.LIST_ITEM, text=text, page=number, metadata=meta))
        else:
            out.append(Element(kind=ElementKind.PARAGRAPH, text=text, page=number))
    return out


def _is_body_placeholder(shape: Any) -> bool:
    """Body and content placeholders are bulleted by the layout; text boxes are not."""
    if not shape.is_placeholder:
        return False
    try:
        kind = int(shape.placeholder_format.type)
    except (ValueError, AttributeError):
        return False
    return kind in (2, 7)  # PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT


def _runs_text(para: Any) -> str:
    parts = []
    for run in para.runs:
        url = run.hyperlink.address if run.hyperlink is not None else None
        parts.append(f"[{run.text}]({url})" if url and run.text.strip() and run.text.strip() != url else run.text)
    return "".join(parts) if para.runs else para.text
