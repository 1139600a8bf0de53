"""The OpenVINO embedder: when it runs bf16 (fast, CPU flags and the plugin's answer faked), and on the real
model that its vectors stay in the model's own space (slow)."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pipeline.embedding._openvino as ov_embed
from pipeline.compose import Pipeline
from pipeline.embedding import DEFAULT_MODEL, OnnxEmbedder, OpenVinoEmbedder, bf16_is_fast, embedder_for_index
from pipeline.exceptions import ConfigurationError

TEXTS = [
    "Apple's total net sales decreased compared to the same quarter last year.",
    "Total net sales | $81,797 | $82,959 | (1)% | iPhone | 39,669 | 40,665 " * 10,  # a long table row
    "Revenue is recognized when control of the promised goods is transferred to customers.",
    "Research and development expense increased due to headcount-related costs.",
    "hi",
]


def test_bf16_is_fast_reads_the_cpu_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ov_embed, "cpu_flags", lambda: frozenset({"avx512f", "avx512_vnni"}))
    assert bf16_is_fast() is False
    monkeypatch.setattr(ov_embed, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    assert bf16_is_fast() is True
    monkeypatch.setattr(ov_embed, "cpu_flags", lambda: frozenset({"amx_tile", "amx_bf16"}))
    assert bf16_is_fast() is True


def test_precisions_and_vector_space() -> None:
    with pytest.raises(ConfigurationError, match="unknown OpenVINO precision 'int8'"):
        OpenVinoEmbedder(precision="int8")
    emb = OpenVinoEmbedder(precision="bf16")
    assert emb.model_name == emb.base_model_name == DEFAULT_MODEL  # bf16 vectors: the model's own space
    assert emb._session is None  # light constructor: nothing compiled yet


def test_ray_rebuilds_it_from_its_spec() -> None:
    from pipeline.embedding import Devices, make_embedder
    from pipeline.ingest.engines.ray import build_embedder, portable_embedder

    emb = make_embedder("openvino", precision="bf16", threads=2, batch_size=8, devices=Devices(cuda=False))
    copy = build_embedder(pickle.loads(pickle.dumps(portable_embedder(emb))))
    assert type(copy) is OpenVinoEmbedder
    assert (copy.requested_precision, copy.threads, copy.batch_size) == ("bf16", 2, 8)


@pytest.fixture(scope="module")
def fp32(ragline_cache_dir: Path) -> OnnxEmbedder:
    pytest.importorskip("openvino")
    emb = OnnxEmbedder(precision="fp32", cache_dir=ragline_cache_dir)
    emb.warm_up()
    return emb


@pytest.mark.slow
def test_bf16_vectors_stay_in_the_models_space(fp32: OnnxEmbedder, ragline_cache_dir: Path) -> None:
    if not bf16_is_fast():
        pytest.skip("this CPU has no bf16 instructions")
    emb = OpenVinoEmbedder(cache_dir=ragline_cache_dir)
    got = emb.embed(TEXTS)
    ref = fp32.embed(TEXTS)
    assert emb.precision == "bf16" and emb.model_file == fp32.model_file  # the same graph, another runtime
    cos = (got * ref).sum(axis=1)
    assert cos.min() >= 0.9999, cos  # measured: >= 0.99997 on 200 real chunks
    assert not np.allclose(got, ref, atol=1e-6)  # and really bf16: the check could fail
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert (got @ got.T).argmax(axis=1).tolist() == list(range(len(TEXTS)))  # texts stay apart
    one_by_one = np.vstack([emb.embed([t]) for t in TEXTS])  # input order kept across sorted batches
    assert ((one_by_one * got).sum(axis=1) >= 0.9999).all()
    assert emb.embed([]).shape == (0, 384)


@pytest.mark.slow
def test_fp32_matches_onnx_runtime(fp32: OnnxEmbedder, ragline_cache_dir: Path) -> None:
    emb = OpenVinoEmbedder(precision="fp32", cache_dir=ragline_cache_dir)
    np.testing.assert_allclose(emb.embed(TEXTS), fp32.embed(TEXTS), atol=1e-4)
    assert emb.precision == "fp32"


@pytest.mark.slow
def test_without_bf16_in_the_plugin(monkeypatch: pytest.MonkeyPatch, fp32: OnnxEmbedder,
                                    ragline_cache_dir: Path) -> None:
    monkeypatch.setattr(ov_embed, "_plugin_runs_bf16", lambda core: False)
    auto = OpenVinoEmbedder(cache_dir=ragline_cache_dir)
    auto.warm_up()
    assert auto.precision == "fp32"  # auto falls back, and says so in precision
    with pytest.raises(ConfigurationError, match="no bf16 instructions"):
        OpenVinoEmbedder(precision="bf16", cache_dir=ragline_cache_dir).warm_up()


@pytest.mark.slow
def test_threads_embed_concurrently(fp32: OnnxEmbedder, ragline_cache_dir: Path) -> None:
    emb = OpenVinoEmbedder(precision="fp32", cache_dir=ragline_cache_dir)
    want = emb.embed(TEXTS)
    results: list[Any] = [None] * 4

    def run(i: int) -> None:
        results[i] = emb.embed(TEXTS)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in results:
        np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.slow
def test_an_index_built_in_bf16_is_searched_at_any_precision(fp32: OnnxEmbedder, ragline_cache_dir: Path,
                                                             tmp_path: Path) -> None:

    if not bf16_is_fast():
        pytest.skip("this CPU has no bf16 instructions")
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, text in enumerate(TEXTS[:4]):
        (docs / f"d{i}.md").write_text(f"# Note {i}\n\n{text}\n", encoding="utf-8")
    with Pipeline.open(tmp_path / "ix", embedder=OpenVinoEmbedder(cache_dir=ragline_cache_dir)) as index:
        index.add(docs)
    assert embedder_for_index(DEFAULT_MODEL, None, backend="onnx", precision="fp32").model_name == DEFAULT_MODEL
    with Pipeline.open(tmp_path / "ix", embedder=fp32) as index:  # the same space: no mismatch error
        hits = index.search("When is revenue recognized?", k=1, mode="dense")
    assert "recognized" in hits[0].text


@pytest.mark.slow
def test_a_failure_on_openvinos_thread_reaches_the_caller(fp32: OnnxEmbedder, ragline_cache_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    emb = OpenVinoEmbedder(precision="fp32", cache_dir=ragline_cache_dir, max_batch_tokens=256)
    want = emb.embed(TEXTS)

    def broken_pool(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError("no room for the pooled vectors")

    monkeypatch.setattr(ov_embed, "pool", broken_pool)
    with pytest.raises(MemoryError, match="no room"):  # raised in a callback on OpenVINO's thread
        emb.embed(TEXTS)
    monkeypatch.undo()
    np.testing.assert_allclose(emb.embed(TEXTS), want, atol=1e-6)  # the queue is usable afterwards


_FORK_AFTER_A_THREAD_EMBEDDED = """
import gc, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
from pipeline.embedding import OpenVinoEmbedder

emb = OpenVinoEmbedder(precision="fp32", cache_dir=sys.argv[1])
pool = ThreadPoolExecutor(1)  # its thread outlives the call, as a server's worker threads do
pool.submit(emb.embed, ["a sentence to embed"]).result()
del emb  # what the thread holds is now all that is left of the compiled model (a test's embedder, gone)
gc.collect()
subprocess.run(["true"], preexec_fn=lambda: None, check=True)  # a fork that runs Python in the child, as Ray's does
print("forked")
"""


@pytest.mark.slow
def test_a_fork_after_another_thread_embedded_does_not_hang(fp32: OnnxEmbedder, ragline_cache_dir: Path) -> None:
    # The child of a fork clears the other threads' states; OpenVINO objects kept there (a threading.local
    # holding the last reference to a compiled model) ran their destructors in the child and waited forever
    # for executor threads it does not have: ray.init() in the server's tests hung so.
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _FORK_AFTER_A_THREAD_EMBEDDED, str(ragline_cache_dir)],
                          capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[3])
    assert done.returncode == 0 and "forked" in done.stdout, done.stderr[-2000:]
