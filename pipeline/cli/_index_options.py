"""The ``--index``/``--backend``/``--precision``/``--model`` options shared by ingest, search and ask, and the one place
the CLI opens an index from them."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, get_args

from pipeline.embedding import Backend, Precision

from ._errors import UsageError


def add_index_options(p: argparse.ArgumentParser, *, help: str = "index directory") -> None:
    p.add_argument("--index", required=True, metavar="DIR", help=help)
    g = p.add_argument_group("embedding model")
    g.add_argument("--backend", choices=get_args(Backend), default="auto",
                   help="auto (default): torch on a CUDA GPU; else OpenVINO on a CPU with bf16 instructions "
                        "(AVX512-BF16, AMX); else ONNX Runtime")
    g.add_argument("--precision", choices=get_args(Precision), default="auto",
                   help="auto (default): the index's own for an existing index; for a new one fp16 on a CUDA GPU, "
                        "bf16 on a CPU with bf16 instructions (~2x fp32, cosine >= 0.9999: the model's own "
                        "vectors), else fp32. int8: ~1.7-1.9x faster embedding on CPUs with VNNI, vectors drift "
                        "(cosine ~0.99); the index records it, and its searches embed queries in int8 too. "
                        "int8-weights: the shipped weight-only int8 graph (no torch needed)")
    g.add_argument("--model", metavar="DIR",
                   help="local sentence-transformers model directory (default: the index's model, "
                        "all-MiniLM-L6-v2 for a new index)")


def require_existing_index(args: argparse.Namespace) -> None:
    """A usage error (exit 2) when ``--index`` holds no index, for commands that only read one."""
    from pipeline.index import Index

    if not (Path(args.index) / Index.DB_FILE).is_file():
        raise UsageError(f"no index in {args.index} (build one with `ragline ingest`)")


def open_index(args: argparse.Namespace, *, create: bool, chunking: Any = None, parse_options: Any = None) -> Any:
    """Open ``--index`` with the embedding options; ``$RAGLINE_CACHE_DIR`` is read here (CLI only)."""
    from pipeline.embedding import make_embedder
    from pipeline.index import Index

    cache_dir = os.environ.get("RAGLINE_CACHE_DIR") or None
    embedder = (make_embedder(args.backend, args.model, precision=args.precision, cache_dir=cache_dir)
                if args.model else None)
    return Index.open(
        args.index, embedder=embedder, chunking=chunking, parse_options=parse_options,
        backend=args.backend, precision=args.precision, cache_dir=cache_dir, create=create,
    )
