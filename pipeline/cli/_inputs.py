"""PATH arguments as users type them: ``-`` (standard input), a glob the shell did not expand (quoted, or on
Windows), and, with ``--fetch``, ``http(s)://`` URLs. Each becomes a local file before the commands see it;
what cannot become one is an error record naming it, and the batch goes on.

URLs are opt-in (ragline reads the network only when told): fetched with httpx, redirects followed, refused
past ``--max-fetch-mb`` (default 100) or when the server says the content is of a type ragline does not read.
"""

from __future__ import annotations

import argparse
import atexit
import glob
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.document import ErrorRecord

_GLOB_CHARS = re.compile(r"[*?\[]")
_URL = re.compile(r"^https?://", re.I)
# What the server may call a document ragline reads (parameters such as "; charset=" are ignored).
_READABLE_TYPES = ("application/pdf", "text/", "application/xhtml", "application/vnd.openxmlformats-officedocument",
                   "image/png", "image/jpeg", "image/tiff", "application/octet-stream", "application/x-pdf")
_TEMP: list[Path] = []


def add_fetch_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("inputs from elsewhere")
    g.add_argument("--fetch", action="store_true",
                   help="read http(s):// URLs given as PATH (off by default: ragline reaches the network only when "
                        "told); PATH '-' reads standard input")
    g.add_argument("--max-fetch-mb", type=float, default=100.0, metavar="MB",
                   help="refuse a URL's content past this size (default 100)")


def _temp_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="ragline-input-"))
    if not _TEMP:
        atexit.register(lambda: [shutil.rmtree(d, ignore_errors=True) for d in _TEMP])
    _TEMP.append(folder)
    return folder


def resolve_paths(args: argparse.Namespace) -> list[ErrorRecord]:
    """Rewrite ``args.paths`` into local paths; return the error records of the arguments that did not resolve
    (they are left out of ``args.paths``). Arguments that name no file stay as they are (the commands report
    them as missing)."""
    out: list[str] = []
    errors: list[ErrorRecord] = []
    for raw in args.paths:
        if raw == "-":
            out.append(_stdin())
        elif _URL.match(raw):
            path, error = _fetch(raw, args)
            if error is not None:
                errors.append(error)
            else:
                out.append(path)
        elif not os.path.exists(raw) and _GLOB_CHARS.search(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            if matches:
                out.extend(matches)
            else:
                errors.append(_error(raw, "no file matches this pattern", "read"))
        else:
            out.append(raw)
    args.paths = out
    return errors


def _error(source: str, message: str, stage: str, *, reason: type[Exception] | None = None) -> ErrorRecord:
    from pipeline.document import ErrorRecord
    from pipeline.exceptions import FileAccessError

    return ErrorRecord.from_exception((reason or FileAccessError)(message, source=source, stage=stage))


def _stdin() -> str:
    path = _temp_dir() / "stdin"
    with path.open("wb") as fh:
        shutil.copyfileobj(sys.stdin.buffer, fh)
    return str(path)


def _fetch(url: str, args: argparse.Namespace) -> tuple[str, ErrorRecord | None]:
    from pipeline.exceptions import DocumentTooLargeError, UnsupportedFormatError

    if not getattr(args, "fetch", False):
        return "", _error(url, "a URL is read only with --fetch (ragline reaches the network only when told)", "read")
    import httpx

    limit = int(float(getattr(args, "max_fetch_mb", 100.0)) * 2**20)
    name = os.path.basename(url.split("?", 1)[0].split("#", 1)[0].rstrip("/")) or "download"
    path = _temp_dir() / name
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=30.0) as resp:
            if resp.status_code >= 400:
                return "", _error(url, f"HTTP {resp.status_code} {resp.reason_phrase}", "fetch")
            kind = resp.headers.get("content-type", "application/octet-stream").split(";")[0].strip().lower()
            if not kind.startswith(_READABLE_TYPES):
                return "", _error(url, f"the server says the content is {kind}, not a document ragline reads",
                                  "fetch", reason=UnsupportedFormatError)
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                return "", _error(url, f"{int(declared):,} bytes, over --max-fetch-mb", "fetch",
                                  reason=DocumentTooLargeError)
            size = 0
            with path.open("wb") as fh:
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        return "", _error(url, f"over {limit:,} bytes (--max-fetch-mb)", "fetch",
                                          reason=DocumentTooLargeError)
                    fh.write(chunk)
    except httpx.HTTPError as exc:
        return "", _error(url, f"cannot fetch: {type(exc).__name__}: {exc}", "fetch")
    print(f"ragline: fetched {url} ({size:,} bytes) -> {path}", file=sys.stderr)
    return str(path), None


__all__ = ["add_fetch_options", "resolve_paths"]
