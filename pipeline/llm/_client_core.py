"""What the sync and async chat clients share: configuration, payloads, replies, retry decisions, errors.

:class:`_ClientCore` declares the constructor once; :class:`~pipeline.llm.LLMClient` and
:class:`~pipeline.llm.AsyncLLMClient` only add their httpx client, their sleep and the I/O loops.
Nothing here performs I/O, so both loops take the same decisions from the same code.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import threading
import time
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from pipeline.exceptions import LLMConnectionError, LLMError, LLMResponseError
from pipeline.llm._json_reply import parse_json_reply, schema_instruction, strict_json_schema
from pipeline.llm._settings import (
    DEFAULT_TIMEOUT,
    ENDPOINT_CONCURRENCY,
    ENDPOINT_STRUCTURED_MODE,
    StructuredMode,
)

log = logging.getLogger("pipeline.llm")

NEGOTIATION_ORDER: tuple[str, ...] = ("json_schema", "json_object", "prompt")
# Status codes with which a server says "I do not support this response_format".
UNSUPPORTED_FORMAT_STATUS = frozenset({400, 422, 500})
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


class BodyForm(BaseModel):
    """What decides the shape of a chat request body besides the call's own arguments: the client's model,
    defaults and the form the schema is sent in. The live client and ``ragline batch prepare`` both write
    bodies through :func:`chat_body` with one of these, so a batch line is the request ``extract`` sends."""

    model_config = ConfigDict(frozen=True)

    model: str
    structured_mode: str | None = Field(description="json_schema | json_object | prompt; None: no schema")
    schema_in_prompt: bool = True
    temperature: float = 0.0
    max_tokens: int | None = 1024
    seed: int | None = None


def chat_body(
    form: BodyForm,
    messages: Messages,
    *,
    schema: dict[str, Any] | None,
    schema_name: str,
    max_tokens: int | None,
    temperature: float | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body of one ``/chat/completions`` request (``messages`` are copied, never changed)."""
    msgs = [dict(m) for m in messages]
    payload: dict[str, Any] = {
        "model": form.model,
        "messages": msgs,
        "temperature": form.temperature if temperature is None else temperature,
    }
    mt = form.max_tokens if max_tokens is None else max_tokens
    if mt:
        payload["max_tokens"] = mt
    if form.seed is not None:
        payload["seed"] = form.seed
    if schema is not None:
        _add_schema(payload, msgs, schema, schema_name, form.structured_mode, form.schema_in_prompt)
    payload.update(extra or {})
    return payload


def _add_schema(payload: dict[str, Any], msgs: Messages, schema: dict[str, Any], schema_name: str,
                mode: str | None, schema_in_prompt: bool) -> None:
    if mode == "json_schema":
        payload["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": re.sub(r"[^A-Za-z0-9_-]", "_", schema_name)[:64] or "output",
                "schema": strict_json_schema(schema),
                "strict": True,
            },
        }
        return
    if mode == "json_object":
        payload["response_format"] = {"type": "json_object", "schema": schema}
    # Servers that ignore json_object's "schema" need it in the prompt; one that enforces it
    # as a grammar (llama.cpp) does not, and on a slow CPU every prompt token counts.
    if mode == "prompt" or schema_in_prompt:
        instruction = schema_instruction(schema)
        if msgs and msgs[0].get("role") == "system":
            msgs[0]["content"] = f"{msgs[0]['content']}\n\n{instruction}"
        else:
            msgs.insert(0, {"role": "system", "content": instruction})


def completion_from_body(body: Any, *, default_model: str, mode: str | None = None) -> ChatCompletion:
    """The :class:`ChatCompletion` in a ``/chat/completions`` response body (a live answer, or the ``body``
    of a Batch API output line); ``ValueError`` when it holds no completion."""
    try:
        choice = body["choices"][0]
        content = choice["message"].get("content") or ""
        raw_usage = body.get("usage") or {}
        usage = Usage(
            prompt_tokens=int(raw_usage.get("prompt_tokens") or 0),
            completion_tokens=int(raw_usage.get("completion_tokens") or 0),
            total_tokens=int(raw_usage.get("total_tokens") or 0),
            requests=1,
        )
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"no completion in the response body ({type(exc).__name__}: {exc})") from exc
    if not usage.total_tokens:
        usage = usage.model_copy(update={"total_tokens": usage.prompt_tokens + usage.completion_tokens})
    return ChatCompletion(content=content, finish_reason=choice.get("finish_reason"),
                          model=str(body.get("model") or default_model), usage=usage, structured_mode=mode)


TransportT = TypeVar("TransportT")
SleepT = TypeVar("SleepT")


class _ClientCore(Generic[TransportT, SleepT]):
    """Configuration and every I/O-free step of a chat call; subclasses supply the transport and loops.

    ``base_url`` includes the API prefix (``https://api.openai.com/v1``, ``http://127.0.0.1:8080/v1``).
    Nothing is read from the environment (see :meth:`pipeline.llm.LLMSettings.from_env`).
    ``transport`` and ``sleep`` are for tests: an httpx (async) transport, and what waits between retries.
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        structured_mode: StructuredMode = ENDPOINT_STRUCTURED_MODE,
        max_concurrency: int = ENDPOINT_CONCURRENCY,
        temperature: float = 0.0,
        max_tokens: int | None = 1024,
        seed: int | None = None,
        headers: dict[str, str] | None = None,
        schema_in_prompt: bool = True,
        transport: TransportT | None = None,
        sleep: SleepT | None = None,
    ) -> None:
        if not base_url:
            raise LLMError("an LLM base URL is required (e.g. http://127.0.0.1:8080/v1)", stage="llm")
        if structured_mode not in ("auto", *NEGOTIATION_ORDER):
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
        self._sleep: SleepT = sleep if sleep is not None else self._default_sleep()
        self._open(transport)

    # -- what the sync / async subclass provides ------------------------------------------------
    def _default_sleep(self) -> SleepT:
        raise NotImplementedError

    def _open(self, transport: TransportT | None) -> None:
        """Create the httpx client (and the concurrency guard) on ``transport``."""
        raise NotImplementedError

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

    def _modes(self, schema: dict[str, Any] | None) -> tuple[str | None, ...]:
        """The schema forms to try, in order (``(None,)``: no schema, a plain completion)."""
        if schema is None:
            return (None,)
        if self.structured_mode != "auto":
            return (self.structured_mode,)
        if self._resolved_mode:
            return (self._resolved_mode,)
        return NEGOTIATION_ORDER

    def _falls_back(self, exc: LLMResponseError, mode: str | None, negotiating: bool) -> bool:
        """True when the server rejected this schema form and the next one should be tried."""
        if negotiating and exc.status_code in UNSUPPORTED_FORMAT_STATUS:
            log.info("%s rejected response_format %s (HTTP %s); trying the next form",
                     self.base_url, mode, exc.status_code)
            return True
        return False

    def body_form(self, mode: str | None) -> BodyForm:
        """How this client writes a request body when the schema goes in ``mode`` (see :func:`chat_body`)."""
        return BodyForm(model=self.model, structured_mode=mode, schema_in_prompt=self.schema_in_prompt,
                        temperature=self.temperature, max_tokens=self.max_tokens, seed=self.seed)

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
        return chat_body(self.body_form(mode), messages, schema=schema, schema_name=schema_name,
                         max_tokens=max_tokens, temperature=temperature, extra=extra)

    # -- responses ----------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _completed(self, resp: httpx.Response, mode: str | None, attempts: int, t0: float) -> ChatCompletion:
        """The completion in ``resp``; its usage is counted and a negotiated schema form remembered."""
        try:  # an unreadable body (JSONDecodeError) is a ValueError too
            completion = completion_from_body(resp.json(), default_model=self.model, mode=mode)
        except ValueError as exc:
            raise LLMResponseError(
                f"malformed completion from {self.base_url}: {self._redact(resp.text[:300])!r}",
                status_code=resp.status_code,
                stage="llm",
            ) from exc
        self._record(completion.usage)
        if mode is not None and self.structured_mode == "auto" and self._resolved_mode != mode:
            log.info("LLM endpoint %s accepts structured output as %s", self.base_url, mode)
            self._resolved_mode = mode
        return completion.model_copy(update={"http_attempts": attempts, "seconds": round(time.perf_counter() - t0, 4)})

    def _model_ids(self, resp: httpx.Response) -> list[str]:
        try:
            return [str(m["id"]) for m in resp.json().get("data", [])]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LLMResponseError(f"malformed /models answer from {self.base_url}", stage="llm") from exc

    # -- retry decisions ----------------------------------------------------------------------
    def _transport_retry_delay(self, exc: httpx.TransportError, attempts: int) -> float:
        """Seconds to wait before retrying after a timeout / refused connection / dropped socket;
        raises :class:`LLMConnectionError` (chained to ``exc``) once the retries are spent."""
        retry_no = attempts - 1
        if retry_no >= self.retry.max_retries:
            kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "unreachable"
            detail = self._redact(str(exc) or type(exc).__name__)
            raise LLMConnectionError(
                f"LLM endpoint {self.base_url} {kind} after {attempts} attempt(s) "
                f"(timeout {self.timeout:g}s): {type(exc).__name__}: {detail}",
                stage="llm",
            ) from exc
        delay = self._delay(retry_no, None)
        log.warning("LLM request failed (%s); retry %d/%d in %.2fs",
                    type(exc).__name__, attempts, self.retry.max_retries, delay)
        return delay

    def _status_retry_delay(self, resp: httpx.Response, attempts: int, negotiating: bool) -> float:
        """Seconds to wait before retrying an HTTP error answer; raises :class:`LLMResponseError` when
        the status is not worth retrying (any 4xx but 429; a rejected schema form while negotiating)
        or the retries are spent."""
        status = resp.status_code
        retry_no = attempts - 1
        # While negotiating, a rejected form is not retried: the caller tries the next form instead.
        rejected_form = negotiating and status in UNSUPPORTED_FORMAT_STATUS
        retryable = not rejected_form and (status == 429 or 500 <= status < 600)
        if not retryable or retry_no >= self.retry.max_retries:
            excerpt = self._redact(resp.text[:500]) if resp.content else ""
            tail = f" after {attempts} attempts" if attempts > 1 else ""
            raise LLMResponseError(
                f"LLM endpoint {self._url('chat/completions')} answered HTTP {status}{tail}: {excerpt}",
                status_code=status,
                stage="llm",
            )
        delay = self._delay(retry_no, resp)
        log.warning("LLM endpoint answered HTTP %d; retry %d/%d in %.2fs",
                    status, attempts, self.retry.max_retries, delay)
        return delay

    def _delay(self, retry: int, resp: httpx.Response | None) -> float:
        if resp is not None:
            ra = _retry_after_seconds(resp.headers.get("Retry-After"))
            if ra is not None:
                return min(ra, self.retry.max_retry_after)
        return self.retry.backoff(retry, self._rng)

    def _http_options(self) -> dict[str, Any]:
        """Keyword arguments of ``httpx.Client`` / ``httpx.AsyncClient`` besides the transport."""
        return {
            "headers": self._headers,
            "timeout": httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)),
            "limits": httpx.Limits(max_connections=self.max_concurrency),
        }


__all__ = ["BodyForm", "ChatCompletion", "Messages", "RetryPolicy", "Usage", "chat_body", "completion_from_body"]
