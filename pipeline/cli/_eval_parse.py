"""``ragline eval parse``: parse fidelity against the docling PDF ground truth and the article benchmark."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pipeline.cli._eval_common import add_eval_dir_option, eval_dir_of
from pipeline.evaluation.parse_eval import (
    evaluate_articles,
    evaluate_docling_pdf,
    format_articles,
    format_pdf_table,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("parse", help="parse fidelity: docling PDF ground truth, article-body benchmark")
    add_eval_dir_option(p)
    p.add_argument("--set", choices=["docling-pdf", "articles", "all"], default="all")
    p.add_argument("--limit", type=int, help="evaluate only the first N documents of each set")
    p.add_argument("--no-baseline", action="store_true",
                   help="articles: do not also score trafilatura (defaults, favor_precision) on the same pages")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    eval_dir = eval_dir_of(args)
    if not eval_dir.is_dir():
        print(f"ragline eval parse: evaluation corpus not found at {eval_dir} (use --eval-dir)", file=sys.stderr)
        return 2
    result: dict[str, Any] = {}
    if args.set in ("docling-pdf", "all"):
        scores = evaluate_docling_pdf(eval_dir, args.limit)
        result["docling_pdf"] = [s.model_dump() for s in scores]
        if not args.json:
            print("== docling PDF ground truth (markdown) ==")
            print(format_pdf_table(scores))
    if args.set in ("articles", "all"):
        art = evaluate_articles(eval_dir, args.limit, baselines=not args.no_baseline)
        result["articles"] = art.model_dump()
        if not args.json:
            print("\n== article extraction benchmark (human-annotated bodies) ==")
            print(format_articles(art))
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
    return 0
