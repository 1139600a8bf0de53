"""A stage's LLM client has an explicit lifetime: one it opened itself (no client given) is closed with the
stage, at the end of its ``with`` block or of ``extract()``/``ask()``; a client it was given is the caller's."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.extraction import Invoice, StructuredExtractor
from pipeline.qa import QuestionAnswerer


class _Opened:
    def __init__(self) -> None:
        self.entered = 0
        self.exited = 0

    @contextlib.contextmanager
    def __call__(self, settings: Any) -> Iterator[object]:
        self.entered += 1
        try:
            yield object()
        finally:
            self.exited += 1


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> _Opened:
    record = _Opened()
    monkeypatch.setattr("pipeline.llm._open.open_llm", record)
    return record


class _Retriever:
    def search(self, query: str, k: int = 5, mode: str = "hybrid") -> list[Any]:
        return []


@pytest.mark.parametrize("make", [lambda: StructuredExtractor(Invoice), lambda: QuestionAnswerer(_Retriever())])
def test_a_client_the_stage_opened_is_closed_with_it(opened: _Opened, make: Any) -> None:
    with make() as stage:
        stage.warm_up()
        stage.warm_up()  # once
        assert stage.client is not None and opened.entered == 1 and opened.exited == 0
    assert opened.exited == 1 and stage.client is None
    stage.close()  # idempotent
    assert opened.exited == 1


def test_a_given_client_is_the_callers(opened: _Opened) -> None:
    given = object()
    with StructuredExtractor(Invoice, given) as stage:  # type: ignore[arg-type]
        stage.warm_up()
    assert stage.client is given and opened.entered == 0
