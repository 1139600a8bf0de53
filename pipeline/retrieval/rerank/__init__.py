"""Second retrieval stages (rerankers) and the one place that builds them by name.

``none`` keeps the first stage's order; ``features`` (the default) and ``maxsim`` score candidates with
document features (:mod:`pipeline.retrieval.rerank._features`); ``llm`` lets a chat model pick among the
best few (:mod:`pipeline.retrieval.rerank._llm`). docs/retrieval.md has what each measured.
"""

from __future__ import annotations

from pipeline.exceptions import ConfigurationError
from pipeline.protocols import Embedder, Reranker, SearchHit
from pipeline.retrieval.rerank._features import (
    DEFAULT_CANDIDATES,
    DEFAULT_RERANKER,
    FEATURES,
    LLM_RERANKER,
    RERANKERS,
    FeatureReranker,
    MaxSimReranker,
    features,
    terms,
    units,
)
from pipeline.retrieval.rerank._llm import ChatModel, LLMReranker


class PassThroughReranker:
    """The ``none`` second stage: keeps the first stage's order and asks for no extra candidates."""

    def depth(self, k: int) -> int:
        return k

    def rerank(self, query: str, hits: list[SearchHit]) -> list[SearchHit]:
        return hits



def make_reranker(name: str, embedder: Embedder | None = None, candidates: int = DEFAULT_CANDIDATES,
                  client: ChatModel | None = None) -> Reranker:
    """A reranker by name (:data:`RERANKERS` or ``llm``); ``maxsim`` needs the index's embedder, ``llm`` a
    chat client (:class:`pipeline.llm.LLMClient`)."""
    if name == "none":
        return PassThroughReranker()
    if name == "features":
        return FeatureReranker(candidates=candidates)
    if name == "maxsim":
        if embedder is None:
            raise ConfigurationError("the maxsim reranker needs the index's embedder", stage="search")
        return MaxSimReranker(embedder, candidates=candidates)
    if name == LLM_RERANKER:
        if client is None:
            raise ConfigurationError("the llm reranker needs an LLM client", stage="search")
        return LLMReranker(client, FeatureReranker(candidates=candidates))
    raise ConfigurationError(f"unknown reranker {name!r} ({', '.join(RERANKERS)})", stage="search")


__all__ = [
    "DEFAULT_CANDIDATES",
    "DEFAULT_RERANKER",
    "FEATURES",
    "LLM_RERANKER",
    "RERANKERS",
    "ChatModel",
    "FeatureReranker",
    "LLMReranker",
    "MaxSimReranker",
    "PassThroughReranker",
    "features",
    "make_reranker",
    "terms",
    "units",
]
