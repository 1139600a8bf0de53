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
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ..exceptions import LLMConnectionError, LLMError, LLMResponseError

log = logging.getLogger("pipeline.llm")

StructuredMode = Literal["auto", "json_schema", "json_object", "prompt"]
"""How a JSON schema is sent to the server.

``json_schema``: OpenAI ``response_format={"type": "json_schema", "json_schema": {..., "strict": true}}``.
``json_object``: ``response_format={"type": "json_object", "schema": {...}}`` -- llama.cpp's server
constrains decoding with it (and answers HTTP 500 to ``json_schema``); the schema is also put in
the prompt, since other servers ignore the extra key. ``prompt``: schema in the prompt only, JSON
parsed from the reply. ``auto``: try them in that order, keep the first that the server accepts.
"""

_NEGOTIATION_ORDER: tuple[str, ...] = ("json_schema", "json_object", "prompt")
# Status codes with which a server says "I do not support this response_format".
_UNSUPPORTED_FORMAT_STATUS = frozenset({400, 422, 500})
Messages = list[dict[str, Any]]


class Usage(BaseModel):
    """Token counts as reported by the server, summable (``a + b``)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    requests: int = Field(default=0, description="completions that returned (retries not counted)")

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            requests=self.requests + other.requests,
        )


class RetryPolicy(BaseModel):
    """Exponential backoff with jitter: delay ``n`` is ``initial * multiplier**n`` (capped) +-jitter."""

    model_config = ConfigDict(frozen=True)

    max_retries: int = Field(default=3, ge=0, description="retries after the first try")
    initial_delay: float = Field(default=0.5, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    max_delay: float = Field(default=20.0, ge=0)
    jitter: float = Field(default=0.25, ge=0, le=1, description="relative spread of each delay")
    max_retry_after: float = Field(default=60.0, ge=0, description="cap on a server's Retry-After")

    def backoff(self, retry: int, rng: random.Random) -> float:
        base = min(self.max_delay, self.initial_delay * self.multiplier**retry)
        return max(0.0, base * (1 + rng.uniform(-self.jitter, self.jitter)))


class ChatCompletion(BaseModel):
    """One completion: the text, why it stopped, its usage and how it was obtained."""

    content: str
    finish_reason: str | None = None
    model: str = ""
    usage: Usage = Field(default_factory=Usage)
    structured_mode: str | None = Field(default=None, description="form the schema was sent in")
    http_attempts: int = Field(default=1, description="HTTP requests it took (1 = no retry)")
    seconds: float = 0.0

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    def json_object(self) -> Any:
        """Parse the content as JSON, tolerating code fences and prose around one object/array.

        Raises ``ValueError`` (with the parser's message) when there is no JSON to be found.
        """
        return parse_json_reply(self.content)


def parse_json_reply(text: str) -> Any:
    """JSON from a model reply: the whole text, else a fenced block, else the first balanced object."""
    s = text.strip()
    try:
        return json.loads(s)
    except json.JSONDecodeError as first_error:
        fence = re.search(r"```(?:json)?\s*(.*?)```", s, re.S)
        if fence:
            try:
                return json.loads(fence.group(1))
            except json.JSONDecodeError:
                pass
        start = min((i for i in (s.find("{"), s.find("[")) if i >= 0), default=-1)
        if start >= 0:
            try:
                obj, _ = json.JSONDecoder().raw_decode(s[start:])
                return obj
            except json.JSONDecodeError:
                pass
        raise ValueError(f"reply is not valid JSON: {first_error}") from None


# Keywords OpenAI strict mode rejects; the length bounds only matter to grammar-based servers.
_STRICT_UNSUPPORTED = frozenset({"default", "title", "minLength", "maxLength", "pattern"})


def strict_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Copy of ``schema`` made acceptable to OpenAI strict mode.

    Strict mode wants every object closed (``additionalProperties: false``) with all its
    properties required (optional ones are expressed as nullable), and rejects ``default`` and
    string length/pattern keywords.
    """

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: fix(v) for k, v in node.items() if k not in _STRICT_UNSUPPORTED}
            if out.get("type") == "object" and "properties" in out:
                out["additionalProperties"] = False
                out["required"] = list(out["properties"])
            return out
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    fixed = fix(schema)
    assert isinstance(fixed, dict)
    return fixed


def _schema_instruction(schema: dict[str, Any]) -> str:
    return (
        "Reply with one JSON object only, no prose and no code fences. It must conform to this JSON schema:\n"
        + json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    )


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _Core:
    """What the sync and async clients share: configuration, payloads, parsing, retry decisions."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api_key: str | None,
        timeout: float,
        retry: RetryPolicy | None,
        structured_mode: StructuredMode,
        max_concurrency: int,
        temperature: float,
        max_tokens: int | None,
        seed: int | None,
        headers: dict[str, str] | None,
        schema_in_prompt: bool = True,
    ) -> None:
        if not base_url:
            raise LLMError("an LLM base URL is required (e.g. http://127.0.0.1:8080/v1)", stage="llm")
        if structured_mode not in ("auto", *_NEGOTIATION_ORDER):
            raise LLMError(f"unknown structured_mode {structured_mode!r}", stage="llm")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.structured_mode: StructuredMode = structured_mode
        self.max_concurrency = max(1, int(max_concurrency))
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self.schema_in_prompt = schema_in_prompt
        # SecretStr: even vars(client) or a debugger's repr shows "**********".
        self.__api_key = SecretStr(api_key) if api_key else None
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        if self.__api_key:
            self._headers["Authorization"] = f"Bearer {self.__api_key.get_secret_value()}"
        self._resolved_mode: str | None = None
        self._usage = Usage()
        self._lock = threading.Lock()
        self._rng = random.Random()

    # -- secrets ------------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        key = self.__api_key.get_secret_value() if self.__api_key else None
        if key and key in text:
            text = text.replace(key, "***")
        return re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}", r"\1***", text)

    def __repr__(self) -> str:
        key = "***" if self.__api_key else None
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, model={self.model!r}, api_key={key!r}, "
            f"structured_mode={self.structured_mode!r}, max_concurrency={self.max_concurrency})"
        )

    def __getstate__(self) -> dict[str, Any]:  # pragma: no cover - refuse to pickle the key
        raise TypeError(f"{type(self).__name__} holds an API key and cannot be pickled")

    # -- usage --------------------------------------------------------------------------------
    @property
    def usage(self) -> Usage:
        """Tokens used by every completion this client returned so far."""
        with self._lock:
            return self._usage.model_copy()

    def _record(self, usage: Usage) -> None:
        with self._lock:
            self._usage = self._usage + usage

    # -- structured-output negotiation ---------------------------------------------------------
    @property
    def resolved_structured_mode(self) -> str | None:
        """The schema form this client settled on (None until a structured call succeeded)."""
        return self._resolved_mode if self.structured_mode == "auto" else self.structured_mode

    def _modes(self) -> tuple[str, ...]:
        if self.structured_mode != "auto":
            return (self.structured_mode,)
        if self._resolved_mode:
            return (self._resolved_mode,)
        return _NEGOTIATION_ORDER

    def _remember(self, mode: str) -> None:
        if self.structured_mode == "auto" and self._resolved_mode != mode:
            log.info("LLM endpoint %s accepts structured output as %s", self.base_url, mode)
            self._resolved_mode = mode

    def _payload(
        self,
        messages: Messages,
        *,
        schema: dict[str, Any] | None,
        schema_name: str,
        mode: str | None,
        max_tokens: int | None,
        temperature: float | None,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        msgs = [dict(m) for m in messages]
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": msgs,
            "temperature": self.temperature if temperature is None else temperature,
        }
        mt = self.max_tokens if max_tokens is None else max_tokens
        if mt:
            payload["max_tokens"] = mt
        if self.seed is not None:
            payload["seed"] = self.seed
        if schema is not None:
            if mode == "json_schema":
                payload["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": re.sub(r"[^A-Za-z0-9_-]", "_", schema_name)[:64] or "output",
                        "schema": strict_json_schema(schema),
                        "strict": True,
                    },
                }
            else:
                if mode == "json_object":
                    payload["response_format"] = {"type": "json_object", "schema": schema}
                # Servers that ignore json_object's "schema" need it in the prompt; one that enforces it
                # as a grammar (llama.cpp) does not, and on a slow CPU every prompt token counts.
                if mode == "prompt" or self.schema_in_prompt:
                    instruction = _schema_instruction(schema)
                    if msgs and msgs[0].get("role") == "system":
                        msgs[0]["content"] = f"{msgs[0]['content']}\n\n{instruction}"
                    else:
                        msgs.insert(0, {"role": "system", "content": instruction})
        payload.update(extra)
        return payload

    # -- responses ----------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _parse(self, resp: httpx.Response, mode: str | None, attempts: int, t0: float) -> ChatCompletion:
        try:
            body = resp.json()
            choice = body["choices"][0]
            content = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise LLMResponseError(
                f"malformed completion from {self.base_url}: {self._redact(resp.text[:300])!r}",
                status_code=resp.status_code,
                stage="llm",
            ) from exc
        raw_usage = body.get("usage") or {}
        usage = Usage(
            prompt_tokens=int(raw_usage.get("prompt_tokens") or 0),
            completion_tokens=int(raw_usage.get("completion_tokens") or 0),
            total_tokens=int(raw_usage.get("total_tokens") or 0),
            requests=1,
        )
        if not usage.total_tokens:
            usage = usage.model_copy(update={"total_tokens": usage.prompt_tokens + usage.completion_tokens})
        self._record(usage)
        return ChatCompletion(
            content=content,
            finish_reason=choice.get("finish_reason"),
            model=str(body.get("model") or self.model),
            usage=usage,
            structured_mode=mode,
            http_attempts=attempts,
            seconds=round(time.perf_counter() - t0, 4),
        )

    def _http_error(self, resp: httpx.Response, attempts: int) -> LLMResponseError:
        excerpt = self._redact(resp.text[:500]) if resp.content else ""
        tail = f" after {attempts} attempts" if attempts > 1 else ""
        return LLMResponseError(
            f"LLM endpoint {self._url('chat/completions')} answered HTTP {resp.status_code}{tail}: {excerpt}",
            status_code=resp.status_code,
            stage="llm",
        )

    def _transport_error(self, exc: Exception, attempts: int) -> LLMConnectionError:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "unreachable"
        detail = self._redact(str(exc) or type(exc).__name__)
        return LLMConnectionError(
            f"LLM endpoint {self.base_url} {kind} after {attempts} attempt(s) "
            f"(timeout {self.timeout:g}s): {type(exc).__name__}: {detail}",
            stage="llm",
        )

    def _retryable_status(self, status: int, negotiating: bool) -> bool:
        if negotiating and status in _UNSUPPORTED_FORMAT_STATUS:
            return False  # let the caller try the next schema form instead of hammering this one
        return status == 429 or 500 <= status < 600

    def _delay(self, retry: int, resp: httpx.Response | None) -> float:
        if resp is not None:
            ra = _retry_after_seconds(resp.headers.get("Retry-After"))
            if ra is not None:
                return min(ra, self.retry.max_retry_after)
        return self.retry.backoff(retry, self._rng)

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout, connect=min(10.0, self.timeout))


class LLMClient(_Core):
    """Synchronous client for an OpenAI-compatible ``/chat/completions`` endpoint.

    ``base_url`` includes the API prefix (``https://api.openai.com/v1``, ``http://127.0.0.1:8080/v1``).
    Nothing is read from the environment; the CLI does that.
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api_key: str | None = None,
        timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        structured_mode: StructuredMode = "auto",
        max_concurrency: int = 4,
        temperature: float = 0.0,
        max_tokens: int | None = 1024,
        seed: int | None = None,
        headers: dict[str, str] | None = None,
        schema_in_prompt: bool = True,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            base_url,
            model=model,
            api_key=api_key,
            timeout=timeout,
            retry=retry,
            structured_mode=structured_mode,
            max_concurrency=max_concurrency,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
            headers=headers,
            schema_in_prompt=schema_in_prompt,
        )
        self._sleep = sleep
        self._semaphore = threading.BoundedSemaphore(self.max_concurrency)
        self._http = httpx.Client(
            headers=self._headers,
            timeout=self._timeout(),
            transport=transport,
            limits=httpx.Limits(max_connections=self.max_concurrency),
        )

    def __enter__(self) -> "LLMClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def models(self) -> list[str]:
        """Model ids the endpoint serves (GET /models); also a cheap health check."""
        resp, _ = self._request("GET", "models", None, negotiating=False)
        try:
            return [str(m["id"]) for m in resp.json().get("data", [])]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LLMResponseError(f"malformed /models answer from {self.base_url}", stage="llm") from exc

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
        modes: tuple[str | None, ...] = self._modes() if schema is not None else (None,)
        for i, mode in enumerate(modes):
            negotiating = i < len(modes) - 1
            payload = self._payload(
                messages,
                schema=schema,
                schema_name=schema_name,
                mode=mode,
                max_tokens=max_tokens,
                temperature=temperature,
                extra=extra,
            )
            t0 = time.perf_counter()
            try:
                with self._semaphore:
                    resp, attempts = self._request("POST", "chat/completions", payload, negotiating=negotiating)
            except LLMResponseError as exc:
                if negotiating and exc.status_code in _UNSUPPORTED_FORMAT_STATUS:
                    log.info("%s rejected response_format %s (HTTP %s); trying the next form",
                             self.base_url, mode, exc.status_code)
                    continue
                raise
            result = self._parse(resp, mode, attempts, t0)
            if mode is not None:
                self._remember(mode)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def chat_many(
        self,
        requests: Sequence[Messages],
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[ChatCompletion | LLMError]:
        """``chat`` over many message lists, at most ``max_concurrency`` in flight; results in order."""

        def one(msgs: Messages) -> ChatCompletion | LLMError:
            try:
                return self.chat(msgs, **kwargs)
            except LLMError as exc:
                if return_exceptions:
                    return exc
                raise

        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            return list(pool.map(one, requests))

    def _request(
        self, method: str, path: str, payload: dict[str, Any] | None, *, negotiating: bool
    ) -> tuple[httpx.Response, int]:
        url = self._url(path)
        attempts = 0
        while True:
            attempts += 1
            retry_no = attempts - 1
            resp: httpx.Response | None = None
            try:
                resp = self._http.request(method, url, json=payload)
            except httpx.TransportError as exc:  # timeouts, refused connections, dropped sockets
                if retry_no >= self.retry.max_retries:
                    raise self._transport_error(exc, attempts) from exc
                delay = self._delay(retry_no, None)
                log.warning("LLM request failed (%s); retry %d/%d in %.2fs",
                            type(exc).__name__, attempts, self.retry.max_retries, delay)
                self._sleep(delay)
                continue
            if resp.status_code < 400:
                return resp, attempts
            if not self._retryable_status(resp.status_code, negotiating) or retry_no >= self.retry.max_retries:
                raise self._http_error(resp, attempts)
            delay = self._delay(retry_no, resp)
            log.warning("LLM endpoint answered HTTP %d; retry %d/%d in %.2fs",
                        resp.status_code, attempts, self.retry.max_retries, delay)
            self._sleep(delay)


class AsyncLLMClient(_Core):
    """Asynchronous twin of :class:`LLMClient` (same arguments; ``await client.chat(...)``)."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api_key: str | None = None,
        timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        structured_mode: StructuredMode = "auto",
        max_concurrency: int = 4,
        temperature: float = 0.0,
        max_tokens: int | None = 1024,
        seed: int | None = None,
        headers: dict[str, str] | None = None,
        schema_in_prompt: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            base_url,
            model=model,
            api_key=api_key,
            timeout=timeout,
            retry=retry,
            structured_mode=structured_mode,
            max_concurrency=max_concurrency,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
            headers=headers,
            schema_in_prompt=schema_in_prompt,
        )
        self._sleep = sleep
        self._semaphore: asyncio.Semaphore | None = None
        self._http = httpx.AsyncClient(
            headers=self._headers,
            timeout=self._timeout(),
            transport=transport,
            limits=httpx.Limits(max_connections=self.max_concurrency),
        )

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
        modes: tuple[str | None, ...] = self._modes() if schema is not None else (None,)
        for i, mode in enumerate(modes):
            negotiating = i < len(modes) - 1
            payload = self._payload(
                messages,
                schema=schema,
                schema_name=schema_name,
                mode=mode,
                max_tokens=max_tokens,
                temperature=temperature,
                extra=extra,
            )
            t0 = time.perf_counter()
            try:
                async with self._sem():
                    resp, attempts = await self._request(
                        "POST", "chat/completions", payload, negotiating=negotiating
                    )
            except LLMResponseError as exc:
                if negotiating and exc.status_code in _UNSUPPORTED_FORMAT_STATUS:
                    log.info("%s rejected response_format %s (HTTP %s); trying the next form",
                             self.base_url, mode, exc.status_code)
                    continue
                raise
            result = self._parse(resp, mode, attempts, t0)
            if mode is not None:
                self._remember(mode)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def chat_many(
        self,
        requests: Sequence[Messages],
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[ChatCompletion | LLMError]:
        """Concurrent ``chat`` calls, bounded by the client's semaphore; results in order."""

        async def one(msgs: Messages) -> ChatCompletion | LLMError:
            try:
                return await self.chat(msgs, **kwargs)
            except LLMError as exc:
                if return_exceptions:
                    return exc
                raise

        return list(await asyncio.gather(*(one(m) for m in requests)))

    async def _request(
        self, method: str, path: str, payload: dict[str, Any] | None, *, negotiating: bool
    ) -> tuple[httpx.Response, int]:
        url = self._url(path)
        attempts = 0
        while True:
            attempts += 1
            retry_no = attempts - 1
            try:
                resp = await self._http.request(method, url, json=payload)
            except httpx.TransportError as exc:
                if retry_no >= self.retry.max_retries:
                    raise self._transport_error(exc, attempts) from exc
                delay = self._delay(retry_no, None)
                log.warning("LLM request failed (%s); retry %d/%d in %.2fs",
                            type(exc).__name__, attempts, self.retry.max_retries, delay)
                await self._sleep(delay)
                continue
            if resp.status_code < 400:
                return resp, attempts
            if not self._retryable_status(resp.status_code, negotiating) or retry_no >= self.retry.max_retries:
                raise self._http_error(resp, attempts)
            delay = self._delay(retry_no, resp)
            log.warning("LLM endpoint answered HTTP %d; retry %d/%d in %.2fs",
                        resp.status_code, attempts, self.retry.max_retries, delay)
            await self._sleep(delay)


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
