"""Embedded LLM speed by thread count: prompt and generation tokens/s, as ratios to 1 thread (same run).

    .venv/bin/python bench/bench_local_llm.py                  # threads 1 and all cores
    .venv/bin/python bench/bench_local_llm.py --threads 1 2 4 --model qwen2.5-0.5b

Each setting starts the real server (`LocalLLMServer`), sends one warm-up request, then a fixed extraction-
sized prompt (~600 tokens) with 64 output tokens, through the same `LLMClient` the pipeline uses.
"""

from __future__ import annotations

import argparse
import os
import time

from pipeline.llm import LocalLLMServer

PROMPT = ("Invoice INV-2026-0042 dated 14.03.2026. Subtotal (net) 1.153,79 EUR, VAT 7% 80,77 EUR, "
          "total amount due 1.234,56 EUR. ") * 20 + "\nList the amounts in this text as JSON."


def measure(model: str, threads: int) -> tuple[float, int, int]:
    with LocalLLMServer(model, n_threads=threads) as srv:
        client = srv.client()
        client.chat([{"role": "user", "content": "hi"}], max_tokens=4)
        t0 = time.perf_counter()
        # A fresh prompt prefix each time, so llama.cpp's prefix cache does not skip the prompt.
        out = client.chat([{"role": "user", "content": f"[{threads}] {PROMPT}"}], max_tokens=64, temperature=0)
        secs = time.perf_counter() - t0
    return secs, out.usage.prompt_tokens, out.usage.completion_tokens


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="qwen2.5-0.5b")
    ap.add_argument("--threads", type=int, nargs="+", default=sorted({1, os.cpu_count() or 1}))
    args = ap.parse_args()
    base: float | None = None
    print(f"model {args.model}; load average {os.getloadavg()[0]:.1f}")
    print("| threads | seconds | prompt tokens | output tokens | speed vs 1st setting |")
    print("|---:|---:|---:|---:|---:|")
    for n in args.threads:
        secs, p, c = measure(args.model, n)
        if base is None:
            base = secs
        print(f"| {n} | {secs:.1f} | {p} | {c} | {base / secs:.2f}x |", flush=True)

if __name__ == "__main__":
    main()
