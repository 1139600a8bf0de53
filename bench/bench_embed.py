"""Embedding throughput: sentence-transformers (torch, the baseline) against ONNX Runtime fp32 and int8.

All backends embed the same texts in the same process, one after another, after a warm-up batch; the
table prints texts/s, the speed-up over torch measured in this run, and the cosine similarity of each
backend's vectors to torch's (min and mean over the texts).

Texts: real chunks (``pipeline.chunk``, 256-token budget) of a 10-Q filing from the eval corpus when it
is present, else generated sentences.

    .venv/bin/python bench/bench_embed.py                 # 300 chunks, batch 32
    .venv/bin/python bench/bench_embed.py --n 1000 --batch-size 64 --threads 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def corpus_texts(n: int) -> tuple[list[str], str]:
    eval_dir = Path(os.environ.get("RAGLINE_EVAL_DIR") or REPO.parent / "shared" / "eval")
    pdf = eval_dir / "docugami_sec10q/sec-10-q/data/v1/docs/2023 Q3 AAPL.pdf"
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads for both runtimes (0: default)")
    ap.add_argument("--cache-dir", default=os.environ.get("RAGLINE_CACHE_DIR"), help="where the fp32 export is cached")
    args = ap.parse_args()

    from pipeline.embedding import OnnxEmbedder, SentenceTransformerEmbedder

    texts, what = corpus_texts(args.n)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    threads = args.threads or None
    backends = [
        ("torch (sentence-transformers)", SentenceTransformerEmbedder(batch_size=args.batch_size)),
        ("onnx fp32", OnnxEmbedder(variant="fp32", cache_dir=args.cache_dir, batch_size=args.batch_size, threads=threads)),
        ("onnx int8", OnnxEmbedder(variant="int8", batch_size=args.batch_size, threads=threads)),
    ]
    results = []
    for name, emb in backends:
        emb.warm_up()
        emb.embed(texts[: args.batch_size])  # first-call allocations out of the timing
        t = time.perf_counter()
        vecs = emb.embed(texts)
        results.append((name, len(texts) / (time.perf_counter() - t), vecs))
    base_rate, base = results[0][1], results[0][2]
    mean_chars = sum(map(len, texts)) / len(texts)
    print(f"{len(texts)} texts ({what}, mean {mean_chars:.0f} chars), batch {args.batch_size}, "
          f"threads {args.threads or 'default'}")
    print("| backend | texts/s | vs torch | cosine to torch (min / mean) |")
    print("|---|---:|---:|---:|")
    for name, rate, vecs in results:
        cos = (vecs * base).sum(axis=1)
        print(f"| {name} | {rate:.0f} | {rate / base_rate:.2f}x | {cos.min():.4f} / {cos.mean():.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
