"""The ``ragline`` command. Each subcommand lives in its own module with ``register(subparsers)``;
this module only wires them up, so ``ragline --help`` imports nothing heavy."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ._errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError, exit_code_for

# Subcommand modules, in the order --help lists them.
_COMMANDS = ["parse", "ingest", "search", "extract", "ask", "eval"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ragline",
        description=(
            "Offline RAG document extraction: parse PDFs/HTML into structured text and chunks, "
            "build a searchable index, extract typed fields and answer questions with citations."
        ),
        epilog="Run `ragline COMMAND --help` for the options of each command.",
    )
    from pipeline._version import __version__

    parser.add_argument("--version", action="version", version=f"ragline {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        mod = importlib.import_module(f"pipeline.cli.{name}_cmd")
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed subcommand. An expected fault becomes one line on stderr and its exit code
    (``_errors.exit_code_for``), never a traceback; a closed output pipe ends quietly."""
    from pipeline.exceptions import RaglineError

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UsageError, RaglineError) as exc:
        print(f"ragline {args.command}: error: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    except BrokenPipeError:
        # The reader went away (`ragline parse ... | head`): stop writing, and keep Python from
        # complaining about stdout when it flushes at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
