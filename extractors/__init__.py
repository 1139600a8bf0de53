"""Backends: bytes of one format -> :class:`pipeline.document.Document`.

The format is chosen by content (magic bytes), the file name only breaks ties between text formats.
Each backend is a class with a light ``__init__`` and an ``extract(data, source=..., content_hash=...)``;
heavy libraries (PyMuPDF, unstructured) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._detect import detect_format, maybe_decompress

if TYPE_CHECKING:
    from pipeline.protocols import Extractor


def get_extractor(fmt: str, **options: Any) -> Extractor:
    """Backend instance for ``fmt`` ("pdf", "html", "markdown", "text")."""
    if fmt == "pdf":
        from .pdf import PdfExtractor

        return PdfExtractor(**options)
    if fmt == "html":
        from .html import HtmlExtractor

        return HtmlExtractor(**{k: v for k, v in options.items() if k in HtmlExtractor.OPTION_NAMES})
    if fmt in ("text", "markdown"):
        from .text import TextExtractor

        return TextExtractor(markdown=fmt == "markdown")
    raise ValueError(f"no extractor for format {fmt!r}")


__all__ = ["detect_format", "get_extractor", "maybe_decompress"]
