"""The ASGI application: middleware (auth, limits, metrics), error handlers, health, and the routers.

FastAPI on uvicorn: typed request models give the OpenAPI document at ``/docs`` for free and its validation
errors; uvicorn is the ASGI server llama-cpp-python's own server already brings into the ``local`` extra.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse

from pipeline.exceptions import RaglineError
from pipeline.serve._config import ServeConfig
from pipeline.serve._errors import ServeError, error_body, status_for
from pipeline.serve._guards import PUBLIC_PATHS, authorised
from pipeline.serve._jobs import JobRunner
from pipeline.serve._state import ServerState

if TYPE_CHECKING:
    from pipeline.config import RaglineConfig
    from pipeline.llm import LLMClient
    from pipeline.protocols import Embedder

log = logging.getLogger("pipeline.serve")

# Multipart framing and form fields around an upload: allowed on top of the upload limit.
_FORM_OVERHEAD = 1 << 20


def create_app(serve: ServeConfig | None = None, config: RaglineConfig | None = None, *,
               embedder: Embedder | None = None, client: LLMClient | None = None) -> FastAPI:
    """The server for ``serve`` over the pipeline of ``config``; ``embedder`` and ``client`` replace what the
    configuration would build (tests, a host that already holds them)."""
    from pipeline.version import __version__

    state = ServerState(serve or ServeConfig(), config, embedder=embedder, client=client)
    jobs = JobRunner(state)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Models load on a thread: /healthz answers at once, /readyz says 503 until they are loaded.
        warming = threading.Thread(target=_warm_up, args=(state,), daemon=True, name="ragline-warm-up")
        warming.start()
        jobs.start()
        try:
            yield
        finally:
            jobs.stop()
            state.close()

    app = FastAPI(title="ragline", version=__version__, lifespan=lifespan,
                  description="Parsing, extraction with evidence, search and cited answers; OpenAI-compatible "
                              "chat completions, embeddings and models.")
    app.state.ragline = state
    app.state.jobs = jobs
    _install_middleware(app, state)
    _install_handlers(app)
    _install_health(app, state)
    from pipeline.serve._openai import router as openai_router
    from pipeline.serve._routes import router as ragline_router

    app.include_router(ragline_router)
    app.include_router(openai_router)
    return app


def _warm_up(state: ServerState) -> None:
    try:
        state.warm_up()
        log.info("ready: %d index(es), %d schema(s)", len(state.index_names()), len(state.schema_names()))
    except RaglineError as exc:
        state.warm_up_error = exc
        log.error("not ready: %s", exc)
    except Exception as exc:  # noqa: BLE001 - said by /readyz and in the log, the server keeps answering
        state.warm_up_error = exc
        log.exception("not ready")


def _install_middleware(app: FastAPI, state: ServerState) -> None:
    key = state.serve.key()
    limit = state.serve.max_upload_bytes + _FORM_OVERHEAD

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        t0 = time.perf_counter()
        path = request.url.path
        if path not in PUBLIC_PATHS and not authorised(request.headers.get("authorization"), key):
            response: Response = _error(ServeError("missing or wrong API key (Authorization: Bearer KEY)",
                                                   reason="unauthorized", status=401,
                                                   headers={"WWW-Authenticate": "Bearer"}))
        else:
            length = request.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                response = _error(ServeError(f"request body of {int(length):,} bytes is over the limit",
                                             reason="too_large", status=413))
            else:
                response = await call_next(request)
        route = request.scope.get("route")
        endpoint = getattr(route, "path", None) or "unmatched"
        state.metrics.observe(endpoint, response.status_code, time.perf_counter() - t0)
        return response


def _error(exc: RaglineError) -> JSONResponse:
    headers = exc.headers if isinstance(exc, ServeError) else None
    return JSONResponse(error_body(exc), status_code=status_for(exc), headers=headers)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RaglineError)
    async def ragline_error(_request: Request, exc: RaglineError) -> JSONResponse:
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        err = ServeError(f"invalid request: {where}: {first.get('msg', 'invalid')}", reason="bad_request",
                         status=422)
        body = error_body(err)
        body["error"]["details"] = [{k: e.get(k) for k in ("loc", "msg", "type")} for e in exc.errors()]
        return JSONResponse(body, status_code=422)

    @app.exception_handler(Exception)
    async def internal(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error")  # the server goes on; the client gets a typed body, not a traceback
        return _error(ServeError(f"internal error ({type(exc).__name__})", reason="internal", status=500))


def _install_health(app: FastAPI, state: ServerState) -> None:
    @app.get("/healthz", summary="The process answers")
    async def healthz() -> Any:
        return {"status": "ok"}

    @app.get("/readyz", summary="Models loaded and indexes open")
    async def readyz() -> Any:
        if state.ready:
            return {"status": "ready", "indexes": state.index_names(), "schemas": state.schema_names()}
        error = state.warm_up_error
        body = {"status": "failed" if error else "loading", "error": str(error) if error else None}
        return JSONResponse(body, status_code=503)

    @app.get("/metrics", summary="Prometheus metrics")
    async def metrics() -> Any:
        return PlainTextResponse(state.metrics.render(), media_type="text/plain; version=0.0.4")


__all__ = ["create_app"]
