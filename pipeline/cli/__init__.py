"""The ``ragline`` command. Each subcommand lives in its own module with ``register(subparsers)``;
this module only wires them up, so ``ragline --help`` imports nothing heavy."""

from __future__ import annotations

import argparse
import importlib
import sys

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
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
