"""ragline: documents in, structured text, a vector index and typed LLM extraction out.

Public API (heavy dependencies load lazily, on first use)::

    import pipeline
    doc = pipeline.parse("report.pdf")            # -> Document
    chunks = pipeline.chunk(doc)                   # -> list[Chunk]
    print(doc.to_markdown())
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .exceptions import *  # noqa: F401,F403  (light: stdlib only)
from .exceptions import __all__ as _exc_all

from ._version import __version__

# name -> module that defines it; resolved on first attribute access so `import pipeline` stays light.
_LAZY: dict[str, str] = {
    "Document": "pipeline.document",
    "Element": "pipeline.document",
    "ElementKind": "pipeline.document",
    "BBox": "pipeline.document",
    "TableData": "pipeline.document",
    "ParseResult": "pipeline.document",
    "ParseStatus": "pipeline.document",
    "Chunk": "pipeline.chunking",
    "ChunkingOptions": "pipeline.chunking",
    "Chunker": "pipeline.chunking",
    "chunk": "pipeline.chunking",
    "ParseOptions": "pipeline.parsing",
    "Parser": "pipeline.parsing",
    "parse": "pipeline.parsing",
    "parse_many": "pipeline.parsing",
    "SearchHit": "pipeline.protocols",
    "Index": "pipeline.index",
    "IndexStats": "pipeline.index",
    "IngestReport": "pipeline.index",
    "FileError": "pipeline.index",
    "OnnxEmbedder": "pipeline.embedding",
    "SentenceTransformerEmbedder": "pipeline.embedding",
    "make_embedder": "pipeline.embedding",
    "LLMClient": "pipeline.llm",
    "AsyncLLMClient": "pipeline.llm",
    "ChatCompletion": "pipeline.llm",
    "Usage": "pipeline.llm",
    "RetryPolicy": "pipeline.llm",
    "LocalLLMServer": "pipeline.llm",
    "StructuredExtractor": "pipeline.llm",
    "ExtractionOptions": "pipeline.llm",
    "ExtractionResult": "pipeline.llm",
    "ExtractionStatus": "pipeline.llm",
    "FieldEvidence": "pipeline.llm",
    "extract": "pipeline.llm",
    "QuestionAnswerer": "pipeline.llm",
    "QAOptions": "pipeline.llm",
    "Answer": "pipeline.llm",
    "Citation": "pipeline.llm",
    "ask": "pipeline.llm",
}

if TYPE_CHECKING:
    from .chunking import Chunk, Chunker, ChunkingOptions, chunk
    from .document import BBox, Document, Element, ElementKind, ParseResult, ParseStatus, TableData
    from .parsing import ParseOptions, Parser, parse, parse_many
    from .protocols import SearchHit
    from .embedding import OnnxEmbedder, SentenceTransformerEmbedder, make_embedder
    from .index import FileError, Index, IndexStats, IngestReport
    from .llm import (
        Answer,
        AsyncLLMClient,
        ChatCompletion,
        Citation,
        ExtractionOptions,
        ExtractionResult,
        ExtractionStatus,
        FieldEvidence,
        LLMClient,
        LocalLLMServer,
        QAOptions,
        QuestionAnswerer,
        RetryPolicy,
        StructuredExtractor,
        Usage,
        ask,
        extract,
    )


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))


__all__ = [*_exc_all, *_LAZY, "__version__"]
