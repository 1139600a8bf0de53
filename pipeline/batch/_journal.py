"""The run journal: which documents of a JSONL output are finished, and under which key.

One row per document (its resolved path): the content hash of the file, the run key it was processed
under (schema, prompts, model, options: see ``_keys.py``), its status and the SHA-256 of the exact line
written for it in the output.

**Why SQLite and not a JSONL sidecar.** Every document's row is one transaction, made durable before
its line is written to the output (``synchronous=FULL``, WAL). A SIGKILL at any instant therefore
leaves the row entirely or not at all: there is no torn sidecar line to repair, and SQLite recovers its
own WAL on the next open. Rows are replaced and deleted in place (a retried failure, a changed file,
another schema) without rewriting a sidecar, and ``locking_mode=EXCLUSIVE`` makes a second run on the
same output fail at once (:class:`OutputLockedError`) instead of interleaving lines. It is in the
standard library, and one file sits beside the output (``out.jsonl.journal``; a ``-wal`` file too while
a run is going).
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from pydantic import BaseModel

from pipeline.exceptions import RaglineError

JOURNAL_FORMAT = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (run_key TEXT PRIMARY KEY, description TEXT NOT NULL, first_seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    run_key TEXT NOT NULL,
    status TEXT NOT NULL,
    retry INTEGER NOT NULL,
    line_sha TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    seconds REAL NOT NULL,
    finished_at REAL NOT NULL
);
"""
_COLUMNS = ("doc_id", "source", "content_hash", "run_key", "status", "retry", "line_sha",
            "prompt_tokens", "completion_tokens", "seconds", "finished_at")


class OutputLockedError(RaglineError):
    """Another run is writing the same output (its journal is locked)."""

    _reason = "output_locked"


class JournalError(RaglineError):
    """The journal beside an output cannot be used (another format, a damaged file)."""

    _reason = "journal"


class JournalEntry(BaseModel):
    """A finished document: what was processed, under which key, and which output line holds it."""

    doc_id: str
    source: str
    content_hash: str
    run_key: str
    status: str
    retry: bool = False
    line_sha: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    finished_at: float = 0.0


class RunJournal:
    """The SQLite journal at ``path``, opened exclusively for one run (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(str(path), timeout=0.2, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("BEGIN EXCLUSIVE")  # takes the lock now, and EXCLUSIVE mode keeps it until close
            self._db.executescript(_SCHEMA)  # commits
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise OutputLockedError(
                    f"another run is writing this output (its journal {path} is locked)", stage="output"
                ) from exc
            raise JournalError(f"cannot use the journal {path}: {exc}", stage="output") from exc
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{path} is not a ragline journal ({exc}); remove it or use --force",
                               stage="output") from exc
        self._check_format()

    def _check_format(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('format', ?)", (JOURNAL_FORMAT,))
        elif row[0] != JOURNAL_FORMAT:
            raise JournalError(f"{self.path} has journal format {row[0]}, this ragline writes {JOURNAL_FORMAT}; "
                               "use --force to start the output over", stage="output")

    def entries(self) -> dict[str, JournalEntry]:
        rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM docs").fetchall()
        return {row[0]: JournalEntry(**dict(zip(_COLUMNS, row))) for row in rows}

    def put(self, entry: JournalEntry) -> None:
        """Record ``entry`` (replacing the document's earlier one); durable when this returns."""
        values = entry.model_dump()
        values["finished_at"] = values["finished_at"] or time.time()
        self._db.execute(
            f"INSERT OR REPLACE INTO docs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
            tuple(values[c] for c in _COLUMNS),
        )

    def delete(self, doc_ids: list[str]) -> None:
        """Forget these documents (one transaction): they are to be done again."""
        if not doc_ids:
            return
        self._db.execute("BEGIN")
        try:
            self._db.executemany("DELETE FROM docs WHERE doc_id = ?", [(d,) for d in doc_ids])
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def clear(self) -> None:
        self._db.execute("DELETE FROM docs")

    def note_run(self, run_key: str, description: dict[str, object]) -> None:
        """Keep what a run key stands for (schema, model, options), for people reading the journal."""
        self._db.execute("INSERT OR IGNORE INTO runs VALUES (?, ?, ?)",
                         (run_key, json.dumps(description, sort_keys=True), time.time()))

    def close(self) -> None:
        try:
            self._db.close()  # checkpoints the WAL into the database file and removes it
        except sqlite3.Error:
            pass


__all__ = ["JournalEntry", "JournalError", "OutputLockedError", "RunJournal"]
