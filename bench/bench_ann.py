"""Vector search: exact ``IndexFlatIP`` (baseline) against HNSW, as the index uses them.

Builds both over the same unit vectors, then runs
one query at a time (as ``Index.search`` does) and reports build time, p50/p95 latency, latency relative
to exact search in the same run, and recall@10 against the exact top 10. Data (384-d):

* ``clustered``: points around 2,000 random centres (easy: well separated);
* ``uniform``: isotropic Gaussian directions (the hardest case, no structure at all);
* ``real``: mixes of two real MiniLM chunk vectors from an index plus small noise (``--from-index``),
  the closest to what the index holds.

    .venv/bin/python bench/bench_ann.py                       # 100k vectors, 1,000 queries
    .venv/bin/python bench/bench_ann.py --data real --from-index /tmp/rl-cache/eval-retrieval-docugami
    .venv/bin/python bench/bench_ann.py --n 200000 --data uniform --search-threads 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def real_vectors(index_dir: Path) -> np.ndarray:
    """The stored chunk vectors of an index built by ``ragline ingest`` / ``ragline eval retrieval``."""
    import sqlite3

    con = sqlite3.connect(f"file:{index_dir / 'index.sqlite'}?mode=ro", uri=True)
    dim = int(con.execute("SELECT value FROM meta WHERE key = 'embedding_dim'").fetchone()[0])
    blobs = [r[0] for r in con.execute(
        "SELECT e.vector FROM chunks c JOIN embeddings e ON e.text_sha256 = c.text_sha256")]
    con.close()
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim)


def make_data(
    n: int, nq: int, dim: int, kind: str, seed: int = 0, real: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "real":
        # Points on the real embedding manifold: a random mix of two real chunk vectors plus a little
        # noise, so 100k+ vectors keep the neighbourhood structure of actual MiniLM embeddings.
        assert real is not None
        a = real[rng.integers(0, len(real), n + nq)]
        b = real[rng.integers(0, len(real), n + nq)]
        w = rng.uniform(0.5, 1.0, (n + nq, 1)).astype(np.float32)
        x = w * a + (1 - w) * b + 0.02 * rng.standard_normal((n + nq, real.shape[1]), dtype=np.float32)
    elif kind == "uniform":
        x = rng.standard_normal((n + nq, dim), dtype=np.float32)
    else:
        centres = rng.standard_normal((2000, dim), dtype=np.float32)
        assign = rng.integers(0, len(centres), n + nq)
        x = centres[assign] + 0.6 * rng.standard_normal((n + nq, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x[:n]), np.ascontiguousarray(x[n:])


def timed_queries(search: object, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    lat = np.empty(len(queries))
    ids = np.empty((len(queries), k), dtype=np.int64)
    for i, q in enumerate(queries):
        t = time.perf_counter()
        _, got = search(q, k)  # type: ignore[operator]
        lat[i] = time.perf_counter() - t
        ids[i, : len(got)] = got[:k]
        ids[i, len(got) :] = -1
    return lat, ids


def recall_at(ids: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(ids, truth)]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--data", choices=["clustered", "uniform", "real"], default="clustered")
    ap.add_argument("--from-index", type=Path,
                    help="--data real: index directory whose chunk vectors seed the data "
                         "(e.g. the one `ragline eval retrieval` builds)")
    ap.add_argument("--ef-search", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--threads", type=int, default=0, help="faiss OpenMP threads for building (0: faiss default)")
    ap.add_argument("--search-threads", type=int, default=0,
                    help="OpenMP threads while querying (0: same as building); on a shared 2-core machine "
                         "1 is faster for single queries, the scan being memory-bound")
    args = ap.parse_args()

    import faiss

    from pipeline.index import VectorIndex

    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    real = None
    if args.data == "real":
        if not args.from_index:
            ap.error("--data real needs --from-index DIR")
        real = real_vectors(args.from_index)
        args.dim = real.shape[1]
    xb, xq = make_data(args.n, args.queries, args.dim, args.data, real=real)
    ids = np.arange(args.n, dtype=np.int64) + 1  # SQLite rowids start at 1

    rows = []
    build_threads = faiss.omp_get_max_threads()
    search_threads = args.search_threads or build_threads
    flat = VectorIndex(args.dim, hnsw_threshold=10**12, use_gpu=False)
    t = time.perf_counter()
    flat.add(ids, xb)
    flat_build = time.perf_counter() - t
    hnsw = VectorIndex(args.dim, hnsw_threshold=1, use_gpu=False)
    t = time.perf_counter()
    hnsw.rebuild(ids, xb)  # how Index switches to HNSW past the threshold
    hnsw_build = time.perf_counter() - t
    assert hnsw.kind == "hnsw"

    faiss.omp_set_num_threads(search_threads)
    flat_lat, truth = timed_queries(flat.search, xq, args.k)
    base_p50 = float(np.percentile(flat_lat, 50))
    rows.append(("flat (exact)", "-", flat_build, flat_lat, 1.0))
    for ef in args.ef_search:
        hnsw.ef_search = ef
        lat, got = timed_queries(hnsw.search, xq, args.k)
        rows.append((f"hnsw M={hnsw.hnsw_m} efC={hnsw.ef_construction}", str(ef), hnsw_build, lat, recall_at(got, truth)))

    seeded = f" (from {len(real):,} real chunk vectors)" if real is not None else ""
    print(f"{args.n:,} x {args.dim}-d {args.data} vectors{seeded}, {args.queries} single queries, k={args.k}, "
          f"faiss {faiss.__version__}, {build_threads} build / {search_threads} search threads")
    print(f"| index | efSearch | build s | p50 ms | p95 ms | p50 vs exact | recall@{args.k} |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, ef, build, lat, rec in rows:
        p50, p95 = np.percentile(lat, 50), np.percentile(lat, 95)
        print(f"| {name} | {ef} | {build:.1f} | {1000 * p50:.2f} | {1000 * p95:.2f} | "
              f"{p50 / base_p50:.2f}x | {rec:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
