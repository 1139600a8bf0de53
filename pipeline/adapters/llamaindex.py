"""ragline chunks as LlamaIndex ``TextNode`` s and a ragline index as a LlamaIndex retriever.

    from pipeline.adapters.llamaindex import RaglineLlamaRetriever, chunks_to_nodes
    nodes = chunks_to_nodes(pipeline.chunk(doc), document=doc)        # TextNode: text + metadata (bbox too)
    retriever = RaglineLlamaRetriever(pipeline.Pipeline.open("idx"), k=5, mode="hybrid")
    retriever.retrieve("refrigeration share")                          # list[NodeWithScore]
    await retriever.aretrieve("...")          # a RemoteIndex (ragline serve) awaits the network, no thread
    documents = RaglineReader().load_data(["docs/"])                    # a reader: Documents (markdown) ...
    nodes = RaglineReader(export="nodes").load_data("report.pdf")      # ... or TextNodes of ragline's chunks

Needs ``llama-index-core`` (``pip install 'ragline[llamaindex]'``). Location metadata (pages, boxes, ids, the
heading the text already starts with) is kept out of what LlamaIndex embeds and shows the LLM; ``file_name``
and ``page_label`` stay in, as LlamaIndex's own readers leave them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from pipeline.adapters._metadata import (
    LOCATION_KEYS,
    BoxFinder,
    chunk_from_metadata,
    chunk_metadata,
    document_metadata,
    hit_from_metadata,
    parsed_documents,
)
from pipeline.adapters._remote import asearch

try:
    from llama_index.core.readers.base import BaseReader
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import (
        BaseNode,
        NodeRelationship,
        NodeWithScore,
        QueryBundle,
        RelatedNodeInfo,
        TextNode,
    )
    from llama_index.core.schema import Document as LlamaDocument
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("pipeline.adapters.llamaindex needs llama-index-core: pip install 'ragline[llamaindex]'") from exc

if TYPE_CHECKING:
    from pipeline.chunking import Chunk
    from pipeline.document import Document
    from pipeline.protocols import PagesArg, SearchHit, SearchMode


def _node(node_id: str, text: str, meta: dict[str, Any]) -> TextNode:
    excluded = [k for k in LOCATION_KEYS if k in meta]
    node = TextNode(id_=node_id, text=text, metadata=meta, excluded_embed_metadata_keys=excluded,
                    excluded_llm_metadata_keys=list(excluded))
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=meta["doc_id"],
                                                                  metadata={"source": meta["source"]})
    return node


def chunk_to_node(chunk: Chunk, document: Document | None = None) -> TextNode:
    """One chunk as a ``TextNode`` (id = the chunk id; its SOURCE relationship is the document id)."""
    return _node(chunk.id, chunk.text, chunk_metadata(chunk, document))


def chunks_to_nodes(chunks: Iterable[Chunk], document: Document | None = None) -> list[TextNode]:
    """Chunks as ``TextNode`` s; pass the parsed ``document`` to get ``bbox``/``boxes`` metadata."""
    return [chunk_to_node(c, document) for c in chunks]


def hit_to_node(hit: SearchHit, document: Document | None = None) -> NodeWithScore:
    """A search hit as a ``NodeWithScore``."""
    return NodeWithScore(node=_node(hit.chunk_id, hit.text, chunk_metadata(hit, document)), score=hit.score)


def node_to_chunk(node: TextNode) -> Chunk:
    """The ragline ``Chunk`` behind a node made by :func:`chunk_to_node`."""
    return chunk_from_metadata(node.text, node.metadata)


def node_to_hit(node: NodeWithScore) -> SearchHit:
    """The ragline ``SearchHit`` behind a node from :func:`hit_to_node` or the retriever."""
    return hit_from_metadata(node.node.get_content(), node.node.metadata, node.score)


class RaglineLlamaRetriever(BaseRetriever):
    """A ragline ``Pipeline`` (or any ragline ``Retriever``) as a LlamaIndex retriever; ``boxes=True`` adds
    ``bbox``/``boxes`` to each node's metadata (each source file parsed once)."""

    def __init__(self, index: Any, *, k: int = 5, mode: SearchMode = "hybrid", source_glob: str | None = None,
                 pages: PagesArg = None, boxes: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.index = index
        self.k = k
        self.mode: SearchMode = mode
        self.source_glob = source_glob
        self.pages = pages
        self.boxes = boxes
        self._finder = BoxFinder()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.index.search(query_bundle.query_str, k=self.k, mode=self.mode, source_glob=self.source_glob,
                                 pages=self.pages)
        return [hit_to_node(h, self._finder.document(h) if self.boxes else None) for h in hits]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = await asearch(self.index, query_bundle.query_str, k=self.k, mode=self.mode,
                             source_glob=self.source_glob, pages=self.pages)
        return [hit_to_node(h, self._finder.document(h) if self.boxes else None) for h in hits]


class RaglineReader(BaseReader):
    """Files and folders parsed by ragline, as LlamaIndex ``Document`` s (``export="documents"``: one per parsed
    document, its markdown as text, with ``file_name``, ``file_path``, ``format``, ``pages``) or as ``TextNode`` s
    of ragline's chunks (``export="nodes"``: structure-aware chunks with pages and boxes, ready for an index
    without a node parser). A file that cannot be read raises its typed ragline error unless ``skip_errors``."""

    def __init__(self, *, export: Literal["documents", "nodes"] = "documents", parse_options: Any = None,
                 chunking: Any = None, skip_errors: bool = False) -> None:
        super().__init__()
        self.export = export
        self.parse_options = parse_options
        self.chunking = chunking
        self.skip_errors = skip_errors

    def load_data(self, file_path: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
                  extra_info: dict[str, Any] | None = None) -> list[BaseNode]:  # type: ignore[override]
        from pipeline.chunking import chunk

        paths = [file_path] if isinstance(file_path, (str, os.PathLike)) else list(file_path)
        out: list[BaseNode] = []
        for doc in parsed_documents(paths, self.parse_options, skip_errors=self.skip_errors):
            if self.export == "nodes":
                nodes = chunks_to_nodes(chunk(doc, self.chunking), document=doc)
                for node in nodes:
                    node.metadata.update(extra_info or {})
                out.extend(nodes)
                continue
            meta = {**document_metadata(doc), **(extra_info or {})}
            hidden = ["source", "file_path", "doc_id", "pages"]  # location, not content (as for chunks)
            out.append(LlamaDocument(id_=doc.content_hash, text=doc.to_markdown(), metadata=meta,
                                     excluded_llm_metadata_keys=hidden, excluded_embed_metadata_keys=list(hidden)))
        return out


__all__ = [
    "RaglineLlamaRetriever",
    "RaglineReader",
    "chunk_to_node",
    "chunks_to_nodes",
    "hit_to_node",
    "node_to_chunk",
    "node_to_hit",
]
