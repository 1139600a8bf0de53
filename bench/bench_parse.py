"""Parsing throughput: ``pipeline.parse`` against raw PyMuPDF ``page.get_text()`` and ``pymupdf4llm``.

All three run on the same PDFs in the same process, file by file (so disk cache and machine load hit
them alike); the baseline is raw ``get_text()``, and the table prints each method's pages/s and how many
times slower than the baseline it is.

    .venv/bin/python bench/bench_parse.py --limit 5
    .venv/bin/python bench/bench_parse.py --corpus ../shared/eval/financebench/pdfs     # all 29 files

Default corpus: ``$RAGLINE_EVAL_DIR/financebench/pdfs``, else ``../shared/eval/financebench/pdfs`` next to
the repository. ``pymupdf4llm`` (the ``dev`` extra) is optional; its column is skipped when it is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def default_corpus() -> Path:
    eval_dir = os.environ.get("RAGLINE_EVAL_DIR")
    base = Path(eval_dir) if eval_dir else REPO.parent / "shared" / "eval"
    return base / "financebench" / "pdfs"


def raw_get_text(path: Path) -> int:
    """Baseline: open, ``get_text()`` every page, close. Returns characters, so the work can't be skipped."""
    import pymupdf

    with pymupdf.open(path) as doc:
        return sum(len(page.get_text()) for page in doc)


def ragline_parse(path: Path) -> int:
    import pipeline

    return len(pipeline.parse(path).to_markdown())


def pymupdf4llm_markdown(path: Path) -> int:
    import pymupdf4llm

    return len(pymupdf4llm.to_markdown(str(path), show_progress=False))


def page_count(path: Path) -> int:
    import pymupdf

    with pymupdf.open(path) as doc:
        return doc.page_count


class Tally:
    def __init__(self, name: str) -> None:
        self.name = name
        self.pages = 0
        self.seconds = 0.0
        self.chars = 0
        self.failures: list[str] = []

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else float("nan")


def run(files: list[Path], methods: dict[str, Callable[[Path], int]], per_file: bool) -> list[Tally]:
    tallies = {name: Tally(name) for name in methods}
    for path in files:
        n = page_count(path)
        row = [f"{path.name[:40]:40s} {n:5d} p"]
        for name, fn in methods.items():
            t0 = time.perf_counter()
            try:
                chars = fn(path)
            except Exception as exc:  # noqa: BLE001 - a failure is a result here, not a reason to stop
                tallies[name].failures.append(f"{path.name}: {type(exc).__name__}: {exc}")
                row.append(f"{name}=FAIL")
                continue
            dt = time.perf_counter() - t0
            t = tallies[name]
            t.pages += n
            t.seconds += dt
            t.chars += chars
            row.append(f"{name}={n / dt:7.1f} p/s")
        if per_file:
            print("  ".join(row), flush=True)
    return list(tallies.values())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--corpus", type=Path, default=None, help="folder of PDFs (default: financebench pdfs)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N files (sorted by name)")
    ap.add_argument("--no-pymupdf4llm", action="store_true", help="skip the pymupdf4llm column")
    ap.add_argument("--per-file", action="store_true", help="print a line per file as it goes")
    args = ap.parse_args(argv)

    corpus = args.corpus or default_corpus()
    files = sorted(corpus.glob("*.pdf"))
    if args.limit is not None:
        files = files[: args.limit]
    if not files:
        print(f"no PDFs in {corpus}", file=sys.stderr)
        return 2

    methods: dict[str, Callable[[Path], int]] = {"get_text": raw_get_text, "ragline": ragline_parse}
    if not args.no_pymupdf4llm:
        try:
            import pymupdf4llm  # noqa: F401
        except ImportError:
            print("pymupdf4llm not installed; skipping its column", file=sys.stderr)
        else:
            methods["pymupdf4llm"] = pymupdf4llm_markdown

    # Warm-up outside the timings: lazy imports and first-call setup would otherwise be billed to the
    # first file. The smallest file keeps this cheap.
    smallest = min(files, key=lambda p: p.stat().st_size)
    for fn in methods.values():
        with contextlib.suppress(Exception):  # a failure is reported again, per file, in the timed run
            fn(smallest)

    import pymupdf

    print(f"corpus: {corpus}  files: {len(files)}  PyMuPDF {pymupdf.VersionBind}  python {sys.version.split()[0]}")
    t_start = time.perf_counter()
    tallies = run(files, methods, args.per_file)
    wall = time.perf_counter() - t_start

    base = tallies[0].pages_per_s
    print()
    print("| method | pages | seconds | pages/s | x slower than get_text | failures |")
    print("|---|---:|---:|---:|---:|---:|")
    for t in tallies:
        ratio = base / t.pages_per_s if t.pages_per_s else float("nan")
        print(f"| {t.name} | {t.pages} | {t.seconds:.2f} | {t.pages_per_s:.1f} | {ratio:.2f} | {len(t.failures)} |")
    print(f"\nwall time {wall:.1f} s")
    for t in tallies:
        for f in t.failures:
            print(f"FAIL {t.name}: {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
