"""End-to-end ingest: pages/s and chunks/s of today's sequential path against the default engine, same run.

Two configurations over the same files, each in a fresh subprocess (its own peak RSS), each into a fresh
index with a fresh embedding cache, run back to back (``--rounds 2`` alternates them again, so load drift
on a shared machine hits both):

* **baseline**: the sequential path (``workers=0``: read, parse, chunk, embed, commit one file after
  another) with the embedder as it was before this benchmark's change: ONNX fp32 on CPU;
* **default**: what ``ragline ingest`` does now: the ``local`` engine (parsing in worker processes
  overlapping embedding in the writer) with ``make_embedder()``'s default backend and precision (OpenVINO
  bf16 on a CPU with bf16 instructions, else ONNX Runtime's fused fp32 graph: ``--compare fp32``).

The model is loaded before the clock starts (a constant per run, not per page); the engine's worker start
is timed. Ratios are what to compare: absolute speeds move with the machine's load (printed with them).

    RAGLINE_CACHE_DIR=/tmp/rl-cache .venv/bin/python bench/bench_ingest.py --limit 4   # 4 smallest filings
    RAGLINE_CACHE_DIR=/tmp/rl-cache .venv/bin/python bench/bench_ingest.py             # all 29 (~20+ min)
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONFIGS = {
    # Today's code before this round: the sequential path and the plain fp32 export (SDPA attention, unfused).
    "baseline": {"workers": 0, "precision": "fp32", "graph": "plain", "label": "sequential, plain ONNX fp32 (before)"},
    "default": {"workers": None, "precision": None, "label": "local engine, default embedder (now)"},
    # The default before OpenVINO bf16: ONNX Runtime's fused fp32 graph (what CPUs without bf16 run).
    "fp32": {"workers": None, "precision": "fp32", "label": "local engine, fused fp32 ONNX Runtime"},
    # Opt-in: dynamic int8 embeddings (1.9x the embedder, but vectors drift: docs/benchmarks.md, Embeddings).
    "int8": {"workers": None, "precision": "int8", "label": "local engine, int8 embedder (opt-in)"},
}


def default_corpus() -> Path:
    eval_dir = os.environ.get("RAGLINE_EVAL_DIR")
    base = Path(eval_dir) if eval_dir else REPO.parent / "shared" / "eval"
    return base / "financebench" / "pdfs"


def make_bench_embedder(backend: str, precision: str | None, cache_dir: str | None) -> Any:
    """``make_embedder`` with ``precision`` when this version has that parameter (fp32 was the only one)."""
    from pipeline.embedding import make_embedder

    kwargs: dict[str, Any] = {"cache_dir": cache_dir}
    if precision is not None and "precision" in inspect.signature(make_embedder).parameters:
        kwargs["precision"] = precision
    return make_embedder(backend, **kwargs)  # type: ignore[arg-type]


def run_one(config: str, files: list[Path], backend: str, cache_dir: str | None) -> dict[str, Any]:
    """One ingest into a fresh index (in this process, which the parent started for it)."""
    from pipeline.index import Index
    from pipeline.ingest import Ingestor

    cfg = CONFIGS[config]
    embedder = make_bench_embedder(backend, cfg["precision"], cache_dir)
    embedder.warm_up()
    if cfg.get("graph") == "plain":
        _use_plain_graph(embedder, cache_dir)
    with tempfile.TemporaryDirectory() as tmp, Index.open(Path(tmp) / "ix", embedder=embedder) as index:
        ingestor = Ingestor(index, workers=cfg["workers"])
        load = os.getloadavg()[0]
        t = time.perf_counter()
        report = ingestor.run(files)
        seconds = time.perf_counter() - t
        chunk_ids = sorted(r.chunk_id for r in index.store.chunks(index.store.live_ids().tolist()).values())
    if report.failed:
        raise SystemExit(f"{config}: {report.failed} file(s) failed: {report.errors}")
    return {
        "config": config, "seconds": seconds, "pages": report.pages, "chunks": report.chunks_added,
        "embedded": report.embedded, "load_before": load, "load_after": os.getloadavg()[0],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "embedder": f"{type(embedder).__name__} {getattr(embedder, 'device', '?')} "
                    f"{getattr(embedder, 'precision', None) or getattr(embedder, 'variant', '')}".strip(),
        "chunk_ids_sha": __import__("hashlib").sha256("".join(chunk_ids).encode()).hexdigest()[:12],
    }


def _use_plain_graph(embedder: Any, cache_dir: str | None) -> None:
    """Swap the embedder's ONNX session for the plain export ragline used before the fused graph."""
    import onnxruntime as ort
    from bench_embed import _plain_graph  # the same baseline graph as the embedding benchmark's

    target = _plain_graph(Path(cache_dir or tempfile.gettempdir()))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    embedder._session = ort.InferenceSession(str(target), sess_options=opts, providers=["CPUExecutionProvider"])
    embedder._input_names = {i.name for i in embedder._session.get_inputs()}
    embedder.precision = "fp32 (plain export)"


def spawn(config: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", config, "--corpus", str(args.corpus), "--limit", str(args.limit),
           "--backend", args.backend, "--compare", args.compare]
    if args.cache_dir:
        cmd += ["--cache-dir", args.cache_dir]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{config} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(results: list[dict[str, Any]]) -> str:
    base = [r for r in results if r["config"] == "baseline"]
    base_pps = sum(r["pages"] for r in base) / sum(r["seconds"] for r in base)
    lines = ["| run | config | embedder | seconds | pages/s | chunks/s | vs baseline | peak RSS MiB | load 1-min |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for n, r in enumerate(results, start=1):
        pps, cps = r["pages"] / r["seconds"], r["chunks"] / r["seconds"]
        lines.append(
            f"| {n} | {CONFIGS[r['config']]['label']} | {r['embedder']} | {r['seconds']:.1f} | {pps:.2f} | {cps:.1f} | "
            f"{pps / base_pps:.2f}x | {r['peak_rss_mib']:.0f} | {r['load_before']:.1f}-{r['load_after']:.1f} |"
        )
    other = [r for r in results if r["config"] != "baseline"]
    ratio = (sum(r["pages"] for r in other) / sum(r["seconds"] for r in other)) / base_pps
    lines.append(f"\nend-to-end pages/s, {other[0]['config']} vs baseline (all rounds pooled): {ratio:.2f}x")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=default_corpus())
    ap.add_argument("--limit", type=int, default=29, help="number of PDFs, smallest first (default: all 29)")
    ap.add_argument("--rounds", type=int, default=1, help="baseline/default pairs, alternating (default 1)")
    ap.add_argument("--compare", choices=["default", "fp32", "int8"], default="default",
                    help="what is compared with the baseline: default (what ragline ingest does), fp32 (ONNX "
                         "Runtime's fused graph, the default on CPUs without bf16) or int8 (opt-in)")
    ap.add_argument("--backend", choices=["auto", "onnx", "openvino", "torch"], default="auto")
    ap.add_argument("--cache-dir", default=os.environ.get("RAGLINE_CACHE_DIR"))
    ap.add_argument("--child", choices=[*sorted(CONFIGS), "warm"], help=argparse.SUPPRESS)
    args = ap.parse_args()

    files = sorted(args.corpus.glob("*.pdf"), key=lambda p: p.stat().st_size)[: args.limit]
    if not files:
        print(f"no PDFs in {args.corpus}", file=sys.stderr)
        return 2
    if args.child == "warm":
        for cfg in (CONFIGS["baseline"], CONFIGS[args.compare]):  # build model files before any timed run
            embedder = make_bench_embedder(args.backend, cfg["precision"], args.cache_dir)
            embedder.warm_up()
            if cfg.get("graph") == "plain":
                _use_plain_graph(embedder, args.cache_dir)
        print("{}")
        return 0
    if args.child:
        print(json.dumps(run_one(args.child, files, args.backend, args.cache_dir)))
        return 0
    print(f"{len(files)} PDFs from {args.corpus}; {os.cpu_count()} cores; load {os.getloadavg()}", flush=True)
    spawn("warm", args)
    results = []
    for r in range(args.rounds):
        order = ("baseline", args.compare) if r % 2 == 0 else (args.compare, "baseline")
        for config in order:
            results.append(spawn(config, args))
            print(f"  {config}: {results[-1]['seconds']:.1f}s", file=sys.stderr, flush=True)
    same = len({r["chunk_ids_sha"] for r in results}) == 1
    print(f"{results[0]['pages']} pages, {results[0]['chunks']} chunks; same chunk ids in every run: {same}")
    print(table(results))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
