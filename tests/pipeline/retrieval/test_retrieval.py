"""Query parsing, page filters and rank fusion; the Retriever protocol over an index; the rerank slot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.compose import Pipeline
from pipeline.protocols import Reranker, Retriever, SearchHit
from pipeline.retrieval import (
    SEARCH_MODES,
    IndexRetriever,
    PassThroughReranker,
    fts_query,
    page_ranges,
    reciprocal_rank_fusion,
)
from pipeline.testing import HashingEmbedder


def test_fts_query_quotes_words_and_drops_syntax() -> None:
    assert fts_query('net sales AND "iPhone" -2023: NEAR(x)') == '"net" OR "sales" OR "and" OR "iphone" OR "2023" OR "near" OR "x"'
    assert fts_query("  ?!  ") == ""
    assert fts_query("Umsatz Größe") == '"umsatz" OR "größe"'


def test_page_ranges() -> None:
    assert page_ranges(None) == ()
    assert page_ranges(3) == ((3, 3),)
    assert page_ranges([5, 1, 2, 3, 9]) == ((1, 3), (5, 5), (9, 9))
    assert page_ranges(range(2, 6)) == ((2, 5),)
    assert page_ranges(range(1, 8, 3)) == ((1, 1), (4, 4), (7, 7))


def test_rrf_rewards_agreement() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=60)
    order = [i for i, _ in fused]
    assert order[0] == 1  # ranks 1 and 2
    assert order[1] == 3  # ranks 3 and 1
    assert set(order) == {1, 2, 3, 4}
    score = dict(fused)
    assert abs(score[1] - (1 / 61 + 1 / 62)) < 1e-12
    assert reciprocal_rank_fusion([[], []]) == []


# ------------------------------------------------------------------------------------------------
# the Retriever protocol over an index, and the rerank slot
# ------------------------------------------------------------------------------------------------


@pytest.fixture()
def index_dir(tmp_path: Path) -> Path:
    """Two folders of three one-page Markdown reports, two chunks each."""
    for folder, start in (("a", 0), ("b", 3)):
        (tmp_path / "docs" / folder).mkdir(parents=True)
        for i in range(start, start + 3):
            (tmp_path / "docs" / folder / f"doc{i}.md").write_text(
                f"# Report {i}\n\nRevenue of unit zqunit{i}x grew.\n\n## Outlook\n\nDemand for zqunit{i}x is stable.\n",
                encoding="utf-8",
            )
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder()) as index:
        index.add([tmp_path / "docs"])
    return tmp_path / "ix"


def search_through_protocol(retriever: Retriever, query: str, **kw: Any) -> list[SearchHit]:
    """What ``ask`` does: only the protocol's parameters, nothing index-specific."""
    return retriever.search(query, **kw)


def test_index_and_its_retriever_satisfy_the_protocol(index_dir: Path) -> None:
    with Pipeline.open(index_dir, embedder=HashingEmbedder()) as index:
        assert isinstance(index, Retriever) and isinstance(index.retriever, Retriever)
        assert isinstance(PassThroughReranker(), Reranker)
        for mode in SEARCH_MODES:
            direct = index.search("zqunit4x revenue", k=4, mode=mode)
            via_stage = search_through_protocol(IndexRetriever(index.index), "zqunit4x revenue", k=4, mode=mode)
            assert [h.chunk_id for h in via_stage] == [h.chunk_id for h in direct]
            assert direct[0].source.endswith("b/doc4.md")


def test_source_glob_and_pages_are_honoured_through_the_protocol(index_dir: Path) -> None:
    with Pipeline.open(index_dir, embedder=HashingEmbedder()) as index:
        for mode in SEARCH_MODES:
            only_a = search_through_protocol(index, "zqunit4x revenue", k=10, mode=mode, source_glob="*/a/*")
            assert only_a and all("/a/" in h.source for h in only_a), mode
            named = search_through_protocol(index, "revenue", k=10, mode=mode, source_glob="doc1.md")
            assert named and {Path(h.source).name for h in named} == {"doc1.md"}
            assert search_through_protocol(index, "revenue", k=5, mode=mode, pages=[2, 3]) == []
            assert len(search_through_protocol(index, "revenue", k=5, mode=mode, pages=range(1, 2))) == 5


class LastFirstReranker:
    """Asks for twice the candidates and puts the first stage's last one first."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def depth(self, k: int) -> int:
        return 2 * k

    def rerank(self, query: str, hits: list[SearchHit]) -> list[SearchHit]:
        self.seen.append(len(hits))
        return list(reversed(hits))


def test_a_reranker_gets_its_candidates_and_sets_the_order(index_dir: Path) -> None:
    reranker = LastFirstReranker()
    with Pipeline.open(index_dir, embedder=HashingEmbedder(), reranker=reranker) as reranked, \
            Pipeline.open(index_dir, embedder=HashingEmbedder(), reranker=PassThroughReranker()) as plain:
        first_stage = plain.search("revenue outlook", k=6, mode="bm25")
        hits = reranked.search("revenue outlook", k=3, mode="bm25")
    assert reranker.seen == [6]
    assert [h.chunk_id for h in hits] == [h.chunk_id for h in reversed(first_stage)][:3]
