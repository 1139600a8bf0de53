"""The bounded work queue: CPU-heavy request work (parsing, embedding, ranking, extraction) runs on a pool of
threads sized to the cores, off the event loop. At most ``workers`` run at once and at most ``queue_size`` wait;
one more is answered 429 with ``Retry-After`` instead of piling up until the server falls over.

A request that passes its deadline answers 504; its thread still finishes, and keeps its slot until it does, so
the bound holds for the work actually running, not only for the requests still waiting for an answer."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from pipeline.serve._errors import ServeError

if TYPE_CHECKING:
    from pipeline.serve._metrics import Metrics

T = TypeVar("T")


class WorkQueue:
    def __init__(self, workers: int, queue_size: int, metrics: Metrics | None = None) -> None:
        self.workers = workers
        self.queue_size = queue_size
        self._pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ragline-serve")
        self._lock = threading.Lock()
        self._running = 0
        self._waiting = 0
        self._metrics = metrics
        self._slots: asyncio.Semaphore | None = None
        if metrics is not None:
            metrics.gauges["queue_depth"] = lambda: float(self._waiting)
            metrics.gauges["requests_in_flight"] = lambda: float(self._running)

    @property
    def depth(self) -> int:
        return self._waiting

    async def run(self, fn: Callable[[], T], *, timeout: float) -> T:
        """``fn()`` on a worker thread; 429 when the queue is full, 504 past ``timeout`` seconds."""
        if self._slots is None:  # made on the loop that uses it
            self._slots = asyncio.Semaphore(self.workers)
        slots = self._slots
        with self._lock:
            if self._waiting >= self.queue_size and slots.locked():
                if self._metrics is not None:
                    self._metrics.rejected()
                raise ServeError(f"the server is busy ({self._running} running, {self._waiting} waiting); retry "
                                 "shortly", reason="busy", status=429, headers={"Retry-After": "1"})
            self._waiting += 1
        try:
            await asyncio.wait_for(slots.acquire(), timeout)
        except TimeoutError:
            raise ServeError(f"no worker was free within {timeout:.0f} s", reason="timeout", status=504) from None
        finally:
            with self._lock:
                self._waiting -= 1
        with self._lock:
            self._running += 1
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, fn)

        def done(_: object) -> None:  # on the loop: the slot is the thread's until it ends
            with self._lock:
                self._running -= 1
            slots.release()

        future.add_done_callback(done)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            raise ServeError(f"the request took longer than {timeout:.0f} s", reason="timeout", status=504) from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


__all__ = ["WorkQueue"]
