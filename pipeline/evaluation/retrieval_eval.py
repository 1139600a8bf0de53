"""Document-level retrieval quality on the docugami SEC 10-Q set (``ragline eval retrieval``).

17 10-Q filings and 170 questions whose gold documents are all in the set (``qna_with_gold_docs.csv``;
evidence is per document, not per page). For each question and each mode (dense, BM25, hybrid) the top
``k`` chunks are retrieved and the documents they come from compared with the gold documents:

* recall@k: share of the gold documents among the documents of the top-k chunks (mean over questions);
* hit@k: share of questions with at least one gold document in the top k;
* MRR: mean reciprocal rank of the first chunk from a gold document (0 when none in the top k).

Document recall says whether the right filing is found, not whether the passage that answers is. So,
for the 50 questions whose reviewed answer holds a key figure (see :mod:`.docugami`), **figure
recall@n** is the share of questions for which a chunk of a gold filing that contains the figure is
among the top n: the ceiling for a QA stage that reads n chunks.

The index is built incrementally in a cache directory, so re-runs only search.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from pipeline.evaluation.corpus import DOCUGAMI_DOCS
from pipeline.evaluation.docugami import Question, figure_in, load_qa_items, load_questions
from pipeline.protocols import Retriever, SearchMode

MODES: tuple[SearchMode, ...] = ("dense", "bm25", "hybrid")


class ModeScore(BaseModel):
    mode: str
    qtype: str
    questions: int
    recall: float
    hit: float
    mrr: float


class FigureRecall(BaseModel):
    mode: str
    questions: int
    recall_at: dict[int, float]  # n -> share of questions with a figure-bearing gold chunk in the top n


class RetrievalEval(BaseModel):
    k: int
    rerank: str = "none"  # the second stage (pipeline.retrieval._retriever.RERANKERS)
    linking: bool = False  # names, tickers and periods of the question linked to documents
    documents: int
    chunks: int
    embedding_model: str | None
    ingest_seconds: float
    ingest: dict[str, int]  # parsed / skipped / failed / embedded / cached of the index update before searching
    search_ms_per_query: dict[str, float]
    scores: list[ModeScore]
    figure_recall: list[FigureRecall] = []


def score_question(retrieved_docs: list[str], gold: list[str]) -> tuple[float, float, float]:
    """(recall, hit, reciprocal rank) of one ranked list of document names against the gold set."""
    gold_set = set(gold)
    found = gold_set.intersection(retrieved_docs)
    rr = next((1.0 / r for r, d in enumerate(retrieved_docs, start=1) if d in gold_set), 0.0)
    return len(found) / len(gold_set), float(bool(found)), rr


def _mode_scores(index: Retriever, questions: list[Question], k: int) -> tuple[list[ModeScore], dict[str, float]]:
    """Scores per (mode, question type) and per mode over all questions, and the search time per query."""
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    timing: dict[str, float] = {}
    for mode in MODES:
        t1 = time.perf_counter()
        for q in questions:
            hits = index.search(q.question, k=k, mode=mode)
            docs = [os.path.basename(h.source) for h in hits]
            r, h, rr = score_question(docs, q.gold)
            for key in ((mode, q.qtype), (mode, "All")):
                acc = sums[key]
                acc[0] += 1
                acc[1] += r
                acc[2] += h
                acc[3] += rr
        timing[mode] = 1000 * (time.perf_counter() - t1) / max(1, len(questions))
    scores = [
        ModeScore(mode=m, qtype=t, questions=int(v[0]), recall=v[1] / v[0], hit=v[2] / v[0], mrr=v[3] / v[0])
        for (m, t), v in sorted(sums.items())
    ]
    return scores, timing


def evaluate(
    eval_dir: Path, index_dir: Path, *, k: int = 5, backend: str = "auto", cache_dir: str | None = None,
    limit: int | None = None, progress: bool = False, log: Callable[[str], None] | None = None,
    rerank: str = "none", linking: bool = True,
) -> RetrievalEval:
    """Update the docugami index in ``index_dir``, then score every mode on the first ``limit`` questions.

    ``rerank``: the second stage (``none``, ``features``, ``maxsim``); ``linking``: link names, tickers
    and periods of the question to documents. ``log`` receives one line per document that failed to index."""
    from pipeline.compose import Pipeline
    from pipeline.config import SearchConfig

    t0 = time.perf_counter()
    with Pipeline.open(index_dir, backend=backend, cache_dir=cache_dir) as rag:
        report = rag.add([eval_dir / DOCUGAMI_DOCS], include=["*.pdf"], prune=True, progress=progress)
        if report.failed and log:
            for e in report.errors:
                log(f"  FAILED {e.source}: {e.message}")
        ingest_s = time.perf_counter() - t0
        stats = rag.stats()
        searcher = rag.with_options(search=SearchConfig(rerank=rerank, linking=linking))
        scores, timing = _mode_scores(searcher, load_questions(eval_dir)[:limit], k)
        figures = figure_recall(searcher, eval_dir, limit)
    return RetrievalEval(
        k=k, rerank=rerank, linking=linking, documents=stats.documents, chunks=stats.chunks,
        embedding_model=stats.embedding_model,
        ingest_seconds=ingest_s, search_ms_per_query=timing, scores=scores, figure_recall=figures,
        ingest={key: getattr(report, key) for key in ("parsed", "skipped", "failed", "embedded", "cached")},
    )


FIGURE_DEPTHS = (1, 5, 10, 20)


def figure_recall(index: Retriever, eval_dir: Path, limit: int | None) -> list[FigureRecall]:
    """Per mode, the share of key-figure questions with a figure-bearing gold chunk in the top n."""
    items = load_qa_items(eval_dir)[:limit]
    out = []
    for mode in MODES:
        ranks = []
        for it in items:
            hits = index.search(it.question, k=max(FIGURE_DEPTHS), mode=mode)
            ranks.append(next((r for r, h in enumerate(hits, start=1)
                               if os.path.basename(h.source) in it.gold_docs and figure_in(h.text, it.figure)), None))
        n = max(1, len(items))
        out.append(FigureRecall(mode=mode, questions=len(items), recall_at={
            d: sum(1 for r in ranks if r is not None and r <= d) / n for d in FIGURE_DEPTHS}))
    return out


def format_figure_table(result: RetrievalEval) -> str:
    lines = ["| mode | questions | " + " | ".join(f"figure recall@{d}" for d in FIGURE_DEPTHS) + " |",
             "|---|---:|" + "---:|" * len(FIGURE_DEPTHS)]
    for f in result.figure_recall:
        lines.append(f"| {f.mode} | {f.questions} | " + " | ".join(f"{f.recall_at[d]:.2f}" for d in FIGURE_DEPTHS) + " |")
    return "\n".join(lines)


def format_table(result: RetrievalEval) -> str:
    qtypes = sorted({s.qtype for s in result.scores}, key=lambda t: (t == "All", t))
    by = {(s.mode, s.qtype): s for s in result.scores}
    lines = [
        "| question type | n | " + " | ".join(f"{m} R@{result.k}" for m in MODES) + " | "
        + " | ".join(f"{m} hit@{result.k}" for m in MODES) + " | " + " | ".join(f"{m} MRR" for m in MODES) + " |",
        "|---|---:|" + "---:|" * (3 * len(MODES)),
    ]
    for t in qtypes:
        row = [by[(m, t)] for m in MODES if (m, t) in by]
        if not row:
            continue
        lines.append(
            f"| {t} | {row[0].questions} | " + " | ".join(f"{s.recall:.3f}" for s in row) + " | "
            + " | ".join(f"{s.hit:.3f}" for s in row) + " | " + " | ".join(f"{s.mrr:.3f}" for s in row) + " |"
        )
    return "\n".join(lines)


def format_retrieval_report(result: RetrievalEval, index_dir: Path) -> str:
    """The text report of ``ragline eval retrieval``."""
    parts = [
        f"docugami 10-Q: {result.documents} documents, {result.chunks} chunks, model {result.embedding_model}, "
        f"rerank {result.rerank}, query linking {'on' if result.linking else 'off'}; "
        f"index ready in {result.ingest_seconds:.1f}s (index dir {index_dir}; "
        + ", ".join(f"{k} {v}" for k, v in result.ingest.items()) + ")",
        f"document recall@{result.k} / hit@{result.k} / MRR by question type:\n",
        format_table(result),
    ]
    if result.figure_recall:
        parts.append("\nanswer-bearing chunks: a chunk of a gold filing holding the answer's key figure in the top n:\n")
        parts.append(format_figure_table(result))
    parts.append("\nsearch latency per query (ms): "
                 + ", ".join(f"{m} {v:.1f}" for m, v in result.search_ms_per_query.items()))
    return "\n".join(parts)


__all__ = [
    "FIGURE_DEPTHS",
    "MODES",
    "FigureRecall",
    "ModeScore",
    "Question",
    "RetrievalEval",
    "evaluate",
    "figure_recall",
    "format_figure_table",
    "format_retrieval_report",
    "format_table",
    "load_questions",
    "score_question",
]
