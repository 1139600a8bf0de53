"""Office files (DOCX, PPTX, XLSX) are zip archives of XML written by strangers: check them before any
library opens them.

* **Zip bombs**: the member count and the total uncompressed size declared in the central directory are
  capped. Python's ``zipfile`` never inflates a member past its declared size (it stops there and fails the
  CRC), so the declared sizes bound what the Office libraries can ever decompress.
* **XML entities**: OOXML parts never carry a DTD. A part that declares one (``<!DOCTYPE``/``<!ENTITY``, the
  carrier of external-entity and billion-laughs attacks) is refused before parsing. Beyond that check the
  parsers are safe on their own: python-docx / python-pptx parse with ``resolve_entities=False`` and
  openpyxl through defusedxml (``defusedxml`` is a dependency of ragline for that reason).
"""

from __future__ import annotations

import io
import re
import zipfile

from pydantic import BaseModel, ConfigDict, Field

from pipeline.exceptions import CorruptDocumentError, DocumentTooLargeError, UnsupportedFormatError

DEFAULT_MAX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_MEMBERS = 10_000
_XML_HEAD = 64 * 1024  # bytes of each XML part scanned for a DTD (it can only sit before the root element)
_DTD_RE = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)

# The main part of each format; a zip with none of these is not an Office document ragline reads.
OFFICE_KINDS = {"word/": "docx", "ppt/": "pptx", "xl/": "xlsx"}


class ZipLimits(BaseModel):
    """Caps applied to every Office archive (see the module docstring)."""

    model_config = ConfigDict(frozen=True)

    max_uncompressed_bytes: int = Field(default=DEFAULT_MAX_UNCOMPRESSED_BYTES, ge=1)
    max_members: int = Field(default=DEFAULT_MAX_MEMBERS, ge=1)


def office_kind(data: bytes, source: str) -> str:
    """"docx", "pptx" or "xlsx" for a zip archive, judged by its members; a typed error otherwise."""
    names = _open(data, source).namelist()
    for prefix, kind in OFFICE_KINDS.items():
        if any(n.startswith(prefix) for n in names):
            return kind
    if "mimetype" in names and b"opendocument" in data[:200]:
        what = "an OpenDocument file (ODT/ODS/ODP); save it as DOCX/XLSX/PPTX"
    else:
        what = "a zip archive that is not a DOCX, PPTX or XLSX document"
    raise UnsupportedFormatError(f"unsupported format: {what}", source=source, stage="detect")


def checked_zip(data: bytes, source: str, limits: ZipLimits, fmt: str) -> zipfile.ZipFile:
    """Open ``data`` as a zip after checking the caps and every XML part for a DTD."""
    zf = _open(data, source)
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise DocumentTooLargeError(
            f"{fmt.upper()} archive has {len(infos)} members, over the limit of {limits.max_members} "
            "(a zip bomb?; ParseOptions.office.max_members)",
            source=source, stage="parse",
        )
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_bytes:
        raise DocumentTooLargeError(
            f"{fmt.upper()} archive expands to {total:,} bytes, over the limit of {limits.max_uncompressed_bytes:,} "
            "(a zip bomb?; ParseOptions.office.max_uncompressed_bytes)",
            source=source, stage="parse",
        )
    for info in infos:
        if info.filename.lower().endswith((".xml", ".rels", ".vml")):
            _refuse_dtd(zf, info, source)
    return zf


def _open(data: bytes, source: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise CorruptDocumentError(f"damaged zip archive (Office document?): {exc}", source=source, stage="detect") from exc


def _refuse_dtd(zf: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> None:
    try:
        with zf.open(info) as fh:
            head = fh.read(_XML_HEAD)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise CorruptDocumentError(f"damaged archive member {info.filename}: {exc}", source=source, stage="parse") from exc
    if _DTD_RE.search(head.replace(b"\x00", b"")):
        raise CorruptDocumentError(
            f"unsafe XML in {info.filename}: it declares a DTD or entities, which Office files never do "
            "(refused; external entities are never resolved)",
            source=source, stage="parse",
        )
