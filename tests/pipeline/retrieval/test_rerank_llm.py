"""``--rerank llm``: the model's picks move up, constrained to the passages it was shown; faults keep the
features order; the cost is counted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_rerank import QUESTION, candidates

from pipeline.exceptions import ConfigurationError, LLMConnectionError
from pipeline.llm import ChatCompletion, Usage
from pipeline.protocols import Reranker
from pipeline.retrieval import PassThroughReranker
from pipeline.retrieval.rerank import FeatureReranker, LLMReranker, make_reranker


class FakeChat:
    """Answers with fixed passage numbers and records what it was sent."""

    def __init__(self, reply: Any = None, error: Exception | None = None) -> None:
        self.reply = reply
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def chat(self, messages: list[dict[str, str]], **kwargs: Any) -> ChatCompletion:
        self.calls.append({"messages": messages, **kwargs})
        if self.error is not None:
            raise self.error
        content = self.reply if isinstance(self.reply, str) else json.dumps(self.reply)
        return ChatCompletion(content=content, usage=Usage(prompt_tokens=900, completion_tokens=7, requests=1))


def test_the_models_picks_come_first_in_its_order_and_nothing_is_lost() -> None:
    chat = FakeChat({"passages": [3, 1]})
    reranker = LLMReranker(chat, PassThroughReranker(), window=4)
    assert isinstance(reranker, Reranker)
    hits = candidates()
    out = reranker.rerank(QUESTION, hits)
    assert [h.chunk_id for h in out[:4]] == ["c3", "c1", "c2", "c4"]
    assert [h.chunk_id for h in out[4:]] == [h.chunk_id for h in hits[4:]]
    assert out[0].metadata["llm_pick"] == 1 and out[1].metadata["llm_pick"] == 2 and "llm_pick" not in out[2].metadata
    assert out[0].metadata["llm"] == "picked" and out[0].metadata["reranker"] == "llm"
    # the model saw the question, numbered passages, and an enum over exactly those numbers
    sent = chat.calls[0]
    assert QUESTION in sent["messages"][1]["content"] and "[4]" in sent["messages"][1]["content"]
    assert "[5]" not in sent["messages"][1]["content"]
    assert sent["schema"]["properties"]["passages"]["items"]["enum"] == [1, 2, 3, 4]
    assert reranker.cost.calls == 1 and reranker.cost.prompt_tokens == 900 and reranker.cost.completion_tokens == 7


def test_numbers_outside_the_window_and_repeats_are_ignored() -> None:
    out = LLMReranker(FakeChat({"passages": [9, 2, 2, 0]}), PassThroughReranker(), window=4).rerank(
        QUESTION, candidates())
    assert [h.chunk_id for h in out[:2]] == ["c2", "c1"]


def test_a_failed_call_or_a_bad_reply_keeps_the_features_order() -> None:
    features_order = [h.chunk_id for h in FeatureReranker().rerank(QUESTION, candidates())]
    for chat in (FakeChat(error=LLMConnectionError("timed out", stage="llm")), FakeChat("not json")):
        reranker = LLMReranker(chat)
        out = reranker.rerank(QUESTION, candidates())
        assert [h.chunk_id for h in out] == features_order
        assert out[0].metadata["llm"].startswith("failed")
        assert reranker.cost.failures == 1


def test_an_empty_pick_keeps_the_order_and_says_so() -> None:
    out = LLMReranker(FakeChat({"passages": []}), PassThroughReranker()).rerank(QUESTION, candidates())
    assert [h.chunk_id for h in out] == [h.chunk_id for h in candidates()]
    assert out[0].metadata["llm"] == "none picked"


def test_by_name_it_needs_a_client() -> None:
    with pytest.raises(ConfigurationError, match="LLM client"):
        make_reranker("llm")
    reranker = make_reranker("llm", client=FakeChat({"passages": [1]}), candidates=60)
    assert isinstance(reranker, LLMReranker) and reranker.depth(5) == 60
