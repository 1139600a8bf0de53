"""``ragline ask``: answer a question from an index, with citations checked against the retrieved text."""

from __future__ import annotations

import argparse
import sys

from pipeline.cli._errors import UsageError
from pipeline.cli._index_options import (
    add_index_options,
    given,
    load_config,
    open_index,
    require_existing_index,
    warn_unmatched_source,
)
from pipeline.cli._llm import add_llm_options, llm_settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ask",
        help="answer a question from an index, with verified citations",
        description=(
            "Retrieve the top-k chunks for QUESTION and answer from them only. The default (extractive) strategy "
            "ranks candidate spans of those chunks (table cells with their row and column labels, sentences) and "
            "answers with the best one (--ask-model: the one the LLM picks by id), cited by its own text; --strategy free lets the "
            "LLM write the answer and keeps the citations whose quotes really occur in the chunks. Prints 'not "
            "found' when nothing fits. Exit status: 0 answered or not found, 1 index/LLM error, 2 usage error."
        ),
        epilog=(
            "examples:\n"
            "  ragline ask 'What was total net sales in Q3 2023?' --index idx/\n"
            "  ragline ask 'Who is the CFO?' --index idx/ -k 8 --json\n"
            "  ragline ask 'What was the gross margin?' --index idx/ --source '*2023 Q3 AAPL*'"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("question", metavar="QUESTION")
    p.add_argument("-k", type=int, default=None, help="chunks retrieved (default 60 extractive, 5 free)")
    p.add_argument("--strategy", choices=["extractive", "free"], default=None,
                   help="extractive (default, or [qa] strategy): the answer is the best-ranked span of the retrieved text (table cell "
                   "with its row and column, or sentence), cited by construction; free: the LLM writes the answer")
    p.add_argument("--ask-model", action="store_true",
                   help="extractive: let the LLM pick among the best-ranked spans (default: the best one; no LLM "
                   "is started)")
    p.add_argument("--mode", choices=["dense", "bm25", "hybrid"], default=None,
                   help="retrieval mode: dense (embedding cosine), bm25 (keywords) or hybrid (both fused; default, "
                        "or [qa] mode)")
    p.add_argument("--rerank", choices=["none", "features", "maxsim"], default=None,
                   help="second retrieval stage over the top 50 fused hits: features (default, or [search] rerank; "
                        "document features "
                        "with fitted weights, docs/retrieval.md), maxsim (+ sentence/table-row similarity, slower), "
                        "none (the first stage's order)")
    p.add_argument("--max-context-tokens", type=int, default=None, metavar="N",
                   help="free strategy: token budget for the retrieved text in the prompt (default 2200, or [qa] "
                        "max_context_tokens)")
    p.add_argument("--source", metavar="GLOB",
                   help="retrieve only from documents whose path or file name matches GLOB, e.g. '*2023 Q3 AAPL*'")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("--html", metavar="FILE.html",
                   help="also write the answer with each citation highlighted on its page (one self-contained file)")
    add_index_options(p, help="index directory (built by `ragline ingest`)")
    add_llm_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Index, LLM and option errors reach the CLI's one error wrapper (exit 1, or 2 for usage)."""
    from pipeline.llm import open_llm
    from pipeline.qa import QAOptions

    if args.k is not None and args.k < 1:
        raise UsageError("-k must be at least 1")
    base = load_config(args).qa  # flags not given take the configuration's [qa] values
    flags = given(args, strategy="strategy", k="k", mode="mode", max_context_tokens="max_context_tokens")
    if args.ask_model:
        flags["ask_model"] = True
    options = QAOptions.model_validate({**base.model_dump(), **flags})
    if options.ask_model and options.strategy != "extractive":
        raise UsageError("--ask-model needs --strategy extractive")
    require_existing_index(args)
    with open_index(args, create=False) as rag:
        rag = rag.with_options(qa=options)
        if options.strategy == "extractive" and not options.ask_model:
            answer = rag.ask(args.question, source_glob=args.source, rerank=args.rerank)
        else:
            with open_llm(llm_settings(args)) as client:
                answer = rag.ask(args.question, client=client, source_glob=args.source, rerank=args.rerank)
        if not answer.found:
            warn_unmatched_source(rag, args.source, quiet=args.quiet)
        if args.html:
            from pipeline.report import write_answer_report

            written = write_answer_report(answer, rag.index, args.html)
            if not args.quiet:
                print(f"ragline ask: evidence report written to {written}", file=sys.stderr)
    if args.json:
        print(answer.model_dump_json(indent=2))
        return 0
    print(answer.text)
    if not answer.found and answer.unprinted:  # why: the documents never name what is asked about
        print(f"  no retrieved passage mentions: {', '.join(answer.unprinted)}")
    for c in answer.see_also if not answer.found else []:
        pages = f"p.{c.page}" if c.page == c.page_end else f"p.{c.page}-{c.page_end}"
        print(f"  see also: {c.source} {pages}: \"{c.quote}\"")
    if answer.found and not answer.grounded:
        print("(warning: no citation could be verified against the retrieved text)", file=sys.stderr)
    for i, c in enumerate(answer.citations, start=1):
        pages = f"p.{c.page}" if c.page == c.page_end else f"p.{c.page}-{c.page_end}"
        print(f"  [{i}] {c.source} {pages}: \"{c.quote}\"")
    return 0
