"""Search over an index: dense (FAISS), BM25 (SQLite FTS5) or both fused by reciprocal rank fusion,
restricted by source glob and pages, then a rerank stage (the ``features`` reranker by default, the
measured best: see docs/retrieval.md; ``PassThroughReranker()`` keeps the first stage's order).

    retriever = IndexRetriever(index)
    hits = retriever.search("net sales", k=5, mode="hybrid", source_glob="*AAPL*", pages=range(1, 10))
    hits = retriever.search("net sales", reranker=make_reranker("none"))   # per call; nothing shared changes

Also the helpers it is built from: query parsing, page filters and rank fusion.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pipeline.exceptions import ConfigurationError
from pipeline.index import SearchFilter, embed_checked, load_profiles
from pipeline.protocols import PagesArg, Reranker, SearchHit, SearchMode
from pipeline.retrieval._linking import QueryLinker, QueryLinks, diversify
from pipeline.retrieval._table_rows import collapse_rows
from pipeline.retrieval.rerank import FeatureReranker

if TYPE_CHECKING:
    import numpy as np

    from pipeline.index import ChunkRow, Index

log = logging.getLogger(__name__)

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


class IndexRetriever:
    """Pipeline stage: ``query -> list[SearchHit]`` over an :class:`~pipeline.index._index.Index`; a
    :class:`~pipeline.protocols.Retriever`. Readers never take the index's write lock.

    ``reranker``: the default second stage; None = :class:`~pipeline.retrieval.rerank.FeatureReranker` over
    the top 50. ``linking``: link names, tickers and periods in the query to the documents they point at (see
    :mod:`pipeline.retrieval._linking`) and search only those; the hits then carry ``metadata["links"]``.
    Both are defaults: :meth:`search` takes either per call, so one retriever serves concurrent searches with
    different settings (nothing is mutated per call).
    """

    def __init__(
        self, index: Index, *, reranker: Reranker | None = None, exact_filter_limit: int = 20_000,
        linking: bool = True,
    ) -> None:
        self.index = index
        self.reranker: Reranker = reranker or FeatureReranker()
        # Filtered dense search over at most this many chunks is exact (numpy), whatever the index kind.
        self.exact_filter_limit = exact_filter_limit
        self.linking = linking
        self._linker: tuple[int, QueryLinker] | None = None

    def warm_up(self) -> None:
        self.index.warm_up()

    def search(
        self,
        query: str,
        k: int = 5,
        mode: SearchMode = "hybrid",
        source_glob: str | None = None,
        pages: PagesArg = None,
        *,
        reranker: Reranker | None = None,
        linking: bool | None = None,
    ) -> list[SearchHit]:
        """Top ``k`` chunks for ``query``.

        ``mode``: ``dense`` (cosine over embeddings), ``bm25`` (SQLite FTS5) or ``hybrid`` (reciprocal
        rank fusion of both). ``source_glob`` keeps chunks whose path or file name matches;
        ``pages`` keeps chunks overlapping a page, a list of pages or a ``range``. ``reranker`` and
        ``linking`` override the retriever's defaults for this call only.
        """
        reranker = reranker if reranker is not None else self.reranker
        linking = self.linking if linking is None else linking
        if mode not in SEARCH_MODES:
            raise ConfigurationError(f"unknown search mode {mode!r} (dense, bm25 or hybrid)", stage="search")
        if k < 1:
            raise ConfigurationError("k must be at least 1", stage="search")
        flt = SearchFilter(source_glob=source_glob, page_ranges=page_ranges(pages))
        links = self.link(query) if linking else None
        depth = reranker.depth(k)
        candidates: list[SearchHit] = []
        if links is not None and links.applied:
            if links.diversify:  # enough candidates for every linked document to get its share
                depth = max(depth, k * min(len(links.documents), 8))
            candidates = self._first_stage(query, depth, mode, replace(flt, documents=tuple(links.documents)))
        if not candidates:  # nothing linked, or the linked documents hold nothing under the user's filters
            candidates = self._first_stage(query, depth, mode, flt)
            links = links.model_copy(update={"documents": [], "diversify": False}) if links else None
        ranked = reranker.rerank(query, candidates)
        if links is not None and links.diversify:
            ranked = [h for h in diversify(ranked) if isinstance(h, SearchHit)]
        hits = ranked[:k]
        if links is not None and (links.entities or links.periods or links.latest):
            note = links.model_dump()
            for h in hits:
                h.metadata["links"] = note
        return hits

    run = search  # the stage's entry point, under the name every stage uses

    def link(self, query: str) -> QueryLinks:
        """Names, tickers and periods of ``query`` linked to the index's documents (cached per write generation)."""
        index = self.index
        with index.reading():
            gen = index.store.generation()
            if self._linker is None or self._linker[0] != gen:
                self._linker = (gen, QueryLinker(load_profiles(index.store)))
                _warn_if_stale(index)
            linker = self._linker[1]
        return linker.link(query)

    def _first_stage(self, query: str, k: int, mode: SearchMode, flt: SearchFilter) -> list[SearchHit]:
        index = self.index
        with index.reading():
            store = index.store
            allowed = store.filtered_ids(flt) if flt.active else None
            if allowed is not None and len(allowed) == 0:
                return []
            # Fusion needs more than k from each list: a chunk ranked low by both can still win.
            depth = k if mode != "hybrid" else max(50, 4 * k)
            qvec = self._query_vector(query) if mode in ("dense", "hybrid") else None
            dense = self._dense(qvec, depth, allowed) if qvec is not None else []
            sparse = self._bm25(query, depth, flt) if mode in ("bm25", "hybrid") else []
            if mode == "dense":
                ranked = dense
            elif mode == "bm25":
                ranked = sparse
            else:
                ranked = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in sparse]])
            # Twice k: row units collapse into their tables, and rows deleted since the snapshot are skipped.
            rows = store.chunks([i for i, _ in ranked[: k * 2]])
            cosine = self._cosines(qvec, [i for i, _ in ranked[: k * 2]]) if qvec is not None else {}
            hits = collapse_rows(store, _hits(ranked, rows, 2 * k, mode, dense, sparse, cosine))
        return hits[:k]

    def _query_vector(self, query: str) -> np.ndarray | None:
        index = self.index
        if index.vectors.live_count == 0:
            return None
        assert index.embedder is not None  # set by warm_up
        return embed_checked(index.embedder, [query])[0]

    def _cosines(self, qvec: np.ndarray, ids: list[int]) -> dict[int, float]:
        """Cosine of the query with each candidate (the reranker's dense feature, also for BM25-only hits)."""
        index = self.index
        assert index.embedder is not None
        if not ids:
            return {}
        import numpy as np

        got, mat = index.store.vectors_for(index.embedder.model_name, np.asarray(ids, dtype=np.int64),
                                           index.vectors.dimension)
        return {int(i): float(s) for i, s in zip(got, mat @ qvec)}

    def _dense(self, q: np.ndarray, depth: int, allowed: np.ndarray | None) -> Ranking:
        index = self.index
        vectors = index.vectors
        embedder = index.embedder
        assert embedder is not None  # set by warm_up
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


def _warn_if_stale(index: Index) -> None:
    """Say so when documents were chunked with other options (e.g. before table-row units existed)."""
    stale = index.store.stale_documents(index.fingerprint)
    if stale:
        log.warning(
            "index %s: %d document(s) were chunked with other chunking options than the index's current ones "
            "(e.g. by a ragline without table-row units); searching what is stored. Run `ragline ingest` on the "
            "same files to update them: they are re-chunked from the stored parses and only new units are embedded",
            index.directory, len(stale),
        )


def _hits(
    ranked: Ranking, rows: dict[int, ChunkRow], k: int, mode: SearchMode, dense: Ranking, sparse: Ranking,
    cosine: dict[int, float] | None = None,
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
        if cosine and cid in cosine:
            meta["cosine"] = cosine[cid]
        meta["first_stage_rank"] = len(hits) + 1
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


__all__ = ["RRF_K", "SEARCH_MODES", "IndexRetriever", "fts_query", "page_ranges", "reciprocal_rank_fusion"]
