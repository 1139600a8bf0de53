"""``ragline parse``: documents -> markdown, elements (JSONL) or chunks (JSONL)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.document import ErrorRecord

from ._common import add_input_options, collect_inputs, common_root, open_output, progress, summary_line

FORMATS = {"markdown": ".md", "elements": ".jsonl", "chunks": ".jsonl"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "parse",
        help="parse PDF/HTML/Markdown/text into markdown, elements or chunks",
        description=(
            "Parse documents (folders are walked recursively). The format of each file is detected from its "
            "content. Failed files are reported and the rest are still written. Exit status: 0 all parsed, "
            "1 some failed, 2 usage error."
        ),
        epilog=(
            "examples:\n"
            "  ragline parse report.pdf                       # markdown to stdout\n"
            "  ragline parse docs/ --to chunks -o chunks.jsonl\n"
            "  ragline parse docs/ --to markdown -o out/      # one .md per document, errors in out/_errors.jsonl\n"
            "  ragline parse docs/ --include '*.pdf' --exclude 'drafts/*' --to elements -o elements.jsonl"
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
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=run)


def _doc_lines(result: Any, kind: str, chunk_options: Any) -> list[str]:
    doc = result.document
    if kind == "markdown":
        return [doc.to_markdown()]
    if kind == "elements":
        return [
            json.dumps({"source": doc.source, "doc_id": doc.id, **e.model_dump(mode="json", exclude_none=True)}, ensure_ascii=False)
            + "\n"
            for e in doc.elements
        ]
    from pipeline.chunking import chunk

    return [c.model_dump_json() + "\n" for c in chunk(doc, chunk_options)]


def run(args: argparse.Namespace) -> int:
    from pipeline.chunking import ChunkingOptions
    from pipeline.document import ParseStatus
    from pipeline.parsing import parse_many

    inputs, options, missing = collect_inputs(args)
    if not inputs and not missing:
        print("ragline parse: no matching documents found", file=sys.stderr)
        return 2
    chunk_options = ChunkingOptions(max_tokens=args.max_tokens, overlap_tokens=args.overlap)
    out_path = Path(args.output) if args.output else None
    per_doc_dir = out_path is not None and (out_path.is_dir() or not out_path.suffix)
    single: IO[str] | None = None
    if out_path is None:
        single = sys.stdout
    elif not per_doc_dir:
        single = open_output(out_path)
    else:
        out_path.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    failures: list[ErrorRecord] = list(missing)
    done = pages = 0
    todo = inputs
    skipped = 0
    root = common_root(inputs)
    if per_doc_dir and args.skip_existing:
        todo = [p for p in inputs if not _target(out_path, p, args.to, root).exists()]  # type: ignore[arg-type]
        skipped = len(inputs) - len(todo)
    try:
        with progress(len(todo), "parse", args.quiet) as bar:
            for result in parse_many(todo, options, workers=args.workers):
                bar.update(1)
                if result.status is ParseStatus.FAILURE:
                    failures.extend(result.errors)
                    if not args.quiet:
                        bar.write(f"FAILED {result.source}: {result.errors[0].message}", file=sys.stderr)
                    continue
                done += 1
                pages += result.document.pages  # type: ignore[union-attr]
                lines = _doc_lines(result, args.to, chunk_options)
                if single is not None:
                    if args.to == "markdown" and len(inputs) > 1:
                        single.write(f"<!-- source: {result.source} -->\n")
                    single.writelines(lines)
                    single.flush()
                else:
                    _write_atomic(_target(out_path, Path(result.source), args.to, root), lines)  # type: ignore[arg-type]
    finally:
        if single is not None and single is not sys.stdout:
            single.close()
    if per_doc_dir:
        _write_errors(out_path / "_errors.jsonl", failures)  # type: ignore[operator]
    if not args.quiet:
        print(summary_line("parsed", done, pages, skipped, failures, time.perf_counter() - t0), file=sys.stderr)
    return 1 if failures else 0


def _write_atomic(target: Path, lines: list[str]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_text("".join(lines), encoding="utf-8")
    tmp.replace(target)  # atomic: a killed run never leaves half a file behind


def _write_errors(err_file: Path, failures: list[ErrorRecord]) -> None:
    """``_errors.jsonl`` beside folder output: this run's failures, or no file when there were none."""
    if failures:
        err_file.write_text("".join(f.model_dump_json() + "\n" for f in failures), encoding="utf-8")
    elif err_file.exists():
        err_file.unlink()


def _target(out_dir: Path, source: Path, kind: str, root: Path | None = None) -> Path:
    """Output file for ``source``: its path relative to the common input folder, plus the extension,
    so files with the same name in different sub-folders do not overwrite each other."""
    rel = Path(source.name)
    if root is not None:
        try:
            rel = source.resolve().relative_to(root)
        except ValueError:
            pass
    name = rel.name.removesuffix(".gz")
    return out_dir / rel.parent / (name + FORMATS[kind])
