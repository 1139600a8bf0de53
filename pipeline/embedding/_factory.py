"""``make_embedder``: the one place that picks and builds an embedder for a backend and precision. Every
embedder it builds carries its arguments as ``embedder.spec`` (:class:`~pipeline.embedding._spec.EmbedderSpec`),
so the same embedder can be built again elsewhere (a Ray worker)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.embedding._models import DEFAULT_MODEL, Backend, Precision, split_vector_space

if TYPE_CHECKING:
    from pipeline.embedding._devices import Devices
    from pipeline.embedding._onnx import OnnxEmbedder
    from pipeline.embedding._torch import SentenceTransformerEmbedder


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
    ``devices``: what the machine has (None: detected once per process, :func:`detect_devices`).
    The embedder carries these arguments as ``spec`` (an :class:`~pipeline.embedding.EmbedderSpec`)."""
    from pipeline.embedding._spec import EmbedderSpec  # pydantic: not loaded by ``import pipeline.embedding``

    # Not validated here: build() checks every value and says what is wrong in ragline's own errors.
    spec = EmbedderSpec.model_construct(
        backend=backend, model=None if model is None else os.fspath(model), precision=precision,
        cache_dir=None if cache_dir is None else Path(cache_dir), batch_size=batch_size, threads=threads,
    )
    return spec.build(devices)
