"""What chunking produces and is configured by: :class:`Chunk` (id = content hash, provenance) and
:class:`ChunkingOptions` (stored in the index; their fingerprint decides re-chunking)."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.embedding import DEFAULT_TOKENIZER


class ChunkingOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_tokens: int = Field(default=256, ge=16, description="token budget per chunk (embedding model tokens)")
    overlap_tokens: int = Field(default=0, ge=0, description="tokens of the previous chunk repeated when a section is split")
    tokenizer: str = Field(default=DEFAULT_TOKENIZER, description="model whose tokenizer measures the budget")
    include_heading_context: bool = Field(
        default=True, description="prefix each chunk's text with its heading path (helps retrieval)"
    )
    document_context: Literal["none", "name", "name+metadata"] = Field(
        default="name+metadata",
        description="what names the document in each chunk's embedding text (Chunk.context): nothing, the file "
        "name, or the file name plus a descriptive title/subject from the file's metadata",
    )
    table_rows: bool = Field(
        default=False, description="also index every table row as a small unit (row label, column headers, heading) "
        "linked to its table chunk; a row hit returns the table with the row marked",
    )

    def fingerprint(self) -> str:
        # Off, table_rows leaves the fingerprint as it was before the option existed: no index re-chunks.
        dump = self.model_dump_json(exclude=None if self.table_rows else {"table_rows"})
        return hashlib.sha256(dump.encode()).hexdigest()[:16]


class Chunk(BaseModel):
    id: str = Field(description="sha256 of text + provenance + chunking options")
    doc_id: str
    source: str
    text: str
    page_start: int
    page_end: int
    heading_path: list[str] = Field(default_factory=list)
    element_kinds: list[str] = Field(default_factory=list)
    n_tokens: int
    index: int = Field(description="position of the chunk in its document")
    options_fingerprint: str = ""
    context: str = Field(
        default="",
        description="what the document is (file name, metadata title/subject); embedded with the text, not part of it",
    )
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def embedding_text(self) -> str:
        """What the embedder and the keyword index see: the document context, then the chunk text.

        A 10-Q section reads the same in every quarter and every company's filing; without the document
        context "net sales" chunks of the wrong filing outrank the right one.
        """
        return f"{self.context}\n{self.text}" if self.context else self.text


__all__ = ["Chunk", "ChunkingOptions"]
