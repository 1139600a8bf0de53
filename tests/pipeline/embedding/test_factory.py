"""``EmbedderSpec``: make_embedder's arguments as data. It pickles, builds the embedder it describes, is
recorded on every embedder make_embedder builds, and says what a Ray worker builds (fast: nothing loads)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from pipeline.embedding import (
    Devices,
    EmbedderSpec,
    OnnxEmbedder,
    OpenVinoEmbedder,
    SentenceTransformerEmbedder,
    make_embedder,
    resolve_model,
)
from pipeline.exceptions import ConfigurationError

GPU = Devices(cuda=True, cpu_flags=frozenset({"avx2"}), onnxruntime=True, openvino=True)
CPU = Devices(cuda=False, cpu_flags=frozenset({"avx2", "avx512f"}), onnxruntime=True, openvino=True)
CPU_BF16 = Devices(cuda=False, cpu_flags=frozenset({"avx512_bf16"}), onnxruntime=True, openvino=True)


def test_a_spec_pickles_and_builds_the_embedder_it_describes(tmp_path: Path) -> None:
    spec = EmbedderSpec(backend="onnx", precision="int8", cache_dir=tmp_path, batch_size=7, threads=3)
    copy = pickle.loads(pickle.dumps(spec))
    assert copy == spec and EmbedderSpec.model_validate_json(spec.model_dump_json()) == spec
    emb = copy.build(devices=CPU)
    assert type(emb) is OnnxEmbedder and emb._session is None  # built, not loaded
    assert (emb.requested_precision, emb.batch_size, emb.threads, emb.cache_dir) == ("int8", 7, 3, tmp_path)
    assert emb.spec == spec
    like = make_embedder("onnx", precision="int8", cache_dir=tmp_path, batch_size=7, threads=3, devices=CPU)
    assert (type(like), like.model_name, like.requested_precision) == (type(emb), emb.model_name, "int8")


def test_make_embedder_records_the_spec_it_was_called_with(tmp_path: Path) -> None:
    emb = make_embedder("auto", precision="fp32", cache_dir=tmp_path, batch_size=5, devices=CPU)
    assert emb.spec == EmbedderSpec(backend="auto", precision="fp32", cache_dir=tmp_path, batch_size=5)  # type: ignore[union-attr]
    assert type(emb.spec.build(devices=CPU)) is type(emb) is OnnxEmbedder  # type: ignore[union-attr]
    torch = make_embedder("torch", precision="fp32", devices=CPU)
    assert isinstance(torch, SentenceTransformerEmbedder) and torch.spec.backend == "torch"  # type: ignore[union-attr]
    rebuilt = torch.spec.build(devices=CPU)  # type: ignore[union-attr]
    assert isinstance(rebuilt, SentenceTransformerEmbedder)
    assert (rebuilt.fp16, rebuilt.batch_size) == (False, 32)
    with pytest.raises(ConfigurationError, match="fp16 embeddings need a CUDA GPU"):
        EmbedderSpec(precision="fp16").build(devices=CPU)


def test_a_cpu_worker_runs_the_writers_backend_and_resolved_graph(tmp_path: Path) -> None:
    emb = make_embedder("auto", cache_dir=tmp_path, devices=CPU_BF16)
    assert isinstance(emb, OpenVinoEmbedder)
    emb.precision = "fp32"  # what warm_up resolved "auto" to (this CPU's OpenVINO plugin runs no bf16)
    worker = emb.spec.for_worker(emb, threads=2)  # type: ignore[attr-defined]
    assert (worker.backend, worker.precision, worker.threads) == ("openvino", "fp32", 2)
    assert worker.cache_dir == tmp_path.resolve()
    built = pickle.loads(pickle.dumps(worker)).build(devices=CPU)  # a worker without bf16: the same graph
    assert type(built) is OpenVinoEmbedder and built.requested_precision == "fp32"
    # Threads the writer asked for stay; an embedder not warmed up yet ships its precision as asked.
    onnx = make_embedder("onnx", threads=4, devices=CPU)
    assert onnx.spec.for_worker(onnx, threads=2).model_dump() == onnx.spec.model_dump()  # type: ignore[union-attr]
    onnx.precision = "int8-weights"  # the fallback "auto" resolves to without torch: workers run it too
    assert onnx.spec.for_worker(onnx).precision == "int8-weights"  # type: ignore[union-attr]


def test_a_gpu_worker_picks_for_its_own_device(tmp_path: Path) -> None:
    emb = make_embedder("auto", devices=CPU)  # a CPU writer: ONNX Runtime fp32
    emb.precision = "fp32"
    worker = emb.spec.for_worker(emb, gpu=True)  # type: ignore[union-attr]
    assert (worker.backend, worker.precision) == ("auto", "auto")
    on_gpu = worker.build(devices=GPU)
    assert isinstance(on_gpu, SentenceTransformerEmbedder) and (on_gpu.device, on_gpu.fp16) == (None, None)
    int8 = make_embedder("auto", precision="int8", devices=CPU)  # asked for: another vector space, kept
    assert int8.spec.for_worker(int8, gpu=True).build(devices=GPU).model_name == int8.model_name  # type: ignore[union-attr]


def test_a_worker_finds_a_model_directory_by_its_absolute_path(monkeypatch: pytest.MonkeyPatch) -> None:
    _, bundled = resolve_model(None)
    monkeypatch.chdir(bundled.parent)
    emb = make_embedder("onnx", bundled.name, devices=CPU)  # a relative path: the writer's working directory
    worker = emb.spec.for_worker(emb)  # type: ignore[union-attr]
    assert worker.model == str(bundled.resolve())
    assert make_embedder("onnx", devices=CPU).spec.for_worker().model is None  # type: ignore[union-attr]
