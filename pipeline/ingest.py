"""Ingest: files (or parsed documents) -> chunks -> vectors, committed into an :class:`~pipeline.index.Index`.

Incremental: a file whose bytes (sha256) and parser are unchanged is not parsed again; if its chunking
options changed it is re-chunked from the stored parse; a chunk text seen before (by this model) is never
embedded again. Each file's bytes are read once and hashed once. Each document is committed on its own,
so killing an ingest loses at most the document in flight.

    report = Ingestor(index).run(["docs/"], prune=True)      # what index.add(["docs/"], prune=True) does
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from ._index_faiss import embed_checked
from ._profile_store import load_profiles, save_profile
from ._tokenizer import DEFAULT_TOKENIZER
from .chunking import Chunker, ChunkingOptions
from .document import ErrorRecord
from .exceptions import ConfigurationError, EmbeddingModelMismatchError, InputError, RaglineError
from .protocols import DocumentChunker, DocumentParser, Embedder

if TYPE_CHECKING:
    from ._index_store import DocumentRow
    from .chunking import Chunk
    from .document import Document
    from .index import Index
    from .parsing import ParseOptions

ProgressCallback = Callable[[int, int, str], None]
"""``callback(done, total, path)`` after each file."""


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
    partial: int = Field(default=0, description="files indexed with content missing (unreadable pages, repaired)")
    ocr_pages: int = Field(default=0, description="pages read by OCR (a success, counted)")
    errors: list[ErrorRecord] = Field(default_factory=list, description="why each failed file was not indexed")
    issues: list[ErrorRecord] = Field(
        default_factory=list, description="why each partial file is partial (it is indexed with what could be read)"
    )
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Every file indexed whole: nothing failed and nothing is partial."""
        return self.failed == 0 and self.partial == 0

    def count_parsed(self, doc: Document) -> None:
        """Count a freshly parsed document, with what it says about pages that were OCR'd or missing."""
        self.parsed += 1
        self.pages += doc.pages
        self.ocr_pages += len(doc.ocr_pages)
        if doc.is_partial:
            self.partial += 1
            self.issues.extend(doc.issues or [ErrorRecord(
                error="PartialDocument", reason="partial", message="some content could not be read",
                source=doc.source, stage="parse",
            )])


def chunking_for(embedder: Embedder, options: ChunkingOptions) -> ChunkingOptions:
    """``options`` with the tokenizer of ``embedder``'s model, so chunk budgets count the tokens it sees.

    The default model keeps the name ``all-MiniLM-L6-v2`` (existing indexes keep their chunking
    fingerprint); another local model is named by its directory, which holds its ``tokenizer.json``. An
    embedder without a model directory (a test double) leaves ``options`` as they are.
    """
    from .embedding import DEFAULT_MODEL

    if embedder.model_name == DEFAULT_MODEL:
        tokenizer = DEFAULT_TOKENIZER
    else:
        model_dir = getattr(embedder, "model_dir", None)
        if model_dir is None or not (Path(model_dir) / "tokenizer.json").is_file():
            return options
        tokenizer = str(Path(model_dir).resolve())
    return options if options.tokenizer == tokenizer else options.model_copy(update={"tokenizer": tokenizer})


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Ingestor:
    """Pipeline stage: paths or documents -> :class:`IngestReport`, written into ``index``.

    ``parser``, ``chunker`` and ``embedder`` default to the index's (a :class:`~pipeline.parsing.Parser`
    with ``parse_options``, a :class:`~pipeline.chunking.Chunker` with the index's chunking options, the
    index's embedder); injected ones must agree with the index on chunking options and model.
    """

    def __init__(
        self,
        index: Index,
        *,
        parser: DocumentParser | None = None,
        parse_options: ParseOptions | None = None,
        chunker: DocumentChunker | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.index = index
        self.parse_options = parse_options
        self._parser = parser
        self._chunker = chunker
        self._embedder = embedder

    def warm_up(self) -> None:
        index = self.index
        index.warm_up()
        assert index.embedder is not None and index.chunking is not None  # set by Index.warm_up
        if self._parser is None:
            from .parsing import Parser

            self._parser = Parser(self.parse_options)
        if self._chunker is None:
            self._chunker = Chunker(index.chunking)
        elif self._chunker.options != index.chunking:
            raise ConfigurationError("the chunker's options differ from the index's chunking options", stage="ingest")
        if self._embedder is None:
            self._embedder = index.embedder
        elif (self._embedder.model_name, self._embedder.dimension) != (
            index.embedder.model_name, index.embedder.dimension
        ):
            raise EmbeddingModelMismatchError(
                f"the index uses embedding model {index.embedder.model_name}, not {self._embedder.model_name}",
                source=str(index.directory), stage="ingest",
            )

    # -- the parts, once warm -----------------------------------------------------------------------
    @property
    def parser(self) -> DocumentParser:
        if self._parser is None:
            self.warm_up()
        assert self._parser is not None
        return self._parser

    @property
    def chunker(self) -> DocumentChunker:
        if self._chunker is None:
            self.warm_up()
        assert self._chunker is not None
        return self._chunker

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self.warm_up()
        assert self._embedder is not None
        return self._embedder

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the chunking options: stored with each document's chunks."""
        return self.chunker.options.fingerprint()

    @property
    def parser_fingerprint(self) -> str:
        """Files parsed by another ragline version or with other parse options are parsed again (the
        embedding cache keeps that cheap when the text did not change)."""
        from . import __version__

        return f"{__version__}:{self.parser.options.fingerprint()}"

    # -- entry points ------------------------------------------------------------------------------
    def run(
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
        self.warm_up()
        paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        files = expand_paths(paths, include, exclude)
        report = IngestReport(files=len(files))
        with self.index.writing():
            tick = _progress(progress, len(files))
            try:
                for n, path in enumerate(files, start=1):
                    self._ingest_file(path, report)
                    self.index.checkpoint()
                    tick(n, str(path))
                if prune:
                    for folder in paths:
                        if Path(folder).is_dir():
                            self._prune(os.path.abspath(folder), report)
                self._rechunk_stale(report)
                load_profiles(self.index.store)  # profiles documents indexed before profiles existed
            finally:
                tick(-1, "")
        report.seconds = time.perf_counter() - t0
        return report

    def run_documents(self, documents: Iterable[Document]) -> IngestReport:
        """Index already-parsed documents, keyed by ``Document.source`` (counted as ``parsed``)."""
        t0 = time.perf_counter()
        self.warm_up()
        report = IngestReport()
        with self.index.writing():
            for doc in documents:
                report.files += 1
                row = self.index.store.document(doc.source)
                unchanged = row is not None and row.status == "indexed" and row.doc_id == doc.content_hash
                if unchanged and row is not None and row.chunking == self.fingerprint:
                    report.skipped += 1
                    continue
                report.count_parsed(doc)
                self._index_document(doc.source, doc, report, parser="external")
                self.index.checkpoint()
            self._rechunk_stale(report)
        report.seconds = time.perf_counter() - t0
        return report

    # -- one file ----------------------------------------------------------------------------------
    def _ingest_file(self, path: Path, report: IngestReport) -> None:
        key = os.path.abspath(path)
        try:
            data = self.parser.read(path)
        except InputError as exc:
            self._fail(key, "", exc, report)
            return
        content_hash = hashlib.sha256(data).hexdigest()
        row = self.index.store.document(key)
        if row is not None and self._rechunk_or_skip(key, row, content_hash, report):
            return
        try:
            doc = self.parser.parse_bytes(data, source=key, content_hash=content_hash)
        except (InputError, ConfigurationError) as exc:
            self._fail(key, content_hash, exc, report)
            return
        report.count_parsed(doc)
        self._index_document(key, doc, report, parser=self.parser_fingerprint)

    def _rechunk_or_skip(self, key: str, row: DocumentRow, content_hash: str, report: IngestReport) -> bool:
        """Handle a file whose bytes and parser are unchanged without parsing it; False: parse it."""
        if row.status != "indexed" or row.doc_id != content_hash or row.parser != self.parser_fingerprint:
            return False
        if row.chunking == self.fingerprint:
            report.skipped += 1
            return True
        stored = self.index.store.load_document(row.id)
        if stored is None:
            return False
        report.rechunked += 1
        self._index_document(key, stored, report)
        return True

    def _fail(self, key: str, content_hash: str, exc: RaglineError, report: IngestReport) -> None:
        report.failed += 1
        # Keyed like the index (absolute path), whatever path the exception was raised with.
        record = ErrorRecord.from_exception(exc, stage="ingest").model_copy(update={"source": key})
        report.errors.append(record)
        if content_hash:
            self.index.store.record_failure(key, content_hash, self.fingerprint, exc.to_dict())

    def _index_document(self, key: str, doc: Document, report: IngestReport, parser: str | None = None) -> None:
        """Chunk, embed (cache misses only) and commit one document. ``parser``: fingerprint of the parse
        that produced ``doc`` (None: re-chunking a stored parse, which keeps its fingerprint)."""
        chunks = self.chunker.run(doc)
        # What is embedded (and cached by hash) is the chunk text behind its document context.
        hashes = [_text_hash(c.embedding_text) for c in chunks]
        cached, embedded = self._vectors(chunks, hashes)
        report.embedded += len(embedded)
        report.cached += sum(1 for h in hashes if h in cached)
        removed, added = self.index.commit_document(
            key, doc, chunks, hashes, cached=cached, embedded=embedded, parser=parser
        )
        report.chunks_added += added
        report.chunks_removed += removed
        save_profile(self.index.store, key, doc)  # who and when the document is about (query linking)

    def _vectors(self, chunks: list[Chunk], hashes: list[str]) -> tuple[dict[str, bytes], dict[str, bytes]]:
        """(vectors from the embedding cache, vectors embedded now), both by text hash."""
        embedder = self.embedder
        cached = self.index.store.cached_vectors(embedder.model_name, hashes)
        todo = {h: c.embedding_text for h, c in zip(hashes, chunks) if h not in cached}
        if not todo:
            return cached, {}
        vecs = embed_checked(embedder, list(todo.values()))
        return cached, {h: vecs[i].tobytes() for i, h in enumerate(todo)}

    # -- documents not named in this run -----------------------------------------------------------
    def _prune(self, folder: str, report: IngestReport) -> None:
        for row in self.index.store.documents_under(folder):
            if not os.path.exists(row.path):
                report.chunks_removed += self.index.drop_document(row.id)
                report.removed += 1

    def _rechunk_stale(self, report: IngestReport) -> None:
        """Documents chunked with other options than the current ones (and not seen in this run):
        re-chunk from the stored parse; only chunk texts never seen before get embedded."""
        store = self.index.store
        for row in store.stale_documents(self.fingerprint):
            doc = store.load_document(row.id)
            if doc is None:
                continue
            report.rechunked += 1
            self._index_document(row.path, doc, report)
            self.index.checkpoint()


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


__all__ = ["IngestReport", "Ingestor", "ProgressCallback", "chunking_for"]
