"""Graph builders for bench/explore_int8.py: int8 variants of the fused fp32 MiniLM graph.

Each builder writes ``<work>/graphs/<name>.onnx`` once (an existing file is reused) from the fused fp32
graph that ``pipeline.embedding._artifacts.ensure_artifact`` builds into ``--cache``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.embedding import OnnxEmbedder, ensure_artifact, resolve_model

QUANTIZABLE = ("MatMul", "Attention", "EmbedLayerNormalization")


class GraphEmbedder(OnnxEmbedder):
    """``OnnxEmbedder`` (same tokenizer, batching and pooling) running a graph file given by path."""

    def __init__(self, graph: Path, label: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._graph, self._label = graph, label

    def _resolve_model_file(self) -> tuple[Path, str]:
        return self._graph, self._label


def fp32_graph(args: argparse.Namespace) -> Path:
    return ensure_artifact(args.cache, resolve_model(None)[1], "fp32")


def quantizable_nodes(graph: Path) -> list[tuple[str, str]]:
    """(name, op type) of the nodes dynamic quantization touches, in graph order."""
    import onnx

    model = onnx.load(str(graph), load_external_data=False)
    return [(n.name, n.op_type) for n in model.graph.node if n.op_type in QUANTIZABLE]


def build_dynamic(args: argparse.Namespace, name: str, **options: Any) -> Path:
    """Dynamic int8 of the fused graph with quantize_dynamic ``options`` (built once per name)."""
    out = args.work / "graphs" / f"{name}.onnx"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    _quantize_file(fp32_graph(args), out, **options)
    return out


def build_static(args: argparse.Namespace, name: str, calib: list[str], method: str, per_channel: bool) -> Path:
    """Static QDQ int8 (MatMul nodes; fused ops stay fp32) calibrated on ``calib`` chunks."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    out = args.work / "graphs" / f"{name}.onnx"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    feeds = _feeds(args, calib)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    logging.disable(logging.WARNING)
    try:
        quantize_static(
            str(fp32_graph(args)), str(out), Reader(), quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["MatMul"], per_channel=per_channel, weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8, calibrate_method=getattr(CalibrationMethod, method),
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT, "CalibMovingAverage": method == "MinMax"},
        )
    finally:
        logging.disable(logging.NOTSET)
    return out


def activation_absmax(args: argparse.Namespace, graph: Path, tensors: list[str], texts: list[str]) -> dict[str, np.ndarray]:
    """Per-channel max |x| of each named tensor over the real (unpadded) tokens of ``texts``, in fp32."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(graph))
    for name in tensors:
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    probe = args.work / "probe.onnx"
    onnx.save(model, str(probe))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    session = ort.InferenceSession(str(probe), sess_options=opts, providers=["CPUExecutionProvider"])
    amax: dict[str, np.ndarray] = {}
    for feed in _feeds(args, texts):
        outs = session.run(tensors, feed)
        valid = feed["attention_mask"].astype(bool)
        for name, value in zip(tensors, outs):
            m = np.abs(value[valid]).max(axis=0)
            amax[name] = np.maximum(amax[name], m) if name in amax else m
    probe.unlink()
    return amax


def build_smooth(args: argparse.Namespace, name: str, calib: list[str], alpha: float,
                 exclude: list[str] | None = None) -> Path:
    """SmoothQuant (exact in fp32): x @ W == (x / s) @ (s * W) per input channel, with
    s = max|x|^alpha / max|W_row|^(1 - alpha), so per-tensor activation quantization no longer spends its
    range on a few outlier channels. The division is an explicit Mul before each quantized node (its input
    also feeds the residual path, so it cannot be folded into the LayerNorm); then dynamic int8."""
    import onnx
    from onnx import numpy_helper

    out = args.work / "graphs" / f"{name}.onnx"
    if out.is_file():
        return out
    model = onnx.load(str(fp32_graph(args)))
    inits = {i.name: i for i in model.graph.initializer}
    targets = [n for n in model.graph.node if n.op_type in ("MatMul", "Attention") and n.input[1] in inits
               and n.name not in (exclude or [])]
    amax = activation_absmax(args, fp32_graph(args), sorted({n.input[0] for n in targets}), calib)
    nodes = []
    for node in model.graph.node:
        if node in targets:
            weight = numpy_helper.to_array(inits[node.input[1]])  # (in channels, out channels)
            w_max = np.maximum(np.abs(weight).max(axis=1), 1e-8)
            s = np.clip(np.maximum(amax[node.input[0]], 1e-8) ** alpha / w_max ** (1 - alpha), 1e-4, 1e4)
            inits[node.input[1]].CopyFrom(numpy_helper.from_array((weight * s[:, None]).astype(np.float32),
                                                                  node.input[1]))
            inv = numpy_helper.from_array((1.0 / s).astype(np.float32), f"{node.name}_smooth_inv")
            model.graph.initializer.append(inv)
            smoothed = f"{node.name}_smoothed"
            nodes.append(onnx.helper.make_node("Mul", [node.input[0], inv.name], [smoothed],
                                               name=f"{node.name}_smooth"))
            node.input[0] = smoothed
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    smooth_fp32 = args.work / "graphs" / f"{name}-fp32.onnx"
    onnx.save(model, str(smooth_fp32))
    emb = [n for n, op in quantizable_nodes(smooth_fp32) if op == "EmbedLayerNormalization"]
    _quantize_file(smooth_fp32, out, nodes_to_exclude=emb + (exclude or []))
    return out


def build_nbits(args: argparse.Namespace, name: str, block: int, attention: str, accuracy: int = 4,
                keep: tuple[str, ...] = (), only: str | None = None) -> Path:
    """MatMuls as MatMulNBits (8-bit weights per ``block`` of K, accuracy_level 4: activations quantized
    to int8 per row and block at run time, not per tensor; 0: fp32 compute, the weights' error alone);
    Attention kept fp32 or dynamic QAttention; MatMuls whose name contains one of ``keep`` stay fp32.
    ``only``: convert just the MatMuls whose name matches this regex; with attention="dynamic" every other
    MatMul and Attention is then dynamic int8 (per-tensor activations), EmbedLayerNormalization fp32;
    "dynamic-matmul": the other MatMuls only (Attention fp32)."""
    import re

    import onnx
    from onnx import numpy_helper

    out = args.work / "graphs" / f"{name}.onnx"
    if out.is_file():
        return out
    model = onnx.load(str(fp32_graph(args)))
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "MatMul" or node.input[1] not in inits or any(p in node.name for p in keep):
            continue
        if only is not None and not re.search(only, node.name):
            continue
        w = numpy_helper.to_array(inits[node.input[1]]).T  # (N, K)
        n, k = w.shape
        blocks = w.reshape(n, k // block, block)
        scale = np.maximum(np.abs(blocks).max(axis=2), 1e-12) / 127.0
        q = (np.clip(np.round(blocks / scale[..., None]), -127, 127) + 128).astype(np.uint8)  # zero point 128
        inits[node.input[1]].CopyFrom(numpy_helper.from_array(q, node.input[1]))
        model.graph.initializer.append(numpy_helper.from_array(scale.astype(np.float32).ravel(),
                                                               f"{node.input[1]}_scales"))
        node.op_type, node.domain = "MatMulNBits", "com.microsoft"
        node.input.append(f"{node.input[1]}_scales")
        node.attribute.extend([onnx.helper.make_attribute(a, v) for a, v in
                               (("K", k), ("N", n), ("bits", 8), ("block_size", block), ("accuracy_level", accuracy))])
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    if attention == "fp32":
        onnx.save(model, str(out))
        return out
    tmp = args.work / "graphs" / f"{name}-nbits.onnx"
    onnx.save(model, str(tmp))
    if attention in ("dynamic", "dynamic-matmul"):  # the rest dynamic int8, with or without QAttention
        emb = [n for n, op in quantizable_nodes(tmp) if op == "EmbedLayerNormalization"]
        ops = ["MatMul"] if attention == "dynamic-matmul" else None
        _quantize_file(tmp, out, nodes_to_exclude=emb, op_types_to_quantize=ops)
    else:
        _quantize_file(tmp, out, op_types_to_quantize=["Attention"])
    tmp.unlink()
    return out


def _quantize_file(src: Path, out: Path, **options: Any) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    extra = {"DefaultTensorType": onnx.TensorProto.FLOAT, **options.pop("extra_options", {})}
    kwargs: dict[str, Any] = {"per_channel": True, "weight_type": QuantType.QInt8, **options}
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(str(src), str(out), extra_options=extra, **kwargs)
    finally:
        logging.disable(logging.NOTSET)


def _feeds(args: argparse.Namespace, texts: list[str]) -> list[dict[str, np.ndarray]]:
    """The padded batches OnnxEmbedder would feed for ``texts``."""
    emb = GraphEmbedder(fp32_graph(args), "fp32", cache_dir=args.cache, threads=args.threads)
    emb.warm_up()
    from pipeline.embedding import padded_batches

    enc = emb._tokenizer.encode_batch(texts)
    feeds = [feed for _, feed in padded_batches(enc, emb.batch_size, emb.max_batch_tokens)]
    return feeds
