"""The embedding models' names, vector spaces and configuration: what the backends share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipeline.embedding._tokenizer import default_model_path
from pipeline.exceptions import ConfigurationError

if TYPE_CHECKING:
    pass


DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_ALIASES = frozenset({DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"})

Backend = Literal["auto", "onnx", "openvino", "torch"]
# fp16: torch on CUDA only. bf16: OpenVINO on a CPU with bf16 dot products (cosine >= 0.9999 to fp32).
# int8: dynamic quantization of the fused graph (fast, cosine ~0.99).
# int8-weights: the shipped weight-only int8 graph of the default model (as fast as fp32, cosine 0.999).
Precision = Literal["auto", "fp32", "fp16", "bf16", "int8", "int8-weights"]
ONNX_PRECISIONS = ("auto", "fp32", "int8", "int8-weights")
OPENVINO_PRECISIONS = ("auto", "fp32", "bf16")
# Precisions whose vectors drift from the model's own (dynamic int8: cosine ~0.99 to fp32) make another
# vector space: an index and its embedding cache record them as "<model>+int8", so they never meet fp32
# vectors. fp16 on a GPU, bf16 on OpenVINO and the weight-only int8 graph stay within cosine 0.999: the
# model's own space.
OWN_SPACE_SEP = "+"
DRIFTING_PRECISIONS = ("int8",)
TORCH_PRECISIONS = ("auto", "fp32", "fp16")


def resolve_model(model: str | Path | None) -> tuple[str, Path]:
    """``(model_name, directory)`` for the default model, its aliases, or a local model directory.

    The name is what an index records to detect a model change: the Hugging Face id for the default
    model, the directory name for any other sentence-transformers directory.
    """
    if model is None or str(model) in DEFAULT_ALIASES:
        return DEFAULT_MODEL, default_model_path()
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ConfigurationError(
            f"unknown embedding model {str(model)!r}: ragline runs offline, so give a local "
            "sentence-transformers model directory (or omit it for all-MiniLM-L6-v2)",
            stage="embed",
        )
    if path.resolve() == default_model_path().resolve():
        return DEFAULT_MODEL, path
    return path.resolve().name, path


def vector_space(model_name: str, precision: str) -> str:
    """The name an index records for vectors of ``model_name`` at ``precision`` (see ``DRIFTING_PRECISIONS``)."""
    return f"{model_name}{OWN_SPACE_SEP}{precision}" if precision in DRIFTING_PRECISIONS else model_name


def split_vector_space(name: str) -> tuple[str, Precision]:
    """``(model name, precision)`` of a name :func:`vector_space` made (``auto`` for the model's own space)."""
    model, sep, precision = name.rpartition(OWN_SPACE_SEP)
    if sep and precision in DRIFTING_PRECISIONS:
        return model, precision  # type: ignore[return-value]
    return name, "auto"


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read model config {path}: {exc}", stage="embed") from exc
    return data if isinstance(data, dict) else {}


class ModelConfig:
    """What both backends need to know about a sentence-transformers directory, read without torch."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        pooling = read_json(directory / "1_Pooling" / "config.json")
        hf = read_json(directory / "config.json")
        self.dimension = int(pooling.get("word_embedding_dimension") or hf.get("hidden_size") or 0)
        if not self.dimension:
            raise ConfigurationError(f"{directory} does not look like a sentence-transformers model", stage="embed")
        if pooling.get("pooling_mode_cls_token"):
            self.pooling = "cls"
        elif pooling.get("pooling_mode_max_tokens"):
            self.pooling = "max"
        else:
            self.pooling = "mean"
        st = read_json(directory / "sentence_bert_config.json")
        self.max_seq_length = int(st.get("max_seq_length") or min(512, int(hf.get("max_position_embeddings", 512))))
        modules = directory / "modules.json"
        if modules.is_file():
            try:
                types = [m.get("type", "") for m in json.loads(modules.read_text(encoding="utf-8"))]
            except ValueError:
                types = []
            self.normalize = any(t.endswith("Normalize") for t in types)
        else:
            self.normalize = True
