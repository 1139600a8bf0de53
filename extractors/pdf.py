"""PDF backend on PyMuPDF (1.x): reading order, headings, tables, page furniture, per-element page + bbox.

Why not PyMuPDF 2.x's layout model: see docs/decisions.md (it is an ONNX model run per page, an order of
magnitude slower than the text-layer analysis below, and our fidelity targets are met without it).

Pipeline per document:
1. open (typed errors for corrupt / encrypted / empty / too large);
2. per page: text lines from ``get_text("dict")`` (ligatures expanded, hyphenation repaired by MuPDF),
   tables from ``find_tables()`` only on pages whose vector drawings look like a grid (the costly step);
3. document-wide statistics: body font size, heading font sizes, repeated header/footer lines;
4. per page: lines grouped into blocks, blocks ordered (column-aware), classified, emitted as Elements.

The steps live in private modules: ``_pdf_page_reader`` (2, with ``_pdf_tables``), ``_pdf_furniture`` and
``_pdf_classify`` (3, 4), ``_pdf_reading_order`` (4), ``_pdf_hyphens`` (line-end hyphens, document-wide).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from extractors._ocr import OcrUnavailable
from extractors._pdf_classify import classify, font_statistics, outline_by_page, promote_title
from extractors._pdf_furniture import mark_furniture
from extractors._pdf_hyphens import resolve_hyphens
from extractors._pdf_layout import Page
from extractors._pdf_ocr import ocr_page, wants_ocr
from extractors._pdf_page_reader import read_page
from extractors._pdf_reading_order import order_blocks
from extractors._structure import assign_heading_paths
from extractors._table_mode import TableMode
from pipeline.document import Document, Element, ElementKind, ErrorRecord
from pipeline.exceptions import (
    ConfigurationError,
    CorruptDocumentError,
    DocumentTooLargeError,
    EmptyDocumentError,
    EncryptedDocumentError,
    NeedsOCRError,
)


@dataclass
class _ReadPdf:
    """What is read from the file before any document-wide analysis."""

    pages: list[Page]
    metadata: dict[str, Any]
    toc: list[list[Any]]
    repaired: bool  # MuPDF had to repair the file (e.g. truncated)
    warnings: list[str]
    unreadable: list[int]  # 1-based pages that raised while reading
    issues: list[ErrorRecord]  # one per unreadable page, with the reason
    ocr_pages: list[int]  # 1-based pages read by OCR
    ocr_error: str | None  # why OCR could not run, when it was wanted


class PdfExtractor:
    """PDF -> Document. Options are plain config; PyMuPDF is imported on first ``extract``."""

    format = "pdf"

    def __init__(
        self,
        *,
        password: str | None = None,
        max_pages: int | None = None,
        tables: TableMode | str = TableMode.AUTO,
        keep_furniture: bool = False,
        ocr: str = "auto",
        ocr_dpi: int = 150,
    ) -> None:
        if ocr not in ("auto", "always", "never"):
            raise ConfigurationError(f"ocr must be one of 'auto', 'always', 'never', not {ocr!r}", stage="parse")
        self.ocr = ocr
        self.ocr_dpi = ocr_dpi
        try:
            self.tables = TableMode(tables)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in TableMode)
            raise ConfigurationError(f"tables must be one of {allowed}, not {tables!r}", stage="parse") from None
        self.password = password
        self.max_pages = max_pages
        self.keep_furniture = keep_furniture

    # ------------------------------------------------------------------ open
    def _open(self, data: bytes, source: str) -> Any:
        import pymupdf

        # PyMuPDF prints an advert for its layout package on stdout, which would corrupt piped output.
        if hasattr(pymupdf, "no_recommend_layout"):
            pymupdf.no_recommend_layout()
        # MuPDF prints every repair message on stderr; a repair is reported as a result instead (Document.repaired).
        pymupdf.TOOLS.mupdf_display_errors(False)

        if not data:
            raise EmptyDocumentError("file is empty (0 bytes)", source=source, stage="parse")
        try:
            doc = pymupdf.open(stream=data, filetype="pdf")
        except Exception as exc:  # MuPDF raises FileDataError/RuntimeError subclasses
            raise CorruptDocumentError(f"cannot open PDF: {exc}", source=source, stage="parse") from exc
        if doc.needs_pass:
            if not self.password:
                raise EncryptedDocumentError(
                    "PDF is encrypted and needs a password (use --password / ParseOptions.password)",
                    source=source,
                    stage="parse",
                )
            if not doc.authenticate(self.password):
                raise EncryptedDocumentError("wrong password for encrypted PDF", source=source, stage="parse")
        if doc.page_count == 0:
            raise EmptyDocumentError("PDF has no pages", source=source, stage="parse")
        if self.max_pages is not None and doc.page_count > self.max_pages:
            raise DocumentTooLargeError(
                f"PDF has {doc.page_count} pages, over the limit of {self.max_pages} (--max-pages)",
                source=source,
                stage="parse",
            )
        return doc

    def _read(self, data: bytes, source: str) -> _ReadPdf:
        """Open the file and read every page; an unreadable page becomes an empty one and a warning."""
        doc = self._open(data, source)
        warnings: list[str] = []
        unreadable: list[int] = []
        issues: list[ErrorRecord] = []
        pages: list[Page] = []
        ocr = _OcrState(self.ocr, self.ocr_dpi)
        try:
            for pno in range(doc.page_count):
                try:
                    pages.append(ocr.maybe_ocr(doc[pno], read_page(doc[pno], pno + 1, self.tables)))
                except Exception as exc:  # noqa: BLE001  # one broken page must not lose the document
                    warnings.append(f"page {pno + 1}: could not be read ({exc})")
                    unreadable.append(pno + 1)
                    issues.append(_issue(CorruptDocumentError(
                        f"page {pno + 1} could not be read: {exc}", source=source, page=pno + 1, stage="parse")))
                    pages.append(Page(number=pno + 1, width=612, height=792))
            metadata = {k: v for k, v in (doc.metadata or {}).items() if v}
            toc = doc.get_toc(simple=True)
            repaired = bool(getattr(doc, "is_repaired", False))
        finally:
            doc.close()
        if warnings and all(not p.blocks for p in pages):
            raise CorruptDocumentError("no page of the PDF could be read: " + warnings[0], source=source, stage="parse")
        return _ReadPdf(pages, metadata, toc, repaired, warnings, unreadable, issues, ocr.pages, ocr.error)

    # ------------------------------------------------------------------ extract
    def extract(self, data: bytes, *, source: str, content_hash: str) -> Document:
        read = self._read(data, source)
        pages, warnings = read.pages, read.warnings
        _check_text_layer(read, source)
        _record_missing_pages(read, source)

        furniture = mark_furniture(pages)
        body_size, heading_levels, bold_body = font_statistics(pages)
        toc_index = outline_by_page(read.toc)
        elements: list[Element] = []
        for page in pages:
            for block in order_blocks(page.blocks):
                elements.extend(classify(block, page, body_size, heading_levels, toc_index, bold_body))
        resolve_hyphens(elements)
        promote_title(elements)
        assign_heading_paths(elements)
        if not self.keep_furniture:
            elements = [e for e in elements if e.kind not in (ElementKind.PAGE_HEADER, ElementKind.PAGE_FOOTER)]
        for element in elements:
            if element.page in read.ocr_pages:
                element.metadata["ocr"] = True
        metadata = read.metadata
        metadata.update(
            {
                "page_furniture": furniture,
                "body_font_size": body_size,
                "outline": [[lvl, title, page] for lvl, title, page in read.toc],
            }
        )
        return Document(
            source=source,
            content_hash=content_hash,
            format="pdf",
            pages=len(pages),
            elements=elements,
            metadata=metadata,
            warnings=warnings,
            unreadable_pages=sorted(read.unreadable),
            repaired=read.repaired,
            ocr_pages=read.ocr_pages,
            issues=sorted(read.issues, key=lambda r: (r.page or 0, r.reason)),
        )


def _check_text_layer(read: _ReadPdf, source: str) -> None:
    """Raise when the PDF has no text to extract (damaged, empty, or images only that OCR could not read); append
    a warning for a repaired file and for pages without a text layer."""
    pages, warnings = read.pages, read.warnings
    total_chars = sum(p.chars for p in pages)
    if read.repaired:
        warnings.append("the PDF file is damaged (e.g. truncated); MuPDF repaired it and content may be missing")
    if total_chars == 0 and read.repaired:
        raise CorruptDocumentError(
            "PDF is damaged (truncated or corrupt): no readable content after repair", source=source, stage="parse"
        )
    if total_chars == 0 and not any(p.has_images for p in pages):
        raise EmptyDocumentError(f"PDF has {len(pages)} page(s) but no text and no images", source=source, stage="parse")
    if total_chars == 0 and read.ocr_pages:
        raise EmptyDocumentError(
            f"PDF has no text layer and OCR found no text on its {len(read.ocr_pages)} image page(s)",
            source=source, stage="parse",
        )
    if total_chars == 0:
        images = sum(p.has_images for p in pages)
        raise NeedsOCRError(
            f"PDF has no text layer ({images} of {len(pages)} pages are images only); it needs OCR{_ocr_hint(read)}",
            source=source,
            stage="parse",
        )
    empty_pages = [p.number for p in pages if p.chars == 0 and p.has_images and p.number not in read.ocr_pages]
    if empty_pages:
        warnings.append(f"pages without a text layer (need OCR): {_ranges(empty_pages)}")
    if read.ocr_pages:
        warnings.append(f"pages read by OCR: {_ranges(read.ocr_pages)}")


def _ocr_hint(read: _ReadPdf) -> str:
    return f" ({read.ocr_error})" if read.ocr_error else " (OCR is off: --ocr never)"


class _OcrState:
    """OCR of the pages that want it, until the engine turns out to be unavailable."""

    def __init__(self, mode: str, dpi: int) -> None:
        self.mode, self.dpi = mode, dpi
        self.pages: list[int] = []
        self.error: str | None = None

    def maybe_ocr(self, pdf_page: Any, page: Page) -> Page:
        if self.error is not None or not wants_ocr(page, self.mode):
            return page
        try:
            page = ocr_page(pdf_page, page, self.dpi)
        except OcrUnavailable as exc:
            self.error = f"OCR unavailable: {exc}"
            return page
        self.pages.append(page.number)
        return page


def _issue(exc: Exception, reason: str | None = None) -> ErrorRecord:
    record = ErrorRecord.from_exception(exc)
    return record.model_copy(update={"reason": reason}) if reason else record


def _record_missing_pages(read: _ReadPdf, source: str) -> None:
    """Structured results for what could not be read (the document is partial): pages that are images only
    (no text layer), a repaired file, and pages left empty by the repair."""
    for page in read.pages:
        if page.number in read.unreadable or page.chars:
            continue
        if page.number in read.ocr_pages:
            continue
        if page.has_images:
            msg = f"page {page.number} has no text layer (an image only); it needs OCR{_ocr_hint(read)}"
            read.issues.append(_issue(NeedsOCRError(msg, source=source, page=page.number, stage="parse")))
            read.unreadable.append(page.number)
        elif read.repaired:
            msg = f"page {page.number} is empty after the repair of the damaged file; its content is probably lost"
            read.issues.append(_issue(CorruptDocumentError(msg, source=source, page=page.number, stage="parse"), "repaired"))
            read.unreadable.append(page.number)
    if read.repaired:
        msg = "the PDF file is damaged (e.g. truncated); MuPDF repaired it and content may be missing"
        read.issues.append(_issue(CorruptDocumentError(msg, source=source, stage="parse"), "repaired"))


def _ranges(nums: list[int]) -> str:
    """Sorted page numbers as ranges: [1, 2, 3, 7] -> "1-3, 7"."""
    out, start, prev = [], nums[0], nums[0]
    for n in nums[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out)
