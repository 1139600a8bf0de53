"""FAISS side of an index: int64 chunk ids -> unit vectors, exact or HNSW, CPU or GPU.

The persisted file is a CPU ``IndexIDMap2`` over ``IndexFlatIP`` (exact) or ``IndexHNSWFlat`` (inner
product), chosen by collection size. HNSW cannot delete, so ids removed from an HNSW index are kept as
tombstones and excluded at query time with an ``IDSelector`` until they pass a fraction of the index,
when it is rebuilt. With GPUs visible to faiss, exact search runs on a GPU copy of the flat vectors
(faster than HNSW at these sizes and exact), rebuilt lazily after writes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipeline.exceptions import ConfigurationError, IndexStoreError, MissingDependencyError

if TYPE_CHECKING:
    import numpy as np

    from pipeline.protocols import Embedder

log = logging.getLogger(__name__)

Kind = Literal["flat", "hnsw"]


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:
        raise MissingDependencyError(
            "the vector index needs faiss: pip install 'ragline[cpu]' (or 'ragline[gpu]')", stage="index"
        ) from exc
    return faiss


def embed_checked(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """``embedder.embed(texts)`` as the contiguous float32 ``(len(texts), dimension)`` matrix FAISS takes;
    a wrong shape (a misbehaving embedder) is a :class:`ConfigurationError`, not a corrupt index."""
    import numpy as np

    vecs = np.ascontiguousarray(embedder.embed(texts), dtype=np.float32)
    if vecs.shape != (len(texts), embedder.dimension):
        raise ConfigurationError(
            f"embedder {embedder.model_name} returned shape {vecs.shape}, expected "
            f"({len(texts)}, {embedder.dimension})",
            stage="embed",
        )
    return vecs


class VectorIndex:
    """In-memory FAISS index plus the bookkeeping needed to keep it equal to SQLite's live chunk ids."""

    def __init__(
        self,
        dimension: int,
        *,
        hnsw_threshold: int = 50_000,
        hnsw_m: int = 32,
        ef_construction: int = 80,
        ef_search: int = 128,
        use_gpu: bool | None = None,
        max_stale_fraction: float = 0.2,
    ) -> None:
        self.dimension = dimension
        self.hnsw_threshold = hnsw_threshold
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.max_stale_fraction = max_stale_fraction
        faiss = _faiss()
        self.gpus = faiss.get_num_gpus() if use_gpu is not False else 0
        self.index: Any = self._new("flat")
        self.kind: Kind = "flat"
        self.stale: set[int] = set()
        self.dirty = False
        self._gpu: Any = None  # GPU copy of the flat vectors, rebuilt lazily after writes
        self._gpu_ids: Any = None

    # -- construction -----------------------------------------------------------------------------
    def _new(self, kind: Kind) -> Any:
        faiss = _faiss()
        if kind == "flat":
            inner = faiss.IndexFlatIP(self.dimension)
        else:
            inner = faiss.IndexHNSWFlat(self.dimension, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = self.ef_construction
            inner.hnsw.efSearch = self.ef_search
        return faiss.IndexIDMap2(inner)

    def kind_for(self, n: int) -> Kind:
        # On GPU, brute force is exact and fast well past the HNSW threshold; HNSW is CPU-only in faiss.
        if self.gpus > 0:
            return "flat"
        if self.kind == "hnsw" and n >= self.hnsw_threshold // 2:
            return "hnsw"  # hysteresis: do not flip back and forth around the threshold
        return "hnsw" if n >= self.hnsw_threshold else "flat"

    def rebuild(self, ids: Any, vectors: Any) -> None:
        """Replace everything with exactly ``ids``/``vectors`` (used when the kind changes or too many
        tombstones pile up)."""
        kind = self.kind_for(len(ids))
        index = self._new(kind)
        if len(ids):
            index.add_with_ids(vectors, ids)
        self.index, self.kind = index, kind
        self.stale.clear()
        self._invalidate()

    # -- contents ---------------------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def live_count(self) -> int:
        return self.ntotal - len(self.stale)

    def ids(self) -> Any:
        import numpy as np

        faiss = _faiss()
        return np.sort(faiss.vector_to_array(self.index.id_map).astype(np.int64))

    def add(self, ids: Any, vectors: Any) -> None:
        import numpy as np

        if len(ids) == 0:
            return
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
        self.dirty = True
        self._invalidate()

    def remove(self, ids: Any) -> None:
        import numpy as np

        if len(ids) == 0:
            return
        arr = np.asarray(ids, dtype=np.int64)
        if self.kind == "flat":
            self.index.remove_ids(_faiss().IDSelectorBatch(arr))
        else:
            self.stale.update(int(i) for i in arr)
        self.dirty = True
        self._invalidate()

    def reconcile(self, live: np.ndarray, fetch: Callable[[np.ndarray | None], tuple[np.ndarray, np.ndarray]]) -> None:
        """Make the searchable ids exactly ``live`` (sorted, unique): add the missing ones' vectors from
        ``fetch(ids)``, drop the extra ones; rebuild from ``fetch(None)`` (all) if ids are duplicated."""
        import numpy as np

        have = self.ids()
        if len(have) != len(np.unique(have)):
            log.warning("vector index has duplicate ids; rebuilding it from the database")
            self.rebuild(*fetch(None))
            self.dirty = True
            return
        missing = np.setdiff1d(live, have, assume_unique=True)
        extra = np.setdiff1d(have, live, assume_unique=True)
        if len(missing):
            ids, vecs = fetch(missing)
            if len(ids) < len(missing):
                log.warning("%d chunks have no stored vector; they are searchable by BM25 only", len(missing) - len(ids))
            self.add(ids, vecs)
        # Removed tombstones that are live again cannot happen (ids are never reused).
        self.remove(np.setdiff1d(extra, np.fromiter(self.stale, dtype=np.int64)))

    def needs_rebuild(self, live: int) -> bool:
        if self.kind != self.kind_for(live):
            return True
        return bool(self.stale) and len(self.stale) > self.max_stale_fraction * max(self.ntotal, 1)

    # -- search -----------------------------------------------------------------------------------
    def search(self, query: Any, k: int, allowed: Any | None = None) -> tuple[Any, Any]:
        """Top ``k`` (scores, ids) for one query vector; ``allowed`` restricts to those ids."""
        import numpy as np

        faiss = _faiss()
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        k = min(k, self.ntotal)
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        if allowed is None and not self.stale and self.gpus > 0 and self.kind == "flat":
            got = self._search_gpu(q, k)
            if got is not None:
                return got
        sel = None
        if allowed is not None:
            sel = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
        elif self.stale:
            sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(np.fromiter(self.stale, dtype=np.int64)))
        if sel is None:
            if self.kind == "hnsw":
                params: Any = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
                scores, ids = self.index.search(q, k, params=params)
            else:
                scores, ids = self.index.search(q, k)
        else:
            if self.kind == "hnsw":
                params = faiss.SearchParametersHNSW(sel=sel, efSearch=max(self.ef_search, k))
            else:
                params = faiss.SearchParameters(sel=sel)
            scores, ids = self.index.search(q, k, params=params)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def _invalidate(self) -> None:
        self._gpu = None
        self._gpu_ids = None

    def _search_gpu(self, q: Any, k: int) -> tuple[Any, Any] | None:
        faiss = _faiss()
        try:
            if self._gpu is None:
                # Clone only the flat storage; ids are mapped back through id_map ourselves, which avoids
                # depending on GPU support for IndexIDMap2.
                self._gpu = faiss.index_cpu_to_all_gpus(self.index.index)
                self._gpu_ids = faiss.vector_to_array(self.index.id_map)
            scores, pos = self._gpu.search(q, k)
        except Exception as exc:  # noqa: BLE001 - any GPU failure falls back to the CPU index
            log.warning("GPU search failed (%s); using the CPU index", exc)
            self.gpus = 0
            self._invalidate()
            return None
        keep = pos[0] >= 0
        return scores[0][keep], self._gpu_ids[pos[0][keep]]

    # -- persistence ------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write to a temp file in the same directory, fsync, then ``os.replace``: readers and a crash
        see either the old file or the new one, never a torn one."""
        faiss = _faiss()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            faiss.write_index(self.index, str(tmp))
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except (OSError, RuntimeError) as exc:
            raise IndexStoreError(f"cannot write vector index {path}: {exc}", source=str(path), stage="index") from exc
        finally:
            tmp.unlink(missing_ok=True)
        self.dirty = False

    def load(self, path: Path) -> bool:
        """Load ``path``; False (and an empty index) when it is missing or unreadable."""
        faiss = _faiss()
        if not path.is_file():
            return False
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            log.warning("vector index %s is unreadable (%s); rebuilding it from the database", path, exc)
            return False
        # read_index returns the concrete outer type already; only the wrapped index needs downcasting
        # (downcasting an already concrete object crashes SWIG).
        if not isinstance(index, faiss.IndexIDMap2) or index.d != self.dimension:
            log.warning("vector index %s does not match the database; rebuilding it", path)
            return False
        inner = faiss.downcast_index(index.index)
        self.kind = "hnsw" if isinstance(inner, faiss.IndexHNSW) else "flat"
        if self.kind == "hnsw":
            inner.hnsw.efSearch = self.ef_search
        self.index = index
        self.stale.clear()
        self._invalidate()
        return True
