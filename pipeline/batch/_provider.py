"""The provider's Files and Batches API (OpenAI's, which hosted providers and vLLM copy), on httpx.

* ``POST {base}/files`` (multipart: ``file``, ``purpose=batch``) -> a file object with its ``id``;
* ``POST {base}/batches`` (``input_file_id``, ``endpoint="/v1/chat/completions"``, ``completion_window="24h"``)
  and ``GET {base}/batches/{id}`` -> a batch object: ``status`` (validating, in_progress, finalizing,
  completed, failed, expired, cancelling, cancelled), ``request_counts``, ``output_file_id``, ``error_file_id``;
* ``GET {base}/files/{id}/content`` -> the file's bytes.

Retries (429, 5xx, timeouts, refused connections) follow the chat client's :class:`RetryPolicy`.
httpx errors never escape: they become :class:`~pipeline.exceptions.LLMConnectionError` or
:class:`~pipeline.exceptions.LLMResponseError`, naming the operation and the URL; the API key is
sent as a bearer token and scrubbed from every message.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.batch._requests_manifest import CHAT_ENDPOINT
from pipeline.exceptions import ConfigurationError, LLMConnectionError, LLMResponseError
from pipeline.llm import RetryPolicy

FINISHED_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})


class BatchInfo(BaseModel):
    """The fields of a provider's batch object that ragline reads (the rest is kept as sent)."""

    model_config = ConfigDict(extra="allow")

    id: str
    status: str
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    request_counts: dict[str, int] = Field(default_factory=dict)
    errors: Any = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class BatchProvider:
    """``with BatchProvider(base_url, api_key=...) as p: fid = p.upload(path); b = p.create(fid); ...``"""

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = 300.0,
                 retry: RetryPolicy | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._key = api_key
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(transport=transport, headers=headers,
                                  timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)))
        self._rng = random.Random()

    @classmethod
    def from_settings(cls, settings: Any, *, command: str) -> BatchProvider:
        """For :class:`~pipeline.llm.LLMSettings`; the Batch API needs an endpoint (the embedded server has none)."""
        if settings.base_url is None:
            raise ConfigurationError(f"`ragline batch {command}` talks to a provider's Batch API: give --llm-url "
                                     "or $RAGLINE_LLM_BASE_URL (or run the requests here: `ragline batch run-local`)",
                                     stage="batch")
        key = settings.api_key.get_secret_value() if settings.api_key else None
        return cls(settings.base_url, api_key=key, timeout=settings.timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the API ----------------------------------------------------------------------------------
    def upload(self, path: Path) -> str:
        """Upload a JSONL input file (``purpose=batch``); its file id."""
        content = path.read_bytes()
        resp = self._request("upload the batch input file", "POST", "files", data={"purpose": "batch"},
                             files={"file": (path.name, content, "application/jsonl")})
        return str(self._json(resp, "upload the batch input file").get("id") or self._missing("files", "id"))

    def create(self, input_file_id: str, *, metadata: dict[str, str] | None = None) -> BatchInfo:
        payload: dict[str, Any] = {"input_file_id": input_file_id, "endpoint": CHAT_ENDPOINT,
                                   "completion_window": "24h"}
        if metadata:
            payload["metadata"] = metadata
        resp = self._request("create the batch", "POST", "batches", json=payload)
        return self._batch(resp, "create the batch")

    def get(self, batch_id: str) -> BatchInfo:
        return self._batch(self._request("read the batch", "GET", f"batches/{batch_id}"), "read the batch")

    def content(self, file_id: str) -> bytes:
        return self._request("download a batch file", "GET", f"files/{file_id}/content").content

    # -- transport ----------------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def _request(self, what: str, method: str, path: str, **kw: Any) -> httpx.Response:
        url = f"{self.base_url}/{path}"
        for attempt in range(self.retry.max_retries + 1):
            last = attempt == self.retry.max_retries
            try:
                resp = self._http.request(method, url, **kw)
            except httpx.TransportError as exc:
                if last:
                    raise LLMConnectionError(
                        f"cannot {what}: {url} unreachable after {attempt + 1} attempt(s): "
                        f"{type(exc).__name__}: {self._redact(str(exc))}", stage="batch") from exc
                time.sleep(self.retry.backoff(attempt, self._rng))
                continue
            retryable = resp.status_code == 429 or resp.status_code >= 500
            if resp.status_code < 400:
                return resp
            if not retryable or last:
                raise LLMResponseError(f"cannot {what}: {method} {url} answered HTTP {resp.status_code}: "
                                       f"{self._redact(resp.text[:300])}", status_code=resp.status_code, stage="batch")
            time.sleep(self.retry.backoff(attempt, self._rng))
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, resp: httpx.Response, what: str) -> dict[str, Any]:
        try:
            data = resp.json()
        except ValueError as exc:
            raise LLMResponseError(f"cannot {what}: {resp.request.url} answered with no JSON: "
                                   f"{self._redact(resp.text[:200])!r}", status_code=resp.status_code,
                                   stage="batch") from exc
        if not isinstance(data, dict):
            raise LLMResponseError(f"cannot {what}: {resp.request.url} answered {type(data).__name__}, "
                                   "not an object", status_code=resp.status_code, stage="batch")
        return data

    def _batch(self, resp: httpx.Response, what: str) -> BatchInfo:
        data = self._json(resp, what)
        if not data.get("id") or not data.get("status"):
            self._missing("batches", "id and status")
        try:
            return BatchInfo.model_validate(data)
        except ValidationError as exc:
            raise LLMResponseError(f"cannot {what}: the provider's batch object is malformed: "
                                   f"{exc.errors()[0]['msg']}", stage="batch") from exc

    def _missing(self, api: str, fields: str) -> str:
        raise LLMResponseError(f"the provider's /{api} answer has no {fields}", stage="batch")


__all__ = ["FINISHED_STATUSES", "BatchInfo", "BatchProvider"]
