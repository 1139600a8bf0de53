"""Counters for ``/metrics`` in the Prometheus text format (no client library needed for a handful of series):
requests and their latency per endpoint and status, model tokens, the work queue's depth, jobs by state."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Callable

# Latency buckets (seconds), from a warm search (~10 ms) to an extraction that calls a model (~minutes).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, int], int] = defaultdict(int)
        self._latency: dict[str, list[int]] = {}
        self._latency_sum: dict[str, float] = defaultdict(float)
        self._latency_count: dict[str, int] = defaultdict(int)
        self._tokens: dict[str, int] = defaultdict(int)
        self._rejected = 0
        self.gauges: dict[str, Callable[[], float]] = {}

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(endpoint, status)] += 1
            buckets = self._latency.setdefault(endpoint, [0] * len(BUCKETS))
            i = bisect.bisect_left(BUCKETS, seconds)
            if i < len(BUCKETS):
                buckets[i] += 1
            self._latency_sum[endpoint] += seconds
            self._latency_count[endpoint] += 1

    def tokens(self, prompt: int, completion: int) -> None:
        with self._lock:
            self._tokens["prompt"] += prompt
            self._tokens["completion"] += completion

    def rejected(self) -> None:
        with self._lock:
            self._rejected += 1

    def render(self) -> str:
        out = ["# HELP ragline_requests_total Requests answered, by endpoint and HTTP status.",
               "# TYPE ragline_requests_total counter"]
        with self._lock:
            for (endpoint, status), n in sorted(self._requests.items()):
                out.append(f'ragline_requests_total{{endpoint="{endpoint}",status="{status}"}} {n}')
            out += ["# HELP ragline_request_seconds Request latency, by endpoint.",
                    "# TYPE ragline_request_seconds histogram"]
            for endpoint, buckets in sorted(self._latency.items()):
                running = 0
                for bound, n in zip(BUCKETS, buckets):
                    running += n
                    out.append(f'ragline_request_seconds_bucket{{endpoint="{endpoint}",le="{bound}"}} {running}')
                count = self._latency_count[endpoint]
                out.append(f'ragline_request_seconds_bucket{{endpoint="{endpoint}",le="+Inf"}} {count}')
                out.append(f'ragline_request_seconds_sum{{endpoint="{endpoint}"}} {self._latency_sum[endpoint]:.6f}')
                out.append(f'ragline_request_seconds_count{{endpoint="{endpoint}"}} {count}')
            out += ["# HELP ragline_llm_tokens_total Model tokens used by requests and jobs.",
                    "# TYPE ragline_llm_tokens_total counter"]
            for kind in ("prompt", "completion"):
                out.append(f'ragline_llm_tokens_total{{kind="{kind}"}} {self._tokens[kind]}')
            out += ["# HELP ragline_rejected_total Requests refused with 429 because the work queue was full.",
                    "# TYPE ragline_rejected_total counter", f"ragline_rejected_total {self._rejected}"]
        for name, read in sorted(self.gauges.items()):
            out += [f"# TYPE ragline_{name} gauge", f"ragline_{name} {read()}"]
        return "\n".join(out) + "\n"


__all__ = ["Metrics"]
