"""``ragline parse``: documents -> markdown, elements (JSONL) or chunks (JSONL)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.cli._common import Inputs, add_input_options, common_root, progress, scan_inputs
from pipeline.cli._errors import EXIT_FAILED, EXIT_OK, UsageError

if TYPE_CHECKING:
    from pipeline.cli._parse_output import DocOutcome, ParseReport

FORMATS = ("markdown", "elements", "chunks")  # pydantic-free here: `ragline --help` stays light


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "parse",
        help="parse PDF/DOCX/PPTX/XLSX/images/HTML/Markdown/text into markdown, elements or chunks",
        description=(
            "Parse documents (folders are walked recursively; files passed over are named with the reason). The "
            "format of each file is detected from its content. Pages without a text layer and images are read by "
            "OCR (--ocr). Failed and partial documents (a page that could not be read, a repaired file) are named "
            "in the summary and recorded in the output (_errors.jsonl beside folder output; status records in "
            "single-file output); the rest are still written. Exit status: 0 every page of every document read, "
            "1 some failed or partial, or output that cannot be written, 2 usage error."
        ),
        epilog=(
            "examples:\n"
            "  ragline parse report.pdf                       # markdown to stdout\n"
            "  ragline parse docs/ --to chunks -o chunks.jsonl\n"
            "  ragline parse docs/ --to markdown -o out/      # one .md per document, errors in out/_errors.jsonl\n"
            "  ragline parse docs/ --include '*.pdf' --exclude 'drafts/*' --to elements -o elements.jsonl\n"
            "  ragline parse scans/ --ocr always -o out/ --json   # JSON report of the run on stdout"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    p.add_argument("--to", choices=list(FORMATS), default="markdown", help="output kind (default: markdown)")
    p.add_argument(
        "-o", "--output",
        help="output file (.md/.jsonl: everything in one file) or folder (one file per document); default stdout",
    )
    add_input_options(p)
    p.add_argument("--max-tokens", type=int, default=256, help="chunk token budget (--to chunks; default 256)")
    p.add_argument("--overlap", type=int, default=0, help="overlap tokens between split chunks (default 0)")
    p.add_argument("--skip-existing", action="store_true", help="folder output: skip documents whose output exists (resume)")
    p.add_argument("--workers", "-j", type=int, default=1, help="parse in N processes (default 1)")
    p.add_argument("--json", action="store_true", help="print a JSON report of the run on stdout (needs -o)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary; errors only")
    p.set_defaults(func=run)


def _doc_lines(document: Any, kind: str, chunk_options: Any) -> list[str]:
    if kind == "markdown":
        return [document.to_markdown()]
    if kind == "elements":
        return [
            json.dumps({"source": document.source, "doc_id": document.id, **e.model_dump(mode="json", exclude_none=True)},
                       ensure_ascii=False) + "\n"
            for e in document.elements
        ]
    from pipeline.chunking import chunk

    return [c.model_dump_json() + "\n" for c in chunk(document, chunk_options)]


def _outcome(result: Any) -> DocOutcome:
    from pipeline.cli._parse_output import DocOutcome

    doc = result.document
    return DocOutcome(
        source=result.source, status=result.status.value, errors=list(result.errors), seconds=round(result.seconds, 3),
        pages=doc.pages if doc else 0, ocr_pages=list(doc.ocr_pages) if doc else [],
        unreadable_pages=list(doc.unreadable_pages) if doc else [],
    )


def _check(args: argparse.Namespace, inputs: Inputs) -> None:
    from pipeline.cli._parse_output import skipped_lines

    if args.json and not args.output:
        raise UsageError("--json needs -o FILE_OR_DIR: stdout carries the documents")
    if not inputs.files and not inputs.missing:
        if inputs.skipped and not args.quiet:
            print("\n".join(skipped_lines(inputs.skipped)), file=sys.stderr)
        listed = f" ({len(inputs.skipped)} file(s) skipped, listed above)" if inputs.skipped else ""
        raise UsageError(f"no matching documents found{listed}")


def run(args: argparse.Namespace) -> int:
    from pipeline.chunking import ChunkingOptions
    from pipeline.cli._parse_output import DocOutcome, FolderSink, ParseReport, open_sink

    inputs = scan_inputs(args)
    _check(args, inputs)
    chunk_options = ChunkingOptions(max_tokens=args.max_tokens, overlap_tokens=args.overlap)
    root = common_root(inputs.files)
    sink = open_sink(args.output, args.to, root, many=len(inputs.files) + len(inputs.missing) > 1)
    report = ParseReport(skipped_files=inputs.skipped)
    t0 = time.perf_counter()
    for record in inputs.missing:
        outcome = DocOutcome(source=record.source or "", status="failure", errors=[record])
        sink.failure(outcome)
        report.add(outcome)
    todo = inputs.files
    if isinstance(sink, FolderSink) and args.skip_existing:
        todo = [p for p in inputs.files if not sink.target(p).exists()]
        report.skipped_existing = len(inputs.files) - len(todo)
    _parse_all(args, todo, inputs.options, chunk_options, sink, report)
    report.seconds = round(time.perf_counter() - t0, 3)
    sink.finish(report)
    if args.json:
        print(report.model_dump_json(indent=2))
    if not args.quiet:
        print(report.summary(), file=sys.stderr)
    return EXIT_FAILED if report.failed or report.partial else EXIT_OK


def _parse_all(args: argparse.Namespace, todo: list[Path], options: Any, chunk_options: Any, sink: Any,
               report: ParseReport) -> None:
    from pipeline.parsing import parse_many

    with progress(len(todo), "parse", args.quiet) as bar:
        for result in parse_many(todo, options, workers=args.workers):
            bar.update(1)
            outcome = _outcome(result)
            if result.document is None:
                sink.failure(outcome)
            else:
                sink.document(outcome, _doc_lines(result.document, args.to, chunk_options))
                if getattr(args, "verbose", 0) and outcome.status == "success":
                    ocr = f", {len(outcome.ocr_pages)} by OCR" if outcome.ocr_pages else ""
                    bar.write(f"parsed {outcome.source}: {outcome.pages} page(s){ocr}", file=sys.stderr)
            report.add(outcome)
