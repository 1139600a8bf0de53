"""Extraction on Ray: each document is parsed and extracted by a Ray task (rules, candidates and the model
calls, made from the worker to the LLM endpoint), and its record comes back to this process, which writes it
through the same sink as the local run (the journal and JSONL of ``ragline extract -o``, or the job output of
``ragline serve``). So a killed Ray run resumes exactly like a local one.

Concurrency is bounded twice: at most ``in_flight`` tasks are submitted at once (default: the LLM's request
limit, so a vLLM fleet is not flooded), and each task's client keeps its own limit. Without an endpoint the
embedded server is started *here* and the workers call it: one model in memory, however many workers.

The schema travels as its spec (``module:Model``, an absolute ``file.py:Model`` or ``schema.json``) and each
worker loads it: a schema class defined in a user's file cannot be pickled by reference. Workers read the
files by path, so on a multi-node cluster the paths must be visible to every node.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pipeline.batch._output import WorkItem
from pipeline.batch._run import OnRecord, RecordSink
from pipeline.document import ErrorRecord
from pipeline.exceptions import ConfigurationError, RaglineError
from pipeline.extraction import ExtractionRecord

if TYPE_CHECKING:
    from pipeline.extraction import ExtractionOptions
    from pipeline.llm import LLMSettings
    from pipeline.parsing import ParseOptions

log = logging.getLogger(__name__)


def extract_one(schema_spec: str, options: ExtractionOptions, parse_options: ParseOptions | None,
                settings: LLMSettings, path: str) -> ExtractionRecord:
    """The record of the document at ``path`` (runs on a Ray worker; imports what it needs there)."""
    from pipeline.extraction import StructuredExtractor, load_schema
    from pipeline.llm import open_llm
    from pipeline.parsing import parse_many

    result = next(iter(parse_many([path], parse_options)))
    if result.document is None or result.status.value == "failure":
        return ExtractionRecord.failure(result.source, result.errors)
    schema = load_schema(schema_spec)
    try:
        with StructuredExtractor(schema, None, options, opener=lambda: open_llm(settings)) as extractor:
            return ExtractionRecord.from_result(extractor.run(result.document, raise_on_failure=False))
    except RaglineError as exc:
        return ExtractionRecord.failure(result.document.source, [ErrorRecord.from_exception(exc, stage="extract")])


class RayExtraction:
    """Runs ``schema_spec`` over work items on Ray, writing each record to ``sink`` when its task ends.

    ``address``: an existing cluster (None: the Ray this process runs, or a local one). ``on_record`` is
    called after each record is written, from this thread."""

    def __init__(self, schema_spec: str, options: ExtractionOptions, parse_options: ParseOptions | None,
                 settings: LLMSettings, sink: RecordSink, *, address: str | None = None,
                 in_flight: int | None = None, on_record: OnRecord | None = None) -> None:
        self.schema_spec = schema_spec
        self.options = options
        self.parse_options = parse_options
        self.settings = settings
        self.sink = sink
        self.address = address
        self.in_flight = in_flight
        self.on_record = on_record

    def _emit(self, item: WorkItem, record: ExtractionRecord) -> None:
        if self.sink.write(item, record) and self.on_record is not None:
            self.on_record(item, record)

    def run(self, items: list[WorkItem]) -> None:
        """Extract ``items`` (unreadable ones are recorded as failures here); Ctrl-C closes the sink first."""
        for item in items:
            if item.error is not None:
                self._emit(item, ExtractionRecord.failure(item.path, [item.error]))
        items = [i for i in items if i.error is None]
        if not items:
            return
        ray, started = _connect(self.address)
        try:
            with self._worker_settings() as settings:
                limit = self.in_flight or max(1, settings.max_concurrency or 1)
                task = ray.remote(extract_one)
                pending: dict[Any, WorkItem] = {}
                for item in items:
                    while len(pending) >= limit:
                        self._collect(ray, pending)
                    ref = task.remote(self.schema_spec, self.options, self.parse_options, settings, item.path)
                    pending[ref] = item
                while pending:
                    self._collect(ray, pending)
        except BaseException:
            self.sink.close_writes()
            raise
        finally:
            if started:  # a Ray this run started; a cluster it joined, or the caller's Ray, stay up
                ray.shutdown()

    def _collect(self, ray: Any, pending: dict[Any, WorkItem]) -> None:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            item = pending.pop(ref)
            try:
                record = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - a task that died (worker lost, bug): recorded, the run goes on
                err = RaglineError(f"ray task failed: {type(exc).__name__}: {exc}", source=item.path,
                                   stage="extract")
                record = ExtractionRecord.failure(item.path, [ErrorRecord.from_exception(err)])
            self._emit(item, record)

    @contextlib.contextmanager
    def _worker_settings(self) -> Iterator[LLMSettings]:
        """The settings the workers call the model with: the endpoint's; else the embedded server started here
        for the run, as an endpoint."""
        if self.settings.base_url is not None:
            yield self.settings
            return
        from pipeline.llm import open_llm

        log.info("starting the embedded LLM for the Ray workers")
        with open_llm(self.settings) as client:
            yield self.settings.model_copy(update={
                "base_url": client.base_url, "model": client.model, "structured_mode": client.structured_mode,
                "max_concurrency": client.max_concurrency})


def _connect(address: str | None) -> tuple[Any, bool]:
    """The ``ray`` module, initialised, and whether this call started it."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigurationError("--engine ray needs Ray: pip install 'ragline[ray]'", stage="extract") from exc
    import os

    if ray.is_initialized():
        return ray, False
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # local use: no token authentication
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(include_dashboard=False, log_to_driver=False)
    except Exception as exc:
        raise ConfigurationError(f"cannot start or join {address or 'a local Ray'}: {exc}", stage="extract") from exc
    return ray, True


__all__ = ["RayExtraction", "extract_one"]
