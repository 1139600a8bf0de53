"""`ragline eval retrieval`: scoring and the ground-truth loader (the full run builds an index of 883
pages, too slow for a test; its figures are in docs/retrieval.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.evaluation.retrieval_eval import (
    MODES,
    ModeScore,
    RetrievalEval,
    format_table,
    load_questions,
    score_question,
)


def test_score_question() -> None:
    gold = ["a.pdf", "b.pdf"]
    assert score_question(["c.pdf", "a.pdf", "a.pdf", "d.pdf", "e.pdf"], gold) == (0.5, 1.0, 0.5)
    assert score_question(["b.pdf", "a.pdf"], gold) == (1.0, 1.0, 1.0)
    assert score_question(["c.pdf"], gold) == (0.0, 0.0, 0.0)
    assert score_question([], gold) == (0.0, 0.0, 0.0)


def test_table_has_a_row_per_type_and_all_last() -> None:
    scores = [ModeScore(mode=m, qtype=t, questions=2, recall=0.5, hit=1.0, mrr=0.25)
              for m in MODES for t in ("All", "Multi-Doc")]
    table = format_table(RetrievalEval(k=5, documents=1, chunks=1, embedding_model="m", ingest_seconds=0,
                                       ingest={}, search_ms_per_query={}, scores=scores))
    lines = table.splitlines()
    assert lines[2].startswith("| Multi-Doc | 2 | 0.500 | 0.500 | 0.500 | 1.000")
    assert lines[3].startswith("| All |")


@pytest.mark.eval
def test_questions_load_from_the_real_csv(eval_dir: Path) -> None:
    qs = load_questions(eval_dir)
    assert len(qs) == 170  # only questions whose gold filings are all in the 17-file subset
    assert {q.qtype for q in qs} == {"Multi-Doc", "Single-Doc Multi-Chunk", "Single-Doc Single-Chunk"}
    docs = {p.name for p in (eval_dir / "docugami_sec10q/sec-10-q/data/v1/docs").glob("*.pdf")}
    assert all(q.gold and set(q.gold) <= docs for q in qs)
