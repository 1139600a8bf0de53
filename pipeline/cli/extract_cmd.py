"""``ragline extract``: typed fields with evidence from documents, one JSON line per document."""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from ._common import add_input_options, collect_inputs, open_output, progress
from ._llm import VALIDATION_REASKS_HELP, add_llm_options, llm_client, validation_reasks


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "extract",
        help="extract typed fields (with verbatim evidence) from documents using an LLM",
        description=(
            "Extract the fields of a pydantic model (or flat JSON schema) from each document. For every field the "
            "model returns the value as printed and a verbatim quote; ragline checks the quote against the "
            "document, locates it (page, bbox) and parses amounts/dates/percentages itself. One JSON line per "
            "document: source, status (success | partial = some values unsupported by the text | failure), data, "
            "evidence, errors, usage. Exit status: 0 all extracted, 1 some failed, 2 usage error."
        ),
        epilog=(
            "examples:\n"
            "  ragline extract invoice.pdf --schema pipeline.llm:Invoice\n"
            "  ragline extract invoices/ --schema my_schemas.py:PurchaseOrder -o out.jsonl\n"
            "  ragline extract a.pdf --schema fields.json   # {\"properties\": {\"total\": {\"type\": \"number\"}}}\n"
            "  RAGLINE_LLM_BASE_URL=https://api.openai.com/v1 RAGLINE_LLM_MODEL=gpt-4o-mini \\\n"
            "    RAGLINE_LLM_API_KEY=... ragline extract docs/ --schema pipeline.llm:Invoice"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (walked recursively)")
    p.add_argument("--schema", required=True, metavar="SPEC",
                   help="module:Model, path/to/file.py:Model or schema.json")
    p.add_argument("-o", "--output", metavar="FILE.jsonl", help="output file (default stdout)")
    p.add_argument("--max-attempts", type=int, default=3, metavar="N", help="LLM calls per document incl. re-asks (default 3)")
    p.add_argument("--validation-reasks", type=int, default=None, metavar="N", help=VALIDATION_REASKS_HELP)
    p.add_argument("--max-context-tokens", type=int, default=2400, metavar="N",
                   help="document tokens shown to the model; longer documents are cut to the most relevant passages")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress or summary on stderr")
    add_input_options(p)
    add_llm_options(p)
    p.set_defaults(func=run)


def _failure_record(source: str, errors: list[dict[str, Any]] | list[str]) -> dict[str, Any]:
    return {"source": source, "status": "failure", "data": None, "evidence": {}, "errors": errors,
            "usage": None, "attempts": 0, "seconds": 0.0, "model": ""}


def _extract_one(extractor: Any, document: Any) -> dict[str, Any]:
    record: dict[str, Any] = extractor.run(document, raise_on_failure=False).to_record()
    return record


def run(args: argparse.Namespace) -> int:
    from pipeline.document import ParseStatus
    from pipeline.exceptions import ConfigurationError, LLMError
    from pipeline.llm import ExtractionOptions, StructuredExtractor, Usage, load_schema
    from pipeline.parsing import parse_many

    try:
        schema = load_schema(args.schema)
        options = ExtractionOptions(max_attempts=args.max_attempts, max_context_tokens=args.max_context_tokens,
                                    max_validation_reasks=validation_reasks(args))
    except (ConfigurationError, ValueError) as exc:
        print(f"ragline extract: error: {exc}", file=sys.stderr)
        return 2
    inputs, parse_options, missing = collect_inputs(args)
    if not inputs and not missing:
        print("ragline extract: no matching documents found", file=sys.stderr)
        return 2

    out: IO[str] = open_output(Path(args.output)) if args.output else sys.stdout
    counts: collections.Counter[str] = collections.Counter()
    usage = Usage()
    t0 = time.perf_counter()

    def emit(record: dict[str, Any]) -> None:
        nonlocal usage
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
        counts[record["status"]] += 1
        if record.get("usage"):
            usage = usage + Usage(**record["usage"])

    try:
        for m in missing:
            emit(_failure_record(m["source"], [m]))
        if not inputs:
            return 1
        try:
            with llm_client(args) as client:
                extractor = StructuredExtractor(schema, client, options)
                workers = max(1, client.max_concurrency)
                with ThreadPoolExecutor(max_workers=workers) as pool, \
                        progress(len(inputs), "extract", args.quiet) as bar:
                    pending: collections.deque[Future[dict[str, Any]]] = collections.deque()
                    for result in parse_many(inputs, parse_options):
                        if result.status is ParseStatus.FAILURE or result.document is None:
                            fut: Future[dict[str, Any]] = Future()
                            fut.set_result(_failure_record(result.source, result.errors))
                        else:
                            fut = pool.submit(_extract_one, extractor, result.document)
                        pending.append(fut)
                        # Keep output in input order, with a bounded number of documents in memory.
                        while pending and (pending[0].done() or len(pending) > 2 * workers):
                            emit(pending.popleft().result())
                            bar.update(1)
                    while pending:
                        emit(pending.popleft().result())
                        bar.update(1)
        except ConfigurationError as exc:  # includes MissingDependencyError
            print(f"ragline extract: error: {exc}", file=sys.stderr)
            return 2
        except LLMError as exc:
            print(f"ragline extract: LLM error: {exc}", file=sys.stderr)
            return 1
    finally:
        if out is not sys.stdout:
            out.close()
    if not args.quiet:
        n = sum(counts.values())
        print(
            f"extracted {n} document(s) in {time.perf_counter() - t0:.1f}s: "
            + ", ".join(f"{k} {counts[k]}" for k in ("success", "partial", "failure") if counts[k])
            + f"; tokens {usage.prompt_tokens} in / {usage.completion_tokens} out",
            file=sys.stderr,
        )
    return 1 if counts["failure"] else 0
