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

from pipeline.exceptions import *  # noqa: F401,F403  (light: stdlib only)
from pipeline.exceptions import __all__ as _exc_all
from pipeline.version import __version__

# The public surface: what ingest scripts and notebooks need. Everything else stays importable from its
# package (pipeline.embedding, pipeline.llm, ...). name -> defining module, resolved on first attribute
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
    # the composition layer: everything built from one configuration
    "Pipeline": "pipeline.compose",
    "RaglineConfig": "pipeline.config",
    # LLM access, schema extraction, question answering
    "LLMSettings": "pipeline.llm",
    "open_llm": "pipeline.llm",
    "LLMClient": "pipeline.llm",
    "extract": "pipeline.extraction",
    "ExtractionOptions": "pipeline.extraction",
    "ExtractionResult": "pipeline.extraction",
    "ExtractionStatus": "pipeline.extraction",
    "FieldEvidence": "pipeline.extraction",
    "ask": "pipeline.qa",
    "QAOptions": "pipeline.qa",
    "Answer": "pipeline.qa",
    "Citation": "pipeline.qa",
}

if TYPE_CHECKING:
    from pipeline.chunking import Chunk, ChunkingOptions, chunk
    from pipeline.compose import Pipeline
    from pipeline.config import RaglineConfig
    from pipeline.document import (
        BBox,
        Document,
        Element,
        ElementKind,
        ErrorRecord,
        ParseResult,
        ParseStatus,
        TableData,
    )
    from pipeline.embedding import make_embedder
    from pipeline.extraction import (
        ExtractionOptions,
        ExtractionResult,
        ExtractionStatus,
        FieldEvidence,
        extract,
    )
    from pipeline.index import Index, IndexStats
    from pipeline.ingest import IngestReport
    from pipeline.llm import LLMClient, LLMSettings, open_llm
    from pipeline.parsing import HtmlOptions, ParseOptions, PdfOptions, TableMode, parse, parse_many
    from pipeline.protocols import SearchHit
    from pipeline.qa import Answer, Citation, QAOptions, ask


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
