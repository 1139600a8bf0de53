"""``ragline index stats|list|remove``: what is inside an index, and taking documents out of it."""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

from pipeline.cli._errors import EXIT_FAILED, EXIT_OK, UsageError
from pipeline.cli._index_options import add_index_options, open_index, require_existing_index


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "index",
        help="show what an index holds (stats, list) or remove documents from it",
        description=textwrap.fill(
            "Inspect or edit the index in --index DIR (built by `ragline ingest`). stats: documents, chunks, "
            "vectors, embedding model, chunking options and size on disk. list: one line per document (status, "
            "chunks, path). remove: take documents out by path or glob, with their chunks and vectors. "
            "Exit status: 0 done, 1 a path or glob matched no document (the others are still removed) or the "
            "index is locked, 2 usage error (e.g. no index in DIR)."
        ),
        epilog=(
            "examples:\n"
            "  ragline index stats --index idx/\n"
            "  ragline index list --index idx/ --json\n"
            "  ragline index remove 'old/*.pdf' docs/draft.pdf --index idx/ --dry-run"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    stats = actions.add_parser("stats", help="counts, embedding model, chunking options, size on disk")
    lst = actions.add_parser("list", help="the documents in the index, one per line")
    lst.add_argument("--failed", action="store_true", help="only the documents that failed to index")
    lst.add_argument("--match", metavar="GLOB", help="only documents whose path or file name matches GLOB")
    rm = actions.add_parser("remove", help="remove documents (and their chunks and vectors) by path or glob")
    rm.add_argument("targets", nargs="+", metavar="PATH_OR_GLOB",
                    help="a document's path (as given to ingest) or a glob over paths or file names")
    rm.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    rm.add_argument("--compact", action="store_true", help="also drop cached vectors no chunk uses any more")
    for q in (stats, lst, rm):
        add_index_options(q, help="index directory (built by `ragline ingest`)")
        q.add_argument("--json", action="store_true", help="print JSON on stdout")
        q.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no summary on stderr")
        q.set_defaults(func=run)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    require_existing_index(args)
    with open_index(args, create=False) as rag:
        index = rag.index
        if args.action == "stats":
            return _stats(index, args)
        if args.action == "list":
            return _list(index, args)
        return _remove(index, args)


def _documents(index: Any) -> list[Any]:
    """Every document row (indexed or failed); the index stores documents by absolute path."""
    return list(index.store.documents_under("/"))


def _disk_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file())


def _stats(index: Any, args: argparse.Namespace) -> int:
    from pipeline.index import Index

    stats = index.stats().model_dump()
    chunking = Index.stored_chunking(args.index)
    stats["chunking_options"] = chunking.model_dump() if chunking else None
    stats["bytes_on_disk"] = _disk_bytes(Path(args.index))
    stats["parsers"] = sorted({row.parser for row in _documents(index) if row.parser})
    if args.json:
        print(json.dumps(stats, indent=2))
        return EXIT_OK
    opts = stats["chunking_options"] or {}
    lines = [
        f"index        {stats['directory']}",
        f"documents    {stats['documents']} indexed, {stats['failed_documents']} failed",
        f"chunks       {stats['chunks']} ({stats['vectors']} vectors, {stats['vector_index']} FAISS index)",
        (f"embedding    {stats['embedding_model']} ({stats['dimension']}-d), "
         f"{stats['cached_embeddings']} cached embeddings"),
        (f"chunking     max_tokens {opts.get('max_tokens')}, overlap {opts.get('overlap_tokens')} "
         f"(fingerprint {stats['chunking_fingerprint']})"),
        f"parsed by    {', '.join(stats['parsers']) or '-'}",
        f"on disk      {stats['bytes_on_disk'] / 1e6:.1f} MB",
    ]
    print("\n".join(lines))
    return EXIT_OK


def _matches(row: Any, pattern: str) -> bool:
    return fnmatch.fnmatchcase(row.path, pattern) or fnmatch.fnmatchcase(os.path.basename(row.path), pattern)


def _row_json(row: Any) -> dict[str, Any]:
    return {"path": row.path, "status": row.status, "chunks": row.n_chunks, "doc_id": row.doc_id,
            "parser": row.parser, "chunking": row.chunking}


def _list(index: Any, args: argparse.Namespace) -> int:
    rows = [r for r in _documents(index)
            if (not args.failed or r.status == "failed") and (not args.match or _matches(r, args.match))]
    if args.json:
        print(json.dumps([_row_json(r) for r in rows], indent=2))
        return EXIT_OK
    for r in rows:
        print(f"{r.status:<8} {r.n_chunks:>6} chunks  {r.doc_id[:12]}  {r.path}")
    if not getattr(args, "quiet", False):
        n_failed = sum(r.status == "failed" for r in rows)
        print(f"{len(rows)} document(s), {sum(r.n_chunks for r in rows)} chunks"
              + (f", {n_failed} failed" if n_failed else ""), file=sys.stderr)
    return EXIT_OK


def _select(rows: list[Any], targets: list[str]) -> tuple[list[Any], list[str]]:
    """Rows named by a path (as given, or absolute) or matched by a glob; the targets that matched nothing."""
    chosen: dict[str, Any] = {}
    unmatched: list[str] = []
    for t in targets:
        exact = {t, os.path.abspath(t)}
        hits = [r for r in rows if r.path in exact] or [r for r in rows if _matches(r, t)]
        if not hits:
            unmatched.append(t)
        chosen.update((r.path, r) for r in hits)
    return list(chosen.values()), unmatched


def _remove(index: Any, args: argparse.Namespace) -> int:
    if any(not t.strip() for t in args.targets):
        raise UsageError("an empty path or glob would match nothing")
    rows, unmatched = _select(_documents(index), args.targets)
    removed = 0 if args.dry_run else (index.remove([r.path for r in rows]) if rows else 0)
    compacted = index.compact() if (args.compact and not args.dry_run) else 0
    chunks = sum(r.n_chunks for r in rows)
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, "documents": [r.path for r in rows], "removed": removed,
                          "chunks": chunks, "unmatched": unmatched, "compacted_embeddings": compacted}, indent=2))
    else:
        verb = "would remove" if args.dry_run else "removed"
        for r in rows:
            print(f"{verb} {r.path} ({r.n_chunks} chunks)")
        if not getattr(args, "quiet", False):
            print(f"{verb} {len(rows)} document(s), {chunks} chunk(s)"
                  + (f"; {compacted} unused cached embedding(s) dropped" if compacted else ""), file=sys.stderr)
    for t in unmatched:
        print(f"ragline index remove: no document matches {t!r}", file=sys.stderr)
    return EXIT_FAILED if unmatched else EXIT_OK
