"""``ragline serve``: the pipeline over HTTP (pipeline/serve, docs/serve.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipeline.cli._errors import UsageError
from pipeline.cli._llm import add_llm_options, llm_settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve parsing, extraction, search and cited answers over HTTP (OpenAI-compatible)",
        description=(
            "Start an HTTP server with the models loaded once: /v1/parse, /v1/extract, /v1/search, /v1/ask, "
            "/v1/indexes/NAME/documents, /v1/jobs (ingest or extract a folder, resumed after a restart), and "
            "OpenAI's /v1/chat/completions (model 'ragline:NAME' answers from index NAME with citations), "
            "/v1/embeddings and /v1/models. /healthz, /readyz, /metrics; OpenAPI docs at /docs. Binds 127.0.0.1 "
            "unless --host says otherwise. Exit status: 0 stopped by a signal, 2 usage error."
        ),
        epilog=(
            "examples:\n"
            "  ragline serve --index filings=idx/ --port 8080\n"
            "  ragline serve --index idx/ --schema invoice=pipeline.llm:Invoice --allow-root /data/inbox\n"
            "  RAGLINE_SERVER_API_KEY=secret ragline serve --index idx/ --host 0.0.0.0\n"
            "  curl -s localhost:8080/v1/ask -d '{\"index\": \"idx\", \"question\": \"What were net sales?\"}' \\\n"
            "       -H 'content-type: application/json'"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--index", action="append", default=[], metavar="[NAME=]DIR",
                   help="an index to serve (repeatable); NAME defaults to the folder's name")
    p.add_argument("--schema", action="append", default=[], metavar="NAME=SPEC",
                   help="a schema requests may name (repeatable): module:Model, file.py:Model or schema.json")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--api-key", default=None, metavar="KEY",
                   help="require 'Authorization: Bearer KEY' on every request but /healthz and /readyz "
                        "(default $RAGLINE_SERVER_API_KEY; never logged)")
    p.add_argument("--allow-root", action="append", default=[], metavar="DIR",
                   help="a folder whose files requests may name by path (repeatable; default: none, uploads only)")
    p.add_argument("--state-dir", default=".ragline-serve", metavar="DIR",
                   help="the jobs database and job outputs (default .ragline-serve)")
    g = p.add_argument_group("limits")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="requests worked on at once (default: the cores)")
    g.add_argument("--queue", type=int, default=64, metavar="N",
                   help="requests waiting for a worker before the server answers 429 (default 64)")
    g.add_argument("--max-upload-mb", type=float, default=50.0, metavar="MB", help="upload size limit (default 50)")
    g.add_argument("--max-pages", type=int, default=500, metavar="N", help="page limit of a PDF (default 500)")
    g.add_argument("--timeout", type=float, default=300.0, metavar="S",
                   help="seconds before a request answers 504 (default 300)")
    g.add_argument("--config", metavar="FILE.toml", help="pipeline configuration (ragline.toml: [index], [parse], [llm], [qa] ...; README, pipeline/config.py); LLM options given here win over its [llm]")
    add_llm_options(p)
    p.set_defaults(func=run)


def _named(specs: list[str], what: str, *, paths: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep:
            if not paths:
                raise UsageError(f"--{what} {spec!r}: use NAME=SPEC")
            name, value = Path(spec.rstrip("/")).name, spec
        if not name or not value:
            raise UsageError(f"--{what} {spec!r}: use NAME={'DIR' if paths else 'SPEC'}")
        if name in out:
            raise UsageError(f"--{what}: the name {name!r} is given twice")
        out[name] = value
    return out


def run(args: argparse.Namespace) -> int:
    from pydantic import SecretStr, ValidationError

    from pipeline.config import RaglineConfig
    from pipeline.index import Index
    from pipeline.serve import API_KEY_ENV, ServeConfig, run_server

    indexes = _named(args.index, "index", paths=True)
    for name, directory in indexes.items():
        if not (Path(directory) / Index.DB_FILE).is_file():
            raise UsageError(f"--index {name}={directory}: no index there (build one with `ragline ingest`)")
    key = args.api_key or os.environ.get(API_KEY_ENV) or None
    try:
        serve = ServeConfig(
            indexes={n: Path(d) for n, d in indexes.items()}, schemas=_named(args.schema, "schema", paths=False),
            host=args.host, port=args.port, api_key=SecretStr(key) if key else None,
            allowed_roots=[Path(r) for r in args.allow_root], state_dir=Path(args.state_dir),
            queue_size=args.queue, max_upload_bytes=int(args.max_upload_mb * 2**20), max_pages=args.max_pages,
            request_timeout=args.timeout, **({"workers": args.workers} if args.workers else {}))
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        raise UsageError(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
    from pipeline.extraction import load_schema

    for spec in serve.schemas.values():
        load_schema(spec)  # a schema that does not load is a usage error now, not a failed start later
    for root in serve.allowed_roots:
        if not root.is_dir():
            raise UsageError(f"--allow-root {root}: not a folder")
    config = RaglineConfig.load(args.config)
    config = config.model_copy(update={"llm": llm_settings(args) if _llm_given(args) else config.llm})
    if serve.host not in ("127.0.0.1", "localhost", "::1") and serve.api_key is None and not args.quiet:
        print(f"ragline serve: warning: listening on {serve.host} without an API key (--api-key or "
              f"${API_KEY_ENV})", file=sys.stderr)
    level = "warning" if args.quiet else "debug" if args.verbose >= 2 else "info"
    import logging

    if not args.quiet and not args.verbose:  # the server's own lines (loading, ready, jobs) without -v
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("ragline serve: %(message)s"))
        serve_log = logging.getLogger("pipeline.serve")
        serve_log.addHandler(handler)
        serve_log.setLevel(logging.INFO)
        serve_log.propagate = False
    run_server(serve, config, log_level=level, access_log=args.verbose >= 1)
    return 0


def _llm_given(args: argparse.Namespace) -> bool:
    return any(getattr(args, n, None) for n in ("llm_url", "llm_model", "structured_mode", "llm_timeout",
                                                "concurrency", "local_model", "llm_threads", "n_ctx", "model_cache"))


__all__ = ["register"]
