"""The extraction stage's data: options, the result (typed data + per-field evidence), and a document's
extraction up to its model calls; with the role a strategy needs from the extractor (:class:`ExtractorCore`)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.document import Document, ErrorRecord
from pipeline.extraction._choose import CandidateOptions
from pipeline.extraction._field_evidence import FieldEvidence
from pipeline.extraction._meaning import FieldMeaning
from pipeline.extraction._reply_schema import FieldKind
from pipeline.llm import AskOutcome, LLMClient, PendingAsk, Usage

T = TypeVar("T", bound=BaseModel)


class ExtractionStatus(str, enum.Enum):
    SUCCESS = "success"  # validated, and every value present is supported by a quote found in the source
    # Some values unsupported, or some fields left out: a required field that could not be grounded, a
    # schema rule that still fails, a model call that failed. ``data`` then holds the validated record, or
    # is null when the schema cannot validate without the missing fields and ``partial_data`` holds the rest.
    PARTIAL = "partial"
    FAILURE = "failure"  # nothing extracted: every model call failed, or no value validated


class ExtractionOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    strategy: Literal["candidates", "free"] = Field(
        default="candidates",
        description="candidates: typed fields are chosen among the document's own amounts, dates and "
        "identifiers, ranked by their labels, position and arithmetic; rules settle what they can and the "
        "model picks among the few best ids of the rest; every value carries a verified quote by construction "
        "(docs/llm.md). free: the model writes every value and quote, verified afterwards",
    )
    candidates: CandidateOptions = Field(default_factory=CandidateOptions)
    max_attempts: int = Field(default=3, ge=1, description="LLM calls per document, re-asks included")
    max_validation_reasks: int = Field(
        default=2, ge=0,
        description="of those, re-asks for values that break the schema's validators (0: set such fields to "
        "null at once, see null_invalid_fields). Small models rarely fix a value when told (the embedded 0.5B "
        "model never did on invoice2data) and sometimes change good ones instead",
    )
    max_context_tokens: int = Field(
        default=2400, ge=200, description="budget for document text in the prompt (the rest of n_ctx is schema+output)"
    )
    chars_per_token: float = Field(default=3.2, gt=0, description="conservative estimate used for budgeting")
    max_output_tokens: int = Field(default=768, ge=32)
    passage_chars: int = Field(default=900, ge=100, description="size of the passages a long document is cut into")
    min_quote_score: float = Field(default=0.85, ge=0, le=1, description="fuzzy-match threshold for a quote")
    null_invalid_fields: bool = Field(
        default=True,
        description="after the last attempt, set optional fields that still break the schema's validators to "
        "null (flagged in their evidence, status partial) instead of failing the whole document",
    )
    temperature: float = 0.0
    embedding_fallback: bool = Field(
        default=True,
        description="a field whose name and description hold no word of the concept lexicon is matched to a "
        "role by the bundled embedding model (loaded once, only for such schemas); False: such fields keep no "
        "role and are labelled by their own words",
    )


class ExtractionResult(BaseModel, Generic[T]):
    source: str
    status: ExtractionStatus
    data: T | None = None
    partial_data: dict[str, Any] | None = Field(
        default=None,
        description="when ``data`` is null because the schema does not validate without some fields (a required "
        "field not found, a rule over the record): every field that was found, JSON-ready, the others null; "
        "``errors`` names each field left out and why",
    )
    evidence: dict[str, FieldEvidence] = Field(default_factory=dict)
    errors: list[ErrorRecord] = Field(default_factory=list, description="one per failed attempt or failure")
    usage: Usage = Field(default_factory=Usage)
    attempts: int = 0
    seconds: float = 0.0
    model: str = ""

    @model_validator(mode="after")
    def _failure_says_why(self) -> ExtractionResult[T]:
        # "failure" with no error record is what users cannot act on: it must never reach them.
        if self.status is not ExtractionStatus.SUCCESS and self.data is None and not self.errors:
            self.errors.append(ErrorRecord(
                error="ExtractionError", reason="no_record", stage="extract", source=self.source,
                message="no field could be extracted and validated (no cause was recorded: please report this)"))
        return self

    def values(self) -> dict[str, Any]:
        """The record's values, JSON-ready: ``data`` when it validated, else ``partial_data`` (else {})."""
        if self.data is not None:
            return self.data.model_dump(mode="json", by_alias=True, serialize_as_any=True)
        return dict(self.partial_data or {})

    def to_record(self) -> dict[str, Any]:
        """One JSON-ready line for ``ragline extract`` output."""
        # serialize_as_any: data given as a subclass of the schema keeps its own fields.
        record = self.model_dump(mode="json", exclude={"evidence": {"__all__": {"field"}}}, serialize_as_any=True)
        record["seconds"] = round(self.seconds, 3)
        if record.get("partial_data") is None:  # only a record the schema could not validate has it
            record.pop("partial_data", None)
        return record


class InvalidValues(BaseModel):
    """A reply that parsed but failed the schema's validation: what is needed to salvage its valid fields."""

    values: dict[str, Any]
    evidence: dict[str, FieldEvidence]
    errors: list[Any]


Finish = Callable[[dict[str, AskOutcome[Any]], str, bool], "ExtractionResult[Any]"]


@dataclass
class PendingExtraction(Generic[T]):
    """A document's extraction up to its model calls (:meth:`StructuredExtractor.prepare`).

    ``asks`` are the loops to run (none when rules decided everything); ``finish(outcomes, model,
    raise_on_failure)`` turns their outcomes, keyed by ask name, into the result. ``ragline extract``
    runs the asks at once; ``ragline batch`` sends them as Batch API lines and finishes on the replies."""

    source: str
    asks: list[PendingAsk[Any]]
    finish: Finish
    decided: dict[str, Any] = field(default_factory=dict)  # fields settled without a model, JSON-ready values


class ExtractorCore(Protocol):
    """What a strategy module (``_candidate_extract``) uses of :class:`~pipeline.extraction.StructuredExtractor`,
    so the strategy depends on this role and not on the class that runs it."""

    schema: type[BaseModel]
    client: LLMClient | None
    options: ExtractionOptions
    kinds: dict[str, FieldKind]
    printed_text: set[str]

    @property
    def meanings(self) -> dict[str, FieldMeaning]: ...

    def with_schema(self, schema: type[BaseModel], options: ExtractionOptions) -> ExtractorCore:
        """An extractor of the same client for another schema and options (the free fields' sub-schema)."""
        ...

    def prepare(self, document: Document) -> PendingExtraction[Any]: ...

    def salvage(self, document: Document, invalid: InvalidValues) -> ExtractionResult[Any] | None: ...

    def make_result(self, document: Document, data: Any, evidence: dict[str, FieldEvidence]) -> ExtractionResult[Any]: ...


__all__ = ["ExtractionOptions", "ExtractionResult", "ExtractionStatus", "ExtractorCore", "Finish", "InvalidValues",
           "PendingExtraction"]
