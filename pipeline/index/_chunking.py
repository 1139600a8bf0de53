"""Chunk budgets counted in the embedding model's tokens (used by :class:`pipeline.index.Index`)."""

from __future__ import annotations

from pathlib import Path

from pipeline.chunking import ChunkingOptions
from pipeline.embedding import DEFAULT_MODEL, DEFAULT_TOKENIZER, split_vector_space
from pipeline.protocols import Embedder


def chunking_for(embedder: Embedder, options: ChunkingOptions) -> ChunkingOptions:
    """``options`` with the tokenizer of ``embedder``'s model, so chunk budgets count the tokens it sees.

    The default model keeps the name ``all-MiniLM-L6-v2`` (existing indexes keep their chunking
    fingerprint); another local model is named by its directory, which holds its ``tokenizer.json``. An
    embedder without a model directory (a test double) leaves ``options`` as they are.
    """
    if split_vector_space(embedder.model_name)[0] == DEFAULT_MODEL:
        tokenizer = DEFAULT_TOKENIZER
    else:
        model_dir = getattr(embedder, "model_dir", None)
        if model_dir is None or not (Path(model_dir) / "tokenizer.json").is_file():
            return options
        tokenizer = str(Path(model_dir).resolve())
    return options if options.tokenizer == tokenizer else options.model_copy(update={"tokenizer": tokenizer})


__all__ = ["chunking_for"]
