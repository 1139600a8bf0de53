"""``EmbedderSpec``: ``make_embedder``'s arguments as data, and how an embedder is built from them (the backend
and precision choice ``make_embedder`` documents). Every embedder built so carries its spec (``embedder.spec``);
a spec pickles and serialises, and :meth:`EmbedderSpec.build` makes the same embedder again, which is how Ray
workers get theirs (:meth:`EmbedderSpec.for_worker`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, field_validator

from pipeline.embedding._devices import Devices, detect_devices
from pipeline.embedding._models import (
    DEFAULT_ALIASES,
    ONNX_PRECISIONS,
    OPENVINO_PRECISIONS,
    TORCH_PRECISIONS,
    Backend,
    Precision,
)
from pipeline.embedding._onnx import OnnxEmbedder
from pipeline.embedding._torch import SentenceTransformerEmbedder
from pipeline.exceptions import ConfigurationError


class EmbedderSpec(BaseModel):
    """``make_embedder``'s arguments, short of ``devices`` (those are the building machine's own): what
    ``make_embedder`` was called with, recorded on the embedder it returns as ``spec``. It pickles and
    serialises; :meth:`build` is ``make_embedder`` called with it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Backend = "auto"
    model: str | None = None  # a model directory (a path is kept as its text), or the bundled model's name
    precision: Precision = "auto"
    cache_dir: Path | None = None
    batch_size: int = 32
    threads: int | None = None

    @field_validator("model", mode="before")
    @classmethod
    def _model_text(cls, value: Any) -> Any:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    def build(self, devices: Devices | None = None) -> SentenceTransformerEmbedder | OnnxEmbedder:
        """A new, unloaded embedder from this spec, carrying it as ``spec`` (``devices``: what the machine
        has; None: detected once per process). ``make_embedder`` documents the choices."""
        embedder = _build(self, devices if devices is not None else detect_devices())
        embedder.spec = self  # type: ignore[union-attr]  # a record on the object: no constructor takes it
        return embedder

    def for_worker(
        self, embedder: Any = None, *, gpu: bool = False, threads: int | None = None
    ) -> EmbedderSpec:
        """The spec a worker builds ``embedder`` (built from this spec) again with.

        On a CPU worker: the backend ``make_embedder`` picked and, for the ONNX Runtime and OpenVINO graphs,
        the precision ``warm_up`` resolved ``auto`` to (the workers must run the same graph as the writer).
        On a GPU worker (``gpu``): this spec as asked for, so that ``auto`` picks for the worker's device (the
        same vector space: a drifting precision such as int8 is only ever asked for). ``threads``: the CPU
        threads of a worker's model, when this spec sets none. A model directory and the cache are made
        absolute (workers run elsewhere); the bundled model is found by name on each worker."""
        update: dict[str, Any] = {}
        if not gpu and embedder is not None:
            backend = getattr(embedder, "backend", None)
            if backend in get_args(Backend):
                update["backend"] = backend
            resolved = getattr(embedder, "precision", None)
            if backend in ("onnx", "openvino") and resolved in get_args(Precision):
                update["precision"] = resolved
        if threads and self.threads is None:
            update["threads"] = threads
        model_dir = getattr(embedder, "model_dir", None)
        if self.model is not None and str(self.model) not in DEFAULT_ALIASES and model_dir is not None:
            update["model"] = str(Path(model_dir).expanduser().resolve())
        if self.cache_dir is not None:
            update["cache_dir"] = self.cache_dir.expanduser().resolve()
        return self.model_copy(update=update)


def _build(spec: EmbedderSpec, devices: Devices) -> SentenceTransformerEmbedder | OnnxEmbedder:
    """The embedder for ``spec`` on a machine with ``devices`` (every value checked: ConfigurationError)."""
    backend, model, precision = spec.backend, spec.model, spec.precision
    cache_dir, batch_size, threads = spec.cache_dir, spec.batch_size, spec.threads
    if precision not in ONNX_PRECISIONS + TORCH_PRECISIONS + OPENVINO_PRECISIONS:
        raise ConfigurationError(
            f"unknown embedding precision {precision!r} (auto, fp32, fp16, bf16, int8 or int8-weights)", stage="embed"
        )
    if backend not in get_args(Backend):
        raise ConfigurationError(
            f"unknown embedding backend {backend!r} ({', '.join(get_args(Backend))})", stage="embed"
        )
    if backend == "auto":
        backend = _auto_backend(precision, devices)
    if precision == "fp16" and not devices.cuda:
        raise ConfigurationError("fp16 embeddings need a CUDA GPU (CPUs run fp32, bf16 or int8)", stage="embed")
    if backend == "torch":
        if precision not in TORCH_PRECISIONS:
            raise ConfigurationError(f"the torch backend runs fp32 or fp16, not {precision}", stage="embed")
        fp16 = {"auto": None, "fp32": False, "fp16": True}[precision]
        return SentenceTransformerEmbedder(model, batch_size=batch_size, fp16=fp16)
    if backend == "openvino":
        from pipeline.embedding._openvino import OpenVinoEmbedder

        if precision not in OPENVINO_PRECISIONS:
            raise ConfigurationError(f"the OpenVINO backend runs fp32 or bf16, not {precision}", stage="embed")
        return OpenVinoEmbedder(model, precision=precision, cache_dir=cache_dir, batch_size=batch_size,
                                threads=threads)
    if precision not in ONNX_PRECISIONS:
        raise ConfigurationError(f"the ONNX backend has no {precision} precision on CPU", stage="embed")
    return OnnxEmbedder(model, precision=precision, cache_dir=cache_dir, batch_size=batch_size, threads=threads)


def _auto_backend(precision: str, devices: Devices) -> Backend:
    """The backend ``make_embedder("auto")`` runs ``precision`` on, by what the machine has (the speed
    order measured in docs/benchmarks.md)."""
    if precision == "bf16":
        return "openvino"
    if precision not in TORCH_PRECISIONS:
        return "onnx"
    if devices.cuda:
        return "torch"
    if not devices.onnxruntime:  # it also builds the graph OpenVINO compiles
        return "torch"
    if precision == "auto" and devices.openvino and devices.bf16:
        return "openvino"
    return "onnx"


__all__ = ["EmbedderSpec"]
