"""The one place that turns :class:`~pipeline.llm.LLMSettings` into a client.

    from pipeline.llm import LLMSettings, extract, open_llm

    with open_llm(LLMSettings.from_env()) as client:      # endpoint, or the embedded model
        result = extract("invoice.pdf", schema=Invoice, client=client)

Used by ``ragline extract/ask/eval`` and :mod:`pipeline.evaluation` alike.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from pipeline.llm._client import LLMClient
from pipeline.llm._local import LocalLLMServer
from pipeline.llm._settings import (
    DEFAULT_ENDPOINT_MODEL,
    EMBEDDED_CONCURRENCY,
    EMBEDDED_STRUCTURED_MODE,
    ENDPOINT_CONCURRENCY,
    ENDPOINT_STRUCTURED_MODE,
    LLMSettings,
)


class LLMUser:
    """What a stage that talks to an LLM does about its client: the one it was given, else one it opens on
    :meth:`warm_up` (the endpoint of ``$RAGLINE_LLM_*``, else the embedded server) and closes on :meth:`close`
    or at the end of its ``with`` block. No server outlives the stage that started it."""

    client: LLMClient | None
    # How to open the client when none was given (default: ``open_llm(LLMSettings.from_env())``). The CLI
    # passes its own, which says on stderr that the embedded model loads: only when a document needs it.
    opener: Callable[[], contextlib.AbstractContextManager[LLMClient]] | None = None
    _owned: contextlib.ExitStack | None = None
    _opening = threading.Lock()  # batch workers reach their first model call at the same time

    def warm_up(self) -> None:
        if self.client is not None:
            return
        with self._opening:
            if self.client is None:
                stack = contextlib.ExitStack()
                opener = self.opener or (lambda: open_llm(LLMSettings.from_env()))
                self.client = stack.enter_context(opener())
                self._owned = stack

    def close(self) -> None:
        """Stop the client this stage opened itself (a given client is the caller's to close)."""
        if self._owned is not None:
            owned, self._owned = self._owned, None
            self.client = None
            owned.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def open_llm(settings: LLMSettings) -> Iterator[LLMClient]:
    """An :class:`LLMClient` for ``settings``, closed when the ``with`` block ends.

    With ``settings.base_url`` it talks to that endpoint. Without, an embedded
    :class:`LocalLLMServer` is started for ``settings.embedded`` and stopped with the block.
    Raises :class:`~pipeline.exceptions.ConfigurationError` (e.g. the ``local`` extra is missing) or
    :class:`~pipeline.exceptions.LLMError` (the server does not start).
    """
    if settings.base_url is not None:
        client = LLMClient(
            settings.base_url,
            model=settings.model or DEFAULT_ENDPOINT_MODEL,
            api_key=settings.api_key.get_secret_value() if settings.api_key else None,
            timeout=settings.timeout,
            structured_mode=settings.structured_mode or ENDPOINT_STRUCTURED_MODE,
            max_concurrency=settings.max_concurrency or ENDPOINT_CONCURRENCY,
        )
        with client:
            yield client
        return
    embedded = settings.embedded
    server = LocalLLMServer(
        embedded.model, cache_dir=embedded.cache_dir, n_threads=embedded.threads, n_ctx=embedded.n_ctx,
    )
    with server:
        client = server.client(
            structured_mode=settings.structured_mode or EMBEDDED_STRUCTURED_MODE,
            timeout=settings.timeout,
            max_concurrency=settings.max_concurrency or EMBEDDED_CONCURRENCY,
        )
        with client:
            yield client


__all__ = ["open_llm"]
