"""The rerank stage: features, the shipped weights moving the answering passage up, selection by name,
and the search CLI's readable hits."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli.search_cmd import format_hit
from pipeline.compose import Pipeline
from pipeline.exceptions import ConfigurationError
from pipeline.protocols import Reranker, SearchHit
from pipeline.retrieval import IndexRetriever, PassThroughReranker
from pipeline.retrieval.rerank import (
    FEATURES,
    FeatureReranker,
    MaxSimReranker,
    features,
    make_reranker,
    terms,
    units,
)
from pipeline.testing import HashingEmbedder

QUESTION = "How much did Acme spend on research and development in Q1 2023?"
ANSWER = (
    "Operating Expenses\n| | Three Months Ended | |\n|---|---|---|\n| | April 1, 2023 | April 2, 2022 |\n"
    "| Research and development | 1,875 | 1,618 |\n| Sales, general and administrative | 622 | 590 |"
)
DISTRACTORS = [
    "Our research and development efforts focus on new platforms; we may not succeed in developing them.",
    "Risk factors: competition in our markets is intense and could reduce our market share.",
    "We lease offices in several countries. Lease terms range from one to ten years.",
    "Acme Widgets Inc. is a Delaware corporation. Our fiscal year ends in December.",
    "Stock-based compensation is recognised over the service period of the awards.",
    "Development of new products depends on our engineers and on suppliers delivering on time.",
    "The Company's quarterly results may fluctuate, and past results may not predict future ones.",
]


def hit(text: str, rank: int, heading: list[str] | None = None, kinds: list[str] | None = None) -> SearchHit:
    return SearchHit(
        chunk_id=f"c{rank}", doc_id="d", source="/f/2023 Q1 ACME.pdf", page_start=rank, page_end=rank,
        heading_path=heading or [], score=1.0 / (60 + rank), text=text,
        metadata={"first_stage_rank": rank, "cosine": 0.5 - rank / 100, "element_kinds": kinds or ["paragraph"]},
    )


def candidates() -> list[SearchHit]:
    hits = [hit(t, r) for r, t in enumerate(DISTRACTORS[:5], start=1)]
    hits.append(hit(ANSWER, 6, ["Operating Expenses"], ["table"]))
    hits += [hit(t, r) for r, t in enumerate(DISTRACTORS[5:], start=7)]
    return hits


def test_features_are_in_range_and_see_row_labels_and_figures() -> None:
    rows = features(QUESTION, candidates())
    assert all(set(r) == set(FEATURES) for r in rows)
    assert all(0.0 <= v <= 1.0 for r in rows for v in r.values())
    answer = rows[5]
    assert answer["table"] == 1.0 and answer["numbers"] > 0 and answer["quant_table"] == 1.0
    assert answer["best_row"] == max(r["best_row"] for r in rows)
    assert terms("Research and Development expenses") == ["research", "development", "expens"]


def test_the_shipped_weights_move_the_answering_passage_up() -> None:
    reranker = FeatureReranker()
    assert isinstance(reranker, Reranker) and reranker.depth(5) >= 5
    out = reranker.rerank(QUESTION, candidates())
    assert out[0].chunk_id == "c6"  # was 6th
    assert all(0.0 < h.score < 1.0 for h in out)  # a probability
    assert out[0].metadata["first_stage_score"] == pytest.approx(1 / 66) and out[0].metadata["reranker"] == "features"
    assert sorted(h.chunk_id for h in out) == sorted(h.chunk_id for h in candidates())  # nothing lost
    assert reranker.rerank(QUESTION, []) == []


def test_maxsim_adds_sentence_and_row_similarity() -> None:
    reranker = MaxSimReranker(HashingEmbedder())
    extra = reranker.extra(QUESTION, candidates())
    assert all(-1.0 <= e["maxsim"] <= 1.0 for e in extra)
    assert "| Research and development | 1,875 | 1,618 |" in units(ANSWER)  # a table row is a unit
    assert reranker.rerank(QUESTION, candidates())[0].metadata["reranker"] == "maxsim"


def test_rerankers_by_name() -> None:
    assert isinstance(make_reranker("none"), PassThroughReranker)
    assert isinstance(make_reranker("features", candidates=80), FeatureReranker)
    assert make_reranker("features", candidates=80).depth(5) == 80
    with pytest.raises(ConfigurationError):
        make_reranker("maxsim")  # needs the embedder
    with pytest.raises(ConfigurationError):
        make_reranker("cross-encoder")


def test_the_reranker_runs_inside_search_over_an_index(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, t in enumerate(DISTRACTORS):
        (docs / f"note{i}.md").write_text(f"# Note {i}\n\n{t}\n", encoding="utf-8")
    (docs / "opex.md").write_text("# Operating Expenses\n\n" + ANSWER.split("\n", 1)[1] + "\n", encoding="utf-8")
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder()) as index:
        index.add([docs])
        retriever = IndexRetriever(index.index, reranker=FeatureReranker())
        hits = retriever.search(QUESTION, k=3)
    assert hits[0].source.endswith("opex.md") and hits[0].metadata["reranker"] == "features"
    assert "cosine" in hits[0].metadata and hits[0].metadata["first_stage_rank"] >= 1


def test_a_hit_prints_its_heading_path_once_and_a_readable_score() -> None:
    h = hit("Operating Expenses\n" + ANSWER.split("\n", 1)[1], 1, ["Operating Expenses"], ["table"])
    plain = format_hit(1, h.model_copy(update={"score": 2 / 61, "metadata": {**h.metadata, "mode": "hybrid"}}))
    assert plain.splitlines()[0].startswith("1. [fused 1.00] 2023 Q1 ACME.pdf p.1  (Operating Expenses)")
    assert plain.count("Operating Expenses") == 1
    ranked = format_hit(2, FeatureReranker().rerank(QUESTION, [h])[0])
    assert ranked.startswith("2. [reranked, ") and "relevance" not in ranked  # a fitted probability is no relevance
