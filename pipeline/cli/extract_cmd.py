"""``ragline extract``: typed fields with evidence from documents, one JSON line per document."""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ._common import add_input_options, collect_inputs, open_output, progress
from ._llm import VALIDATION_REASKS_HELP, add_llm_options, llm_settings

if TYPE_CHECKING:
    from pipeline.document import Document, ErrorRecord
    from pipeline.llm import StructuredExtractor, Usage
    from pipeline.parsing import ParseOptions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "extract",
        help="extract typed fields (with verbatim evidence) from documents using an LLM",
        description=(
            "Extract the fields of a pydantic model (or flat JSON schema) from each document. By default "
            "(--strategy candidates) amounts, dates and identifiers are chosen among the values the document "
            "prints, ranked by their labels, position and arithmetic, and the model only picks among the few best "
            "where rules cannot decide; with --strategy free the model returns every value and a verbatim quote. "
            "Either way ragline checks each quote against the document, locates it (page, bbox) and parses "
            "amounts/dates/percentages itself. One JSON line per "
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
    p.add_argument("--strategy", choices=("candidates", "free"), default="candidates",
                   help="candidates (default): typed fields are chosen among the document's own amounts, dates and "
                   "identifiers, ranked by labels, position and arithmetic; the model only picks among the few best "
                   "ids where rules cannot decide; free: the model writes every value and quote (docs/llm.md)")
    p.add_argument("--max-context-tokens", type=int, default=2400, metavar="N",
                   help="document tokens shown to the model; longer documents are cut to the most relevant passages")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress or summary on stderr")
    add_input_options(p)
    add_llm_options(p)
    p.set_defaults(func=run)


Record = dict[str, Any]


def _failure_record(source: str, errors: list[ErrorRecord]) -> Record:
    """The JSON line of a document that never reached the LLM (missing, unreadable, unparseable)."""
    return {"source": source, "status": "failure", "data": None, "evidence": {},
            "errors": [e.model_dump(mode="json") for e in errors],
            "usage": None, "attempts": 0, "seconds": 0.0, "model": ""}


def _extract_one(extractor: StructuredExtractor, document: Document) -> Record:
    return extractor.run(document, raise_on_failure=False).to_record()


class _RecordWriter:
    """Writes JSON lines and keeps the counts and token usage for the summary."""

    def __init__(self, out: IO[str]) -> None:
        from pipeline.llm import Usage

        self.out = out
        self.counts: collections.Counter[str] = collections.Counter()
        self.usage: Usage = Usage()

    def write(self, record: Record) -> None:
        from pipeline.llm import Usage

        self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.out.flush()
        self.counts[record["status"]] += 1
        if record.get("usage"):
            self.usage = self.usage + Usage(**record["usage"])

    def summary(self, seconds: float) -> str:
        n = sum(self.counts.values())
        return (
            f"extracted {n} document(s) in {seconds:.1f}s: "
            + ", ".join(f"{k} {self.counts[k]}" for k in ("success", "partial", "failure") if self.counts[k])
            + f"; tokens {self.usage.prompt_tokens} in / {self.usage.completion_tokens} out"
        )


def _extract_all(extractor: StructuredExtractor, inputs: list[Path], parse_options: ParseOptions,
                 writer: _RecordWriter, workers: int, quiet: bool) -> None:
    """Parse and extract ``inputs`` on ``workers`` threads, writing the records in input order."""
    from pipeline.document import ParseStatus
    from pipeline.parsing import parse_many

    with ThreadPoolExecutor(max_workers=workers) as pool, progress(len(inputs), "extract", quiet) as bar:
        pending: collections.deque[Future[Record]] = collections.deque()
        for result in parse_many(inputs, parse_options):
            if result.status is ParseStatus.FAILURE or result.document is None:
                fut: Future[Record] = Future()
                fut.set_result(_failure_record(result.source, result.errors))
            else:
                fut = pool.submit(_extract_one, extractor, result.document)
            pending.append(fut)
            # Keep output in input order, with a bounded number of documents in memory.
            while pending and (pending[0].done() or len(pending) > 2 * workers):
                writer.write(pending.popleft().result())
                bar.update(1)
        while pending:
            writer.write(pending.popleft().result())
            bar.update(1)


def run(args: argparse.Namespace) -> int:
    from pipeline.exceptions import ConfigurationError, LLMError
    from pipeline.llm import ExtractionOptions, StructuredExtractor, load_schema, open_llm

    try:
        schema = load_schema(args.schema)
        settings = llm_settings(args)
        options = ExtractionOptions(max_attempts=args.max_attempts, max_context_tokens=args.max_context_tokens,
                                    max_validation_reasks=settings.validation_reasks(args.validation_reasks),
                                    strategy=args.strategy)
    except (ConfigurationError, ValueError) as exc:
        print(f"ragline extract: error: {exc}", file=sys.stderr)
        return 2
    inputs, parse_options, missing = collect_inputs(args)
    if not inputs and not missing:
        print("ragline extract: no matching documents found", file=sys.stderr)
        return 2
    out: IO[str] = open_output(Path(args.output)) if args.output else sys.stdout
    writer = _RecordWriter(out)
    t0 = time.perf_counter()
    try:
        for record in missing:
            writer.write(_failure_record(record.source or "", [record]))
        if not inputs:
            return 1
        with open_llm(settings) as client:
            extractor = StructuredExtractor(schema, client, options)
            _extract_all(extractor, inputs, parse_options, writer, max(1, client.max_concurrency), args.quiet)
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
        print(writer.summary(time.perf_counter() - t0), file=sys.stderr)
    return 1 if writer.counts["failure"] else 0
