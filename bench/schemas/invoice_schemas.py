"""Six invoice schemas a user might write (see ``bench/schemas/__init__.py``). Do not tune them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, Field


class Bill(BaseModel):
    """A supplier bill."""

    bill_no: str | None = Field(default=None, description="reference number of the bill")
    bill_date: dt.date | None = Field(default=None, description="when the bill was issued")
    grand_total: float | None = Field(default=None, description="the final amount including VAT")
    net_total: float | None = Field(default=None, description="sum before VAT")
    vat_total: float | None = Field(default=None, description="VAT charged")
    currency_code: str | None = Field(default=None, description="ISO 4217 code")


class Rechnung(BaseModel):
    """Rechnungskopf."""

    rechnungsnummer: str | None = Field(default=None, description="die Nummer der Rechnung")
    rechnungsdatum: dt.date | None = Field(default=None, description="Ausstellungsdatum der Rechnung")
    bruttobetrag: Decimal | None = Field(default=None, description="Gesamtbetrag einschließlich Umsatzsteuer")
    nettobetrag: Decimal | None = Field(default=None, description="Summe ohne Umsatzsteuer")
    steuerbetrag: Decimal | None = Field(default=None, description="Betrag der Umsatzsteuer")
    waehrung: str | None = Field(default=None, description="Währung der Beträge")
    zahlbetrag: Decimal | None = Field(default=None, description="der fällige Zahlbetrag")
    verkaeufer: str | None = Field(default=None, description="Name des Verkäufers (Rechnungssteller)")


class Facture(BaseModel):
    """En-tête de facture."""

    numero_facture: str | None = Field(default=None, description="numéro de la facture")
    date_facture: dt.date | None = Field(default=None, description="date d'émission de la facture")
    montant_ttc: float | None = Field(default=None, description="montant total toutes taxes comprises")
    montant_ht: float | None = Field(default=None, description="montant hors taxes")
    montant_tva: float | None = Field(default=None, description="montant de la TVA")
    devise: str | None = Field(default=None, description="devise des montants")
    fournisseur: str | None = Field(default=None, description="nom du fournisseur")
    client: str | None = Field(default=None, description="nom du client facturé")


class SupplierInvoice(BaseModel):
    """Invoice received from a supplier: the issue's example, with required fields."""

    invoice_number: str = Field(description="identifier the seller gave this invoice")
    issue_date: dt.date = Field(description="date of issue")
    seller_name: str = Field(description="legal name of the company that issued the invoice")
    buyer_name: str | None = Field(default=None, description="who the invoice is addressed to")
    currency: str | None = Field(default=None, description="currency of the invoice")
    grand_total: float | None = Field(default=None, description="total amount with tax")
    tax_total: float | None = Field(default=None, description="total tax")
    due_payable: float | None = Field(default=None, description="amount still due for payment")


class Terse(BaseModel):
    doc_id: str | None = None
    doc_date: dt.date | None = None
    gross: float | None = None
    net: float | None = None
    vat: float | None = None
    ccy: str | None = None


class LineItem(BaseModel):
    description: str | None = None
    quantity: float | None = None
    line_total: float | None = None


class PayableInvoice(BaseModel):
    """Accounts-payable record with payment details."""

    invoice_id: str | None = Field(default=None, description="the invoice number")
    invoiced_on: dt.date | None = Field(default=None, description="invoice date")
    pay_by: dt.date | None = Field(default=None, description="payment due date")
    total_amount: Decimal | None = Field(default=None, description="invoice total, taxes included")
    subtotal: Decimal | None = Field(default=None, description="total of the lines before tax")
    tax_amount: Decimal | None = Field(default=None, description="tax")
    currency: str | None = None
    seller_vat_id: str | None = Field(default=None, description="VAT registration number of the seller")
    iban: str | None = Field(default=None, description="bank account to pay into (IBAN)")
    line_items: list[LineItem] = Field(default_factory=list, description="the invoice lines")


# schema field -> concept the evaluator compares it with (see bench/eval_schemas.py GOLD)
CONCEPTS: dict[str, dict[str, str]] = {
    "Bill": {"bill_no": "number", "bill_date": "date", "grand_total": "total", "net_total": "untaxed",
             "vat_total": "tax", "currency_code": "currency"},
    "Rechnung": {"rechnungsnummer": "number", "rechnungsdatum": "date", "bruttobetrag": "total",
                 "nettobetrag": "untaxed", "steuerbetrag": "tax", "waehrung": "currency",
                 "zahlbetrag": "due_payable", "verkaeufer": "seller"},
    "Facture": {"numero_facture": "number", "date_facture": "date", "montant_ttc": "total", "montant_ht": "untaxed",
                "montant_tva": "tax", "devise": "currency", "fournisseur": "seller", "client": "buyer"},
    "SupplierInvoice": {"invoice_number": "number", "issue_date": "date", "seller_name": "seller",
                        "buyer_name": "buyer", "currency": "currency", "grand_total": "total", "tax_total": "tax",
                        "due_payable": "due_payable"},
    "Terse": {"doc_id": "number", "doc_date": "date", "gross": "total", "net": "untaxed", "vat": "tax",
              "ccy": "currency"},
    "PayableInvoice": {"invoice_id": "number", "invoiced_on": "date", "pay_by": "due_date", "total_amount": "total",
                       "subtotal": "untaxed", "tax_amount": "tax", "currency": "currency",
                       "seller_vat_id": "seller_vat_id", "iban": "iban"},
}
BUILTIN_CONCEPTS = {"invoice_number": "number", "date": "date", "amount": "total", "amount_untaxed": "untaxed",
                    "amount_tax": "tax", "currency": "currency"}
SCHEMAS: dict[str, type[BaseModel]] = {
    "Bill": Bill, "Rechnung": Rechnung, "Facture": Facture, "SupplierInvoice": SupplierInvoice, "Terse": Terse,
    "PayableInvoice": PayableInvoice,
}
