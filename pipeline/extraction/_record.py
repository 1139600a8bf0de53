"""One document's extraction as a line of ``ragline extract`` output: :class:`ExtractionRecord`.

:class:`~pipeline.extraction.ExtractionResult` carries the user's schema instance; a record carries the same
fields with ``data`` as JSON values, so it can be written, read back from the JSONL output on a rerun, and
handed to the CSV writer, the tally, the journal and the HTML report as one typed object. It is serialised
once, where a line is written (:meth:`ExtractionRecord.to_line`)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.document import ErrorRecord
from pipeline.extraction._field_evidence import FieldEvidence
from pipeline.extraction._models import ExtractionResult, ExtractionStatus
from pipeline.llm import Usage

# Error reasons of a model call that failed for the endpoint's sake (not the document's): a document with one
# is redone by the next run (``--retry-failed`` or not) and makes ``ragline extract`` exit 1.
TRANSIENT_REASONS = frozenset({"llm_connection", "llm_response", "llm"})


class ExtractionRecord(BaseModel):
    """What ``ragline extract`` writes for one document (one JSONL line), and reads back on a rerun.

    ``data`` holds the validated values, or is null when the schema could not validate (``partial_data`` then
    holds every field that was found); ``evidence`` is keyed by field name; ``errors`` says why anything is
    missing. A line written by an older ragline (keys this model does not know) keeps its extra keys."""

    model_config = ConfigDict(extra="allow")

    source: str
    status: ExtractionStatus
    data: dict[str, Any] | None = None
    partial_data: dict[str, Any] | None = None
    evidence: dict[str, FieldEvidence] = Field(default_factory=dict)
    errors: list[ErrorRecord] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    attempts: int = 0
    seconds: float = 0.0
    model: str = ""

    @field_validator("usage", mode="before")
    @classmethod
    def _no_usage(cls, value: Any) -> Any:
        return Usage() if value is None else value  # a failure line of a document that never reached the LLM

    @model_validator(mode="before")
    @classmethod
    def _evidence_named(cls, value: Any) -> Any:
        # A line does not repeat each evidence's field name (it is the key); the model needs it back.
        if isinstance(value, dict) and isinstance(value.get("evidence"), dict):
            value = dict(value)
            value["evidence"] = {name: {"field": name, **ev} if isinstance(ev, dict) else ev
                                 for name, ev in value["evidence"].items()}
        return value

    @classmethod
    def from_result(cls, result: ExtractionResult[Any]) -> ExtractionRecord:
        return cls.model_validate(result.to_record())

    @classmethod
    def failure(cls, source: str, errors: list[ErrorRecord]) -> ExtractionRecord:
        """The record of a document that never reached the LLM (missing, unreadable, unparseable)."""
        return cls(source=source, status=ExtractionStatus.FAILURE, errors=list(errors))

    def renamed(self, old: str, new: str) -> ExtractionRecord:
        """This record with the path ``old`` (where the document was read) said as ``new`` (how it was given),
        in ``source`` and in its errors."""
        errors = [e.model_copy(update={"source": new}) if e.source == old else e for e in self.errors]
        return self.model_copy(update={"source": new if self.source == old else self.source, "errors": errors})

    def values(self) -> dict[str, Any]:
        """The record's values: ``data`` when it validated, else ``partial_data`` (else {})."""
        return dict(self.data if self.data is not None else self.partial_data or {})

    @property
    def calls_failed(self) -> bool:
        """A model call failed for the endpoint's sake (connection, timeout, 5xx after retries)."""
        return any(e.reason in TRANSIENT_REASONS for e in self.errors)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the line (evidence without its repeated field name; no null ``partial_data``)."""
        out = self.model_dump(mode="json", exclude={"evidence": {"__all__": {"field"}}})
        out["seconds"] = round(self.seconds, 3)
        if out.get("partial_data") is None:
            out.pop("partial_data", None)
        return out

    def to_line(self) -> str:
        """The JSONL line (no newline)."""
        return json.dumps(self.to_json(), ensure_ascii=False)


__all__ = ["TRANSIENT_REASONS", "ExtractionRecord"]
