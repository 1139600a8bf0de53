"""Resumable batch runs: extraction over many documents into a JSONL output that survives crashes.

    from pipeline.batch import BatchExtraction, ResumableOutput, extraction_run_key, work_items

    key, _ = extraction_run_key(Invoice, options, settings, parse_options.fingerprint())
    with ResumableOutput(Path("out.jsonl")) as out:
        plan = out.plan(work_items(files), key)          # finished documents are skipped
        with open_llm(settings) as client:
            BatchExtraction(StructuredExtractor(Invoice, client, options), parse_options, out).run(plan.todo)

* ``_output.py``: the output and its reconciliation with the journal (append, flush, fsync per record);
* ``_journal.py``: the SQLite journal (why SQLite: its docstring);
* ``_keys.py``: content hashes and the run key (schema, prompts, model, options);
* ``_run.py``: parse, extract on worker threads, write each record when it is done;
* ``_csv.py``: the records as a CSV table of the flattened fields;
* ``_ray.py``: the same run with parse and extraction on Ray tasks (``ragline extract --engine ray``).

``ragline extract -o out.jsonl`` is built on these (``pipeline/cli/extract_cmd.py``).

The provider Batch API mode (``ragline batch``, ``pipeline/cli/batch_cmd.py``, docs/batch.md):

* ``_requests.py``: the requests ``extract`` would send, as Batch API lines, and the replay of a job's
  output files through the live re-ask loop; ``_requests_job.py``: prepare and collect a job folder;
  ``_requests_manifest.py``: the folder's state file and layout;
* ``_provider.py``: the provider's ``/v1/files`` and ``/v1/batches``; ``_provider_job.py``: submit, status,
  download; ``_provider_local.py``: ``run-local``, a round answered here in the provider's output format.
"""

from __future__ import annotations

from pipeline.batch._csv import write_csv
from pipeline.batch._journal import JournalEntry, JournalError, OutputLockedError, RunJournal
from pipeline.batch._keys import extraction_run_key, file_sha256, model_identity, work_items
from pipeline.batch._output import Plan, ResumableOutput, StreamOutput, WorkItem
from pipeline.batch._provider import BatchInfo, BatchProvider
from pipeline.batch._provider_job import refresh_round, run_local_round, submit_round
from pipeline.batch._ray import RayExtraction
from pipeline.batch._requests import body_form_for
from pipeline.batch._requests_job import JobRound, absolute_schema_spec, collect_job, is_answered, prepare_job
from pipeline.batch._requests_manifest import BatchStateError, Manifest, load_manifest
from pipeline.batch._run import BatchExtraction, OnRecord, RecordSink
from pipeline.extraction import TRANSIENT_REASONS, ExtractionRecord

__all__ = [
    "TRANSIENT_REASONS",
    "absolute_schema_spec",
    "is_answered",
    "BatchExtraction",
    "BatchInfo",
    "BatchProvider",
    "BatchStateError",
    "ExtractionRecord",
    "RayExtraction",
    "JobRound",
    "JournalEntry",
    "JournalError",
    "Manifest",
    "OnRecord",
    "OutputLockedError",
    "Plan",
    "RecordSink",
    "ResumableOutput",
    "RunJournal",
    "StreamOutput",
    "WorkItem",
    "body_form_for",
    "collect_job",
    "extraction_run_key",
    "file_sha256",
    "load_manifest",
    "model_identity",
    "prepare_job",
    "refresh_round",
    "run_local_round",
    "submit_round",
    "work_items",
    "write_csv",
]
