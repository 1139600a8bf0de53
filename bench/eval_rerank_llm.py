"""What ``--rerank llm`` adds over ``features``, and what it costs, on the docugami key-figure questions.

For each question: the ``features`` top 20, then the same candidates with the LLM pass over the best
``--window`` (the embedded model unless ``--llm-url``); figure recall@1/5/10 of both, and the LLM's
calls, tokens and seconds per query. Both orders come from one first-stage search per question, so the
comparison is paired.

    RAGLINE_CACHE_DIR=/tmp/rl-ret RAGLINE_EVAL_DIR=/work/shared/eval \\
        .venv/bin/python bench/eval_rerank_llm.py --split odd --llm-threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from pipeline.evaluation.corpus import cache_dir, default_docugami_index_dir, default_eval_dir
from pipeline.evaluation.docugami import figure_in, load_qa_items
from pipeline.index import Index
from pipeline.llm import LLMSettings, open_llm
from pipeline.retrieval import IndexRetriever, PassThroughReranker
from pipeline.retrieval.rerank import FeatureReranker, LLMReranker

DEPTHS = (1, 5, 10)


class _Keep(PassThroughReranker):
    """First stage only, with the features reranker's candidate depth."""

    def depth(self, k: int) -> int:
        return FeatureReranker().depth(k)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=["all", "odd", "even"], default="odd",
                    help="questions: odd = the half the features weights were not fitted on (default)")
    ap.add_argument("--limit", type=int, help="only the first N questions of the split")
    ap.add_argument("--window", type=int, default=8, help="candidates the LLM reads (default 8)")
    ap.add_argument("--llm-url")
    ap.add_argument("--llm-threads", type=int)
    ap.add_argument("--json", help="write per-question results to this file")
    args = ap.parse_args()
    items = load_qa_items(Path(default_eval_dir()))
    picked = [it for i, it in enumerate(items) if args.split == "all" or (i % 2 == 1) == (args.split == "odd")]
    picked = picked[: args.limit] if args.limit else picked
    settings = LLMSettings.from_env()
    if args.llm_url:
        settings = settings.model_copy(update={"base_url": args.llm_url})
    if args.llm_threads:
        settings = settings.model_copy(update={"embedded": settings.embedded.model_copy(
            update={"threads": args.llm_threads})})
    rows = []
    with Index.open(Path(default_docugami_index_dir(cache_dir())), create=False, cache_dir=cache_dir()) as index, \
            open_llm(settings) as client:
        first = IndexRetriever(index, reranker=_Keep())
        features = FeatureReranker()
        llm = LLMReranker(client, features, window=args.window)
        for it in picked:
            cands = first.search(it.question, k=50, mode="hybrid")
            ranks = {}
            for name, reranker in (("features", features), ("llm", llm)):
                t0 = time.perf_counter()
                order = reranker.rerank(it.question, list(cands))
                ranks[name] = next((r for r, h in enumerate(order, start=1) if os.path.basename(h.source)
                                    in it.gold_docs and figure_in(h.text, it.figure)), None)
                ranks[name + "_s"] = round(time.perf_counter() - t0, 2)
            rows.append({"question": it.question, **ranks})
            print(json.dumps(rows[-1]), flush=True)
        cost = llm.cost
    n = max(1, len(rows))
    for name in ("features", "llm"):
        rec = " ".join(f"@{d} {sum(1 for r in rows if r[name] and r[name] <= d) / n:.2f}" for d in DEPTHS)
        print(f"{name:8} figure recall {rec}  ({len(rows)} questions, split {args.split})")
    print(f"llm cost: {cost.calls} calls, {cost.prompt_tokens / n:.0f} prompt + {cost.completion_tokens / n:.0f} "
          f"completion tokens and {cost.seconds / n:.1f} s per query, {cost.failures} failed; model {client.model}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "cost": cost.model_dump()}, indent=1))


if __name__ == "__main__":
    main()
