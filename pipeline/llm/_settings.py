"""Where the LLM stage gets its configuration: one :class:`LLMSettings` per boundary.

The CLI maps its options onto it (``pipeline/cli/_llm.py``), the evaluation harness and Python
callers build it directly or with :meth:`LLMSettings.from_env`, and :func:`pipeline.llm.open_llm`
turns it into a client. Every default of the stage is declared here once:

* :data:`DEFAULT_TIMEOUT` (300 s per request) is used for endpoints and the embedded server alike.
  It is what ``ragline extract/ask/eval`` always sent (the library defaults were 120 s for endpoints
  and 900 s for the embedded server, and the CLI overrode both), so every figure in docs/llm.md was
  measured with it. One value for both: a caller switching between an endpoint and the embedded
  model should not see requests time out at different points.
* The validation re-ask policy depends on the model, see :meth:`LLMSettings.validation_reasks`.

This module imports nothing of the client, so the client, the embedded server and the settings can
all use the defaults without import cycles.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from ..exceptions import ConfigurationError

StructuredMode = Literal["auto", "json_schema", "json_object", "prompt"]
"""How a JSON schema is sent to the server.

``json_schema``: OpenAI ``response_format={"type": "json_schema", "json_schema": {..., "strict": true}}``.
``json_object``: ``response_format={"type": "json_object", "schema": {...}}`` -- llama.cpp's server
constrains decoding with it (and answers HTTP 500 to ``json_schema``); the schema is also put in
the prompt, since other servers ignore the extra key. ``prompt``: schema in the prompt only, JSON
parsed from the reply. ``auto``: try them in that order, keep the first that the server accepts.
"""

BASE_URL_ENV = "RAGLINE_LLM_BASE_URL"
API_KEY_ENV = "RAGLINE_LLM_API_KEY"
MODEL_ENV = "RAGLINE_LLM_MODEL"

DEFAULT_TIMEOUT = 300.0
DEFAULT_ENDPOINT_MODEL = "default"  # what an endpoint is sent when no model is named (llama.cpp ignores it)
DEFAULT_LOCAL_MODEL = "qwen2.5-0.5b"
DEFAULT_N_CTX = 4096
ENDPOINT_CONCURRENCY = 4
EMBEDDED_CONCURRENCY = 1  # llama.cpp's server decodes one request at a time
ENDPOINT_STRUCTURED_MODE: StructuredMode = "auto"
# llama.cpp answers HTTP 500 to json_schema and enforces json_object + schema as a grammar.
EMBEDDED_STRUCTURED_MODE: StructuredMode = "json_object"
# Measured on invoice2data with the embedded 0.5B model: re-asks never fixed a value that broke a rule,
# sometimes spoiled good ones, and doubled the time (docs/llm.md); larger models are worth asking again.
EMBEDDED_VALIDATION_REASKS = 0
ENDPOINT_VALIDATION_REASKS = 2


class EmbeddedModelSettings(BaseModel):
    """The llama-cpp-python server started when no endpoint is configured."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(
        default=DEFAULT_LOCAL_MODEL, description="a name in pipeline.llm.LOCAL_MODELS or a path to a .gguf file"
    )
    threads: int | None = Field(default=None, ge=1, description="None: half the logical CPUs, at most 8")
    n_ctx: int = Field(default=DEFAULT_N_CTX, ge=1, description="context size in tokens")
    cache_dir: Path | None = Field(default=None, description="None: ~/.cache/ragline/models")


class LLMSettings(BaseModel):
    """Everything needed to get an LLM client: an OpenAI-compatible endpoint, or the embedded model.

    ``base_url`` None means the embedded model (:attr:`embedded`). ``max_concurrency`` and
    ``structured_mode`` None mean the client's default for that kind of server (4 and ``auto`` for an
    endpoint, 1 and ``json_object`` for the embedded one). The API key is a ``SecretStr``: it shows as
    ``**********`` in every repr and dump.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = Field(default=None, description="endpoint URL including the API prefix, e.g. .../v1")
    api_key: SecretStr | None = None
    model: str | None = Field(default=None, description=f"model sent to the endpoint (None: {DEFAULT_ENDPOINT_MODEL!r})")
    timeout: float = Field(default=DEFAULT_TIMEOUT, gt=0, description="seconds per request")
    max_concurrency: int | None = Field(default=None, ge=1, description="requests in flight")
    structured_mode: StructuredMode | None = None
    embedded: EmbeddedModelSettings = Field(default_factory=EmbeddedModelSettings)

    @field_validator("base_url", "model", "api_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # An exported-but-empty variable (RAGLINE_LLM_BASE_URL=) means "not configured", as before.
        return None if isinstance(value, str) and not value.strip() else value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> LLMSettings:
        """Settings from ``$RAGLINE_LLM_BASE_URL`` / ``$RAGLINE_LLM_API_KEY`` / ``$RAGLINE_LLM_MODEL``.

        The only place those variables are read. ``overrides`` that are not None win over them (the
        CLI passes its options here). Invalid values raise :class:`~pipeline.exceptions.ConfigurationError`.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "base_url": env.get(BASE_URL_ENV),
            "api_key": env.get(API_KEY_ENV),
            "model": env.get(MODEL_ENV),
        }
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls._validated(values)

    @classmethod
    def _validated(cls, values: dict[str, Any]) -> LLMSettings:
        """Like the constructor, with pydantic's ValidationError turned into ConfigurationError."""
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigurationError(f"invalid LLM settings: {problems}", stage="llm") from exc

    @property
    def uses_embedded_model(self) -> bool:
        """True when no endpoint is configured, so the embedded local model is started."""
        return self.base_url is None

    def validation_reasks(self, requested: int | None = None) -> int:
        """Re-asks for values that break a schema's validators: ``requested``, else the model's default.

        0 on the embedded model (it never fixed such a value when told), 2 on an endpoint.
        """
        if requested is not None:
            return requested
        return EMBEDDED_VALIDATION_REASKS if self.uses_embedded_model else ENDPOINT_VALIDATION_REASKS


__all__ = [
    "DEFAULT_LOCAL_MODEL",
    "DEFAULT_TIMEOUT",
    "EmbeddedModelSettings",
    "LLMSettings",
    "StructuredMode",
]
