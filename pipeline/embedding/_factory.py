"""``make_embedder``: the one place that picks and builds an embedder for a backend and precision."""

from __future__ import annotations

import os
from pathlib import Path
from typing import get_args

from pipeline.embedding._devices import Devices, detect_devices
from pipeline.embedding._models import (
    DEFAULT_MODEL,
    ONNX_PRECISIONS,
    OPENVINO_PRECISIONS,
    TORCH_PRECISIONS,
    Backend,
    Precision,
    split_vector_space,
)
from pipeline.embedding._onnx import OnnxEmbedder
from pipeline.embedding._torch import SentenceTransformerEmbedder
from pipeline.exceptions import ConfigurationError


def embedder_for_index(
    stored: str | None, path_hint: str | None, *, backend: str = "auto", precision: str = "auto",
    cache_dir: str | os.PathLike[str] | None = None, devices: Devices | None = None,
) -> SentenceTransformerEmbedder | OnnxEmbedder:
    """The embedder for an index that recorded ``stored`` (None: a new index) as its vector space.

    The bundled model is found by name (a recorded path is another install's), another model by its
    recorded path. Queries are embedded at the precision the index's vectors were made with, unless
    ``precision`` asks otherwise (the index then refuses the embedder rather than mix two spaces)."""
    model: str | None = None
    if stored:
        model, stored_precision = split_vector_space(stored)
        if path_hint and Path(path_hint).is_dir() and model != DEFAULT_MODEL:
            model = path_hint
        precision = stored_precision if precision == "auto" else precision
    return make_embedder(backend, model, precision=precision, cache_dir=cache_dir,  # type: ignore[arg-type]
                         devices=devices)


def make_embedder(
    backend: Backend = "auto",
    model: str | Path | None = None,
    *,
    precision: Precision = "auto",
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
    threads: int | None = None,
    devices: Devices | None = None,
) -> SentenceTransformerEmbedder | OnnxEmbedder:
    """The embedder for ``backend`` and ``precision``.

    ``auto`` backend: torch on a CUDA GPU (fp16 unless ``precision="fp32"``); else, on a CPU with bf16 dot
    products and OpenVINO installed, OpenVINO in bf16; else ONNX Runtime's fused fp32 graph; else torch.
    An ONNX-only precision (int8, int8-weights) always gives ONNX Runtime, bf16 always OpenVINO.
    ``devices``: what the machine has (None: detected once per process, :func:`detect_devices`)."""
    devices = devices if devices is not None else detect_devices()
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

