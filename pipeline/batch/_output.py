"""A JSONL output that a run can be resumed on: append-only lines, each backed by a journal row.

Protocol, per finished document (:meth:`ResumableOutput.write`):

1. its journal row is committed, with the SHA-256 of the line about to be written;
2. the line is appended to the output, flushed and fsynced.

So every complete line in the output has its row. A SIGKILL between 1 and 2 leaves a row without its
line, and one during 2 leaves a torn last line; :meth:`ResumableOutput.plan`, at the start of the next
run, drops both (the document is done again) and keeps every other line. A line is recognised by its
hash, not its offset, so the output can be rewritten (to drop a failure being retried, or a document
whose file or schema changed) without the journal having to follow byte positions.

Invariant after :meth:`plan`: one line per document, each with a row, each row with its line.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Self

from pydantic import BaseModel, Field

from pipeline.batch._journal import JournalEntry, RunJournal
from pipeline.document import ErrorRecord
from pipeline.extraction import ExtractionRecord, ExtractionStatus


class WorkItem(BaseModel):
    """One input: the path as given (the record's ``source``), its identity and its content hash."""

    path: str
    doc_id: str = Field(description="resolved path: the journal's key for the document")
    content_hash: str = Field(description="SHA-256 of the file's bytes; empty when it could not be read")
    error: ErrorRecord | None = Field(default=None, description="why it cannot be processed at all (missing)")


class Plan(BaseModel):
    """What a run has to do, after reconciling the output with its journal."""

    todo: list[WorkItem]
    skipped: list[JournalEntry] = Field(description="finished before under the same key: kept, not redone")
    redone: int = Field(default=0, description="finished before, done again (file, schema or model changed; retried failure)")
    dropped_lines: int = Field(default=0, description="output lines without a journal row (a torn or unfinished write)")
    started_over: bool = Field(default=False, description="the journal held nothing, so the output was emptied")


def _sha(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def _lines(path: Path) -> Iterator[bytes]:
    """The complete lines of ``path`` without their newline; a last line without one is torn and left out."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return
    with f:
        for raw in f:
            if raw.endswith(b"\n"):
                yield raw[:-1]


def _is_due(entry: JournalEntry, item: WorkItem, run_key: str, retry_failed: bool) -> bool:
    """Whether ``item`` must be done (again) although ``entry`` says it was finished."""
    if entry.content_hash != item.content_hash or entry.run_key != run_key:
        return True
    # Failed documents are redone with --retry-failed; those whose model calls failed (``retry``, failure or
    # partial) on every rerun.
    return entry.retry or (retry_failed and entry.status == "failure")


class ResumableOutput:
    """``path`` (JSONL) with its journal ``path.journal``; one run at a time (the journal is locked).

    ``with ResumableOutput(path) as out: plan = out.plan(items, run_key); ...; out.write(item, record)``.
    ``force`` forgets everything: the output starts empty."""

    def __init__(self, path: Path, *, force: bool = False) -> None:
        self.path = path
        self.journal_path = path.with_name(path.name + ".journal")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.journal = RunJournal(self.journal_path)
        self._lock = threading.Lock()
        self._out: IO[bytes] | None = None
        self._closed = False
        self._run_key = ""
        if force:
            self.journal.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def plan(self, items: list[WorkItem], run_key: str, *, retry_failed: bool = False) -> Plan:
        """Reconcile the output with the journal, decide what ``items`` still need, open for appending."""
        self._run_key = run_key
        entries = self.journal.entries()
        present = {_sha(line) for line in _lines(self.path)} if entries else set()
        valid = {d: e for d, e in entries.items() if e.line_sha in present}
        forget = [d for d in entries if d not in valid]
        todo: list[WorkItem] = []
        skipped: list[JournalEntry] = []
        seen: set[str] = set()
        redone = 0
        for item in items:
            if item.doc_id in seen:
                continue
            seen.add(item.doc_id)
            entry = valid.get(item.doc_id)
            if entry is not None and not _is_due(entry, item, run_key, retry_failed):
                skipped.append(entry)
                continue
            todo.append(item)
            if entry is not None:
                redone += 1
                forget.append(item.doc_id)
                del valid[item.doc_id]
        self.journal.delete(forget)  # before the output loses their lines: a crash in between stays consistent
        # The lines of redone documents go too; ``dropped_lines`` counts only the others.
        dropped = self._rewrite_keeping({e.line_sha for e in valid.values()}) - redone
        self._out = self.path.open("ab")
        _fsync_dir(self.path.parent)
        return Plan(todo=todo, skipped=skipped, redone=redone, dropped_lines=dropped, started_over=not entries)

    def _rewrite_keeping(self, keep: set[str]) -> int:
        """Rewrite the output with only the lines whose hash is in ``keep`` (once each); lines dropped."""
        total = 0
        kept: set[str] = set()
        torn = False
        if self.path.exists():
            with self.path.open("rb") as f:
                for raw in f:
                    total += 1
                    torn = not raw.endswith(b"\n")
                    sha = "" if torn else _sha(raw[:-1])
                    if sha in keep:
                        kept.add(sha)
        if len(kept) == total and not torn:
            return 0  # nothing to drop (the common case: a clean previous run, or a new output)
        tmp = self.path.with_name(self.path.name + ".tmp")
        written: set[str] = set()
        with tmp.open("wb") as out:
            for line in _lines(self.path):
                sha = _sha(line)
                if sha in keep and sha not in written:
                    written.add(sha)
                    out.write(line + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        return total - len(written)

    def write(self, item: WorkItem, record: ExtractionRecord) -> bool:
        """Append ``record`` for ``item``: journal row, then line, flushed and fsynced (module docstring).

        Thread-safe. False (nothing written) once :meth:`close_writes` was called."""
        line = record.to_line().encode("utf-8")
        entry = JournalEntry(
            doc_id=item.doc_id, source=record.source, content_hash=item.content_hash,
            run_key=self._run_key, status=record.status.value, line_sha=_sha(line),
            # A document whose model calls failed is redone on the next run, partial or not: its fields are
            # missing because of the endpoint, not because of the document.
            retry=record.status is not ExtractionStatus.SUCCESS and record.calls_failed,
            prompt_tokens=record.usage.prompt_tokens, completion_tokens=record.usage.completion_tokens,
            seconds=record.seconds,
        )
        with self._lock:
            if self._closed or self._out is None:
                return False
            self.journal.put(entry)
            self._out.write(line + b"\n")
            self._out.flush()
            os.fsync(self._out.fileno())
        return True

    def close_writes(self) -> None:
        """Accept no more records (an interrupted run: a record finished after this is not kept)."""
        with self._lock:
            self._closed = True

    def entries(self) -> list[JournalEntry]:
        """Every document the output holds (from the journal), for the run's totals."""
        return list(self.journal.entries().values())

    def records(self) -> Iterator[ExtractionRecord]:
        """The output's records, in file order."""
        for line in _lines(self.path):
            yield ExtractionRecord.model_validate_json(line)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            out, self._out = self._out, None
        if out is not None:
            out.close()
        self.journal.close()


class StreamOutput:
    """Records to a stream (stdout): no journal, nothing to resume; same ``write`` as :class:`ResumableOutput`."""

    def __init__(self, stream: IO[str], *, keep_records: bool = False) -> None:
        self.stream = stream
        self.kept: list[ExtractionRecord] = []
        self._keep = keep_records
        self._lock = threading.Lock()
        self._closed = False

    def write(self, item: WorkItem, record: ExtractionRecord) -> bool:
        with self._lock:
            if self._closed:
                return False
            self.stream.write(record.to_line() + "\n")
            self.stream.flush()
            if self._keep:
                self.kept.append(record)
        return True

    def close_writes(self) -> None:
        with self._lock:
            self._closed = True

    def records(self) -> Iterator[ExtractionRecord]:
        return iter(self.kept)

    def close(self) -> None:
        self.close_writes()


def _fsync_dir(path: Path) -> None:
    """Make a new file's directory entry durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = ["Plan", "ResumableOutput", "StreamOutput", "WorkItem"]
