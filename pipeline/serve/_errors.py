"""Errors as JSON: every failure a client can cause or meet gets an HTTP status and the same ``reason`` codes
the CLI prints, in a body OpenAI clients also read (``{"error": {"message", "type", "code", ...}}``)."""

from __future__ import annotations

from typing import Any

from pipeline.exceptions import (
    ConfigurationError,
    DocumentTooLargeError,
    EmbeddingModelMismatchError,
    FileAccessError,
    IndexLockedError,
    IndexStoreError,
    InputError,
    LLMConnectionError,
    LLMError,
    RaglineError,
    UnsupportedFormatError,
)


class ServeError(RaglineError):
    """A request the server refuses (bad request, not found, too large, busy, timeout, unauthorised)."""

    def __init__(self, message: str, *, reason: str, status: int, headers: dict[str, str] | None = None,
                 source: str | None = None) -> None:
        super().__init__(message, source=source, stage="serve")
        self._reason = reason
        self.status = status
        self.headers = headers or {}


# Most specific first: the first class an error is an instance of gives its status.
_STATUS: list[tuple[type[RaglineError], int]] = [
    (DocumentTooLargeError, 413),
    (UnsupportedFormatError, 415),
    (FileAccessError, 404),
    (InputError, 422),
    (IndexLockedError, 409),
    (EmbeddingModelMismatchError, 409),
    (IndexStoreError, 404),
    (ConfigurationError, 400),
    (LLMConnectionError, 502),
    (LLMError, 502),
]


def status_for(exc: RaglineError) -> int:
    if isinstance(exc, ServeError):
        return exc.status
    return next((status for cls, status in _STATUS if isinstance(exc, cls)), 500)


def error_body(exc: RaglineError) -> dict[str, Any]:
    """``{"error": {...}}``: OpenAI's shape (message, type, code) with ragline's fields (reason, source, page,
    stage)."""
    d = exc.to_dict()
    return {"error": {"message": str(exc), "type": d["error"], "code": d["reason"], **d}}


__all__ = ["ServeError", "error_body", "status_for"]
