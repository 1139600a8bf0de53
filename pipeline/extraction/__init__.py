"""Schema extraction: a document and a pydantic model in, ``ExtractionResult[T]`` out (typed data, and for
every field the printed quote, page and box that support it). Strategies: ``candidates`` (the default: values
found on the page by their labels and layout, the model asked only to choose) and ``free`` (the model reads the
document); e-invoice XML attachments (Factur-X/ZUGFeRD, UBL) are read first when present.

    from pipeline.extraction import Invoice, extract
    from pipeline.llm import LLMSettings, open_llm
    with open_llm(LLMSettings.from_env()) as client:
        result = extract("invoice.pdf", schema=Invoice, client=client)
"""

from __future__ import annotations

from pipeline.extraction._choose import CHOICE_SYSTEM
from pipeline.extraction._extract import StructuredExtractor, extract
from pipeline.extraction._field_evidence import FieldEvidence
from pipeline.extraction._models import (
    ExtractionOptions,
    ExtractionResult,
    ExtractionStatus,
    PendingExtraction,
)
from pipeline.extraction._record import TRANSIENT_REASONS, ExtractionRecord
from pipeline.extraction._schemas import Invoice, load_schema, model_from_json_schema

__all__ = [
    "CHOICE_SYSTEM",
    "TRANSIENT_REASONS",
    "ExtractionOptions",
    "ExtractionRecord",
    "ExtractionResult",
    "ExtractionStatus",
    "FieldEvidence",
    "Invoice",
    "PendingExtraction",
    "StructuredExtractor",
    "extract",
    "load_schema",
    "model_from_json_schema",
]
