"""The ``--index``/``--config``/``--backend``/``--precision``/``--model`` options shared by ingest, search, ask and
index, and the one place the CLI opens an index from them.

Precedence: a flag given on the command line > ``$RAGLINE_<SECTION>_<KEY>`` > the ``--config`` file (default
``$RAGLINE_CONFIG``) > the defaults. So flags default to None here and take their value from the configuration
when not given."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, get_args

from pipeline.cli._errors import UsageError
from pipeline.embedding import Backend, Precision


def add_index_options(p: argparse.ArgumentParser, *, help: str = "index directory") -> None:
    p.add_argument("--index", required=True, metavar="DIR", help=help)
    p.add_argument("--config", metavar="FILE.toml",
                   help="pipeline configuration (ragline.toml: its [index], [ingest], [search] and [qa] sections; default "
                        "$RAGLINE_CONFIG); $RAGLINE_<SECTION>_<KEY> variables win over it, flags given here over both")
    g = p.add_argument_group("embedding model")
    g.add_argument("--backend", choices=get_args(Backend), default=None,
                   help="auto (default, or [index] backend): torch on a CUDA GPU; else OpenVINO on a CPU with bf16 "
                        "instructions (AVX512-BF16, AMX); else ONNX Runtime")
    g.add_argument("--precision", choices=get_args(Precision), default=None,
                   help="auto (default, or [index] precision): the index's own for an existing index; for a new one fp16 on a CUDA GPU, "
                        "bf16 on a CPU with bf16 instructions (the model's own vectors, faster), else fp32. int8: "
                        "faster embedding on CPUs with VNNI, but the vectors drift from the model's, so the index "
                        "records int8 and its searches embed queries in int8 too. int8-weights: the shipped "
                        "weight-only int8 graph (no torch needed). docs/benchmarks.md has the measured speeds")
    g.add_argument("--model", metavar="DIR",
                   help="local sentence-transformers model directory (default: the index's model, "
                        "all-MiniLM-L6-v2 for a new index)")


def require_existing_index(args: argparse.Namespace) -> None:
    """A usage error (exit 2) when ``--index`` holds no index, for commands that only read one."""
    from pipeline.index import Index

    if not (Path(args.index) / Index.DB_FILE).is_file():
        raise UsageError(f"no index in {args.index} (build one with `ragline ingest`)")


def load_config(args: argparse.Namespace) -> Any:
    """The :class:`~pipeline.config.RaglineConfig` of ``--config`` (or ``$RAGLINE_CONFIG``) and the environment,
    read once per command."""
    from pipeline.config import RaglineConfig

    if getattr(args, "_config", None) is None:
        args._config = RaglineConfig.load(getattr(args, "config", None))
    return args._config


def given(args: argparse.Namespace, **names: str) -> dict[str, Any]:
    """``{field: value}`` of the flags given on the command line (``names``: field -> attribute of ``args``)."""
    return {field: getattr(args, attr) for field, attr in names.items() if getattr(args, attr, None) is not None}


def pipeline_config(args: argparse.Namespace, *, create: bool, chunking: Any = None,
                    parse_options: Any = None) -> Any:
    """The configuration with the index options given as flags over it (``$RAGLINE_CACHE_DIR`` is read here)."""
    base = load_config(args)
    update: dict[str, Any] = {"directory": Path(args.index), "create": create,
                              **given(args, backend="backend", precision="precision")}
    if args.model:
        update["model"] = Path(args.model)
    if os.environ.get("RAGLINE_CACHE_DIR"):
        update["cache_dir"] = Path(os.environ["RAGLINE_CACHE_DIR"])
    index = type(base.index).model_validate({**base.index.model_dump(), **update})
    sections: dict[str, Any] = {"index": index}
    if chunking is not None:
        sections["chunking"] = chunking
    if parse_options is not None:
        sections["parse"] = parse_options
    return base.model_copy(update=sections)


def open_index(args: argparse.Namespace, *, create: bool, chunking: Any = None, parse_options: Any = None) -> Any:
    """The :class:`~pipeline.Pipeline` over ``--index`` with the embedding options, its index opened."""
    from pipeline.compose import Pipeline

    rag = Pipeline(pipeline_config(args, create=create, chunking=chunking, parse_options=parse_options))
    rag.index.warm_up()
    return rag


def warn_unmatched_source(rag: Any, pattern: str | None, *, quiet: bool = False) -> bool:
    """Say on stderr when ``--source PATTERN`` matches no indexed document (a plain name is a glob that must
    match the whole path or file name: ``AAPL`` matches nothing, ``*AAPL*`` does). True when it matched none."""
    import fnmatch
    import sys

    if not pattern:
        return False
    with rag.index.reading():
        paths = [d.path for d in rag.index.store.documents_under("/")]
    if any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(os.path.basename(p), pattern) for p in paths):
        return False
    if not quiet:
        hint = f"; try '*{pattern}*'" if not any(ch in pattern for ch in "*?[") else ""
        print(f"ragline: warning: --source {pattern!r} matches none of the {len(paths)} indexed documents (a glob "
              f"over the path or the file name{hint})", file=sys.stderr)
    return True
