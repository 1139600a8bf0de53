"""Storage: the persistent, incremental index in one directory (SQLite docstore + FTS5, FAISS vectors,
document profiles, the write lock). It imports neither ingest nor retrieval: those are stages over it.

    from pipeline.index import Index
    with Index.open("my-index") as index:
        print(index.stats())
"""

from __future__ import annotations

from pipeline.index._chunking import chunking_for
from pipeline.index._faiss import VectorIndex, embed_checked
from pipeline.index._filter import SearchFilter
from pipeline.index._index import Index, IndexStats
from pipeline.index._profiles import backfill_profiles, load_profiles, save_profile
from pipeline.index._store import ChunkRow, DocStore

__all__ = [
    "ChunkRow",
    "DocStore",
    "Index",
    "IndexStats",
    "SearchFilter",
    "VectorIndex",
    "backfill_profiles",
    "chunking_for",
    "embed_checked",
    "load_profiles",
    "save_profile",
]
