"""`ragline eval retrieval`: scoring and the ground-truth loader (the full run builds an index of 883
pages, too slow for a test; its figures are in docs/retrieval.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.evaluation.retrieval_eval import (
    MODES,
    FigureRecall,
    ModeScore,
    RetrievalEval,
    figure_recall,
    format_figure_table,
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


@pytest.mark.eval
def test_figure_recall_finds_the_chunk_that_holds_the_figure(eval_dir: Path) -> None:
    from pipeline.evaluation.docugami import load_qa_items
    from pipeline.protocols import PagesArg, SearchHit, SearchMode

    items = load_qa_items(eval_dir)[:2]

    class Scripted:
        """Rank 3 holds the first question's figure in its gold filing; the second never appears."""

        def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid", source_glob: str | None = None,
                   pages: PagesArg = None) -> list[SearchHit]:
            def h(i: int, text: str, src: str) -> SearchHit:
                return SearchHit(chunk_id=str(i), doc_id="d", source=f"/x/{src}", page_start=1, page_end=1,
                                 score=1.0, text=text)
            it = items[0]
            fig = f"{it.figure:,}"
            if query != it.question:
                return [h(1, "nothing", "other.pdf")]
            return [h(1, "no figure", it.gold_docs[0]), h(2, f"Total {fig}", "other.pdf"),
                    h(3, f"Total {fig}", it.gold_docs[0])]

    (dense, *_rest) = figure_recall(Scripted(), eval_dir, 2)
    assert dense.questions == 2 and dense.recall_at == {1: 0.0, 5: 0.5, 10: 0.5, 20: 0.5}
    table = format_figure_table(RetrievalEval(
        k=5, documents=1, chunks=1, embedding_model="m", ingest_seconds=0, ingest={}, search_ms_per_query={},
        scores=[], figure_recall=[FigureRecall(mode="dense", questions=2, recall_at=dense.recall_at)]))
    assert table.splitlines()[2] == "| dense | 2 | 0.00 | 0.50 | 0.50 | 0.50 |"
