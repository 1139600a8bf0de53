"""ONNX graphs for the embedder, built once per model and recipe into the cache directory.

Recipes (chosen by ``bench/bench_embed.py``, figures in docs/benchmarks.md):

* ``fp32``: the torch model exported with eager attention (the pattern ONNX Runtime's transformer
  optimizer recognises), then fused by that optimizer into Attention / SkipLayerNormalization / BiasGelu
  / EmbedLayerNormalization nodes. Same vectors as torch (cosine 1.0000), ~1.2x the plain export.
* ``int8``: the fused graph with dynamic int8 quantization (per-channel QInt8 weights, activations
  quantized per batch; AVX-512 VNNI makes the u8 x s8 products fast). ~2x the plain export, but vectors
  drift (cosine to torch >= 0.988 on real chunks), so it is opt-in, never ``auto``.

Every artefact is written to a temporary file in its final directory and renamed into place, so
processes that build the same artefact at the same time each leave a complete file. The file name
carries a hash of the recipe and the onnxruntime version, so a change of either builds a new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pipeline.embedding._devices import INT8_DOT_FLAGS, cpu_flags
from pipeline.exceptions import ConfigurationError, MissingDependencyError, RaglineError

BuiltPrecision = Literal["fp32", "int8"]

# Bump when a recipe changes: old artefacts are then ignored (new names), not overwritten.
_RECIPES: dict[str, str] = {
    "fp32": "export(opset=17, attn=eager) + ort.transformers.optimize_model(bert, opt_level=0) v1",
    "int8": "fp32 + quantize_dynamic(per_channel, QInt8 weights, DefaultTensorType=FLOAT, MatMul+Attention only) v2",
}
# Encoder families whose attention pattern the optimizer's "bert" fusions know.
_FUSABLE_MODEL_TYPES = frozenset({"bert", "roberta", "xlm-roberta", "distilbert"})


def int8_is_fast() -> bool:
    """Whether the CPU has int8 dot-product instructions (VNNI on x86, dotprod on ARM).

    Without them, onnxruntime's u8 x s8 kernels run slower and can saturate on AVX2."""
    return bool(cpu_flags() & INT8_DOT_FLAGS)


def _weights_key(model_dir: Path) -> str:
    weights = next(
        (p for p in (model_dir / "model.safetensors", model_dir / "pytorch_model.bin") if p.is_file()), None
    )
    if weights is None:
        raise ConfigurationError(f"no model weights in {model_dir}", stage="embed")
    st = weights.stat()
    return hashlib.sha256(f"{weights.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]


def _recipe_key(precision: BuiltPrecision) -> str:
    import onnxruntime

    return hashlib.sha256(f"{_RECIPES[precision]}|ort {onnxruntime.__version__}".encode()).hexdigest()[:10]


def artifact_path(cache_dir: Path, model_dir: Path, precision: BuiltPrecision) -> Path:
    """Where the ``precision`` graph of the model in ``model_dir`` lives (whether or not it is built yet)."""
    folder = cache_dir / "onnx" / f"{model_dir.name}-{_weights_key(model_dir)}"
    return folder / f"model.{precision}.{_recipe_key(precision)}.onnx"


def can_build() -> bool:
    """Whether this environment can export the torch model (the start of every recipe)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers", "onnx"))


_build_lock = threading.Lock()


def ensure_artifact(cache_dir: Path, model_dir: Path, precision: BuiltPrecision) -> Path:
    """The ``precision`` graph, built now if the cache does not hold it yet."""
    with _build_lock:  # threads of one process build once; other processes race harmlessly (rename)
        return _ensure(cache_dir, model_dir, precision)


def _ensure(cache_dir: Path, model_dir: Path, precision: BuiltPrecision) -> Path:
    target = artifact_path(cache_dir, model_dir, precision)
    if target.is_file():
        return target
    if not can_build():
        raise MissingDependencyError(
            f"building the {precision} ONNX graph needs torch, transformers and onnx (pip install 'ragline[cpu]')",
            stage="embed",
        )
    if precision == "fp32":
        _build_fp32(model_dir, target)
    else:
        fp32 = _ensure(cache_dir, model_dir, "fp32")
        with _atomic_target(target) as tmp:
            _quantize_int8(fp32, tmp)
    return target


@contextlib.contextmanager
def _atomic_target(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target``, renamed onto it if the block succeeds, removed if not."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    except RaglineError:
        raise
    except Exception as exc:
        raise ConfigurationError(f"building {target.name} failed: {exc}", stage="embed") from exc
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _quiet_logging() -> Iterator[None]:
    # The optimizer and quantizer log advice ("consider pre-processing") on the root logger.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def _build_fp32(model_dir: Path, target: Path) -> None:
    config = _hf_config(model_dir)
    plain = target.with_name(f".{target.stem}.plain.{os.getpid()}.{threading.get_ident()}.onnx")
    try:
        export_onnx(model_dir, plain, attn_implementation="eager")
        with _atomic_target(target) as tmp:
            if not _fuse(plain, tmp, config):
                os.replace(plain, tmp)  # not a fusable encoder: the plain export is the fp32 graph
    finally:
        plain.unlink(missing_ok=True)


def _hf_config(model_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read {model_dir / 'config.json'}: {exc}", stage="embed") from exc
    return data if isinstance(data, dict) else {}


def _fuse(src: Path, dst: Path, config: dict[str, Any]) -> bool:
    """Fuse ``src`` into ``dst``; False (nothing written) when the model is not a known encoder, the
    optimizer is missing, or the fused graph does not reproduce the plain one."""
    heads, hidden = config.get("num_attention_heads"), config.get("hidden_size")
    if config.get("model_type") not in _FUSABLE_MODEL_TYPES or not heads or not hidden:
        return False
    try:
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError:
        return False
    with _quiet_logging(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # opt_level=0: graph fusions only, so the file holds no kernels specific to this machine's CPU.
        fused = optimize_model(
            str(src), model_type="bert", num_heads=int(heads), hidden_size=int(hidden), opt_level=0, use_gpu=False
        )
        fused.save_model_to_file(str(dst))
    if same_outputs(src, dst, atol=1e-3):
        return True
    dst.unlink(missing_ok=True)
    return False


def same_outputs(a: Path, b: Path, *, atol: float) -> bool:
    """Whether two encoder graphs give the same hidden states on a small padded batch."""
    import numpy as np
    import onnxruntime as ort

    ids = np.array([[101, 7592, 2088, 2003, 1037, 3231, 102], [101, 2023, 102, 0, 0, 0, 0]], dtype=np.int64)
    mask = (ids != 0).astype(np.int64)
    feed_all = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    outs = []
    for path in (a, b):
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}
        hidden = session.run(None, {k: v for k, v in feed_all.items() if k in names})[0]
        outs.append(hidden * mask[..., None])  # padded positions differ harmlessly between graphs
    return bool(np.allclose(outs[0], outs[1], atol=atol))


def _quantize_int8(src: Path, dst: Path) -> None:
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise MissingDependencyError("int8 quantization needs onnx and onnxruntime", stage="embed") from exc
    with _quiet_logging():
        quantize_dynamic(
            str(src),
            str(dst),
            per_channel=True,
            weight_type=QuantType.QInt8,
            # EmbedLayerNormalization stays fp32: quantizing its tables cost cosine 0.9890 -> 0.9866 (min on
            # 400 docugami chunks) and query top-5 overlap 0.906 -> 0.872, for no speed (bench/explore_int8.py).
            op_types_to_quantize=["MatMul", "Attention"],
            # Fused nodes (Attention, BiasGelu) are outside ONNX shape inference: their outputs are float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


def export_onnx(model_dir: Path, target: Path, opset: int = 17, *, attn_implementation: str = "eager") -> Path:
    """Export the transformer of a sentence-transformers directory to fp32 ONNX (atomic write).

    Eager attention exports as plain MatMul/Softmax, which the transformer optimizer fuses; the SDPA
    export does not fuse (measured: 0 Attention nodes)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise MissingDependencyError("ONNX export needs torch and transformers", stage="embed") from exc
    with _atomic_target(target) as tmp:
        model = AutoModel.from_pretrained(str(model_dir), attn_implementation=attn_implementation).eval()

        class _Wrapper(torch.nn.Module):
            # BERT's forward must be called with keywords, or token_type_ids lands in the wrong slot.
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                return self.inner(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state

        dummy = torch.ones((2, 8), dtype=torch.long)
        dyn = {0: "batch", 1: "sequence"}
        # The tracer warns about data-dependent branches in HF attention code that are constant for
        # BERT encoders; the equivalence tests guard the result instead.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Wrapper(model),
                (dummy, dummy, torch.zeros_like(dummy)),
                str(tmp),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "token_type_ids": dyn,
                              "last_hidden_state": dyn},
                opset_version=opset,
                dynamo=False,
            )
    return target
