"""A persistent, incremental, content-addressed search index over documents.

One directory holds everything::

    index.sqlite    documents, chunks (+ FTS5 for BM25), embedding cache, metadata  (source of truth)
    vectors.faiss   FAISS IndexIDMap2 (exact, or HNSW past a size threshold) keyed by chunk row id
    write.lock      file lock (filelock): one writer at a time; readers never block

:class:`Index` owns it: the store, the write lock, and FAISS, written atomically at the end of a write
(and at checkpoints) and reconciled with SQLite whenever they disagree, so it can never serve ids SQLite
does not know or miss ones it does. It is storage only: ingest (:mod:`pipeline.ingest`) writes into it and
retrieval (:mod:`pipeline.retrieval`) reads from it, and it imports neither; :class:`pipeline.Pipeline` puts
the three together.

    index = Index.open("my-index")
    report = Ingestor(index).run(["docs/"], prune=True)
    hits = IndexRetriever(index).search("revenue recognition", k=5, mode="hybrid")
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from typing_extensions import Self

from pipeline.chunking import ChunkingOptions
from pipeline.embedding import Devices, embedder_for_index
from pipeline.exceptions import EmbeddingModelMismatchError, IndexLockedError, IndexStoreError
from pipeline.index._chunking import chunking_for
from pipeline.index._faiss import VectorIndex
from pipeline.index._store import DocStore
from pipeline.protocols import Embedder

if TYPE_CHECKING:
    from pipeline.chunking import Chunk
    from pipeline.document import Document

log = logging.getLogger(__name__)


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
        backend: str = "auto",
        precision: str = "auto",
        cache_dir: str | os.PathLike[str] | None = None,
        hnsw_threshold: int = 50_000,
        checkpoint_seconds: float = 60.0,
        use_gpu: bool | None = None,
        create: bool = True,
        devices: Devices | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.embedder = embedder
        self.chunking = chunking
        self.backend = backend
        self.precision = precision
        self.cache_dir = cache_dir
        self.hnsw_threshold = hnsw_threshold
        self.checkpoint_seconds = checkpoint_seconds
        self.use_gpu = use_gpu
        self.create = create
        self.devices = devices
        self._store: DocStore | None = None
        self._vectors: VectorIndex | None = None
        self._generation = -1
        self._lock = threading.RLock()
        self._lock_fd: Any = None  # the held filelock.FileLock
        self._lock_depth = 0
        self._last_save = 0.0

    # -- opening ----------------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        *,
        embedder: Embedder | None = None,
        chunking: ChunkingOptions | None = None,
        create: bool = True,
        **kwargs: Any,
    ) -> Index:
        """Open the index in ``directory``; with ``create=False`` a folder that holds none raises
        :class:`IndexStoreError` instead of becoming a new, empty index (a mistyped path is then an error).
        :meth:`create` says the other intent explicitly.

        ``embedder``: defaults to the model the index was built with (or all-MiniLM-L6-v2 for a new one);
        a different model raises :class:`EmbeddingModelMismatchError`. ``chunking``: defaults to the
        options the index was built with; new options re-chunk documents on the next :meth:`add`. Chunk
        budgets are always counted with the embedding model's tokenizer.
        """
        index = cls(directory, embedder=embedder, chunking=chunking, create=create, **kwargs)
        index.warm_up()
        return index

    @classmethod
    def create(cls, directory: str | os.PathLike[str], *, embedder: Embedder | None = None,
               chunking: ChunkingOptions | None = None, **kwargs: Any) -> Index:
        """A new index in ``directory`` (opened as is when one is already there)."""
        if not (Path(directory) / cls.DB_FILE).is_file():
            log.info("creating a new index in %s", directory)
        return cls.open(directory, embedder=embedder, chunking=chunking, create=True, **kwargs)

    def __repr__(self) -> str:
        model, state = getattr(self.embedder, "model_name", None), "open" if self._store is not None else "closed"
        return f"Index({str(self.directory)!r}, {state}, model={model!r})"

    @classmethod
    def stored_chunking(cls, directory: str | os.PathLike[str]) -> ChunkingOptions | None:
        """The chunking options the index in ``directory`` was last written with (None: no index yet)."""
        db = Path(directory) / cls.DB_FILE
        if not db.is_file():
            return None
        store = DocStore(db)
        try:
            stored = store.get_meta("chunking_options")
        finally:
            store.close()
        return ChunkingOptions.model_validate_json(stored) if stored else None

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
                assert self.embedder is not None
                self._vectors = VectorIndex(
                    int(self.embedder.dimension), hnsw_threshold=self.hnsw_threshold, use_gpu=self.use_gpu
                )
                self._vectors.load(self.directory / self.VECTORS_FILE)
                self._refresh(force=True)
            except BaseException:
                self._store = None
                store.close()
                raise

    def _check_model(self, store: DocStore) -> None:
        stored, stored_dim = store.get_meta("embedding_model"), store.get_meta("embedding_dim")
        if self.embedder is None:
            self.embedder = embedder_for_index(stored, store.get_meta("embedding_model_path"), backend=self.backend,
                                               precision=self.precision, cache_dir=self.cache_dir,
                                               devices=self.devices)
        if stored and (self.embedder.model_name != stored or str(self.embedder.dimension) != stored_dim):
            raise EmbeddingModelMismatchError(
                f"index was built with embedding model {stored} ({stored_dim}-d) but this embedder is "
                f"{self.embedder.model_name} ({self.embedder.dimension}-d) ('+int8': int8 vectors); open it "
                "with the same model and precision, or build a new index", source=str(self.directory), stage="index")

    def _init_chunking(self, store: DocStore) -> None:
        assert self.embedder is not None
        if self.chunking is None:
            stored = store.get_meta("chunking_options")
            self.chunking = ChunkingOptions.model_validate_json(stored) if stored else ChunkingOptions()
        # Budgets are measured in the tokens the embedder sees, whatever options were stored or given.
        self.chunking = chunking_for(self.embedder, self.chunking)

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

    # -- keeping FAISS equal to SQLite ------------------------------------------------------------
    def _refresh(self, force: bool = False) -> None:
        """Bring the in-memory FAISS index up to SQLite's state when another process (or a crash
        before the FAISS file was saved) left them apart."""
        store = self.store
        gen = store.generation()
        if not force and gen == self._generation:
            return
        vectors = self.vectors
        assert self.embedder is not None
        model = self.embedder.model_name
        # One read transaction: a snapshot, so a concurrent writer cannot slip a commit between the
        # id list and the vectors.
        with store.snapshot():
            gen = store.generation()
            vectors.reconcile(store.live_ids(), lambda ids: store.vectors_for(model, ids, vectors.dimension))
        self._generation = gen

    def _save_vectors(self) -> None:
        """Persist FAISS (only the lock holder writes it), rebuilding first when its kind should change
        or tombstones pile up."""
        vectors = self.vectors
        assert self.embedder is not None
        live = self.store.chunk_count()
        if vectors.needs_rebuild(live):
            vectors.rebuild(*self.store.vectors_for(self.embedder.model_name, None, vectors.dimension))
            vectors.dirty = True
        path = self.directory / self.VECTORS_FILE
        if vectors.dirty or not path.is_file():
            vectors.save(path)
        self._last_save = time.monotonic()

    def checkpoint(self) -> None:
        """Save the FAISS file mid-write when it changed and ``checkpoint_seconds`` have passed (a killed
        writer then leaves less to reconcile)."""
        if self.vectors.dirty and time.monotonic() - self._last_save >= self.checkpoint_seconds:
            self._save_vectors()

    @contextmanager
    def reading(self) -> Iterator[Index]:
        """An up-to-date view for searching: FAISS reconciled with SQLite, under the in-process lock.
        Never waits for another process's write lock."""
        with self._lock:
            self.warm_up()
            self._refresh()
            yield self

    # -- writing ----------------------------------------------------------------------------------
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
        # filelock: fcntl on Linux and macOS, msvcrt on Windows. The holder's pid goes in a file beside the
        # lock, so a second writer can say who holds it.
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.directory / self.LOCK_FILE), timeout=0, thread_local=False)
        pid_file = self.directory / (self.LOCK_FILE + ".pid")
        try:
            lock.acquire()
        except Timeout:
            try:
                holder = pid_file.read_text(encoding="ascii", errors="replace").strip() or "unknown"
            except OSError:
                holder = "unknown"
            raise IndexLockedError(
                f"index is being written by another process (pid {holder}); wait for it to finish, "
                "or stop it, then retry (searching does not need the lock)",
                source=str(self.directory),
                stage="index",
            ) from None
        with contextlib.suppress(OSError):  # a read-only side file does not stop the writer
            pid_file.write_text(f"{os.getpid()}\n", encoding="ascii")
        self._lock_fd = lock

    def _release_file_lock(self) -> None:
        if self._lock_fd is not None:
            try:
                (self.directory / (self.LOCK_FILE + ".pid")).unlink(missing_ok=True)
            except OSError:
                pass
            finally:
                self._lock_fd.release()
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

    def _require_writer(self) -> None:
        if self._lock_depth == 0:
            raise IndexStoreError("index writes must run inside Index.writing()", source=str(self.directory))

    def commit_document(
        self, path: str, document: Document, chunks: list[Chunk], text_hashes: list[str], *,
        cached: Mapping[str, bytes], embedded: Mapping[str, bytes], parser: str | None,
    ) -> tuple[int, int]:
        """Swap ``path``'s chunks for ``chunks`` in one SQLite transaction, then in FAISS; call inside
        :meth:`writing`. ``cached``/``embedded``: the chunks' vectors by text hash, from the embedding
        cache / embedded now (those join the cache). ``parser``: fingerprint of the parse (None: a stored
        parse re-chunked). Returns (chunks removed, chunks added)."""
        import numpy as np

        self._require_writer()
        assert self.embedder is not None
        removed, added = self.store.replace_document(
            path, document, chunks, text_hashes, self.fingerprint, dict(embedded), self.embedder.model_name, parser
        )
        vectors = self.vectors
        vectors.remove(removed)
        if added:
            by_hash = {**cached, **embedded}
            mat = np.frombuffer(b"".join(by_hash[h] for _, h in added), dtype=np.float32)
            vectors.add(np.array([i for i, _ in added], dtype=np.int64), mat.reshape(len(added), vectors.dimension))
        # Our own commit; we hold the lock, so nobody else moved the generation.
        self._generation = self.store.generation()
        return len(removed), len(added)

    def drop_document(self, row_id: int) -> int:
        """Remove a stored document (by row id) and its chunks, inside :meth:`writing`; returns how many chunks."""
        self._require_writer()
        removed = self.store.remove_document(row_id)
        self.vectors.remove(removed)
        self._generation = self.store.generation()
        return len(removed)

    def remove(self, sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> int:
        """Remove documents by path (as indexed: absolute) or ``Document.source``; returns how many."""
        n = 0
        if isinstance(sources, (str, os.PathLike)):
            sources = [sources]
        with self.writing():
            for s in sources:
                row = self.store.document(str(s)) or self.store.document(os.path.abspath(s))
                if row is not None:
                    self.drop_document(row.id)
                    n += 1
        return n

    def compact(self) -> int:
        """Drop cached vectors no chunk uses and reclaim disk space; returns how many were dropped."""
        with self.writing():
            n = self.store.prune_embeddings()
        self.store.vacuum()
        return n

    # -- reading ----------------------------------------------------------------------------------
    def stats(self) -> IndexStats:
        with self.reading():
            store = self.store
            dim = store.get_meta("embedding_dim")
            return IndexStats(
                directory=str(self.directory),
                documents=store.document_count("indexed"),
                failed_documents=store.document_count("failed"),
                chunks=store.chunk_count(),
                vectors=self.vectors.live_count,
                vector_index=self.vectors.kind,
                embedding_model=store.get_meta("embedding_model"),
                dimension=int(dim) if dim else None,
                chunking_fingerprint=store.get_meta("chunking_fingerprint"),
                cached_embeddings=store.cached_embedding_count(),
            )

    def stored_document(self, source: str | os.PathLike[str]) -> Document | None:
        """The parse stored for ``source`` when it was indexed (its elements, pages and boxes, made with the
        options the index was built with), or None when it is not indexed. ``source``: a path, looked up as
        given and as ingest keys files (absolute, symlinks kept), or a ``Document.source``."""
        with self._lock:
            store = self.store
            row = store.document(str(source)) or store.document(os.path.abspath(source))
            return store.load_document(row.id) if row is not None else None

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


__all__ = ["Index", "IndexStats"]
