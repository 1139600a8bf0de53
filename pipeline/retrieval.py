"""Retrieval helpers shared by :class:`pipeline.index.Index`: query parsing, filters and rank fusion."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

SearchMode = Literal["dense", "bm25", "hybrid"]
SEARCH_MODES: tuple[str, ...] = ("dense", "bm25", "hybrid")

# Reciprocal rank fusion constant from Cormack et al. (2009); large enough that the top few ranks of
# either list do not dominate.
RRF_K = 60

_WORD = re.compile(r"\w+", re.UNICODE)

PagesArg = int | Sequence[int] | range | tuple[int, int] | None


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


def reciprocal_rank_fusion(rankings: Iterable[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Fuse ranked id lists: score(id) = sum over lists of 1 / (k + rank), rank starting at 1."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


__all__ = ["SEARCH_MODES", "SearchMode", "fts_query", "page_ranges", "reciprocal_rank_fusion"]
