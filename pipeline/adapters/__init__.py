"""Adapters to other RAG stacks (optional extras; nothing here is imported by ``import pipeline``).

* :mod:`pipeline.adapters.langchain` (``pip install 'ragline[langchain]'``): chunks and search hits as
  LangChain ``Document`` s, an index as a LangChain retriever (:class:`RaglineRetriever`).
* :mod:`pipeline.adapters.llamaindex` (``pip install 'ragline[llamaindex]'``): chunks and hits as LlamaIndex
  ``TextNode`` s, an index as a LlamaIndex retriever (:class:`RaglineLlamaRetriever`), files as Documents or
  Nodes (:class:`RaglineReader`); LangChain's side has :class:`RaglineLoader`.
* :class:`RemoteIndex`: an index of a ``ragline serve`` server, for either retriever (really async).

Both carry the same metadata (:func:`chunk_metadata`): ``source``, ``file_name``, ``doc_id``, ``chunk_id``,
``page_start``, ``page_end``, ``pages``, ``heading_path``, ``heading``, and with the parsed ``Document`` at
hand ``bbox`` (the chunk's box on its first page) and ``boxes`` (one per element, with its page). The
``from_*`` functions turn them back into ragline ``Chunk`` s or ``SearchHit`` s.
"""

from __future__ import annotations

from pipeline.adapters._metadata import BoxFinder, chunk_from_metadata, chunk_metadata, hit_from_metadata
from pipeline.adapters._remote import RemoteIndex

__all__ = ["BoxFinder", "RemoteIndex", "chunk_from_metadata", "chunk_metadata", "hit_from_metadata"]
