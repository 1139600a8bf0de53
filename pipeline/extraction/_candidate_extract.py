"""The candidate strategy of :class:`~._extract.StructuredExtractor` (``ExtractionOptions.strategy``).

Typed fields are chosen among the document's own candidates (:mod:`._choose`): rules settle most
of them, the model picks among the few best ids of the others through a JSON-schema enum. Every
value chosen this way carries the candidate's verified quote, page and box: it is supported by
construction. Fields with no typed candidates go through the free strategy on a reduced schema,
and a free value the document does not support is not kept: the field is null, the rejected value
stays in its evidence and the status is partial.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from pipeline.document import Document, ErrorRecord
from pipeline.evidence import SourceText
from pipeline.exceptions import ExtractionError
from pipeline.extraction._candidates import Candidate, collect_candidates, fact_candidates
from pipeline.extraction._choose import (
    CandidateOptions,
    Decision,
    Plan,
    choice_messages,
    choice_schema,
    choose_currency,
    make_plan,
    read_choice,
    uses_candidates,
)
from pipeline.extraction._einvoice import read_einvoice
from pipeline.extraction._einvoice_evidence import apply_xml, xml_values
from pipeline.extraction._field_evidence import FieldEvidence
from pipeline.extraction._meaning import GLOSSES, ROLE_DESCRIPTIONS, FieldMeaning
from pipeline.extraction._models import (
    ExtractionResult,
    ExtractionStatus,
    ExtractorCore,
    InvalidValues,
    PendingExtraction,
)
from pipeline.extraction._ranking import Ranked
from pipeline.extraction._statements import FACT_ROLES, field_scale
from pipeline.llm import (
    AskOutcome,
    AskSettings,
    ChatCompletion,
    PendingAsk,
    Rejection,
    Usage,
    parse_json_reply,
)
from pipeline.values import LocaleHints


class _Asked(BaseModel):
    picks: dict[str, Any]
    usage: Usage
    attempts: int
    model: str
    errors: list[ErrorRecord]


def _typed(kind: str, c: Candidate) -> Any:
    v = c.value
    if kind == "number" and isinstance(v, Decimal) and v == v.to_integral_value():
        return int(v)
    if kind == "datetime" and isinstance(v, dt.date):
        return dt.datetime.combine(v, dt.time())
    return v


def _jsonable(value: Any) -> Any:
    """A decided value for a JSON file: amounts as numbers, dates as ISO text."""
    return float(value) if isinstance(value, Decimal) else to_jsonable_python(value, fallback=str)


def candidate_evidence(name: str, kind: str, d: Decision) -> FieldEvidence:
    """The evidence of a field chosen among candidates: the candidate's own verified quote, page and box."""
    if d.chosen is None:
        return FieldEvidence(field=name, kind=kind, note=d.how or None)
    c = d.chosen.candidate
    m = re.match(r"label (['\"])(.*?)\1(?:;|$)", d.chosen.why)
    label = m.group(2) if m else (d.chosen.why or None)
    runner = d.runner_up()
    verified = d.by_rule and d.role is not None
    return FieldEvidence(
        field=name, kind=kind, raw_value=c.printed, quote=c.quote, supported=True, match_score=1.0,
        page=c.page, bbox=c.box, normalized=True, quote_origin="document",
        note=f"candidate {c.id}" + (f" ({d.chosen.why})" if d.chosen.why else "") + f"; {d.how}",
        label=label, role=d.role, certainty="verified" if verified else "uncertain",
        runner_up=f"{runner.candidate.printed} ({runner.why or 'no label'}, score {runner.score:.2f})" if runner else None,
    )


# Roles whose values may be the same printed figure: the total is what is due, or the net when the tax is 0.
_SAME_FIGURE = frozenset({"total", "due_payable", "untaxed"})


def mark_conflicts(evidence: dict[str, FieldEvidence], plan: Plan, ocr_pages: list[int]) -> None:
    """One printed value taken by two fields of different meaning is a conflict, said on both; a value on a
    page read by OCR is never more than uncertain."""
    by_candidate: dict[str, list[str]] = {}
    for name, d in plan.decisions.items():
        if d.chosen is not None and name in evidence and evidence[name].quote_origin == "document":
            by_candidate.setdefault(d.chosen.candidate.id, []).append(name)
    for names in by_candidate.values():
        roles = {plan.decisions[n].role for n in names}
        if len(names) < 2 or roles <= _SAME_FIGURE or len(roles) == 1:
            continue
        for n in names:
            others = ", ".join(o for o in names if o != n)
            evidence[n].certainty = "conflict"
            evidence[n].note = f"{evidence[n].note}; conflict: the same printed value was also taken for {others}"
    for ev in evidence.values():
        if ev.page is not None and ev.page in ocr_pages and ev.quote_origin == "document":
            ev.ocr = True
            if ev.certainty == "verified":
                ev.certainty = "uncertain"


class CandidateExtraction:
    """One run of the candidate strategy for the extractor's schema and options."""

    def __init__(self, extractor: ExtractorCore) -> None:
        self.x = extractor
        self.opts: CandidateOptions = extractor.options.candidates

    def prepare(self, document: Document) -> PendingExtraction[Any]:
        """Rules and the e-invoice XML decide what they can; the rest becomes the asks (``choice``, ``free``)."""
        full = SourceText.of_document(document)
        hints = LocaleHints.detect(full.text)
        fields = self.x.meanings
        facts = {m.role for m in fields.values() if m.role in FACT_ROLES}
        # A report's facts come from its statements and cover; the per-cell candidates (every amount, date and
        # identifier of every page: most of the time on a long filing) only when another field needs them.
        needs_cells = any(m.role not in FACT_ROLES and (m.kind == "currency" or uses_candidates(m))
                          for m in fields.values())
        candidates = collect_candidates(document, full, hints) if needs_cells else []
        candidates += fact_candidates(document, full, facts) if facts else []
        plan = make_plan(fields, candidates, self.opts)
        reading = read_einvoice(document)
        xml_fields = xml_values(plan, fields, reading.einvoice)
        for name in xml_fields:  # the embedded invoice XML decides these: no model needed
            plan.undecided.pop(name, None)
            if name in plan.free_fields:
                plan.free_fields.remove(name)
        asks: list[PendingAsk[Any]] = [self._choice_ask(document, plan)] if plan.undecided else []
        free = self._free_pending(document, plan) if plan.free_fields else None
        asks += free.asks if free is not None else []
        decided = {n: _jsonable(self._value(n, d.kind, d.chosen.candidate)) if d.chosen else None
                   for n, d in plan.decisions.items() if n not in plan.undecided}
        decided.update({n: _jsonable(x.value) for n, x in xml_fields.items()})  # given by the e-invoice XML

        def finish(outcomes: dict[str, AskOutcome[Any]], model: str, raise_on_failure: bool) -> ExtractionResult[Any]:
            asked = self._asked(outcomes["choice"]) if "choice" in outcomes else None
            if asked is not None:
                self._apply_picks(plan, asked.picks)
            values, evidence = self._values(plan, candidates, hints)
            mark_conflicts(evidence, plan, document.ocr_pages)
            if reading.einvoice is not None:
                for name in xml_fields:
                    evidence.setdefault(name, FieldEvidence(field=name, kind=self.x.kinds[name]))
                apply_xml(values, evidence, xml_fields, plan, candidates, reading.einvoice, self.x.schema)
            free_result = None
            if free is not None:
                free_result = free.finish({"free": outcomes["free"]}, model, raise_on_failure)
                self._merge_free(plan, free_result, values, evidence)
            result = self._validated(document, values, evidence, raise_on_failure)
            self._account(result, asked, free_result, reading.problems, model)
            calls_failed(result, outcomes, {a.name: a.fields for a in asks})
            return result

        return PendingExtraction(source=document.source, asks=asks, finish=finish, decided=decided)

    @staticmethod
    def _account(result: ExtractionResult[Any], asked: _Asked | None, free: ExtractionResult[Any] | None,
                 problems: list[str], model: str) -> None:
        """Usage, errors, attempts and model of the result: both asks together, and the refused attachments."""
        result.usage = (asked.usage if asked else Usage()) + (free.usage if free else Usage())
        result.errors = result.errors + (asked.errors if asked else []) + (free.errors if free else []) + [
            ErrorRecord(error="EInvoiceError", reason="attachment_refused", message=p, source=result.source,
                        stage="extract") for p in problems]
        result.attempts = (asked.attempts if asked else 0) + (free.attempts if free else 0)
        result.model = (asked.model if asked else "") or (free.model if free else "") or model

    # -- the model's picks ----------------------------------------------------------------------
    def _choice_ask(self, document: Document, plan: Plan) -> PendingAsk[dict[str, Any]]:
        o = self.x.options
        # A field without a description is described by the concept its name was mapped to ("doc_id": the
        # document's number), so the model is not left guessing from an abbreviation.
        descriptions = {n: f.description or _concept_gloss(self.x.meanings.get(n))
                        for n, f in self.x.schema.model_fields.items()}
        settings = AskSettings(
            reply_schema=choice_schema(plan.undecided), schema_name=f"{self.x.schema.__name__}Choice",
            max_attempts=min(2, o.max_attempts), max_output_tokens=24 + 16 * len(plan.undecided),
            temperature=o.temperature, truncation_note=None, failure="no valid choice among candidates",
            source=document.source, stage="extract",
        )

        def interpret(completion: ChatCompletion) -> dict[str, Any] | Rejection:
            try:
                picks = read_choice(parse_json_reply(completion.content), plan.undecided)
            except ValueError as exc:
                return Rejection(for_model=f"{exc}. Reply with one JSON object only.", for_log=str(exc))
            if isinstance(picks, str):
                return Rejection(for_model=picks, for_log=picks)
            return picks

        messages = choice_messages(plan.undecided, descriptions, Path(document.source).name)
        return PendingAsk(name="choice", messages=messages, interpret=interpret, settings=settings,
                          fields=tuple(plan.undecided))

    @staticmethod
    def _asked(outcome: AskOutcome[Any]) -> _Asked:
        return _Asked(picks=outcome.value or {}, usage=outcome.usage, attempts=outcome.attempts,
                      model=outcome.model, errors=outcome.errors)

    @staticmethod
    def _apply_picks(plan: Plan, picks: dict[str, Any]) -> None:
        for name, offers in plan.undecided.items():
            d = plan.decisions[name]
            ids = ", ".join(r.candidate.id for r in offers)
            if name not in picks:
                d.how = f"the model gave no valid choice among {ids}; left null"
                continue
            pick: Ranked | None = picks[name]
            d.chosen = pick
            d.how = f"chosen by the model among {ids}" if pick else f"the model chose none of {ids}"

    # -- values and evidence ----------------------------------------------------------------------
    def _values(self, plan: Plan, candidates: list[Candidate],
                hints: LocaleHints) -> tuple[dict[str, Any], dict[str, FieldEvidence]]:
        values: dict[str, Any] = {}
        evidence: dict[str, FieldEvidence] = {}
        for name, info in self.x.schema.model_fields.items():
            key, kind = info.alias or name, self.x.kinds[name]
            if name in plan.decisions:
                d = plan.decisions[name]
                values[key] = self._value(name, kind, d.chosen.candidate) if d.chosen else None
                evidence[name] = candidate_evidence(name, kind, d)
            elif name in plan.currency_fields:
                values[key], evidence[name] = self._currency(name, plan, candidates, hints)
        return values, evidence

    def _value(self, name: str, kind: str, c: Candidate) -> Any:
        """The candidate's value for the field: typed, or as printed for a ``str`` field read as a date."""
        if name in self.x.printed_text:
            return c.printed
        if c.kind == "fact" and isinstance(c.value, Decimal) and kind in ("amount", "number"):
            scale = field_scale(self.x.meanings[name].description)  # "in millions of USD": the printed unit
            value = c.value / scale if scale != 1 else c.value
            return int(value) if kind == "number" and value == value.to_integral_value() else value
        return _typed(kind, c)

    @staticmethod
    def _currency(name: str, plan: Plan, candidates: list[Candidate],
                  hints: LocaleHints) -> tuple[str | None, FieldEvidence]:
        found = choose_currency(plan.decisions, candidates, hints.currency)
        if found is None:
            return None, FieldEvidence(field=name, kind="currency", note="no currency printed with the amounts")
        code, c, why = found
        return code, FieldEvidence(
            field=name, kind="currency", raw_value=code, quote=c.quote, supported=True, match_score=1.0,
            page=c.page, bbox=c.box, normalized=True, quote_origin="document", note=f"{why}; settled by rule",
            role="currency", certainty="verified",
        )

    def _free_pending(self, document: Document, plan: Plan) -> PendingExtraction[Any]:
        """The fields with no typed candidates, by the free strategy on a reduced schema (ask ``free``)."""
        schema = self.x.schema
        # Every field optional here: a required one the model cannot ground must not cost re-asks; the
        # whole record is validated (and a missing required field reported) once, in ``_validated``.
        sub = create_model(  # type: ignore[call-overload]
            f"{schema.__name__}Free", __doc__=schema.__doc__,
            **{n: _optional(schema.model_fields[n]) for n in plan.free_fields},
        )
        options = self.x.options.model_copy(update={"strategy": "free"})
        return self.x.with_schema(sub, options).prepare(document)

    def _merge_free(self, plan: Plan, result: ExtractionResult[Any], values: dict[str, Any],
                    evidence: dict[str, FieldEvidence]) -> None:
        """The free fields' values and evidence; a value the document does not support is set to null."""
        schema = self.x.schema
        data = result.data.model_dump(by_alias=True) if result.data is not None else {}
        for n in plan.free_fields:
            key = schema.model_fields[n].alias or n
            ev = result.evidence.get(n) or FieldEvidence(field=n, kind=self.x.kinds[n])
            values[key] = data.get(key)
            if values[key] is not None and not ev.supported:
                ev.note = f"rejected, not supported by the document ({ev.note or 'no verified quote'}); set to null"
                ev.value, values[key] = None, None
            evidence[n] = ev

    def _validated(self, document: Document, values: dict[str, Any], evidence: dict[str, FieldEvidence],
                   raise_on_failure: bool) -> ExtractionResult[Any]:
        try:
            data = self.x.schema.model_validate(values)
        except ValidationError as exc:
            invalid = InvalidValues(values=values, evidence=evidence, errors=list(exc.errors(include_url=False)))
            salvaged = self.x.salvage(document, invalid) if self.x.options.null_invalid_fields else None
            if salvaged is not None:
                return salvaged
            result = self._partial(document, values, evidence, invalid.errors)
            if result.status is ExtractionStatus.FAILURE and raise_on_failure:
                raise ExtractionError(f"no valid {self.x.schema.__name__}: {exc}", source=document.source,
                                      stage="extract") from exc
            return result
        return self.x.make_result(document, data, evidence)  # success when every value present is supported

    def _partial(self, document: Document, values: dict[str, Any], evidence: dict[str, FieldEvidence],
                 errors: list[Any]) -> ExtractionResult[Any]:
        """A record the schema does not validate (a required field not found, a rule broken): the fields found
        go to ``partial_data``, each field left out gets an error record saying why. Nothing is thrown away."""
        schema = self.x.schema
        by_key = {(info.alias or n): n for n, info in schema.model_fields.items()}
        kept = dict(values)
        records: list[ErrorRecord] = []
        for e in errors:
            key = str(e["loc"][0]) if e.get("loc") else ""
            name = by_key.get(key)
            if name is None:  # a rule over the whole record
                records.append(_field_error("schema_rule", f"{schema.__name__}: {e['msg']}", document.source))
                continue
            ev = evidence.setdefault(name, FieldEvidence(field=name, kind=self.x.kinds[name]))
            if kept.get(key) is None and schema.model_fields[name].is_required():
                why = ev.note or "no value of its kind is printed with a label that means it"
                records.append(_field_error("required_field_missing",
                                            f"{name}: required, but not found in the document ({why})",
                                            document.source))
            else:
                records.append(_field_error("schema_rule", f"{name}: {ev.raw_value!r} breaks the schema's rules "
                                            f"({e['msg']}); left out", document.source))
                ev.supported, ev.value = False, None
                ev.note = f"left out: {ev.raw_value!r} breaks the schema's rules ({e['msg']})"
            kept[key] = None
        partial = {k: _jsonable(v) for k, v in kept.items()}
        for name, info in schema.model_fields.items():
            if name in evidence:
                evidence[name].value = partial.get(info.alias or name)
        found = any(v is not None for v in partial.values())
        return ExtractionResult[schema](  # type: ignore[valid-type]
            source=document.source, status=ExtractionStatus.PARTIAL if found else ExtractionStatus.FAILURE,
            partial_data=partial, evidence=evidence, errors=records)


def _optional(info: FieldInfo) -> tuple[Any, FieldInfo]:
    """The field as an optional one (a required field gets the default None; a default is kept)."""
    if not info.is_required():
        return info.annotation, info
    return info.annotation | None, FieldInfo.merge_field_infos(info, default=None)


def _field_error(reason: str, message: str, source: str) -> ErrorRecord:
    return ErrorRecord(error="ExtractionError", reason=reason, message=message, source=source, stage="extract")


def calls_failed(result: ExtractionResult[Any], outcomes: dict[str, AskOutcome[Any]],
                 fields_of: dict[str, tuple[str, ...]]) -> None:
    """A model call that failed (connection, timeout, server error after retries) leaves its fields undecided:
    the result is partial (failure when nothing was found) and says which fields were lost. Its error record
    is already in ``result.errors``; ``ragline extract`` exits 1 and ``--retry-failed`` redoes it."""
    failed = {name: o.error for name, o in outcomes.items()
              if o.error is not None and not isinstance(o.error, ExtractionError)}
    if not failed:
        return
    for ask, error in failed.items():
        for field_name in fields_of.get(ask, ()):
            ev = result.evidence.get(field_name)
            if ev is not None and ev.value is None:
                ev.note = f"not extracted: the model call failed ({type(error).__name__}: {error})"
    found = bool(result.values()) and any(v is not None for v in result.values().values())
    result.status = ExtractionStatus.PARTIAL if found else ExtractionStatus.FAILURE
    if not any(e.reason.startswith("llm") for e in result.errors):
        for error in failed.values():
            result.errors.append(ErrorRecord.from_exception(error, source=result.source, stage="extract"))


def _concept_gloss(meaning: FieldMeaning | None) -> str:
    """What a field without a description means, by the role its name was mapped to ("doc_id": "the
    document's own number (...)"); "" for a field with no role."""
    if meaning is None or meaning.role is None:
        return ""
    return ROLE_DESCRIPTIONS.get(meaning.role) or GLOSSES.get(meaning.role, "")


__all__ = ["CandidateExtraction", "calls_failed", "candidate_evidence", "mark_conflicts"]
