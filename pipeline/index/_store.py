"""SQLite side of an index: documents, chunks, the embedding cache, BM25 (FTS5) and metadata.

SQLite is the source of truth. Every chunk row's integer ``id`` is its FAISS id, and its vector lives
in ``embeddings`` (keyed by model and sha256 of the text), so the FAISS file can always be rebuilt or
reconciled from here. Ids come from ``AUTOINCREMENT`` and are never reused, and a chunk row is never
updated in place, so "same id set in FAISS and SQLite" means "same content".
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import sqlite3
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipeline.exceptions import IndexStoreError

if TYPE_CHECKING:
    import numpy as np

    from pipeline.chunking import Chunk
    from pipeline.document import Document
    from pipeline.index._filter import SearchFilter

SCHEMA_VERSION = "2"  # 2: chunks.context, indexed by FTS next to the text

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,             -- sha256 of the file bytes (Document.content_hash)
    chunking TEXT NOT NULL,           -- fingerprint of the ChunkingOptions its chunks were made with
    parser TEXT NOT NULL DEFAULT '',  -- fingerprint of the parser (version + ParseOptions) that made it
    status TEXT NOT NULL,             -- indexed | failed
    format TEXT,
    pages INTEGER,
    n_chunks INTEGER NOT NULL DEFAULT 0,
    error TEXT,                       -- JSON of the last failure, if any
    document BLOB,                    -- zlib(Document JSON): new chunking options re-chunk without re-parsing
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,   -- the FAISS id
    chunk_id TEXT NOT NULL,
    doc INTEGER NOT NULL REFERENCES documents(id),
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    text_sha256 TEXT NOT NULL,
    page_start INTEGER NOT NULL,
    page_end INTEGER NOT NULL,
    heading_path TEXT NOT NULL,
    metadata TEXT NOT NULL,
    context TEXT NOT NULL DEFAULT '',     -- what the document is (Chunk.context): searchable, never quoted
    UNIQUE (doc, chunk_id)
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc);
CREATE TABLE IF NOT EXISTS embeddings (
    model TEXT NOT NULL,
    text_sha256 TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, text_sha256)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, context, content='chunks', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, text, context) VALUES (new.id, new.text, new.context);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, text, context) VALUES ('delete', old.id, old.text, old.context);
END;
"""


@dataclass(frozen=True)
class DocumentRow:
    id: int
    path: str
    doc_id: str
    chunking: str
    parser: str
    status: str
    n_chunks: int


@dataclass(frozen=True)
class ChunkRow:
    id: int
    chunk_id: str
    doc_id: str
    source: str
    position: int
    text: str
    page_start: int
    page_end: int
    heading_path: list[str]
    metadata: dict[str, Any]


class DocStore:
    """Thin typed wrapper over the index's SQLite database (one connection, used under the Index lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            # check_same_thread=False: the Index serialises access with its own lock, and callers such
            # as a web server may search from worker threads.
            self.conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL is crash-safe under WAL for process death (SIGKILL); only an OS crash can lose the
            # last commits, which a re-run of ingest redoes.
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.create_function("fnmatch", 2, fnmatch.fnmatchcase, deterministic=True)
            self.conn.create_function("basename", 1, posixpath.basename, deterministic=True)
            # executescript() would COMMIT on its own; run the statements inside our transaction instead.
            with self.transaction():
                migrated = self._migrate_from_1()
                for stmt in _split_sql(_SCHEMA):
                    self.conn.execute(stmt)
                if migrated:
                    self.conn.execute("INSERT INTO chunks_fts (chunks_fts) VALUES ('rebuild')")
                self.conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
                )
                self.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', '0')")
        except sqlite3.Error as exc:
            raise IndexStoreError(f"cannot open index database {path}: {exc}", source=str(path), stage="index") from exc
        version = self.get_meta("schema_version")
        if version != SCHEMA_VERSION:
            raise IndexStoreError(f"index schema version {version} is not supported (expected {SCHEMA_VERSION}); "
                                  "rebuild the index", source=str(path), stage="index")

    def _migrate_from_1(self) -> bool:
        """Schema 1 -> 2 in place: ``chunks.context`` from the chunk metadata, FTS over text + context.

        Vectors, chunk ids and the embedding cache are untouched; the FTS index is rebuilt by the caller.
        """
        c = self.conn
        has_meta = c.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
        if not has_meta:
            return False
        row = c.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if not row or row[0] != "1":
            return False
        c.execute("ALTER TABLE chunks ADD COLUMN context TEXT NOT NULL DEFAULT ''")
        c.execute("UPDATE chunks SET context = coalesce(json_extract(metadata, '$.context'), '')")
        for stmt in ("DROP TRIGGER IF EXISTS chunks_ai", "DROP TRIGGER IF EXISTS chunks_ad",
                     "DROP TABLE IF EXISTS chunks_fts"):
            c.execute(stmt)
        c.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))
        return True

    def close(self) -> None:
        self.conn.close()

    def vacuum(self) -> None:
        """Reclaim the disk space of deleted rows (outside any transaction)."""
        self.conn.execute("VACUUM")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction: every query inside sees one state, whatever other processes commit meanwhile."""
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` .. ``COMMIT``: all or nothing, and writers queue instead of deadlocking."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- meta -------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    def _bump(self) -> None:
        self.conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    # -- documents --------------------------------------------------------------------------------
    def document(self, path: str) -> DocumentRow | None:
        row = self.conn.execute(
            "SELECT id, path, doc_id, chunking, parser, status, n_chunks FROM documents WHERE path = ?", (path,)
        ).fetchone()
        return DocumentRow(*row) if row else None

    def _documents(self, where: str, params: Sequence[Any] = ()) -> list[DocumentRow]:
        rows = self.conn.execute(
            f"SELECT id, path, doc_id, chunking, parser, status, n_chunks FROM documents WHERE {where} ORDER BY path",
            params,
        ).fetchall()
        return [DocumentRow(*r) for r in rows]

    def documents_under(self, folder: str) -> list[DocumentRow]:
        """Documents (indexed or failed) whose path lies under ``folder``."""
        prefix = folder.rstrip("/") + "/"
        return self._documents("substr(path, 1, ?) = ?", (len(prefix), prefix))

    def stale_documents(self, chunking: str) -> list[DocumentRow]:
        """Indexed documents whose chunks were made with other chunking options than ``chunking``."""
        return self._documents("status = 'indexed' AND chunking != ?", (chunking,))

    def document_count(self, status: Literal["indexed", "failed"]) -> int:
        return int(self.conn.execute("SELECT count(*) FROM documents WHERE status = ?", (status,)).fetchone()[0])

    def load_document(self, row_id: int) -> Document | None:
        from pipeline.document import Document

        row = self.conn.execute("SELECT document FROM documents WHERE id = ?", (row_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        return Document.model_validate_json(zlib.decompress(row[0]))

    def replace_document(
        self,
        path: str,
        document: Document,
        chunks: list[Chunk],
        text_hashes: list[str],
        chunking: str,
        new_vectors: dict[str, bytes],
        model: str,
        parser: str | None,
    ) -> tuple[list[int], list[tuple[int, str]]]:
        """Swap a document's chunks for new ones in one transaction (``parser`` None: unchanged parse).

        Returns (removed chunk ids, [(added chunk id, text sha256)]).
        """
        blob = zlib.compress(document.model_dump_json().encode(), 6)
        with self.transaction() as c:
            old = c.execute("SELECT id FROM documents WHERE path = ?", (path,)).fetchone()
            removed: list[int] = []
            if old:
                doc_row = int(old[0])
                removed = [r[0] for r in c.execute("SELECT id FROM chunks WHERE doc = ?", (doc_row,))]
                c.execute("DELETE FROM chunks WHERE doc = ?", (doc_row,))
                c.execute(
                    "UPDATE documents SET doc_id=?, chunking=?, parser=coalesce(?, parser), status='indexed', "
                    "format=?, pages=?, n_chunks=?, error=NULL, document=?, updated_at=? WHERE id=?",
                    (document.content_hash, chunking, parser, document.format, document.pages, len(chunks), blob,
                     time.time(), doc_row),
                )
            else:
                cur = c.execute(
                    "INSERT INTO documents (path, doc_id, chunking, parser, status, format, pages, n_chunks, "
                    "document, updated_at) VALUES (?, ?, ?, ?, 'indexed', ?, ?, ?, ?, ?)",
                    (path, document.content_hash, chunking, parser or "", document.format, document.pages,
                     len(chunks), blob, time.time()),
                )
                doc_row = int(cur.lastrowid or 0)
            c.executemany(
                "INSERT OR IGNORE INTO embeddings (model, text_sha256, vector) VALUES (?, ?, ?)",
                [(model, h, v) for h, v in new_vectors.items()],
            )
            added = self._insert_chunks(doc_row, chunks, text_hashes)
            c.execute("UPDATE documents SET n_chunks = ? WHERE id = ?", (len(added), doc_row))
            self._bump()
        return removed, added

    def _insert_chunks(self, doc_row: int, chunks: list[Chunk], text_hashes: list[str]) -> list[tuple[int, str]]:
        """Insert a document's chunks (inside the caller's transaction); returns [(chunk id, text sha256)]."""
        added: list[tuple[int, str]] = []
        for ch, h in zip(chunks, text_hashes):
            meta = {
                "element_kinds": ch.element_kinds,
                "n_tokens": ch.n_tokens,
                "options_fingerprint": ch.options_fingerprint,
                **({"context": ch.context} if ch.context else {}),
                **ch.metadata,
            }
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO chunks (chunk_id, doc, position, text, text_sha256, page_start, page_end, "
                "heading_path, metadata, context) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ch.id, doc_row, ch.index, ch.text, h, ch.page_start, ch.page_end,
                 json.dumps(ch.heading_path, ensure_ascii=False), json.dumps(meta, ensure_ascii=False),
                 ch.context),
            )
            if cur.rowcount:  # a chunk repeated verbatim in one document is stored once
                added.append((int(cur.lastrowid or 0), h))
        return added

    def record_failure(self, path: str, doc_id: str, chunking: str, error: dict[str, Any]) -> None:
        """Remember a failure. A file indexed before keeps its old chunks (a bad edit or a transient error
        should not empty search results); its stored hash differs, so the next run retries it."""
        with self.transaction() as c:
            cur = c.execute(
                "UPDATE documents SET error = ?, updated_at = ? WHERE path = ?",
                (json.dumps(error), time.time(), path),
            )
            if not cur.rowcount:
                c.execute(
                    "INSERT INTO documents (path, doc_id, chunking, status, error, updated_at) "
                    "VALUES (?, ?, ?, 'failed', ?, ?)",
                    (path, doc_id, chunking, json.dumps(error), time.time()),
                )

    def remove_document(self, row_id: int) -> list[int]:
        with self.transaction() as c:
            removed = [r[0] for r in c.execute("SELECT id FROM chunks WHERE doc = ?", (row_id,))]
            c.execute("DELETE FROM chunks WHERE doc = ?", (row_id,))
            c.execute("DELETE FROM documents WHERE id = ?", (row_id,))
            self._bump()
        return removed

    # -- embeddings -------------------------------------------------------------------------------
    def cached_vectors(self, model: str, hashes: Iterable[str]) -> dict[str, bytes]:
        keys = list(dict.fromkeys(hashes))
        out: dict[str, bytes] = {}
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            q = f"SELECT text_sha256, vector FROM embeddings WHERE model = ? AND text_sha256 IN ({','.join('?' * len(part))})"
            out.update((h, v) for h, v in self.conn.execute(q, [model, *part]))
        return out

    def vectors_for(self, model: str, ids: np.ndarray | None, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of live chunks; all of them when ``ids`` is None."""
        import numpy as np

        base = (
            "SELECT c.id, e.vector FROM chunks c JOIN embeddings e "
            "ON e.model = ? AND e.text_sha256 = c.text_sha256"
        )
        rows: list[tuple[int, bytes]] = []
        if ids is None or len(ids) > 5000:
            wanted = None if ids is None else set(ids.tolist())
            for r in self.conn.execute(base + " ORDER BY c.id", (model,)):
                if wanted is None or r[0] in wanted:
                    rows.append(r)
        else:
            id_list = [int(i) for i in ids]
            for i in range(0, len(id_list), 500):
                part = id_list[i : i + 500]
                rows += self.conn.execute(base + f" WHERE c.id IN ({','.join('?' * len(part))})", [model, *part]).fetchall()
        out_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dim)
        return out_ids, vecs.copy()

    def prune_embeddings(self) -> int:
        """Drop cached vectors no chunk uses any more (the cache otherwise keeps every text ever seen)."""
        with self.transaction() as c:
            cur = c.execute(
                "DELETE FROM embeddings WHERE NOT EXISTS "
                "(SELECT 1 FROM chunks WHERE chunks.text_sha256 = embeddings.text_sha256)"
            )
            return int(cur.rowcount)

    # -- chunks / search --------------------------------------------------------------------------
    def live_ids(self) -> np.ndarray:
        import numpy as np

        rows = self.conn.execute("SELECT id FROM chunks ORDER BY id").fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def filtered_ids(self, flt: SearchFilter) -> np.ndarray:
        import numpy as np

        where, params = _filter_sql(flt)
        rows = self.conn.execute(
            f"SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc WHERE {where}", params
        ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def chunk_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def cached_embedding_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM embeddings").fetchone()[0])

    def bm25(self, match: str, limit: int, flt: SearchFilter) -> list[tuple[int, float]]:
        """(chunk id, score) best first; score = -bm25 so larger is better."""
        where, params = _filter_sql(flt)
        try:
            rows = self.conn.execute(
                "SELECT c.id, -bm25(chunks_fts) AS s FROM chunks_fts "
                "JOIN chunks c ON c.id = chunks_fts.rowid JOIN documents d ON d.id = c.doc "
                f"WHERE chunks_fts MATCH ? AND {where} ORDER BY bm25(chunks_fts) LIMIT ?",
                [match, *params, limit],
            ).fetchall()
        except sqlite3.OperationalError as exc:
            raise IndexStoreError(f"full-text query failed: {exc}", source=str(self.path), stage="search") from exc
        return [(int(r[0]), float(r[1])) for r in rows]

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        out: dict[int, ChunkRow] = {}
        id_list = [int(i) for i in ids]
        for i in range(0, len(id_list), 500):
            part = id_list[i : i + 500]
            q = (
                "SELECT c.id, c.chunk_id, d.doc_id, d.path, c.position, c.text, c.page_start, c.page_end, "
                "c.heading_path, c.metadata FROM chunks c JOIN documents d ON d.id = c.doc "
                f"WHERE c.id IN ({','.join('?' * len(part))})"
            )
            for r in self.conn.execute(q, part):
                out[int(r[0])] = ChunkRow(
                    id=int(r[0]), chunk_id=r[1], doc_id=r[2], source=r[3], position=int(r[4]), text=r[5],
                    page_start=int(r[6]), page_end=int(r[7]), heading_path=json.loads(r[8]),
                    metadata=json.loads(r[9]),
                )
        return out


def _filter_sql(flt: SearchFilter) -> tuple[str, list[Any]]:
    """``flt`` as a WHERE condition over ``chunks c JOIN documents d``, with its parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    if flt.source_glob:
        # Match the full path or the file name, so "*AAPL*" and "2023 Q3 AAPL.pdf" both work.
        clauses.append("(fnmatch(d.path, ?) OR fnmatch(basename(d.path), ?))")
        params += [flt.source_glob, flt.source_glob]
    if flt.page_ranges:
        clauses.append("(" + " OR ".join(["(c.page_end >= ? AND c.page_start <= ?)"] * len(flt.page_ranges)) + ")")
        params += [p for rng in flt.page_ranges for p in rng]
    if flt.documents:  # query linking: only these documents
        clauses.append(f"d.path IN ({','.join('?' * len(flt.documents))})")
        params += list(flt.documents)
    return (" AND ".join(clauses) or "1"), params


def _split_sql(script: str) -> list[str]:
    """Split the schema into statements (triggers contain ';' inside BEGIN..END)."""
    out: list[str] = []
    buf = ""
    for line in script.strip().splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out
