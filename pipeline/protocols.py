"""Swappable roles of the pipeline, as structural protocols, and the hit type retrieval returns.

Tests use small fakes that satisfy these; real implementations live in their stage modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from .document import Document


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


@runtime_checkable
class Retriever(Protocol):
    def search(self, query: str, k: int = 5, mode: str = "hybrid") -> list[SearchHit]: ...


@runtime_checkable
class LLMClient(Protocol):
    model: str

    def chat(self, messages: list[dict[str, Any]], **kwargs: Any) -> Any: ...


PathLike = str | Path
