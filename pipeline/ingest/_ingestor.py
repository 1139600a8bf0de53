"""Ingest: files (or parsed documents) -> chunks -> vectors, committed into an :class:`~pipeline.index._index.Index`.

Incremental: a file whose bytes (sha256) and parser are unchanged is not parsed again; if its chunking
options changed it is re-chunked from the stored parse; a chunk text seen before (by this model) is never
embedded again. Each file's bytes are read once and hashed once, here, before anything is parsed (the Ray
engine's workers read a changed file a second time). Each document is committed on its own, so killing an
ingest loses at most the documents in flight.

Producer and writer: an engine (:mod:`pipeline.ingest.engines.local`, :mod:`pipeline.ingest.engines.ray`) turns the files
that need parsing into prepared documents (:mod:`pipeline.ingest._prepare`); this stage is the one writer,
which embeds what the engine did not, commits, and checkpoints, in input order.

    report = Ingestor(index).run(["docs/"], prune=True)
"""

from __future__ import annotations

import inspect
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from pipeline.chunking import Chunker
from pipeline.document import ErrorRecord
from pipeline.document import content_hash as hash_of
from pipeline.exceptions import ConfigurationError, EmbeddingModelMismatchError, InputError
from pipeline.index import backfill_profiles, embed_checked, save_profile
from pipeline.ingest._prepare import ParseJob, PreparedDocument, chunk_document, embedding_groups, prepare_job
from pipeline.parsing import Parser, PathScan, scan_paths
from pipeline.protocols import DocumentChunker, DocumentParser, Embedder
from pipeline.version import __version__

if TYPE_CHECKING:
    from pipeline.chunking import Chunk
    from pipeline.document import Document
    from pipeline.index import Index
    from pipeline.ingest.engines.local import LocalEngine
    from pipeline.ingest.engines.ray import RayEngine
    from pipeline.parsing import ParseOptions

ProgressCallback = Callable[[int, int, str], None]
"""``callback(done, total, path)`` after each file."""

EngineName = Literal["local", "ray"]


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


class Ingestor:
    """Pipeline stage: paths or documents -> :class:`IngestReport`, written into ``index``.

    ``parser``, ``chunker`` and ``embedder`` default to the index's (a :class:`~pipeline.parsing.Parser`
    with ``parse_options``, a :class:`~pipeline.chunking._chunker.Chunker` with the index's chunking options, the
    index's embedder); injected ones must agree with the index on chunking options and model.

    An engine prepares the files (parse, chunk; ``ray`` also embeds) and this stage, the one writer,
    commits them in input order. ``engine="local"`` parses in ``workers`` processes while this process
    embeds; ``workers=0`` does everything here, one file after another; None: one worker per two cores,
    or 0 with an injected parser or chunker (its state stays in this process).
    ``engine="ray"`` runs parse, chunk and embed on Ray Data (``ray_address``: an existing cluster;
    None starts a local Ray). Every engine gives the same chunks, vectors and index contents.
    """

    def __init__(
        self,
        index: Index,
        *,
        parser: DocumentParser | None = None,
        parse_options: ParseOptions | None = None,
        chunker: DocumentChunker | None = None,
        embedder: Embedder | None = None,
        engine: EngineName = "local",
        workers: int | None = None,
        ray_address: str | None = None,
    ) -> None:
        if engine not in ("local", "ray"):
            raise ConfigurationError(f"unknown ingest engine {engine!r} (local or ray)", stage="ingest")
        if workers is not None and workers < 0:
            raise ConfigurationError("workers must be 0 (sequential) or more", stage="ingest")
        self.index = index
        self.parse_options = parse_options
        self.engine = engine
        self.workers = workers
        self.ray_address = ray_address
        self._parser = parser
        self._chunker = chunker
        self._embedder = embedder
        # An injected parser or chunker may keep state (counters, caches) that copies in worker processes
        # would not share: it runs in this process unless workers are asked for explicitly.
        self._parts_injected = parser is not None or chunker is not None

    def warm_up(self) -> None:
        index = self.index
        index.warm_up()
        assert index.embedder is not None and index.chunking is not None  # set by Index.warm_up
        if self._parser is None:
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
        return f"{__version__}:{self.parser.options.fingerprint()}"

    # -- entry points ------------------------------------------------------------------------------
    def run(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | PathScan,
        *,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
        prune: bool = False,
        progress: bool | ProgressCallback = False,
    ) -> IngestReport:
        """Index files and folders (folders are walked with ``include``/``exclude`` globs; a
        :class:`~pipeline.parsing.PathScan` the caller already made is used as it is, globs included).

        ``prune``: also remove documents whose file no longer exists under the given folders.
        ``progress``: True for a tqdm bar on stderr, or a ``callback(done, total, path)``.
        Failures are recorded per file in the report; they never stop the run. Ctrl-C stops the run
        with every document committed before it kept (the engine's workers are ended).
        """
        t0 = time.perf_counter()
        self.warm_up()
        if not isinstance(paths, PathScan):
            paths = scan_paths([paths] if isinstance(paths, (str, os.PathLike)) else paths, include, exclude)
        files = paths.files
        report = IngestReport(files=len(files))
        with self.index.writing():
            tick = _progress(progress, len(files))
            try:
                with self._open_engine() as engine:
                    n = 0
                    for group in embedding_groups(engine.prepare(self._jobs(files)), engine.embed_group_texts):
                        self._embed_group(group)
                        for prepared in group:
                            self._write(prepared, report)
                            self.index.checkpoint()
                            n += 1
                            tick(n, prepared.key, prepared.document.pages if prepared.document else 0)
                if prune:
                    for folder in paths.roots:
                        if folder.is_dir():
                            self._prune(os.path.abspath(folder), report)
                self._rechunk_stale(report)
                backfill_profiles(self.index.store)  # documents indexed before profiles existed
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

    # -- the producer side: which files need parsing -------------------------------------------------
    def _open_engine(self) -> LocalEngine | RayEngine:
        if self.engine == "ray":
            from pipeline.ingest.engines.ray import RayEngine

            return RayEngine(self.parser, self.chunker, self.embedder, address=self.ray_address)
        from pipeline.ingest.engines.local import LocalEngine, default_workers

        if self.workers is not None:
            workers = self.workers
        else:
            workers = 0 if self._parts_injected else default_workers()
        return LocalEngine(self.parser, self.chunker, workers=workers)

    def _jobs(self, files: Iterable[Path]) -> Iterator[PreparedDocument | ParseJob]:
        """Each file read and hashed once, here: unchanged and unreadable files are settled before any
        parse; the rest become jobs for the engine. Runs ahead of the writer (a few files; the Ray engine:
        all of them), which is safe because each key appears once (``scan_paths`` de-duplicates) and only
        its own commit changes its row. The writer counts every file when it reaches it."""
        for path in files:
            key = os.path.abspath(path)
            try:
                data = self.parser.read(path)
            except InputError as exc:
                yield PreparedDocument.failed(key, "", exc)
                continue
            content_hash = hash_of(data)
            row = self.index.store.document(key)
            if row is not None and row.status == "indexed" and row.doc_id == content_hash and (
                row.parser == self.parser_fingerprint
            ):
                yield PreparedDocument(key=key, status="unchanged", content_hash=content_hash)
            else:
                yield ParseJob(key=key, content_hash=content_hash, data=data)

    # -- the writer side: one prepared file -----------------------------------------------------------
    def _write(self, prepared: PreparedDocument, report: IngestReport) -> None:
        key = prepared.key
        if prepared.status == "failed":
            assert prepared.error is not None
            report.failed += 1
            report.errors.append(prepared.error)
            if prepared.content_hash and prepared.failure is not None:
                self.index.store.record_failure(key, prepared.content_hash, self.fingerprint, prepared.failure)
        elif prepared.status == "unchanged":
            self._skip_or_rechunk(prepared, report)
        else:
            assert prepared.document is not None
            report.count_parsed(prepared.document)
            self._commit(prepared, report, parser=self.parser_fingerprint)

    def _skip_or_rechunk(self, prepared: PreparedDocument, report: IngestReport) -> None:
        """A file whose bytes and parser are unchanged: skip it, or re-chunk its stored parse when the
        chunking options changed (parse it again only when that parse cannot be loaded)."""
        row = self.index.store.document(prepared.key)
        assert row is not None
        if row.chunking == self.fingerprint:
            report.skipped += 1
            return
        stored = self.index.store.load_document(row.id)
        if stored is None:
            self._write(prepare_job(ParseJob(key=prepared.key, content_hash=prepared.content_hash),
                                    self.parser, self.chunker), report)
            return
        report.rechunked += 1
        self._index_document(prepared.key, stored, report)

    def _index_document(self, key: str, doc: Document, report: IngestReport, parser: str | None = None) -> None:
        """Chunk, embed (cache misses only) and commit one document. ``parser``: fingerprint of the parse
        that produced ``doc`` (None: re-chunking a stored parse, which keeps its fingerprint)."""
        self._commit(chunk_document(key, doc, self.chunker), report, parser=parser)

    def _commit(self, prepared: PreparedDocument, report: IngestReport, parser: str | None) -> None:
        assert prepared.document is not None
        chunks, hashes = prepared.chunks, prepared.text_hashes
        cached, embedded = self._vectors(chunks, hashes, prepared.vectors)
        report.embedded += len(embedded)
        report.cached += sum(1 for h in hashes if h in cached)
        removed, added = self.index.commit_document(
            prepared.key, prepared.document, chunks, hashes, cached=cached, embedded=embedded, parser=parser
        )
        report.chunks_added += added
        report.chunks_removed += removed
        save_profile(self.index.store, prepared.key, prepared.document)  # who and when (query linking)

    def _embed_group(self, group: list[PreparedDocument]) -> None:
        """Embed the cache misses of several parsed documents in one call, ahead of their commits (each
        commit then takes its vectors from ``prepared.vectors``; a text two of them share is embedded once
        and found in the cache by the second, as it would be one document at a time)."""
        parsed = [p for p in group if p.status == "parsed" and not p.vectors]
        if len(parsed) < 2:
            return  # one document: embedded at its commit
        hashes = [h for p in parsed for h in p.text_hashes]
        cached = self.index.store.cached_vectors(self.embedder.model_name, hashes)
        todo: dict[str, str] = {}
        for p in parsed:
            todo.update((h, c.embedding_text) for h, c in zip(p.text_hashes, p.chunks) if h not in cached)
        if not todo:
            return
        vecs = embed_checked(self.embedder, list(todo.values()))
        by_hash = {h: vecs[i].tobytes() for i, h in enumerate(todo)}
        for p in parsed:
            p.vectors = {h: by_hash[h] for h in p.text_hashes if h in by_hash}

    def _vectors(
        self, chunks: list[Chunk], hashes: list[str], ready: dict[str, bytes]
    ) -> tuple[dict[str, bytes], dict[str, bytes]]:
        """(vectors from the embedding cache, vectors new to it), both by text hash. ``ready``: vectors
        the engine already embedded (Ray); only cache misses without one are embedded here."""
        embedder = self.embedder
        cached = self.index.store.cached_vectors(embedder.model_name, hashes)
        new = {h: ready[h] for h in hashes if h not in cached and h in ready}
        todo = {h: c.embedding_text for h, c in zip(hashes, chunks) if h not in cached and h not in new}
        if todo:
            vecs = embed_checked(embedder, list(todo.values()))
            new.update((h, vecs[i].tobytes()) for i, h in enumerate(todo))
        return cached, new

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


def _progress(progress: bool | ProgressCallback, total: int) -> Callable[..., None]:
    """A ``tick(done, path, pages)`` function; ``tick(-1, "")`` closes a tqdm bar. A callback that takes a
    fourth argument also gets the pages of the file just written (0 for an unchanged or failed one)."""
    if callable(progress):
        cb = progress
        try:
            with_pages = len(inspect.signature(cb).parameters) >= 4
        except (TypeError, ValueError):
            with_pages = False
        if with_pages:
            return lambda n, path, pages=0: cb(n, total, path, pages) if n >= 0 else None  # type: ignore[call-arg]
        return lambda n, path, pages=0: cb(n, total, path) if n >= 0 else None
    if not progress:
        return lambda n, path, pages=0: None
    from tqdm import tqdm

    # disable=None: no bar when stderr is not a terminal (CI logs, pipes).
    bar = tqdm(total=total, unit="file", desc="ingest", file=sys.stderr, disable=None, dynamic_ncols=True)
    pages_seen = [0]

    def tick(n: int, path: str, pages: int = 0) -> None:
        if n < 0:
            bar.close()
            return
        pages_seen[0] += pages
        bar.set_postfix_str(f"{pages_seen[0]} pages, {os.path.basename(path)[-40:]}", refresh=False)
        bar.update(1)

    return tick


__all__ = ["EngineName", "IngestReport", "Ingestor", "ProgressCallback"]
