"""Format detection from content. Extensions lie (a ``.pdf`` that is HTML, a ``.txt`` that is a PDF)."""

from __future__ import annotations

import gzip
import re

from extractors._encoding import utf16_codec
from extractors._registry import plugin_format
from pipeline.exceptions import CorruptDocumentError, EmptyDocumentError, UnsupportedFormatError

_HTML_RE = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|meta|title|div|p|article|section|table|h[1-6])\b",
    re.IGNORECASE | re.DOTALL,
)
_MD_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def maybe_decompress(data: bytes, source: str) -> bytes:
    """Transparently un-gzip ``.gz`` payloads (e.g. archived web pages)."""
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise CorruptDocumentError(f"truncated or corrupt gzip data: {exc}", source=source, stage="detect") from exc
    return data


def detect_format(data: bytes, source: str = "") -> str:
    """Return "pdf", "docx", "pptx", "xlsx", "image", "html", "markdown" or "text" for ``data``; raise a typed
    error otherwise."""
    if not data.strip():
        raise EmptyDocumentError("file is empty (0 bytes of content)", source=source, stage="detect")
    head = data[:2048]
    claimed = plugin_format(head, source)  # plug-in formats (entry points) first: they are the specific ones
    if claimed is not None:
        return claimed
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        from extractors._office_zip import office_kind

        return office_kind(data, source)
    if head.startswith(_IMAGE_SIGNATURES):
        return "image"
    stripped = head
    for bom in _BOMS:
        if stripped.startswith(bom):
            stripped = stripped[len(bom) :]
            break
    if stripped.startswith((b"\xff\xfe", b"\xfe\xff")) or (b"\x00" in stripped[:200] and _looks_utf16(stripped)):
        stripped = _utf16_to_ascii(stripped)
    if _HTML_RE.match(stripped):
        return "html"
    if not _looks_textual(head):
        kind = _binary_kind(head)
        raise UnsupportedFormatError(
            f"unsupported or binary content{f' ({kind})' if kind else ''}: not PDF, DOCX, PPTX, XLSX, an image, "
            "HTML, Markdown or text",
            source=source,
            stage="detect",
        )
    if source.lower().endswith(_MD_SUFFIXES):
        return "markdown"
    if re.search(rb"<(html|body|div|p)\b[^>]*>", head, re.IGNORECASE) and re.search(rb"</(p|div|body|html)>", data[:65536], re.IGNORECASE):
        return "html"
    return "text"


def _looks_utf16(b: bytes) -> bool:
    return b[1:40:2].count(0) > 15 or b[0:40:2].count(0) > 15


def _utf16_to_ascii(b: bytes) -> bytes:
    return b.decode(utf16_codec(b), errors="ignore").encode("ascii", errors="ignore")


def _looks_textual(head: bytes) -> bool:
    if b"\x00" in head and not _looks_utf16(head):
        return False
    # Control bytes other than whitespace are rare in text in any 8-bit encoding.
    ctrl = sum(1 for c in head if c < 32 and c not in (9, 10, 12, 13, 27))
    return ctrl <= max(2, len(head) // 100)


# PNG, JPEG, TIFF (little- and big-endian): read by OCR.
_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")

_SIGNATURES = {
    b"GIF8": "GIF image",
    b"RIFF": "RIFF container (WebP image, audio or video)",
    b"\xd0\xcf\x11\xe0": "legacy MS Office document (.doc/.xls/.ppt) or password-protected Office file",
    b"{\\rtf": "RTF document",
    b"\x1f\x8b": "gzip data",
    b"7z\xbc\xaf": "7-zip archive",
}


def _binary_kind(head: bytes) -> str:
    for sig, name in _SIGNATURES.items():
        if head.startswith(sig):
            return name
    return ""
