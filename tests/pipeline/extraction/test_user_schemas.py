"""A user's own schema: fields understood by meaning, nothing thrown away, failures that say so (fake LLM)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import httpx
import numpy as np
import pytest
from _llm_fakes import connect_error
from pydantic import BaseModel, Field
from test_candidates import CLEAN, doc_of, never_called

from pipeline.extraction import ExtractionOptions, ExtractionRecord, ExtractionStatus, StructuredExtractor, extract
from pipeline.extraction._meaning import GLOSSES, RoleGlosses, lexicon_role
from pipeline.llm import LLMClient, RetryPolicy


def rules_only() -> LLMClient:
    """A client the rules must never need: any model call fails the test."""
    return LLMClient("http://fake/v1", model="fake", transport=httpx.MockTransport(never_called),
                     sleep=lambda d: None)


def dead_endpoint() -> LLMClient:
    """Nothing listening: every call is refused, no retries."""
    def dead(request: httpx.Request) -> httpx.Response:
        raise connect_error()

    return LLMClient("http://127.0.0.1:9/v1", model="fake", transport=httpx.MockTransport(dead),
                     sleep=lambda d: None, retry=RetryPolicy(max_retries=0))


# Names and descriptions none of the bench schemas use (bench/schemas): the lexicon must know them by meaning.
@pytest.mark.parametrize(("name", "kind", "description", "role"), [
    ("importe_total", "amount", "", "total"),
    ("base_imponible", "amount", "", "untaxed"),
    ("montantTVA", "amount", "", "tax"),
    ("totalDue", "amount", "", "due_payable"),
    ("betrag", "amount", "Gesamtbetrag einschließlich Umsatzsteuer", "total"),
    ("betrag", "amount", "Summe ohne Umsatzsteuer", "untaxed"),
    ("tax_total", "amount", "total tax", "tax"),
    ("numeroFactura", "text", "", "doc_number"),
    ("fecha_emision", "date", "", "issue_date"),
    ("kundennummer", "text", "", "customer_number"),
    ("tax_id", "text", "", "vat_id"),
    ("tax", "amount", "", "tax"),
    ("proveedor", "text", "", "seller"),
    ("bill_to", "text", "", "buyer"),
    ("ccy", "text", "", "currency"),
    # Not the invoice's own: wrong would be worse than none.
    ("order_number", "text", "", None),
    ("po_number", "text", "", None),
    ("delivery_date", "date", "", None),
    ("shipping_cost", "amount", "", None),
    ("notes", "text", "", None),
    ("net_income", "amount", "", "net_income"),  # a statement line, not an invoice's net
    ("total_assets", "amount", "", "total_assets"),
    ("umsatzerloese", "amount", "", "revenue"),
    ("dilutedEPS", "amount", "", "eps_diluted"),
    ("basic_eps", "amount", "", "eps_basic"),
    ("headcount", "number", "", "employees"),
    ("registrant", "text", "", "registrant"),
    ("fiscal_year_end", "date", "", "period_end"),
])
def test_fields_are_understood_by_meaning_not_spelling(name: str, kind: str, description: str,
                                                      role: str | None) -> None:
    assert lexicon_role(name, kind, description)[0] == role


class _FakeEmbedder:
    """Unit vectors: the total's gloss and a field worded like it point the same way."""

    def __init__(self, near: str) -> None:
        self.near = near

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        roles = list(GLOSSES)
        out = np.zeros((len(texts), len(roles) + 1), dtype=np.float32)
        for i, t in enumerate(texts):
            hit = next((j for j, r in enumerate(roles) if GLOSSES[r] == t), None)
            if hit is None and self.near in t:
                hit = roles.index("total")
            out[i, hit if hit is not None else len(roles)] = 1.0
        return out


def test_the_embedding_model_finds_the_role_of_a_field_the_lexicon_does_not_know() -> None:
    class S(BaseModel):
        zorblax: float | None = Field(default=None, description="what the zorblax says")
        quux: float | None = None

    x = StructuredExtractor(S, embedder=_FakeEmbedder("zorblax"))
    assert x.meanings["zorblax"].role == "total"
    assert "embedding" in x.meanings["zorblax"].how
    assert x.meanings["quux"].role is None  # not close to any role: no role, no guess
    off = StructuredExtractor(S, options=ExtractionOptions(embedding_fallback=False))
    assert off.meanings["zorblax"].role is None
    assert RoleGlosses(_FakeEmbedder("x")).closest("x", "date")[0] is None  # the total takes no date


class Bill(BaseModel):
    bill_no: str | None = Field(default=None, description="reference number of the bill")
    bill_date: dt.date | None = None
    grand_total: float | None = Field(default=None, description="the final amount including VAT")
    net_total: float | None = None
    vat_total: float | None = None
    ccy: str | None = None
    customer_no: str | None = None


def test_a_renamed_schema_gets_the_same_values_by_rule_without_the_model() -> None:
    doc = doc_of(*CLEAN)
    client = rules_only()
    res = extract(doc, schema=Bill, client=client)
    assert res.status is ExtractionStatus.SUCCESS
    assert res.data is not None
    assert res.data.model_dump(mode="json") == {
        "bill_no": "INV-1001", "bill_date": "2024-03-05", "grand_total": 120.0, "net_total": 100.0,
        "vat_total": 20.0, "ccy": "EUR", "customer_no": "K-2231"}  # not the invoice number printed above it


class WithRequired(BaseModel):
    invoice_number: str
    total: float
    due_date: dt.date = Field(description="payment due date")  # not printed on CLEAN


def test_a_required_field_not_found_keeps_the_rest_of_the_record() -> None:
    client = rules_only()
    res = extract(doc_of(*CLEAN), schema=WithRequired, client=client, raise_on_failure=False)
    assert res.status is ExtractionStatus.PARTIAL
    assert res.data is None  # the schema cannot validate without it ...
    assert res.partial_data == {"invoice_number": "INV-1001", "total": 120.0, "due_date": None}  # ... the rest stays
    assert [(e.reason, e.message.split(":")[0]) for e in res.errors] == [("required_field_missing", "due_date")]
    assert res.to_record()["partial_data"]["total"] == 120.0
    assert res.values()["invoice_number"] == "INV-1001"


def test_failure_without_an_error_record_is_impossible() -> None:
    from pipeline.extraction import ExtractionResult

    res = ExtractionResult[Bill](source="x.pdf", status=ExtractionStatus.FAILURE)
    assert res.errors and res.errors[0].reason == "no_record"


class WithNotes(BaseModel):
    invoice_number: str | None = None
    total: float | None = None
    notes: str | None = Field(default=None, description="free-text remarks")  # only the model can read it


def test_a_dead_endpoint_is_not_success_and_says_which_fields_it_cost() -> None:
    client = dead_endpoint()
    res = extract(doc_of(*CLEAN), schema=WithNotes, client=client, raise_on_failure=False,
                  options=ExtractionOptions(embedding_fallback=False))
    assert res.status is ExtractionStatus.PARTIAL  # the rules' fields are kept ...
    assert res.data is not None and res.data.total == 120.0
    assert any(e.reason == "llm_connection" for e in res.errors)  # ... and the outage is said
    assert "model call failed" in (res.evidence["notes"].note or "")


def test_a_dead_endpoint_with_nothing_else_found_is_a_failure() -> None:
    class OnlyNotes(BaseModel):
        notes: str | None = None

    client = dead_endpoint()
    res = extract(doc_of(*CLEAN), schema=OnlyNotes, client=client, raise_on_failure=False,
                  options=ExtractionOptions(embedding_fallback=False))
    assert res.status is ExtractionStatus.FAILURE
    assert res.errors and res.errors[0].reason == "llm_connection"



# -- the project's sample invoice, with a user's schema ------------------------------------------------------

class Purchase(BaseModel):
    invoice_no: str | None = None
    customer_number: str | None = Field(default=None, description="our customer number at the supplier")
    iban: str | None = None
    seller: str | None = None
    buyer: str | None = None
    amount_due: float | None = None


def test_the_sample_invoice_with_a_user_schema_ties_each_value_to_its_own_label(tmp_path: Path) -> None:
    import make_samples

    path = tmp_path / "invoice.pdf"
    path.write_bytes(make_samples.invoice_bytes())
    client = rules_only()
    res = extract(path, schema=Purchase, client=client)
    assert res.data is not None
    assert res.data.invoice_no == "INV-2026-0042"
    assert res.data.customer_number == "K-10387"  # printed two lines below the invoice number
    assert res.data.iban == "DE89370400440532013000"  # its form (checked digits), printed in groups of four
    assert (res.data.seller, res.data.buyer) == ("ACME Technical Publishing GmbH", "Nordtor Logistik GmbH")
    assert res.data.amount_due == 1234.56
    assert res.evidence["customer_number"].certainty == "verified"
    assert res.evidence["customer_number"].role == "customer_number"
    assert res.evidence["customer_number"].label and "Customer" in res.evidence["customer_number"].label


class Rechnung(BaseModel):
    rechnungsnummer: str | None = None
    zahlbetrag: float | None = Field(default=None, description="der fällige Zahlbetrag")


def test_the_e_invoice_xml_answers_a_user_schema_by_meaning(tmp_path: Path) -> None:
    import make_samples

    path = tmp_path / "einvoice.pdf"
    path.write_bytes(make_samples.einvoice_bytes())
    client = rules_only()
    res = extract(path, schema=Rechnung, client=client)
    assert res.data is not None and (res.data.rechnungsnummer, res.data.zahlbetrag) == ("INV-2026-0042", 1234.56)
    ev = res.evidence["zahlbetrag"]
    assert "DuePayableAmount" in (ev.note or "") and ev.certainty == "verified"


def test_one_printed_value_taken_by_two_meanings_is_a_conflict() -> None:
    from pipeline.extraction._candidate_extract import mark_conflicts
    from pipeline.extraction._candidates import Candidate
    from pipeline.extraction._choose import Decision, Plan
    from pipeline.extraction._field_evidence import FieldEvidence
    from pipeline.extraction._ranking import Ranked

    c = Candidate(id="c3", kind="id", value="INV-1", printed="INV-1", page=1, box=None, quote="No. INV-1",
                  order=0, rel_y=0.1)
    plan = Plan(decisions={
        "invoice_number": Decision("invoice_number", "text", chosen=Ranked(c, 1.0, ""), role="doc_number"),
        "customer_number": Decision("customer_number", "text", chosen=Ranked(c, 0.6, ""), role="customer_number"),
    }, undecided={}, currency_fields=[], free_fields=[])
    evidence = {n: FieldEvidence(field=n, kind="text", value="INV-1", quote="No. INV-1", supported=True,
                                 quote_origin="document", certainty="verified", page=1) for n in plan.decisions}
    mark_conflicts(evidence, plan, ocr_pages=[1])
    assert {e.certainty for e in evidence.values()} == {"conflict"}
    assert "also taken for customer_number" in (evidence["invoice_number"].note or "")
    assert all(e.ocr for e in evidence.values())


def test_the_report_draws_uncertain_and_conflicting_values_apart() -> None:
    from pipeline.report import field_views

    record = {"data": {"a": 1, "b": 2, "c": 3, "d": None}, "evidence": {
        "a": {"supported": True, "certainty": "verified"},
        "b": {"supported": True, "certainty": "uncertain", "runner_up": "7 (label 'x')"},
        "c": {"supported": True, "certainty": "conflict"},
        "d": {"supported": None}}}
    assert [f.state for f in field_views(record)] == ["ok", "unsure", "conflict", "absent"]
    assert field_views(record)[1].label.endswith("(uncertain)")


def test_the_csv_keeps_a_partial_record_and_its_values(tmp_path: Path) -> None:
    import csv

    from pipeline.batch import write_csv

    client = rules_only()
    res = extract(doc_of(*CLEAN), schema=WithRequired, client=client, raise_on_failure=False)
    n = write_csv(tmp_path / "out.csv", lambda: iter([ExtractionRecord.from_result(res)]), list(WithRequired.model_fields))
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert n == 1 and rows[0]["status"] == "partial" and rows[0]["total"] == "120.0"
    assert rows[0]["invoice_number"] == "INV-1001" and "required_field_missing" in rows[0]["errors"]
