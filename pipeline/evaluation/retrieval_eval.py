"""``ragline eval retrieval``: document-level retrieval quality on the docugami SEC 10-Q set.

17 10-Q filings and 170 questions whose gold documents are all in the set (``qna_with_gold_docs.csv``;
evidence is per document, not per page). For each question and each mode (dense, BM25, hybrid) the top
``k`` chunks are retrieved and the documents they come from compared with the gold documents:

* recall@k: share of the gold documents among the documents of the top-k chunks (mean over questions);
* hit@k: share of questions with at least one gold document in the top k;
* MRR: mean reciprocal rank of the first chunk from a gold document (0 when none in the top k).

Document recall says whether the right filing is found, not whether the passage that answers is. So,
for the 50 questions whose reviewed answer holds a key figure (see :mod:`.qa_eval`), **figure
recall@n** is the share of questions for which a chunk of a gold filing that contains the figure is
among the top n: the ceiling for a QA stage that reads n chunks.

The index is built incrementally in a cache directory, so re-runs only search.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel

from ..protocols import Retriever
from .parse_eval import default_eval_dir

DOCS = Path("docugami_sec10q/sec-10-q/data/v1/docs")
QNA = Path("docugami_sec10q/derived/qna_with_gold_docs.csv")
MODES = ("dense", "bm25", "hybrid")


class Question(BaseModel):
    question: str
    qtype: str
    chunk_type: str
    gold: list[str]


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
    documents: int
    chunks: int
    embedding_model: str | None
    ingest_seconds: float
    ingest: dict[str, int]  # parsed / skipped / failed / embedded / cached of the index update before searching
    search_ms_per_query: dict[str, float]
    scores: list[ModeScore]
    figure_recall: list[FigureRecall] = []


def load_questions(eval_dir: Path) -> list[Question]:
    out = []
    with open(eval_dir / QNA, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("all_gold_docs_in_subset", "").strip().lower() != "true":
                continue
            gold = [g.strip() for g in row["gold_docs"].split(";") if g.strip()]
            qtype = row["Question Type"].replace(" RAG", "").strip()
            out.append(Question(question=row["Question"], qtype=qtype, chunk_type=row["Source Chunk Type"], gold=gold))
    return out


def score_question(retrieved_docs: list[str], gold: list[str]) -> tuple[float, float, float]:
    """(recall, hit, reciprocal rank) of one ranked list of document names against the gold set."""
    gold_set = set(gold)
    found = gold_set.intersection(retrieved_docs)
    rr = next((1.0 / r for r, d in enumerate(retrieved_docs, start=1) if d in gold_set), 0.0)
    return len(found) / len(gold_set), float(bool(found)), rr


def evaluate(
    eval_dir: Path, index_dir: Path, *, k: int = 5, backend: str = "auto", cache_dir: str | None = None,
    limit: int | None = None, progress: bool = False,
) -> RetrievalEval:
    from pipeline.index import Index

    t0 = time.perf_counter()
    with Index.open(index_dir, backend=backend, cache_dir=cache_dir) as index:
        report = index.add([eval_dir / DOCS], include=["*.pdf"], prune=True, progress=progress)
        if report.failed:
            for e in report.errors:
                print(f"  FAILED {e.source}: {e.message}", file=sys.stderr)
        ingest_s = time.perf_counter() - t0
        stats = index.stats()
        questions = load_questions(eval_dir)[:limit]
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
        figure_recall = _figure_recall(index, eval_dir, limit)
    scores = [
        ModeScore(mode=m, qtype=t, questions=int(v[0]), recall=v[1] / v[0], hit=v[2] / v[0], mrr=v[3] / v[0])
        for (m, t), v in sorted(sums.items())
    ]
    return RetrievalEval(
        k=k, documents=stats.documents, chunks=stats.chunks, embedding_model=stats.embedding_model,
        ingest_seconds=ingest_s, search_ms_per_query=timing, scores=scores, figure_recall=figure_recall,
        ingest={key: getattr(report, key) for key in ("parsed", "skipped", "failed", "embedded", "cached")},
    )


FIGURE_DEPTHS = (1, 5, 10, 20)


def _figure_recall(index: Retriever, eval_dir: Path, limit: int | None) -> list[FigureRecall]:
    from .qa_eval import _figure_in, load_qa_items

    items = load_qa_items(eval_dir)[:limit]
    out = []
    for mode in MODES:
        ranks = []
        for it in items:
            hits = index.search(it.question, k=max(FIGURE_DEPTHS), mode=mode)
            ranks.append(next((r for r, h in enumerate(hits, start=1)
                               if os.path.basename(h.source) in it.gold_docs and _figure_in(h.text, it.figure)), None))
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


def run(args: argparse.Namespace) -> int:
    eval_dir = Path(args.eval_dir) if args.eval_dir else default_eval_dir()
    if not (eval_dir / QNA).is_file():
        print(f"ragline eval retrieval: docugami set not found under {eval_dir} (use --eval-dir)", file=sys.stderr)
        return 2
    cache_dir = os.environ.get("RAGLINE_CACHE_DIR") or None
    index_dir = Path(args.index) if args.index else Path(cache_dir or ".ragline-cache") / "eval-retrieval-docugami"
    result = evaluate(
        eval_dir, index_dir, k=args.k, backend=args.backend, cache_dir=cache_dir, limit=args.limit,
        progress=not args.json,
    )
    if args.json:
        print(result.model_dump_json(indent=2))
        return 0
    print(f"docugami 10-Q: {result.documents} documents, {result.chunks} chunks, model {result.embedding_model}; "
          f"index ready in {result.ingest_seconds:.1f}s (index dir {index_dir}; "
          + ", ".join(f"{k} {v}" for k, v in result.ingest.items()) + ")")
    print(f"document recall@{result.k} / hit@{result.k} / MRR by question type:\n")
    print(format_table(result))
    if result.figure_recall:
        print("\nanswer-bearing chunks: a chunk of a gold filing holding the answer's key figure in the top n:\n")
        print(format_figure_table(result))
    print("\nsearch latency per query (ms): " + ", ".join(f"{m} {v:.1f}" for m, v in result.search_ms_per_query.items()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("retrieval", help="document recall@k of dense / BM25 / hybrid search on the docugami 10-Q set")
    p.add_argument("--eval-dir", help="evaluation corpus (default: $RAGLINE_EVAL_DIR or ../shared/eval)")
    p.add_argument("--index", metavar="DIR",
                   help="index directory (default: $RAGLINE_CACHE_DIR or .ragline-cache, /eval-retrieval-docugami)")
    p.add_argument("-k", type=int, default=5, help="chunks retrieved per question (default 5)")
    p.add_argument("--backend", choices=["auto", "onnx", "torch"], default="auto")
    p.add_argument("--limit", type=int, help="evaluate only the first N questions")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.set_defaults(func=run)
