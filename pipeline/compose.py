"""The composition layer: the one place that builds an index, an ingestor, a retriever, rerankers and an LLM
client from a :class:`~pipeline.config.RaglineConfig`. The CLI, the notebooks, the evaluations and a service
all build through it; nothing below it knows it exists.

    import pipeline
    with pipeline.Pipeline.from_file("ragline.toml") as rag:          # or Pipeline(RaglineConfig(...))
        report = rag.add(["docs/"])
        hits = rag.search("net sales", k=5, rerank="none")           # per call: nothing shared changes
        with rag.llm() as client:
            answer = rag.ask("What were net sales?", client=client)

Per-call choices (``k``, ``mode``, ``rerank``, ``linking``, filters) are arguments, so two threads searching one
index with different settings get what they would get one after the other.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel
from typing_extensions import Self

from pipeline.config import RaglineConfig
from pipeline.embedding import Devices, make_embedder
from pipeline.exceptions import ConfigurationError
from pipeline.index import Index, IndexStats
from pipeline.ingest import Ingestor, IngestReport, ProgressCallback
from pipeline.protocols import (
    DocumentChunker,
    DocumentParser,
    Embedder,
    PagesArg,
    Reranker,
    SearchHit,
    SearchMode,
)
from pipeline.retrieval import IndexRetriever, make_reranker

if TYPE_CHECKING:
    from pipeline.document import Document
    from pipeline.extraction import ExtractionResult, StructuredExtractor
    from pipeline.llm import LLMClient
    from pipeline.qa import Answer

T = TypeVar("T", bound=BaseModel)


class Pipeline:
    """Everything built from one configuration, lazily and once: the index (:attr:`index`), its writer
    (:meth:`ingestor`), its reader (:attr:`retriever`), rerankers by name, and LLM clients (:meth:`llm`).

    ``embedder``, ``parser``, ``chunker`` and ``client`` replace what the configuration would build (tests, a
    service that shares one embedder between indexes); ``devices`` replaces hardware detection; ``llm_opener``
    replaces how a stage opens its LLM client at its first model call (the CLI's says on stderr that the
    embedded model is loading; the server's shares one client)."""

    def __init__(
        self,
        config: RaglineConfig | None = None,
        *,
        embedder: Embedder | None = None,
        parser: DocumentParser | None = None,
        chunker: DocumentChunker | None = None,
        reranker: Reranker | None = None,
        client: LLMClient | None = None,
        devices: Devices | None = None,
        llm_opener: Callable[[], contextlib.AbstractContextManager[LLMClient]] | None = None,
    ) -> None:
        self.devices = devices
        self._llm_opener = llm_opener
        self.config = config or RaglineConfig()
        self._embedder = embedder
        self._parser = parser
        self._chunker = chunker
        self._default_reranker = reranker
        self._client = client
        self._index: Index | None = None
        self._retriever: IndexRetriever | None = None
        self._rerankers: dict[tuple[str, int], Reranker] = {}
        self._lock = threading.RLock()  # the parts build each other under it

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | os.PathLike[str] | None = None, **kwargs: Any) -> Pipeline:
        """The pipeline of ``path`` (TOML; None: ``$RAGLINE_CONFIG`` or the defaults) and the environment."""
        return cls(RaglineConfig.load(path), **kwargs)

    @classmethod
    def open(
        cls, directory: str | os.PathLike[str], *, config: RaglineConfig | None = None, **kwargs: Any
    ) -> Pipeline:
        """The pipeline over the index in ``directory`` (created when missing unless ``create=False``), opened
        now. Keyword arguments are :class:`Pipeline`'s or fields of :class:`~pipeline.config.IndexConfig`."""
        own = {k: kwargs.pop(k) for k in ("embedder", "parser", "chunker", "reranker", "client", "devices")
               if k in kwargs}
        chunking = kwargs.pop("chunking", None)
        parse_options = kwargs.pop("parse_options", None)
        base = config or RaglineConfig()
        try:
            index_config = base.index.model_copy(update={"directory": Path(directory), **kwargs})
            index_config = type(index_config).model_validate(index_config.model_dump())
        except Exception as exc:  # an unknown or bad keyword: name it
            raise ConfigurationError(f"bad index option: {exc}", stage="index") from None
        update: dict[str, Any] = {"index": index_config}
        if chunking is not None:
            update["chunking"] = chunking
        if parse_options is not None:
            update["parse"] = parse_options
        pipeline = cls(base.model_copy(update=update), **own)
        pipeline.index.warm_up()
        return pipeline

    def with_options(self, **sections: Any) -> Pipeline:
        """This pipeline with other settings for some sections (``qa=QAOptions(...)``, ``extraction=...``,
        ``search=...``); the index and what was built over it are shared."""
        derived = self._derive()
        derived.config = self.config.model_copy(update=sections)
        if "search" in sections:
            derived._retriever = None
        return derived

    def with_client(self, client: LLMClient) -> Pipeline:
        """This pipeline answering, extracting and reranking (``llm``) with ``client``."""
        derived = self._derive()
        derived._client = client
        derived._rerankers = {}
        return derived

    def _derive(self) -> Pipeline:
        import copy

        with self._lock:
            self.index  # noqa: B018  (built once, shared by the derived pipeline)
            derived = copy.copy(self)
            derived._rerankers = dict(self._rerankers)
        return derived

    # -- the parts -----------------------------------------------------------------------------------
    @property
    def index(self) -> Index:
        """The configured index (storage), built on first use."""
        with self._lock:
            if self._index is None:
                c = self.config.index
                if c.directory is None:
                    raise ConfigurationError("no index directory configured ([index] directory)", stage="index")
                embedder = self._embedder
                if embedder is None and c.model is not None:
                    embedder = make_embedder(c.backend, c.model, precision=c.precision, cache_dir=c.cache_dir,
                                             devices=self.devices)
                self._index = Index(
                    c.directory, embedder=embedder, chunking=self.config.chunking, backend=c.backend,
                    precision=c.precision, cache_dir=c.cache_dir, hnsw_threshold=c.hnsw_threshold,
                    checkpoint_seconds=c.checkpoint_seconds, create=c.create, devices=self.devices,
                )
            return self._index

    def ingestor(self, **overrides: Any) -> Ingestor:
        """A writer for :attr:`index` with the configured parse options and engine (``overrides``: any of
        :class:`~pipeline.ingest.Ingestor`'s keywords)."""
        c = self.config.ingest
        kwargs: dict[str, Any] = {
            "parser": self._parser, "parse_options": self.config.parse, "chunker": self._chunker,
            "engine": c.engine, "workers": c.workers, "ray_address": c.ray_address,
        }
        kwargs.update(overrides)
        return Ingestor(self.index, **kwargs)

    @property
    def retriever(self) -> IndexRetriever:
        """The one reader of :attr:`index`; safe to share between threads (per-call settings are arguments)."""
        index = self.index
        with self._lock:
            if self._retriever is None:
                s = self.config.search
                default = self._default_reranker or self._make_reranker(s.rerank, s.candidates)
                self._retriever = IndexRetriever(index, reranker=default, linking=s.linking)
            return self._retriever

    def reranker(self, name: str | None = None, candidates: int | None = None) -> Reranker:
        """The reranker ``name`` (None: the configured one), built once per name and depth."""
        s = self.config.search
        if name is None and candidates is None and self._default_reranker is not None:
            return self._default_reranker
        name, candidates = name or s.rerank, candidates or s.candidates
        with self._lock:
            key = (name, candidates)
            if key not in self._rerankers:
                self._rerankers[key] = self._make_reranker(name, candidates)
            return self._rerankers[key]

    def _make_reranker(self, name: str, candidates: int) -> Reranker:
        if name == "llm" and self._client is None:
            raise ConfigurationError("the llm reranker needs a client: Pipeline(..., client=...)", stage="search")
        embedder = None
        if name == "maxsim":  # scores with the index's own embedding model
            self.index.warm_up()
            embedder = self.index.embedder
        return make_reranker(name, embedder, candidates=candidates, client=self._client)

    @contextlib.contextmanager
    def llm(self) -> Iterator[LLMClient]:
        """An LLM client for the configured endpoint (or the embedded model), for the ``with`` block; the client
        given to the constructor, when there is one."""
        if self._client is not None:
            yield self._client
            return
        from pipeline.llm import open_llm

        with open_llm(self.config.llm) as client:
            yield client

    # -- the jobs ----------------------------------------------------------------------------------
    def add(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        *,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
        prune: bool = False,
        progress: bool | ProgressCallback = False,
    ) -> IngestReport:
        """Index files and folders; see :meth:`pipeline.ingest.Ingestor.run`."""
        return self.ingestor().run(paths, include=include, exclude=exclude, prune=prune, progress=progress)

    def add_documents(self, documents: Iterable[Document]) -> IngestReport:
        """Index already-parsed documents, keyed by ``Document.source``."""
        return self.ingestor().run_documents(documents)

    def search(
        self,
        query: str,
        k: int | None = None,
        mode: SearchMode | None = None,
        source_glob: str | None = None,
        pages: PagesArg = None,
        *,
        rerank: str | Reranker | None = None,
        linking: bool | None = None,
    ) -> list[SearchHit]:
        """Top ``k`` chunks for ``query``; ``rerank`` (a name or a reranker) and ``linking`` for this call only."""
        s = self.config.search
        reranker = self.reranker(rerank) if isinstance(rerank, str) else rerank
        return self.retriever.search(query, k=s.k if k is None else k, mode=mode or s.mode, source_glob=source_glob, pages=pages,
                                     reranker=reranker, linking=linking)

    def ask(self, question: str, *, client: LLMClient | None = None, source_glob: str | None = None,
            rerank: str | None = None, **options: Any) -> Answer:
        """Answer ``question`` from the index with verified citations (``options``: fields of ``QAOptions``)."""
        from pipeline.qa import QuestionAnswerer

        qa_options = self.config.qa.model_copy(update=options) if options else self.config.qa
        retriever = _RerankedRetriever(self.retriever, self.reranker(rerank)) if rerank else self.retriever
        answerer = QuestionAnswerer(retriever, client or self._client, qa_options)
        answerer.opener = self._opener()  # a model call, if one is needed, goes to the configured LLM
        with answerer:
            return answerer.run(question, source_glob=source_glob)

    def extract(self, source: Document | str | os.PathLike[str], schema: type[T], *,
                client: LLMClient | None = None, raise_on_failure: bool = True) -> ExtractionResult[T]:
        """Extract ``schema`` from a document or a path (parsed with the configured parse options)."""
        from pipeline.document import Document
        from pipeline.parsing import Parser

        if isinstance(source, Document):
            document = source
        elif self._parser is not None:
            document = self._parser.parse_bytes(self._parser.read(source), source=str(source))
        else:
            document = Parser(self.config.parse).run(source)
        with self.extractor(schema, client=client) as extractor:
            return extractor.run(document, raise_on_failure=raise_on_failure)

    def extractor(self, schema: type[T], *, client: LLMClient | None = None) -> StructuredExtractor[T]:
        """The extraction stage for ``schema`` with the configured options; its LLM client is ``client``, the
        pipeline's, or opened at its first model call (rules and e-invoice XML often need none)."""
        from pipeline.extraction import StructuredExtractor

        return StructuredExtractor(schema, client or self._client, self.config.extraction, opener=self._opener())

    def _opener(self) -> Any:
        """How a stage opens its client at its first model call: ``[llm]`` of this configuration (not the
        environment alone, which the configuration was loaded with already)."""
        if self._llm_opener is not None:
            return self._llm_opener
        from pipeline.llm import open_llm

        settings = self.config.llm
        return lambda: open_llm(settings)

    # -- storage shortcuts ---------------------------------------------------------------------------
    def stats(self) -> IndexStats:
        return self.index.stats()

    def remove(self, sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> int:
        return self.index.remove(sources)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Pipeline(index={str(self.config.index.directory)!r})"


class _RerankedRetriever:
    """A retriever with another reranker for one ask (the shared retriever is not touched)."""

    def __init__(self, retriever: IndexRetriever, reranker: Reranker) -> None:
        self._retriever, self._reranker = retriever, reranker

    def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid", source_glob: str | None = None,
               pages: PagesArg = None) -> list[SearchHit]:
        return self._retriever.search(query, k=k, mode=mode, source_glob=source_glob, pages=pages,
                                      reranker=self._reranker)


__all__ = ["Pipeline"]
