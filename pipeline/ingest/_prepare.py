"""What an ingest engine hands the index writer: one :class:`PreparedDocument` per input file, in input order.

The writer (:class:`pipeline.ingest._ingestor.Ingestor`) reads and hashes each file itself, so an unchanged file is
skipped before anything is parsed; only the files that need parsing become a :class:`ParseJob`, which an
engine turns into a prepared document (parse + chunk, and for the Ray engine embed too) wherever it runs:
in the writer's process, in a worker process, or on a Ray worker. :func:`prepare_job` is that one step,
shared by every engine, so they cannot drift apart.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.chunking import Chunk, Chunker
from pipeline.document import Document, ErrorRecord
from pipeline.document import content_hash as hash_of
from pipeline.exceptions import ConfigurationError, InputError, RaglineError
from pipeline.protocols import DocumentChunker, DocumentParser

PreparedStatus = Literal["parsed", "unchanged", "failed"]


class ParseJob(BaseModel):
    """A file that must be parsed: its index key (absolute path), the sha256 of its bytes, and the bytes.

    ``data`` is None when the engine reads the file itself (Ray workers, so the driver never holds the
    bytes of every file at once)."""

    model_config = ConfigDict(frozen=True)

    key: str
    content_hash: str
    data: bytes | None = Field(default=None, repr=False)


class PreparedDocument(BaseModel):
    """One input file, ready for the writer.

    ``parsed``: ``document`` with its ``chunks`` and their embedding-text hashes (and, from an engine that
    embeds, their ``vectors`` by text hash as float32 bytes); ``unchanged``: same bytes and parser as the
    indexed copy, so the writer skips it or re-chunks the stored parse; ``failed``: ``error`` says why
    (``failure`` is what the index records for it).
    """

    key: str
    status: PreparedStatus
    content_hash: str = ""
    document: Document | None = None
    chunks: list[Chunk] = Field(default_factory=list)
    text_hashes: list[str] = Field(default_factory=list)
    vectors: dict[str, bytes] = Field(default_factory=dict, repr=False)
    error: ErrorRecord | None = None
    failure: dict[str, Any] | None = None

    @classmethod
    def failed(cls, key: str, content_hash: str, exc: RaglineError) -> PreparedDocument:
        # Keyed like the index (absolute path), whatever path the exception was raised with.
        record = ErrorRecord.from_exception(exc, stage="ingest").model_copy(update={"source": key})
        return cls(key=key, status="failed", content_hash=content_hash, error=record, failure=exc.to_dict())


def text_hash(text: str) -> str:
    """Key of a chunk's embedding text in the index's embedding cache."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunk_document(key: str, doc: Document, chunker: DocumentChunker) -> PreparedDocument:
    chunks = chunker.run(doc)
    # What is embedded (and cached by hash) is the chunk text behind its document context.
    hashes = [text_hash(c.embedding_text) for c in chunks]
    return PreparedDocument(
        key=key, status="parsed", content_hash=doc.content_hash, document=doc, chunks=chunks, text_hashes=hashes
    )


def prepare_job(job: ParseJob, parser: DocumentParser, chunker: DocumentChunker) -> PreparedDocument:
    """Parse and chunk one file; a file that cannot be read or parsed becomes a ``failed`` record."""
    content_hash = job.content_hash
    try:
        data = job.data if job.data is not None else parser.read(Path(job.key))
        if job.data is None:
            # Read again by this engine: hash what was actually parsed (the file may have changed since).
            content_hash = hash_of(data)
        doc = parser.parse_bytes(data, source=job.key, content_hash=content_hash)
    except (InputError, ConfigurationError) as exc:
        return PreparedDocument.failed(job.key, content_hash, exc)
    return chunk_document(job.key, doc, chunker)


def embedding_groups(
    stream: Iterable[PreparedDocument], min_texts: int, max_documents: int = 32
) -> Iterator[list[PreparedDocument]]:
    """``stream`` cut into consecutive groups of at least ``min_texts`` chunks (or ``max_documents``
    documents, or what is left), so the writer can embed the chunks of several small documents in one
    call: an embedding call on a few short texts costs nearly as much as one on a full batch.
    ``min_texts=0``: one document per group (the sequential path)."""
    group: list[PreparedDocument] = []
    texts = 0
    for item in stream:
        group.append(item)
        texts += len(item.chunks)
        if texts >= min_texts or len(group) >= max_documents:
            yield group
            group, texts = [], 0
    if group:
        yield group


def portable_parts(parser: DocumentParser, chunker: DocumentChunker) -> bytes:
    """``(parser, chunker)`` pickled for another process, without what they loaded here (a warm
    :class:`Chunker` carries its tokenizer, ~0.5 MB; the copy loads its own)."""
    if type(chunker) is Chunker:
        chunker = Chunker(chunker.options)
    return pickle.dumps((parser, chunker))


__all__ = [
    "ParseJob", "PreparedDocument", "PreparedStatus", "chunk_document", "embedding_groups", "portable_parts",
    "prepare_job", "text_hash",
]
