"""The OpenVINO backend: the model's fp32 ONNX graph, compiled by OpenVINO's CPU plugin with bf16 matmuls
where the CPU has bf16 dot products (AVX512-BF16, AMX).

Why a second runtime for the same graph: ONNX Runtime has no bf16 MatMul on CPU, and dynamic int8 drifts
(cosine ~0.99, vectors that depend on their batch). OpenVINO keeps the weights and activations of the
matmuls in bf16 with fp32 accumulation and the norms and softmax in fp32: on the 2-core dev VM
(AVX512-BF16) it embeds 1.8x faster than ONNX Runtime's fused fp32 graph, at cosine >= 0.99997 to it on
every one of 200 real chunks (docs/benchmarks.md). That is within the model's own vector space, so bf16
and fp32 vectors share indexes and the embedding cache (``vector_space`` records no suffix).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._onnx_artifacts import cpu_flags
from .embedding import OnnxEmbedder
from .exceptions import ConfigurationError, MissingDependencyError

if TYPE_CHECKING:
    import numpy as np

_log = logging.getLogger(__name__)
_OPENVINO_PRECISIONS = ("auto", "fp32", "bf16")
# CPU flags (Linux /proc/cpuinfo names) with bf16 dot products OpenVINO's CPU plugin uses.
_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def bf16_is_fast() -> bool:
    """Whether the CPU lists bf16 dot-product instructions (AVX512-BF16 or AMX-BF16)."""
    return bool(cpu_flags() & _BF16_FLAGS)


def _plugin_runs_bf16(core: Any) -> bool:
    """Whether OpenVINO's CPU plugin itself runs bf16 here (it checks what the kernel lets it use)."""
    return "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")


class OpenVinoEmbedder(OnnxEmbedder):
    """``OnnxEmbedder``'s graph, tokenizer, batching and pooling, run by OpenVINO (``precision``: ``bf16``
    where the CPU has it, which ``auto`` picks there; ``fp32`` otherwise)."""

    backend = "openvino"
    runtime = "OpenVINO"
    precisions = _OPENVINO_PRECISIONS

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        precision: str = "auto",
        cache_dir: str | Path | None = None,
        batch_size: int = 32,
        max_batch_tokens: int = 2048,
        threads: int | None = None,
    ) -> None:
        super().__init__(model, precision=precision, cache_dir=cache_dir,  # type: ignore[arg-type]
                         batch_size=batch_size, max_batch_tokens=max_batch_tokens, threads=threads)
        self._output: Any = None
        self._requests = threading.local()  # an infer request is not thread-safe; one per calling thread

    def _resolve_model_file(self) -> tuple[Path, str]:
        graph = self._fp32_graph()
        if graph is None:
            raise MissingDependencyError(
                "the OpenVINO backend compiles the fp32 ONNX graph, which is built once from the torch model: "
                "pip install 'ragline[cpu]'", stage="embed",
            )
        if self.requested_precision == "fp32":
            return graph, "fp32"
        return graph, "bf16"

    def _open_runtime(self, model_file: Path, precision: str) -> tuple[Any, str]:
        try:
            import openvino as ov
        except ImportError as exc:
            raise MissingDependencyError(
                "the OpenVINO embedding backend needs openvino: pip install 'ragline[cpu]'", stage="embed"
            ) from exc
        core = ov.Core()
        if precision == "bf16" and not _plugin_runs_bf16(core):
            if self.requested_precision == "bf16":
                raise ConfigurationError("this CPU has no bf16 instructions OpenVINO can use (AVX512-BF16, AMX): "
                                         "use precision fp32", stage="embed")
            _log.info("OpenVINO runs no bf16 on this CPU: embedding in fp32")
            precision = "fp32"
        config: dict[str, Any] = {
            "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
            "PERFORMANCE_HINT": "LATENCY",  # one stream: ingest embeds one batch at a time
        }
        if self.threads:
            config["INFERENCE_NUM_THREADS"] = self.threads
        try:
            compiled = core.compile_model(core.read_model(str(model_file)), "CPU", config)
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses with the plugin's message
            raise ConfigurationError(f"OpenVINO cannot compile {model_file}: {exc}", stage="embed") from exc
        self._input_names = {i.get_any_name() for i in compiled.inputs}
        self._output = compiled.outputs[0]
        self.device = "cpu"
        _log.debug("OpenVINO %s compiled %s at %s", ov.__version__, model_file.name, precision)
        return compiled, precision

    def _infer(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        request = getattr(self._requests, "request", None)
        if request is None:
            request = self._requests.request = self._session.create_infer_request()
        return request.infer(feed)[self._output]


__all__ = ["OpenVinoEmbedder", "bf16_is_fast"]
