"""Per-document progress on stderr, with the rate and the time left.

On a terminal, a tqdm bar (documents done of all, rate, ETA; documents finished by an earlier run count
as done from the start). Otherwise (a log file, CI) a line per document, or per ``every`` documents and at
least every 10 s: ``[5/12] a.pdf: success 4.2s | 0.24 doc/s, ETA 29s``. Nothing with ``quiet``. Thread-safe: workers report as they finish.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Any


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class DocProgress:
    """Progress over ``total`` documents, ``done_before`` of them finished by an earlier run."""

    def __init__(self, total: int, done_before: int = 0, *, command: str = "extract", quiet: bool = False,
                 stream: IO[str] | None = None, every: int = 1) -> None:
        self.total = total
        self.done = done_before
        self.new = 0
        self.command = command
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._t0 = time.perf_counter()
        self._bar: Any = None
        # Without a terminal: a line every ``every`` documents, or at least every 10 s, and at the end.
        self.every = max(1, every)
        self._last_line = (done_before, time.perf_counter())

    def start(self) -> None:
        """Start the clock (after the model has loaded, so that the rate is the documents')."""
        self._t0 = time.perf_counter()
        if self.quiet or not _isatty(self.stream) or self.total - self.done <= 1:
            return
        from tqdm import tqdm

        self._bar = tqdm(total=self.total, initial=self.done, desc=self.command, unit="doc", file=self.stream,
                         dynamic_ncols=True, smoothing=0.1)

    def rate(self) -> float:
        """Documents per second in this run."""
        elapsed = time.perf_counter() - self._t0
        return self.new / elapsed if elapsed > 0 else 0.0

    def update(self, source: str, status: str, seconds: float) -> None:
        with self._lock:
            self.done += 1
            self.new += 1
            if self.quiet:
                return
            if self._bar is not None:
                self._bar.set_postfix_str(f"{status}", refresh=False)
                self._bar.update(1)
                return
            printed, at = self._last_line
            if (self.done - printed < self.every and time.perf_counter() - at < 10.0
                    and self.done < self.total):
                return
            self._last_line = (self.done, time.perf_counter())
            rate = self.rate()
            left = self.total - self.done
            eta = f", ETA {_duration(left / rate)}" if rate > 0 and left > 0 else ""
            print(f"ragline {self.command}: [{self.done}/{self.total}] {source}: {status} {seconds:.1f}s"
                  f" | {rate:.2f} doc/s{eta}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = ["DocProgress"]
