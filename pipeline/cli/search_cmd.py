"""``ragline search``: query an index built by ``ragline ingest``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import textwrap
from typing import TYPE_CHECKING, Any

from pipeline.cli._errors import EXIT_OK, UsageError
from pipeline.cli._index_options import (
    add_index_options,
    load_config,
    open_index,
    require_existing_index,
    warn_unmatched_source,
)
from pipeline.cli._llm import add_llm_options, llm_settings

if TYPE_CHECKING:
    from pipeline.protocols import SearchHit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search",
        help="search an index (dense, BM25 or hybrid)",
        description=textwrap.fill(
            "Return the chunks that best match QUERY. Modes: dense (embedding cosine), bm25 (full-text), "
            "hybrid (reciprocal rank fusion of both; default). Exit status: 0 ok (even with no hits), "
            "1 index error, 2 usage error (including a missing index)."
        ),
        epilog=(
            "examples:\n"
            "  ragline search 'revenue recognition' --index idx/\n"
            "  ragline search 'net sales' --index idx/ -k 10 --mode bm25 --source '*AAPL*' --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("query", metavar="QUERY")
    add_index_options(p)
    p.add_argument("-k", type=int, default=None, help="number of hits (default 5, or [search] k)")
    p.add_argument("--mode", choices=["dense", "bm25", "hybrid"], default=None,
                   help="default hybrid (or [search] mode)")
    p.add_argument("--source", metavar="GLOB", help="only documents whose path or file name matches GLOB")
    p.add_argument("--pages", metavar="LIST", help="only chunks on these pages, e.g. 3 or 1-4,9")
    p.add_argument("--rerank", choices=["none", "features", "maxsim", "llm"], default=None,
                   help="second stage over the top --candidates fused hits: features (default, or [search] rerank; "
                        "document features "
                        "with fitted weights), maxsim (+ sentence/table-row similarity, slower), llm (features, then "
                        "the LLM of the 'LLM endpoint' options picks among the best 8; its cost is printed), none")
    p.add_argument("--candidates", type=int, default=None, metavar="N",
                   help="candidates the reranker sees (default 50, or [search] candidates)")
    p.add_argument("--no-link", action="store_true",
                   help="do not link company names, tickers and periods in QUERY to the documents they point at")
    p.add_argument("--json", action="store_true", help="print hits as a JSON array on stdout")
    add_llm_options(p)
    p.set_defaults(func=run)


_PAGES = re.compile(r"^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$")


def parse_pages(spec: str) -> list[int]:
    if not _PAGES.match(spec):
        raise ValueError(f"bad page list {spec!r} (use e.g. 3 or 1-4,9)")
    pages: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        a, b = int(lo), int(hi or lo)
        if a > b or a < 1:
            raise ValueError(f"bad page range {part.strip()!r}")
        pages.extend(range(a, b + 1))
    return pages


def run(args: argparse.Namespace) -> int:
    if not args.query.strip():
        raise UsageError("the query is empty")
    search = load_config(args).search  # flags not given take the configuration's values
    k, mode = args.k or search.k, args.mode or search.mode
    rerank, candidates = args.rerank or search.rerank, args.candidates or search.candidates
    if args.k is not None and args.k < 1:
        raise UsageError("-k must be at least 1")
    try:
        pages = parse_pages(args.pages) if args.pages else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    require_existing_index(args)  # never create an index just to search it
    # Index errors reach the CLI's one error wrapper (bad options exit 2, the rest 1).
    if args.candidates is not None and args.candidates < 1:
        raise UsageError("--candidates must be at least 1")
    with contextlib.ExitStack() as stack:
        rag = stack.enter_context(open_index(args, create=False))
        if rerank == "llm":
            from pipeline.llm import open_llm

            rag = rag.with_client(stack.enter_context(open_llm(llm_settings(args))))
        reranker = rag.reranker(rerank, candidates)
        hits = rag.search(args.query, k=k, mode=mode, source_glob=args.source, pages=pages,
                          rerank=reranker, linking=False if args.no_link else search.linking)
        if not hits:
            warn_unmatched_source(rag, args.source, quiet=args.quiet)
    cost = getattr(reranker, "cost", None)
    if cost is not None and not args.quiet:
        print(f"llm rerank: {cost.calls} call(s), {cost.prompt_tokens} prompt + {cost.completion_tokens} completion "
              f"tokens, {cost.seconds:.1f} s" + (f", {cost.failures} failed (features order kept)" if cost.failures
                                                 else ""), file=sys.stderr)
    if args.json:
        print(json.dumps([_hit_json(h, r) for r, h in enumerate(hits, start=1)], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not hits:
        print("no hits", file=sys.stderr)
    links = hits[0].metadata.get("links") if hits else None
    if links:
        print(format_links(links), file=sys.stderr)
    for rank, h in enumerate(hits, start=1):
        print(format_hit(rank, h))
    return EXIT_OK


def format_links(links: dict[str, Any]) -> str:
    """One line saying what the query was linked to and whether the search was restricted."""
    parts = []
    if links.get("entities"):
        parts.append("entity " + ", ".join(links["entities"]))
    if links.get("periods"):
        parts.append("period " + ", ".join(links["periods"]))
    if links.get("latest"):
        parts.append("latest period")
    docs = links.get("documents") or []
    where = (f"searching {len(docs)} document(s): " + ", ".join(os.path.basename(d) for d in docs[:6])
             + (" ..." if len(docs) > 6 else "")) if docs else "no document restriction"
    return "linked: " + "; ".join(parts) + f" -> {where}"


def _score(h: SearchHit) -> str:
    """A score a person can read, or none: a reranker's output is a probability fitted to order hits, not a
    relevance anyone can judge (the right hit may read 0.06), so reranked hits show only that they were; the
    first stage's scores are normalised per mode. ``--json`` keeps every score."""
    from pipeline.retrieval import RRF_K

    mode = h.metadata.get("mode")
    if "reranker" in h.metadata:
        return f"reranked, {mode or 'hybrid'}"
    if mode == "hybrid":  # 1.00 = ranked first by both dense and BM25
        return f"fused {h.score * (RRF_K + 1) / 2:.2f}"
    return f"cosine {h.score:.2f}" if mode == "dense" else f"bm25 {h.score:.1f}"


def format_hit(rank: int, h: SearchHit, width: int = 300) -> str:
    """``rank. [score] file p.N  (heading > path)`` then the snippet, without the heading path repeated."""
    pages_s = f"p.{h.page_start}" if h.page_start == h.page_end else f"p.{h.page_start}-{h.page_end}"
    where = " > ".join(h.heading_path)
    text = h.text
    if where and text.startswith(where):  # chunks carry their heading path as a first line
        text = text[len(where):]
    snippet = " ".join(text.split())
    head = f"{rank}. [{_score(h)}] {os.path.basename(h.source)} {pages_s}" + (f"  ({where})" if where else "")
    return head + "\n   " + snippet[:width] + ("..." if len(snippet) > width else "")


def _hit_json(hit: SearchHit, rank: int) -> dict[str, Any]:
    return {
        "rank": rank,
        "chunk_id": hit.chunk_id,
        "doc_id": hit.doc_id,
        "source": hit.source,
        "page_start": hit.page_start,
        "page_end": hit.page_end,
        "heading_path": hit.heading_path,
        "score": hit.score,
        "text": hit.text,
        "metadata": hit.metadata,
    }
