"""The ``local`` ingest engine: parse and chunk in worker processes while the writer embeds and commits.

Parsing (PyMuPDF, OCR, HTML) holds the GIL, so it runs in a ``ProcessPoolExecutor``; embedding stays in
the writer's process, which owns the model. The two overlap: while the writer embeds file *n*, workers
parse files *n+1 ... n+k*. At most ``max_in_flight`` files are submitted ahead of the writer, so memory
stays flat however many files there are, and results come back in input order.

``workers=0`` is the sequential path: everything in the caller's process, one file after another (tests,
debugging, the benchmark baseline, injected parsers that cannot be pickled).

Workers never outlive the run: they ignore Ctrl-C (the writer stops them), are terminated when the run
ends early for any reason, and exit by themselves when the writer is killed outright (they watch its
process: a pidfd on Linux, a poll elsewhere).
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from typing_extensions import Self

from pipeline.exceptions import ConfigurationError, CorruptDocumentError
from pipeline.ingest._prepare import ParseJob, PreparedDocument, portable_parts, prepare_job

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from pipeline.protocols import DocumentChunker, DocumentParser

log = logging.getLogger(__name__)

# Imported once by the fork server, so each worker forks with the parsing code already loaded.
_PRELOAD = ["pipeline.ingest.engines.local", "pipeline.parsing", "pipeline.chunking._chunker", "extractors"]


def default_workers() -> int:
    """One parse worker per two cores (at least one, at most four): the writer's embedder uses the rest."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class LocalEngine:
    """Engine: :class:`ParseJob` s -> :class:`PreparedDocument` s, in input order (see the module docstring).

    Use as a context manager, or call :meth:`close`: it ends the worker processes.
    """

    def __init__(
        self, parser: DocumentParser, chunker: DocumentChunker, *, workers: int = 1, max_in_flight: int | None = None
    ) -> None:
        self.parser = parser
        self.chunker = chunker
        self.workers = max(0, workers)
        # workers=0: one file at a time, exactly as read (nothing is prepared ahead of the writer).
        self.max_in_flight = max_in_flight or (2 * self.workers + 2 if self.workers else 1)
        # The writer embeds the chunks of small documents together, this many texts at least (two of the
        # embedder's batches); 0 on the sequential path, which embeds one document at a time as it always did.
        self.embed_group_texts = 64 if self.workers else 0
        self._pool: ProcessPoolExecutor | None = None
        self._suspects = 0  # files left to re-run one at a time after a worker died

    def prepare(self, items: Iterable[PreparedDocument | ParseJob]) -> Iterator[PreparedDocument]:
        """Each item as a prepared document: jobs parsed and chunked, documents passed through, in order."""
        pending: deque[PreparedDocument | _InFlight] = deque()
        for item in items:
            pending.append(self._start(item) if isinstance(item, ParseJob) else item)
            if len(pending) >= self.max_in_flight:
                yield self._finish(pending.popleft(), pending)
        while pending:
            yield self._finish(pending.popleft(), pending)

    def _start(self, job: ParseJob) -> PreparedDocument | _InFlight:
        if self.workers and self._ensure_pool():
            # While suspects of a crash are re-run one at a time, nothing else is submitted ahead.
            return _InFlight(job, None if self._suspects else self._submit(job))
        return prepare_job(job, self.parser, self.chunker)

    def _finish(
        self, item: PreparedDocument | _InFlight, pending: deque[PreparedDocument | _InFlight]
    ) -> PreparedDocument:
        """``item``'s result. A worker that dies (a crash in a parsing library, the kernel's OOM killer)
        breaks the whole pool: the files then in flight run again one at a time in a new pool, so the
        one that kills its worker again is recorded as failed, and the run goes on."""
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(item, PreparedDocument):
            return item
        alone = self._suspects > 0
        self._suspects = max(0, self._suspects - 1)
        try:
            return (item.future or self._submit(item.job)).result()
        except BrokenProcessPool:
            self.close(graceful=False)
        if alone:
            return PreparedDocument.failed(item.job.key, item.job.content_hash, CorruptDocumentError(
                "the parser's worker process died on this file (a crash or out of memory)",
                source=item.job.key, stage="parse",
            ))
        suspects = [item, *(other for other in pending if isinstance(other, _InFlight))]
        for suspect in suspects:
            suspect.future = None  # broken with the pool: resubmitted, alone, when its turn comes
        self._suspects = len(suspects)
        return self._finish(item, pending)

    def _ensure_pool(self) -> bool:
        """Start the workers on first use; False when the parts must stay in this process."""
        if self._pool is None:
            payload = self._worker_payload()
            if payload is None:  # parts defined in the caller's script: parse here instead
                self.workers = 0
                return False
            self._pool = self._start_pool(payload)
        return True

    def _submit(self, job: ParseJob) -> Future[PreparedDocument]:
        self._ensure_pool()
        assert self._pool is not None
        with _main_module_hidden():
            return self._pool.submit(_prepare_in_worker, job)

    def _worker_payload(self) -> bytes | None:
        """The parser and chunker, pickled for the workers; None when they come from ``__main__``."""
        try:
            payload = portable_parts(self.parser, self.chunker)
        except Exception as exc:
            raise ConfigurationError(
                f"the parser or chunker cannot be sent to worker processes ({type(exc).__name__}: {exc}); "
                "ingest with workers=0", stage="ingest",
            ) from exc
        if b"__main__" in payload:
            # Workers would have to re-run the caller's script to unpickle them (see _main_module_hidden).
            log.info("ingest: parser or chunker defined in __main__; parsing in this process")
            return None
        return payload

    def _start_pool(self, payload: bytes) -> ProcessPoolExecutor:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # A fork server, not fork: the writer has model threads running, and forking a threaded process
        # can deadlock the child. The server is single-threaded and forks each worker with parsing loaded.
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(_PRELOAD)
        return ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(), payload))

    def close(self, *, graceful: bool = True) -> None:
        """End the worker processes: let idle ones exit (``graceful``), or terminate them mid-parse."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # concurrent.futures has no public way to stop a busy worker before Python 3.14
        # (terminate_workers); its process table is the only handle.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        if graceful:
            pool.shutdown(wait=True)
            return
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            if proc.is_alive():
                proc.terminate()
        for proc in processes:
            proc.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        # Ended by an error or Ctrl-C: do not wait for files being parsed, nobody will read them.
        self.close(graceful=exc_type is None)


@dataclass
class _InFlight:
    """A file handed to the workers (``future`` None: not submitted yet)."""

    job: ParseJob
    future: Future[PreparedDocument] | None


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start workers without telling them about ``__main__``.

    A spawned or fork-server worker normally re-imports the caller's script first; a script without an
    ``if __name__ == "__main__":`` guard would then start an ingest inside every worker. The workers need
    nothing from it (their code is in this module, and parts from ``__main__`` are parsed in-process), so
    while a submit may start them, ``__main__`` is a blank module. Only the calling thread starts workers.
    """
    import types

    real = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = real


# -- in the worker process -------------------------------------------------------------------------
_worker_parts: tuple[DocumentParser, DocumentChunker] | None = None


def _init_worker(writer_pid: int, payload: bytes) -> None:
    global _worker_parts
    # Ctrl-C reaches the whole process group; the writer handles it and ends the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_writer(writer_pid)
    _worker_parts = pickle.loads(payload)


def _prepare_in_worker(job: ParseJob) -> PreparedDocument:
    assert _worker_parts is not None, "worker not initialised"
    parser, chunker = _worker_parts
    return prepare_job(job, parser, chunker)


def _die_with_writer(writer_pid: int) -> None:
    """Exit as soon as the writer process is gone, however it died (SIGKILL included).

    The writer is not this worker's parent: the fork server is, and the workers themselves keep it
    running (each holds its liveness pipe), so neither a parent death signal nor the server's own exit
    would ever fire. The worker watches the writer instead: a pidfd on Linux (readable once the writer has
    exited, even before it is reaped), elsewhere a poll every half second."""

    def watch() -> None:
        try:
            fd = os.pidfd_open(writer_pid)
        except ProcessLookupError:
            os._exit(1)
        except (AttributeError, OSError):
            fd = None
        if fd is not None:
            import select

            select.select([fd], [], [])
            os._exit(1)
        while True:
            try:
                os.kill(writer_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass
            time.sleep(0.5)

    threading.Thread(target=watch, name="ragline-writer-watch", daemon=True).start()


__all__ = ["LocalEngine", "default_workers"]
