"""ragline chunks as LangChain ``Document`` s and a ragline index as a LangChain retriever.

    from pipeline.adapters.langchain import RaglineRetriever, chunks_to_documents
    docs = chunks_to_documents(pipeline.chunk(doc), document=doc)      # page_content + metadata (bbox too)
    retriever = RaglineRetriever(index=pipeline.Pipeline.open("idx"), k=5, mode="hybrid")
    retriever.invoke("refrigeration share")                             # list[langchain_core.documents.Document]

Needs ``langchain-core`` (``pip install 'ragline[langchain]'``). Metadata: :func:`pipeline.adapters.chunk_metadata`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pipeline.adapters._metadata import BoxFinder, chunk_from_metadata, chunk_metadata, hit_from_metadata

try:
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document as LCDocument
    from langchain_core.retrievers import BaseRetriever
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("pipeline.adapters.langchain needs langchain-core: pip install 'ragline[langchain]'") from exc

from pydantic import ConfigDict, PrivateAttr

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

    ``k``, ``mode`` (dense | bm25 | hybrid), ``source_glob`` and ``pages`` are passed to ``search``;
    ``boxes=True`` parses each hit's source file once and adds ``bbox``/``boxes`` to the metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Any
    k: int = 5
    mode: str = "hybrid"
    source_glob: str | None = None
    pages: Any = None
    boxes: bool = False
    _finder: BoxFinder = PrivateAttr(default_factory=BoxFinder)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        hits = self.index.search(query, k=self.k, mode=self.mode, source_glob=self.source_glob, pages=self.pages)
        return [hit_to_document(h, self._finder.document(h) if self.boxes else None) for h in hits]


__all__ = [
    "RaglineRetriever",
    "chunk_to_document",
    "chunks_to_documents",
    "document_to_chunk",
    "document_to_hit",
    "hit_to_document",
]
