"""What the model is asked for: each field's kind, its line in the prompt, and the reply's JSON schema.

Typed fields (amounts, dates, percentages, currencies) are asked for as printed strings, which
ragline parses itself (:mod:`._field_values`); every field comes with a verbatim quote.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

FieldKind = Literal["amount", "number", "date", "datetime", "percentage", "currency", "text", "bool", "json"]

PRINTED_KINDS = frozenset({"amount", "number", "date", "datetime", "percentage"})
MAX_PRINTED = 80  # characters of a printed amount/date/currency
MAX_TEXT = 400
MAX_QUOTE = 240

_KIND_HINTS: dict[str, str] = {
    "amount": "amount",
    "number": "number",
    "date": "date",
    "datetime": "date and time",
    "percentage": "percentage",
    "currency": "currency",
    "text": "text",
    "bool": "true or false",
    "json": "structured value",
}


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


def describe_field(name: str, info: FieldInfo, kind: str) -> str:
    """The field's line in the prompt: ``- total (amount) - total amount due``."""
    desc = f" - {info.description}" if info.description else ""
    return f"- {name} ({_KIND_HINTS[kind]}){desc}"


def _value_schema(kind: str, model_property: dict[str, Any]) -> dict[str, Any]:
    if kind in PRINTED_KINDS or kind == "currency":
        # Bounded lengths turn into bounded grammars: a small model that starts repeating itself
        # stops at the bound instead of running into max_tokens (measured: 600 s on one invoice).
        return {"anyOf": [{"type": "string", "maxLength": MAX_PRINTED}, {"type": "null"}]}
    if kind == "text":
        return {"anyOf": [{"type": "string", "maxLength": MAX_TEXT}, {"type": "null"}]}
    if kind == "bool":
        return {"type": ["boolean", "null"]}
    inner = dict(model_property)
    inner.pop("default", None)
    inner.pop("title", None)
    return {"anyOf": [inner, {"type": "null"}]} if inner else {}


def evidence_schema(model: type[BaseModel]) -> dict[str, Any]:
    """JSON schema of the model's reply: ``{field: {"value": ..., "quote": string|null}}`` for every field.

    Typed fields are asked for as strings (the printed form), which ragline parses itself.
    """
    full = model.model_json_schema()
    props_src = full.get("properties", {})
    props: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        value_schema = _value_schema(field_kind(name, info), props_src.get(key, {}))
        if info.description:
            value_schema["description"] = info.description
        props[key] = {
            "type": "object",
            # A string, not nullable: constrained decoding then makes small models actually copy a
            # passage (with a nullable quote a 0.5B model mostly writes null); "" means no quote.
            "properties": {"value": value_schema, "quote": {"type": "string", "maxLength": MAX_QUOTE}},
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


__all__ = ["MAX_QUOTE", "FieldKind", "describe_field", "evidence_schema", "field_kind"]
