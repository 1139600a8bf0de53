"""Load on ``ragline serve``: concurrent clients on the loopback address for a fixed time, mixing search, ask
and small extractions on the sample index; latency percentiles per endpoint, errors by status, the server's
RSS at start and end, and warm search against a one-shot ``ragline search`` process measured in the same run.

    .venv/bin/python bench/bench_serve.py                       # 50 clients, 60 s (stops by itself)
    .venv/bin/python bench/bench_serve.py --clients 10 --seconds 15 --json out.json

The server is started here (a child process on 127.0.0.1 and a free port) over an index of ``sample_docs``
built with the bundled embedding model; the extraction is ``pipeline.extraction:Invoice`` on the sample invoice
(its rules settle every field: no LLM is started, so the figure is ragline's own work). 429 answers are counted
apart: a client that gets one waits its ``Retry-After`` and goes on, which is what the queue asks of it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RAGLINE = [sys.executable, "-m", "pipeline"]
QUERIES = ["share of electricity used by refrigeration", "payback period of LED retrofits",
           "invoice total amount due", "energy intensity of the park", "variable-speed compressor drives",
           "customer number of Nordtor Logistik"]
QUESTIONS = ["What is the payback period of the LED retrofit?", "How much electricity did the park use in one year?",
             "What share of the electricity did refrigeration use?", "What is the capital of France?"]
MIX = (("search", 0.6), ("ask", 0.3), ("extract", 0.1))


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p * (len(s) - 1)))] if s else float("nan")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _one_shot_search(index: Path, runs: int) -> list[float]:
    """Wall time of a whole `ragline search` process (start, load the model, open the index, search)."""
    times = []
    for q in QUERIES[:runs]:
        t0 = time.perf_counter()
        subprocess.run([*RAGLINE, "search", q, "--index", str(index), "-k", "5", "--json"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        times.append(time.perf_counter() - t0)
    return times


async def _client(http: httpx.AsyncClient, until: float, rng: random.Random, invoice: bytes,
                  lat: dict[str, list[float]], codes: dict[str, dict[int, int]]) -> None:
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    while time.monotonic() < until:
        kind = rng.choices(kinds, weights)[0]
        t0 = time.perf_counter()
        try:
            if kind == "search":
                r = await http.post("/v1/search", json={"index": "sample", "query": rng.choice(QUERIES), "k": 5})
            elif kind == "ask":
                r = await http.post("/v1/ask", json={"index": "sample", "question": rng.choice(QUESTIONS)})
            else:
                r = await http.post("/v1/extract", files={"file": ("invoice_acme.pdf", invoice)},
                                    data={"schema_name": "invoice"})
            status = r.status_code
        except httpx.HTTPError:
            status = -1
        seconds = time.perf_counter() - t0
        codes[kind][status] = codes[kind].get(status, 0) + 1
        if status == 200:
            lat[kind].append(seconds)
        elif status == 429:
            await asyncio.sleep(float(r.headers.get("retry-after", "1")))


async def _load(url: str, clients: int, seconds: float, invoice: bytes) -> tuple[dict, dict]:
    lat: dict[str, list[float]] = {k: [] for k, _ in MIX}
    codes: dict[str, dict[int, int]] = {k: {} for k, _ in MIX}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as http:
        until = time.monotonic() + seconds
        await asyncio.gather(*(_client(http, until, random.Random(i), invoice, lat, codes) for i in range(clients)))
    return lat, codes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--index", type=Path, help="an index of sample_docs (default: built here, in a temp folder)")
    ap.add_argument("--one-shot-runs", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    index = args.index or work / "index"
    if args.index is None:
        subprocess.run([*RAGLINE, "ingest", str(ROOT / "sample_docs"), "--index", str(index), "-q"], check=True,
                       cwd=ROOT)
    one_shot = _one_shot_search(index, args.one_shot_runs)

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*RAGLINE, "serve", "--index", f"sample={index}", "--port", str(port), "-q",
                               "--schema", "invoice=pipeline.extraction:Invoice", "--state-dir", str(work / "state")],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("the server did not become ready")
        invoice = (ROOT / "sample_docs" / "invoice_acme.pdf").read_bytes()
        asyncio.run(_load(url, 1, 3.0, invoice))  # one warm request of each kind before RSS is read
        rss_start = _rss_mb(server.pid)
        t0 = time.perf_counter()
        lat, codes = asyncio.run(_load(url, args.clients, args.seconds, invoice))
        wall = time.perf_counter() - t0
        rss_end = _rss_mb(server.pid)
        warm = []
        for q in QUERIES * 3:  # warm search alone, one client: the latency a caller sees on an idle server
            t1 = time.perf_counter()
            httpx.post(url + "/v1/search", json={"index": "sample", "query": q, "k": 5}, timeout=60)
            warm.append(time.perf_counter() - t1)
    finally:
        server.terminate()
        server.wait(30)

    rows = {}
    print(f"ragline serve: {args.clients} clients for {wall:.0f} s on {os.cpu_count()} cores (loopback)")
    print(f"{'endpoint':<9} {'ok':>6} {'429':>5} {'other':>5} {'req/s':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind, _ in MIX:
        ok = len(lat[kind])
        busy = codes[kind].get(429, 0)
        other = sum(n for c, n in codes[kind].items() if c not in (200, 429))
        row = {"ok": ok, "429": busy, "errors": other, "per_s": ok / wall,
               "p50_ms": _pct(lat[kind], 0.5) * 1e3, "p95_ms": _pct(lat[kind], 0.95) * 1e3,
               "p99_ms": _pct(lat[kind], 0.99) * 1e3, "statuses": codes[kind]}
        rows[kind] = row
        print(f"{kind:<9} {ok:>6} {busy:>5} {other:>5} {row['per_s']:>6.1f} {row['p50_ms']:>8.0f} "
              f"{row['p95_ms']:>8.0f} {row['p99_ms']:>8.0f}")
    warm_p50, shot_p50 = statistics.median(warm), statistics.median(one_shot)
    growth = (rss_end - rss_start) / rss_start
    print(f"server RSS: {rss_start:.0f} MB at start, {rss_end:.0f} MB at end ({growth:+.1%})")
    print(f"warm search p50 {warm_p50 * 1e3:.0f} ms (idle server, one client) vs one-shot `ragline search` process "
          f"p50 {shot_p50 * 1e3:.0f} ms: {shot_p50 / warm_p50:.0f}x faster")
    if args.json:
        args.json.write_text(json.dumps({"clients": args.clients, "seconds": wall, "endpoints": rows,
                                         "rss_mb": [rss_start, rss_end], "warm_search_p50_s": warm_p50,
                                         "one_shot_search_p50_s": shot_p50}, indent=2, default=str))


if __name__ == "__main__":
    main()
