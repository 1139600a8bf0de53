"""The ``ragline`` command. Each subcommand lives in its own module with ``register(subparsers)``;
this module only wires them up, so ``ragline --help`` imports nothing heavy."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Iterator

from pipeline.cli._errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    OutputError,
    UsageError,
    exit_code_for,
)

# Subcommand modules, in the order --help lists them.
_COMMANDS = ["parse", "ingest", "index", "search", "extract", "batch", "ask", "serve", "eval"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ragline",
        description=(
            "Offline RAG document extraction: parse PDFs/HTML into structured text and chunks, "
            "build a searchable index, extract typed fields and answer questions with citations."
        ),
        epilog="Run `ragline COMMAND --help` for the options of each command.",
    )
    from pipeline.version import __version__

    parser.add_argument("--version", action="version", version=f"ragline {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        mod = importlib.import_module(f"pipeline.cli.{name}_cmd")
        mod.register(sub)
    for command in sub.choices.values():
        _add_verbosity(command)
    return parser


def _add_verbosity(p: argparse.ArgumentParser) -> None:
    """``-v`` (repeatable) and ``-q`` on every command, unless the command defines its own."""
    g = p.add_argument_group("messages")
    with contextlib.suppress(argparse.ArgumentError):
        g.add_argument("-v", "--verbose", action="count", default=0,
                       help="say more on stderr: -v progress messages (e.g. starting the local LLM), -vv debug")
    with contextlib.suppress(argparse.ArgumentError):
        g.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr (no progress or summary)")


@contextlib.contextmanager
def _logging(args: argparse.Namespace) -> Iterator[None]:
    """Log records of ragline's own loggers on stderr at the level ``-v``/``-q`` ask for, for this command only."""
    verbose = int(getattr(args, "verbose", 0) or 0)
    quiet = bool(getattr(args, "quiet", False))
    if not verbose and not quiet:
        yield
        return
    level = logging.ERROR if quiet else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("ragline: %(message)s" if verbose < 2 else "ragline %(name)s: %(message)s"))
    loggers = [logging.getLogger(n) for n in ("pipeline", "extractors")]
    saved = [(lg, lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.setLevel(level)
        lg.addHandler(handler)
        lg.propagate = False
    try:
        yield
    finally:
        for lg, old_level, old_propagate in saved:
            lg.removeHandler(handler)
            lg.setLevel(old_level)
            lg.propagate = old_propagate


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None and first == (argv[0] if argv else None) and first not in _COMMANDS:
        import difflib

        close = difflib.get_close_matches(first, _COMMANDS, n=1, cutoff=0.6)
        hint = f" (did you mean `ragline {close[0]}`?)" if close else f" (commands: {', '.join(_COMMANDS)})"
        print(f"ragline: unknown command {first!r}{hint}", file=sys.stderr)
        return EXIT_USAGE
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
        with _logging(args):
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UsageError, RaglineError, OutputError) as exc:
        print(f"ragline {args.command}: error: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    except BrokenPipeError:
        # The reader went away (`ragline parse ... | head`): stop writing, and keep Python from
        # complaining about stdout when it flushes at exit.
        with contextlib.suppress(OSError, ValueError):  # stdout may have no file descriptor (captured)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:  # an output (or input) fault a command did not name itself: one line, no traceback
        print(f"ragline {args.command}: error: {exc.strerror or exc}"
              + (f": {exc.filename}" if exc.filename else ""), file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
