"""Extraction over many documents: parse on the calling thread, extract on worker threads, and write each
record the moment its document is finished.

Records are written in the order documents finish, not in input order: a finished record never waits
behind a slower document, so nothing finished is lost when the run is killed. With one request in
flight (the embedded server's default) that order is the input order.

The workers are daemon threads. When the run is interrupted (Ctrl-C), :meth:`BatchExtraction.run`
closes the output to writes first, so a request still in flight when the LLM is shut down cannot be
recorded as a failure, and the process can exit without waiting for it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.batch._output import WorkItem
from pipeline.document import ErrorRecord
from pipeline.exceptions import ConfigurationError, RaglineError
from pipeline.extraction import ExtractionRecord

if TYPE_CHECKING:
    from pipeline.document import Document
    from pipeline.extraction import StructuredExtractor
    from pipeline.parsing import ParseOptions

OnRecord = Callable[[WorkItem, ExtractionRecord], None]
_Job = tuple[WorkItem, "Document"] | None


class RecordSink(Protocol):
    def write(self, item: WorkItem, record: ExtractionRecord) -> bool: ...

    def close_writes(self) -> None: ...


class BatchExtraction:
    """Runs ``extractor`` over work items, writing records to ``sink`` (see the module docstring).

    ``on_record(item, record)`` is called after each record is written, from the thread that wrote it."""

    def __init__(self, extractor: StructuredExtractor[Any] | None, parse_options: ParseOptions | None,
                 sink: RecordSink, *, workers: int = 1, on_record: OnRecord | None = None) -> None:
        self.extractor = extractor
        self.parse_options = parse_options
        self.sink = sink
        self.workers = max(1, workers)
        self.on_record = on_record
        self._stop = threading.Event()
        self._fatal: BaseException | None = None

    def _emit(self, item: WorkItem, record: ExtractionRecord) -> None:
        if self.sink.write(item, record) and self.on_record is not None:
            self.on_record(item, record)

    def write_unreadable(self, items: list[WorkItem]) -> None:
        """The failure records of items that cannot be read at all (``item.error``); needs no LLM."""
        for item in items:
            assert item.error is not None
            self._emit(item, ExtractionRecord.failure(item.path, [item.error]))

    def run(self, items: list[WorkItem]) -> None:
        """Parse and extract ``items`` (unreadable ones are recorded as failures). Re-raises a worker's
        unexpected error; on any exception (Ctrl-C included) the sink is closed to writes first."""
        from pipeline.parsing import parse_many

        if self.extractor is None:
            raise ValueError("BatchExtraction.run needs an extractor")
        self.write_unreadable([i for i in items if i.error is not None])
        items = [i for i in items if i.error is None]
        jobs: queue.Queue[_Job] = queue.Queue(maxsize=self.workers)
        threads = [threading.Thread(target=self._work, args=(jobs,), daemon=True, name=f"ragline-extract-{n}")
                   for n in range(self.workers)]
        for t in threads:
            t.start()
        try:
            for item, result in zip(items, parse_many([i.path for i in items], self.parse_options)):
                if result.document is None or result.status.value == "failure":
                    self._emit(item, ExtractionRecord.failure(result.source, result.errors))
                else:
                    self._put(jobs, (item, result.document))
            for _ in threads:
                self._put(jobs, None)
            for t in threads:
                while t.is_alive() and self._fatal is None:
                    t.join(0.2)
            self._raise_fatal()
        except BaseException:
            self._stop.set()
            self.sink.close_writes()
            raise

    def _put(self, jobs: queue.Queue[_Job], job: _Job) -> None:
        while True:
            self._raise_fatal()
            try:
                jobs.put(job, timeout=0.2)
                return
            except queue.Full:
                continue

    def _raise_fatal(self) -> None:
        if self._fatal is not None:
            raise self._fatal

    def _work(self, jobs: queue.Queue[_Job]) -> None:
        assert self.extractor is not None
        while not self._stop.is_set():
            job = jobs.get()
            if job is None or self._stop.is_set():  # stopped while waiting: start no new request
                return
            item, document = job
            try:
                record = ExtractionRecord.from_result(self.extractor.run(document, raise_on_failure=False))
            except ConfigurationError as exc:  # the LLM cannot be set up (an extra missing): every document
                self._fatal = exc               # would fail the same way; stop, the caller says it (exit 2)
                self._stop.set()
                return
            except RaglineError as exc:  # record and go on, like every batch stage
                record = ExtractionRecord.failure(document.source, [ErrorRecord.from_exception(exc, stage="extract")])
            except Exception as exc:  # noqa: BLE001 - a bug: stop the run, re-raised in the caller's thread
                self._fatal = exc
                self._stop.set()
                return
            if not self._stop.is_set():
                self._emit(item, record)


__all__ = ["BatchExtraction", "OnRecord", "RecordSink"]
