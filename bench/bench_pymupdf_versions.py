"""PyMuPDF 1.x vs 2.x on the same pages: ``get_text("dict")``, ``find_tables()`` and ``to_markdown``.

The two versions cannot share an environment, so this script drives one worker process per interpreter,
alternating them per measurement (so machine load hits both alike), and prints one table with the ratio of
each interpreter against the first one. Used for the "PyMuPDF 1.x vs 2.x" entry of docs/decisions.md:

    python3 -m venv /tmp/pm2 && /tmp/pm2/bin/pip install 'pymupdf==2.*'     # scratch venv, not .venv
    .venv/bin/python bench/bench_pymupdf_versions.py --python .venv/bin/python --python /tmp/pm2/bin/python

``to_markdown`` uses the ``pymupdf4llm`` of each interpreter (0.3.4 from the dev extra for 1.x; the copy
bundled with 2.x, whose default is the ONNX layout model, plus a run with ``use_layout(False)``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MODES = ("dict", "tables", "markdown", "markdown_no_layout")
DEFAULT_FILES = [
    "3M_2018_10K.pdf",
    "AMCOR_2023Q2_10Q.pdf",
    "BESTBUY_2023_10K.pdf",
    "MICROSOFT_2023_10K.pdf",
    "PFIZER_2021_10K.pdf",
]


def default_corpus() -> Path:
    eval_dir = os.environ.get("RAGLINE_EVAL_DIR")
    base = Path(eval_dir) if eval_dir else REPO.parent / "shared" / "eval"
    return base / "financebench" / "pdfs"


# ------------------------------------------------------------------------------------------------
# worker side: runs inside the interpreter under test, prints one JSON object
# ------------------------------------------------------------------------------------------------


def _worker(mode: str, files: list[Path], n_pages: int) -> dict[str, Any]:
    t_import = time.perf_counter()
    import pymupdf

    out: dict[str, Any] = {
        "pymupdf": pymupdf.__version__,
        "import_s": round(time.perf_counter() - t_import, 2),
        "onnxruntime_loaded_by_import": "onnxruntime" in sys.modules,
    }
    pages = chars = units = 0
    wall = cpu = 0.0
    for path in files:
        with pymupdf.open(path) as doc:
            sel = list(range(min(n_pages, doc.page_count)))
            if mode == "dict":
                for i in sel:
                    page = doc[i]
                    t0, c0 = time.perf_counter(), time.process_time()
                    d = page.get_text("dict")
                    wall += time.perf_counter() - t0
                    cpu += time.process_time() - c0
                    chars += sum(
                        len(s["text"]) for b in d["blocks"] if b["type"] == 0 for ln in b["lines"] for s in ln["spans"]
                    )
            elif mode == "tables":
                for i in sel:
                    page = doc[i]
                    t0, c0 = time.perf_counter(), time.process_time()
                    found = page.find_tables()
                    cells = [tb.extract() for tb in found.tables]
                    wall += time.perf_counter() - t0
                    cpu += time.process_time() - c0
                    units += len(found.tables)
                    chars += sum(len(r) * len(r[0]) for r in cells if r)
            elif mode in ("markdown", "markdown_no_layout"):
                import pymupdf4llm

                if mode == "markdown_no_layout":
                    if not hasattr(pymupdf4llm, "use_layout"):
                        return {**out, "skipped": "no layout mode in this pymupdf4llm"}
                    pymupdf4llm.use_layout(False)
                out["pymupdf4llm"] = getattr(pymupdf4llm, "__version__", "?")
                t0, c0 = time.perf_counter(), time.process_time()
                md = pymupdf4llm.to_markdown(doc, pages=sel, show_progress=False)
                wall += time.perf_counter() - t0
                cpu += time.process_time() - c0
                chars += len(md)
            else:
                raise SystemExit(f"unknown mode {mode}")
            pages += len(sel)
    out.update(pages=pages, wall_s=round(wall, 3), cpu_s=round(cpu, 3), chars=chars)
    if mode == "tables":
        out["tables"] = units
        out["cells"] = chars
    return out


# ------------------------------------------------------------------------------------------------
# driver
# ------------------------------------------------------------------------------------------------


def _run_worker(python: str, mode: str, files: list[Path], n_pages: int) -> dict[str, Any]:
    cmd = [python, str(Path(__file__).resolve()), "--worker", mode, "--pages", str(n_pages), *map(str, files)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    # pymupdf4llm prints notices on stdout; the result is the last line that parses as JSON
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            result: dict[str, Any] = json.loads(line)
            return result
    return {"error": (proc.stderr or proc.stdout)[-500:]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--python", action="append", default=None, help="interpreter to test (repeat; first = baseline)")
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--files", nargs="*", default=DEFAULT_FILES)
    ap.add_argument("--pages-per-file", type=int, default=40, help="pages for get_text and find_tables")
    ap.add_argument("--md-pages-per-file", type=int, default=10, help="pages for to_markdown")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument(
        "--modes",
        nargs="+",
        default=list(MODES),
        choices=MODES,
        help="what to measure; find_tables ('tables') is the slow part, about 1-2 s a page",
    )
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--pages", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        print(json.dumps(_worker(args.worker, [Path(p) for p in args.paths], args.pages)))
        return 0

    pythons = args.python or [sys.executable]
    corpus = args.corpus or default_corpus()
    files = [corpus / f for f in args.files]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        print(f"missing: {missing}", file=sys.stderr)
        return 2
    plan = [(m, args.md_pages_per_file if m.startswith("markdown") else args.pages_per_file) for m in args.modes]

    rows: list[tuple[str, str, dict[str, Any]]] = []
    for mode, n in plan:
        for rep in range(args.repeat):
            for py in pythons:  # alternate interpreters so load drift hits both
                r = _run_worker(py, mode, files, n)
                rows.append((mode, py, r))
                print(f"{mode:18s} run {rep + 1} {py}: {json.dumps(r)}", flush=True)

    print("\n| measurement | interpreter | PyMuPDF | pages | wall ms/page | CPU ms/page | pages/s | x baseline |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    base: dict[str, float] = {}
    for mode, py, r in rows:
        if "pages" not in r or not r["pages"]:
            print(f"| {mode} | {py} | {r.get('pymupdf', '?')} | - | - | - | - | {r.get('skipped') or 'error'} |")
            continue
        ms = 1000 * r["wall_s"] / r["pages"]
        # both markdown variants are compared with the baseline interpreter's default to_markdown
        key = "markdown" if mode == "markdown_no_layout" else mode
        base.setdefault(key, ms)
        print(
            f"| {mode} | {py} | {r['pymupdf']} | {r['pages']} | {ms:.1f} | {1000 * r['cpu_s'] / r['pages']:.1f} "
            f"| {r['pages'] / r['wall_s']:.2f} | {ms / base[key]:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
