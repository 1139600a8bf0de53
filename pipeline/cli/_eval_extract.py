"""``ragline eval extract``: field accuracy of LLM extraction on the invoice2data invoices."""

from __future__ import annotations

import argparse
import sys

from pipeline.cli._eval_common import add_eval_dir_option, eval_dir_of, log_to_stderr
from pipeline.cli._llm import VALIDATION_REASKS_HELP, add_llm_options, llm_settings
from pipeline.evaluation.corpus import INVOICES
from pipeline.evaluation.extract_eval import format_extract_report, run_extract_eval
from pipeline.exceptions import ConfigurationError, LLMError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="field accuracy of LLM extraction on invoice2data (core invoice fields)")
    add_eval_dir_option(p)
    p.add_argument("--limit", type=int, help="only the first N invoices")
    p.add_argument("--validation-reasks", type=int, default=None, metavar="N", help=VALIDATION_REASKS_HELP)
    p.add_argument("--strategy", choices=("candidates", "free"), default="candidates",
                   help="extraction strategy (see ragline extract --help)")
    p.add_argument("--json", action="store_true", help="print results (per document too) as JSON")
    add_llm_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    eval_dir = eval_dir_of(args)
    if not (eval_dir / INVOICES).is_dir():
        print(f"ragline eval extract: {INVOICES} not found under {eval_dir} (use --eval-dir)", file=sys.stderr)
        return 2
    try:
        result = run_extract_eval(llm_settings(args), eval_dir, limit=args.limit,
                                  validation_reasks=args.validation_reasks, strategy=args.strategy,
                                  log=None if args.json else log_to_stderr)
    except ConfigurationError as exc:
        print(f"ragline eval extract: error: {exc}", file=sys.stderr)
        return 2
    except LLMError as exc:
        print(f"ragline eval extract: LLM error: {exc}", file=sys.stderr)
        return 1
    print(result.model_dump_json(indent=2) if args.json else format_extract_report(result))
    return 0
