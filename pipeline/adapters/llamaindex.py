"""ragline chunks as LlamaIndex ``TextNode`` s and a ragline index as a LlamaIndex retriever.

    from pipeline.adapters.llamaindex import RaglineLlamaRetriever, chunks_to_nodes
    nodes = chunks_to_nodes(pipeline.chunk(doc), document=doc)        # TextNode: text + metadata (bbox too)
    retriever = RaglineLlamaRetriever(pipeline.Pipeline.open("idx"), k=5, mode="hybrid")
    retriever.retrieve("refrigeration share")                          # list[NodeWithScore]

Needs ``llama-index-core`` (``pip install 'ragline[llamaindex]'``). Location metadata (pages, boxes, ids) is
kept out of what LlamaIndex embeds and shows the LLM; ``file_name`` and ``heading`` stay in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pipeline.adapters._metadata import (
    LOCATION_KEYS,
    BoxFinder,
    chunk_from_metadata,
    chunk_metadata,
    hit_from_metadata,
)

try:
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import (
        NodeRelationship,
        NodeWithScore,
        QueryBundle,
        RelatedNodeInfo,
        TextNode,
    )
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


__all__ = [
    "RaglineLlamaRetriever",
    "chunk_to_node",
    "chunks_to_nodes",
    "hit_to_node",
    "node_to_chunk",
    "node_to_hit",
]
