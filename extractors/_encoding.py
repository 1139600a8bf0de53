"""Bytes -> str for text formats: BOM, then declared charset, then strict UTF-8, then detection."""

from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-.]+)""", re.IGNORECASE)


def _norm(enc: str) -> str | None:
    try:
        name = codecs.lookup(enc).name
    except LookupError:
        return None
    # Browsers treat latin-1 / ascii declarations as windows-1252 (WHATWG); so do we.
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name


def utf16_codec(b: bytes) -> str:
    """``utf-16`` (a BOM says the order), else the byte order the zero bytes show: ASCII characters in
    UTF-16-LE have their zero byte second (odd offsets), in UTF-16-BE first."""
    if b[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    return "utf-16-le" if b[1:400:2].count(0) >= b[0:400:2].count(0) else "utf-16-be"


def decode_text(data: bytes, *, html: bool = False) -> tuple[str, str, list[str]]:
    """Decode ``data``; return (text, encoding used, warnings). Never raises on bad bytes."""
    warnings: list[str] = []
    for bom, enc in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom) :].decode(enc, errors="replace"), enc, warnings
    if len(data) >= 4 and (data[1:400:2].count(0) > 0.4 * len(data[1:400:2])
                           or data[0:400:2].count(0) > 0.4 * len(data[0:400:2])):
        # UTF-16 without a byte order mark: mostly-ASCII text has a zero in every other byte.
        enc = utf16_codec(data)
        return data.decode(enc, errors="replace"), enc, warnings
    declared = None
    if html:
        m = _META_CHARSET.search(data[:4096]) or _XML_ENCODING.search(data[:200])
        if m:
            declared = _norm(m.group(1).decode("ascii", "ignore"))
    if declared and declared not in ("utf-8",):
        try:
            return data.decode(declared), declared, warnings
        except UnicodeDecodeError:
            warnings.append(f"declared charset {declared} does not fit the bytes; detecting")
    try:
        return data.decode("utf-8"), "utf-8", warnings
    except UnicodeDecodeError as exc:
        utf8_error = exc
    # Mostly-UTF-8 with a few broken sequences: keep UTF-8 and replace the bad bytes (what a browser does)
    # rather than mis-decoding the whole page as a legacy charset.
    bad = data.decode("utf-8", errors="replace").count("\ufffd")
    non_ascii = sum(1 for b in data if b >= 0x80)
    if declared == "utf-8" or (non_ascii and bad * 4 < non_ascii):
        warnings.append(f"invalid UTF-8 at byte {utf8_error.start}; {bad} undecodable sequence(s) replaced")
        return data.decode("utf-8", errors="replace"), "utf-8", warnings
    # Undeclared legacy bytes in mostly-Latin text: windows-1252, the WHATWG default (statistical
    # detectors guess Baltic or Central European code pages on short Western texts).
    letters = sum(1 for b in data if (65 <= b <= 90) or (97 <= b <= 122))
    if non_ascii <= 0.35 * (letters + non_ascii):
        try:
            return data.decode("cp1252"), "cp1252", warnings
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None and best.encoding:
        enc = _norm(best.encoding) or best.encoding
        return data.decode(enc, errors="replace"), enc, warnings
    warnings.append("could not detect the encoding; decoded as cp1252")
    return data.decode("cp1252", errors="replace"), "cp1252", warnings
