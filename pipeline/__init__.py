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

# The public surface: what ingest scripts and notebooks need. Everything else stays importable from its
# module (pipeline.embedding, pipeline.llm, ...). name -> defining module, resolved on first attribute
# access so `import pipeline` stays light.
_LAZY: dict[str, str] = {
    # documents and parsing
    "Document": "pipeline.document",
    "Element": "pipeline.document",
    "ElementKind": "pipeline.document",
    "BBox": "pipeline.document",
    "TableData": "pipeline.document",
    "ErrorRecord": "pipeline.document",
    "ParseResult": "pipeline.document",
    "ParseStatus": "pipeline.document",
    "ParseOptions": "pipeline.parsing",
    "PdfOptions": "pipeline.parsing",
    "HtmlOptions": "pipeline.parsing",
    "TableMode": "pipeline.parsing",
    "parse": "pipeline.parsing",
    "parse_many": "pipeline.parsing",
    # chunking, the index, retrieval
    "Chunk": "pipeline.chunking",
    "ChunkingOptions": "pipeline.chunking",
    "chunk": "pipeline.chunking",
    "Index": "pipeline.index",
    "IndexStats": "pipeline.index",
    "IngestReport": "pipeline.ingest",
    "SearchHit": "pipeline.protocols",
    "make_embedder": "pipeline.embedding",
    # the LLM stage
    "LLMSettings": "pipeline.llm",
    "open_llm": "pipeline.llm",
    "LLMClient": "pipeline.llm",
    "extract": "pipeline.llm",
    "ExtractionOptions": "pipeline.llm",
    "ExtractionResult": "pipeline.llm",
    "ExtractionStatus": "pipeline.llm",
    "FieldEvidence": "pipeline.llm",
    "ask": "pipeline.llm",
    "QAOptions": "pipeline.llm",
    "Answer": "pipeline.llm",
    "Citation": "pipeline.llm",
}

if TYPE_CHECKING:
    from .chunking import Chunk, ChunkingOptions, chunk
    from .document import BBox, Document, Element, ElementKind, ErrorRecord, ParseResult, ParseStatus, TableData
    from .embedding import make_embedder
    from .index import Index, IndexStats
    from .ingest import IngestReport
    from .llm import (
        Answer,
        Citation,
        ExtractionOptions,
        ExtractionResult,
        ExtractionStatus,
        FieldEvidence,
        LLMClient,
        LLMSettings,
        QAOptions,
        ask,
        extract,
        open_llm,
    )
    from .parsing import HtmlOptions, ParseOptions, PdfOptions, TableMode, parse, parse_many
    from .protocols import SearchHit


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
