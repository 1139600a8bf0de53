"""Structure-aware chunking: ``Document -> list[Chunk]`` with sections never mixed, tables whole and budgets in
the embedding model's tokens; table rows as small units of their own (``ChunkingOptions(table_rows=True)``).

    from pipeline.chunking import ChunkingOptions, chunk
    chunks = chunk(document, ChunkingOptions(max_tokens=256))
"""

from __future__ import annotations

from pipeline.chunking._chunker import Chunker, chunk, document_context
from pipeline.chunking._models import Chunk, ChunkingOptions
from pipeline.chunking._table_rows import ROW_KIND, column_headers, row_chunks, row_facts

__all__ = [
    "ROW_KIND",
    "Chunk",
    "Chunker",
    "ChunkingOptions",
    "chunk",
    "column_headers",
    "document_context",
    "row_chunks",
    "row_facts",
]
