"""Search over an index: dense (FAISS), BM25 (SQLite FTS5) or both fused by reciprocal rank fusion,
restricted by source glob and pages, then a rerank stage (pass-through by default).

    retriever = IndexRetriever(index)            # or index.search(...), which delegates here
    hits = retriever.search("net sales", k=5, mode="hybrid", source_glob="*AAPL*", pages=range(1, 10))

Also the helpers it is built from: query parsing, page filters and rank fusion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._index_faiss import embed_checked
from .exceptions import ConfigurationError
from .protocols import PagesArg, Reranker, SearchHit, SearchMode

if TYPE_CHECKING:
    import numpy as np

    from ._index_store import ChunkRow
    from .index import Index

SEARCH_MODES: tuple[SearchMode, ...] = ("dense", "bm25", "hybrid")

# Reciprocal rank fusion constant from Cormack et al. (2009); large enough that the top few ranks of
# either list do not dominate.
RRF_K = 60

_WORD = re.compile(r"\w+", re.UNICODE)

Ranking = list[tuple[int, float]]
"""(chunk row id, score), best first."""


def fts_query(text: str) -> str:
    """A safe FTS5 MATCH expression: every word quoted (so ``AND``/``-``/``:`` are plain text), OR-ed,
    letting BM25 rank documents by how many and how rare the matching terms are."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))
    return " OR ".join(f'"{w}"' for w in words)


def page_ranges(pages: PagesArg) -> tuple[tuple[int, int], ...]:
    """Normalise ``pages`` (a page, a list of pages or a ``range``) to sorted inclusive ranges."""
    if pages is None:
        return ()
    if isinstance(pages, int):
        return ((pages, pages),)
    if isinstance(pages, range):
        if pages.step != 1 or len(pages) == 0:
            return page_ranges(list(pages))
        return ((pages.start, pages.stop - 1),)
    nums = sorted({int(p) for p in pages})
    out: list[tuple[int, int]] = []
    for p in nums:
        if out and p == out[-1][1] + 1:
            out[-1] = (out[-1][0], p)
        else:
            out.append((p, p))
    return tuple(out)


def reciprocal_rank_fusion(rankings: Iterable[Sequence[int]], k: int = RRF_K) -> Ranking:
    """Fuse ranked id lists: score(id) = sum over lists of 1 / (k + rank), rank starting at 1."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


@dataclass(frozen=True)
class SearchFilter:
    """Restriction of a search to some sources and/or pages (the store turns it into SQL)."""

    source_glob: str | None = None
    page_ranges: tuple[tuple[int, int], ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.source_glob or self.page_ranges)


class PassThroughReranker:
    """The default second stage: keeps the first stage's order and asks for no extra candidates."""

    def depth(self, k: int) -> int:
        return k

    def rerank(self, query: str, hits: list[SearchHit]) -> list[SearchHit]:
        return hits


class IndexRetriever:
    """Pipeline stage: ``query -> list[SearchHit]`` over an :class:`~pipeline.index.Index`; a
    :class:`~pipeline.protocols.Retriever`. Readers never take the index's write lock."""

    def __init__(self, index: Index, *, reranker: Reranker | None = None, exact_filter_limit: int = 20_000) -> None:
        self.index = index
        self.reranker: Reranker = reranker or PassThroughReranker()
        # Filtered dense search over at most this many chunks is exact (numpy), whatever the index kind.
        self.exact_filter_limit = exact_filter_limit

    def warm_up(self) -> None:
        self.index.warm_up()

    def search(
        self,
        query: str,
        k: int = 5,
        mode: SearchMode = "hybrid",
        source_glob: str | None = None,
        pages: PagesArg = None,
    ) -> list[SearchHit]:
        """Top ``k`` chunks for ``query``.

        ``mode``: ``dense`` (cosine over embeddings), ``bm25`` (SQLite FTS5) or ``hybrid`` (reciprocal
        rank fusion of both). ``source_glob`` keeps chunks whose path or file name matches;
        ``pages`` keeps chunks overlapping a page, a list of pages or a ``range``.
        """
        if mode not in SEARCH_MODES:
            raise ConfigurationError(f"unknown search mode {mode!r} (dense, bm25 or hybrid)", stage="search")
        if k < 1:
            raise ConfigurationError("k must be at least 1", stage="search")
        flt = SearchFilter(source_glob=source_glob, page_ranges=page_ranges(pages))
        candidates = self._first_stage(query, self.reranker.depth(k), mode, flt)
        return self.reranker.rerank(query, candidates)[:k]

    run = search  # the stage's entry point, under the name every stage uses

    def _first_stage(self, query: str, k: int, mode: SearchMode, flt: SearchFilter) -> list[SearchHit]:
        index = self.index
        with index.reading():
            store = index.store
            allowed = store.filtered_ids(flt) if flt.active else None
            if allowed is not None and len(allowed) == 0:
                return []
            # Fusion needs more than k from each list: a chunk ranked low by both can still win.
            depth = k if mode != "hybrid" else max(50, 4 * k)
            dense = self._dense(query, depth, allowed) if mode in ("dense", "hybrid") else []
            sparse = self._bm25(query, depth, flt) if mode in ("bm25", "hybrid") else []
            if mode == "dense":
                ranked = dense
            elif mode == "bm25":
                ranked = sparse
            else:
                ranked = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in sparse]])
            rows = store.chunks([i for i, _ in ranked[: k * 2]])
        return _hits(ranked, rows, k, mode, dense, sparse)

    def _dense(self, query: str, depth: int, allowed: np.ndarray | None) -> Ranking:
        index = self.index
        vectors = index.vectors
        if vectors.live_count == 0:
            return []
        embedder = index.embedder
        assert embedder is not None  # set by warm_up
        q = embed_checked(embedder, [query])[0]
        if allowed is not None and vectors.kind == "hnsw" and len(allowed) <= self.exact_filter_limit:
            # A selective filter starves HNSW's graph walk (it can return fewer than k hits); scoring the
            # few allowed vectors exactly is both correct and cheap.
            import numpy as np

            ids, mat = index.store.vectors_for(embedder.model_name, allowed, vectors.dimension)
            scores = mat @ q
            top = np.argsort(-scores)[:depth]
            return [(int(ids[i]), float(scores[i])) for i in top]
        scores, ids = vectors.search(q, depth, allowed)
        return [(int(i), float(s)) for i, s in zip(ids, scores)]

    def _bm25(self, query: str, depth: int, flt: SearchFilter) -> Ranking:
        match = fts_query(query)
        return self.index.store.bm25(match, depth, flt) if match else []


def _hits(
    ranked: Ranking, rows: dict[int, ChunkRow], k: int, mode: SearchMode, dense: Ranking, sparse: Ranking
) -> list[SearchHit]:
    """The first ``k`` ranked chunks that still exist, with each list's rank and score in the metadata."""
    dense_rank = {i: (r, s) for r, (i, s) in enumerate(dense, start=1)}
    sparse_rank = {i: (r, s) for r, (i, s) in enumerate(sparse, start=1)}
    hits: list[SearchHit] = []
    for cid, score in ranked:
        row = rows.get(cid)
        if row is None:  # a tombstone or a row deleted since the FAISS snapshot
            continue
        meta: dict[str, Any] = {"mode": mode, "chunk_index": row.position, **row.metadata}
        if cid in dense_rank:
            meta["dense_rank"], meta["dense_score"] = dense_rank[cid]
        if cid in sparse_rank:
            meta["bm25_rank"], meta["bm25_score"] = sparse_rank[cid]
        hits.append(
            SearchHit(
                chunk_id=row.chunk_id, doc_id=row.doc_id, source=row.source, page_start=row.page_start,
                page_end=row.page_end, heading_path=row.heading_path, score=float(score), text=row.text,
                metadata=meta,
            )
        )
        if len(hits) == k:
            break
    return hits


__all__ = [
    "RRF_K",
    "SEARCH_MODES",
    "IndexRetriever",
    "PassThroughReranker",
    "SearchFilter",
    "fts_query",
    "page_ranges",
    "reciprocal_rank_fusion",
]
