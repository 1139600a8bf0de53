"""The OpenVINO backend: the model's fp32 ONNX graph, compiled by OpenVINO's CPU plugin with bf16 matmuls
where the CPU has bf16 dot products (AVX512-BF16, AMX).

Why a second runtime for the same graph: ONNX Runtime has no bf16 MatMul on CPU, and dynamic int8 drifts
(cosine ~0.99, vectors that depend on their batch). OpenVINO keeps the weights and activations of the
matmuls in bf16 with fp32 accumulation and the norms and softmax in fp32: on the 2-core dev VM
(AVX512-BF16) it embeds ~2x faster than ONNX Runtime's fused fp32 graph, at cosine >= 0.99997 to it on
every one of 200 real chunks (docs/benchmarks.md). That is within the model's own vector space, so bf16
and fp32 vectors share indexes and the embedding cache (``vector_space`` records no suffix).
"""

from __future__ import annotations

import logging
import queue
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.embedding._batching import padded_batches, pool
from pipeline.embedding._devices import BF16_FLAGS, cpu_flags
from pipeline.embedding._models import OPENVINO_PRECISIONS
from pipeline.embedding._onnx import OnnxEmbedder
from pipeline.exceptions import ConfigurationError, MissingDependencyError

if TYPE_CHECKING:
    import numpy as np

_log = logging.getLogger(__name__)
# CPU flags (Linux /proc/cpuinfo names) with bf16 dot products OpenVINO's CPU plugin uses.


def bf16_is_fast() -> bool:
    """Whether the CPU lists bf16 dot-product instructions (AVX512-BF16 or AMX-BF16)."""
    return bool(cpu_flags() & BF16_FLAGS)


def _plugin_runs_bf16(core: Any) -> bool:
    """Whether OpenVINO's CPU plugin itself runs bf16 here (it checks what the kernel lets it use)."""
    return "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")


class OpenVinoEmbedder(OnnxEmbedder):
    """``OnnxEmbedder``'s graph, tokenizer, batching and pooling, run by OpenVINO (``precision``: ``bf16``
    where the CPU has it, which ``auto`` picks there; ``fp32`` otherwise)."""

    backend = "openvino"
    runtime = "OpenVINO"
    precisions = OPENVINO_PRECISIONS

    # With one stream per core (below), smaller batches keep every stream busy: 1,024 padded tokens ran at
    # 1.07x the 2,048 of ONNX Runtime's default, interleaved (docs/benchmarks.md).
    default_max_batch_tokens = 1024

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
            # Streams of a few threads each, batches in flight on all of them: no barrier across cores, so a
            # parse worker taking a core stalls one stream, not the whole model (1.10x LATENCY's one stream
            # of all threads, interleaved on an idle machine).
            "PERFORMANCE_HINT": "THROUGHPUT",
        }
        if self.threads:
            config["INFERENCE_NUM_THREADS"] = self.threads
        try:
            compiled = core.compile_model(core.read_model(str(model_file)), "CPU", config)
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses with the plugin's message
            raise ConfigurationError(f"OpenVINO cannot compile {model_file}: {exc}", stage="embed") from exc
        self._input_names = {i.get_any_name() for i in compiled.inputs}
        self._output = compiled.outputs[0]
        self._jobs = max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        # An infer queue is not thread-safe: each call takes an idle one from this pool (or makes one) and puts it
        # back. Not a threading.local: a fork (a subprocess started with preexec_fn, as Ray starts its daemons)
        # clears the other threads' states in the child, whose OpenVINO destructors then wait forever on
        # executor threads the child does not have, and the parent waits forever on the child.
        self._queues: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.device = "cpu"
        _log.debug("OpenVINO %s compiled %s at %s", ov.__version__, model_file.name, precision)
        return compiled, precision

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np
        import openvino as ov

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.warm_up()
        try:
            infer = self._queues.get_nowait()
        except queue.Empty:
            infer = ov.AsyncInferQueue(self._session, self._jobs)
        try:
            return self._embed_with(infer, texts)
        finally:
            self._queues.put(infer)

    def _embed_with(self, infer: Any, texts: list[str]) -> np.ndarray:
        import numpy as np

        encodings = self._tokenizer.encode_batch(list(texts))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        failures: list[Exception] = []

        def pooled(request: Any, batch: tuple[list[int], np.ndarray]) -> None:  # on OpenVINO's thread
            idx, mask = batch
            try:
                out[idx] = pool(request.get_tensor(self._output).data, mask, self._config.pooling,
                                self._config.normalize)
            except Exception as exc:  # noqa: BLE001 - re-raised below, in the caller's thread
                failures.append(exc)

        infer.set_callback(pooled)
        for idx, feed in padded_batches(encodings, self.batch_size, self.max_batch_tokens):
            infer.start_async({k: v for k, v in feed.items() if k in self._input_names}, (idx, feed["attention_mask"]))
        infer.wait_all()
        if failures:
            raise failures[0]
        return out


__all__ = ["OpenVinoEmbedder", "bf16_is_fast"]
