"""The metadata both adapters attach to a chunk or a search hit, and the way back to ragline objects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.chunking import Chunk
    from pipeline.document import Document
    from pipeline.protocols import SearchHit

# Keys that describe where a chunk is, not what it says: kept out of what LlamaIndex embeds or shows the LLM.
# ``heading`` too: the chunk's text already begins with its heading path (shown twice otherwise).
LOCATION_KEYS = ["doc_id", "chunk_id", "page_start", "page_end", "pages", "heading_path", "heading", "bbox",
                 "boxes", "chunk_index", "n_tokens", "element_kinds", "options_fingerprint", "context", "score",
                 "ragline_metadata", "source", "file_path", "page"]


def chunk_metadata(item: Chunk | SearchHit, document: Document | None = None) -> dict[str, Any]:
    """Metadata of a ragline ``Chunk`` or ``SearchHit``: ``source``, ``file_name``, ``doc_id``, ``chunk_id``,
    ``page_start``, ``page_end``, ``pages``, ``heading_path``, ``heading``, and the keys each library's own loaders
    use: ``page`` (LangChain's PDF loaders: the first page, 0-based as theirs are), ``page_label`` and
    ``file_path`` (LlamaIndex's readers: the printed 1-based page, the file's path); a chunk adds its ``chunk_index``,
    ``n_tokens``, ``element_kinds``, ``options_fingerprint`` and ``context``, a hit its ``score``. With the
    parsed ``document``, ``boxes`` (``{"page", "x0", "y0", "x1", "y1"}`` per element, PDF points, origin
    top-left) and ``bbox`` (their union on the first page they are on)."""
    chunk_id = getattr(item, "chunk_id", None) or getattr(item, "id", "")
    meta: dict[str, Any] = {
        "source": item.source,
        "file_name": Path(item.source).name,
        "doc_id": item.doc_id,
        "chunk_id": chunk_id,
        "page_start": item.page_start,
        "page_end": item.page_end,
        "pages": list(range(item.page_start, item.page_end + 1)),
        "heading_path": list(item.heading_path),
        "heading": " > ".join(item.heading_path),
        "page": item.page_start - 1,
        "page_label": str(item.page_start),
        "file_path": item.source,
    }
    if hasattr(item, "score"):
        meta["score"] = float(item.score)
    else:
        meta.update(chunk_index=item.index, n_tokens=item.n_tokens, element_kinds=list(item.element_kinds),
                    options_fingerprint=item.options_fingerprint, context=item.context)
    if item.metadata:
        meta["ragline_metadata"] = dict(item.metadata)
    if document is not None:
        meta.update(_boxes(item, document))
    return meta


def _boxes(item: Chunk | SearchHit, document: Document) -> dict[str, Any]:
    from pipeline.report import chunk_elements

    boxes = [{"page": el.page, **el.bbox.model_dump()} for el in chunk_elements(document, item) if el.bbox]
    if not boxes:
        return {"boxes": [], "bbox": None}
    first = [b for b in boxes if b["page"] == boxes[0]["page"]]
    union = {"page": first[0]["page"], "x0": min(b["x0"] for b in first), "y0": min(b["y0"] for b in first),
             "x1": max(b["x1"] for b in first), "y1": max(b["y1"] for b in first)}
    return {"boxes": boxes, "bbox": union}


def chunk_from_metadata(text: str, meta: dict[str, Any]) -> Chunk:
    """The ragline ``Chunk`` a converted chunk came from (``text`` and the metadata of :func:`chunk_metadata`)."""
    from pipeline.chunking import Chunk

    return Chunk(
        id=meta["chunk_id"], doc_id=meta["doc_id"], source=meta["source"], text=text,
        page_start=meta["page_start"], page_end=meta["page_end"], heading_path=list(meta.get("heading_path") or []),
        element_kinds=list(meta.get("element_kinds") or []), n_tokens=int(meta.get("n_tokens") or 0),
        index=int(meta.get("chunk_index") or 0), options_fingerprint=meta.get("options_fingerprint") or "",
        context=meta.get("context") or "", metadata=dict(meta.get("ragline_metadata") or {}),
    )


def hit_from_metadata(text: str, meta: dict[str, Any], score: float | None = None) -> SearchHit:
    """The ragline ``SearchHit`` a converted hit came from."""
    from pipeline.protocols import SearchHit

    return SearchHit(
        chunk_id=meta["chunk_id"], doc_id=meta["doc_id"], source=meta["source"], page_start=meta["page_start"],
        page_end=meta["page_end"], heading_path=list(meta.get("heading_path") or []),
        score=float(meta.get("score", 0.0) if score is None else score), text=text,
        metadata=dict(meta.get("ragline_metadata") or {}),
    )


def document_metadata(doc: Document) -> dict[str, Any]:
    """Metadata of a whole parsed document, for a loader's one-per-file output."""
    return {"source": doc.source, "file_name": Path(doc.source).name, "file_path": doc.source, "format": doc.format,
            "pages": doc.pages, "doc_id": doc.content_hash}


def parsed_documents(paths: list[Any], parse_options: Any = None, *, skip_errors: bool = False) -> Iterator[Document]:
    """The documents of files and folders, for the loaders of both adapters. A file that cannot be read raises
    its typed error (:class:`~pipeline.exceptions.InputError`), or with ``skip_errors`` is logged and left out."""
    import logging

    from pipeline.exceptions import InputError
    from pipeline.parsing import expand_paths, parse_many

    for result in parse_many(expand_paths(paths), parse_options):
        if result.document is not None:
            yield result.document
            continue
        first = result.errors[0] if result.errors else None
        if not skip_errors:
            raise InputError(first.message if first else "unreadable", source=result.source,
                             stage=first.stage if first else "parse")
        logging.getLogger(__name__).warning("skipped %s: %s", result.source,
                                            "; ".join(e.message for e in result.errors))


class BoxFinder:
    """Parsed documents by source, each parsed once, for the ``bbox``/``boxes`` of search hits."""

    def __init__(self) -> None:
        self._docs: dict[tuple[str, str], Document | None] = {}

    def document(self, hit: SearchHit) -> Document | None:
        key = (hit.source, hit.doc_id)
        if key not in self._docs:
            from pipeline.exceptions import RaglineError
            from pipeline.parsing import parse

            try:
                doc = parse(hit.source) if Path(hit.source).is_file() else None
            except RaglineError:
                doc = None
            self._docs[key] = doc if doc is not None and doc.content_hash == hit.doc_id else None
        return self._docs[key]


__all__ = ["LOCATION_KEYS", "BoxFinder", "document_metadata", "parsed_documents", "chunk_from_metadata", "chunk_metadata", "hit_from_metadata"]
