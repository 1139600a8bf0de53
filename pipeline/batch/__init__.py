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
* ``_csv.py``: the records as a CSV table of the flattened fields.

``ragline extract -o out.jsonl`` is built on these (``pipeline/cli/extract_cmd.py``).
"""

from __future__ import annotations

from ._csv import write_csv
from ._journal import JournalEntry, JournalError, OutputLockedError, RunJournal
from ._keys import extraction_run_key, file_sha256, model_identity, work_items
from ._output import Plan, ResumableOutput, StreamOutput, WorkItem
from ._run import BatchExtraction, failure_record

__all__ = [
    "BatchExtraction",
    "JournalEntry",
    "JournalError",
    "OutputLockedError",
    "Plan",
    "ResumableOutput",
    "RunJournal",
    "StreamOutput",
    "WorkItem",
    "extraction_run_key",
    "failure_record",
    "file_sha256",
    "model_identity",
    "work_items",
    "write_csv",
]
