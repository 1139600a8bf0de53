"""Row hits at search time: a table-row unit (``pipeline.chunking`` indexes one per table row) is replaced by
its parent table chunk, placed at the row's rank, with the row marked in ``metadata["rows"]`` (row index,
text, table line, page, bbox and, where the parse measured them, its cells' boxes, so a citation or a report can
point at the row or at one of its cells); a parent reached twice is listed once."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pipeline.chunking import ROW_KIND

if TYPE_CHECKING:
    from pipeline.index import ChunkRow, DocStore
    from pipeline.protocols import SearchHit


def _parents(store: DocStore, keys: set[tuple[str, str]]) -> dict[tuple[str, str], ChunkRow]:
    """Parent chunks by (document hash, chunk id), in one query."""
    from pipeline.index import ChunkRow

    ids = sorted({c for _, c in keys})
    rows = store.conn.execute(
        "SELECT c.id, c.chunk_id, d.doc_id, d.path, c.position, c.text, c.page_start, c.page_end, c.heading_path, "
        f"c.metadata FROM chunks c JOIN documents d ON d.id = c.doc WHERE c.chunk_id IN ({','.join('?' * len(ids))})",
        ids,
    ).fetchall()
    out: dict[tuple[str, str], ChunkRow] = {}
    for r in rows:
        if (r[2], r[1]) in keys:
            out[(r[2], r[1])] = ChunkRow(
                id=int(r[0]), chunk_id=r[1], doc_id=r[2], source=r[3], position=int(r[4]), text=r[5],
                page_start=int(r[6]), page_end=int(r[7]), heading_path=json.loads(r[8]), metadata=json.loads(r[9]),
            )
    return out


def _mark(hit: SearchHit, row: SearchHit) -> None:
    meta = row.metadata
    hit.metadata.setdefault("rows", []).append({
        "row": meta.get("row"), "text": row.text, "line": meta.get("row_line"), "page": row.page_start,
        "bbox": meta.get("bbox"), "score": row.score, **({"cells": meta["cells"]} if meta.get("cells") else {}),
    })


def collapse_rows(store: DocStore, hits: list[SearchHit]) -> list[SearchHit]:
    """Replace row hits by their parent table chunks (at the row's rank), marking the rows."""

    keys = {(h.doc_id, str(h.metadata["parent_chunk"])) for h in hits if h.metadata.get("unit") == ROW_KIND}
    if not keys:
        return hits
    parents = _parents(store, keys)
    out: list[SearchHit] = []
    by_chunk: dict[tuple[str, str], SearchHit] = {}
    for h in hits:
        if h.metadata.get("unit") != ROW_KIND:
            key = (h.doc_id, h.chunk_id)
            if key not in by_chunk:
                by_chunk[key] = h
                out.append(h)
            continue
        key = (h.doc_id, str(h.metadata["parent_chunk"]))
        if key not in by_chunk:
            p = parents.get(key)
            if p is None:
                continue
            meta: dict[str, Any] = {**{k: v for k, v in h.metadata.items() if k not in _ROW_META}, **p.metadata,
                                    "chunk_index": p.position, "via_row": True}
            by_chunk[key] = h.model_copy(update={
                "chunk_id": p.chunk_id, "text": p.text, "page_start": p.page_start, "page_end": p.page_end,
                "heading_path": p.heading_path, "metadata": meta})
            out.append(by_chunk[key])
        _mark(by_chunk[key], h)
    return out


def cited_row(hit: SearchHit, quote: str) -> dict[str, Any] | None:
    """The row marked on ``hit`` (``metadata["rows"]``) that ``quote`` cites: the row whose table line holds the
    quote, or whose line the quote holds (``|`` and spacing ignored); None when no marked row matches. Its
    ``bbox`` and ``page`` let a citation point at the row."""
    q = _flat(quote)
    if not q:
        return None
    for row in hit.metadata.get("rows") or ():
        line = _flat(str(row.get("line") or ""))
        if line and (q in line or line in q):
            return dict(row)
    return None


def cell_box(row: dict[str, Any], column: int) -> dict[str, Any] | None:
    """The box of cell ``column`` (an index into the row's markdown cells) of a marked ``row`` (``cited_row``);
    None when the parse measured no cell boxes, the cell is empty, or the row's line does not split into one
    markdown cell per box (a ``|`` printed in a cell shifts the columns: the row's box is then the safe one)."""
    cells = row.get("cells")
    line = str(row.get("line") or "").strip().removeprefix("|").removesuffix("|")
    if not cells or not 0 <= column < len(cells) or len(line.split("|")) != len(cells):
        return None
    box: dict[str, Any] | None = cells[column]
    return box


def _flat(text: str) -> str:
    return " ".join(text.replace("|", " ").split()).lower()


_ROW_META = {"unit", "parent_chunk", "row", "row_line", "bbox", "cells", "element_kinds", "n_tokens", "options_fingerprint",
             "chunk_index"}


__all__ = ["cell_box", "cited_row", "collapse_rows"]
