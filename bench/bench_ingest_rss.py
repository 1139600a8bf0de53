"""Peak memory of an ingest against the number of files: 1,000 vs 5,000 small generated documents.

Each size is ingested by ``Ingestor`` with its defaults (the local engine: parse workers + the writer)
into a fresh index, in a fresh subprocess, so ``ru_maxrss`` is that ingest's own peak. Reported per size:
the writer's peak RSS (model, SQLite, FAISS, the report), the largest peak among its descendants (the
parse workers and their fork server, sampled from /proc: Linux), and their ratios between the sizes
(target: within 20%: memory flat in the number of files).

The documents are short Markdown files (the fastest format to parse), two sections of random common
words each, so every document gives a few chunks and no chunk text repeats (every one is embedded).

    .venv/bin/python bench/bench_ingest_rss.py                       # 1,000 vs 5,000, the real model
    .venv/bin/python bench/bench_ingest_rss.py --sizes 200 1000 --embedder hashing     # quick check
    .venv/bin/python bench/bench_ingest_rss.py --sizes 300 300 --workers 0      # the sequential path, for time
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from typing_extensions import Self

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Common words (about one model token each), so a chunk costs what a chunk of prose costs to embed.
_WORDS = (  # noqa: SIM905 (one string reads better than 96 quoted words)
    "revenue cost margin quarter year growth sales market customer product service price demand supply plant "
    "order contract lease debt cash flow income tax asset equity share dividend board report audit risk rate "
    "loan credit bank fund capital expense profit loss segment region unit team staff plan budget target "
    "forecast result change increase decrease higher lower new old first second third major minor strong weak "
    "north south east west city state country trade export import energy oil gas power water steel paper "
    "software hardware network data system platform store retail online digital office factory warehouse"
).split()


def generate(folder: Path, n: int, seed: int = 7) -> None:
    """``n`` Markdown documents of two ~30-word sections each (a chunk per section)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sections = []
        for s in range(2):
            words = " ".join(rng.choice(_WORDS) for _ in range(30))
            sections.append(f"## Part {s + 1}\n\nMemo {i} on {words}.\n")
        (folder / f"memo{i:05d}.md").write_text(f"# Memo {i}\n\n" + "\n".join(sections), encoding="utf-8")


class DescendantPeaks:
    """Samples the peak RSS (VmHWM) of this process's descendants (fork server, parse workers) twice a
    second while an ingest runs: they are not this process's children, so RUSAGE_CHILDREN misses them."""

    def __init__(self) -> None:
        self.peak_kib: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for pid in _descendants(os.getpid()):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
                self.peak_kib[pid] = max(hwm, self.peak_kib.get(pid, 0))


def _descendants(root: int) -> list[int]:
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    out = []
    for pid in parent:
        p = parent.get(pid, 0)
        while p > 1 and p != root:
            p = parent.get(p, 0)
        if p == root:
            out.append(pid)
    return out


def run_child(folder: Path, embedder_kind: str, cache_dir: str | None, workers: int | None) -> dict[str, Any]:
    from pipeline.index import Index
    from pipeline.ingest import Ingestor

    if embedder_kind == "hashing":
        from pipeline.testing import HashingEmbedder

        embedder: Any = HashingEmbedder(dimension=384)
    else:
        from pipeline.embedding import make_embedder

        embedder = make_embedder("auto", cache_dir=cache_dir)
    embedder.warm_up()
    with tempfile.TemporaryDirectory() as tmp, Index.open(Path(tmp) / "ix", embedder=embedder) as index:
        rss_ready = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t = time.perf_counter()
        with DescendantPeaks() as descendants:
            report = Ingestor(index, workers=workers).run([folder])
        seconds = time.perf_counter() - t
    assert report.failed == 0, report.errors[:3]
    return {
        "files": report.files, "chunks": report.chunks_added, "seconds": seconds, "rss_ready_mib": rss_ready,
        "writer_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "workers_peak_mib": max(descendants.peak_kib.values(), default=0) / 1024,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs=2, default=[1000, 5000], metavar=("SMALL", "LARGE"))
    ap.add_argument("--embedder", choices=["real", "hashing"], default="real",
                    help="real: the default model (as users run it); hashing: no model, the pipeline alone")
    ap.add_argument("--workers", type=int, help="parse workers (default: Ingestor's; 0: the sequential path)")
    ap.add_argument("--cache-dir", default=os.environ.get("RAGLINE_CACHE_DIR"))
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args.embedder, args.cache_dir, args.workers)))
        return 0

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            folder = Path(tmp) / f"docs{n}"
            generate(folder, n)
            cmd = [sys.executable, __file__, "--child", str(folder), "--embedder", args.embedder]
            if args.cache_dir:
                cmd += ["--cache-dir", args.cache_dir]
            if args.workers is not None:
                cmd += ["--workers", str(args.workers)]
            load = os.getloadavg()[0]
            out = subprocess.run(cmd, check=False, capture_output=True, text=True)
            if out.returncode:
                print(out.stderr[-3000:], file=sys.stderr)
                return 1
            result = json.loads(out.stdout.strip().splitlines()[-1]) | {"load": f"{load:.1f}-{os.getloadavg()[0]:.1f}"}
            results.append(result)
            print(f"  {n} files: {result['seconds']:.0f}s", file=sys.stderr, flush=True)
    small, large = results
    print(f"embedder: {args.embedder}; workers: {'default' if args.workers is None else args.workers}; "
          f"{os.cpu_count()} cores")
    print("| documents | chunks | seconds | RSS before ingest MiB | writer peak MiB | worker peak MiB | load 1-min |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['files']:,} | {r['chunks']:,} | {r['seconds']:.0f} | {r['rss_ready_mib']:.0f} | "
              f"{r['writer_peak_mib']:.0f} | {r['workers_peak_mib']:.0f} | {r['load']} |")
    writer = large["writer_peak_mib"] / small["writer_peak_mib"]
    # workers=0: no worker processes, nothing to compare.
    workers = large["workers_peak_mib"] / small["workers_peak_mib"] if small["workers_peak_mib"] else 1.0
    print(f"\npeak RSS {args.sizes[1]:,} vs {args.sizes[0]:,} documents: writer {writer:.2f}x, workers {workers:.2f}x "
          f"(target: within 1.20x)")
    return 0 if max(writer, workers) <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
