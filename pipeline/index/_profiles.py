"""Per-document profiles (entity, type, periods) stored next to the index's documents.

One table, ``doc_profiles (doc, doc_id, version, profile JSON)``, written at ingest right after the
document's chunks. A profile whose ``doc_id`` (content hash) or ``version`` no longer matches is
recomputed from the stored parse, and so is a missing one: an index built before profiles existed is
migrated the first time it is searched or ingested into (no re-parse, no re-embedding), with one log
line saying so. A read-only index is profiled in memory.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

from pipeline.profiling import PROFILE_VERSION, DocProfile, profile_document

if TYPE_CHECKING:
    from pipeline.document import Document
    from pipeline.index._store import DocStore

log = logging.getLogger(__name__)

_TABLE = (
    "CREATE TABLE IF NOT EXISTS doc_profiles (doc INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, "
    "version TEXT NOT NULL, profile TEXT NOT NULL)"
)


def _ensure_table(store: DocStore) -> bool:
    """Create the table if needed; False when the database cannot be written."""
    exists = store.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='doc_profiles'").fetchone()
    if exists:
        return True
    try:
        with store.transaction() as c:
            c.execute(_TABLE)
        return True
    except sqlite3.Error:
        return False


def save_profile(store: DocStore, path: str, document: Document) -> DocProfile | None:
    """Profile ``document`` (indexed at ``path``) and store it; called by ingest after each commit."""
    row = store.document(path)
    if row is None or not _ensure_table(store):
        return None
    profile = profile_document(document, path)
    _write(store, [(row.id, row.doc_id, profile)])
    return profile


def _write(store: DocStore, rows: list[tuple[int, str, DocProfile]]) -> bool:
    try:
        with store.transaction() as c:
            c.executemany(
                "INSERT OR REPLACE INTO doc_profiles (doc, doc_id, version, profile) VALUES (?, ?, ?, ?)",
                [(i, h, PROFILE_VERSION, p.model_dump_json()) for i, h, p in rows],
            )
        return True
    except sqlite3.Error as exc:
        log.debug("could not store document profiles: %s", exc)
        return False


def _say_missing(store: DocStore, n: int) -> None:
    if n:
        log.warning(
            "index %s: %d document(s) have no entity/period profile (indexed before profiles existed, or by an "
            "older profiler); profiling them from the stored parses once (no re-parse, no re-embedding)",
            store.path.parent, n,
        )


def _profiled(store: DocStore, rows: list[tuple[int, str, str]]) -> list[tuple[int, str, DocProfile]]:
    """``(row id, doc id, profile)`` for ``(row id, path, doc id)`` rows, from their stored parses."""
    out = []
    for row_id, path, doc_id in rows:
        doc = store.load_document(row_id)
        if doc is not None:
            out.append((row_id, doc_id, profile_document(doc, path)))
    return out


def backfill_profiles(store: DocStore, batch: int = 64) -> int:
    """Profile the indexed documents that have no current profile, ``batch`` at a time; returns how many.

    The end of an ingest calls this rather than :func:`load_profiles`: it reads only the ids of documents
    missing a profile (none, once every document has one), so its memory does not grow with the index."""
    if not _ensure_table(store):
        return 0
    todo = [(int(i), str(p), str(h)) for i, p, h in store.conn.execute(
        "SELECT d.id, d.path, d.doc_id FROM documents d LEFT JOIN doc_profiles p ON p.doc = d.id "
        "WHERE d.status = 'indexed' AND (p.doc IS NULL OR p.doc_id IS NOT d.doc_id OR p.version != ?)",
        (PROFILE_VERSION,),
    ).fetchall()]
    _say_missing(store, len(todo))
    done = 0
    for start in range(0, len(todo), batch):
        fresh = _profiled(store, todo[start:start + batch])
        _write(store, fresh)
        done += len(fresh)
    return done


def load_profiles(store: DocStore) -> list[DocProfile]:
    """Profiles of every indexed document, computing (and storing) the missing or outdated ones."""
    has_table = _ensure_table(store)
    query = (
        "SELECT d.id, d.path, d.doc_id, p.doc_id, p.version, p.profile FROM documents d "
        "LEFT JOIN doc_profiles p ON p.doc = d.id WHERE d.status = 'indexed' ORDER BY d.path"
        if has_table else
        "SELECT id, path, doc_id, NULL, NULL, NULL FROM documents WHERE status = 'indexed' ORDER BY path"
    )
    out: list[DocProfile] = []
    todo: list[tuple[int, str, str]] = []
    for row_id, path, doc_id, p_doc_id, version, blob in store.conn.execute(query).fetchall():
        if blob and p_doc_id == doc_id and version == PROFILE_VERSION:
            out.append(DocProfile.model_validate_json(blob))
        else:
            todo.append((int(row_id), str(path), str(doc_id)))
    _say_missing(store, len(todo))
    fresh = _profiled(store, todo)
    if has_table and fresh:
        _write(store, fresh)
    out += [p for _, _, p in fresh]
    return sorted(out, key=lambda p: p.path)


__all__ = ["backfill_profiles", "load_profiles", "save_profile"]
