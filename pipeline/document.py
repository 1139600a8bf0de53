"""The typed document model every extractor produces and every later stage consumes.

A :class:`Document` is a flat, reading-ordered list of :class:`Element` s. Structure is carried on
each element (``kind``, heading ``level``, ``heading_path``), which keeps chunking, rendering and
serialisation simple and streaming-friendly.
"""

from __future__ import annotations

import hashlib
import os
from enum import Enum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)


def content_hash(data: bytes) -> str:
    """SHA-256 of a document's bytes: its ``Document.content_hash``, its id in an index and in batch journals."""
    return hashlib.sha256(data).hexdigest()


def file_content_hash(path: str | os.PathLike[str], chunk: int = 1 << 22) -> str:
    """:func:`content_hash` of a file, read in chunks (a multi-GB file never sits in memory). Raises ``OSError``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()

class ElementKind(str, Enum):
    TITLE = "title"
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST_ITEM = "list_item"
    TABLE = "table"
    CAPTION = "caption"
    CODE = "code"
    FORMULA = "formula"
    PAGE_HEADER = "page_header"
    PAGE_FOOTER = "page_footer"


HEADING_KINDS = frozenset({ElementKind.TITLE, ElementKind.HEADING})
FURNITURE_KINDS = frozenset({ElementKind.PAGE_HEADER, ElementKind.PAGE_FOOTER})


class BBox(BaseModel):
    """Box in PDF points, origin top-left (PyMuPDF convention)."""

    model_config = ConfigDict(frozen=True)

    x0: float
    y0: float
    x1: float
    y1: float

    @classmethod
    def of(cls, rect: Any) -> BBox:
        x0, y0, x1, y1 = tuple(rect)[:4]
        return cls(x0=round(x0, 2), y0=round(y0, 2), x1=round(x1, 2), y1=round(y1, 2))


class TableData(BaseModel):
    """Cell structure of a table: ``rows[i][j]`` is a cell's text (None for a merged/empty cell).

    ``row_boxes[i]`` is where row ``i`` is printed (x0, y0, x1, y1 in PDF points, page coordinates as element
    bboxes), so a hit or a citation can point at one row; None where the format has no page geometry (HTML,
    Office, text) and in parses stored before row boxes existed. ``cell_boxes[i][j]`` is where cell ``j`` of
    row ``i`` is printed (None for an empty cell), so a citation of one figure can point at that figure rather
    than its whole row; None as ``row_boxes`` is, and in parses stored before cell boxes existed. Both are left
    out of the serialised form when None, so documents without boxes serialise exactly as before."""

    rows: list[list[str | None]]
    header_rows: int = 1
    row_boxes: list[tuple[float, float, float, float]] | None = None
    cell_boxes: list[list[tuple[float, float, float, float] | None]] | None = None

    @model_validator(mode="after")
    def _one_box_per_row(self) -> TableData:
        if self.row_boxes is not None and len(self.row_boxes) != len(self.rows):
            raise ValueError(f"row_boxes has {len(self.row_boxes)} boxes for {len(self.rows)} rows")
        if self.cell_boxes is not None and len(self.cell_boxes) != len(self.rows):
            raise ValueError(f"cell_boxes has {len(self.cell_boxes)} rows of boxes for {len(self.rows)} rows")
        return self

    @model_serializer(mode="wrap")
    def _without_absent_boxes(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in ("row_boxes", "cell_boxes"):
            if getattr(self, name) is None:
                data.pop(name, None)
        return data

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def n_cols(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    def to_markdown(self, rows: list[list[str | None]] | None = None) -> str:
        body = self.rows if rows is None else rows
        if not body:
            return ""
        width = max(len(r) for r in body)

        def cell(v: str | None) -> str:
            return (v or "").replace("\n", " ").replace("|", "\\|").strip()

        lines = []
        for i, row in enumerate(body):
            cells = [cell(c) for c in row] + [""] * (width - len(row))
            lines.append("| " + " | ".join(cells) + " |")
            if i == 0:
                lines.append("|" + "|".join(["---"] * width) + "|")
        return "\n".join(lines)


class Element(BaseModel):
    kind: ElementKind
    text: str
    page: int = Field(ge=1, description="1-based page number (1 for formats without pages)")
    bbox: BBox | None = None
    level: int | None = Field(default=None, description="heading level, 1 = top")
    heading_path: list[str] = Field(default_factory=list, description="titles of enclosing headings")
    table: TableData | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_heading(self) -> bool:
        return self.kind in HEADING_KINDS

    def to_markdown(self) -> str:
        if self.kind in HEADING_KINDS:
            return "#" * max(1, min(self.level or 1, 6)) + " " + self.text
        if self.kind is ElementKind.LIST_ITEM:
            return f"{self.metadata.get('marker') or '-'} {self.text}"
        if self.kind is ElementKind.TABLE:
            return self.table.to_markdown() if self.table else self.text
        if self.kind is ElementKind.CODE:
            return "```\n" + self.text + "\n```"
        return self.text


class ErrorRecord(BaseModel):
    """One failure, as every result and every JSON output of ragline reports it.

    Built from a :class:`~pipeline.exceptions.RaglineError` with :meth:`from_exception`; shared by
    ``ParseResult``, ``IngestReport``, ``ExtractionResult`` and the CLI's records."""

    error: str = Field(description="exception class name, e.g. EncryptedDocumentError")
    reason: str = Field(description="short machine-friendly cause, e.g. encrypted")
    message: str
    source: str | None = None
    page: int | None = None
    stage: str | None = None

    @classmethod
    def from_exception(cls, exc: BaseException, *, source: str | None = None, stage: str | None = None) -> ErrorRecord:
        """A record for ``exc``; ``source``/``stage`` fill in what the exception does not say."""
        return cls(
            error=type(exc).__name__,
            reason=str(getattr(exc, "reason", "error")),
            message=str(getattr(exc, "message", None) or exc),
            source=getattr(exc, "source", None) or source,
            page=getattr(exc, "page", None),
            stage=getattr(exc, "stage", None) or stage,
        )


class Document(BaseModel):
    source: str = Field(description="path or name the document came from")
    content_hash: str = Field(description="sha256 of the source bytes; also the document id")
    format: str = Field(description="the backend's format: pdf, html, text, markdown, docx, pptx, xlsx, image, or a plug-in's")
    pages: int = Field(ge=0, description="pages (PDF), slides (PPTX), sheets (XLSX); 1 for formats without pages")
    elements: list[Element] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    unreadable_pages: list[int] = Field(
        default_factory=list, description="1-based pages whose content could not be read (the document is partial)"
    )
    ocr_pages: list[int] = Field(
        default_factory=list, description="1-based pages read by OCR (no usable text layer); read, so not partial"
    )
    repaired: bool = Field(
        default=False, description="the file was damaged and repaired on opening; content may be missing (partial)"
    )
    issues: list[ErrorRecord] = Field(
        default_factory=list,
        description="why the document is partial: one record per unreadable page or repair, with reason and page",
    )

    @property
    def is_partial(self) -> bool:
        """Some content could not be read: unreadable pages, or a file that had to be repaired."""
        return bool(self.unreadable_pages or self.repaired)

    @property
    def id(self) -> str:
        return self.content_hash

    @property
    def body(self) -> list[Element]:
        """Elements without page furniture (running headers, footers, page numbers)."""
        return [e for e in self.elements if e.kind not in FURNITURE_KINDS]

    @property
    def text(self) -> str:
        return "\n\n".join(e.text for e in self.body)

    def to_markdown(self) -> str:
        return "\n\n".join(e.to_markdown() for e in self.body if e.text.strip()) + "\n"

    def __repr__(self) -> str:  # one line: the default would print every element
        partial = ", partial" if self.is_partial else ""
        return (f"Document(source={self.source!r}, format={self.format!r}, pages={self.pages}, "
                f"elements={len(self.elements)}{partial})")

    __str__ = __repr__


class ParseStatus(str, Enum):
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILURE = "failure"


class ParseResult(BaseModel):
    """Outcome of parsing one source: a document, or the error that prevented it."""

    source: str
    status: ParseStatus
    document: Document | None = None
    errors: list[ErrorRecord] = Field(default_factory=list)
    seconds: float = 0.0


__all__ = [
    "FURNITURE_KINDS",
    "HEADING_KINDS",
    "BBox",
    "Document",
    "Element",
    "ElementKind",
    "ErrorRecord",
    "ParseResult",
    "ParseStatus",
    "TableData",
]
