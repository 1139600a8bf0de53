"""Batching and pooling for the ONNX embedder: length-sorted batches under a padded-token budget, and
sentence-transformers' pooling (mean / cls / max) with L2 normalisation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def length_order(lengths: list[int]) -> list[int]:
    """Indices that sort inputs longest first, so each batch pads to a similar length."""
    return sorted(range(len(lengths)), key=lambda i: -lengths[i])


def batches(order: list[int], lengths: list[int], batch_size: int, max_tokens: int) -> list[list[int]]:
    """Cut ``order`` (longest first) into batches of at most ``batch_size`` texts and ``max_tokens``
    padded tokens (at least one text per batch)."""
    out: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        width = lengths[cur[0]] if cur else lengths[i]
        if cur and (len(cur) >= batch_size or (len(cur) + 1) * width > max_tokens):
            out.append(cur)
            cur = []
        cur.append(i)
    if cur:
        out.append(cur)
    return out


def padded_batches(encodings: Sequence[Any], batch_size: int, max_tokens: int
                   ) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
    """``(indices, feed)`` per batch of tokenizer ``encodings``, longest first: input ids, attention mask and
    token types padded to the batch's longest text (``batches`` decides which texts share a batch)."""
    import numpy as np

    lengths = [len(e.ids) for e in encodings]
    for idx in batches(length_order(lengths), lengths, batch_size, max_tokens):
        width = lengths[idx[0]]  # longest first
        ids = np.zeros((len(idx), width), dtype=np.int64)
        mask = np.zeros((len(idx), width), dtype=np.int64)
        types = np.zeros((len(idx), width), dtype=np.int64)
        for row, i in enumerate(idx):
            e = encodings[i]
            n = len(e.ids)
            ids[row, :n] = e.ids
            mask[row, :n] = 1
            types[row, :n] = e.type_ids
        yield idx, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str, normalize: bool) -> np.ndarray:
    """One vector per text from the model's hidden states (padding masked out), unit length."""
    import numpy as np

    m = mask[..., None].astype(np.float32)
    if mode == "cls":
        vec = hidden[:, 0]
    elif mode == "max":
        vec = np.where(m > 0, hidden, -1e9).max(axis=1)
    else:
        vec = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
    vec = vec.astype(np.float32)
    # Indexes score by inner product, so vectors are always unit length (a no-op for models with Normalize).
    norms = np.linalg.norm(vec, axis=1, keepdims=True)
    return vec / np.clip(norms, 1e-12, None)


__all__ = ["batches", "length_order", "padded_batches", "pool"]
