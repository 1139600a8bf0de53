"""Swappable roles of the pipeline, as structural protocols, and the hit type retrieval returns.

Tests use small fakes that satisfy these; real implementations live in their stage modules.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from pipeline.document import Document

if TYPE_CHECKING:
    from pipeline.chunking import Chunk, ChunkingOptions

SearchMode = Literal["dense", "bm25", "hybrid"]
"""``dense``: cosine over embeddings; ``bm25``: full-text; ``hybrid``: reciprocal rank fusion of both."""

PagesArg = int | Sequence[int] | range | tuple[int, int] | None
"""A page, a list of pages or a ``range`` (1-based) that search hits must overlap."""


class SearchHit(BaseModel):
    chunk_id: str
    doc_id: str
    source: str
    page_start: int
    page_end: int
    heading_path: list[str] = Field(default_factory=list)
    score: float
    text: str
    metadata: dict[str, Any] = Field(default_factory=dict)


@runtime_checkable
class Extractor(Protocol):
    """Backend: bytes of one format -> Document."""

    format: str

    def extract(self, data: bytes, *, source: str, content_hash: str) -> Document: ...


@runtime_checkable
class Embedder(Protocol):
    model_name: str
    dimension: int

    def warm_up(self) -> None: ...

    def embed(self, texts: list[str]) -> Any:  # numpy.ndarray (n, dimension), float32, L2-normalised
        ...


class Fingerprinted(Protocol):
    """Options whose fingerprint is stored with what they produced, so a change of options is noticed."""

    def fingerprint(self) -> str: ...


@runtime_checkable
class DocumentParser(Protocol):
    """Role of :class:`pipeline.parsing.Parser` during ingest: read a file's bytes, then parse them."""

    @property
    def options(self) -> Fingerprinted: ...

    def read(self, path: str | os.PathLike[str]) -> bytes: ...

    def parse_bytes(self, data: bytes, *, source: str, content_hash: str | None = None) -> Document: ...


@runtime_checkable
class DocumentChunker(Protocol):
    """Role of :class:`pipeline.chunking._chunker.Chunker`: ``Document -> list[Chunk]`` with known options."""

    @property
    def options(self) -> ChunkingOptions: ...

    def run(self, document: Document) -> list[Chunk]: ...


@runtime_checkable
class Retriever(Protocol):
    """Top ``k`` chunks for a query. ``source_glob`` keeps hits whose path or file name matches; ``pages``
    keeps hits overlapping those pages."""

    def search(
        self,
        query: str,
        k: int = 5,
        mode: SearchMode = "hybrid",
        source_glob: str | None = None,
        pages: PagesArg = None,
    ) -> list[SearchHit]: ...


@runtime_checkable
class Reranker(Protocol):
    """Second retrieval stage: reorders the first stage's candidates (best first)."""

    def depth(self, k: int) -> int:
        """How many first-stage candidates to fetch for a top-``k`` answer."""
        ...

    def rerank(self, query: str, hits: list[SearchHit]) -> list[SearchHit]: ...


__all__ = [
    "DocumentChunker",
    "DocumentParser",
    "Embedder",
    "Extractor",
    "Fingerprinted",
    "PagesArg",
    "Reranker",
    "Retriever",
    "SearchHit",
    "SearchMode",
]
