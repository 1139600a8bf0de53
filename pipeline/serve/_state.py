"""What a running server holds: one reader and one writer per index, one embedder, one LLM client, the
schemas it was started with, its work queue and its metrics. Everything is built through
:class:`~pipeline.compose.Pipeline`; nothing here parses arguments.

Why a reader *and* a writer per index: :class:`~pipeline.index.Index` serialises its users with one in-process
lock, held by a writer for a whole ingest. A separate writer object (its own SQLite connection and FAISS copy)
lets searches go on while a job ingests: the reader sees each committed document through SQLite's write
generation, exactly as it sees another process's writes. Both share the embedder, so the model is loaded once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from pipeline.compose import Pipeline
from pipeline.config import RaglineConfig
from pipeline.serve._config import ServeConfig
from pipeline.serve._errors import ServeError
from pipeline.serve._metrics import Metrics
from pipeline.serve._work import WorkQueue

if TYPE_CHECKING:
    from pipeline.llm import LLMClient
    from pipeline.protocols import Embedder

log = logging.getLogger("pipeline.serve")


class ServerState:
    """The server's shared parts; :meth:`warm_up` opens the indexes and loads the embedder once."""

    def __init__(self, serve: ServeConfig, config: RaglineConfig | None = None, *,
                 embedder: Embedder | None = None, client: LLMClient | None = None) -> None:
        self.serve = serve
        self.config = config or RaglineConfig()
        self._embedder = embedder
        self._client = client
        self._readers: dict[str, Pipeline] = {}
        self._writers: dict[str, Pipeline] = {}
        self._write_locks = {name: threading.Lock() for name in serve.indexes}
        self._schemas: dict[str, type[BaseModel]] = {}
        self._llm_stack = contextlib.ExitStack()
        self._lock = threading.RLock()
        self.metrics = Metrics()
        self.work = WorkQueue(serve.workers, serve.queue_size, self.metrics)
        self.started = time.time()
        self.ready = False
        self.warm_up_error: BaseException | None = None

    # -- start and stop ------------------------------------------------------------------------------
    def warm_up(self) -> None:
        from pipeline.extraction import load_schema

        for name, spec in self.serve.schemas.items():
            self._schemas[name] = load_schema(spec)
        for name in self.serve.indexes:
            log.info("opening index %s (%s) and loading its embedding model", name, self.serve.indexes[name])
            reader = self.reader(name)
            reader.retriever  # noqa: B018  (built now, not at the first request)
            if self._embedder is None:
                self._embedder = reader.index.embedder
        self.ready = True

    def close(self) -> None:
        self.ready = False
        self.work.close()
        with self._lock:
            for rag in [*self._readers.values(), *self._writers.values()]:
                rag.close()
            self._readers.clear()
            self._writers.clear()
            self._llm_stack.close()  # stops the embedded LLM server, if one was started

    # -- the parts -------------------------------------------------------------------------------------
    def index_names(self) -> list[str]:
        return list(self.serve.indexes)

    def _directory(self, name: str) -> Any:
        try:
            return self.serve.indexes[name]
        except KeyError:
            known = ", ".join(self.serve.indexes) or "none"
            raise ServeError(f"no index named {name!r} (served: {known})", reason="not_found", status=404) from None

    def reader(self, name: str) -> Pipeline:
        """The pipeline that searches and answers over index ``name`` (shared by concurrent requests)."""
        directory = self._directory(name)
        with self._lock:
            if name not in self._readers:
                self._readers[name] = Pipeline.open(directory, config=self.config, embedder=self._embedder,
                                                    client=self._client, create=False)
            return self._readers[name]

    @contextlib.contextmanager
    def writer(self, name: str, *, wait: float = 0.0) -> Iterator[Pipeline]:
        """The one writer of index ``name``, for the ``with`` block. Another write in progress: waits up to
        ``wait`` seconds, then answers 409."""
        directory = self._directory(name)
        lock = self._write_locks[name]
        got = lock.acquire(timeout=wait) if wait > 0 else lock.acquire(blocking=False)
        if not got:
            raise ServeError(f"index {name!r} is being written by another request or job; retry when it is done",
                             reason="index_locked", status=409)
        try:
            with self._lock:
                if name not in self._writers:
                    embedder = self.reader(name).index.embedder
                    self._writers[name] = Pipeline.open(directory, config=self.config, embedder=embedder,
                                                        create=False)
                rag = self._writers[name]
            yield rag
        finally:
            lock.release()

    @property
    def embedder(self) -> Embedder:
        """The embedding model (the served indexes'; the bundled model when none is served)."""
        with self._lock:
            if self._embedder is None:
                from pipeline.embedding import make_embedder

                log.info("loading the embedding model")
                c = self.config.index
                self._embedder = make_embedder(c.backend, c.model, precision=c.precision, cache_dir=c.cache_dir)
                self._embedder.warm_up()
            return self._embedder

    def embedder_if_loaded(self) -> Embedder | None:
        return self._embedder

    def llm(self) -> LLMClient:
        """The one LLM client (started at the first request that needs a model; the embedded server when no
        endpoint is configured). Its own limit bounds the calls in flight."""
        with self._lock:
            if self._client is None:
                from pipeline.llm import open_llm

                log.info("starting the LLM (%s)", self.config.llm.base_url or "embedded model")
                self._client = self._llm_stack.enter_context(open_llm(self.config.llm))
            return self._client

    def llm_opener(self) -> Callable[[], contextlib.AbstractContextManager[LLMClient]]:
        """An ``opener`` for stages that start a client at their first model call: the shared one, never closed
        by the stage."""
        return lambda: contextlib.nullcontext(self.llm())

    def schema(self, name: str) -> type[BaseModel]:
        try:
            return self._schemas[name]
        except KeyError:
            known = ", ".join(self._schemas) or "none"
            raise ServeError(f"no schema named {name!r} (started with: {known})", reason="not_found",
                             status=404) from None

    def schema_names(self) -> list[str]:
        return list(self._schemas)


__all__ = ["ServerState"]
