"""LLMClient / AsyncLLMClient: retries, structured-output negotiation, usage, secrets (MockTransport)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import httpx
import pytest
from _llm_fakes import Script, completion, connect_error, timeout_error

from pipeline.exceptions import LLMConnectionError, LLMResponseError
from pipeline.llm import AsyncLLMClient, LLMClient, RetryPolicy, parse_json_reply, strict_json_schema

KEY = "sk-test-SECRET-0123456789abcdef"
MSGS = [{"role": "user", "content": "hi"}]
SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


def make(script: Script, **kw: object) -> tuple[LLMClient, list[float]]:
    delays: list[float] = []
    kw.setdefault("retry", RetryPolicy(max_retries=3, initial_delay=0.5, jitter=0.0))
    client = LLMClient(
        "http://llm.test/v1", model="m", api_key=KEY, transport=script.transport(),
        sleep=delays.append, **kw,  # type: ignore[arg-type]
    )
    return client, delays


def test_plain_chat_sends_openai_payload_and_records_usage() -> None:
    s = Script(completion("hello", prompt=7, out=3))
    c, _ = make(s)
    out = c.chat(MSGS, max_tokens=20)
    assert out.content == "hello" and out.finish_reason == "stop" and not out.truncated
    req = s.requests[0]
    assert str(req.url) == "http://llm.test/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {KEY}"
    body = s.bodies()[0]
    assert body["model"] == "m" and body["messages"] == MSGS and body["max_tokens"] == 20
    assert "response_format" not in body
    assert out.usage.total_tokens == 10
    c.chat(MSGS)
    assert c.usage.prompt_tokens == 14 and c.usage.completion_tokens == 6 and c.usage.requests == 2


def test_429_honours_retry_after_then_succeeds() -> None:
    s = Script(httpx.Response(429, headers={"Retry-After": "7"}, text="slow down"), completion("ok"))
    c, delays = make(s)
    out = c.chat(MSGS)
    assert out.content == "ok" and out.http_attempts == 2
    assert delays == [7.0]


def test_retry_after_is_capped() -> None:
    s = Script(httpx.Response(429, headers={"Retry-After": "99999"}), completion("ok"))
    c, delays = make(s, retry=RetryPolicy(max_retry_after=30, jitter=0))
    c.chat(MSGS)
    assert delays == [30.0]


def test_500_then_ok_uses_exponential_backoff() -> None:
    s = Script(httpx.Response(500), httpx.Response(503), completion("ok"))
    c, delays = make(s)
    assert c.chat(MSGS).content == "ok"
    assert delays == [0.5, 1.0]
    assert len(s.requests) == 3


def test_backoff_jitter_stays_within_bounds() -> None:
    import random

    p = RetryPolicy(initial_delay=1.0, multiplier=2.0, max_delay=5.0, jitter=0.25)
    rng = random.Random(0)
    values = [p.backoff(3, rng) for _ in range(200)]
    assert all(3.75 <= v <= 6.25 for v in values)  # capped at 5, +-25%
    assert len(set(values)) > 100


def test_timeout_then_ok() -> None:
    s = Script(timeout_error(), completion("ok"))
    c, delays = make(s)
    assert c.chat(MSGS).content == "ok"
    assert len(delays) == 1


def test_connection_errors_exhaust_retries_into_llm_connection_error() -> None:
    s = Script(connect_error())
    c, delays = make(s, retry=RetryPolicy(max_retries=2, jitter=0))
    with pytest.raises(LLMConnectionError) as ei:
        c.chat(MSGS)
    assert len(s.requests) == 3 and len(delays) == 2
    assert "unreachable after 3 attempt" in str(ei.value)
    assert isinstance(ei.value.__cause__, httpx.ConnectError)


def test_400_is_not_retried() -> None:
    s = Script(httpx.Response(400, json={"error": "bad request"}), completion("never"))
    c, delays = make(s)
    with pytest.raises(LLMResponseError) as ei:
        c.chat(MSGS)
    assert ei.value.status_code == 400
    assert len(s.requests) == 1 and delays == []


@pytest.mark.parametrize("status", [401, 403, 404, 422])
def test_other_4xx_not_retried(status: int) -> None:
    s = Script(httpx.Response(status))
    c, delays = make(s)
    with pytest.raises(LLMResponseError):
        c.chat(MSGS)
    assert len(s.requests) == 1


def test_5xx_exhausted_raises_response_error_with_status() -> None:
    s = Script(httpx.Response(502, text="bad gateway"))
    c, delays = make(s, retry=RetryPolicy(max_retries=1, jitter=0))
    with pytest.raises(LLMResponseError) as ei:
        c.chat(MSGS)
    assert ei.value.status_code == 502 and "after 2 attempts" in str(ei.value)


def test_malformed_200_body_is_a_response_error() -> None:
    s = Script(httpx.Response(200, text="<html>proxy</html>"))
    c, _ = make(s)
    with pytest.raises(LLMResponseError, match="malformed completion"):
        c.chat(MSGS)


def test_truncated_output_is_reported() -> None:
    s = Script(completion('{"a": "unfinish', finish_reason="length"))
    c, _ = make(s)
    out = c.chat(MSGS)
    assert out.truncated


# -- structured output negotiation ------------------------------------------------------------


def test_auto_mode_sends_strict_json_schema_first() -> None:
    s = Script(completion('{"a": "x"}'))
    c, _ = make(s)
    c.chat(MSGS, schema=SCHEMA, schema_name="My Thing")
    rf = s.bodies()[0]["response_format"]
    assert rf["type"] == "json_schema"
    assert rf["json_schema"]["strict"] is True and rf["json_schema"]["name"] == "My_Thing"
    assert rf["json_schema"]["schema"]["additionalProperties"] is False
    assert c.resolved_structured_mode == "json_schema"


def test_auto_mode_falls_back_like_llama_cpp_and_remembers() -> None:
    # llama.cpp's server answers HTTP 500 to json_schema but honours json_object + schema.
    def server(request: httpx.Request) -> httpx.Response:
        import json

        body = json.loads(request.content)
        if body.get("response_format", {}).get("type") == "json_schema":
            return httpx.Response(500, text="Internal Server Error")
        return completion('{"a": "x"}')

    s = Script(server)
    c, delays = make(s)
    out = c.chat(MSGS, schema=SCHEMA)
    assert out.structured_mode == "json_object" and delays == []  # the 500 was not retried
    bodies = s.bodies()
    assert [b["response_format"]["type"] for b in bodies] == ["json_schema", "json_object"]
    assert bodies[1]["response_format"]["schema"] == SCHEMA
    assert "JSON schema" in bodies[1]["messages"][0]["content"]  # schema in the prompt too
    c.chat(MSGS, schema=SCHEMA)
    assert s.bodies()[2]["response_format"]["type"] == "json_object"  # remembered: no json_schema retry
    assert c.resolved_structured_mode == "json_object"


def test_auto_mode_falls_back_to_prompt_only() -> None:
    s = Script(httpx.Response(400), httpx.Response(422), completion('Sure! ```json\n{"a": "x"}\n```'))
    c, _ = make(s)
    out = c.chat(MSGS, schema=SCHEMA)
    assert out.structured_mode == "prompt"
    last = s.bodies()[-1]
    assert "response_format" not in last
    assert last["messages"][0]["role"] == "system" and '"required":["a"]' in last["messages"][0]["content"]
    assert out.json_object() == {"a": "x"}


def test_explicit_mode_does_not_negotiate() -> None:
    s = Script(httpx.Response(400))
    c, _ = make(s, structured_mode="json_object")
    with pytest.raises(LLMResponseError):
        c.chat(MSGS, schema=SCHEMA)
    assert len(s.requests) == 1


def test_strict_schema_closes_objects_and_requires_all() -> None:
    sch = {"type": "object", "title": "X", "properties": {"a": {"type": "string", "default": "q", "maxLength": 5},
                                                          "b": {"type": "object", "properties": {"c": {"type": "integer"}}}}}
    st = strict_json_schema(sch)
    assert st["required"] == ["a", "b"] and st["additionalProperties"] is False
    assert st["properties"]["b"]["required"] == ["c"] and st["properties"]["a"] == {"type": "string"}
    assert "title" not in st and "title" in sch  # original untouched


@pytest.mark.parametrize(
    "text, expected",
    [('{"a": 1}', {"a": 1}), ('```json\n{"a": 1}\n```', {"a": 1}), ('Here: {"a": [1, 2]} done', {"a": [1, 2]})],
)
def test_parse_json_reply(text: str, expected: object) -> None:
    assert parse_json_reply(text) == expected


def test_parse_json_reply_raises_value_error() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_json_reply('{"a": ')


# -- secrets ------------------------------------------------------------------------------------


def test_api_key_never_in_repr_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    echo = httpx.Response(401, text=f'{{"error": "invalid key {KEY}", "auth": "Bearer {KEY}"}}')
    s = Script(httpx.Response(500, text=f"oops {KEY}"), echo)
    c, _ = make(s)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(LLMResponseError) as ei:
        c.chat(MSGS)
    texts = [repr(c), str(c), str(ei.value), repr(ei.value), str(ei.value.to_dict()), caplog.text]
    for t in texts:
        assert KEY not in t
    assert "***" in str(ei.value) and "api_key='***'" in repr(c)
    assert not any(KEY in str(v) for v in vars(c).values() if not isinstance(v, (dict, httpx.Client)))


def test_api_key_not_in_connection_error() -> None:
    s = Script(httpx.ConnectError(f"refused while sending Authorization: Bearer {KEY}"))
    c, _ = make(s, retry=RetryPolicy(max_retries=0))
    with pytest.raises(LLMConnectionError) as ei:
        c.chat(MSGS)
    assert KEY not in str(ei.value)


# -- concurrency --------------------------------------------------------------------------------


def test_chat_many_bounded_concurrency_keeps_order() -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    def slow(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak
        import json

        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1
        return completion(json.loads(request.content)["messages"][0]["content"])

    s = Script(slow)
    c, _ = make(s, max_concurrency=2)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:  # more callers than the client lets through
        outs = list(pool.map(lambda i: c.chat([{"role": "user", "content": str(i)}]), range(8)))
    assert [o.content for o in outs] == [str(i) for i in range(8)]  # type: ignore[union-attr]
    assert peak == 2
    assert c.usage.requests == 8


def test_async_client_retries_and_bounds_concurrency() -> None:
    active = 0
    peak = 0
    calls = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak, calls
        calls += 1
        if calls == 1:
            return httpx.Response(429, headers={"Retry-After": "0"})
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        return completion("ok")

    delays: list[float] = []

    async def fake_sleep(d: float) -> None:
        delays.append(d)

    async def main() -> list[object]:
        async with AsyncLLMClient(
            "http://llm.test/v1", model="m", api_key=KEY, transport=httpx.MockTransport(handler),
            max_concurrency=3, sleep=fake_sleep,
        ) as c:
            res = await asyncio.gather(*(c.chat(MSGS) for _ in range(9)))
            assert c.usage.requests == 9
            assert KEY not in repr(c)
            return list(res)

    res = asyncio.run(main())
    assert len(res) == 9 and delays == [0.0] and peak <= 3


def test_async_fallback_and_400() -> None:
    s = Script(httpx.Response(500), completion('{"a": "x"}'), httpx.Response(400))

    async def main() -> None:
        c = AsyncLLMClient("http://llm.test/v1", model="m", transport=s.async_transport(),
                           sleep=lambda d: asyncio.sleep(0))
        out = await c.chat(MSGS, schema=SCHEMA)
        assert out.structured_mode == "json_object"
        with pytest.raises(LLMResponseError):
            await c.chat(MSGS)
        await c.aclose()

    asyncio.run(main())
    assert len(s.requests) == 3


def test_sync_and_async_clients_share_one_constructor() -> None:
    # The arguments are declared once (_ClientCore.__init__); the clients only add their I/O.
    assert "__init__" not in vars(LLMClient) and "__init__" not in vars(AsyncLLMClient)
    s = Script(httpx.Response(200, json={"data": [{"id": "m1"}, {"id": "m2"}]}))

    async def main() -> list[str]:
        async with AsyncLLMClient("http://llm.test/v1", model="m", transport=s.async_transport(),
                                  timeout=5, max_concurrency=2, structured_mode="prompt") as c:
            assert (c.timeout, c.max_concurrency, c.structured_mode) == (5, 2, "prompt")
            return await c.models()

    assert asyncio.run(main()) == ["m1", "m2"]
