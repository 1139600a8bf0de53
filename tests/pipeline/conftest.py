"""The real embedded LLM, started once per test session for the few @slow tests that need it."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from pipeline.llm import LocalLLMServer


@pytest.fixture(scope="session")
def local_llm() -> Iterator[LocalLLMServer]:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("the `local` extra (llama-cpp-python[server]) is not installed")
    # Default model cache (~/.cache/ragline/models): the 491 MB GGUF is assembled once per machine.
    server = LocalLLMServer(n_ctx=4096)
    server.warm_up()
    yield server
    server.stop()
