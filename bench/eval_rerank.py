"""Ablation of query linking and rerankers on the docugami 10-Q questions, with search latency.

For each (mode, linking, reranker) configuration: document recall@5 / hit@5 / MRR per question type
(170 questions, as ``ragline eval retrieval``), figure recall@1/5/10/20 on the 50 key-figure questions
(all, and the held-out odd split the reranker weights were not fitted on), and p50/p95 search latency.

    RAGLINE_CACHE_DIR=/tmp/rl-h5 RAGLINE_EVAL_DIR=/work/shared/eval \\
        .venv/bin/python bench/eval_rerank.py --modes hybrid --rerank none,features --linking on,off

The index is the one ``ragline eval retrieval`` builds in ``$RAGLINE_CACHE_DIR/eval-retrieval-docugami``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from pipeline.evaluation.corpus import cache_dir, default_docugami_index_dir, default_eval_dir
from pipeline.evaluation.docugami import figure_in, load_qa_items, load_questions
from pipeline.evaluation.retrieval_eval import score_question
from pipeline.index import Index
from pipeline.retrieval import IndexRetriever, make_reranker

DEPTHS = (1, 5, 10, 20)


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p * (len(s) - 1)))] if s else 0.0


def doc_scores(retriever: IndexRetriever, eval_dir: Path, mode: str, k: int = 5) -> tuple[dict[str, Any], list[float]]:
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    times = []
    for q in load_questions(eval_dir):
        t0 = time.perf_counter()
        hits = retriever.search(q.question, k=k, mode=mode)  # type: ignore[arg-type]
        times.append(1000 * (time.perf_counter() - t0))
        r, h, rr = score_question([os.path.basename(x.source) for x in hits], q.gold)
        for key in (q.qtype, "All"):
            acc = sums[key]
            acc[0] += 1
            acc[1] += r
            acc[2] += h
            acc[3] += rr
    return {t: {"n": int(v[0]), "recall": v[1] / v[0], "hit": v[2] / v[0], "mrr": v[3] / v[0]}
            for t, v in sums.items()}, times


def figure_scores(retriever: IndexRetriever, eval_dir: Path, mode: str) -> dict[str, Any]:
    items = load_qa_items(eval_dir)
    ranks: list[int | None] = []
    for it in items:
        hits = retriever.search(it.question, k=max(DEPTHS), mode=mode)  # type: ignore[arg-type]
        ranks.append(next((r for r, h in enumerate(hits, start=1)
                           if os.path.basename(h.source) in it.gold_docs and figure_in(h.text, it.figure)), None))

    def at(sel: list[int | None]) -> dict[int, float]:
        return {d: sum(1 for r in sel if r is not None and r <= d) / max(1, len(sel)) for d in DEPTHS}

    return {"all": at(ranks), "odd": at(ranks[1::2]), "even": at(ranks[0::2]), "n": len(ranks),
            "ranks": ranks}


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    eval_dir = Path(args.eval_dir or default_eval_dir())
    index_dir = Path(args.index or default_docugami_index_dir(cache_dir()))
    out = []
    with Index.open(index_dir, create=False, cache_dir=cache_dir()) as index:
        for mode in args.modes.split(","):
            for linking in args.linking.split(","):
                for name in args.rerank.split(","):
                    reranker = make_reranker(name, index.embedder, candidates=args.candidates)
                    retriever = IndexRetriever(index, reranker=reranker, linking=linking == "on")
                    retriever.search("warm up", k=5, mode=mode)
                    docs, times = doc_scores(retriever, eval_dir, mode)
                    figs = figure_scores(retriever, eval_dir, mode)
                    row = {"mode": mode, "linking": linking, "rerank": name, "candidates": args.candidates,
                           "docs": docs, "figures": figs,
                           "latency_ms": {"p50": statistics.median(times), "p95": _pct(times, 0.95)}}
                    out.append(row)
                    print(_line(row), flush=True)
    return out


def _line(row: dict[str, Any]) -> str:
    d, f = row["docs"]["All"], row["figures"]
    return (f"{row['mode']:6} link={row['linking']:3} rerank={row['rerank']:8} N={row['candidates']:<3} "
            f"docR@5 {d['recall']:.3f} hit@5 {d['hit']:.3f} MRR {d['mrr']:.3f} | fig@1/5/10/20 "
            + "/".join(f"{f['all'][k]:.2f}" for k in DEPTHS) + " (odd split: "
            + "/".join(f"{f['odd'][k]:.2f}" for k in DEPTHS) + f") | p50 {row['latency_ms']['p50']:.0f} ms "
            f"p95 {row['latency_ms']['p95']:.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index")
    ap.add_argument("--eval-dir")
    ap.add_argument("--modes", default="hybrid")
    ap.add_argument("--rerank", default="none,features")
    ap.add_argument("--linking", default="on,off")
    ap.add_argument("--candidates", type=int, default=30)
    ap.add_argument("--json", help="write all results to this file")
    args = ap.parse_args()
    rows = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
