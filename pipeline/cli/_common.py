"""Options and helpers shared by the subcommands that read documents (parse, ingest, extract)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from extractors._table_mode import TableMode

if TYPE_CHECKING:
    from pipeline.document import ErrorRecord


def add_input_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("input selection and parsing")
    g.add_argument("--include", action="append", metavar="GLOB",
                   help="only files matching GLOB in folders (repeatable; default: pdf, html, htm, md, txt, *.html.gz)")
    g.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="skip files matching GLOB (repeatable)")
    g.add_argument("--password", help="password for encrypted PDFs (also $RAGLINE_PDF_PASSWORD)")
    g.add_argument("--max-pages", type=int, help="fail PDFs with more pages than this")
    g.add_argument("--tables", choices=[m.value for m in TableMode], default=TableMode.AUTO.value,
                   help="PDF tables: auto = fast finder on ruled/shaded pages (default); pymupdf = PyMuPDF's "
                        "find_tables on those pages (slower); always = find_tables on every page; never")
    g.add_argument("--keep-furniture", action="store_true", help="keep running headers/footers/page numbers")
    g.add_argument("--all-html", action="store_true", help="HTML: keep navigation and boilerplate (no main-content pass)")


def collect_inputs(args: argparse.Namespace) -> tuple[list[Path], Any, list[ErrorRecord]]:
    """Expand PATH arguments; return (files, ParseOptions, error records for paths that do not exist)."""
    from pipeline.document import ErrorRecord
    from pipeline.exceptions import FileAccessError
    from pipeline.parsing import expand_paths

    missing = []
    existing = []
    for raw in args.paths:
        if os.path.exists(raw):
            existing.append(raw)
        else:
            missing.append(ErrorRecord.from_exception(FileAccessError("no such file or directory", source=raw, stage="read")))
    return expand_paths(existing, include=args.include, exclude=args.exclude), parse_options(args), missing


def parse_options(args: argparse.Namespace) -> Any:
    """The :class:`ParseOptions` of the input options above: the one place the CLI builds them."""
    from pipeline.parsing import HtmlOptions, ParseOptions, PdfOptions

    return ParseOptions(
        max_bytes=getattr(args, "max_bytes", None),
        pdf=PdfOptions(
            password=args.password or os.environ.get("RAGLINE_PDF_PASSWORD"),
            max_pages=args.max_pages,
            tables=args.tables,
            keep_furniture=args.keep_furniture,
        ),
        html=HtmlOptions(main_content_only=not args.all_html),
    )


def common_root(paths: list[Path]) -> Path | None:
    if not paths:
        return None
    try:
        return Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
    except ValueError:
        return None


def open_output(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "w", encoding="utf-8")


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def write(self, s: str, file: Any = None) -> None:
        print(s, file=file or sys.stderr)

    def set_postfix_str(self, s: str) -> None:
        pass


@contextlib.contextmanager
def progress(total: int, desc: str, quiet: bool = False) -> Iterator[Any]:
    """tqdm bar on stderr for more than one item when stderr is a terminal; a no-op otherwise."""
    if quiet or total <= 1 or not sys.stderr.isatty():
        yield _NoBar()
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="doc", file=sys.stderr, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


def summary_line(verb: str, done: int, pages: int, skipped: int, failures: list[ErrorRecord], seconds: float) -> str:
    lines = [f"{verb} {done} document(s), {pages} page(s) in {seconds:.1f}s"
             + (f"; skipped {skipped} already done" if skipped else "")
             + (f"; {len(failures)} failed" if failures else "")]
    by_reason: dict[str, int] = {}
    for f in failures:
        by_reason[f.reason] = by_reason.get(f.reason, 0) + 1
        lines.append(f"  FAILED {f.source}: [{f.reason}] {f.message}")
    if by_reason:
        lines.append("  failures by reason: " + ", ".join(f"{k}={v}" for k, v in sorted(by_reason.items())))
    return "\n".join(lines)
