"""OpenAI-compatible chat client on httpx, sync and async, for remote endpoints and the embedded server.

What it adds over a bare POST:

* retries with exponential backoff and jitter on 429, 5xx, timeouts and connection errors only,
  honouring ``Retry-After``; any other 4xx fails at once (retrying a bad request cannot help);
* structured output negotiated per server (see :data:`StructuredMode`): OpenAI's strict
  ``json_schema``, llama.cpp's ``json_object`` + ``schema``, or the schema in the prompt; in
  ``"auto"`` the client walks down that list when a server rejects a form (400/422/500) and
  remembers what worked;
* bounded concurrency (a semaphore) for batch calls, token usage summed per client;
* the API key is held privately and scrubbed from every repr, log line and error message.

httpx errors never escape: they become :class:`~pipeline.exceptions.LLMConnectionError` (the
endpoint could not be reached in time) or :class:`~pipeline.exceptions.LLMResponseError` (the
endpoint answered, but not with a usable completion).

The constructor, payloads, reply parsing and retry decisions live in :mod:`._client_core`; this
module holds the two I/O loops.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from pipeline.exceptions import LLMResponseError
from pipeline.llm._client_core import ChatCompletion, Messages, RetryPolicy, Usage, _ClientCore
from pipeline.llm._json_reply import parse_json_reply, strict_json_schema
from pipeline.llm._settings import StructuredMode

Sleep = Callable[[float], None]
AsyncSleep = Callable[[float], Awaitable[None]]


class LLMClient(_ClientCore[httpx.BaseTransport, Sleep]):
    """Synchronous client for an OpenAI-compatible ``/chat/completions`` endpoint.

    ``LLMClient(base_url, model=..., api_key=..., timeout=..., structured_mode=..., max_concurrency=...)``;
    the arguments are documented on :class:`~pipeline.llm._client_core._ClientCore`. To build one from
    :class:`~pipeline.llm.LLMSettings`, use :func:`pipeline.llm.open_llm`.
    """

    _http: httpx.Client

    def _default_sleep(self) -> Sleep:
        return time.sleep

    def _open(self, transport: httpx.BaseTransport | None) -> None:
        self._semaphore = threading.BoundedSemaphore(self.max_concurrency)
        self._http = httpx.Client(transport=transport, **self._http_options())

    def __enter__(self) -> "LLMClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def models(self) -> list[str]:
        """Model ids the endpoint serves (GET /models); also a cheap health check."""
        resp, _ = self._request("GET", "models", None, negotiating=False)
        return self._model_ids(resp)

    def chat(
        self,
        messages: Messages,
        *,
        schema: dict[str, Any] | None = None,
        schema_name: str = "output",
        max_tokens: int | None = None,
        temperature: float | None = None,
        **extra: Any,
    ) -> ChatCompletion:
        """One completion. With ``schema``, the reply is constrained to it as far as the server allows."""
        modes = self._modes(schema)
        for i, mode in enumerate(modes):
            negotiating = i < len(modes) - 1
            payload = self._payload(messages, schema=schema, schema_name=schema_name, mode=mode,
                                    max_tokens=max_tokens, temperature=temperature, extra=extra)
            t0 = time.perf_counter()
            try:
                with self._semaphore:
                    resp, attempts = self._request("POST", "chat/completions", payload, negotiating=negotiating)
            except LLMResponseError as exc:
                if self._falls_back(exc, mode, negotiating):
                    continue
                raise
            return self._completed(resp, mode, attempts, t0)
        raise AssertionError("unreachable")  # pragma: no cover

    def _request(
        self, method: str, path: str, payload: dict[str, Any] | None, *, negotiating: bool
    ) -> tuple[httpx.Response, int]:
        url = self._url(path)
        attempts = 0
        while True:
            attempts += 1
            try:
                resp = self._http.request(method, url, json=payload)
            except httpx.TransportError as exc:  # timeouts, refused connections, dropped sockets
                self._sleep(self._transport_retry_delay(exc, attempts))
                continue
            if resp.status_code < 400:
                return resp, attempts
            self._sleep(self._status_retry_delay(resp, attempts, negotiating))


class AsyncLLMClient(_ClientCore[httpx.AsyncBaseTransport, AsyncSleep]):
    """Asynchronous twin of :class:`LLMClient` (same arguments; ``await client.chat(...)``)."""

    _http: httpx.AsyncClient

    def _default_sleep(self) -> AsyncSleep:
        return asyncio.sleep

    def _open(self, transport: httpx.AsyncBaseTransport | None) -> None:
        self._semaphore: asyncio.Semaphore | None = None
        self._http = httpx.AsyncClient(transport=transport, **self._http_options())

    async def __aenter__(self) -> "AsyncLLMClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _sem(self) -> asyncio.Semaphore:
        # Created on first use so it binds to the running loop.
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        return self._semaphore

    async def models(self) -> list[str]:
        """Model ids the endpoint serves (GET /models); also a cheap health check."""
        resp, _ = await self._request("GET", "models", None, negotiating=False)
        return self._model_ids(resp)

    async def chat(
        self,
        messages: Messages,
        *,
        schema: dict[str, Any] | None = None,
        schema_name: str = "output",
        max_tokens: int | None = None,
        temperature: float | None = None,
        **extra: Any,
    ) -> ChatCompletion:
        modes = self._modes(schema)
        for i, mode in enumerate(modes):
            negotiating = i < len(modes) - 1
            payload = self._payload(messages, schema=schema, schema_name=schema_name, mode=mode,
                                    max_tokens=max_tokens, temperature=temperature, extra=extra)
            t0 = time.perf_counter()
            try:
                async with self._sem():
                    resp, attempts = await self._request(
                        "POST", "chat/completions", payload, negotiating=negotiating
                    )
            except LLMResponseError as exc:
                if self._falls_back(exc, mode, negotiating):
                    continue
                raise
            return self._completed(resp, mode, attempts, t0)
        raise AssertionError("unreachable")  # pragma: no cover

    async def post_chat_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST a request body that is already written (a Batch API line's ``body``) to ``/chat/completions``
        as it is: the retries and concurrency limit of :meth:`chat`, no schema negotiation. Returns the
        response's JSON once it holds a completion (its usage is counted); raises :class:`LLMError`."""
        t0 = time.perf_counter()
        async with self._sem():
            resp, attempts = await self._request("POST", "chat/completions", body, negotiating=False)
        self._completed(resp, None, attempts, t0)  # LLMResponseError when it holds no completion
        answer: dict[str, Any] = resp.json()
        return answer

    async def _request(
        self, method: str, path: str, payload: dict[str, Any] | None, *, negotiating: bool
    ) -> tuple[httpx.Response, int]:
        url = self._url(path)
        attempts = 0
        while True:
            attempts += 1
            try:
                resp = await self._http.request(method, url, json=payload)
            except httpx.TransportError as exc:
                await self._sleep(self._transport_retry_delay(exc, attempts))
                continue
            if resp.status_code < 400:
                return resp, attempts
            await self._sleep(self._status_retry_delay(resp, attempts, negotiating))


__all__ = [
    "AsyncLLMClient",
    "ChatCompletion",
    "LLMClient",
    "RetryPolicy",
    "StructuredMode",
    "Usage",
    "parse_json_reply",
    "strict_json_schema",
]
