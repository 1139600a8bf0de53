"""ragline chunks as LangChain ``Document`` s and a ragline index as a LangChain retriever.

    from pipeline.adapters.langchain import RaglineRetriever, chunks_to_documents
    docs = chunks_to_documents(pipeline.chunk(doc), document=doc)      # page_content + metadata (bbox too)
    retriever = RaglineRetriever(index=pipeline.Pipeline.open("idx"), k=5, mode="hybrid")
    retriever.invoke("refrigeration share")                             # list[langchain_core.documents.Document]
    RaglineRetriever(index=..., search_kwargs={"k": 2, "source_glob": "*AAPL*"})   # LangChain's convention
    await retriever.ainvoke("...")            # a RemoteIndex (ragline serve) awaits the network, no thread
    docs = RaglineLoader(["docs/"], export="chunks").load()             # a document loader, like Docling's

Needs ``langchain-core`` (``pip install 'ragline[langchain]'``). Metadata: :func:`pipeline.adapters.chunk_metadata`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from pipeline.adapters._metadata import (
    BoxFinder,
    chunk_from_metadata,
    chunk_metadata,
    document_metadata,
    hit_from_metadata,
    parsed_documents,
)
from pipeline.adapters._remote import asearch

try:
    from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
    from langchain_core.document_loaders import BaseLoader
    from langchain_core.documents import Document as LCDocument
    from langchain_core.retrievers import BaseRetriever
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("pipeline.adapters.langchain needs langchain-core: pip install 'ragline[langchain]'") from exc

from pydantic import ConfigDict, Field, PrivateAttr, model_validator

if TYPE_CHECKING:
    from pipeline.chunking import Chunk
    from pipeline.document import Document
    from pipeline.protocols import SearchHit


def chunk_to_document(chunk: Chunk, document: Document | None = None) -> LCDocument:
    """One chunk as a LangChain ``Document`` (id = the chunk id)."""
    return LCDocument(page_content=chunk.text, metadata=chunk_metadata(chunk, document), id=chunk.id)


def chunks_to_documents(chunks: Iterable[Chunk], document: Document | None = None) -> list[LCDocument]:
    """Chunks as LangChain ``Document`` s; pass the parsed ``document`` to get ``bbox``/``boxes`` metadata."""
    return [chunk_to_document(c, document) for c in chunks]


def hit_to_document(hit: SearchHit, document: Document | None = None) -> LCDocument:
    """A search hit as a LangChain ``Document`` (metadata ``score`` is the hit's score)."""
    return LCDocument(page_content=hit.text, metadata=chunk_metadata(hit, document), id=hit.chunk_id)


def document_to_chunk(doc: LCDocument) -> Chunk:
    """The ragline ``Chunk`` behind a ``Document`` made by :func:`chunk_to_document`."""
    return chunk_from_metadata(doc.page_content, doc.metadata)


def document_to_hit(doc: LCDocument) -> SearchHit:
    """The ragline ``SearchHit`` behind a ``Document`` made by :func:`hit_to_document` or the retriever."""
    return hit_from_metadata(doc.page_content, doc.metadata)


class RaglineRetriever(BaseRetriever):
    """A ragline ``Pipeline`` (or any ragline ``Retriever``) as a LangChain retriever.

    ``k``, ``mode`` (dense | bm25 | hybrid), ``source_glob`` and ``pages`` are passed to ``search``, or given in
    ``search_kwargs`` as LangChain's vector-store retrievers take them (an unknown key is an error, not ignored);
    ``boxes=True`` parses each hit's source file once and adds ``bbox``/``boxes`` to the metadata. ``index`` may
    be a :class:`~pipeline.adapters.RemoteIndex` (a ``ragline serve`` index), whose async search is awaited."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Any
    k: int = 5
    mode: str = "hybrid"
    source_glob: str | None = None
    pages: Any = None
    boxes: bool = False
    search_kwargs: dict[str, Any] = Field(default_factory=dict)
    _finder: BoxFinder = PrivateAttr(default_factory=BoxFinder)

    @model_validator(mode="after")
    def _apply_search_kwargs(self) -> RaglineRetriever:
        unknown = set(self.search_kwargs) - _SEARCH_KEYS
        if unknown:
            raise ValueError(f"unknown search_kwargs {sorted(unknown)} (ragline takes {sorted(_SEARCH_KEYS)})")
        for key, value in self.search_kwargs.items():
            object.__setattr__(self, key, value)
        return self

    def _kwargs(self) -> dict[str, Any]:
        return {"k": self.k, "mode": self.mode, "source_glob": self.source_glob, "pages": self.pages}

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        hits = self.index.search(query, **self._kwargs())
        return [hit_to_document(h, self._finder.document(h) if self.boxes else None) for h in hits]

    async def _aget_relevant_documents(self, query: str, *,
                                       run_manager: AsyncCallbackManagerForRetrieverRun) -> list[LCDocument]:
        hits = await asearch(self.index, query, **self._kwargs())
        return [hit_to_document(h, self._finder.document(h) if self.boxes else None) for h in hits]


_SEARCH_KEYS = {"k", "mode", "source_glob", "pages"}


class RaglineLoader(BaseLoader):
    """Files and folders parsed by ragline as LangChain ``Document`` s: one per chunk (``export="chunks"``,
    with the chunk's metadata and boxes) or one per document (``"markdown"``: the document as markdown, with
    ``source``, ``file_name``, ``file_path``, ``format``, ``pages``). A file that cannot be read raises its
    typed ragline error, unless ``skip_errors``: then it is left out and logged."""

    def __init__(self, file_path: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *,
                 export: Literal["chunks", "markdown"] = "chunks", parse_options: Any = None,
                 chunking: Any = None, skip_errors: bool = False) -> None:
        self.paths = [file_path] if isinstance(file_path, (str, os.PathLike)) else list(file_path)
        self.export = export
        self.parse_options = parse_options
        self.chunking = chunking
        self.skip_errors = skip_errors

    def lazy_load(self) -> Iterator[LCDocument]:
        from pipeline.chunking import chunk

        for doc in parsed_documents(self.paths, self.parse_options, skip_errors=self.skip_errors):
            if self.export == "markdown":
                yield LCDocument(page_content=doc.to_markdown(), id=doc.content_hash, metadata=document_metadata(doc))
            else:
                yield from chunks_to_documents(chunk(doc, self.chunking), document=doc)


__all__ = [
    "RaglineLoader",
    "RaglineRetriever",
    "chunk_to_document",
    "chunks_to_documents",
    "document_to_chunk",
    "document_to_hit",
    "hit_to_document",
]
