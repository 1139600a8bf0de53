"""LLM stage: OpenAI-compatible client, embedded local model, structured extraction, cited QA.

    from pipeline.llm import LLMClient, LocalLLMServer, extract, ask

    with LocalLLMServer() as server:                     # llama-cpp-python on 127.0.0.1
        client = server.client()
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
from ._evidence import QuoteMatch, SourceText
from ._extract import (
    ExtractionOptions,
    ExtractionResult,
    ExtractionStatus,
    FieldEvidence,
    StructuredExtractor,
    evidence_schema,
    extract,
    field_kind,
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
from ._normalize import (
    LocaleHints,
    find_amounts,
    find_dates,
    normalize_text,
    parse_amount,
    parse_currency,
    parse_date,
    parse_number,
    parse_percentage,
)
from ._qa import Answer, Citation, QAOptions, QuestionAnswerer, ask
from ._schemas import Invoice, load_schema, model_from_json_schema

__all__ = [
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
    "LocaleHints",
    "QAOptions",
    "QuestionAnswerer",
    "QuoteMatch",
    "RetryPolicy",
    "SourceText",
    "StructuredExtractor",
    "StructuredMode",
    "Usage",
    "ask",
    "default_cache_dir",
    "default_local_server",
    "ensure_model",
    "evidence_schema",
    "extract",
    "field_kind",
    "load_schema",
    "model_from_json_schema",
    "find_amounts",
    "find_dates",
    "normalize_text",
    "parse_amount",
    "parse_currency",
    "parse_date",
    "parse_json_reply",
    "parse_number",
    "parse_percentage",
    "strict_json_schema",
]
