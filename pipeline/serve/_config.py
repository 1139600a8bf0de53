"""The server's own settings: what it serves, to whom, and within which limits. The pipeline's settings stay
in :class:`~pipeline.config.RaglineConfig`; this object holds only what a server adds."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

API_KEY_ENV = "RAGLINE_SERVER_API_KEY"


def _cores() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


class ServeConfig(BaseModel):
    """What ``ragline serve`` serves and its limits (every limit answers with a typed JSON error)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    indexes: dict[str, Path] = Field(default_factory=dict, description="index name -> directory (model 'ragline:NAME')")
    schemas: dict[str, str] = Field(
        default_factory=dict, description="schema name -> spec (module:Model, file.py:Model, schema.json)")
    host: str = Field(default="127.0.0.1", description="bind address (loopback unless told)")
    port: int = Field(default=8080, ge=0, le=65535)
    api_key: SecretStr | None = Field(default=None, description="bearer token every request must carry (None: open)")
    allowed_roots: list[Path] = Field(
        default_factory=list, description="folders server-side paths may name (none: server-side paths refused)")
    state_dir: Path = Field(default=Path(".ragline-serve"), description="jobs database, job outputs")
    workers: int = Field(default_factory=_cores, ge=1, description="requests worked on at once (threads)")
    queue_size: int = Field(default=64, ge=0, description="requests waiting for a worker before 429")
    max_upload_bytes: int = Field(default=50 * 2**20, ge=1)
    max_pages: int | None = Field(default=500, ge=1, description="refuse uploaded PDFs with more pages")
    max_schema_bytes: int = Field(default=64 * 1024, ge=1)
    max_schema_depth: int = Field(default=8, ge=1)
    request_timeout: float = Field(default=300.0, gt=0, description="seconds before a request answers 504")

    def key(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key is not None else None


__all__ = ["API_KEY_ENV", "ServeConfig"]
