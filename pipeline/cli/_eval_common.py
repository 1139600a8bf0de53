"""What the ``ragline eval KIND`` commands share: the corpus option and progress lines on stderr."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.evaluation.corpus import default_eval_dir


def add_eval_dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--eval-dir", help="evaluation corpus (default: $RAGLINE_EVAL_DIR or ../shared/eval)")


def eval_dir_of(args: argparse.Namespace) -> Path:
    return Path(args.eval_dir) if args.eval_dir else default_eval_dir()


def log_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
