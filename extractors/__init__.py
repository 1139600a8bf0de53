"""Backends: bytes of one format -> :class:`pipeline.document.Document`.

The format is chosen by content (magic bytes), the file name only breaks ties between text formats.
Each backend is a class with a light ``__init__`` and an ``extract(data, source=..., content_hash=...)``;
heavy libraries (PyMuPDF, unstructured, python-docx, python-pptx, openpyxl, rapidocr) load on first use.
Which backends exist is one table (:mod:`extractors._registry`); a plug-in package adds a format through the
``ragline.extractors`` entry-point group (:class:`BackendSpec`).
"""

from __future__ import annotations

from extractors._detect import detect_format, maybe_decompress
from extractors._registry import (
    ENTRY_POINT_GROUP,
    BackendSpec,
    backends,
    default_include,
    get_extractor,
    plugin_format,
    refresh_backends,
)
from extractors._table_mode import TableMode

__all__ = [
    "ENTRY_POINT_GROUP",
    "BackendSpec",
    "TableMode",
    "backends",
    "default_include",
    "detect_format",
    "get_extractor",
    "maybe_decompress",
    "plugin_format",
    "refresh_backends",
]
