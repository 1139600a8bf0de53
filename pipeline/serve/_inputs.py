"""A request's document: an upload read within its byte limit, or a server-side path inside the allowed roots,
parsed with the server's parse options capped by its page and byte limits."""

from __future__ import annotations

import base64
import binascii
import os
import re
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
    name = os.path.basename(file.filename or "upload")
    parts: list[bytes] = []
    size = 0
    while chunk := await file.read(_CHUNK):
        size += len(chunk)
        check_upload_size(size, limit, name)
        parts.append(chunk)
    if size == 0:
        raise ServeError("the upload is empty", reason="empty", status=422, source=name)
    return b"".join(parts), name


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


def parse_path(state: ServerState, path: str) -> Document:
    from pipeline.parsing import Parser

    return Parser(parse_options(state)).run(confined(path, state.serve.allowed_roots))


__all__ = ["data_url_bytes", "parse_bytes", "parse_options", "parse_path", "read_upload"]
