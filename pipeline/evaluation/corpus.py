"""Where the evaluation sets are (../shared/eval) and where the evaluation index is cached."""

from __future__ import annotations

import os
from pathlib import Path

EVAL_DIR_ENV = "RAGLINE_EVAL_DIR"
CACHE_DIR_ENV = "RAGLINE_CACHE_DIR"

INVOICES = Path("invoice2data/compare")
DOCUGAMI_DOCS = Path("docugami_sec10q/sec-10-q/data/v1/docs")
DOCUGAMI_QNA = Path("docugami_sec10q/derived/qna_with_gold_docs.csv")


def default_eval_dir() -> Path:
    """``$RAGLINE_EVAL_DIR``, else ``../shared/eval`` next to the checkout."""
    env = os.environ.get(EVAL_DIR_ENV)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[2]
    return here.parent / "shared" / "eval"


def cache_dir() -> str | None:
    """``$RAGLINE_CACHE_DIR`` (embedding model exports and the evaluation index), None when unset."""
    return os.environ.get(CACHE_DIR_ENV) or None


def default_docugami_index_dir(cache: str | None) -> Path:
    """The index of the docugami 10-Q filings shared by the retrieval and QA evaluations."""
    return Path(cache or ".ragline-cache") / "eval-retrieval-docugami"


__all__ = [
    "DOCUGAMI_DOCS",
    "DOCUGAMI_QNA",
    "INVOICES",
    "cache_dir",
    "default_docugami_index_dir",
    "default_eval_dir",
]
