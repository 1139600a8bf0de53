"""LLM access: the OpenAI-compatible client (chat completions, JSON-schema output, retries), its settings,
the embedded local model (llama-cpp-python's server on 127.0.0.1, for the lifetime of a ``with`` block), and
the ask-until-valid loop that extraction and QA share. Schema extraction is :mod:`pipeline.extraction`, question
answering :mod:`pipeline.qa`.

    from pipeline.llm import LLMSettings, open_llm

    # An endpoint from $RAGLINE_LLM_BASE_URL, or the embedded llama-cpp-python server on 127.0.0.1,
    # started once and stopped when the block ends.
    with open_llm(LLMSettings.from_env()) as client:
        reply = client.chat([{"role": "user", "content": "Say hi"}])
"""

from __future__ import annotations

from pipeline.llm._client import (
    AsyncLLMClient,
    ChatCompletion,
    LLMClient,
    RetryPolicy,
    StructuredMode,
    Usage,
    parse_json_reply,
    strict_json_schema,
)
from pipeline.llm._client_core import BodyForm, chat_body, completion_from_body
from pipeline.llm._local import (
    DEFAULT_LOCAL_MODEL,
    LOCAL_MODELS,
    LocalLLMServer,
    LocalModelSpec,
    default_cache_dir,
    ensure_model,
)
from pipeline.llm._open import LLMUser, open_llm
from pipeline.llm._reask import AskLoop, AskOutcome, AskSettings, PendingAsk, Rejection, ask_until_valid
from pipeline.llm._settings import (
    DEFAULT_ENDPOINT_MODEL,
    DEFAULT_TIMEOUT,
    EMBEDDED_CONCURRENCY,
    EMBEDDED_STRUCTURED_MODE,
    ENDPOINT_CONCURRENCY,
    ENDPOINT_STRUCTURED_MODE,
    EmbeddedModelSettings,
    LLMSettings,
    busy_cores,
    default_threads,
    usable_cores,
)

__all__ = [
    "DEFAULT_ENDPOINT_MODEL",
    "DEFAULT_LOCAL_MODEL",
    "DEFAULT_TIMEOUT",
    "EMBEDDED_CONCURRENCY",
    "EMBEDDED_STRUCTURED_MODE",
    "ENDPOINT_CONCURRENCY",
    "ENDPOINT_STRUCTURED_MODE",
    "LOCAL_MODELS",
    "AskLoop",
    "AskOutcome",
    "AskSettings",
    "AsyncLLMClient",
    "BodyForm",
    "ChatCompletion",
    "EmbeddedModelSettings",
    "LLMClient",
    "LLMSettings",
    "LLMUser",
    "LocalLLMServer",
    "LocalModelSpec",
    "PendingAsk",
    "Rejection",
    "RetryPolicy",
    "StructuredMode",
    "Usage",
    "ask_until_valid",
    "busy_cores",
    "chat_body",
    "completion_from_body",
    "default_cache_dir",
    "default_threads",
    "ensure_model",
    "open_llm",
    "parse_json_reply",
    "strict_json_schema",
    "usable_cores",
]
