"""Embedders: model resolution and pooling (fast), backend equivalence on the real model (slow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.embedding import (
    DEFAULT_MODEL,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    make_embedder,
    resolve_model,
)
from pipeline.embedding._batching import batches, length_order, pool
from pipeline.exceptions import ConfigurationError
from pipeline.protocols import Embedder

SENTENCES = [
    "Apple's total net sales decreased compared to the same quarter last year.",
    "The company repurchased $19.0 billion of its common stock during the quarter. " * 12,  # > 256 tokens
    "Revenue is recognized when control of the promised goods is transferred to customers.",
    "hi",
    "Der Umsatz stieg im dritten Quartal um 12 Prozent.",
    "",
]


def test_default_model_resolves_offline() -> None:
    name, path = resolve_model(None)
    assert name == DEFAULT_MODEL
    assert (path / "tokenizer.json").is_file()
    assert resolve_model("all-MiniLM-L6-v2") == (name, path)


def test_unknown_model_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="local sentence-transformers model directory"):
        resolve_model("sentence-transformers/some-hub-only-model")
    with pytest.raises(ConfigurationError, match="does not look like"):
        OnnxEmbedder(tmp_path)


def test_constructors_are_light_and_know_the_dimension() -> None:
    # No model is loaded before warm_up(); the dimension comes from the pooling config.
    for emb in (OnnxEmbedder(), SentenceTransformerEmbedder(), make_embedder("onnx"), make_embedder("torch")):
        assert isinstance(emb, Embedder)
        assert emb.dimension == 384
        assert emb.model_name == DEFAULT_MODEL
    assert OnnxEmbedder()._session is None
    with pytest.raises(ConfigurationError):
        make_embedder("tensorflow")  # type: ignore[arg-type]


def test_auto_backend_on_cpu_is_onnx() -> None:
    from pipeline.embedding import Devices

    assert isinstance(make_embedder("auto", devices=Devices(cuda=False)), OnnxEmbedder)
    assert isinstance(make_embedder("auto", devices=Devices(cuda=True)), SentenceTransformerEmbedder)


def test_mean_pooling_ignores_padding_and_normalises() -> None:
    hidden = np.array([[[1.0, 0.0], [3.0, 0.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    out = pool(hidden, mask, "mean", True)
    np.testing.assert_allclose(out, [[1.0, 0.0]], atol=1e-6)  # mean of the two real tokens is (2, 0)
    cls = pool(hidden, mask, "cls", True)
    np.testing.assert_allclose(cls, [[1.0, 0.0]], atol=1e-6)


def test_length_order_is_longest_first() -> None:
    assert length_order([3, 10, 1, 10]) == [1, 3, 0, 2]


def test_batches_respect_count_and_token_budget() -> None:
    lengths = [256, 256, 256, 100, 10, 10, 10, 10, 10]
    order = length_order(lengths)
    got = batches(order, lengths, batch_size=4, max_tokens=512)
    assert got == [[0, 1], [2, 3], [4, 5, 6, 7], [8]]  # 2 x 256 <= 512; then count limit 4
    assert sorted(i for b in got for i in b) == list(range(len(lengths)))
    assert batches([0], [5000], 32, 512) == [[0]]  # an over-budget text still gets a batch


@pytest.fixture(scope="module")
def int8() -> OnnxEmbedder:
    # The shipped weight-only int8 graph: loads without building anything.
    emb = OnnxEmbedder(precision="int8-weights", batch_size=2)
    emb.warm_up()
    assert emb.precision == "int8-weights"
    return emb


@pytest.mark.slow
def test_onnx_batches_return_input_order(int8: OnnxEmbedder) -> None:
    # batch_size=2 with length sorting reorders inputs across batches; results must come back in order.
    batched = int8.embed(SENTENCES)
    one_by_one = np.vstack([int8.embed([s]) for s in SENTENCES])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert int8.embed([]).shape == (0, 384)


@pytest.mark.slow
def test_backends_agree_on_default_model(int8: OnnxEmbedder, ragline_cache_dir: Path) -> None:
    torch_emb = SentenceTransformerEmbedder()
    fp32 = OnnxEmbedder(cache_dir=ragline_cache_dir)  # auto: fused fp32 graph built once from the torch model
    ref = torch_emb.embed(SENTENCES)
    got32 = fp32.embed(SENTENCES)
    got8 = int8.embed(SENTENCES)
    assert fp32.model_file is not None and fp32.model_file.is_relative_to(ragline_cache_dir)
    assert fp32.precision == "fp32" and fp32.model_file.name.startswith("model.fp32.")
    assert ref.shape == got32.shape == got8.shape == (len(SENTENCES), 384)
    cos32 = (ref * got32).sum(axis=1)
    cos8 = (ref * got8).sum(axis=1)
    assert cos32.min() >= 0.999, cos32
    assert cos8.min() >= 0.99, cos8
    # Different sentences stay different (a broken pooling would map everything to one vector).
    assert (ref[0] @ ref[4]) < 0.9
