"""``ragline eval qa``: answer accuracy with citations on a sample of the docugami 10-Q questions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from pipeline.cli._eval_common import add_eval_dir_option, eval_dir_of, log_to_stderr
from pipeline.cli._llm import add_llm_options, llm_settings
from pipeline.embedding import Backend
from pipeline.evaluation.corpus import DOCUGAMI_QNA, cache_dir, default_docugami_index_dir
from pipeline.evaluation.qa_eval import format_qa_report, run_qa_eval
from pipeline.exceptions import ConfigurationError, IndexStoreError, LLMError

if TYPE_CHECKING:
    from pipeline.qa import QAOptions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("qa", help="answer accuracy with citations on a sample of docugami 10-Q questions")
    add_eval_dir_option(p)
    p.add_argument("--index", metavar="DIR",
                   help="index directory (default: the retrieval eval's, $RAGLINE_CACHE_DIR or .ragline-cache)")
    p.add_argument("-n", type=int, default=10, help="questions (default 10, every fifth of the 50)")
    p.add_argument("--all", action="store_true",
                   help="all docugami questions that have a key figure (50) instead of a sample of -n")
    p.add_argument("-k", type=int, default=None,
                   help="chunks retrieved per question (default: 60 extractive, 5 free)")
    p.add_argument("--strategy", choices=["extractive", "free"], default="extractive",
                   help="extractive (default): the model picks a candidate span by id; free: it writes the answer")
    p.add_argument("--ask-model", action="store_true",
                   help="extractive: let the LLM pick among the best-ranked spans (default: the best one, no LLM)")
    p.add_argument("--mode", choices=["dense", "bm25", "hybrid"], default=None,
                   help="retrieval mode (default: ask's default)")
    p.add_argument("--backend", choices=get_args(Backend), default="auto", help="embedding backend")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    add_llm_options(p)
    p.set_defaults(func=run)


def _options(args: argparse.Namespace) -> QAOptions:
    from pipeline.qa import QAOptions

    if args.ask_model and args.strategy != "extractive":
        raise ConfigurationError("--ask-model needs --strategy extractive")
    update: dict[str, object] = {"strategy": args.strategy, "k": args.k, "ask_model": args.ask_model}
    if args.mode is not None:
        update["mode"] = args.mode
    return QAOptions(**update)  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> int:
    eval_dir = eval_dir_of(args)
    if not (eval_dir / DOCUGAMI_QNA).is_file():
        print(f"ragline eval qa: docugami set not found under {eval_dir} (use --eval-dir)", file=sys.stderr)
        return 2
    cache = cache_dir()
    index_dir = Path(args.index) if args.index else default_docugami_index_dir(cache)
    try:
        options = _options(args)
        result = run_qa_eval(llm_settings(args), eval_dir, index_dir, n=None if args.all else args.n,
                             options=options, backend=args.backend, cache_dir=cache,
                             log=None if args.json else log_to_stderr)
    except ConfigurationError as exc:
        print(f"ragline eval qa: error: {exc}", file=sys.stderr)
        return 2
    except (LLMError, IndexStoreError) as exc:
        print(f"ragline eval qa: error: {exc}", file=sys.stderr)
        return 1
    print(result.model_dump_json(indent=2) if args.json else format_qa_report(result))
    return 0
