"""A request's document: an upload read within its byte limit, or a server-side path inside the allowed roots,
parsed with the server's parse options capped by its page and byte limits."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.serve._errors import ServeError
from pipeline.serve._guards import check_upload_size, confined

if TYPE_CHECKING:
    from fastapi import UploadFile

    from pipeline.document import Document
    from pipeline.parsing import ParseOptions
    from pipeline.serve._state import ServerState

_CHUNK = 1 << 20


async def read_upload(file: UploadFile, limit: int) -> tuple[bytes, str]:
    """The upload's bytes (refused past ``limit`` without reading the rest) and its file name."""
    name = safe_name(file.filename)
    parts: list[bytes] = []
    size = 0
    while chunk := await file.read(_CHUNK):
        size += len(chunk)
        check_upload_size(size, limit, name)
        parts.append(chunk)
    if size == 0:
        raise ServeError("the upload is empty", reason="empty", status=422, source=name)
    return b"".join(parts), name


def safe_name(filename: str | None) -> str:
    """The upload's file name without any folder (never ``..`` or empty)."""
    name = os.path.basename((filename or "").replace("\\", "/").replace("\0", ""))
    return name if name not in ("", ".", "..") else "upload"


def data_url_bytes(data: str, limit: int, name: str) -> bytes:
    """The bytes of a ``data:...;base64,...`` URL (or plain base64), as OpenAI's file content parts carry them."""
    payload = data.split(",", 1)[1] if data.startswith("data:") else data
    check_upload_size(len(payload) * 3 // 4, limit, name)
    try:
        return base64.b64decode(re.sub(r"\s", "", payload), validate=True)
    except (binascii.Error, ValueError):
        raise ServeError("the attached file is not valid base64", reason="bad_request", status=400,
                         source=name) from None


def parse_options(state: ServerState) -> ParseOptions:
    """The configured parse options within the server's limits."""
    options = state.config.parse
    serve = state.serve
    max_bytes = min(options.max_bytes or serve.max_upload_bytes, serve.max_upload_bytes)
    max_pages = options.pdf.max_pages
    if serve.max_pages is not None:
        max_pages = min(max_pages or serve.max_pages, serve.max_pages)
    return options.model_copy(update={"max_bytes": max_bytes,
                                      "pdf": options.pdf.model_copy(update={"max_pages": max_pages})})


def parse_bytes(state: ServerState, data: bytes, name: str) -> Document:
    from pipeline.parsing import Parser

    return Parser(parse_options(state)).parse_bytes(data, source=name)


def parse_file(state: ServerState, path: Path) -> Document:
    from pipeline.parsing import Parser

    return Parser(parse_options(state)).run(path)


@contextlib.contextmanager
def upload_as_file(state: ServerState, data: bytes, name: str) -> Iterator[Path]:
    """The upload written to a private folder under the state directory, for the ``with`` block.

    Extraction reads a PDF's words and attached e-invoice XML from the document's file: a document parsed from
    bytes alone has neither, and its fields come out worse. So uploads to extract are files while they are
    extracted, then removed."""
    uploads = state.serve.state_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=uploads))
    path = folder / safe_name(name)
    try:
        path.write_bytes(data)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def parse_path(state: ServerState, path: str) -> Document:
    from pipeline.parsing import Parser

    return Parser(parse_options(state)).run(confined(path, state.serve.allowed_roots))


__all__ = ["data_url_bytes", "parse_bytes", "parse_file", "parse_options", "parse_path", "read_upload",
           "safe_name", "upload_as_file"]
