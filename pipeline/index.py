"""A persistent, incremental, content-addressed search index over documents.

One directory holds everything::

    index.sqlite    documents, chunks (+ FTS5 for BM25), embedding cache, metadata  (source of truth)
    vectors.faiss   FAISS IndexIDMap2 (exact, or HNSW past a size threshold) keyed by chunk row id
    write.lock      fcntl lock: one writer at a time; readers never block

Ingest is incremental: a file whose bytes (sha256) and chunking options are unchanged is neither parsed
nor embedded; a changed file's chunks are replaced; a chunk text seen before (by this model) is never
embedded again. Each document is committed on its own, so killing an ingest loses at most the document
in flight; the FAISS file is written atomically at the end (and at checkpoints) and reconciled with
SQLite whenever they disagree, so it can never serve ids SQLite does not know or miss ones it does.

    index = Index.open("my-index")
    report = index.add(["docs/"], prune=True)
    hits = index.search("revenue recognition", k=5, mode="hybrid")
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from typing_extensions import Self

from ._index_faiss import VectorIndex
from ._index_store import DocStore, Filter
from .chunking import Chunker, ChunkingOptions
from .exceptions import (
    ConfigurationError,
    EmbeddingModelMismatchError,
    IndexLockedError,
    IndexStoreError,
    InputError,
    RaglineError,
)
from .protocols import Embedder, SearchHit
from .retrieval import SEARCH_MODES, PagesArg, fts_query, page_ranges, reciprocal_rank_fusion

if TYPE_CHECKING:
    import numpy as np

    from .document import Document
    from .parsing import ParseOptions, Parser

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]
"""``callback(done, total, path)`` after each file."""


class FileError(BaseModel):
    """Why one file was not (re)indexed."""

    source: str
    reason: str
    error: str
    message: str


class IngestReport(BaseModel):
    files: int = Field(default=0, description="files considered after folder expansion")
    parsed: int = Field(default=0, description="files parsed (new or changed content)")
    skipped: int = Field(default=0, description="unchanged files: not parsed, not embedded")
    failed: int = Field(default=0, description="files that could not be read or parsed")
    rechunked: int = Field(default=0, description="unchanged documents re-chunked for new chunking options")
    removed: int = Field(default=0, description="documents pruned because their file is gone")
    embedded: int = Field(default=0, description="chunk texts embedded (embedding cache misses)")
    cached: int = Field(default=0, description="chunks whose vector came from the embedding cache")
    chunks_added: int = 0
    chunks_removed: int = 0
    pages: int = Field(default=0, description="pages of the parsed files")
    errors: list[FileError] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0


class IndexStats(BaseModel):
    directory: str
    documents: int
    failed_documents: int
    chunks: int
    vectors: int
    vector_index: str
    embedding_model: str | None
    dimension: int | None
    chunking_fingerprint: str | None
    cached_embeddings: int


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Index:
    """Documents -> chunks -> vectors + BM25, in one directory. See the module docstring."""

    DB_FILE = "index.sqlite"
    VECTORS_FILE = "vectors.faiss"
    LOCK_FILE = "write.lock"

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        embedder: Embedder | None = None,
        chunking: ChunkingOptions | None = None,
        parse_options: ParseOptions | None = None,
        parser: Parser | None = None,
        backend: str = "auto",
        cache_dir: str | os.PathLike[str] | None = None,
        hnsw_threshold: int = 50_000,
        checkpoint_seconds: float = 60.0,
        use_gpu: bool | None = None,
        create: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.embedder = embedder
        self.chunking = chunking
        self.parse_options = parse_options
        self.backend = backend
        self.cache_dir = cache_dir
        self.hnsw_threshold = hnsw_threshold
        self.checkpoint_seconds = checkpoint_seconds
        self.use_gpu = use_gpu
        self.create = create
        self._parser = parser
        self._store: DocStore | None = None
        self._vectors: VectorIndex | None = None
        self._chunker: Chunker | None = None
        self._generation = -1
        self._lock = threading.RLock()
        self._lock_fd: int | None = None
        self._lock_depth = 0
        self._last_save = 0.0
        # Filtered dense search over at most this many chunks is exact (numpy), whatever the index kind.
        self.exact_filter_limit = 20_000

    # ---------------------------------------------------------------------------------------------
    # opening
    # ---------------------------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        *,
        embedder: Embedder | None = None,
        chunking: ChunkingOptions | None = None,
        **kwargs: Any,
    ) -> Index:
        """Open (creating if needed) the index in ``directory``.

        ``embedder``: defaults to the model the index was built with (or all-MiniLM-L6-v2 for a new one);
        a different model raises :class:`EmbeddingModelMismatchError`. ``chunking``: defaults to the
        options the index was built with; new options re-chunk documents on the next :meth:`add`.
        """
        index = cls(directory, embedder=embedder, chunking=chunking, **kwargs)
        index.warm_up()
        return index

    def warm_up(self) -> None:
        with self._lock:
            if self._store is not None:
                return
            db = self.directory / self.DB_FILE
            if not db.is_file():
                if not self.create:
                    raise IndexStoreError(f"no index in {self.directory}", source=str(self.directory), stage="index")
                try:
                    self.directory.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise IndexStoreError(
                        f"cannot create index directory: {exc}", source=str(self.directory), stage="index"
                    ) from exc
            store = DocStore(db)
            try:
                self._check_model(store)
                self._init_chunking(store)
                self._store = store
                self._vectors = VectorIndex(
                    self._dimension(), hnsw_threshold=self.hnsw_threshold, use_gpu=self.use_gpu
                )
                self._vectors.load(self.directory / self.VECTORS_FILE)
                self._refresh(force=True)
            except BaseException:
                self._store = None
                store.close()
                raise

    def _check_model(self, store: DocStore) -> None:
        stored = store.get_meta("embedding_model")
        stored_dim = store.get_meta("embedding_dim")
        if self.embedder is None:
            from .embedding import make_embedder

            model: str | None = None
            if stored:
                hint = store.get_meta("embedding_model_path")
                model = hint if hint and Path(hint).is_dir() else stored
            self.embedder = make_embedder(self.backend, model, cache_dir=self.cache_dir)  # type: ignore[arg-type]
        if stored and (self.embedder.model_name != stored or str(self.embedder.dimension) != stored_dim):
            raise EmbeddingModelMismatchError(
                f"index was built with embedding model {stored} ({stored_dim}-d) but this embedder is "
                f"{self.embedder.model_name} ({self.embedder.dimension}-d); open it with the same model, "
                "or build a new index for the new model",
                source=str(self.directory),
                stage="index",
            )

    def _init_chunking(self, store: DocStore) -> None:
        stored = store.get_meta("chunking_options")
        if self.chunking is None:
            self.chunking = ChunkingOptions.model_validate_json(stored) if stored else ChunkingOptions()
        self._chunker = Chunker(self.chunking)

    def _dimension(self) -> int:
        assert self.embedder is not None
        return int(self.embedder.dimension)

    @property
    def store(self) -> DocStore:
        if self._store is None:
            self.warm_up()
        assert self._store is not None
        return self._store

    @property
    def vectors(self) -> VectorIndex:
        self.warm_up()
        assert self._vectors is not None
        return self._vectors

    @property
    def fingerprint(self) -> str:
        assert self.chunking is not None
        return self.chunking.fingerprint()

    # ---------------------------------------------------------------------------------------------
    # keeping FAISS equal to SQLite
    # ---------------------------------------------------------------------------------------------
    def _refresh(self, force: bool = False) -> None:
        """Bring the in-memory FAISS index up to SQLite's state when another process (or a crash
        before the FAISS file was saved) left them apart."""
        store = self.store
        gen = store.generation()
        if not force and gen == self._generation:
            return
        import numpy as np

        vectors = self.vectors
        assert self.embedder is not None
        # One read transaction: a snapshot, so a concurrent writer cannot slip a commit between the
        # id list and the vectors.
        store.conn.execute("BEGIN")
        try:
            gen = store.generation()
            live = store.live_ids()
            have = vectors.ids()
            if len(have) != len(np.unique(have)):
                log.warning("vector index has duplicate ids; rebuilding it from the database")
                ids, vecs = store.vectors_for(self.embedder.model_name, None, vectors.dimension)
                vectors.rebuild(ids, vecs)
                vectors.dirty = True
            else:
                missing = np.setdiff1d(live, have, assume_unique=True)
                extra = np.setdiff1d(have, live, assume_unique=True)
                if len(missing):
                    ids, vecs = store.vectors_for(self.embedder.model_name, missing, vectors.dimension)
                    if len(ids) < len(missing):
                        log.warning("%d chunks have no stored vector; they are searchable by BM25 only",
                                    len(missing) - len(ids))
                    vectors.add(ids, vecs)
                # Removed tombstones that are live again cannot happen (ids are never reused).
                vectors.remove(np.setdiff1d(extra, np.fromiter(vectors.stale, dtype=np.int64)))
        finally:
            store.conn.execute("COMMIT")
        self._generation = gen

    def _save_vectors(self) -> None:
        """Persist FAISS (only the lock holder writes it), rebuilding first when its kind should change
        or tombstones pile up."""
        vectors = self.vectors
        assert self.embedder is not None
        live = self.store.count("chunks")
        if vectors.needs_rebuild(live):
            ids, vecs = self.store.vectors_for(self.embedder.model_name, None, vectors.dimension)
            vectors.rebuild(ids, vecs)
            vectors.dirty = True
        path = self.directory / self.VECTORS_FILE
        if vectors.dirty or not path.is_file():
            vectors.save(path)
        self._last_save = time.monotonic()

    # ---------------------------------------------------------------------------------------------
    # writing
    # ---------------------------------------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[Index]:
        """Hold the index's write lock (re-entrant). Raises :class:`IndexLockedError` at once if another
        process holds it. The FAISS file is saved when the outermost block exits."""
        with self._lock:
            self.warm_up()
            if self._lock_depth == 0:
                self._acquire_file_lock()
            self._lock_depth += 1
            try:
                if self._lock_depth == 1:
                    self._refresh()
                    self._record_meta()
                yield self
            finally:
                self._lock_depth -= 1
                if self._lock_depth == 0:
                    try:
                        self._save_vectors()
                    finally:
                        self._release_file_lock()

    def _acquire_file_lock(self) -> None:
        import fcntl

        path = self.directory / self.LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            finally:
                os.close(fd)
            raise IndexLockedError(
                f"index is being written by another process (pid {holder}); wait for it to finish, "
                "or stop it, then retry (searching does not need the lock)",
                source=str(self.directory),
                stage="index",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _release_file_lock(self) -> None:
        import fcntl

        if self._lock_fd is not None:
            try:
                os.ftruncate(self._lock_fd, 0)
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            finally:
                os.close(self._lock_fd)
                self._lock_fd = None

    def _record_meta(self) -> None:
        store = self.store
        assert self.embedder is not None and self.chunking is not None
        with store.transaction():
            if store.get_meta("embedding_model") is None:
                store.set_meta("embedding_model", self.embedder.model_name)
                store.set_meta("embedding_dim", str(self.embedder.dimension))
                model_dir = getattr(self.embedder, "model_dir", None)
                if model_dir is not None:
                    store.set_meta("embedding_model_path", str(Path(model_dir).resolve()))
            store.set_meta("chunking_options", self.chunking.model_dump_json())
            store.set_meta("chunking_fingerprint", self.fingerprint)

    def _maybe_checkpoint(self) -> None:
        if self.vectors.dirty and time.monotonic() - self._last_save >= self.checkpoint_seconds:
            self._save_vectors()

    def _get_parser(self) -> Parser:
        if self._parser is None:
            from .parsing import Parser

            self._parser = Parser(self.parse_options)
        return self._parser

    @property
    def _parser_fp(self) -> str:
        """Files parsed by another ragline version or with other parse options are parsed again (the
        embedding cache keeps that cheap when the text did not change)."""
        from . import __version__

        return f"{__version__}:{self._get_parser().options.fingerprint()}"

    def add(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        *,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
        prune: bool = False,
        progress: bool | ProgressCallback = False,
    ) -> IngestReport:
        """Index files and folders (folders are walked with ``include``/``exclude`` globs).

        ``prune``: also remove documents whose file no longer exists under the given folders.
        ``progress``: True for a tqdm bar on stderr, or a ``callback(done, total, path)``.
        Failures are recorded per file in the report; they never stop the run.
        """
        from .parsing import expand_paths

        t0 = time.perf_counter()
        paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        files = expand_paths(paths, include, exclude)
        report = IngestReport(files=len(files))
        with self.writing():
            tick = _progress(progress, len(files))
            try:
                for n, path in enumerate(files, start=1):
                    self._ingest_file(path, report)
                    self._maybe_checkpoint()
                    tick(n, str(path))
                if prune:
                    for folder in paths:
                        if Path(folder).is_dir():
                            self._prune(os.path.abspath(folder), report)
                self._rechunk_stale(report)
            finally:
                tick(-1, "")
        report.seconds = time.perf_counter() - t0
        return report

    def add_documents(self, documents: Iterable[Document]) -> IngestReport:
        """Index already-parsed documents, keyed by ``Document.source`` (counted as ``parsed``)."""
        t0 = time.perf_counter()
        report = IngestReport()
        with self.writing():
            for doc in documents:
                report.files += 1
                row = self.store.document(doc.source)
                if row and row.status == "indexed" and row.doc_id == doc.content_hash and row.chunking == self.fingerprint:
                    report.skipped += 1
                    continue
                report.parsed += 1
                report.pages += doc.pages
                self._index_document(doc.source, doc, report, parser="external")
                self._maybe_checkpoint()
            self._rechunk_stale(report)
        report.seconds = time.perf_counter() - t0
        return report

    def remove(self, sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> int:
        """Remove documents by path (as indexed: absolute) or ``Document.source``; returns how many."""
        n = 0
        if isinstance(sources, (str, os.PathLike)):
            sources = [sources]
        with self.writing():
            for s in sources:
                row = self.store.document(str(s)) or self.store.document(os.path.abspath(s))
                if row is not None:
                    self.vectors.remove(self.store.remove_document(row.id))
                    n += 1
        return n

    def _ingest_file(self, path: Path, report: IngestReport) -> None:
        key = os.path.abspath(path)
        parser = self._get_parser()
        try:
            data = parser.read(path)
        except InputError as exc:
            self._fail(key, "", exc, report)
            return
        content_hash = hashlib.sha256(data).hexdigest()
        row = self.store.document(key)
        if row is not None and row.status == "indexed" and row.doc_id == content_hash and row.parser == self._parser_fp:
            if row.chunking == self.fingerprint:
                report.skipped += 1
                return
            stored = self.store.load_document(row.id)
            if stored is not None:
                report.rechunked += 1
                self._index_document(key, stored, report)
                return
        try:
            doc = parser.parse_bytes(data, source=key)
        except (InputError, ConfigurationError) as exc:
            self._fail(key, content_hash, exc, report)
            return
        report.parsed += 1
        report.pages += doc.pages
        self._index_document(key, doc, report, parser=self._parser_fp)

    def _fail(self, key: str, content_hash: str, exc: RaglineError, report: IngestReport) -> None:
        report.failed += 1
        report.errors.append(
            FileError(source=key, reason=exc.reason, error=type(exc).__name__, message=exc.message)
        )
        if content_hash:
            self.store.record_failure(key, content_hash, self.fingerprint, exc.to_dict())

    def _index_document(self, key: str, doc: Document, report: IngestReport, parser: str | None = None) -> None:
        """Chunk, embed (cache misses only) and commit one document. ``parser``: fingerprint of the parse
        that produced ``doc`` (None: re-chunking a stored parse, which keeps its fingerprint)."""
        import numpy as np

        assert self._chunker is not None and self.embedder is not None
        chunks = self._chunker.run(doc)
        # What is embedded (and cached by hash) is the chunk text behind its document context.
        hashes = [_sha256(c.embedding_text) for c in chunks]
        model = self.embedder.model_name
        cached = self.store.cached_vectors(model, hashes)
        todo = {h: c.embedding_text for h, c in zip(hashes, chunks) if h not in cached}
        new: dict[str, bytes] = {}
        if todo:
            vecs = self._embed(list(todo.values()))
            new = {h: vecs[i].tobytes() for i, h in enumerate(todo)}
        report.embedded += len(todo)
        report.cached += sum(1 for h in hashes if h in cached)
        removed, added = self.store.replace_document(
            key, doc, chunks, hashes, self.fingerprint, new, model, parser
        )
        vectors = self.vectors
        vectors.remove(removed)
        if added:
            by_hash = {**cached, **new}
            dim = vectors.dimension
            mat = np.frombuffer(b"".join(by_hash[h] for _, h in added), dtype=np.float32).reshape(len(added), dim)
            vectors.add(np.array([i for i, _ in added], dtype=np.int64), mat)
        # Our own commit; we hold the lock, so nobody else moved the generation.
        self._generation = self.store.generation()
        report.chunks_added += len(added)
        report.chunks_removed += len(removed)

    def _embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        assert self.embedder is not None
        vecs = np.ascontiguousarray(self.embedder.embed(texts), dtype=np.float32)
        if vecs.shape != (len(texts), self.embedder.dimension):
            raise ConfigurationError(
                f"embedder {self.embedder.model_name} returned shape {vecs.shape}, expected "
                f"({len(texts)}, {self.embedder.dimension})",
                stage="embed",
            )
        return vecs

    def _prune(self, folder: str, report: IngestReport) -> None:
        for row in self.store.documents_under(folder):
            if not os.path.exists(row.path):
                removed = self.store.remove_document(row.id)
                self.vectors.remove(removed)
                self._generation = self.store.generation()
                report.removed += 1
                report.chunks_removed += len(removed)

    def _rechunk_stale(self, report: IngestReport) -> None:
        """Documents chunked with other options than the current ones (and not seen in this run):
        re-chunk from the stored parse; only chunk texts never seen before get embedded."""
        for row in self.store.documents("status = 'indexed' AND chunking != ?", (self.fingerprint,)):
            doc = self.store.load_document(row.id)
            if doc is None:
                continue
            report.rechunked += 1
            self._index_document(row.path, doc, report)
            self._maybe_checkpoint()

    def compact(self) -> int:
        """Drop cached vectors no chunk uses and reclaim disk space; returns how many were dropped."""
        with self.writing():
            n = self.store.prune_embeddings()
        self.store.conn.execute("VACUUM")
        return n

    # ---------------------------------------------------------------------------------------------
    # reading
    # ---------------------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 5,
        mode: str = "hybrid",
        source_glob: str | None = None,
        pages: PagesArg = None,
    ) -> list[SearchHit]:
        """Top ``k`` chunks for ``query``.

        ``mode``: ``dense`` (cosine over embeddings), ``bm25`` (SQLite FTS5) or ``hybrid`` (reciprocal
        rank fusion of both). ``source_glob`` keeps chunks whose path or file name matches;
        ``pages`` keeps chunks overlapping a page, a list of pages or a ``range``.
        """
        if mode not in SEARCH_MODES:
            raise ConfigurationError(f"unknown search mode {mode!r} (dense, bm25 or hybrid)", stage="search")
        if k < 1:
            raise ConfigurationError("k must be at least 1", stage="search")
        with self._lock:
            self.warm_up()
            self._refresh()
            flt = Filter(source_glob=source_glob, page_ranges=page_ranges(pages))
            allowed = self.store.filtered_ids(flt) if flt.active else None
            if allowed is not None and len(allowed) == 0:
                return []
            depth = k if mode != "hybrid" else max(50, 4 * k)
            dense: list[tuple[int, float]] = []
            sparse: list[tuple[int, float]] = []
            if mode in ("dense", "hybrid"):
                dense = self._dense(query, depth, allowed)
            if mode in ("bm25", "hybrid"):
                match = fts_query(query)
                sparse = self.store.bm25(match, depth, flt) if match else []
            if mode == "dense":
                ranked = dense
            elif mode == "bm25":
                ranked = sparse
            else:
                ranked = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in sparse]])
            rows = self.store.chunks([i for i, _ in ranked[: k * 2]])
        dense_rank = {i: (r, s) for r, (i, s) in enumerate(dense, start=1)}
        sparse_rank = {i: (r, s) for r, (i, s) in enumerate(sparse, start=1)}
        hits: list[SearchHit] = []
        for cid, score in ranked:
            row = rows.get(cid)
            if row is None:  # a tombstone or a row deleted since the FAISS snapshot
                continue
            meta: dict[str, Any] = {"mode": mode, "chunk_index": row.position, **row.metadata}
            if cid in dense_rank:
                meta["dense_rank"], meta["dense_score"] = dense_rank[cid]
            if cid in sparse_rank:
                meta["bm25_rank"], meta["bm25_score"] = sparse_rank[cid]
            hits.append(
                SearchHit(
                    chunk_id=row.chunk_id, doc_id=row.doc_id, source=row.source, page_start=row.page_start,
                    page_end=row.page_end, heading_path=row.heading_path, score=float(score), text=row.text,
                    metadata=meta,
                )
            )
            if len(hits) == k:
                break
        return hits

    def _dense(self, query: str, depth: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        vectors = self.vectors
        if vectors.live_count == 0:
            return []
        q = self._embed([query])[0]
        if allowed is not None and vectors.kind == "hnsw" and len(allowed) <= self.exact_filter_limit:
            # A selective filter starves HNSW's graph walk (it can return fewer than k hits); scoring the
            # few allowed vectors exactly is both correct and cheap.
            import numpy as np

            assert self.embedder is not None
            ids, mat = self.store.vectors_for(self.embedder.model_name, allowed, vectors.dimension)
            scores = mat @ q
            top = np.argsort(-scores)[:depth]
            return [(int(ids[i]), float(scores[i])) for i in top]
        scores, ids = vectors.search(q, depth, allowed)
        return [(int(i), float(s)) for i, s in zip(ids, scores)]

    def stats(self) -> IndexStats:
        with self._lock:
            store = self.store
            self._refresh()
            dim = store.get_meta("embedding_dim")
            return IndexStats(
                directory=str(self.directory),
                documents=len(store.documents("status = 'indexed'")),
                failed_documents=len(store.documents("status = 'failed'")),
                chunks=store.count("chunks"),
                vectors=self.vectors.live_count,
                vector_index=self.vectors.kind,
                embedding_model=store.get_meta("embedding_model"),
                dimension=int(dim) if dim else None,
                chunking_fingerprint=store.get_meta("chunking_fingerprint"),
                cached_embeddings=store.count("embeddings"),
            )

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
                self._vectors = None

    def __enter__(self) -> Self:
        self.warm_up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _progress(progress: bool | ProgressCallback, total: int) -> Callable[[int, str], None]:
    """A ``tick(done, path)`` function; ``tick(-1, "")`` closes a tqdm bar."""
    if callable(progress):
        cb = progress
        return lambda n, path: cb(n, total, path) if n >= 0 else None
    if not progress:
        return lambda n, path: None
    from tqdm import tqdm

    # disable=None: no bar when stderr is not a terminal (CI logs, pipes).
    bar = tqdm(total=total, unit="file", desc="ingest", file=sys.stderr, disable=None, dynamic_ncols=True)

    def tick(n: int, path: str) -> None:
        if n < 0:
            bar.close()
            return
        bar.set_postfix_str(os.path.basename(path)[-40:], refresh=False)
        bar.update(1)

    return tick


__all__ = ["FileError", "Index", "IndexStats", "IngestReport", "ProgressCallback"]
