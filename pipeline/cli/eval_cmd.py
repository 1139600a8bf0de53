"""``ragline eval KIND ...``: reproducible quality figures on real documents (../shared/eval)."""

from __future__ import annotations

import argparse
import importlib

# kind -> module with register(subparsers); each module adds its own options and func.
_KINDS = {"parse": "pipeline.evaluation.parse_eval"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure quality against ground truth (parse, retrieval, extract)")
    kinds = p.add_subparsers(dest="eval_kind", metavar="KIND")
    for mod in _KINDS.values():
        importlib.import_module(mod).register(kinds)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
