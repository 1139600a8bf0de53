"""Retrieval: dense (FAISS), BM25 and their fusion over an :class:`~pipeline.index.Index`, query linking
(names, tickers, periods -> documents), table-row hits, and the rerank stage (:mod:`pipeline.retrieval.rerank`).

    from pipeline.retrieval import IndexRetriever
    from pipeline.retrieval.rerank import make_reranker
    hits = IndexRetriever(index).search("net sales", k=5, reranker=make_reranker("none"))
"""

from __future__ import annotations

from pipeline.retrieval._linking import QueryLinker, QueryLinks, diversify, question_periods
from pipeline.retrieval._retriever import (
    RRF_K,
    SEARCH_MODES,
    IndexRetriever,
    fts_query,
    page_ranges,
    reciprocal_rank_fusion,
)
from pipeline.retrieval._table_rows import cell_box, cited_row, collapse_rows
from pipeline.retrieval.rerank import (
    DEFAULT_RERANKER,
    LLM_RERANKER,
    RERANKERS,
    FeatureReranker,
    LLMReranker,
    MaxSimReranker,
    PassThroughReranker,
    make_reranker,
)

__all__ = [
    "DEFAULT_RERANKER",
    "LLM_RERANKER",
    "RERANKERS",
    "RRF_K",
    "SEARCH_MODES",
    "FeatureReranker",
    "IndexRetriever",
    "LLMReranker",
    "MaxSimReranker",
    "PassThroughReranker",
    "QueryLinker",
    "QueryLinks",
    "cell_box",
    "cited_row",
    "collapse_rows",
    "diversify",
    "fts_query",
    "make_reranker",
    "page_ranges",
    "question_periods",
    "reciprocal_rank_fusion",
]
