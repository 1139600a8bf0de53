"""What the fake provider answers in the Batch API tests, and the documents and schema they run on."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

REASK_PREFIX = "Your previous reply was invalid"
SELLER = "ACME Technical Publishing GmbH"
AMBIGUOUS = ("Invoice No. INV-7\nSeller: ACME Technical Publishing GmbH\nTotal 80,00 EUR\n"
             "Amount due 95,00 EUR\n")


class Bill(BaseModel):
    """An invoice."""

    invoice_number: str | None = Field(None, description="the invoice number")
    date: dt.date | None = Field(None, description="issue date")
    amount: float | None = Field(None, description="total amount due")
    currency: str | None = None
    # ragline_role none: these tests drive the model's free-text path (re-asks across rounds); on its own the
    # seller would be settled by rule from the sample's "From" column.
    seller: str | None = Field(None, description="the company that issued the invoice",
                               json_schema_extra={"ragline_role": "none"})

    @field_validator("seller")
    @classmethod
    def _with_legal_form(cls, value: str | None) -> str | None:
        if value is not None and not value.endswith(("GmbH", "Inc.", "Ltd")):
            raise ValueError("the seller is a company name with its legal form (GmbH, Inc., Ltd)")
        return value


def reasked(body: dict[str, Any]) -> bool:
    return any(str(m.get("content", "")).startswith(REASK_PREFIX) for m in body["messages"] if m["role"] == "user")


def _properties(body: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """(is it a choice among candidate ids, the reply schema's properties), in either structured form."""
    fmt = body.get("response_format") or {}
    schema = fmt["json_schema"]["schema"] if fmt.get("type") == "json_schema" else fmt.get("schema") or {}
    props = schema.get("properties", {})
    return bool(props) and all("enum" in p for p in props.values()), props


def bill_answer(body: dict[str, Any]) -> str:
    """Choices: the first candidate offered. The seller: without its legal form (invalid) until re-asked."""
    choice, props = _properties(body)
    if choice:
        return json.dumps({f: spec["enum"][0] for f, spec in props.items()})
    seller = SELLER if reasked(body) else "ACME Technical Publishing"
    reply = {f: {"value": None, "quote": None} for f in props}
    reply["seller"] = {"value": seller, "quote": seller}
    return json.dumps(reply)


def bill_docs(sample_docs: Path, folder: Path) -> Path:
    """The sample invoice (one free field to ask) and a text invoice with two totals (a choice to ask)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(sample_docs / "invoice_acme.pdf", folder / "acme.pdf")
    (folder / "two_totals.txt").write_text(AMBIGUOUS, encoding="utf-8")
    return folder


def schema_file(folder: Path) -> str:
    """``Bill`` as a schema file (the CLI loads schemas by spec)."""
    path = folder / "bill_schema.py"
    path.write_text(Path(__file__).read_text(encoding="utf-8"), encoding="utf-8")
    return f"{path}:Bill"
