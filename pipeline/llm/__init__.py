"""LLM stage: OpenAI-compatible client, embedded local model, structured extraction, cited QA.

    from pipeline.llm import Invoice, LLMSettings, ask, extract, open_llm

    # An endpoint from $RAGLINE_LLM_BASE_URL, or the embedded llama-cpp-python server on 127.0.0.1,
    # started once and stopped when the block ends.
    with open_llm(LLMSettings.from_env()) as client:
        result = extract("invoice.pdf", schema=Invoice, client=client)
        result.data, result.evidence["total"].quote, result.evidence["total"].page

Everything here is re-exported from private modules; import from ``pipeline.llm`` (or ``pipeline``).
"""

from __future__ import annotations

from ._client import (
    AsyncLLMClient,
    ChatCompletion,
    LLMClient,
    RetryPolicy,
    StructuredMode,
    Usage,
    parse_json_reply,
    strict_json_schema,
)
from ._extract import (
    ExtractionOptions,
    ExtractionResult,
    ExtractionStatus,
    FieldEvidence,
    StructuredExtractor,
    extract,
)
from ._local import (
    DEFAULT_LOCAL_MODEL,
    LOCAL_MODELS,
    LocalLLMServer,
    LocalModelSpec,
    default_cache_dir,
    default_local_server,
    ensure_model,
)
from ._open import open_llm
from ._qa import Answer, Citation, QAOptions, QuestionAnswerer, ask
from ._schemas import Invoice, load_schema, model_from_json_schema
from ._settings import DEFAULT_TIMEOUT, EmbeddedModelSettings, LLMSettings

__all__ = [
    "DEFAULT_TIMEOUT",
    "EmbeddedModelSettings",
    "LLMSettings",
    "open_llm",
    "Answer",
    "AsyncLLMClient",
    "ChatCompletion",
    "Citation",
    "DEFAULT_LOCAL_MODEL",
    "ExtractionOptions",
    "ExtractionResult",
    "ExtractionStatus",
    "FieldEvidence",
    "Invoice",
    "LLMClient",
    "LOCAL_MODELS",
    "LocalLLMServer",
    "LocalModelSpec",
    "QAOptions",
    "QuestionAnswerer",
    "RetryPolicy",
    "StructuredExtractor",
    "StructuredMode",
    "Usage",
    "ask",
    "default_cache_dir",
    "default_local_server",
    "ensure_model",
    "extract",
    "load_schema",
    "model_from_json_schema",
    "parse_json_reply",
    "strict_json_schema",
]
