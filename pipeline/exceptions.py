"""Every error ragline raises on purpose derives from :class:`RaglineError`.

Third-party errors (PyMuPDF, unstructured, httpx, faiss, ...) are caught at the stage boundary and
re-raised as one of these, with ``source``, ``page`` and ``stage`` set where known, and the original
exception chained as ``__cause__``.

    RaglineError
    ├── InputError                     a document could not be read (per-document; a batch goes on)
    │   ├── FileAccessError            missing, unreadable or not a regular file
    │   ├── EmptyDocumentError         zero bytes, zero pages, or no content at all
    │   ├── UnsupportedFormatError     content is not a format ragline reads (e.g. random bytes)
    │   ├── CorruptDocumentError       a known format that fails to open or decode (truncated PDF, ...)
    │   ├── EncryptedDocumentError     needs a password, or the password given is wrong
    │   ├── NeedsOCRError              a PDF whose pages carry no text layer (scanned images)
    │   └── DocumentTooLargeError      over the configured page / byte limit
    ├── ConfigurationError             bad options, unknown model, missing optional dependency
    │   └── MissingDependencyError     an extra (``ragline[cpu]``, ``ragline[local]``) is not installed
    ├── IndexStoreError                index directory problems
    │   ├── IndexLockedError           another writer holds the index
    │   └── EmbeddingModelMismatchError  query model differs from the model that built the index
    └── LLMError                       the LLM stage failed
        ├── LLMConnectionError         endpoint unreachable / timed out after all retries
        ├── LLMResponseError           non-retryable HTTP error (4xx other than 429), or retries exhausted
        └── ExtractionError            no valid output after the last attempt (keeps attempts + last completion)
"""

from __future__ import annotations

from typing import Any


class RaglineError(Exception):
    """Base class. ``source``/``page``/``stage`` say where it happened, when known."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        page: int | None = None,
        stage: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.page = page
        self.stage = stage

    @property
    def reason(self) -> str:
        """Short machine-friendly name of the failure, e.g. ``encrypted`` (used in reports)."""
        return getattr(self, "_reason", "error")

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.page is not None:
            where.append(f"page {self.page}")
        if self.stage:
            where.append(f"stage {self.stage}")
        return f"{self.message} [{', '.join(where)}]" if where else self.message

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "reason": self.reason,
            "message": self.message,
            "source": self.source,
            "page": self.page,
            "stage": self.stage,
        }


class InputError(RaglineError):
    _reason = "input"


class FileAccessError(InputError):
    _reason = "unreadable"


class EmptyDocumentError(InputError):
    _reason = "empty"


class UnsupportedFormatError(InputError):
    _reason = "unsupported_format"


class CorruptDocumentError(InputError):
    _reason = "corrupt"


class EncryptedDocumentError(InputError):
    _reason = "encrypted"


class NeedsOCRError(InputError):
    _reason = "needs_ocr"


class DocumentTooLargeError(InputError):
    _reason = "too_large"


class ConfigurationError(RaglineError):
    _reason = "configuration"


class MissingDependencyError(ConfigurationError):
    _reason = "missing_dependency"


class IndexStoreError(RaglineError):
    _reason = "index"


class IndexLockedError(IndexStoreError):
    _reason = "index_locked"


class EmbeddingModelMismatchError(IndexStoreError):
    _reason = "embedding_model_mismatch"


class LLMError(RaglineError):
    _reason = "llm"


class LLMConnectionError(LLMError):
    _reason = "llm_connection"


class LLMResponseError(LLMError):
    _reason = "llm_response"

    def __init__(self, message: str, *, status_code: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.status_code = status_code


class ExtractionError(LLMError):
    """Raised after the last attempt; ``attempts`` holds every (completion, error) pair."""

    _reason = "extraction"

    def __init__(
        self,
        message: str,
        *,
        attempts: list[Any] | None = None,
        last_completion: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.attempts = attempts or []
        self.last_completion = last_completion


__all__ = [
    "ConfigurationError",
    "CorruptDocumentError",
    "DocumentTooLargeError",
    "EmbeddingModelMismatchError",
    "EmptyDocumentError",
    "EncryptedDocumentError",
    "ExtractionError",
    "FileAccessError",
    "IndexLockedError",
    "IndexStoreError",
    "InputError",
    "LLMConnectionError",
    "LLMError",
    "LLMResponseError",
    "MissingDependencyError",
    "NeedsOCRError",
    "RaglineError",
    "UnsupportedFormatError",
]
