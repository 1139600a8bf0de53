"""Scripted OpenAI-compatible endpoints for tests (httpx.MockTransport), no network."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from pipeline.protocols import PagesArg, SearchHit

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def completion(content: str | dict[str, Any], *, finish_reason: str = "stop", prompt: int = 10, out: int = 5,
               model: str = "fake") -> httpx.Response:
    if not isinstance(content, str):
        content = json.dumps(content)
    return httpx.Response(
        200,
        json={
            "id": "x",
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out},
        },
    )


class Script:
    """Answers requests with the scripted steps in order (the last step repeats), recording each request."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def _next(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        if callable(step) and not isinstance(step, httpx.Response):
            return step(request)
        return step

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._next)

    def async_transport(self) -> httpx.MockTransport:
        async def handler(request: httpx.Request) -> httpx.Response:
            return self._next(request)

        return httpx.MockTransport(handler)


def timeout_error() -> httpx.ReadTimeout:
    return httpx.ReadTimeout("timed out")


def connect_error() -> httpx.ConnectError:
    return httpx.ConnectError("connection refused")


def hit(cid: str, text: str, score: float, page: int = 1, source: str = "10q.pdf") -> SearchHit:
    return SearchHit(chunk_id=cid, doc_id="d", source=source, page_start=page, page_end=page, score=score, text=text)


class FakeRetriever:
    """A retriever over fixed hits that records each call's (query, k, mode)."""

    def __init__(self, hits: list[SearchHit]) -> None:
        self.hits = hits
        self.calls: list[tuple[str, int, str]] = []

    def search(
        self, query: str, k: int = 5, mode: str = "hybrid", source_glob: str | None = None, pages: PagesArg = None
    ) -> list[SearchHit]:
        self.calls.append((query, k, mode))
        return self.hits[:k]
