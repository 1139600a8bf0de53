"""Schema-driven extraction with per-field evidence.

Given a pydantic model, the LLM is asked -- for each field -- for the value *as printed* and a
verbatim quote, with its output constrained to a JSON schema derived from the model. Then, in
code rather than in the model:

1. the quote is looked up in the source (normalised / fuzzy) and located to a page and box; when
   the model gave none (or one that is not in the source) the document's own line printing the
   value becomes the quote, supported only if that line also carries a label of the field;
2. typed values (amounts, dates, percentages, currencies) are parsed from the printed value and
   its quote with the document's own conventions (:mod:`._normalize`), so ``05.06.2018`` is the
   5th of June in a German invoice whatever the model thought;
3. the result is validated by the user's model; a validation error is sent back to the model
   (re-ask) up to ``max_attempts`` times, then :class:`~pipeline.exceptions.ExtractionError`.

Long documents are cut into passages and the ones that best match the fields' names and
descriptions (plain lexical scoring) are packed into the context budget.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
import time
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

from ..document import BBox, Document, Element
from ..exceptions import ConfigurationError, ExtractionError, LLMError
from ._client import ChatCompletion, LLMClient, Usage, parse_json_reply
from ._evidence import SourceText, render_element
from ._normalize import (
    LocaleHints,
    find_amounts,
    find_dates,
    normalize_text,
    parse_currency,
    parse_percentage,
)
from ._prompts import EXTRACTION_SYSTEM, document_block

T = TypeVar("T", bound=BaseModel)

FieldKind = Literal["amount", "number", "date", "datetime", "percentage", "currency", "text", "bool", "json"]


class ExtractionStatus(str, enum.Enum):
    SUCCESS = "success"  # validated, and every value present is supported by a quote found in the source
    PARTIAL = "partial"  # validated, but some values are not supported by the source
    FAILURE = "failure"  # no valid output after the last attempt (or the LLM could not be reached)


class ExtractionOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

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


class FieldEvidence(BaseModel):
    """Why a field has its value: the quote, whether the source supports it, and where it is."""

    field: str
    kind: str
    value: Any = Field(default=None, description="the final (validated, normalised) value, JSON-ready")
    raw_value: Any = Field(default=None, description="the value as the model wrote it")
    quote: str | None = None
    supported: bool | None = Field(
        default=None,
        description="quote found in the source and the value consistent with it; None when the field is absent",
    )
    match_score: float = 0.0
    page: int | None = None
    bbox: BBox | None = None
    normalized: bool = Field(default=False, description="value computed from the text by ragline, not the model")
    quote_origin: Literal["model", "document"] | None = Field(
        default=None,
        description="model: the model's own quote, verified; document: the model gave no usable quote and "
        "ragline took the line of the document where the value is printed",
    )
    model_quote: str | None = Field(
        default=None, description="the model's quote when it was not found in the document (replaced by the line)"
    )
    note: str | None = None


class ExtractionResult(BaseModel, Generic[T]):
    source: str
    status: ExtractionStatus
    data: T | None = None
    evidence: dict[str, FieldEvidence] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    attempts: int = 0
    seconds: float = 0.0
    model: str = ""

    def to_record(self) -> dict[str, Any]:
        """One JSON-ready line for ``ragline extract`` output."""
        return {
            "source": self.source,
            "status": self.status.value,
            "data": self.data.model_dump(mode="json") if self.data is not None else None,
            "evidence": {k: v.model_dump(mode="json", exclude={"field"}) for k, v in self.evidence.items()},
            "errors": self.errors,
            "usage": self.usage.model_dump(),
            "attempts": self.attempts,
            "seconds": round(self.seconds, 3),
            "model": self.model,
        }


# --------------------------------------------------------------------------------------------
# the schema the model sees
# --------------------------------------------------------------------------------------------

_PRINTED_KINDS = {"amount", "number", "date", "datetime", "percentage"}
_MAX_PRINTED = 80  # characters of a printed amount/date/currency
_MAX_TEXT = 400
_MAX_QUOTE = 240


def _unwrap(annotation: Any) -> Any:
    """``Optional[X]`` / ``Annotated[X, ...]`` / ``X | None`` -> ``X`` (first non-None member)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


def field_kind(name: str, info: FieldInfo) -> FieldKind:
    """How a field's value is typed: explicit ``json_schema_extra={"ragline_kind": ...}``, else by type."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    explicit = extra.get("ragline_kind")
    if isinstance(explicit, str):
        return typing.cast(FieldKind, explicit)
    t = _unwrap(info.annotation)
    lname = name.lower()
    if t is bool:
        return "bool"
    if t is dt.datetime:
        return "datetime"
    if t is dt.date:
        return "date"
    if t in (int, float, Decimal):
        if any(w in lname for w in ("percent", "pct", "rate")):
            return "percentage"
        return "amount" if t is not int else "number"
    if t is str:
        return "currency" if "currency" in lname else "text"
    return "json"


def _describe(name: str, info: FieldInfo, kind: str) -> str:
    hint = {
        "amount": "amount",
        "number": "number",
        "date": "date",
        "datetime": "date and time",
        "percentage": "percentage",
        "currency": "currency",
        "text": "text",
        "bool": "true or false",
        "json": "structured value",
    }[kind]
    desc = f" - {info.description}" if info.description else ""
    return f"- {name} ({hint}){desc}"


def evidence_schema(model: type[BaseModel]) -> dict[str, Any]:
    """JSON schema of the model's reply: ``{field: {"value": ..., "quote": string|null}}`` for every field.

    Typed fields are asked for as strings (the printed form), which ragline parses itself.
    """
    full = model.model_json_schema()
    props_src = full.get("properties", {})
    props: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        kind = field_kind(name, info)
        if kind in _PRINTED_KINDS or kind == "currency":
            # Bounded lengths turn into bounded grammars: a small model that starts repeating itself
            # stops at the bound instead of running into max_tokens (measured: 600 s on one invoice).
            value_schema: dict[str, Any] = {"anyOf": [{"type": "string", "maxLength": _MAX_PRINTED},
                                                      {"type": "null"}]}
        elif kind == "text":
            value_schema = {"anyOf": [{"type": "string", "maxLength": _MAX_TEXT}, {"type": "null"}]}
        elif kind == "bool":
            value_schema = {"type": ["boolean", "null"]}
        else:
            inner = dict(props_src.get(key, {}))
            inner.pop("default", None)
            inner.pop("title", None)
            value_schema = {"anyOf": [inner, {"type": "null"}]} if inner else {}
        if info.description:
            value_schema["description"] = info.description
        props[key] = {
            "type": "object",
            # A string, not nullable: constrained decoding then makes small models actually copy a
            # passage (with a nullable quote a 0.5B model mostly writes null); "" means no quote.
            "properties": {"value": value_schema, "quote": {"type": "string", "maxLength": _MAX_QUOTE}},
            "required": ["value", "quote"],
            "additionalProperties": False,
        }
    schema: dict[str, Any] = {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }
    if "$defs" in full:
        schema["$defs"] = full["$defs"]
    return schema


# --------------------------------------------------------------------------------------------
# context selection for long documents
# --------------------------------------------------------------------------------------------

_WORD_RE = re.compile(r"[^\W_]+", re.U)
_GENERIC_HINTS: dict[str, list[str]] = {
    "amount": ["total", "amount", "sum", "due", "balance"],
    "date": ["date", "dated", "datum", "fecha"],
    "currency": ["currency", "usd", "eur", "$", "€"],
}


def _stems(text: str) -> set[str]:
    return {w[:5] for w in _WORD_RE.findall(text.casefold()) if len(w) > 1}


def _passages(elements: list[Element], size: int) -> list[list[int]]:
    out: list[list[int]] = []
    cur: list[int] = []
    n = 0
    for i, el in enumerate(elements):
        t = len(render_element(el))
        if cur and (n + t > size or el.page != elements[cur[-1]].page):
            out.append(cur)
            cur, n = [], 0
        cur.append(i)
        n += t + 1
    if cur:
        out.append(cur)
    return out


def select_context(
    elements: list[Element],
    fields: Mapping[str, tuple[str, str]],
    budget_chars: int,
    passage_chars: int = 900,
) -> list[Element]:
    """Elements to show the model: all if they fit, else the best passages per field, in document order.

    ``fields`` maps name -> (kind, description). Passages are ranked per field by overlap of
    word stems with the field's name, description and generic hints for its kind; fields take
    turns picking their next best passage until the budget is full. The first passage is always
    kept (titles, numbers and dates of documents live at the top).
    """
    total = sum(len(render_element(e)) + 1 for e in elements)
    if total <= budget_chars:
        return elements
    passages = _passages(elements, passage_chars)
    texts = ["\n".join(render_element(elements[i]) for i in p) for p in passages]
    stems = [_stems(t) for t in texts]
    rankings: list[list[int]] = []
    for name, (kind, desc) in fields.items():
        q = _stems(name.replace("_", " ") + " " + desc + " " + " ".join(_GENERIC_HINTS.get(kind, [])))
        scored = sorted(((len(q & s), -j) for j, s in enumerate(stems)), reverse=True)
        rankings.append([-neg_j for score, neg_j in scored if score > 0])
    chosen: list[int] = [0]
    used = len(texts[0]) + 1
    progress = True
    while progress:
        progress = False
        for ranking in rankings:
            while ranking and ranking[0] in chosen:
                ranking.pop(0)
            if not ranking:
                continue
            j = ranking.pop(0)
            if used + len(texts[j]) + 1 <= budget_chars:
                chosen.append(j)
                used += len(texts[j]) + 1
                progress = True
    keep = sorted(i for j in sorted(chosen) for i in passages[j])
    if used > budget_chars:  # the first passage alone overflows: trim it to its first elements
        keep, used = [], 0
        for i in passages[0]:
            t = len(render_element(elements[i])) + 1
            if used + t > budget_chars and keep:
                break
            keep.append(i)
            used += t
    return [elements[i] for i in keep]


# --------------------------------------------------------------------------------------------
# normalisation of one field
# --------------------------------------------------------------------------------------------


class _FieldOutcome(BaseModel):
    value: Any = None
    normalized: bool = False
    consistent: bool | None = None
    note: str | None = None


def _as_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _dense(s: str) -> str:
    return re.sub(r"[\s|`*_#>]+", "", normalize_text(s))


def _norm_amount(raw: Any, text: str, q: str, hints: LocaleHints) -> _FieldOutcome:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        from_value = [Decimal(str(raw))]
    else:
        from_value = [a.value for a in find_amounts(text, decimal_separator=hints.decimal_separator)]
    in_quote = find_amounts(q, decimal_separator=hints.decimal_separator)
    for v in from_value:
        for qa in in_quote:
            if abs(abs(v) - abs(qa.value)) < Decimal("0.005"):
                # Sign and exact digits come from the document, e.g. "(1,577)" -> -1577.
                return _FieldOutcome(value=qa.value, normalized=True, consistent=True)
    if len(from_value) > 1 and len(in_quote) == 1:
        # A value holding several numbers ("1.153,79 EUR VAT 7% 80,77 EUR") is no answer; a quote
        # holding exactly one is.
        return _FieldOutcome(value=in_quote[0].value, normalized=True, consistent=True,
                             note="value held several numbers; taken from the quote")
    if from_value:
        return _FieldOutcome(
            value=from_value[0], normalized=True, consistent=False if q else None,
            note="value not found in its quote" if q else None,
        )
    if in_quote:
        with_cur = [a for a in in_quote if a.currency]
        pick = with_cur[0] if len(with_cur) == 1 else in_quote[-1]
        return _FieldOutcome(value=pick.value, normalized=True, consistent=True, note="value taken from the quote")
    # Unreadable: the field becomes null (flagged) rather than failing the whole document.
    return _FieldOutcome(value=None, consistent=False, note=f"no number in value {text!r} or its quote")


def _norm_date(raw: Any, text: str, q: str, hints: LocaleHints, with_time: bool) -> _FieldOutcome:
    from_value = find_dates(text, dayfirst=hints.dayfirst, decimal_separator=hints.decimal_separator) if text else []
    in_quote = find_dates(q, dayfirst=hints.dayfirst, decimal_separator=hints.decimal_separator)
    chosen: dt.date | None = None
    consistent: bool | None = None
    if from_value:
        v = from_value[0]
        same = [d for d in in_quote if d.value == v.value or _dense(d.raw) == _dense(v.raw)]
        if same:
            chosen, consistent = same[0].value, True
        elif len(in_quote) == 1 and _dense(in_quote[0].raw) in _dense(text):
            chosen, consistent = in_quote[0].value, True
        else:
            chosen, consistent = v.value, (False if q else None)
    elif in_quote:
        chosen, consistent = in_quote[0].value, True
    if chosen is None:
        return _FieldOutcome(value=None, consistent=False, note=f"no date in value {text!r} or its quote")
    value: Any = dt.datetime.combine(chosen, dt.time()) if with_time else chosen
    return _FieldOutcome(value=value, normalized=True, consistent=consistent,
                         note=None if consistent is not False else "value not found in its quote")


def _norm_percentage(raw: Any, text: str, q: str, hints: LocaleHints) -> _FieldOutcome:
    v = parse_percentage(text, decimal_separator=hints.decimal_separator)
    qv = parse_percentage(q, decimal_separator=hints.decimal_separator)
    if v is None and text:
        nums = find_amounts(text, decimal_separator=hints.decimal_separator)
        v = nums[0].value if nums else None
    if v is not None:
        ok = (qv == v) if q else None
        return _FieldOutcome(value=v, normalized=True, consistent=ok,
                             note="value not found in its quote" if ok is False else None)
    if qv is not None:
        return _FieldOutcome(value=qv, normalized=True, consistent=True, note="value taken from the quote")
    return _FieldOutcome(value=None, consistent=False, note=f"no percentage in value {text!r} or its quote")


def _normalize_field(kind: str, raw: Any, quote: str | None, hints: LocaleHints) -> _FieldOutcome:
    """Typed value of one field from the printed value and its quote, and whether the two agree."""
    q = quote or ""
    text = _as_text(raw)
    if kind in ("amount", "number"):
        return _norm_amount(raw, text, q, hints)
    if kind in ("date", "datetime"):
        return _norm_date(raw, text, q, hints, with_time=kind == "datetime")
    if kind == "percentage":
        return _norm_percentage(raw, text, q, hints)
    if kind == "currency":
        code = parse_currency(text)
        if code:
            agrees = (not q) or parse_currency(q) == code or _dense(text) in _dense(q)
            return _FieldOutcome(value=code, normalized=code != text.strip(), consistent=agrees or None)
        code = parse_currency(q) if q else None
        if code:
            return _FieldOutcome(value=code, normalized=True, consistent=True,
                                 note="value is not a currency; taken from the quote")
        if hints.currency:
            # The model answered something that is no currency (often words of the instructions):
            # use the currency the document's amounts are printed in, flagged.
            return _FieldOutcome(value=hints.currency, normalized=True, consistent=False,
                                 note=f"value {text!r} is not a currency; inferred from the document's amounts")
        return _FieldOutcome(value=text.strip() or None, consistent=_dense(text) in _dense(q) if q else None)
    if kind == "text":
        clean = re.sub(r"\s+", " ", text).strip()
        return _FieldOutcome(value=clean if raw is not None else None,
                             consistent=(_dense(clean) in _dense(q)) if q else None)
    return _FieldOutcome(value=raw, consistent=None)


# --------------------------------------------------------------------------------------------
# the stage
# --------------------------------------------------------------------------------------------


class StructuredExtractor(Generic[T]):
    """Pipeline stage: ``Document -> ExtractionResult[T]`` for one pydantic schema ``T``."""

    def __init__(
        self,
        schema: type[T],
        client: LLMClient | None = None,
        options: ExtractionOptions | None = None,
    ) -> None:
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise ConfigurationError(f"schema must be a pydantic model class, got {schema!r}", stage="extract")
        self.schema = schema
        self.client = client
        self.options = options or ExtractionOptions()
        self._kinds = {n: field_kind(n, f) for n, f in schema.model_fields.items()}
        self._reply_schema = evidence_schema(schema)

    @property
    def reply_schema(self) -> dict[str, Any]:
        return self._reply_schema

    def warm_up(self) -> None:
        if self.client is None:
            from ._local import default_local_server

            self.client = default_local_server().client()

    # -- prompt -----------------------------------------------------------------------------------
    def build_messages(self, document: Document, elements: list[Element]) -> list[dict[str, Any]]:
        fields = "\n".join(
            _describe(n, f, self._kinds[n]) for n, f in self.schema.model_fields.items()
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
            n: (self._kinds[n], f.description or "") for n, f in self.schema.model_fields.items()
        }
        return select_context(elements, fields, int(o.max_context_tokens * o.chars_per_token), o.passage_chars)

    # -- run --------------------------------------------------------------------------------------
    def run(self, document: Document, *, raise_on_failure: bool = True) -> ExtractionResult[T]:
        self.warm_up()
        assert self.client is not None
        client = self.client
        t0 = time.perf_counter()
        o = self.options
        context = self._context(document)
        full = SourceText.of_document(document)
        shown = SourceText(context)
        hints = LocaleHints.detect(full.text)
        base = self.build_messages(document, context)
        messages = base
        usage = Usage()
        history: list[dict[str, Any]] = []
        last_content: str | None = None
        errors: list[str] = []
        max_tokens = o.max_output_tokens
        last_invalid: _InvalidReply | None = None
        validation_failures = 0
        for attempt in range(1, o.max_attempts + 1):
            try:
                completion: ChatCompletion = client.chat(
                    messages,
                    schema=self._reply_schema,
                    schema_name=self.schema.__name__,
                    max_tokens=max_tokens,
                    temperature=o.temperature,
                )
            except LLMError as exc:
                exc.source = exc.source or document.source
                errors.append(str(exc))
                if raise_on_failure:
                    raise
                return ExtractionResult[self.schema](  # type: ignore[name-defined]
                    source=document.source, status=ExtractionStatus.FAILURE, errors=errors, usage=usage,
                    attempts=attempt, seconds=time.perf_counter() - t0, model=client.model,
                )
            usage = usage + completion.usage
            last_content = completion.content
            problem: str
            try:
                if completion.truncated:
                    raise _Reask(
                        "an earlier reply was cut off at the token limit (finish_reason=length). Keep every "
                        "value and quote short (a quote is one line, at most 10 words).",
                        "output truncated (finish_reason=length)",
                    )
                result = self._interpret(completion, document, full, shown, hints)
            except _Reask as r:
                problem = r.for_model
                if r.invalid is not None:
                    last_invalid = r.invalid
                errors.append(f"attempt {attempt}: {r.for_log}")
                history.append({"attempt": attempt, "completion": completion.content, "error": r.for_log})
                if r.invalid is not None:
                    validation_failures += 1
                    if validation_failures > o.max_validation_reasks:
                        break
                    if len(history) >= 2 and history[-2]["error"] == r.for_log:
                        # The same values broke the same rules after being told: more attempts only cost
                        # time (measured: the 0.5B model repeats itself on every re-ask).
                        errors.append(f"attempt {attempt}: same validation errors as the previous attempt; stopped")
                        break
                if completion.truncated:
                    # Start over rather than show the model its own runaway output (it primes more of
                    # the same and eats the context); allow somewhat more room, once.
                    max_tokens = int(o.max_output_tokens * 1.5)
                    messages = [base[0], {"role": "user", "content": f"{base[1]['content']}\n\nNote: {problem}"}]
                else:
                    messages = base + [
                        {"role": "assistant", "content": completion.content},
                        {"role": "user", "content": f"Your previous reply was invalid: {problem}"},
                    ]
                continue
            result.usage = usage
            result.attempts = attempt
            result.errors = errors
            result.seconds = time.perf_counter() - t0
            result.model = completion.model or client.model
            return result
        if o.null_invalid_fields and last_invalid is not None:
            salvaged = self._salvage(document, last_invalid)
            if salvaged is not None:
                salvaged.usage, salvaged.attempts, salvaged.errors = usage, len(history), errors
                salvaged.seconds = time.perf_counter() - t0
                salvaged.model = client.model
                return salvaged
        err = ExtractionError(
            f"no valid {self.schema.__name__} after {len(history)} attempts: {errors[-1] if errors else ''}",
            attempts=history,
            last_completion=last_content,
            source=document.source,
            stage="extract",
        )
        if raise_on_failure:
            raise err
        return ExtractionResult[self.schema](  # type: ignore[name-defined]
            source=document.source, status=ExtractionStatus.FAILURE, errors=errors, usage=usage,
            attempts=o.max_attempts, seconds=time.perf_counter() - t0, model=client.model,
        )

    def _interpret(
        self,
        completion: ChatCompletion,
        document: Document,
        full: SourceText,
        shown: SourceText,
        hints: LocaleHints,
    ) -> ExtractionResult[T]:
        try:
            reply = parse_json_reply(completion.content)
        except ValueError as exc:
            raise _Reask(f"{exc}. Reply with one JSON object only.", str(exc)) from None
        if not isinstance(reply, dict):
            raise _Reask("the reply must be a JSON object keyed by field name.", "reply is not a JSON object")
        values: dict[str, Any] = {}
        evidence: dict[str, FieldEvidence] = {}
        shape_errors: list[str] = []
        for name, info in self.schema.model_fields.items():
            key = info.alias or name
            entry = reply.get(key, reply.get(name))
            if isinstance(entry, dict) and ("value" in entry or "quote" in entry):
                raw, quote = entry.get("value"), entry.get("quote")
            elif entry is None or not isinstance(entry, dict):
                # A bare value (a model ignoring the wrapper): accept it, without a quote.
                raw, quote = entry, None
            else:
                shape_errors.append(f"{key}: expected {{\"value\": ..., \"quote\": ...}}")
                continue
            if isinstance(quote, str) and not quote.strip():
                quote = None
            if quote is not None and not isinstance(quote, str):
                quote = _as_text(quote)
            if raw in ("", "null", "None", "N/A", "n/a"):
                raw = None
            kind = self._kinds[name]
            ev = FieldEvidence(field=name, kind=kind, raw_value=raw, quote=quote)
            if raw is None:
                values[key] = None
                evidence[name] = ev
                continue
            out = _normalize_field(kind, raw, quote, hints)
            values[key] = out.value
            ev.normalized = out.normalized
            ev.note = out.note
            if out.value is None:
                ev.supported = False  # answered, but nothing usable could be read from it
            else:
                self._support(ev, out, full, shown, raw, hints)
                if out.note and ev.note != out.note:
                    # Keep what normalisation said along with what the evidence check said.
                    ev.note = f"{out.note}; {ev.note}" if ev.note else out.note
            evidence[name] = ev
        if shape_errors:
            raise _Reask("; ".join(shape_errors), "; ".join(shape_errors))
        try:
            data = self.schema.model_validate(values)
        except ValidationError as exc:
            msg = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
            )
            raise _Reask(
                f"the values do not validate: {msg}. Fix these fields and reply with the whole JSON object.",
                f"validation: {msg}",
                _InvalidReply(values, evidence, exc.errors(include_url=False)),
            ) from None
        return self._result(document, data, evidence)

    def _result(self, document: Document, data: T, evidence: dict[str, FieldEvidence]) -> ExtractionResult[T]:
        dumped = data.model_dump(mode="json", by_alias=True)
        for name, info in self.schema.model_fields.items():
            if name in evidence:
                evidence[name].value = dumped.get(info.alias or name)
        # Every field the model answered must be supported (an answer we could not read counts too).
        answered = [e for e in evidence.values() if e.raw_value is not None]
        status = (
            ExtractionStatus.SUCCESS if all(e.supported for e in answered) else ExtractionStatus.PARTIAL
        )
        return ExtractionResult[self.schema](  # type: ignore[name-defined]
            source=document.source, status=status, data=data, evidence=evidence
        )

    def _salvage(self, document: Document, invalid: _InvalidReply) -> ExtractionResult[T] | None:
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
                ev = evidence.get(name) or FieldEvidence(field=name, kind=self._kinds[name])
                ev.supported = False
                ev.note = f"set to null: {ev.raw_value!r} breaks the schema's rules after the last attempt ({msgs})"
                evidence[name] = ev
            try:
                data = self.schema.model_validate(values)
            except ValidationError as exc:
                pending = exc.errors(include_url=False)
                continue
            result = self._result(document, data, evidence)
            result.status = ExtractionStatus.PARTIAL
            return result
        return None

    def _support(
        self, ev: FieldEvidence, out: _FieldOutcome, full: SourceText, shown: SourceText, raw: Any, hints: LocaleHints
    ) -> None:
        mq = self.options.min_quote_score
        m = (full.find(ev.quote, min_score=1.0) or shown.find(ev.quote, min_score=mq)) if ev.quote else None
        if m is None:
            # Small models often write no quote, or paraphrase one. The value itself may still be
            # printed: then the evidence is the document's own line that holds it.
            why = "no quote from the model" if not ev.quote else "quote not found in the document"
            self._recover(ev, out, full, shown, raw, why, hints)
            return
        ev.quote_origin = "model"
        ev.match_score, ev.page, ev.bbox = m.score, m.page, m.bbox
        if out.consistent is False:
            ev.supported = False
        else:
            ev.supported = True
            if out.consistent is None and ev.kind in ("text", "currency", "json"):
                ev.supported = _dense(_as_text(raw)) in _dense(ev.quote or "") or full.contains_normalized(_as_text(raw))
                if not ev.supported:
                    ev.note = "value not found in its quote or the document"


    def _recover(
        self, ev: FieldEvidence, out: _FieldOutcome, full: SourceText, shown: SourceText, raw: Any, why: str,
        hints: LocaleHints,
    ) -> None:
        """Evidence from the document when the model's quote is missing or wrong: the line printing the value.

        Supported only when that line also carries a label of the field (its name's words or the
        generic words for its kind: "total", "date", ...): a total printed next to "Subtotal" or a
        date next to "Due" is not evidence for the field. Lines shown to the model are preferred.
        """
        ev.supported = False
        ev.match_score = 0.0
        label = _stems(_label_words(ev.field) + " " + " ".join(_GENERIC_HINTS.get(_hint_kind(ev.kind), [])))
        shown_ids = {id(e) for e in shown.elements}
        best: tuple[tuple[int, int, int], str, Element] | None = None
        for order, el in enumerate(full.elements):
            for line in render_element(el).splitlines():
                if not _prints_value(ev.kind, out.value, raw, line, hints):
                    continue
                labelled = bool(label & _stems(line))
                key = (int(labelled), int(id(el) in shown_ids), -order)
                if best is None or key > best[0]:
                    best = (key, line, el)
        if best is None:
            ev.note = f"{why}, and the value is not printed in the document"
            return
        (has_label, _, _), line, _el = best
        quote = _clip_line(line.strip(" |"), _as_text(raw), _MAX_QUOTE)
        m = full.find(quote, min_score=1.0)
        if m is None:  # cannot happen for a line of the document; stay unsupported if it does
            ev.note = f"{why}, and the line printing the value could not be located"
            return
        ev.model_quote, ev.quote, ev.quote_origin = ev.quote, quote, "document"
        ev.page, ev.bbox, ev.match_score = m.page, m.bbox, m.score
        if ev.kind == "currency" and parse_currency(_as_text(raw)) != out.value:
            # The currency was inferred by ragline, not read by the model: a line printing it proves nothing.
            ev.note = f"{why}; {out.note or 'currency inferred'}; printed on page {m.page}"
        elif has_label:
            ev.supported = True
            ev.note = f"{why}; quote is the document's line printing the value, next to a label of the field"
        else:
            ev.note = f"{why}; the value is printed on page {m.page}, but not next to a label of the field"


# How the words of common field names are printed as labels on documents, in the languages of the
# evaluation invoices (en, de, fr, nl, pl, es, it): "amount_tax" is labelled "VAT", "MwSt", "TVA", "BTW".
_LABEL_SYNONYMS: dict[str, tuple[str, ...]] = {
    "tax": ("vat", "gst", "mwst", "ust", "steuer", "tva", "taxe", "btw", "iva", "podatek"),
    "untaxed": ("net", "netto", "subtotal", "excl", "exclusief", "ht", "hors", "nettobetrag"),
    "invoice": ("rechnung", "facture", "factuur", "faktura", "factura", "fattura", "bill"),
    "number": ("no", "nr", "num", "nummer", "numéro", "numero", "nº"),
    "date": ("datum", "data", "fecha", "dated", "issued"),
    "total": ("gesamt", "totaal", "razem", "importe", "totale", "summe", "due"),
}


def _label_words(field: str) -> str:
    words = field.replace("_", " ").split()
    return " ".join(words + [syn for w in words for syn in _LABEL_SYNONYMS.get(w.casefold(), ())])


_PERCENT_RE = re.compile(r"[-+]?\d[\d.,]*\s*%")


def _hint_kind(kind: str) -> str:
    return {"number": "amount", "datetime": "date"}.get(kind, kind)


def _prints_value(kind: str, value: Any, raw: Any, line: str, hints: LocaleHints) -> bool:
    """Whether ``line`` prints ``value`` (compared as typed values, so 1.234,56 matches 1234.56)."""
    if value is None or not line.strip():
        return False
    if kind in ("amount", "number", "percentage"):
        try:
            target = abs(Decimal(str(value)))
        except ArithmeticError:
            return False
        if kind == "percentage":
            found = [parse_percentage(m.group(0), decimal_separator=hints.decimal_separator)
                     for m in _PERCENT_RE.finditer(line)]
            return any(p is not None and abs(abs(p) - target) < Decimal("0.005") for p in found)
        return any(abs(abs(a.value) - target) < Decimal("0.005")
                   for a in find_amounts(line, decimal_separator=hints.decimal_separator))
    if kind in ("date", "datetime"):
        day = value.date() if isinstance(value, dt.datetime) else value
        return any(d.value == day for d in find_dates(line, dayfirst=hints.dayfirst,
                                                        decimal_separator=hints.decimal_separator))
    if kind == "currency":
        return parse_currency(line) == value or (len(str(value)) >= 3 and str(value).casefold() in line.casefold())
    text = _dense(_as_text(raw if kind == "text" else value))
    return len(text) >= 2 and text in _dense(line)


def _clip_line(line: str, printed: str, limit: int) -> str:
    """``line`` cut to ``limit`` characters around ``printed`` (whole words)."""
    if len(line) <= limit:
        return line
    pos = line.find(printed) if printed else -1
    start = max(0, (pos if pos >= 0 else 0) - limit // 2)
    cut = line[start : start + limit]
    if start > 0 and " " in cut:
        cut = cut[cut.index(" ") + 1 :]
    if start + limit < len(line) and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut


class _Reask(Exception):
    def __init__(self, for_model: str, for_log: str, invalid: _InvalidReply | None = None) -> None:
        super().__init__(for_log)
        self.for_model = for_model
        self.for_log = for_log
        self.invalid = invalid


class _InvalidReply:
    """A reply that parsed but failed the schema's validation: what is needed to salvage its valid fields."""

    def __init__(self, values: dict[str, Any], evidence: dict[str, FieldEvidence], errors: list[Any]) -> None:
        self.values = values
        self.evidence = evidence
        self.errors = errors


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
        from ..parsing import parse

        document = parse(source)
    return StructuredExtractor(schema, client, options).run(document, raise_on_failure=raise_on_failure)


__all__ = [
    "ExtractionOptions",
    "ExtractionResult",
    "ExtractionStatus",
    "FieldEvidence",
    "StructuredExtractor",
    "evidence_schema",
    "extract",
    "field_kind",
    "select_context",
]
