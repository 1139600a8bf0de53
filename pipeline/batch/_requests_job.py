"""A Batch API job in its folder: ``prepare`` writes round 1, ``collect`` turns answered rounds into records
and writes the next round for what is left (re-asks with their validation errors, lines to send again).

The folder's files are described in ``_requests_manifest.py``; the requests and the replay in ``_requests.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.batch._keys import _schema_description, extraction_run_key, file_sha256
from pipeline.batch._output import WorkItem
from pipeline.batch._requests import DocumentState, OutputLines, Replay, body_form_for, request_line
from pipeline.batch._requests_manifest import (
    BatchStateError,
    DocEntry,
    Manifest,
    RequestRef,
    RoundEntry,
    read_jsonl,
    requests_name,
    save_manifest,
    write_atomic,
)
from pipeline.document import Document, ErrorRecord
from pipeline.extraction import ExtractionRecord

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pipeline.extraction import ExtractionOptions
    from pipeline.llm import LLMSettings
    from pipeline.parsing import ParseOptions

OnDocument = Callable[[str], None]


@dataclass
class JobRound:
    """What prepare or collect left: the records of finished documents and the round they left to run."""

    finished: list[tuple[WorkItem, ExtractionRecord]] = field(default_factory=list)
    pending_documents: int = 0
    next_round: int | None = None
    requests: int = 0


def schema_sha(schema: type[BaseModel]) -> str:
    return hashlib.sha256(json.dumps(_schema_description(schema), sort_keys=True).encode()).hexdigest()


def absolute_schema_spec(spec: str) -> str:
    """``file.py:Model`` / ``schema.json`` with the file's absolute path, so collect finds it from anywhere."""
    target, sep, attr = spec.rpartition(":") if not spec.endswith(".json") else (spec, "", "")
    if target.endswith((".py", ".json")) and Path(target).is_file():
        return str(Path(target).resolve()) + (sep + attr if sep else "")
    return spec


def _document_file(entry: DocEntry) -> str:
    return f"documents/{entry.content_hash[:16]}-{hashlib.sha256(entry.doc_id.encode()).hexdigest()[:8]}.json"


def _item(entry: DocEntry) -> WorkItem:
    return WorkItem(path=entry.source, doc_id=entry.doc_id, content_hash=entry.content_hash)


def _take(state: DocumentState, round_no: int, lines: dict[str, dict[str, Any]],
          refs: dict[str, RequestRef], job: JobRound) -> None:
    """File one document's state: its record, or its requests for ``round_no`` (shared by identical ones)."""
    if state.record is not None:
        job.finished.append((_item(state.entry), state.record))
        return
    job.pending_documents += 1
    for req in state.next_requests:
        lines.setdefault(req.custom_id, request_line(req.custom_id, req.body))
        ref = refs.setdefault(req.custom_id, RequestRef(sources=[], part=req.ask, fields=list(req.fields),
                                                        round=round_no))
        ref.sources.append(state.entry.source)


def _write_round(folder: Path, manifest: Manifest, round_no: int, lines: dict[str, dict[str, Any]],
                 refs: dict[str, RequestRef], job: JobRound) -> None:
    name = requests_name(round_no)
    write_atomic(folder / name, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines.values()))
    manifest.requests.update(refs)
    manifest.rounds.append(RoundEntry(round=round_no, requests=name, count=len(lines)))
    job.next_round, job.requests = round_no, len(lines)


def prepare_job(folder: Path, items: list[WorkItem], *, schema_spec: str, schema: type[BaseModel],
                options: ExtractionOptions, settings: LLMSettings, parse_options: ParseOptions,
                max_rounds: int, on_document: OnDocument | None = None) -> JobRound:
    """Parse the documents, settle what rules can, and write round 1's requests and the manifest."""
    from pipeline.parsing import parse_many
    from pipeline.version import __version__

    if (folder / "manifest.json").exists():
        raise BatchStateError(f"{folder} already holds a batch job; prepare into a new folder", stage="batch")
    (folder / "documents").mkdir(parents=True, exist_ok=True)
    run_key, description = extraction_run_key(schema, options, settings, parse_options.fingerprint())
    form = body_form_for(settings)
    manifest = Manifest(ragline_version=__version__, schema_spec=schema_spec, schema_sha=schema_sha(schema),
                        run_key=run_key, run=description, options=options.model_dump(mode="json"), body_form=form,
                        max_rounds=max_rounds, documents=[])
    replay = Replay(schema, options, form, run_key, [], max_rounds=max_rounds)
    job = JobRound()
    lines: dict[str, dict[str, Any]] = {}
    refs: dict[str, RequestRef] = {}
    readable = [i for i in items if i.error is None]
    for item in items:
        if item.error is not None:
            entry = DocEntry(source=item.path, path=item.doc_id, doc_id=item.doc_id, content_hash="",
                             errors=[item.error])
            manifest.documents.append(entry)
            job.finished.append((item, ExtractionRecord.failure(item.path, entry.errors)))
    paths = [os.path.abspath(i.path) for i in readable]
    for item, path, result in zip(readable, paths, parse_many(paths, parse_options)):
        entry = DocEntry(source=item.path, path=path, doc_id=item.doc_id, content_hash=item.content_hash)
        manifest.documents.append(entry)
        if on_document is not None:
            on_document(item.path)
        if result.document is None or result.status.value == "failure":
            entry.errors = [e.model_copy(update={"source": item.path}) for e in result.errors]
            job.finished.append((item, ExtractionRecord.failure(item.path, entry.errors)))
            continue
        entry.document = _document_file(entry)
        write_atomic(folder / entry.document, result.document.model_dump_json())
        state = replay.document(entry, result.document)
        entry.decided, entry.asks = state.decided, [r.ask for r in state.next_requests]
        _take(state, 1, lines, refs, job)
    _write_round(folder, manifest, 1, lines, refs, job)
    save_manifest(folder, manifest)
    return job


def answered_lines(folder: Path, entry: RoundEntry) -> OutputLines:
    """A round's replies by custom_id: the error file's lines, then the output file's over them."""
    lines: OutputLines = {}
    for name in (entry.errors, entry.output):
        if name:
            lines.update({str(x.get("custom_id")): x for x in read_jsonl(folder / name)})
    return lines


def is_answered(entry: RoundEntry) -> bool:
    return entry.count == 0 or entry.output is not None or entry.errors is not None


def _changed(entry: DocEntry) -> ErrorRecord:
    return ErrorRecord(error=BatchStateError.__name__, reason="document_changed", source=entry.source,
                       stage="batch", message="the file changed or is gone since `ragline batch prepare` "
                       "(its e-invoice attachment and evidence are read from it); prepare a new job for it")


def collect_job(folder: Path, manifest: Manifest, schema: type[BaseModel]) -> JobRound:
    """Records for the documents every answered round has finished; the next round for the others."""
    from pipeline.extraction import ExtractionOptions

    if schema_sha(schema) != manifest.schema_sha:
        raise BatchStateError(f"the schema {manifest.schema_spec} changed since prepare; prepare a new job",
                              stage="batch")
    for r in manifest.rounds:  # an output file put there by hand (``vllm run-batch -o DIR/output-<n>.jsonl``)
        if not is_answered(r) and r.batch_id is None and (folder / f"output-{r.round}.jsonl").is_file():
            r.output = f"output-{r.round}.jsonl"
    unanswered = [r.round for r in manifest.rounds if not is_answered(r)]
    if unanswered:
        raise BatchStateError(f"round {unanswered[0]} has no output yet: `ragline batch submit` it (or "
                              "`ragline batch run-local`), then collect", stage="batch")
    answered = [answered_lines(folder, r) for r in manifest.rounds]
    replay = Replay(schema, ExtractionOptions.model_validate(manifest.options),
                    manifest.body_form, manifest.run_key, answered, max_rounds=manifest.max_rounds)
    job = JobRound()
    lines: dict[str, dict[str, Any]] = {}
    refs: dict[str, RequestRef] = {}
    next_round = len(manifest.rounds) + 1
    for entry in manifest.documents:
        if entry.errors or entry.document is None:
            job.finished.append((_item(entry), ExtractionRecord.failure(entry.source, entry.errors)))
        elif file_sha256(entry.path) != entry.content_hash:
            job.finished.append((_item(entry), ExtractionRecord.failure(entry.source, [_changed(entry)])))
        else:
            document = Document.model_validate_json((folder / entry.document).read_bytes())
            _take(replay.document(entry, document), next_round, lines, refs, job)
    manifest.current.collected = True
    if lines:
        _write_round(folder, manifest, next_round, lines, refs, job)
    save_manifest(folder, manifest)
    return job


__all__ = ["JobRound", "absolute_schema_spec", "answered_lines", "collect_job", "is_answered", "prepare_job",
           "schema_sha"]
