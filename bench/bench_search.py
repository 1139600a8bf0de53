"""Search latency with and without the rerank stage, and the peak RSS of the search process.

Runs every docugami question (or the lines of --queries) through one opened index, once per reranker,
after one warm-up query, and prints p50/p95 per reranker plus the process's peak RSS.

    RAGLINE_CACHE_DIR=/tmp/rl-h5 .venv/bin/python bench/bench_search.py \\
        --index /tmp/rl-h5/eval-retrieval-docugami --rerank none,features
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

from pipeline._rerank import _analyse
from pipeline.evaluation.corpus import cache_dir, default_eval_dir
from pipeline.evaluation.docugami import load_questions
from pipeline.index import Index
from pipeline.retrieval import IndexRetriever, make_reranker


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p * (len(s) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True)
    ap.add_argument("--queries", help="file with one query per line (default: the docugami questions)")
    ap.add_argument("--rerank", default="none,features")
    ap.add_argument("--mode", default="hybrid")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--candidates", type=int, default=50)
    ap.add_argument("--no-link", action="store_true")
    ap.add_argument("--cold", action="store_true",
                    help="empty the reranker's per-chunk analysis cache before every query (a fresh process)")
    args = ap.parse_args()
    if args.queries:
        queries = [q.strip() for q in Path(args.queries).read_text(encoding="utf-8").splitlines() if q.strip()]
    else:
        queries = [q.question for q in load_questions(default_eval_dir())]
    result: dict[str, object] = {"index": args.index, "queries": len(queries), "mode": args.mode, "k": args.k}
    t0 = time.perf_counter()
    with Index.open(args.index, create=False, cache_dir=cache_dir()) as index:
        result["open_s"] = round(time.perf_counter() - t0, 2)
        result["chunks"] = index.stats().chunks
        for name in args.rerank.split(","):
            retriever = IndexRetriever(index, reranker=make_reranker(name, index.embedder, args.candidates),
                                       linking=not args.no_link)
            retriever.search("warm up", k=args.k, mode=args.mode)
            times = []
            for q in queries:
                if args.cold:
                    _analyse.cache_clear()
                t = time.perf_counter()
                retriever.search(q, k=args.k, mode=args.mode)
                times.append(1000 * (time.perf_counter() - t))
            result[name] = {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(_pct(times, 0.95), 1)}
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
