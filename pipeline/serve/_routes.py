"""ragline's own endpoints: parse, extract, search, ask, ingest and delete documents, and jobs. Every handler
does its work through :class:`~pipeline.serve._work.WorkQueue` (off the event loop, bounded) and answers with
the same models and records the CLI prints."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, Field

from pipeline.protocols import SearchMode
from pipeline.serve._errors import ServeError
from pipeline.serve._guards import confined, schema_model
from pipeline.serve._inputs import parse_bytes, parse_file, parse_path, read_upload, upload_as_file
from pipeline.serve._jobs import Job, JobRequest, JobRunner

if TYPE_CHECKING:
    from pipeline.document import Document
    from pipeline.extraction import ExtractionRecord
    from pipeline.serve._state import ServerState

router = APIRouter(prefix="/v1")


def state_of(request: Request) -> ServerState:
    return request.app.state.ragline  # type: ignore[no-any-return]


def jobs_of(request: Request) -> JobRunner:
    return request.app.state.jobs  # type: ignore[no-any-return]


class SearchRequest(BaseModel):
    index: str
    query: str = Field(min_length=1)
    k: int = Field(default=5, ge=1, le=100)
    mode: SearchMode = "hybrid"
    source: str | None = Field(default=None, description="only documents whose path or file name matches this glob")
    pages: list[int] | None = None
    rerank: Literal["none", "features", "maxsim"] | None = None


class AskRequest(BaseModel):
    index: str
    question: str = Field(min_length=1)
    source: str | None = None
    k: int | None = Field(default=None, ge=1, le=200)
    strategy: Literal["extractive", "free"] | None = None
    rerank: Literal["none", "features", "maxsim"] | None = None


class IngestPaths(BaseModel):
    paths: list[str] = Field(min_length=1)
    include: list[str] | None = None
    exclude: list[str] = Field(default_factory=list)
    prune: bool = False


async def _document(state: ServerState, file: UploadFile | None, path: str | None) -> tuple[bytes | None, str]:
    if (file is None) == (path is None):
        raise ServeError("send exactly one of 'file' (an upload) and 'path' (a server-side path)",
                         reason="bad_request", status=400)
    if file is not None:
        return await read_upload(file, state.serve.max_upload_bytes)
    assert path is not None
    return None, path


def _parse(state: ServerState, data: bytes | None, name: str) -> Document:
    return parse_bytes(state, data, name) if data is not None else parse_path(state, name)


@router.post("/parse", summary="Parse a document into elements, markdown or chunks")
async def parse(request: Request, file: UploadFile | None = File(None), path: str | None = Form(None),
                output: Literal["document", "markdown", "chunks"] = Form("document")) -> Any:
    state = state_of(request)
    data, name = await _document(state, file, path)

    def work() -> Any:
        document = _parse(state, data, name)
        if output == "markdown":
            return PlainTextResponse(document.to_markdown(), media_type="text/markdown")
        if output == "chunks":
            from pipeline.chunking import chunk

            return {"source": document.source, "chunks": [c.model_dump(mode="json") for c in chunk(document)]}
        return document.model_dump(mode="json")

    return await state.work.run(work, timeout=state.serve.request_timeout)


@router.post("/extract", summary="Extract a schema's fields from one document, with evidence")
async def extract(request: Request, file: UploadFile | None = File(None), path: str | None = Form(None),
                  json_schema: str | None = Form(None, alias="schema", description="a flat JSON schema (JSON text)"),
                  schema_name: str | None = Form(None, description="a schema the server was started with")) -> Any:
    state = state_of(request)
    if (json_schema is None) == (schema_name is None):
        raise ServeError("send exactly one of 'schema' (a JSON schema) and 'schema_name'", reason="bad_request",
                         status=400)
    model = state.schema(schema_name) if schema_name else schema_model(
        json_schema or "", max_bytes=state.serve.max_schema_bytes, max_depth=state.serve.max_schema_depth)
    data, name = await _document(state, file, path)
    if data is None:
        record = await state.work.run(lambda: extract_record(state, model, parse_path(state, name)),
                                      timeout=state.serve.request_timeout)
    else:
        record = await state.work.run(lambda: extract_upload(state, model, data, name),
                                      timeout=state.serve.request_timeout)
    return record.to_json()


def extract_upload(state: ServerState, model: type[BaseModel], data: bytes, name: str) -> ExtractionRecord:
    """The record of an uploaded document, named by its file name."""
    with upload_as_file(state, data, name) as path:
        return extract_record(state, model, parse_file(state, path)).renamed(str(path), name)


def extract_record(state: ServerState, model: type[BaseModel], document: Document) -> ExtractionRecord:
    """The record ``ragline extract`` writes for ``document`` (a model is started only if a field needs it)."""
    from pipeline.compose import Pipeline
    from pipeline.extraction import ExtractionRecord

    with Pipeline(state.config, llm_opener=state.llm_opener()).extractor(model) as extractor:
        record = ExtractionRecord.from_result(extractor.run(document, raise_on_failure=False))
    state.metrics.tokens(record.usage.prompt_tokens, record.usage.completion_tokens)
    return record


@router.post("/search", summary="Search an index")
async def search(request: Request, body: SearchRequest) -> Any:
    state = state_of(request)
    rag = state.reader(body.index)

    def work() -> Any:
        hits = rag.search(body.query, k=body.k, mode=body.mode, source_glob=body.source, pages=body.pages,
                          rerank=body.rerank)
        return {"index": body.index, "hits": [{"rank": r, **h.model_dump(mode="json")}
                                              for r, h in enumerate(hits, start=1)]}

    return await state.work.run(work, timeout=state.serve.request_timeout)


@router.post("/ask", summary="Answer a question from an index, with verified citations")
async def ask(request: Request, body: AskRequest) -> Any:
    state = state_of(request)
    answer = await state.work.run(lambda: answer_question(state, body), timeout=state.serve.request_timeout)
    return answer.model_dump(mode="json")


def answer_question(state: ServerState, body: AskRequest) -> Any:
    rag = state.reader(body.index)
    options: dict[str, Any] = {k: v for k, v in (("k", body.k), ("strategy", body.strategy)) if v is not None}
    qa = state.config.qa.model_copy(update=options)
    needs_model = qa.strategy == "free" or qa.ask_model
    client = state.llm() if needs_model else None
    answer = rag.with_options(qa=qa).ask(body.question, client=client, source_glob=body.source, rerank=body.rerank)
    state.metrics.tokens(answer.usage.prompt_tokens, answer.usage.completion_tokens)
    return answer


@router.post("/indexes/{name}/documents", summary="Add documents to an index (an upload, or server-side paths)")
async def ingest(request: Request, name: str, file: UploadFile | None = File(None),
                 paths: str | None = Form(None, description="JSON list of server-side paths, or one path")) -> Any:
    state = state_of(request)
    if (file is None) == (paths is None):
        raise ServeError("send exactly one of 'file' and 'paths'", reason="bad_request", status=400)
    state.reader(name)  # 404 before any work
    if file is not None:
        data, filename = await read_upload(file, state.serve.max_upload_bytes)

        def work() -> Any:
            document = parse_bytes(state, data, filename)
            with state.writer(name) as rag:
                return rag.add_documents([document]).model_dump(mode="json")
    else:
        assert paths is not None
        listed = json.loads(paths) if paths.lstrip().startswith("[") else [paths]
        resolved = [confined(str(p), state.serve.allowed_roots) for p in listed]

        def work() -> Any:
            with state.writer(name) as rag:
                return rag.add(resolved).model_dump(mode="json")

    return await state.work.run(work, timeout=state.serve.request_timeout)


@router.delete("/indexes/{name}/documents", summary="Remove documents from an index by source")
async def remove(request: Request, name: str, source: list[str] = Query(...)) -> Any:
    state = state_of(request)

    def work() -> Any:
        with state.writer(name) as rag:
            return {"removed": rag.remove(source)}

    return await state.work.run(work, timeout=state.serve.request_timeout)


@router.get("/indexes", summary="The served indexes and their statistics")
async def indexes(request: Request) -> Any:
    state = state_of(request)
    return await state.work.run(
        lambda: {"indexes": [{"name": n, **state.reader(n).stats().model_dump(mode="json")}
                             for n in state.index_names()], "schemas": state.schema_names()},
        timeout=state.serve.request_timeout)


@router.post("/jobs", status_code=202, summary="Start a job: ingest or extract a folder")
async def submit_job(request: Request, body: JobRequest) -> Job:
    return jobs_of(request).submit(body)


@router.get("/jobs", summary="The latest jobs")
async def list_jobs(request: Request) -> Any:
    return {"jobs": jobs_of(request).store.list()}


@router.get("/jobs/{job_id}", summary="A job's state and progress")
async def get_job(request: Request, job_id: str) -> Job:
    job = jobs_of(request).store.get(job_id)
    if job is None:
        raise ServeError(f"no job {job_id}", reason="not_found", status=404)
    return job


@router.get("/jobs/{job_id}/results", summary="A job's results as JSONL (records so far while it runs)")
async def job_results(request: Request, job_id: str) -> Any:
    runner = jobs_of(request)
    job = runner.store.get(job_id)
    if job is None:
        raise ServeError(f"no job {job_id}", reason="not_found", status=404)
    path = runner.results_path(job)
    if not path.is_file():
        return PlainTextResponse("", media_type="application/x-ndjson")
    return FileResponse(path, media_type="application/x-ndjson")


@router.delete("/jobs/{job_id}", summary="Cancel a job (what it finished is kept)")
async def cancel_job(request: Request, job_id: str) -> Job:
    return jobs_of(request).cancel(job_id)


__all__ = ["AskRequest", "SearchRequest", "answer_question", "extract_record", "extract_upload", "router"]
