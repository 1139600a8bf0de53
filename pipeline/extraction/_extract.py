"""Schema-driven extraction with per-field evidence.

Given a pydantic model, the LLM is asked -- for each field -- for the value *as printed* and a
verbatim quote, with its output constrained to a JSON schema derived from the model
(:mod:`._reply_schema`). Then, in code rather than in the model:

1. typed values (amounts, dates, percentages, currencies) are parsed from the printed value and
   its quote with the document's own conventions (:mod:`._field_values`);
2. the quote is looked up in the source and located to a page and box, or replaced by the
   document's own line printing the value (:mod:`._field_evidence`);
3. the result is validated by the user's model; a validation error is sent back to the model
   (re-ask, :func:`pipeline.llm.ask_until_valid`) up to ``max_attempts`` times, then fields still breaking the rules are
   nulled (``null_invalid_fields``) or :class:`~pipeline.exceptions.ExtractionError` is raised.

Long documents are cut into passages and the ones that best match the fields' names and
descriptions are packed into the context budget (:mod:`._context`).
"""

from __future__ import annotations

import contextlib
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from pipeline.document import Document, Element
from pipeline.evidence import SourceText, render_element
from pipeline.exceptions import ConfigurationError, ExtractionError
from pipeline.extraction._candidate_extract import CandidateExtraction
from pipeline.extraction._context import select_context
from pipeline.extraction._field_evidence import EvidenceSources, FieldEvidence, read_field, unpack_entry
from pipeline.extraction._meaning import TYPED_KINDS, FieldMeaning, RoleGlosses, TextEmbedder, understand
from pipeline.extraction._models import (
    ExtractionOptions,
    ExtractionResult,
    ExtractionStatus,
    InvalidValues,
    PendingExtraction,
)
from pipeline.extraction._reply_schema import FieldKind, describe_field, evidence_schema, field_kind
from pipeline.llm import (
    AskOutcome,
    AskSettings,
    ChatCompletion,
    LLMClient,
    LLMUser,
    PendingAsk,
    Rejection,
    ask_until_valid,
    parse_json_reply,
)
from pipeline.llm.prompts import EXTRACTION_SYSTEM, document_block
from pipeline.values import LocaleHints

T = TypeVar("T", bound=BaseModel)

_TRUNCATION_NOTE = (
    "an earlier reply was cut off at the token limit (finish_reason=length). Keep every "
    "value and quote short (a quote is one line, at most 10 words)."
)


@dataclass(frozen=True)
class _Reading:
    """A document as the stage reads it: the elements shown to the model, and where evidence is looked up."""

    context: list[Element]
    sources: EvidenceSources


class StructuredExtractor(LLMUser, Generic[T]):
    """Pipeline stage: ``Document -> ExtractionResult[T]`` for one pydantic schema ``T``."""

    def __init__(
        self,
        schema: type[T],
        client: LLMClient | None = None,
        options: ExtractionOptions | None = None,
        *,
        embedder: TextEmbedder | None = None,
        opener: Callable[[], contextlib.AbstractContextManager[LLMClient]] | None = None,
    ) -> None:
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise ConfigurationError(f"schema must be a pydantic model class, got {schema!r}", stage="extract")
        self.schema = schema
        self.client = client
        self.options = options or ExtractionOptions()
        self.embedder = embedder
        self.opener = opener  # how to open a client at the first model call when none is given (LLMUser)
        self.kinds: dict[str, FieldKind] = {}
        self.printed_text: set[str] = set()  # str fields chosen among typed candidates: their value as printed
        self._meanings: dict[str, FieldMeaning] = {}
        for n, f in schema.model_fields.items():
            kind = field_kind(n, f)
            m = understand(n, kind, f.description or "", required=f.is_required(), role=_explicit_role(f))
            if m.role == "currency" and kind == "text":  # "ccy: str", "waehrung: str" are currencies
                m = understand(n, "currency", f.description or "", required=f.is_required(), role="currency")
            elif kind == "text" and m.role is None and _explicit_role(f) is None:
                as_date = understand(n, "date", f.description or "", required=f.is_required())
                if as_date.role in ("issue_date", "due_date"):  # "due_date: str": a date, given as printed
                    m = as_date
                    self.printed_text.add(n)
            self.kinds[n], self._meanings[n] = typing.cast(FieldKind, m.kind), m
        self._fallback_done = False
        self._reply_schema = evidence_schema(schema)

    @property
    def meanings(self) -> dict[str, FieldMeaning]:
        """What each field means (:mod:`._meaning`); fields the lexicon does not know are given to the
        bundled embedding model once, on first use (``ExtractionOptions.embedding_fallback``)."""
        if not self._fallback_done:
            self._fallback_done = True
            unknown = [n for n, m in self._meanings.items()
                       if m.role is None and m.kind in TYPED_KINDS and not m.how]
            if unknown and self.options.embedding_fallback:
                glosses = RoleGlosses(self.embedder or _bundled_embedder())
                for n in unknown:
                    m = self._meanings[n]
                    self._meanings[n] = understand(n, m.kind, m.description, required=m.required, glosses=glosses)
        return self._meanings

    @property
    def reply_schema(self) -> dict[str, Any]:
        return self._reply_schema

    def with_schema(self, schema: type[BaseModel], options: ExtractionOptions) -> StructuredExtractor[Any]:
        """An extractor with this one's client and embedder for another schema and options."""
        return StructuredExtractor(schema, self.client, options, embedder=self.embedder, opener=self.opener)

    # -- prompt -----------------------------------------------------------------------------------
    def build_messages(self, document: Document, elements: list[Element]) -> list[dict[str, Any]]:
        fields = "\n".join(
            describe_field(n, f, self.kinds[n]) for n, f in self.schema.model_fields.items()
        )
        doc_text = "\n".join(render_element(e) for e in elements)
        title = self.schema.__doc__.strip().splitlines()[0] if self.schema.__doc__ else self.schema.__name__
        user = (
            f"Extract these fields ({title}):\n{fields}\n\n"
            f"{document_block(doc_text, Path(document.source).name)}\n\n"
            "Return the JSON object with one {\"value\", \"quote\"} entry per field."
        )
        return [{"role": "system", "content": EXTRACTION_SYSTEM}, {"role": "user", "content": user}]

    def _context(self, document: Document) -> list[Element]:
        elements = [e for e in document.elements if e.text.strip() or e.table is not None]
        o = self.options
        fields = {
            n: (self.kinds[n], f.description or "") for n, f in self.schema.model_fields.items()
        }
        return select_context(elements, fields, int(o.max_context_tokens * o.chars_per_token), o.passage_chars)

    def _read(self, document: Document) -> _Reading:
        context = self._context(document)
        full = SourceText.of_document(document)
        sources = EvidenceSources(full=full, shown=SourceText(context), hints=LocaleHints.detect(full.text),
                                  min_quote_score=self.options.min_quote_score)
        return _Reading(context=context, sources=sources)

    def _ask_settings(self, document: Document) -> AskSettings:
        o = self.options
        return AskSettings(
            reply_schema=self._reply_schema, schema_name=self.schema.__name__, max_attempts=o.max_attempts,
            max_output_tokens=o.max_output_tokens, temperature=o.temperature,
            max_validation_reasks=o.max_validation_reasks, truncation_note=_TRUNCATION_NOTE,
            failure=f"no valid {self.schema.__name__}", source=document.source, stage="extract",
        )

    # -- run --------------------------------------------------------------------------------------
    def run(self, document: Document, *, raise_on_failure: bool = True) -> ExtractionResult[T]:
        """Extract the schema from ``document``; with ``raise_on_failure=False`` a failure is a result."""
        t0 = time.perf_counter()
        pending = self.prepare(document)
        outcomes: dict[str, AskOutcome[Any]] = {}
        if pending.asks:
            self.warm_up()
            assert self.client is not None
        for ask in pending.asks:
            assert self.client is not None
            outcome = ask_until_valid(self.client, ask.messages, ask.interpret, ask.settings)
            outcomes[ask.name] = outcome
            if raise_on_failure and outcome.error is not None and not isinstance(outcome.error, ExtractionError):
                raise outcome.error  # the LLM could not be reached: the next ask would not reach it either
        model = self.client.model if self.client is not None else ""
        result = pending.finish(outcomes, model, raise_on_failure)
        result.seconds = time.perf_counter() - t0
        return result

    def prepare(self, document: Document) -> PendingExtraction[T]:
        """Everything before the model calls: what to ask (messages, reply schema, limits) and how to finish."""
        if self.options.strategy == "candidates":
            return CandidateExtraction(self).prepare(document)
        reading = self._read(document)
        ask: PendingAsk[ExtractionResult[T]] = PendingAsk(
            name="free", messages=self.build_messages(document, reading.context),
            interpret=lambda completion: self._interpret(completion, document, reading.sources),
            settings=self._ask_settings(document), fields=tuple(self.schema.model_fields),
        )

        def finish(outcomes: dict[str, AskOutcome[Any]], model: str, raise_on_failure: bool) -> ExtractionResult[T]:
            outcome = outcomes["free"]
            result = self._conclude(document, outcome, raise_on_failure, model)
            result.usage, result.errors = outcome.usage, outcome.errors or result.errors
            return result

        return PendingExtraction(source=document.source, asks=[ask], finish=finish)

    def _conclude(
        self, document: Document, outcome: AskOutcome[ExtractionResult[T]], raise_on_failure: bool, model: str
    ) -> ExtractionResult[T]:
        """The result of the loop: its value, the last reply salvaged, or a failure (raised or returned)."""
        if outcome.value is not None:
            result = outcome.value
            result.attempts = outcome.attempts
            result.model = (outcome.last_completion.model if outcome.last_completion else "") or model
            return result
        if not isinstance(outcome.error, ExtractionError):  # the LLM could not be reached: no re-ask helps
            if raise_on_failure and outcome.error is not None:
                raise outcome.error
            return self._failure(document, attempts=outcome.attempts, model=model)
        salvaged = self._salvage_last(document, outcome, model)
        if salvaged is not None:
            return salvaged
        if raise_on_failure:
            raise outcome.error
        # The attempts budget, also when re-asking stopped early: what failure records have always said.
        return self._failure(document, attempts=self.options.max_attempts, model=model)

    def _failure(self, document: Document, *, attempts: int, model: str) -> ExtractionResult[T]:
        return ExtractionResult[self.schema](  # type: ignore[name-defined]
            source=document.source, status=ExtractionStatus.FAILURE, attempts=attempts, model=model,
        )

    # -- reading a reply --------------------------------------------------------------------------
    def _interpret(
        self, completion: ChatCompletion, document: Document, sources: EvidenceSources
    ) -> ExtractionResult[T] | Rejection:
        try:
            reply = parse_json_reply(completion.content)
        except ValueError as exc:
            return Rejection(for_model=f"{exc}. Reply with one JSON object only.", for_log=str(exc))
        if not isinstance(reply, dict):
            return Rejection(for_model="the reply must be a JSON object keyed by field name.",
                             for_log="reply is not a JSON object")
        values: dict[str, Any] = {}
        evidence: dict[str, FieldEvidence] = {}
        shape_errors: list[str] = []
        for name, info in self.schema.model_fields.items():
            key = info.alias or name
            entry = unpack_entry(reply.get(key, reply.get(name)))
            if entry is None:
                shape_errors.append(f"{key}: expected {{\"value\": ..., \"quote\": ...}}")
                continue
            values[key], evidence[name] = read_field(name, self.kinds[name], *entry, sources)
        if shape_errors:
            return Rejection(for_model="; ".join(shape_errors), for_log="; ".join(shape_errors))
        return self._validate(document, values, evidence)

    def _validate(
        self, document: Document, values: dict[str, Any], evidence: dict[str, FieldEvidence]
    ) -> ExtractionResult[T] | Rejection:
        try:
            data = self.schema.model_validate(values)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            msg = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
            return Rejection(
                for_model=f"the values do not validate: {msg}. Fix these fields and reply with the whole JSON object.",
                for_log=f"validation: {msg}",
                reason="invalid_values",
                invalid_values=InvalidValues(values=values, evidence=evidence, errors=list(errors)),
            )
        return self.make_result(document, data, evidence)

    def make_result(self, document: Document, data: T, evidence: dict[str, FieldEvidence]) -> ExtractionResult[T]:
        dumped = data.model_dump(mode="json", by_alias=True)
        for name, info in self.schema.model_fields.items():
            if name in evidence:
                evidence[name].value = dumped.get(info.alias or name)
        # Every field the model answered must be supported (an answer we could not read counts too).
        answered = [e for e in evidence.values() if e.raw_value is not None]
        for e in answered:
            if e.certainty is None and e.value is not None:
                e.certainty = "uncertain"  # the model's own value, its quote verified: not tied by a label
        # A value taken by two fields of different meaning is one the result itself doubts: not a success.
        ok = all(e.supported for e in answered) and not any(e.certainty == "conflict" for e in answered)
        status = ExtractionStatus.SUCCESS if ok else ExtractionStatus.PARTIAL
        return ExtractionResult[self.schema](  # type: ignore[name-defined]
            source=document.source, status=status, data=data, evidence=evidence
        )

    # -- after the last attempt -------------------------------------------------------------------
    def _salvage_last(self, document: Document, outcome: AskOutcome[ExtractionResult[T]],
                      model: str) -> ExtractionResult[T] | None:
        invalid = outcome.last_invalid_values
        if not self.options.null_invalid_fields or not isinstance(invalid, InvalidValues):
            return None
        salvaged = self.salvage(document, invalid)
        if salvaged is not None:
            salvaged.attempts, salvaged.model = len(outcome.history), model
        return salvaged

    def salvage(self, document: Document, invalid: InvalidValues) -> ExtractionResult[T] | None:
        """The last reply with the fields that still break the schema's rules set to null and flagged.

        Only field-level errors on optional fields are salvaged; a rule over the whole object (no field
        named) or a required field leaves the document failed.
        """
        values = dict(invalid.values)
        evidence = invalid.evidence
        pending = invalid.errors
        by_key = {(info.alias or name): name for name, info in self.schema.model_fields.items()}
        for _ in range(len(by_key)):
            bad = {str(e["loc"][0]) for e in pending if e.get("loc")}
            if not bad or any(not e.get("loc") for e in pending) or not bad <= set(by_key):
                return None
            for key in bad:
                name = by_key[key]
                if self.schema.model_fields[name].is_required():
                    return None
                msgs = "; ".join(e["msg"] for e in pending if e.get("loc") and str(e["loc"][0]) == key)
                values[key] = None
                ev = evidence.get(name) or FieldEvidence(field=name, kind=self.kinds[name])
                ev.supported = False
                ev.note = f"set to null: {ev.raw_value!r} breaks the schema's rules after the last attempt ({msgs})"
                evidence[name] = ev
            try:
                data = self.schema.model_validate(values)
            except ValidationError as exc:
                pending = exc.errors(include_url=False)
                continue
            result = self.make_result(document, data, evidence)
            result.status = ExtractionStatus.PARTIAL
            return result
        return None


def _explicit_role(info: FieldInfo) -> str | None:
    """``Field(json_schema_extra={"ragline_role": "total"})`` names the role; ``"none"`` says it has none."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    role = extra.get("ragline_role")
    return str(role) if isinstance(role, str) else None


_EMBEDDER: list[TextEmbedder] = []


def _bundled_embedder() -> TextEmbedder:
    """The default embedding model, loaded once per process (only schemas with unknown fields need it)."""
    if not _EMBEDDER:
        from pipeline.embedding import make_embedder

        _EMBEDDER.append(make_embedder())
    return _EMBEDDER[0]


def extract(
    source: Document | str | Path,
    schema: type[T],
    client: LLMClient | None = None,
    options: ExtractionOptions | None = None,
    *,
    raise_on_failure: bool = True,
) -> ExtractionResult[T]:
    """Extract ``schema`` from a document (a :class:`Document` or a path, parsed with ``pipeline.parse``).

    With ``client=None`` the embedded local model is started (once per process). Raises
    :class:`~pipeline.exceptions.ExtractionError` when no valid output is obtained after
    ``options.max_attempts`` attempts, unless ``raise_on_failure=False`` (then status is failure).
    """
    if isinstance(source, Document):
        document = source
    else:
        from pipeline.parsing import parse

        document = parse(source)
    with StructuredExtractor(schema, client, options) as extractor:  # a server it starts stops here
        return extractor.run(document, raise_on_failure=raise_on_failure)


__all__ = [
    "ExtractionOptions",
    "ExtractionResult",
    "ExtractionStatus",
    "FieldEvidence",
    "PendingExtraction",
    "StructuredExtractor",
    "extract",
]
