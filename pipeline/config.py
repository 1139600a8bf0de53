"""One typed configuration for the whole pipeline, loadable from a TOML file and the environment.

    # ragline.toml
    [index]
    directory = "my-index"
    precision = "auto"

    [parse.pdf]
    max_pages = 500

    [search]
    rerank = "none"
    k = 8

    [llm]
    base_url = "http://127.0.0.1:8000/v1"

``RaglineConfig.load("ragline.toml")`` reads the file, then the environment: ``$RAGLINE_CONFIG`` names the
file when no path is given; ``$RAGLINE_<SECTION>_<KEY>`` sets a scalar of a section (``RAGLINE_INDEX_DIRECTORY``,
``RAGLINE_SEARCH_RERANK``, ``RAGLINE_INGEST_WORKERS``); the LLM endpoint keeps its documented variables
(``RAGLINE_LLM_BASE_URL`` / ``_API_KEY`` / ``_MODEL`` / ``_THREADS``), read by :meth:`LLMSettings.from_env`.
Environment wins over the file; explicit ``overrides`` win over both. :class:`pipeline.Pipeline` builds
everything from it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.chunking import ChunkingOptions
from pipeline.embedding import Backend, Precision
from pipeline.exceptions import ConfigurationError
from pipeline.extraction import ExtractionOptions
from pipeline.llm import LLMSettings
from pipeline.parsing import ParseOptions
from pipeline.protocols import SearchMode
from pipeline.qa import QAOptions
from pipeline.retrieval import DEFAULT_RERANKER

CONFIG_ENV = "RAGLINE_CONFIG"
ENV_PREFIX = "RAGLINE_"


class IndexConfig(BaseModel):
    """Where the index lives and how its vectors are made."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    directory: Path | None = Field(default=None, description="index directory (FAISS + SQLite in one folder)")
    create: bool = Field(default=True, description="create the index when the directory holds none")
    backend: Backend = Field(default="auto", description="embedding backend (auto: the fastest the machine has)")
    precision: Precision = Field(default="auto", description="embedding precision (auto: the index's own)")
    model: Path | None = Field(default=None, description="local sentence-transformers model directory")
    cache_dir: Path | None = Field(default=None, description="where built model graphs are cached")
    hnsw_threshold: int = Field(default=50_000, ge=1, description="vectors past which FAISS switches to HNSW")
    checkpoint_seconds: float = Field(default=60.0, ge=0, description="FAISS saved mid-write at most this often")


class IngestConfig(BaseModel):
    """Who parses, chunks and embeds during ingest (the writer is always this process)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: Literal["local", "ray"] = "local"
    workers: int | None = Field(default=None, ge=0, description="parse worker processes (None: one per two cores)")
    ray_address: str | None = Field(default=None, description="an existing Ray cluster (None: a local Ray)")


class SearchConfig(BaseModel):
    """Defaults of a search; every one can be given per call instead."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    k: int = Field(default=5, ge=1)
    mode: SearchMode = "hybrid"
    rerank: str = Field(default=DEFAULT_RERANKER, description="none, features, maxsim or llm")
    candidates: int = Field(default=50, ge=1, description="first-stage candidates the reranker sees")
    linking: bool = Field(default=True, description="link names, tickers and periods of a query to documents")


class RaglineConfig(BaseModel):
    """Every boundary's settings, each in the model that boundary already takes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parse: ParseOptions = Field(default_factory=ParseOptions)
    chunking: ChunkingOptions | None = Field(
        default=None, description="None: the options the index was built with (ChunkingOptions() for a new one)")
    index: IndexConfig = Field(default_factory=IndexConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    extraction: ExtractionOptions = Field(default_factory=ExtractionOptions)
    qa: QAOptions = Field(default_factory=QAOptions)

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> RaglineConfig:
        """The configuration from ``path`` (or ``$RAGLINE_CONFIG``; neither: the defaults), then the environment
        (``RAGLINE_<SECTION>_<KEY>``, and ``RAGLINE_LLM_*`` over ``[llm]``), then ``overrides`` (section -> dict of
        values). Unknown keys and bad values raise
        :class:`~pipeline.exceptions.ConfigurationError` naming them."""
        env = os.environ if environ is None else environ
        path = path if path is not None else env.get(CONFIG_ENV) or None
        data: dict[str, Any] = _read_toml(Path(path)) if path is not None else {}
        file_llm = data.pop("llm", {})
        for section, values in _env_sections(env).items():
            data.setdefault(section, {}).update(values)
        for section, values in overrides.items():
            data.setdefault(section, {}).update(values)
        llm = data.pop("llm", {})
        try:
            config = cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigurationError(f"invalid configuration{f' in {path}' if path else ''}: {_first(exc)}",
                                     source=str(path) if path else None, stage="config") from None
        # overrides > RAGLINE_LLM_* > the file's [llm] > defaults, as for every other section
        if not isinstance(file_llm, dict):
            raise ConfigurationError(f"[llm] in {path} is not a table", source=str(path), stage="config")
        settings = LLMSettings.from_env(env, defaults=file_llm, **llm)  # the one reader of RAGLINE_LLM_*
        return config.model_copy(update={"llm": settings})


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigurationError(f"cannot read configuration file {path}: {exc.strerror or exc}",
                                 source=str(path), stage="config") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}", source=str(path), stage="config") from None


_ENV_SECTIONS = ("index", "ingest", "search")  # scalar sections; llm has its own variables


def _env_sections(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for section in _ENV_SECTIONS:
        fields = (IndexConfig, IngestConfig, SearchConfig)[_ENV_SECTIONS.index(section)].model_fields
        for name in fields:
            value = env.get(f"{ENV_PREFIX}{section.upper()}_{name.upper()}")
            if value is not None and value != "":
                out.setdefault(section, {})[name] = value
    return out


def _first(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where}: {err.get('msg')}" if where else str(err.get("msg"))


__all__ = ["CONFIG_ENV", "IndexConfig", "IngestConfig", "RaglineConfig", "SearchConfig"]
