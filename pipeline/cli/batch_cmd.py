"""``ragline batch``: extraction through a provider's Batch API (OpenAI's JSONL format), or run-local offline.

    ragline batch prepare docs/ --schema pipeline.extraction:Invoice -o job/   # job/requests.jsonl + manifest.json
    ragline batch submit job/        # upload (/v1/files), create (/v1/batches); records the batch id
    ragline batch status job/        # the batch's status and request counts
    ragline batch collect job/ -o out.jsonl   # records (+ out.csv); invalid replies -> round 2's requests
    ragline batch run-local job/     # instead of submit: the requests here, answered in the provider's format

The folder's files: docs/batch.md and ``pipeline/batch/_requests_manifest.py``.
"""

from __future__ import annotations

import argparse
import collections
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.cli._common import add_input_options, collect_inputs
from pipeline.cli._errors import OutputError, UsageError
from pipeline.cli._llm import VALIDATION_REASKS_HELP, add_llm_options, llm_settings, open_cli_llm

if TYPE_CHECKING:
    from pipeline.batch import JobRound, Manifest

_DESCRIPTION = (
    "Run `ragline extract` through a provider's Batch API (the OpenAI JSONL format that hosted providers and "
    "`vllm run-batch` accept; often half the price), or through `run-local` with no network. `prepare` parses "
    "the documents and writes, per document, exactly the chat requests `extract` would send; fields the rules "
    "settle are decided there and not sent. `submit` uploads them and creates the batch, `status` reports it, "
    "`collect` downloads the output, validates every reply against the schema, verifies the evidence as "
    "`extract` does, writes the same records (JSONL + CSV) and, for replies that do not validate, a next round "
    "that re-asks with the validation errors: `submit` (or `run-local`) and `collect` it again. After the last "
    "round an invalid reply is a failure record. Exit status: 0 done, 1 documents failed or a round is still "
    "to run, 2 usage error, 130 interrupted. Details: docs/batch.md."
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="extract through a provider's Batch API (prepare, submit, status, collect, "
                       "run-local)", description=textwrap.fill(_DESCRIPTION, 100), formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n" + "\n".join(__doc__.splitlines()[2:7]))
    steps = p.add_subparsers(dest="batch_command", metavar="STEP")
    _register_prepare(steps)
    job = "the job folder written by `ragline batch prepare`"
    s = steps.add_parser("submit", help="upload the current round's requests and create its batch",
                         description="Upload DIR's current round (POST /v1/files, purpose=batch) and create the batch "
                         "(POST /v1/batches, completion_window 24h) at --llm-url / $RAGLINE_LLM_BASE_URL, key in "
                         "$RAGLINE_LLM_API_KEY. The ids are recorded in DIR/manifest.json.")
    s.add_argument("dir", metavar="DIR", help=job)
    s.set_defaults(func=run_submit)
    s = steps.add_parser("status", help="the current round's batch status and request counts",
                         description="Print each round of DIR: its batch, status and request counts (the provider "
                         "is asked about a running batch).")
    s.add_argument("dir", metavar="DIR", help=job)
    s.set_defaults(func=run_status)
    s = steps.add_parser("collect", help="download the output, validate, write records; re-ask invalid replies",
                         description="Download the finished round's output and error files, validate every reply "
                         "against the schema, verify its evidence, and write the records of finished documents to "
                         "-o (appended: a document already there is not written again) and a CSV beside it. "
                         "Replies that do not validate are re-asked in the next round (requests-<n>.jsonl).")
    s.add_argument("dir", metavar="DIR", help=job)
    s.add_argument("-o", "--output", required=True, metavar="FILE.jsonl", help="the records, as `ragline extract -o`")
    s.add_argument("--csv", metavar="FILE.csv", help="the CSV (default: FILE.csv beside the JSONL)")
    s.add_argument("--no-csv", action="store_true", help="no CSV")
    s.set_defaults(func=run_collect)
    s = steps.add_parser("run-local", help="answer the current round here (endpoint or embedded model)",
                         description="Send DIR's current round to --llm-url, or to the embedded model when none is "
                         "set (no network), with the client's concurrency limit, and write the answers in the "
                         "provider's output format (output-<n>.jsonl, errors-<n>.jsonl) so that `collect` reads "
                         "them unchanged. A stopped run resumes: answered requests are not sent again.")
    s.add_argument("dir", metavar="DIR", help=job)
    s.set_defaults(func=run_local)
    for step in steps.choices.values():
        step.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")
        add_llm_options(step)  # the endpoint and its key (submit, status, collect); the model (prepare, run-local)
    p.set_defaults(func=lambda args: _no_step(p))


def _no_step(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def _register_prepare(steps: argparse._SubParsersAction) -> None:
    s = steps.add_parser("prepare", help="parse documents and write the requests extract would send",
                         description="Parse PATHS and write DIR: requests.jsonl (one Batch API line per model request "
                         "`extract` would make, custom_id from the document's content hash, the schema, the prompts "
                         "and the model), manifest.json (which document and fields each custom_id is for, the fields "
                         "rules settled) and documents/ (the parsed documents, which collect verifies evidence on). "
                         "The body is written for the endpoint configured now (--llm-url, --llm-model, "
                         "--structured-mode; auto = json_schema), as `extract` would send it.")
    s.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (walked recursively)")
    s.add_argument("--schema", required=True, metavar="SPEC", help="module:Model, path/to/file.py:Model or schema.json")
    s.add_argument("-o", "--output", required=True, metavar="DIR", help="the job folder (new, or empty)")
    s.add_argument("--strategy", choices=("candidates", "free"), default="candidates",
                   help="as `ragline extract --strategy` (default candidates)")
    s.add_argument("--max-attempts", type=int, default=3, metavar="N",
                   help="model requests per ask incl. re-asks, i.e. rounds a re-ask may take (default 3)")
    s.add_argument("--validation-reasks", type=int, default=None, metavar="N", help=VALIDATION_REASKS_HELP)
    s.add_argument("--max-context-tokens", type=int, default=2400, metavar="N",
                   help="document tokens shown to the model (default 2400)")
    s.add_argument("--max-rounds", type=int, default=5, metavar="N",
                   help="batches a job may take, re-asks and lines the provider did not answer (expired, 429, "
                   "5xx) included; after the last, what is still open is a failure record (default 5)")
    add_input_options(s)
    s.set_defaults(func=run_prepare)


# -- prepare ---------------------------------------------------------------------------------------


def run_prepare(args: argparse.Namespace) -> int:
    from pipeline.batch import absolute_schema_spec, prepare_job, work_items
    from pipeline.cli.extract_cmd import _extraction_options
    from pipeline.extraction import ExtractionStatus, load_schema

    if args.max_rounds < 1:
        raise UsageError("--max-rounds must be at least 1")
    schema = load_schema(args.schema)
    settings = llm_settings(args)
    options = _extraction_options(args, settings)
    files, parse_options, missing = collect_inputs(args)
    if not files and not missing:
        raise UsageError("no matching documents found")
    folder = _job_folder(args.output, create=True)
    seen = [0]

    def on_document(source: str) -> None:
        seen[0] += 1
        if not args.quiet:
            print(f"ragline batch prepare: [{seen[0]}/{len(files)}] {source}", file=sys.stderr, flush=True)

    job = prepare_job(folder, work_items(files, missing), schema_spec=absolute_schema_spec(args.schema),
                      schema=schema, options=options, settings=settings, parse_options=parse_options,
                      max_rounds=args.max_rounds, on_document=on_document)
    failed = sum(1 for _, r in job.finished if r.status is ExtractionStatus.FAILURE)
    if not args.quiet:
        after = (f"ragline batch submit {folder}   (or offline: ragline batch run-local {folder})" if job.requests
                 else f"ragline batch collect {folder} -o out.jsonl   (nothing to ask the model)")
        print(f"{folder}: {len(files) + len(missing)} document(s); {job.requests} request(s) in "
              f"{folder / 'requests.jsonl'} for {job.pending_documents}; {len(job.finished) - failed} settled "
              f"without a model; {failed} unreadable\nnext: {after}", file=sys.stderr)
    return 1 if failed else 0


def _job_folder(name: str, *, create: bool = False) -> Path:
    folder = Path(name)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"cannot use {folder}: it is a file, not a folder")
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError.of(exc, folder) from exc
    return folder


def _manifest(args: argparse.Namespace) -> tuple[Path, Manifest]:
    from pipeline.batch import load_manifest

    folder = _job_folder(args.dir)
    return folder, load_manifest(folder)


# -- submit / status -------------------------------------------------------------------------------


def run_submit(args: argparse.Namespace) -> int:
    from pipeline.batch import BatchProvider, submit_round

    folder, manifest = _manifest(args)
    with BatchProvider.from_settings(llm_settings(args), command="submit") as provider:
        entry = submit_round(folder, manifest, provider)
    print(f"round {entry.round}: batch {entry.batch_id} {entry.status} ({entry.count} request(s), "
          f"input file {entry.input_file_id})")
    if not args.quiet:
        print(f"next: ragline batch status {folder}; when it is completed: ragline batch collect {folder} "
              "-o out.jsonl", file=sys.stderr)
    return 0


def _counts(counts: dict[str, int]) -> str:
    if not counts:
        return ""
    return (f": {counts.get('completed', 0)}/{counts.get('total', 0)} completed, "
            f"{counts.get('failed', 0)} failed")


def run_status(args: argparse.Namespace) -> int:
    from pipeline.batch import BatchProvider, refresh_round

    folder, manifest = _manifest(args)
    current = manifest.current
    if current.batch_id and not current.collected and current.output is None:
        with BatchProvider.from_settings(llm_settings(args), command="status") as provider:
            refresh_round(folder, manifest, provider, download=False)
    for r in manifest.rounds:
        how = (f"batch {r.batch_id} {r.status}" if r.batch_id else "run here: completed" if r.local
               else "no requests" if r.count == 0 else "not submitted")
        print(f"round {r.round}: {r.count} request(s), {how}{_counts(r.request_counts)}"
              + (", collected" if r.collected else ""))
    return 0


# -- run-local -------------------------------------------------------------------------------------


def run_local(args: argparse.Namespace) -> int:
    from pipeline.batch import run_local_round
    from pipeline.llm import AsyncLLMClient

    folder, manifest = _manifest(args)
    settings = llm_settings(args)
    entry = manifest.current
    answered = [0]

    def on_answer(custom_id: str, ok: bool) -> None:
        answered[0] += 1
        if not args.quiet:
            print(f"ragline batch run-local: [{answered[0]}/{entry.count}] {custom_id}: "
                  f"{'answered' if ok else 'failed'}", file=sys.stderr, flush=True)

    with open_cli_llm(settings, command="batch run-local", quiet=args.quiet) as client:
        key = settings.api_key.get_secret_value() if settings.api_key else None

        def make_client() -> AsyncLLMClient:  # the live client's endpoint, timeout, retries and concurrency
            return AsyncLLMClient(client.base_url, model=client.model, api_key=key, timeout=client.timeout,
                                  retry=client.retry, max_concurrency=client.max_concurrency)

        ok, failed, before = run_local_round(folder, manifest, make_client, on_answer)
    print(f"round {entry.round}: {ok} answered, {failed} failed"
          + (f", {before} answered by an earlier run" if before else "") + f" -> {folder / (entry.output or '')}")
    if not args.quiet:
        print(f"next: ragline batch collect {folder} -o out.jsonl", file=sys.stderr)
    return 0


# -- collect ---------------------------------------------------------------------------------------


def run_collect(args: argparse.Namespace) -> int:
    from pipeline.batch import BatchProvider, BatchStateError, collect_job, is_answered, refresh_round
    from pipeline.extraction import load_schema

    folder, manifest = _manifest(args)
    csv_path = _csv_path(args)
    current = manifest.current
    if current.batch_id and not is_answered(current):
        with BatchProvider.from_settings(llm_settings(args), command="collect") as provider:
            batch = refresh_round(folder, manifest, provider, download=True)
        if batch is not None and not batch.finished:
            raise BatchStateError(f"round {current.round}: batch {batch.id} is {batch.status}"
                                  f"{_counts(batch.request_counts)}; collect again when it has finished",
                                  stage="batch")
        if batch is not None and batch.status != "completed" and not args.quiet:
            print(f"ragline batch collect: round {current.round}: batch {batch.id} ended {batch.status}"
                  + (f" ({batch.errors})" if batch.errors else "")
                  + "; requests it did not answer go into the next round", file=sys.stderr)
    schema = load_schema(manifest.schema_spec)
    job = collect_job(folder, manifest, schema)
    held = _write_records(args, job, csv_path, manifest, list(schema.model_fields))
    if not args.quiet:
        print(_collect_summary(args, folder, job, held), file=sys.stderr)
    return 1 if job.next_round is not None or held["failure"] else 0


def _csv_path(args: argparse.Namespace) -> Path | None:
    if args.no_csv:
        return None
    csv_path = Path(args.csv) if args.csv else Path(args.output).with_suffix(".csv")
    if csv_path.resolve() == Path(args.output).resolve():
        raise UsageError(f"the CSV would overwrite the JSONL output {args.output}; name another with --csv FILE")
    return csv_path


def _write_records(args: argparse.Namespace, job: JobRound, csv_path: Path | None, manifest: Manifest,
                   field_order: list[str]) -> collections.Counter[str]:
    """Append the records not yet in the output (its journal knows them); the statuses the output holds."""
    from pipeline.batch import ResumableOutput, write_csv

    path = Path(args.output)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder (-o names the JSONL file)")
    try:
        with ResumableOutput(path) as out:
            out.journal.note_run(manifest.run_key, manifest.run)
            plan = out.plan([item for item, _ in job.finished], manifest.run_key)
            todo = {item.doc_id for item in plan.todo}
            for item, record in job.finished:
                if item.doc_id in todo:
                    out.write(item, record)
            if csv_path is not None:
                write_csv(csv_path, out.records, field_order)
            return collections.Counter(e.status for e in out.entries())
    except OSError as exc:
        raise OutputError.of(exc, path) from exc


def _collect_summary(args: argparse.Namespace, folder: Path, job: JobRound, held: collections.Counter[str]) -> str:
    statuses = ", ".join(f"{k} {held[k]}" for k in ("success", "partial", "failure") if held[k])
    text = f"{args.output}: {sum(held.values())} document(s) ({statuses or 'none yet'})"
    if job.next_round is not None:
        text += (f"\nround {job.next_round}: {job.requests} request(s) for {job.pending_documents} document(s) "
                 f"(re-asks with their validation errors, or lines to send again) in "
                 f"{folder / f'requests-{job.next_round}.jsonl'}\nnext: ragline batch submit {folder} "
                 f"(or run-local), then collect again")
    return text


__all__ = ["register"]
