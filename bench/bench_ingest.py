"""End-to-end ingest: pages/s and peak memory of ``Index.add`` on real filings.

Three runs over the same files in one process, so their ratios are measured under the same load:

1. parse only (``Parser.run`` on every file) -- the baseline;
2. a full ingest into a fresh index (parse + chunk + embed + SQLite + FAISS);
3. the same ingest again (unchanged files: hash only, nothing parsed or embedded).

Peak RSS is the process maximum (``ru_maxrss``) after each step, so it includes the embedding model.

    .venv/bin/python bench/bench_ingest.py --limit 4             # the 4 smallest financebench PDFs
    .venv/bin/python bench/bench_ingest.py --corpus ../shared/eval/financebench/pdfs --limit 29
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def default_corpus() -> Path:
    eval_dir = os.environ.get("RAGLINE_EVAL_DIR")
    base = Path(eval_dir) if eval_dir else REPO.parent / "shared" / "eval"
    return base / "financebench" / "pdfs"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=default_corpus())
    ap.add_argument("--limit", type=int, default=4, help="number of PDFs, smallest first (default 4)")
    ap.add_argument("--backend", choices=["auto", "onnx", "torch"], default="auto")
    ap.add_argument("--cache-dir", default=os.environ.get("RAGLINE_CACHE_DIR"))
    args = ap.parse_args()

    from pipeline.embedding import make_embedder
    from pipeline.index import Index
    from pipeline.parsing import Parser

    files = sorted(args.corpus.glob("*.pdf"), key=lambda p: p.stat().st_size)[: args.limit]
    if not files:
        print(f"no PDFs in {args.corpus}", file=sys.stderr)
        return 2
    embedder = make_embedder(args.backend, cache_dir=args.cache_dir)
    embedder.warm_up()
    rss_model = peak_rss_mb()

    parser = Parser()
    t = time.perf_counter()
    pages = sum(parser.run(f).pages for f in files)
    parse_s = time.perf_counter() - t

    with tempfile.TemporaryDirectory() as tmp, Index.open(Path(tmp) / "ix", embedder=embedder) as index:
        t = time.perf_counter()
        first = index.add(files)
        ingest_s = time.perf_counter() - t
        rss_ingest = peak_rss_mb()
        t = time.perf_counter()
        again = index.add(files)
        again_s = time.perf_counter() - t
        size_mb = sum(p.stat().st_size for p in (Path(tmp) / "ix").iterdir()) / 2**20
    assert first.failed == 0, first.errors
    assert again.skipped == len(files) and again.embedded == 0

    print(f"{len(files)} PDFs, {pages} pages, {first.chunks_added} chunks; embedder "
          f"{type(embedder).__name__} ({getattr(embedder, 'device', '?')}); index {size_mb:.1f} MiB on disk")
    print("| step | seconds | pages/s | vs parse only |")
    print("|---|---:|---:|---:|")
    print(f"| parse only (baseline) | {parse_s:.1f} | {pages / parse_s:.1f} | 1.00x |")
    print(f"| ingest, fresh index | {ingest_s:.1f} | {pages / ingest_s:.1f} | {ingest_s / parse_s:.2f}x time |")
    print(f"| ingest again, unchanged | {again_s:.2f} | {pages / again_s:.0f} | {again_s / parse_s:.3f}x time |")
    print(f"chunks embedded/s during ingest: {first.embedded / ingest_s:.0f}; "
          f"peak RSS: {rss_model:.0f} MiB after loading the model, {rss_ingest:.0f} MiB after ingest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
