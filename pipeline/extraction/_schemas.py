"""Loading a user's extraction schema (``module:Model``, ``file.py:Model``, ``schema.json``) and
ready-made schemas."""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, create_model, field_validator

from pipeline.exceptions import ConfigurationError


class Invoice(BaseModel):
    """Invoice header fields (the core fields of the invoice2data ground truth)."""

    # Descriptions say what the field is, without example strings: small models copy those verbatim.
    invoice_number: str | None = Field(
        default=None, description="the invoice's own number (not an order, customer, account or tax number)"
    )
    date: dt.date | None = Field(default=None, description="the date the invoice was issued")
    amount: float | None = Field(default=None, description="the total amount to pay, taxes included")
    amount_untaxed: float | None = Field(default=None, description="the total before taxes")
    amount_tax: float | None = Field(default=None, description="the total tax amount")
    currency: str | None = Field(default=None, description="the currency the amounts are in")

    # Business rules. A value that breaks one is sent back to the model with the message (re-ask);
    # if it still breaks it after the last attempt, the field becomes null and is flagged.
    @field_validator("invoice_number")
    @classmethod
    def _looks_like_an_invoice_number(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip()
        if "@" in v:
            raise ValueError("this is an e-mail address, not the invoice number")
        if _IBAN_RE.fullmatch(v.replace(" ", "")):
            raise ValueError("this is a bank account (IBAN), not the invoice number")
        if _DATE_LIKE_RE.fullmatch(v) or re.search(r"(?i)\bdate\b", v):  # "INV/2023/03/0008" is a number
            raise ValueError("this is a date, not the invoice number")
        if not any(ch.isdigit() for ch in v):
            raise ValueError("an invoice number contains digits; this has none")
        if len(v.split()) > 3:
            raise ValueError("an invoice number is one code, not a phrase; give only the number")
        return v

    @field_validator("amount_tax")
    @classmethod
    def _tax_below_total(cls, v: float | None, info: ValidationInfo) -> float | None:
        # Only rules that say which field is wrong: a tax as large as the total is the tax field's error.
        # "untaxed <= total" or "untaxed + tax == total" can be broken by either field, and nulling the
        # field the rule is attached to removed correct values on invoice2data (docs/llm.md).
        total = info.data.get("amount")
        if v is not None and v != 0 and total is not None and abs(v) >= abs(total) - 0.01:
            raise ValueError(f"the tax ({v}) must be less than the total ({total}); give the tax amount only")
        return v


_IBAN_RE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
_DATE_LIKE_RE = re.compile(
    r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|(?:\d{1,2}\.? )?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
    r"(?: \d{1,2},?)?(?: \d{2,4})?",
    re.I,
)


_JSON_TYPES: dict[str, Any] = {
    "string": str,
    "number": float,
    "integer": int,
    "boolean": bool,
    "array": list,
    "object": dict,
}


def model_from_json_schema(schema: dict[str, Any], name: str | None = None) -> type[BaseModel]:
    """A pydantic model for a flat JSON schema (top-level properties of simple types).

    ``string`` with ``format: date`` / ``date-time`` becomes a date / datetime; ``description``
    is kept (the model sees it); properties not in ``required`` are optional.
    """
    props = schema.get("properties")
    if schema.get("type", "object") != "object" or not isinstance(props, dict) or not props:
        raise ConfigurationError("a JSON schema for extraction must be an object with properties", stage="extract")
    required = set(schema.get("required", []))
    fields: dict[str, Any] = {}
    for key, prop in props.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ConfigurationError(f"unsupported property name {key!r} (use identifiers)", stage="extract")
        t = prop.get("type", "string")
        if isinstance(t, list):
            t = next((x for x in t if x != "null"), "string")
        py: Any = _JSON_TYPES.get(t)
        if py is None:
            raise ConfigurationError(f"unsupported JSON type {t!r} for {key!r}", stage="extract")
        if t == "string" and prop.get("format") == "date":
            py = dt.date
        elif t == "string" and prop.get("format") == "date-time":
            py = dt.datetime
        extra = {"ragline_kind": prop["x-ragline-kind"]} if "x-ragline-kind" in prop else None
        desc = prop.get("description")
        if key in required:
            fields[key] = (py, Field(..., description=desc, json_schema_extra=extra))
        else:
            fields[key] = (py | None, Field(default=None, description=desc, json_schema_extra=extra))
    model_name = re.sub(r"\W", "_", name or str(schema.get("title") or "Schema"))
    model = create_model(model_name, **fields)
    if schema.get("description"):
        model.__doc__ = str(schema["description"])
    return model


def load_schema(spec: str) -> type[BaseModel]:
    """Resolve ``module:Model``, ``path/to/file.py:Model`` or ``schema.json`` to a pydantic model class."""
    if spec.endswith(".json"):
        path = Path(spec)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read JSON schema {spec}: {exc}", stage="extract") from exc
        return model_from_json_schema(data, name=data.get("title") or path.stem)
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise ConfigurationError(
            f"--schema must be module:Model, file.py:Model or schema.json, got {spec!r}", stage="extract"
        )
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise ConfigurationError(f"schema file not found: {target}", stage="extract")
        mod_name = f"_ragline_schema_{abs(hash(str(path.resolve())))}"
        mspec = importlib.util.spec_from_file_location(mod_name, path)
        if mspec is None or mspec.loader is None:
            raise ConfigurationError(f"cannot load {target}", stage="extract")
        module = importlib.util.module_from_spec(mspec)
        sys.modules[mod_name] = module  # pydantic resolves forward references through sys.modules
        try:
            mspec.loader.exec_module(module)
        except Exception as exc:
            raise ConfigurationError(f"error importing {target}: {type(exc).__name__}: {exc}", stage="extract") from exc
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ConfigurationError(f"cannot import module {target!r}: {exc}", stage="extract") from exc
    model = getattr(module, attr, None)
    if model is None:
        import difflib

        models = sorted(n for n, v in vars(module).items()
                        if isinstance(v, type) and issubclass(v, BaseModel) and v is not BaseModel)
        close = difflib.get_close_matches(attr, models, n=1)
        hint = f"; did you mean {target}:{close[0]}?" if close else (
            f"; its pydantic models: {', '.join(models[:8])}" if models else "; it defines no pydantic model")
        raise ConfigurationError(f"{target} has no {attr!r}{hint}", stage="extract")
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ConfigurationError(f"{spec} is {type(model).__name__}, not a pydantic model class", stage="extract")
    return model


__all__ = ["Invoice", "load_schema", "model_from_json_schema"]
