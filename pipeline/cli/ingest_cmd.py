"""``ragline ingest``: parse, chunk and embed documents into an index directory (incrementally)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from typing import TYPE_CHECKING, Any

from pipeline.cli._common import add_input_options, parse_options
from pipeline.cli._errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from pipeline.cli._index_options import add_index_options, given, load_config, open_index

if TYPE_CHECKING:
    from pipeline.chunking import ChunkingOptions
    from pipeline.index import IndexStats
    from pipeline.ingest import IngestReport


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest",
        help="add documents to a search index (incremental: unchanged files are skipped)",
        description=textwrap.fill(
            "Parse, chunk and embed documents into the index in --index DIR (created if needed). A file whose "
            "content and chunking options are unchanged is not parsed or embedded again; a changed file "
            "replaces its chunks; a chunk text embedded before is taken from the index's embedding cache. "
            "Each document is committed on its own, so an interrupted run (Ctrl-C, exit 130) resumes where it "
            "stopped. Files are parsed in worker processes while this process embeds and writes (--engine "
            "local, the default), or parsed, chunked and embedded on a Ray cluster (--engine ray); either way "
            "one writer commits the documents in input order, and the index is the same. "
            "Exit status: 0 all indexed; 1 some files failed or are partial (pages that could not be read, a "
            "repaired file: indexed with what was read and listed as PARTIAL), or the index is locked or was built "
            "with another model; 2 usage error."
        ),
        epilog=(
            "examples:\n"
            "  ragline ingest docs/ --index idx/\n"
            "  ragline ingest docs/ --index idx/ --prune              # also drop documents whose file is gone\n"
            "  ragline ingest reports/ --index idx/ --include '*.pdf' --max-tokens 384 --json\n"
            "  ragline ingest docs/ --index idx/ --workers 0           # parse here, one file at a time\n"
            "  ragline ingest docs/ --index idx/ --engine ray          # a local Ray for this run (ragline[ray])\n"
            "  ragline ingest /shared/docs --index idx/ --engine ray --ray-address ray-head:6379"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    add_index_options(p)
    p.add_argument("--prune", action="store_true", help="remove indexed documents whose file no longer exists under the given folders")
    p.add_argument("--max-tokens", type=int, metavar="N",
                   help="chunk token budget (default: the index's current setting, 256 for a new index)")
    p.add_argument("--json", action="store_true", help="print the ingest report as JSON on stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    _add_engine_options(p)
    add_input_options(p)
    p.set_defaults(func=run)


def _add_engine_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("engine (who parses, chunks and embeds; the index is written by this process)")
    g.add_argument("--engine", choices=["local", "ray"], default=None,
                   help="local: parse and chunk in worker processes while this process embeds (default, or "
                        "[ingest] engine); "
                        "ray: parse, chunk and embed on Ray Data, on GPU workers when the cluster has GPUs "
                        "(needs ragline[ray])")
    g.add_argument("--workers", type=int, metavar="N",
                   help="local engine: parse worker processes (default: one per two cores); "
                        "0 parses in this process, one file after another")
    g.add_argument("--ray-address", metavar="ADDR",
                   help="ray engine: join this running cluster (host:6379 or ray://host:10001; the files must "
                        "be readable at the same paths on its nodes); default: start a local Ray for this run")


def _check_engine_options(args: argparse.Namespace) -> None:
    engine = args.engine or load_config(args).ingest.engine
    if args.workers is not None and args.workers < 0:
        raise UsageError("--workers must be 0 or more")
    if engine != "ray" and args.ray_address:
        raise UsageError("--ray-address needs --engine ray")
    if engine == "ray" and args.workers is not None:
        raise UsageError("--workers is for --engine local (Ray sizes its stages from the cluster)")


def _chunking(args: argparse.Namespace) -> ChunkingOptions | None:
    """New options only when --max-tokens is given: otherwise the index keeps what it was built with."""
    if args.max_tokens is None:
        return None
    from pipeline.chunking import ChunkingOptions
    from pipeline.index import Index

    base = Index.stored_chunking(args.index) or ChunkingOptions()
    return base.model_copy(update={"max_tokens": args.max_tokens})


def run(args: argparse.Namespace) -> int:
    from pipeline.cli._inputs import resolve_paths
    from pipeline.parsing import scan_paths

    for error in resolve_paths(args):  # "-", unexpanded globs, --fetch URLs; what did not resolve is said
        print(f"ragline ingest: {error.source}: [{error.reason}] {error.message}", file=sys.stderr)
    if not args.paths:
        raise UsageError("none of the PATH arguments could be read")

    if args.max_tokens is not None and args.max_tokens < 16:
        raise UsageError("--max-tokens must be at least 16")
    _check_engine_options(args)
    # Walked once: the scan says "nothing matched" before an index is created, and is what gets ingested.
    scan = scan_paths(args.paths, args.include, args.exclude)
    if not args.prune and not scan.files:
        print("ragline ingest: no matching documents found", file=sys.stderr)
        return EXIT_USAGE
    # Index errors (locked, another model, bad options) reach the CLI's one error wrapper.
    with open_index(args, create=True, chunking=_chunking(args), parse_options=parse_options(args)) as rag:
        ingestor = rag.ingestor(**given(args, engine="engine", workers="workers", ray_address="ray_address"))
        index = rag.index
        # Missing paths are ingested too: they come back as per-file failures in the report.
        report = ingestor.run(scan, prune=args.prune, progress=_progress(args.quiet or args.json))
        stats = index.stats()
        embedded_by = _embedded_by(index.embedder)
    if args.json:
        payload = report.model_dump(mode="json")
        payload["index"] = stats.model_dump(mode="json")
        print(json.dumps(payload, indent=2))
    elif not args.quiet:
        print(_summary(report, stats, embedded_by), file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


def _progress(quiet: bool) -> Any:
    """The ingest's progress: a bar on a terminal, else a line per 5% of the files (at least every 10 s), so a
    CI log sees the run move; each says the pages read so far (files differ in size, pages less so)."""
    from pipeline.cli._progress import DocProgress

    state: dict[str, Any] = {"t": time.perf_counter()}  # the clock runs from the start, model loading included

    def tick(done: int, total: int, path: str, pages: int = 0) -> None:
        if quiet:
            return
        state["pages"] = state.get("pages", 0) + pages
        if "bar" not in state:
            state["bar"] = DocProgress(total, command="ingest", every=max(1, total // 20))
            state["bar"].start()
            state["bar"]._t0 = state["t"]
        now = time.perf_counter()
        state["bar"].update(os.path.basename(path), f"{state['pages']} pages so far", now - state["t"])
        state["t"] = now
        if done >= total:
            state["bar"].close()

    return tick


def _embedded_by(embedder: object) -> str:
    """What ran the embeddings, e.g. "OpenVINO bf16" or "torch fp16" ("" for an embedder that does not say)."""
    runtime = getattr(embedder, "runtime", None) or getattr(embedder, "backend", None)
    return " ".join(str(x) for x in (runtime, getattr(embedder, "precision", None)) if x)


def _summary(report: IngestReport, stats: IndexStats, embedded_by: str = "") -> str:
    lines = [
        f"ingested {report.files} file(s) in {report.seconds:.1f}s: parsed {report.parsed}, "
        f"skipped {report.skipped} unchanged, failed {report.failed}"
        + (f", partial {report.partial}" if report.partial else "")
        + (f", re-chunked {report.rechunked}" if report.rechunked else "")
        + (f", pruned {report.removed}" if report.removed else "")
        + (f"; {report.ocr_pages} page(s) read by OCR" if report.ocr_pages else ""),
        (
            f"chunks: +{report.chunks_added} -{report.chunks_removed}; embedded {report.embedded}"
            + (f" ({embedded_by})" if embedded_by and report.embedded else "")
            + f", from cache {report.cached}"
        ),
        (
            f"index {stats.directory}: {stats.documents} document(s), {stats.chunks} chunk(s), "
            f"{stats.vector_index} vectors, model {stats.embedding_model}"
        ),
    ]
    for e in report.errors:
        lines.append(f"  FAILED {e.source}: [{e.reason}] {e.message}")
    for e in report.issues:
        page = f" page {e.page}" if e.page is not None else ""
        lines.append(f"  PARTIAL {e.source}{page}: [{e.reason}] {e.message}")
    return "\n".join(lines)
