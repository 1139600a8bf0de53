"""``ragline extract``: typed fields with evidence from documents, one JSON line per document.

With ``-o FILE`` the run is resumable (``pipeline/batch``): each record is appended, flushed and fsynced
as soon as its document is finished, and a journal beside the output (``FILE.journal``) keys it by the
document's content hash and the run key (schema, prompts, model, options). Rerunning the same command
after a crash, a Ctrl-C or a SIGKILL skips what is finished and appends the rest; ``--retry-failed``
redoes failures, ``--force`` starts over. A CSV of the flattened fields is written beside the JSONL.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.cli._common import add_input_options, collect_inputs
from pipeline.cli._errors import OutputError, UsageError
from pipeline.cli._llm import (
    VALIDATION_REASKS_HELP,
    add_llm_options,
    llm_concurrency,
    llm_settings,
    open_cli_llm,
)
from pipeline.cli._progress import DocProgress

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pipeline.batch import JournalEntry, Plan, ResumableOutput, StreamOutput, WorkItem
    from pipeline.extraction import ExtractionOptions, ExtractionRecord
    from pipeline.llm import LLMSettings
    from pipeline.parsing import ParseOptions


@dataclasses.dataclass(frozen=True)
class _Setup:
    """What the options resolve to before anything runs."""

    schema: type[BaseModel]
    settings: LLMSettings
    options: ExtractionOptions
    parse_options: ParseOptions


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
            "evidence, errors, usage. With -o FILE the run can be resumed: rerun the same command after a crash, "
            "Ctrl-C or kill and finished documents are skipped. Exit status: 0 all extracted, 1 some failed, "
            "2 usage error, 130 interrupted."
        ),
        epilog=(
            "examples:\n"
            "  ragline extract invoice.pdf --schema pipeline.extraction:Invoice\n"
            "  ragline extract invoices/ --schema my_schemas.py:PurchaseOrder -o out.jsonl   # + out.csv\n"
            "  ragline extract invoices/ --schema my_schemas.py:PurchaseOrder -o out.jsonl --retry-failed\n"
            "  ragline extract a.pdf --schema fields.json   # {\"properties\": {\"total\": {\"type\": \"number\"}}}\n"
            "  RAGLINE_LLM_BASE_URL=https://api.openai.com/v1 RAGLINE_LLM_MODEL=gpt-4o-mini \\\n"
            "    RAGLINE_LLM_API_KEY=... ragline extract docs/ --schema pipeline.extraction:Invoice -o out.jsonl \\\n"
            "    --price-in 0.15 --price-out 0.60"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (walked recursively)")
    p.add_argument("--schema", required=True, metavar="SPEC",
                   help="module:Model, path/to/file.py:Model or schema.json")
    _add_run_options(p)
    p.add_argument("--max-attempts", type=int, default=3, metavar="N", help="LLM calls per document incl. re-asks (default 3)")
    p.add_argument("--validation-reasks", type=int, default=None, metavar="N", help=VALIDATION_REASKS_HELP)
    p.add_argument("--strategy", choices=("candidates", "free"), default="candidates",
                   help="candidates (default): typed fields are chosen among the document's own amounts, dates and "
                   "identifiers, ranked by labels, position and arithmetic; the model only picks among the few best "
                   "ids where rules cannot decide; free: the model writes every value and quote (docs/llm.md)")
    p.add_argument("--max-context-tokens", type=int, default=2400, metavar="N",
                   help="document tokens shown to the model; longer documents are cut to the most relevant passages")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local (default): parse here, model calls from worker threads; ray: parse and extract on "
                   "Ray tasks (model calls from the workers to the endpoint, at most --concurrency in flight; "
                   "without an endpoint the embedded model is started here for them), records written here")
    p.add_argument("--ray-address", metavar="ADDR", help="--engine ray: an existing cluster (default: a local Ray)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress or summary on stderr")
    add_input_options(p)
    add_llm_options(p)
    p.set_defaults(func=run)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output and resuming")
    g.add_argument("-o", "--output", metavar="FILE.jsonl",
                   help="output file (default stdout); a rerun skips the documents it already holds (FILE.journal)")
    g.add_argument("--retry-failed", action="store_true", help="with -o: extract again the documents that failed")
    g.add_argument("--force", action="store_true", help="with -o: start over, forgetting what the output holds")
    g.add_argument("--csv", metavar="FILE.csv",
                   help="also write the flattened fields as CSV (default with -o: FILE.csv beside it)")
    g.add_argument("--no-csv", action="store_true", help="no CSV beside the -o output")
    g.add_argument("--html", metavar="FILE.html",
                   help="also write an HTML evidence report: each field boxed on its page, unsupported values marked")
    g.add_argument("--price-in", type=float, default=None, metavar="USD",
                   help="price per million prompt tokens: the summary shows the cost")
    g.add_argument("--price-out", type=float, default=None, metavar="USD", help="price per million completion tokens")


class _Tally:
    """Counts and tokens of the records written in this run (thread-safe)."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.calls_failed = 0  # records whose model calls failed (exit 1, redone on the next run)
        self.values = 0
        self.empty: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def add(self, record: ExtractionRecord) -> None:
        with self._lock:
            self.counts[record.status.value] += 1
            self.prompt_tokens += record.usage.prompt_tokens
            self.completion_tokens += record.usage.completion_tokens
            self.calls_failed += record.calls_failed
            for ev in record.evidence.values():
                if ev.value is not None:
                    self.values += 1
                else:
                    self.empty[_empty_reason(ev.note or "")] += 1


def _empty_reason(note: str) -> str:
    """Why a field is empty, in a few words (its evidence note says it in full)."""
    if note.startswith("not extracted: the model call failed"):
        return "model call failed"
    if "breaks the schema" in note or note.startswith("set to null") or note.startswith("left out"):
        return "broke a schema rule"
    if note.startswith("rejected"):
        return "value not supported by the document"
    return "not found"


def _statuses(counts: collections.Counter[str]) -> str:
    return ", ".join(f"{k} {counts[k]}" for k in ("success", "partial", "failure") if counts[k])


def _cost(args: argparse.Namespace, prompt_tokens: int, completion_tokens: int) -> str:
    if args.price_in is None and args.price_out is None:
        return ""
    usd = prompt_tokens / 1e6 * (args.price_in or 0.0) + completion_tokens / 1e6 * (args.price_out or 0.0)
    return f"; cost ${usd:.4f}"


def _check_run_options(args: argparse.Namespace) -> Path | None:
    """Option combinations that make no sense; the CSV path (None: no CSV)."""
    if not args.output and (args.retry_failed or args.force):
        raise UsageError("--retry-failed and --force need -o FILE (stdout cannot be resumed)")
    for name in ("price_in", "price_out"):
        if (getattr(args, name) or 0) < 0:
            raise UsageError(f"--{name.replace('_', '-')} must not be negative")
    if args.csv:
        csv_path = Path(args.csv)
    elif args.output and not args.no_csv:
        csv_path = Path(args.output).with_suffix(".csv")
    else:
        return None
    if args.output and csv_path.resolve() == Path(args.output).resolve():
        raise UsageError(f"the CSV would overwrite the JSONL output {args.output}; name another with --csv FILE")
    return csv_path


def _extraction_options(args: argparse.Namespace, settings: LLMSettings) -> ExtractionOptions:
    from pydantic import ValidationError

    from pipeline.extraction import ExtractionOptions

    try:
        return ExtractionOptions(max_attempts=args.max_attempts, max_context_tokens=args.max_context_tokens,
                                 max_validation_reasks=settings.validation_reasks(args.validation_reasks),
                                 strategy=args.strategy)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"invalid extraction options: {problems}") from exc


def _open_output(args: argparse.Namespace, keep_records: bool) -> ResumableOutput | StreamOutput:
    from pipeline.batch import ResumableOutput, StreamOutput

    if not args.output:
        return StreamOutput(sys.stdout, keep_records=keep_records)
    path = Path(args.output)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder (-o names the JSONL file)")
    try:
        return ResumableOutput(path, force=args.force)
    except (FileExistsError, NotADirectoryError) as exc:
        raise OutputError(f"cannot write {path}: a file is in the way of its folder {path.parent}") from exc
    except OSError as exc:
        raise OutputError.of(exc, path) from exc


def _plan(output: ResumableOutput | StreamOutput, items: list[WorkItem], run_key: str,
          args: argparse.Namespace) -> Plan:
    from pipeline.batch import Plan, ResumableOutput

    if not isinstance(output, ResumableOutput):
        return Plan(todo=items, skipped=[])
    plan = output.plan(items, run_key, retry_failed=args.retry_failed)
    if plan.started_over and plan.dropped_lines and not (args.quiet or args.force):
        print(f"ragline extract: {args.output} has no journal of a previous run: written anew", file=sys.stderr)
    elif not args.quiet and (plan.skipped or plan.redone or plan.dropped_lines):
        notes = [f"{len(plan.skipped)} document(s) already done, skipped"] if plan.skipped else []
        if plan.redone:
            notes.append(f"{plan.redone} to redo (failed, or file/schema/model/options changed)")
        if plan.dropped_lines:
            notes.append(f"{plan.dropped_lines} unfinished or unjournaled line(s) dropped from {args.output}")
        print(f"ragline extract: resuming {args.output}: " + "; ".join(notes), file=sys.stderr)
    return plan


def _extract(args: argparse.Namespace, setup: _Setup, plan: Plan, output: ResumableOutput | StreamOutput,
             tally: _Tally, progress: DocProgress) -> None:
    """Write the records of ``plan.todo``; the LLM is started only when some document can be read."""
    from pipeline.batch import BatchExtraction
    from pipeline.compose import Pipeline
    from pipeline.config import RaglineConfig

    def on_record(item: WorkItem, record: ExtractionRecord) -> None:
        tally.add(record)
        progress.update(item.path, record.status.value, record.seconds)

    readable = [i for i in plan.todo if i.error is None]
    unreadable = [i for i in plan.todo if i.error is not None]
    BatchExtraction(None, None, output, on_record=on_record).write_unreadable(unreadable)
    if not readable:
        return
    settings = setup.settings
    if args.engine == "ray":
        from pipeline.batch import RayExtraction, absolute_schema_spec

        progress.start()
        RayExtraction(absolute_schema_spec(args.schema), setup.options, setup.parse_options, settings, output,
                      address=args.ray_address, in_flight=llm_concurrency(settings),
                      on_record=on_record).run(readable)
        return
    # The LLM starts at the first document that needs a model call: rules and e-invoice XML often settle
    # every field, and then no model is loaded at all.
    rag = Pipeline(RaglineConfig(llm=settings, parse=setup.parse_options, extraction=setup.options),
                   llm_opener=lambda: open_cli_llm(settings, command="extract", quiet=args.quiet))
    with rag.extractor(setup.schema) as extractor:
        progress.start()
        BatchExtraction(extractor, setup.parse_options, output, workers=llm_concurrency(settings),
                        on_record=on_record).run(readable)


def _summary(args: argparse.Namespace, tally: _Tally, seconds: float, held: list[JournalEntry] | None,
             csv_rows: int | None, csv_path: Path | None) -> str:
    n = sum(tally.counts.values())
    text = (f"extracted {n} document(s) in {seconds:.1f}s: {_statuses(tally.counts) or 'none to do'}"
            f"; tokens {tally.prompt_tokens} in / {tally.completion_tokens} out"
            + _cost(args, tally.prompt_tokens, tally.completion_tokens))
    if n:
        empty = sum(tally.empty.values())
        why = ", ".join(f"{k} {v}" for k, v in tally.empty.most_common())
        text += f"\nfields: {tally.values} value(s) returned, {empty} left empty" + (f" ({why})" if why else "")
    if tally.calls_failed:
        text += (f"\n{tally.calls_failed} document(s) lost fields because model calls failed (see their errors); "
                 "they are redone when the same command runs again")
    if held is not None:
        counts = collections.Counter(e.status for e in held)
        p_in, p_out = sum(e.prompt_tokens for e in held), sum(e.completion_tokens for e in held)
        text += (f"\n{args.output}: {len(held)} document(s) ({_statuses(counts)}); "
                 f"tokens {p_in} in / {p_out} out" + _cost(args, p_in, p_out))
    if csv_rows is not None and csv_path is not None:
        text += f"\nCSV: {csv_path} ({csv_rows} row(s))"
    return text


def _write_csv(output: ResumableOutput | StreamOutput, csv_path: Path | None, field_order: list[str]) -> int | None:
    from pipeline.batch import write_csv

    if csv_path is None:
        return None
    try:
        return write_csv(csv_path, output.records, field_order)
    except OSError as exc:
        raise OutputError.of(exc, csv_path) from exc


def run(args: argparse.Namespace) -> int:
    from pipeline.batch import ResumableOutput, extraction_run_key, work_items
    from pipeline.extraction import load_schema

    schema = load_schema(args.schema)  # ConfigurationError: a usage error (exit 2)
    settings = llm_settings(args)
    options = _extraction_options(args, settings)
    csv_path = _check_run_options(args)
    files, parse_options, missing = collect_inputs(args)
    if not files and not missing:
        raise UsageError("no matching documents found")
    setup = _Setup(schema, settings, options, parse_options)
    items = work_items(files, missing)
    run_key, description = extraction_run_key(schema, options, settings, parse_options.fingerprint())
    tally = _Tally()
    t0 = time.perf_counter()
    output = _open_output(args, keep_records=csv_path is not None or bool(args.html))
    try:
        if isinstance(output, ResumableOutput):
            output.journal.note_run(run_key, description)
        plan = _plan(output, items, run_key, args)
        progress = DocProgress(len(plan.todo) + len(plan.skipped), len(plan.skipped), quiet=args.quiet)
        try:
            _extract(args, setup, plan, output, tally, progress)
        except KeyboardInterrupt:
            if not args.quiet:
                where = f"kept in {args.output}; rerun the same command to resume" if args.output else "written"
                print(f"\nragline extract: interrupted; {sum(tally.counts.values())} document(s) finished "
                      f"in this run are {where}", file=sys.stderr)
            raise
        finally:
            progress.close()
            csv_rows = _write_csv(output, csv_path, list(schema.model_fields))
        held = output.entries() if isinstance(output, ResumableOutput) else None
        if args.html:
            from pipeline.report import write_extraction_report

            written = write_extraction_report(list(output.records()), args.html)
            if not args.quiet:
                print(f"ragline extract: evidence report written to {written}", file=sys.stderr)
    finally:
        output.close()
    if not args.quiet:
        print(_summary(args, tally, time.perf_counter() - t0, held, csv_rows, csv_path), file=sys.stderr)
    failed = any(e.status == "failure" or e.retry for e in held) if held is not None else (
        tally.counts["failure"] > 0 or tally.calls_failed > 0)
    return 1 if failed else 0
