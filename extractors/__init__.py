"""Backends: bytes of one format -> :class:`pipeline.document.Document`.

The format is chosen by content (magic bytes), the file name only breaks ties between text formats.
Each backend is a class with a light ``__init__`` and an ``extract(data, source=..., content_hash=...)``;
heavy libraries (PyMuPDF, unstructured, python-docx, python-pptx, openpyxl, rapidocr) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from extractors._detect import detect_format, maybe_decompress

if TYPE_CHECKING:
    from pipeline.protocols import Extractor


_OFFICE = {"docx": "DocxExtractor", "pptx": "PptxExtractor", "xlsx": "XlsxExtractor"}


def get_extractor(fmt: str, **options: Any) -> Extractor:
    """Backend instance for ``fmt`` ("pdf", "html", "markdown", "text", "docx", "pptx", "xlsx", "image")."""
    if fmt == "pdf":
        from extractors.pdf import PdfExtractor

        return PdfExtractor(**options)
    if fmt == "html":
        from extractors.html import HtmlExtractor

        return HtmlExtractor(**{k: v for k, v in options.items() if k in HtmlExtractor.OPTION_NAMES})
    if fmt in ("text", "markdown"):
        from extractors.text import TextExtractor

        return TextExtractor(markdown=fmt == "markdown")
    if fmt in _OFFICE:
        import importlib

        from extractors._office_zip import ZipLimits

        limits = ZipLimits(**{k: v for k, v in options.items() if k in ZipLimits.model_fields and v is not None})
        cls = getattr(importlib.import_module(f".{fmt}", __name__), _OFFICE[fmt])
        return cls(limits=limits)
    if fmt == "image":
        from extractors.image import ImageExtractor

        return ImageExtractor(**{k: v for k, v in options.items() if k in ImageExtractor.OPTION_NAMES})
    raise ValueError(f"no extractor for format {fmt!r}")


__all__ = ["detect_format", "get_extractor", "maybe_decompress"]
