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
* The embedded server's threads (:func:`default_threads`): every usable core that other processes leave
  free, at most 8 and at least 1. Measured on the 2-core VM (docs/llm.md): idle, 1 thread read the
  prompt at 43 tokens/s and generated 13 tokens/s, 2 threads 94 and 28 -- the former default, half the
  logical CPUs, left one core idle. But llama.cpp's threads spin-wait for each other: at load average
  6-10 (other engineers' LLM servers), 2 threads generated 0.9-1.1 tokens/s and a request took 2.5x as
  long as on 1 thread. So the cores kept busy by others (the 1-minute load average, rounded down) are
  left out. ``threads`` (``--llm-threads``, ``$RAGLINE_LLM_THREADS``) fixes the count.

This module imports nothing of the client, so the client, the embedded server and the settings can
all use the defaults without import cycles.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from pipeline.exceptions import ConfigurationError

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
THREADS_ENV = "RAGLINE_LLM_THREADS"

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
MAX_DEFAULT_THREADS = 8  # beyond this a 0.5-1.5B model gains little (memory-bound); not measured here


def usable_cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer than cpu_count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def busy_cores() -> float:
    """The 1-minute load average: how many cores other work keeps busy (0 where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def default_threads() -> int:
    """The embedded server's default threads: the usable cores others leave free (load average rounded
    down), at least 1, at most 8. All cores when the LLM is the only busy work; fewer when it is not,
    because llama.cpp's spinning threads slow each other down on a shared core (module docstring)."""
    free = usable_cores() - int(busy_cores())
    return max(1, min(MAX_DEFAULT_THREADS, free))


class EmbeddedModelSettings(BaseModel):
    """The llama-cpp-python server started when no endpoint is configured."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(
        default=DEFAULT_LOCAL_MODEL, description="a name in pipeline.llm.LOCAL_MODELS or a path to a .gguf file"
    )
    threads: int | None = Field(
        default=None, ge=1, description="None: the usable cores other processes leave free, 1 to 8 (default_threads)"
    )
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
    def from_env(cls, environ: Mapping[str, str] | None = None, *, defaults: Mapping[str, Any] | None = None,
                 **overrides: Any) -> LLMSettings:
        """Settings from ``$RAGLINE_LLM_BASE_URL`` / ``$RAGLINE_LLM_API_KEY`` / ``$RAGLINE_LLM_MODEL`` (and
        ``$RAGLINE_LLM_THREADS`` for the embedded server).

        The only place those variables are read. ``overrides`` that are not None win over them (the CLI passes
        its options here); the variables that are set win over ``defaults`` (a ``ragline.toml``'s ``[llm]``
        section), as every section's variables win over the file. Invalid values raise
        :class:`~pipeline.exceptions.ConfigurationError`.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = dict(defaults or {})
        for key, var in (("base_url", BASE_URL_ENV), ("api_key", API_KEY_ENV), ("model", MODEL_ENV)):
            value = env.get(var)
            if value not in (None, "") or key not in values:
                values[key] = value
        values.update({name: value for name, value in overrides.items() if value is not None})
        threads = (env.get(THREADS_ENV) or "").strip()
        if threads:  # $RAGLINE_LLM_THREADS: the embedded server's threads, unless given explicitly
            embedded = values.get("embedded")
            if isinstance(embedded, EmbeddedModelSettings):
                embedded = embedded.model_dump(exclude_unset=True)
            embedded = dict(embedded or {})
            given = overrides.get("embedded")
            if isinstance(given, EmbeddedModelSettings):
                given = given.model_dump(exclude_unset=True)
            if (given or {}).get("threads") is None:
                embedded["threads"] = threads
            values["embedded"] = embedded
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
    "busy_cores",
    "default_threads",
    "usable_cores",
]
