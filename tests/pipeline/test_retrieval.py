"""Query parsing, page filters and rank fusion."""

from __future__ import annotations

from pipeline.retrieval import fts_query, page_ranges, reciprocal_rank_fusion


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
