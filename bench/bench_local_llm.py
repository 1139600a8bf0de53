"""Embedded LLM speed: thread count, llama.cpp builds, and the server's prompt (prefix) cache.

Absolute speeds on the shared 2-core VM are noisy, so each mode measures its baseline in the same run,
interleaved, and prints ratios; the 1-minute load average is printed with every figure.

    # threads: one request per setting, as ratios to the first setting
    .venv/bin/python bench/bench_local_llm.py threads --threads 1 2

    # builds: prompt-read and generation tokens/s of two llama-cpp-python builds, interleaved (A B B A ...)
    .venv/bin/python bench/bench_local_llm.py builds --threads 2 --rounds 3 \\
        avx2=/tmp/avx2-wheel-dir avx512=~/.cache/ragline/wheels/llama-cpp-python-0.3.36-x86_64-...

    # prefix: seconds per invoice for `extract --strategy free`, the shared prompt prefix reused or not
    .venv/bin/python bench/bench_local_llm.py prefix ../shared/eval/invoice2data/compare/*.pdf --limit 4
    # ... only the prompt reading: the same messages, 1 output token (cheaper, same difference)
    .venv/bin/python bench/bench_local_llm.py prefix ../shared/eval/invoice2data/compare/*.pdf --prompt-only

A build is ``installed`` (the venv's own), a ``.whl`` file, a directory holding one (setup.sh's keyed
wheel directory), or a directory with an unpacked ``llama_cpp`` package; it reaches the server child
through ``PYTHONPATH``. Each server start also runs its one-completion probe (``LocalLLMServer``).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

from pipeline.llm import LLMClient, LocalLLMServer

SENTENCE = ("Invoice INV-2026-0042 dated 14.03.2026. Subtotal (net) 1.153,79 EUR, VAT 7% 80,77 EUR, "
            "total amount due 1.234,56 EUR. ")
PROMPT = SENTENCE * 40 + "\nList the amounts in this text as JSON."
GENERATE = "Count from 1 to 500, one number per line, nothing else."
# llama.cpp's own timings, which the server prints to its log after each completion.
_PROMPT_EVAL = re.compile(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens")
_EVAL = re.compile(r"^llama_perf_context_print:\s+eval time =\s*([\d.]+) ms /\s*(\d+) runs", re.MULTILINE)


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def _fresh(content: str) -> list[dict[str, str]]:
    """Messages whose first tokens are new, so the server's prefix cache cannot skip the prompt."""
    return [{"role": "system", "content": f"Run {uuid.uuid4().hex[:8]}."}, {"role": "user", "content": content}]


def _timed(client: LLMClient, content: str, max_tokens: int) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    out = client.chat(_fresh(content), max_tokens=max_tokens, temperature=0)
    return time.perf_counter() - t0, out.usage.prompt_tokens, out.usage.completion_tokens


def _last_timing(log: Path, pattern: re.Pattern[str]) -> tuple[float, int]:
    """(milliseconds, tokens) of the last llama.cpp timing line matching ``pattern`` in the server log."""
    found = pattern.findall(log.read_text(errors="replace"))
    if not found:
        raise SystemExit(f"no llama.cpp timings in {log}")
    ms, tokens = found[-1]
    return float(ms), int(tokens)


def speeds(client: LLMClient, log: Path, gen_tokens: int, repeat: int = 40) -> tuple[float, float]:
    """(prompt tokens/s, generation tokens/s) from llama.cpp's own timings in the server log: a long prompt
    with 1 output token, then a short prompt that makes the model write ``gen_tokens`` tokens."""
    client.chat([{"role": "user", "content": "hi"}], max_tokens=4)  # first-request costs out of the way
    _timed(client, SENTENCE * repeat + "\nList the amounts in this text as JSON.", 1)
    ms, tokens = _last_timing(log, _PROMPT_EVAL)
    prompt_speed = tokens / ms * 1000
    _timed(client, GENERATE, gen_tokens)
    ms, tokens = _last_timing(log, _EVAL)
    return prompt_speed, tokens / ms * 1000


# -- builds ------------------------------------------------------------------------------------


def build_env(spec: str, scratch: Path) -> dict[str, str]:
    """The environment that makes the server child import the build ``spec`` (see the module doc)."""
    if spec == "installed":
        return {}
    path = Path(spec).expanduser()
    if path.is_dir() and not (path / "llama_cpp").is_dir():
        wheels = sorted(path.glob("llama_cpp_python-*.whl"))
        if not wheels:
            raise SystemExit(f"{path}: no llama_cpp package and no llama_cpp_python wheel")
        path = wheels[0]
    if path.suffix == ".whl":
        target = scratch / path.stem
        with zipfile.ZipFile(path) as wheel:
            wheel.extractall(target)
        for lib in (target / "llama_cpp" / "lib").glob("*.so*"):  # zip drops the executable bit
            lib.chmod(0o755)
        path = target
    return {"PYTHONPATH": os.pathsep.join([str(path), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def cmd_builds(args: argparse.Namespace) -> None:
    labels = [b.partition("=")[0] for b in args.build]
    results: dict[str, list[tuple[float, float]]] = {label: [] for label in labels}
    print(f"model {args.model}; {args.threads} threads; {args.rounds} rounds, order alternating")
    print("| round | build | prompt tokens/s | generation tokens/s | load |")
    print("|---:|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as scratch:
        envs = {b.partition("=")[0]: build_env(b.partition("=")[2] or "installed", Path(scratch)) for b in args.build}
        for r in range(args.rounds):
            for label in labels if r % 2 == 0 else labels[::-1]:
                log = Path(scratch) / f"server-{label}-{r}.log"
                with LocalLLMServer(args.model, n_threads=args.threads, extra_env=envs[label], log_path=log) as srv:
                    prompt_speed, gen_speed = speeds(srv.client(), log, args.gen_tokens, args.prompt_repeat)
                results[label].append((prompt_speed, gen_speed))
                print(f"| {r + 1} | {label} | {prompt_speed:.1f} | {gen_speed:.1f} | {load()} |", flush=True)
    base = labels[0]
    print(f"\n| build | median prompt tokens/s | x {base} | median generation tokens/s | x {base} |")
    print("|---|---:|---:|---:|---:|")
    med = {lb: [statistics.median(x[i] for x in results[lb]) for i in (0, 1)] for lb in labels}
    for label in labels:
        p, g = med[label]
        print(f"| {label} | {p:.1f} | {p / med[base][0]:.2f} | {g:.1f} | {g / med[base][1]:.2f} |")


# -- threads -----------------------------------------------------------------------------------


def cmd_threads(args: argparse.Namespace) -> None:
    base: float | None = None
    print(f"model {args.model}")
    print("| threads | seconds | prompt tokens | output tokens | speed vs 1st setting | load |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n in args.threads:
        with LocalLLMServer(args.model, n_threads=n) as srv:
            client = srv.client()
            client.chat([{"role": "user", "content": "hi"}], max_tokens=4)
            secs, p, c = _timed(client, PROMPT[: len(PROMPT) // 2], 64)
        base = base or secs
        print(f"| {n} | {secs:.1f} | {p} | {c} | {base / secs:.2f}x | {load()} |", flush=True)


# -- prefix cache ------------------------------------------------------------------------------


def _free_messages(doc: object, options: object) -> list[dict[str, str]]:
    """The messages the free strategy sends for ``doc`` (its first attempt)."""
    from pipeline.extraction import Invoice, StructuredExtractor

    extractor = StructuredExtractor(Invoice, client=None, options=options)  # type: ignore[arg-type]
    return extractor.build_messages(doc, extractor._context(doc))  # type: ignore[arg-type]


def _one(client: LLMClient, doc: object, options: object, prompt_only: bool) -> tuple[float, int]:
    from pipeline.extraction import Invoice, extract

    t0 = time.perf_counter()
    if prompt_only:
        out = client.chat(_free_messages(doc, options), max_tokens=1, temperature=0)
        return time.perf_counter() - t0, out.usage.prompt_tokens
    result = extract(doc, Invoice, client, options, raise_on_failure=False)  # type: ignore[arg-type]
    return time.perf_counter() - t0, result.usage.prompt_tokens


AFTER_INVOICE, AFTER_OTHER = "another invoice", "an unrelated request"


def _prefix_sequence(n: int, ram_cache: bool) -> list[tuple[int, str]]:
    """(document, what came before it) in the order sent to one server.

    Plain server (only the last request's tokens are kept): every document twice, once after an unrelated
    request and once after another invoice -- breaker, d0, d1, breaker, d1, d2, ... With ``--cache`` the
    server would find a document's own saved state the second time, so there every document is sent
    once, each after an unrelated request: from the second on, the previous invoice's state is saved."""
    if ram_cache:
        return [(i, AFTER_OTHER) for i in range(n)]
    return [pair for i in range(n) for pair in ((i, AFTER_OTHER), ((i + 1) % n, AFTER_INVOICE))]


def cmd_prefix(args: argparse.Namespace) -> None:
    """Seconds per invoice with the shared prompt prefix (instructions, field list) already in the server's
    KV cache, and without (see :func:`_prefix_sequence`); with ``--ram-cache`` also a server started with
    llama-cpp-python's ``--cache true`` (states saved after each request, the longest prefix restored)."""
    from pipeline.extraction import ExtractionOptions
    from pipeline.parsing import parse

    docs = [(Path(f).name, parse(f)) for f in args.files[: args.limit]]
    options = ExtractionOptions(strategy="free", max_validation_reasks=0)
    what = "prompt reading of `extract --strategy free`" if args.prompt_only else "`extract --strategy free`"
    print(f"model {args.model}; {args.threads} threads; {len(docs)} documents; {what}")
    print("| server | document | after | seconds | prompt tokens | load |")
    print("|---|---|---|---:|---:|---:|")
    variants = {"plain": ()} | ({"ram-cache": ("--cache", "true")} if args.ram_cache else {})
    for variant, extra in variants.items():
        times: dict[str, list[float]] = {AFTER_INVOICE: [], AFTER_OTHER: []}
        with LocalLLMServer(args.model, n_threads=args.threads, extra_args=extra) as srv:
            client = srv.client()
            for n, (i, after) in enumerate(_prefix_sequence(len(docs), variant == "ram-cache")):
                if after == AFTER_OTHER:
                    client.chat(_fresh("Say OK."), max_tokens=2)
                secs, prompt_tokens = _one(client, docs[i][1], options, args.prompt_only)
                label = "nothing" if variant == "ram-cache" and n == 0 else after
                times.setdefault(label, []).append(secs)
                print(f"| {variant} | {docs[i][0]} | {label} | {secs:.1f} | {prompt_tokens} | {load()} |", flush=True)
        summary = ", ".join(f"after {k}: {statistics.mean(v):.1f} s/invoice (n={len(v)})" for k, v in times.items() if v)
        print(f"\n{variant}: {summary}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="qwen2.5-0.5b")
    sub = ap.add_subparsers(dest="mode", required=True)
    th = sub.add_parser("threads", help="one request per thread count")
    th.add_argument("--threads", type=int, nargs="+", default=sorted({1, os.cpu_count() or 1}))
    bu = sub.add_parser("builds", help="prompt and generation tokens/s of llama-cpp-python builds")
    bu.add_argument("build", nargs="+", help="LABEL=installed|WHEEL|DIR; the first is the baseline")
    bu.add_argument("--threads", type=int, default=2)
    bu.add_argument("--rounds", type=int, default=3)
    bu.add_argument("--gen-tokens", type=int, default=96)
    bu.add_argument("--prompt-repeat", type=int, default=40, help="the invoice sentence x N (40: ~1,300 tokens)")
    pr = sub.add_parser("prefix", help="s/invoice with and without the shared prompt prefix in the KV cache")
    pr.add_argument("files", nargs="+", help="invoices (PDF or text)")
    pr.add_argument("--limit", type=int, default=4)
    pr.add_argument("--threads", type=int, default=2)
    pr.add_argument("--ram-cache", action="store_true", help="also a server with llama-cpp-python's --cache")
    pr.add_argument("--prompt-only", action="store_true", help="the free strategy's messages, 1 output token")
    args = ap.parse_args()
    print(f"load average at start: {load()}")
    {"threads": cmd_threads, "builds": cmd_builds, "prefix": cmd_prefix}[args.mode](args)


if __name__ == "__main__":
    main()
