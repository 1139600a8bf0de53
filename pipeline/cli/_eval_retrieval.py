"""``ragline eval retrieval``: document recall@k of dense / BM25 / hybrid search on the docugami 10-Q set."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import get_args

from pipeline.cli._eval_common import add_eval_dir_option, eval_dir_of, log_to_stderr
from pipeline.embedding import Backend
from pipeline.evaluation.corpus import DOCUGAMI_QNA, cache_dir, default_docugami_index_dir
from pipeline.evaluation.retrieval_eval import evaluate, format_retrieval_report
from pipeline.retrieval import DEFAULT_RERANKER, RERANKERS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("retrieval", help="document recall@k of dense / BM25 / hybrid search on the docugami 10-Q set")
    add_eval_dir_option(p)
    p.add_argument("--index", metavar="DIR",
                   help="index directory (default: $RAGLINE_CACHE_DIR or .ragline-cache, /eval-retrieval-docugami)")
    p.add_argument("-k", type=int, default=5, help="chunks retrieved per question (default 5)")
    p.add_argument("--backend", choices=get_args(Backend), default="auto")
    p.add_argument("--limit", type=int, help="evaluate only the first N questions")
    p.add_argument("--rerank", choices=list(RERANKERS), default=DEFAULT_RERANKER,
                   help=f"second stage over the top fused candidates (default {DEFAULT_RERANKER}, as `ragline search`)")
    p.add_argument("--no-link", action="store_true",
                   help="do not link company names, tickers and periods of the questions to documents")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    eval_dir = eval_dir_of(args)
    if not (eval_dir / DOCUGAMI_QNA).is_file():
        print(f"ragline eval retrieval: docugami set not found under {eval_dir} (use --eval-dir)", file=sys.stderr)
        return 2
    cache = cache_dir()
    index_dir = Path(args.index) if args.index else default_docugami_index_dir(cache)
    result = evaluate(
        eval_dir, index_dir, k=args.k, backend=args.backend, cache_dir=cache, limit=args.limit,
        progress=not args.json, log=log_to_stderr, rerank=args.rerank, linking=not args.no_link,
    )
    if args.json:
        print(result.model_dump_json(indent=2))
        return 0
    print(format_retrieval_report(result, index_dir))
    return 0
