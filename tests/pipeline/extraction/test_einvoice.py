"""Invoice XML embedded in a PDF (Factur-X / ZUGFeRD CII): strongest candidates, safe parsing."""

from __future__ import annotations

from pathlib import Path

import httpx
import make_samples
import pytest
from _llm_fakes import Script

from pipeline.extraction import Invoice, extract
from pipeline.extraction._einvoice import MAX_XML_BYTES, parse_invoice_xml
from pipeline.llm import LLMClient, RetryPolicy

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">
 <rsm:ExchangedDocument><ram:ID>&xxe;</ram:ID></rsm:ExchangedDocument></rsm:CrossIndustryInvoice>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">
 <rsm:ExchangedDocument><ram:ID>&lol4;</ram:ID></rsm:ExchangedDocument></rsm:CrossIndustryInvoice>"""


def never_called(request: httpx.Request) -> httpx.Response:
    raise AssertionError("the model must not be asked")


def client() -> LLMClient:
    return LLMClient("http://fake/v1", model="fake", structured_mode="json_object",
                     transport=Script(never_called).transport(), retry=RetryPolicy(max_retries=0))


def write(tmp_path: Path, xml: bytes | None, name: str = "factur-x.xml") -> Path:
    path = tmp_path / "einvoice.pdf"
    path.write_bytes(make_samples.einvoice_bytes(xml, name))
    return path


def test_xml_values_agreeing_with_the_page_are_quoted_from_the_page(tmp_path: Path) -> None:
    res = extract(write(tmp_path, None), schema=Invoice, client=client())
    assert res.data is not None
    assert (res.data.invoice_number, res.data.amount, res.data.amount_tax) == ("INV-2026-0042", 1234.56, 80.77)
    ev = res.evidence["amount"]
    assert "<ram:GrandTotalAmount>1234.56</ram:GrandTotalAmount>" in (ev.note or "")
    assert "agrees" in (ev.note or "") and ev.quote == "Total amount due 1.234,56 EUR" and ev.page == 1
    assert res.errors == []


def test_xml_value_wins_and_the_disagreeing_page_is_said(tmp_path: Path) -> None:
    xml = make_samples.facturx_xml(total="1300.00", untaxed="1214.95", tax="85.05")
    res = extract(write(tmp_path, xml), schema=Invoice, client=client())
    assert res.data is not None and res.data.amount == 1300.0 and res.data.invoice_number == "INV-2026-0042"
    ev = res.evidence["amount"]
    assert ev.quote_origin == "attachment" and ev.quote == "<ram:GrandTotalAmount>1300.00</ram:GrandTotalAmount>"
    assert ev.supported is True and "disagrees" in (ev.note or "") and "1.234,56" in (ev.note or "")


@pytest.mark.parametrize("payload", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_unsafe_xml_is_refused_and_the_page_is_read(tmp_path: Path, payload: bytes) -> None:
    with pytest.raises(ValueError, match="refused"):
        parse_invoice_xml(payload)
    res = extract(write(tmp_path, payload), schema=Invoice, client=client())
    assert res.data is not None and res.data.invoice_number == "INV-2026-0042"  # from the printed page
    assert "root:" not in res.model_dump_json() and "lollol" not in res.model_dump_json()
    assert [e.reason for e in res.errors] == ["attachment_refused"]


def test_oversized_and_foreign_xml_are_not_used() -> None:
    with pytest.raises(ValueError, match="more than"):
        parse_invoice_xml(b"<a/>" + b" " * MAX_XML_BYTES)
    assert parse_invoice_xml(b"<catalog><item>1</item></catalog>") is None
    with pytest.raises(ValueError, match="not well-formed"):
        parse_invoice_xml(b"<rsm:CrossIndustryInvoice")


def test_ubl_invoice_is_recognised() -> None:
    ubl = b"""<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
      xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
      xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2">
      <cbc:ID>UBL-7</cbc:ID><cbc:IssueDate>2024-02-01</cbc:IssueDate>
      <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
      <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">19.00</cbc:TaxAmount></cac:TaxTotal>
      <cac:LegalMonetaryTotal><cbc:TaxExclusiveAmount currencyID="EUR">100.00</cbc:TaxExclusiveAmount>
      <cbc:TaxInclusiveAmount currencyID="EUR">119.00</cbc:TaxInclusiveAmount></cac:LegalMonetaryTotal></Invoice>"""
    inv = parse_invoice_xml(ubl)
    assert inv is not None and inv.syntax == "UBL"
    assert {k: str(v.value) for k, v in inv.values.items()} == {
        "doc_number": "UBL-7", "issue_date": "2024-02-01", "currency": "EUR", "total": "119.00",
        "untaxed": "100.00", "tax": "19.00"}
    assert inv.values["total"].quote == "<cbc:TaxInclusiveAmount>119.00</cbc:TaxInclusiveAmount>"
