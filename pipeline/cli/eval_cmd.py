"""``ragline eval KIND ...``: reproducible quality figures on real documents (../shared/eval).

Each kind's options live in ``pipeline/cli/_eval_KIND.py``, over the library in
:mod:`pipeline.evaluation`. Those modules are imported only when ``eval`` runs (two-stage parsing),
so ``ragline --help`` stays light."""

from __future__ import annotations

import argparse
import importlib

# kind -> (module with register(subparsers), one-line help)
_KINDS = {
    "parse": ("pipeline.cli._eval_parse", "parse fidelity: docling PDF ground truth, article-body benchmark"),
    "retrieval": ("pipeline.cli._eval_retrieval", "document recall@k on the docugami 10-Q questions"),
    "extract": ("pipeline.cli._eval_extract", "field accuracy on the invoice2data invoices"),
    "qa": ("pipeline.cli._eval_qa", "answer accuracy with citations on docugami questions"),
}


def register(sub: argparse._SubParsersAction) -> None:
    kinds_help = "\n".join(f"  {k:10} {h}" for k, (_, h) in _KINDS.items())
    p = sub.add_parser(
        "eval",
        help="measure quality against ground truth (parse, retrieval, extract, qa)",
        description="Evaluate a stage on the real documents in ../shared/eval (or --eval-dir).",
        epilog=f"kinds:\n{kinds_help}\n\nRun `ragline eval KIND --help` for the options of each.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("kind", choices=list(_KINDS), metavar="KIND", help="what to evaluate: " + ", ".join(_KINDS))
    p.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    parser = argparse.ArgumentParser(prog="ragline eval")
    kinds = parser.add_subparsers(dest="eval_kind", metavar="KIND")
    module, _ = _KINDS[args.kind]
    importlib.import_module(module).register(kinds)
    sub_args = parser.parse_args([args.kind, *args.args])
    return int(sub_args.func(sub_args) or 0)
