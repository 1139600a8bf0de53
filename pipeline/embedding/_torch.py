"""The sentence-transformers (torch) embedder: CUDA + fp16 when torch sees a GPU, else CPU fp32."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.exceptions import ConfigurationError, MissingDependencyError

if TYPE_CHECKING:
    import numpy as np

from pipeline.embedding._models import (
    ModelConfig,
    resolve_model,
)


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
        self._config = ModelConfig(self.model_dir)
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


