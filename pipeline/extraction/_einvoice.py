"""Invoice data embedded in a PDF: Factur-X / ZUGFeRD / XRechnung (UN/CEFACT CII) or UBL XML attachments.

A hybrid e-invoice carries the invoice twice: printed on the page and as XML attached to the PDF.
The XML is the stronger source (it is what the seller's system issued), so its values become the
strongest candidates of the fields it covers; the evidence names the XML element, and says whether
the printed page agrees.

The XML is untrusted input. It is parsed with ``defusedxml`` (no DTDs, no entity expansion, no
external entities: an XXE or a "billion laughs" attachment is refused, not expanded), attachments
over :data:`MAX_XML_BYTES` are not read, and only a few header elements are looked at.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pipeline.document import Document

MAX_XML_BYTES = 5_000_000
MAX_ATTACHMENTS = 20

# role -> paths of local element names under the root (the first present wins)
_CII_PATHS: dict[str, list[tuple[str, ...]]] = {
    "doc_number": [("ExchangedDocument", "ID")],
    "issue_date": [("ExchangedDocument", "IssueDateTime", "DateTimeString")],
    "currency": [("SupplyChainTradeTransaction", "ApplicableHeaderTradeSettlement", "InvoiceCurrencyCode")],
    "total": [("SupplyChainTradeTransaction", "ApplicableHeaderTradeSettlement",
               "SpecifiedTradeSettlementHeaderMonetarySummation", "GrandTotalAmount")],
    "untaxed": [("SupplyChainTradeTransaction", "ApplicableHeaderTradeSettlement",
                 "SpecifiedTradeSettlementHeaderMonetarySummation", "TaxBasisTotalAmount")],
    "tax": [("SupplyChainTradeTransaction", "ApplicableHeaderTradeSettlement",
             "SpecifiedTradeSettlementHeaderMonetarySummation", "TaxTotalAmount")],
    "due_date": [("SupplyChainTradeTransaction", "ApplicableHeaderTradeSettlement", "SpecifiedTradePaymentTerms",
                  "DueDateDateTime", "DateTimeString")],
    "due_payable": [("SupplyChainTradeTransaction", "ApplicableHeaderTradeSettlement",
                     "SpecifiedTradeSettlementHeaderMonetarySummation", "DuePayableAmount")],
    "seller": [("SupplyChainTradeTransaction", "ApplicableHeaderTradeAgreement", "SellerTradeParty", "Name")],
    "buyer": [("SupplyChainTradeTransaction", "ApplicableHeaderTradeAgreement", "BuyerTradeParty", "Name")],
    "vat_id": [("SupplyChainTradeTransaction", "ApplicableHeaderTradeAgreement", "SellerTradeParty",
                "SpecifiedTaxRegistration", "ID@schemeID=VA")],
    "iban": [("SupplyChainTradeTransaction", "ApplicableHeaderTradeSettlement", "SpecifiedTradeSettlementPaymentMeans",
              "PayeePartyCreditorFinancialAccount", "IBANID")],
}
_UBL_PATHS: dict[str, list[tuple[str, ...]]] = {
    "doc_number": [("ID",)],
    "issue_date": [("IssueDate",)],
    "currency": [("DocumentCurrencyCode",)],
    "total": [("LegalMonetaryTotal", "TaxInclusiveAmount"), ("LegalMonetaryTotal", "PayableAmount")],
    "untaxed": [("LegalMonetaryTotal", "TaxExclusiveAmount")],
    "tax": [("TaxTotal", "TaxAmount")],
    "due_date": [("DueDate",), ("PaymentMeans", "PaymentDueDate")],
    "due_payable": [("LegalMonetaryTotal", "PayableAmount")],
    "seller": [("AccountingSupplierParty", "Party", "PartyLegalEntity", "RegistrationName"),
               ("AccountingSupplierParty", "Party", "PartyName", "Name")],
    "buyer": [("AccountingCustomerParty", "Party", "PartyLegalEntity", "RegistrationName"),
              ("AccountingCustomerParty", "Party", "PartyName", "Name")],
    "vat_id": [("AccountingSupplierParty", "Party", "PartyTaxScheme", "CompanyID")],
    "iban": [("PaymentMeans", "PayeeFinancialAccount", "ID")],
}
_KIND = {"doc_number": "id", "currency": "currency", "issue_date": "date", "due_date": "date",
         "total": "amount", "untaxed": "amount", "tax": "amount", "due_payable": "amount", "seller": "text",
         "buyer": "text", "vat_id": "id", "iban": "id"}


@dataclass(frozen=True)
class XmlValue:
    """One value read from the invoice XML, and the element it came from."""

    role: str
    value: Decimal | dt.date | str
    raw: str
    element: str  # "ram:GrandTotalAmount" as written in the file

    @property
    def quote(self) -> str:
        return f"<{self.element}>{self.raw}</{self.element}>"


@dataclass(frozen=True)
class EInvoice:
    """The recognised invoice XML of a PDF: its syntax, attachment name and header values by role."""

    syntax: str  # "CII" (Factur-X, ZUGFeRD, XRechnung CII) or "UBL"
    attachment: str
    values: dict[str, XmlValue]


@dataclass(frozen=True)
class EInvoiceReading:
    einvoice: EInvoice | None
    problems: list[str]  # attachments refused or not understood, with the reason


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _find(root: Any, path: tuple[str, ...]) -> Any:
    """The first element at ``path`` (local names; ``"ID@schemeID=VA"`` also wants that attribute value),
    trying every sibling of a repeated element (a seller has several tax registrations)."""
    if not path:
        return root
    name, _, cond = path[0].partition("@")
    attr, _, want = cond.partition("=")
    for child in root:
        if _local(child.tag) == name and (not attr or child.get(attr) == want):
            found = _find(child, path[1:])
            if found is not None:
                return found
    return None


def _prefixed(raw_xml: str, local: str) -> str:
    m = re.search(r"<([\w.-]+:)?" + re.escape(local) + r"[\s>]", raw_xml)
    return f"{m.group(1) or ''}{local}" if m else local


def _typed(role: str, text: str) -> Decimal | dt.date | str | None:
    kind = _KIND[role]
    try:
        if kind == "amount":
            return Decimal(text)
        if kind == "date":
            digits = re.sub(r"\D", "", text)
            return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])) if len(digits) >= 8 else None
    except (InvalidOperation, ValueError):
        return None
    text = re.sub(r"\s+", " ", text).strip()
    return text if text else None


def parse_invoice_xml(data: bytes, attachment: str = "invoice.xml") -> EInvoice | None:
    """The header values of a CII or UBL invoice; None for other XML. Raises ValueError on unsafe or bad XML."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    if len(data) > MAX_XML_BYTES:
        raise ValueError(f"{attachment}: {len(data)} bytes, more than the {MAX_XML_BYTES} read")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ValueError(f"{attachment}: refused ({type(exc).__name__}: DTDs and entities are not allowed)") from exc
    except ParseError as exc:
        raise ValueError(f"{attachment}: not well-formed XML ({exc})") from exc
    name = _local(root.tag)
    if name == "CrossIndustryInvoice":
        syntax, paths = "CII", _CII_PATHS
    elif name in ("Invoice", "CreditNote") and "ubl" in str(root.tag).casefold():
        syntax, paths = "UBL", _UBL_PATHS
    else:
        return None
    raw_xml = data.decode("utf-8", errors="replace")
    values: dict[str, XmlValue] = {}
    for role, options in paths.items():
        for path in options:
            node = _find(root, path)
            text = (node.text or "").strip() if node is not None else ""
            typed = _typed(role, text) if text else None
            if typed is not None:
                values[role] = XmlValue(role, typed, text, _prefixed(raw_xml, path[-1].partition("@")[0]))
                break
    return EInvoice(syntax, attachment, values) if values else None


def read_einvoice(document: Document) -> EInvoiceReading:
    """The invoice XML attached to ``document``'s PDF, if any (its file must still be at hand)."""
    path = Path(document.source)
    if document.format != "pdf" or not path.is_file():
        return EInvoiceReading(None, [])
    import pymupdf

    problems: list[str] = []
    try:
        with pymupdf.open(path) as pdf:
            names = [n for n in pdf.embfile_names() if n.casefold().endswith(".xml")][:MAX_ATTACHMENTS]
            for name in names:
                if int(pdf.embfile_info(name).get("size") or 0) > MAX_XML_BYTES:
                    problems.append(f"{name}: larger than {MAX_XML_BYTES} bytes, not read")
                    continue
                try:
                    found = parse_invoice_xml(pdf.embfile_get(name), name)
                except ValueError as exc:
                    problems.append(str(exc))
                    continue
                if found is not None:
                    return EInvoiceReading(found, problems)
    except Exception as exc:  # noqa: BLE001 - a PDF that parsed but whose attachments cannot be read
        problems.append(f"attachments not readable: {type(exc).__name__}: {exc}")
    return EInvoiceReading(None, problems)


__all__ = ["MAX_XML_BYTES", "EInvoice", "EInvoiceReading", "XmlValue", "parse_invoice_xml", "read_einvoice"]


# -- as evidence for extracted fields -----------------------------------------------------------


def role_key(role: str | None, kind: str) -> str | None:
    """The XML value role of a field: its role name, or ``currency`` for a currency field."""
    return "currency" if kind == "currency" else role


def same_value(xml: XmlValue, value: object) -> bool:
    """Whether a printed value agrees with the XML one (amounts compared unsigned: credit notes print them so)."""
    if isinstance(xml.value, Decimal) and isinstance(value, Decimal):
        return abs(abs(xml.value) - abs(value)) < Decimal("0.005")
    if isinstance(xml.value, str) and isinstance(value, str):
        return re.sub(r"[\s#:]", "", xml.value).casefold() == re.sub(r"[\s#:]", "", value).casefold()
    return xml.value == value


__all__ += ["role_key", "same_value"]
