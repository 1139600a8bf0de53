"""Search latency with and without the rerank stage, and the peak RSS of the search process.

Runs every docugami question (or the lines of --queries, or ``--queries names``: five financial questions
per indexed document, written from its file name, e.g. "What was PEPSICO's total revenue in 2022?")
through one opened index. The rerankers take turns on each query (the order alternating), so load on a
shared machine hits them alike; after one warm-up query each. Prints p50/p95 per reranker, the p50 ratio
against the first one, and the process's peak RSS (index, model and searches).

    RAGLINE_CACHE_DIR=/tmp/rl-h5 .venv/bin/python bench/bench_search.py \\
        --index /tmp/rl-h5/eval-retrieval-docugami --rerank none,features
    .venv/bin/ragline ingest ../shared/eval/financebench/pdfs --index /tmp/fb-index
    .venv/bin/python bench/bench_search.py --index /tmp/fb-index --queries names --rerank none,features
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import time
from pathlib import Path

from pipeline.evaluation.corpus import cache_dir, default_eval_dir
from pipeline.evaluation.docugami import load_questions
from pipeline.index import Index
from pipeline.retrieval import IndexRetriever, make_reranker
from pipeline.retrieval.rerank._features import _analyse


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p * (len(s) - 1)))]


TEMPLATES = (
    "What was {name}'s total revenue in {year}?",
    "How much cash did {name} generate from operating activities in {year}?",
    "What was {name}'s gross margin in {year} and how did it change?",
    "What long-term debt did {name} report at the end of {year}?",
    "What risk factors did {name} highlight in its {year} {kind}?",
)


def queries_from_names(index: Index) -> list[str]:
    """Five questions per document, from file names like ``PEPSICO_2022_10K.pdf`` / ``Pfizer_2023Q2_10Q.pdf``."""
    out = []
    with index.reading():
        docs = index.store.documents_under("/")
    for doc in docs:
        stem = Path(doc.path).stem
        name = re.split(r"_(?=\d{4})", stem)[0].replace("_", " ").title()
        year = (re.search(r"(?:19|20)\d\d", stem) or re.search(r"\d+", "2023"))[0]  # type: ignore[index]
        kind = next((k for k in ("10K", "10Q", "8K", "EARNINGS") if k in stem.upper()), "report")
        kind = {"10K": "10-K", "10Q": "10-Q", "8K": "8-K", "EARNINGS": "earnings release"}.get(kind, kind)
        out += [t.format(name=name, year=year, kind=kind) for t in TEMPLATES]
    return out


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
    result: dict[str, object] = {"index": args.index, "mode": args.mode, "k": args.k}
    t0 = time.perf_counter()
    with Index.open(args.index, create=False, cache_dir=cache_dir()) as index:
        if args.queries == "names":
            queries = queries_from_names(index)
        elif args.queries:
            queries = [q.strip() for q in Path(args.queries).read_text(encoding="utf-8").splitlines() if q.strip()]
        else:
            queries = [q.question for q in load_questions(default_eval_dir())]
        result["queries"] = len(queries)
        result["open_s"] = round(time.perf_counter() - t0, 2)
        stats = index.stats()
        result["documents"], result["chunks"] = stats.documents, stats.chunks
        names = args.rerank.split(",")
        retrievers = [IndexRetriever(index, reranker=make_reranker(n, index.embedder, args.candidates),
                                     linking=not args.no_link) for n in names]
        for r in retrievers:
            r.search("warm up", k=args.k, mode=args.mode)
        times: dict[str, list[float]] = {n: [] for n in names}
        for i, q in enumerate(queries):
            turn = list(zip(names, retrievers))
            for name, retriever in turn if i % 2 == 0 else reversed(turn):
                if args.cold:
                    _analyse.cache_clear()
                t = time.perf_counter()
                retriever.search(q, k=args.k, mode=args.mode)
                times[name].append(1000 * (time.perf_counter() - t))
        base = statistics.median(times[names[0]])
        for name in names:
            p50 = statistics.median(times[name])
            result[name] = {"p50_ms": round(p50, 1), "p95_ms": round(_pct(times[name], 0.95), 1),
                            "p50_ratio": round(p50 / base, 2)}
    result["load_avg"] = [round(x, 1) for x in os.getloadavg()]
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
