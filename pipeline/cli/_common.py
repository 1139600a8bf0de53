"""Options and helpers shared by the subcommands that read documents (parse, ingest, extract)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from extractors import TableMode
from pipeline.cli._errors import OutputError

if TYPE_CHECKING:
    from pipeline.document import ErrorRecord


def add_input_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("input selection and parsing")
    g.add_argument("--include", action="append", metavar="GLOB",
                   help="only files matching GLOB in folders (repeatable; default: pdf, html, htm, md, txt, *.html.gz, "
                        "docx, pptx, xlsx, png, jpg, tif); files passed over are named in the summary")
    g.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="skip files matching GLOB (repeatable)")
    g.add_argument("--password", help="password for encrypted PDFs (also $RAGLINE_PDF_PASSWORD)")
    g.add_argument("--max-pages", type=int, help="fail PDFs with more pages than this")
    g.add_argument("--tables", choices=[m.value for m in TableMode], default=TableMode.AUTO.value,
                   help="PDF tables: auto = fast finder on ruled/shaded pages (default); pymupdf = PyMuPDF's "
                        "find_tables on those pages (slower); always = find_tables on every page; never")
    g.add_argument("--keep-furniture", action="store_true", help="keep running headers/footers/page numbers")
    g.add_argument("--all-html", action="store_true", help="HTML: keep navigation and boilerplate (no main-content pass)")
    g.add_argument("--ocr", choices=("auto", "always", "never"), default="auto",
                   help="OCR (rapidocr, a few seconds a page): auto = PDF pages without a text layer and image files "
                        "(default); always = every PDF page; never = such pages are reported unreadable (partial)")
    from pipeline.cli._inputs import add_fetch_options

    add_fetch_options(p)


@dataclasses.dataclass
class Inputs:
    """The PATH arguments resolved: files to parse, paths that do not exist, and files a folder walk passed over."""

    files: list[Path]
    options: Any  # ParseOptions
    missing: list[ErrorRecord]
    skipped: list[Any]  # parsing.SkippedFile


def scan_inputs(args: argparse.Namespace) -> Inputs:
    """Expand PATH arguments, keeping what was skipped and why."""
    from pipeline.cli._inputs import resolve_paths
    from pipeline.document import ErrorRecord
    from pipeline.exceptions import FileAccessError
    from pipeline.parsing import scan_paths

    missing = resolve_paths(args)  # "-", unexpanded globs, --fetch URLs
    existing = []
    for raw in args.paths:
        if os.path.exists(raw):
            existing.append(raw)
        else:
            missing.append(ErrorRecord.from_exception(FileAccessError("no such file or directory", source=raw, stage="read")))
    scan = scan_paths(existing, include=args.include, exclude=args.exclude)
    return Inputs(scan.files, parse_options(args), missing, scan.skipped)


def collect_inputs(args: argparse.Namespace) -> tuple[list[Path], Any, list[ErrorRecord]]:
    """Expand PATH arguments; return (files, ParseOptions, error records for paths that do not exist)."""
    found = scan_inputs(args)
    return found.files, found.options, found.missing


def parse_options(args: argparse.Namespace) -> Any:
    """The :class:`ParseOptions` of the input options above: the one place the CLI builds them."""
    from pipeline.parsing import HtmlOptions, OcrMode, OcrOptions, ParseOptions, PdfOptions

    return ParseOptions(
        max_bytes=getattr(args, "max_bytes", None),
        pdf=PdfOptions(
            password=args.password or os.environ.get("RAGLINE_PDF_PASSWORD"),
            max_pages=args.max_pages,
            tables=args.tables,
            keep_furniture=args.keep_furniture,
        ),
        html=HtmlOptions(main_content_only=not args.all_html),
        ocr=OcrOptions(mode=OcrMode(getattr(args, "ocr", "auto"))),
    )


def common_root(paths: list[Path]) -> Path | None:
    if not paths:
        return None
    try:
        return Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
    except ValueError:
        return None


def open_output(path: Path) -> IO[str]:
    """``path`` opened for writing (folders above it made); an :class:`OutputError` naming it when impossible."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise OutputError(f"cannot write {path}: a file is in the way of its folder {path.parent}") from exc
    except OSError as exc:
        raise OutputError.of(exc, path.parent) from exc
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise OutputError.of(exc, path) from exc


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
