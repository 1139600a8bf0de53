"""Long work as jobs: ingest a folder into an index, extract a schema from a folder. Jobs live in SQLite
(``STATE_DIR/jobs.db``) and run one at a time on a thread of their own, so they never take the request workers.

A job survives the server: a job that was running when the server was killed is queued again at the next
start and run through the same resumable machinery the CLI uses, so nothing finished is redone and nothing is
written twice. An ingest skips the files the index already holds with the same content; an extraction writes
``STATE_DIR/jobs/ID/records.jsonl`` through :class:`~pipeline.batch.ResumableOutput`, whose journal drops a
half-written last line and skips the documents already recorded.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from pipeline.exceptions import RaglineError
from pipeline.serve._errors import ServeError

if TYPE_CHECKING:
    from pipeline.extraction import ExtractionRecord
    from pipeline.serve._state import ServerState

log = logging.getLogger("pipeline.serve")

JobKind = Literal["ingest", "extract"]
JobState = Literal["queued", "running", "done", "failed", "cancelled"]


class JobRequest(BaseModel):
    """``POST /v1/jobs``: what to do, on which server-side paths (inside the allowed roots)."""

    kind: JobKind
    paths: list[str] = Field(min_length=1)
    index: str | None = Field(default=None, description="ingest: the index to write")
    include: list[str] | None = None
    exclude: list[str] = Field(default_factory=list)
    prune: bool = Field(default=False, description="ingest: remove documents whose file is gone")
    schema_name: str | None = Field(default=None, description="extract: a schema the server was started with")
    json_schema: dict[str, Any] | None = Field(default=None, description="extract: a flat JSON schema")


class Job(BaseModel):
    id: str
    kind: JobKind
    state: JobState
    done: int = 0
    total: int = 0
    created: float
    updated: float
    error: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    request: JobRequest


class JobCancelled(Exception):
    """Raised from a job's progress callback when the job was cancelled (its finished work is kept)."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, request TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0, error TEXT, result TEXT,
    created REAL NOT NULL, updated REAL NOT NULL
)"""


class JobStore:
    """The jobs table (one connection, guarded: the API threads and the job thread share it)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()

    def add(self, request: JobRequest) -> Job:
        now = time.time()
        job = Job(id=uuid.uuid4().hex[:16], kind=request.kind, state="queued", created=now, updated=now,
                  request=request)
        with self._lock:
            self._db.execute("INSERT INTO jobs (id, kind, state, request, created, updated) VALUES (?,?,?,?,?,?)",
                             (job.id, job.kind, job.state, request.model_dump_json(), now, now))
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT id, kind, state, request, done, total, error, result, created, updated "
                                   "FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def list(self, limit: int = 100) -> list[Job]:
        with self._lock:
            rows = self._db.execute("SELECT id, kind, state, request, done, total, error, result, created, updated "
                                    "FROM jobs ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        return [_job(r) for r in rows]

    def update(self, job_id: str, **values: Any) -> None:
        values["updated"] = time.time()
        for key in ("error", "result"):
            if key in values and values[key] is not None:
                values[key] = json.dumps(values[key])
        cols = ", ".join(f"{k} = ?" for k in values)
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {cols} WHERE id = ?", (*values.values(), job_id))

    def next_queued(self) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT id FROM jobs WHERE state = 'queued' ORDER BY created LIMIT 1").fetchone()
        return self.get(row[0]) if row else None

    def requeue_running(self) -> int:
        """Jobs a killed server left running go back to the queue (they resume, not restart)."""
        with self._lock:
            return self._db.execute("UPDATE jobs SET state = 'queued' WHERE state = 'running'").rowcount

    def count(self, state: JobState) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM jobs WHERE state = ?", (state,)).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _job(row: tuple[Any, ...]) -> Job:
    return Job(id=row[0], kind=row[1], state=row[2], request=JobRequest.model_validate_json(row[3]), done=row[4],
               total=row[5], error=json.loads(row[6]) if row[6] else None,
               result=json.loads(row[7]) if row[7] else None, created=row[8], updated=row[9])


class JobRunner:
    """Runs queued jobs one after another on a daemon thread (one writer at a time, never a request worker)."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.directory = state.serve.state_dir / "jobs"
        self.store = JobStore(state.serve.state_dir / "jobs.db")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cancel: set[str] = set()
        self._thread: threading.Thread | None = None
        state.metrics.gauges["jobs_queued"] = lambda: float(self.store.count("queued"))
        state.metrics.gauges["jobs_running"] = lambda: float(self.store.count("running"))

    def start(self) -> None:
        resumed = self.store.requeue_running()
        if resumed:
            log.info("resuming %d job(s) left running by the last server", resumed)
        self._thread = threading.Thread(target=self._loop, daemon=True, name="ragline-jobs")
        self._thread.start()

    def submit(self, request: JobRequest) -> Job:
        self.validate(request)
        job = self.store.add(request)
        self._wake.set()
        return job

    def validate(self, request: JobRequest) -> None:
        """Refuse at submission what would fail at once: unknown index or schema, paths outside the roots."""
        from pipeline.serve._guards import confined, schema_model

        for p in request.paths:
            confined(p, self.state.serve.allowed_roots)
        if request.kind == "ingest":
            if request.index is None:
                raise ServeError("an ingest job needs 'index'", reason="bad_request", status=400)
            self.state.reader(request.index)
        elif request.schema_name is not None:
            self.state.schema(request.schema_name)
        elif request.json_schema is not None:
            schema_model(request.json_schema, max_bytes=self.state.serve.max_schema_bytes,
                         max_depth=self.state.serve.max_schema_depth)
        else:
            raise ServeError("an extract job needs 'schema_name' or 'json_schema'", reason="bad_request", status=400)

    def cancel(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job is None:
            raise ServeError(f"no job {job_id}", reason="not_found", status=404)
        if job.state == "queued":
            self.store.update(job_id, state="cancelled")
        elif job.state == "running":
            self._cancel.add(job_id)  # the job stops at its next document
        return self.store.get(job_id) or job

    def results_path(self, job: Job) -> Path:
        return self.directory / job.id / ("records.jsonl" if job.kind == "extract" else "report.jsonl")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.store.close()

    # -- running -------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            job = self.store.next_queued()
            if job is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            self._run(job)

    def _run(self, job: Job) -> None:
        self.store.update(job.id, state="running")
        log.info("job %s (%s) started", job.id, job.kind)
        try:
            result = self._ingest(job) if job.kind == "ingest" else self._extract(job)
        except JobCancelled:
            self.store.update(job.id, state="cancelled")
            log.info("job %s cancelled", job.id)
            return
        except RaglineError as exc:
            self.store.update(job.id, state="failed", error=exc.to_dict())
            log.info("job %s failed: %s", job.id, exc)
            return
        except Exception as exc:  # noqa: BLE001 - a bug: the job says so, the server goes on
            log.exception("job %s failed", job.id)
            self.store.update(job.id, state="failed", error={"error": type(exc).__name__, "reason": "error",
                                                             "message": str(exc)})
            return
        finally:
            self._cancel.discard(job.id)
        if self._stop.is_set():  # the server is stopping: leave it to resume at the next start
            return
        self.store.update(job.id, state="done", result=result)
        log.info("job %s done", job.id)

    def _progress(self, job_id: str) -> Any:
        last = [0.0]

        def tick(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.5 or done >= total:
                last[0] = now
                self.store.update(job_id, done=done, total=total)

        return tick

    def _check_cancel(self, job_id: str) -> None:
        if job_id in self._cancel or self._stop.is_set():
            raise JobCancelled(job_id)

    def _ingest(self, job: Job) -> dict[str, Any]:
        from pipeline.serve._guards import confined

        r = job.request
        assert r.index is not None
        paths = [confined(p, self.state.serve.allowed_roots) for p in r.paths]
        tick = self._progress(job.id)
        with self.state.writer(r.index, wait=24 * 3600.0) as rag:
            report = rag.add(paths, include=r.include, exclude=r.exclude, prune=r.prune,
                             progress=lambda done, total, _path: self._ingest_tick(job.id, tick, done, total))
        out = self.results_path(job)
        out.parent.mkdir(parents=True, exist_ok=True)
        result = report.model_dump(mode="json")
        out.write_text(json.dumps(result) + "\n")
        return {k: result[k] for k in ("files", "parsed", "skipped", "failed", "removed", "pages")}

    def _ingest_tick(self, job_id: str, tick: Any, done: int, total: int) -> None:
        if done >= 0:  # -1: the ingest's closing call
            tick(done, total)
            self._check_cancel(job_id)  # raised inside the ingest: the documents committed so far are kept

    def _extract(self, job: Job) -> dict[str, Any]:
        from pipeline.batch import BatchExtraction, ResumableOutput, extraction_run_key, work_items
        from pipeline.compose import Pipeline
        from pipeline.parsing import expand_paths
        from pipeline.serve._guards import confined, schema_model

        r = job.request
        state = self.state
        schema = state.schema(r.schema_name) if r.schema_name else schema_model(
            r.json_schema or {}, max_bytes=state.serve.max_schema_bytes, max_depth=state.serve.max_schema_depth)
        files = expand_paths([confined(p, state.serve.allowed_roots) for p in r.paths], r.include, r.exclude)
        items = work_items(files)
        config = state.config
        run_key, description = extraction_run_key(schema, config.extraction, config.llm, config.parse.fingerprint())
        out_path = self.results_path(job)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        tick = self._progress(job.id)
        counts = {"success": 0, "partial": 0, "failure": 0}
        with ResumableOutput(out_path) as output:
            output.journal.note_run(run_key, description)
            plan = output.plan(items, run_key)
            done = len(plan.skipped)
            tick(done, len(items))

            def on_record(_item: Any, record: ExtractionRecord) -> None:
                nonlocal done
                done += 1
                counts[record.status.value] = counts.get(record.status.value, 0) + 1
                state.metrics.tokens(record.usage.prompt_tokens, record.usage.completion_tokens)
                tick(done, len(items))

            if config.ingest.engine == "ray":  # a Ray cluster is configured: the documents go to its workers
                self._extract_on_ray(job, output, plan.todo, on_record)
                return {"documents": len(items), "skipped": len(plan.skipped), **counts, "results": str(out_path)}
            extractor = Pipeline(config, llm_opener=state.llm_opener()).extractor(schema)
            with extractor:
                batch = BatchExtraction(extractor, config.parse, output, workers=1, on_record=on_record)
                for item in plan.todo:  # one at a time: a cancel or a stopping server is seen between documents
                    self._check_cancel(job.id)
                    batch.run([item])
        return {"documents": len(items), "skipped": len(plan.skipped), **counts, "results": str(out_path)}


    def _extract_on_ray(self, job: Job, output: Any, todo: list[Any], on_record: Any) -> None:
        """The extraction on Ray tasks (``[ingest] engine = "ray"``, ``ray_address``); the workers call the
        configured endpoint, or the server's own embedded model (never a second one)."""
        from pipeline.batch import RayExtraction, absolute_schema_spec

        r, state = job.request, self.state
        if r.schema_name:
            spec = absolute_schema_spec(state.serve.schemas[r.schema_name])
        else:  # workers load the schema from a file of the job's own
            spec_path = self.directory / job.id / "schema.json"
            spec_path.write_text(json.dumps(r.json_schema))
            spec = str(spec_path)
        config = state.config
        settings = config.llm
        if settings.base_url is None:
            client = state.llm()
            settings = settings.model_copy(update={"base_url": client.base_url, "model": client.model,
                                                   "structured_mode": client.structured_mode,
                                                   "max_concurrency": client.max_concurrency})

        def checked(item: Any, record: ExtractionRecord) -> None:
            on_record(item, record)
            self._check_cancel(job.id)  # raised on the driver's thread: the run stops, what is written stays

        RayExtraction(spec, config.extraction, config.parse, settings, output, address=config.ingest.ray_address,
                      on_record=checked).run(todo)


__all__ = ["Job", "JobCancelled", "JobRequest", "JobRunner", "JobStore"]
