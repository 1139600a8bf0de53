"""``ragline serve``: the pipeline behind HTTP, models loaded once and shared by every request.

    from pipeline.serve import ServeConfig, create_app, run_server

    serve = ServeConfig(indexes={"filings": Path("idx/")}, schemas={"invoice": "pipeline.llm:Invoice"})
    run_server(serve, RaglineConfig.load("ragline.toml"))          # or: uvicorn with create_app(serve, config)

Endpoints (OpenAPI at ``/docs``): ``/v1/parse``, ``/v1/extract``, ``/v1/search``, ``/v1/ask``,
``/v1/indexes/{name}/documents`` (add, delete), ``/v1/jobs`` (ingest or extract a folder, resumable),
OpenAI's ``/v1/chat/completions``, ``/v1/embeddings`` and ``/v1/models``, ``/healthz``, ``/readyz``,
``/metrics``. docs/serve.md has the guide.

* ``_config.py``: :class:`ServeConfig`, the server's limits; ``_state.py``: the shared parts (indexes, embedder,
  LLM client); ``_work.py``: the bounded work queue (429 when full); ``_guards.py``: auth, path confinement,
  schema limits; ``_inputs.py``: uploads and server-side paths to documents; ``_jobs.py``: jobs in SQLite;
  ``_routes.py``, ``_openai.py``: the endpoints; ``_app.py``: the ASGI app; ``_errors.py``: errors as JSON.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pipeline.serve._config import API_KEY_ENV, ServeConfig

if TYPE_CHECKING:
    from fastapi import FastAPI

    from pipeline.config import RaglineConfig


def create_app(serve: ServeConfig | None = None, config: RaglineConfig | None = None, **kwargs: Any) -> FastAPI:
    """The ASGI app (see :func:`pipeline.serve._app.create_app`)."""
    from pipeline.exceptions import MissingDependencyError

    try:
        from pipeline.serve._app import create_app as make
    except ImportError as exc:
        raise MissingDependencyError(f"ragline serve needs the 'serve' extra (pip install 'ragline[serve]'): {exc}",
                                     stage="serve") from None
    return make(serve, config, **kwargs)


def run_server(serve: ServeConfig, config: RaglineConfig | None = None, *, log_level: str = "info",
               access_log: bool = False, **kwargs: Any) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn, one process: the models are shared by every request)."""
    import uvicorn

    app = create_app(serve, config, **kwargs)
    logging.getLogger("pipeline.serve").info("listening on http://%s:%d (docs at /docs)", serve.host, serve.port)
    uvicorn.run(app, host=serve.host, port=serve.port, log_level=log_level, access_log=access_log,
                timeout_graceful_shutdown=10)


__all__ = ["API_KEY_ENV", "ServeConfig", "create_app", "run_server"]
