"""Test doubles that satisfy the pipeline's protocols without loading models.

:class:`HashingEmbedder` maps words to buckets (feature hashing), so texts sharing words get similar
vectors: enough to exercise indexing and retrieval logic fast and deterministically, in-process or in a
subprocess. It is not a semantic model; never build a real index with it.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

_WORD = re.compile(r"\w+")


class HashingEmbedder:
    """Deterministic bag-of-words embedder; counts calls and texts so tests can assert on them."""

    backend = "hashing"

    def __init__(self, dimension: int = 256, model_name: str = "test/hashing", delay: float = 0.0) -> None:
        self.model_name = model_name
        self.dimension = dimension
        self.delay = delay
        self.calls = 0
        self.texts_embedded = 0

    def warm_up(self) -> None:
        return None

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        self.calls += 1
        self.texts_embedded += len(texts)
        if self.delay:
            time.sleep(self.delay)  # lets a test kill a process while it is mid-ingest
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dimension] += 1.0 if (h >> 32) & 1 else -1.0
            out[row, 0] += 1e-3  # no zero vectors for empty texts
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


__all__ = ["HashingEmbedder"]
