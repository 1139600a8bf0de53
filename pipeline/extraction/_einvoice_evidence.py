"""Values of an embedded invoice XML as field values, with evidence naming the element and the page.

The XML value wins. Its evidence is the printed line showing the same value when the page has one
(page and box included, "the printed page agrees"); otherwise the XML element itself, and when the
page's own best candidate differs, the disagreement is said in the note.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from pipeline.extraction._candidates import Candidate
from pipeline.extraction._choose import Plan
from pipeline.extraction._einvoice import EInvoice, XmlValue, role_key, same_value
from pipeline.extraction._field_evidence import FieldEvidence
from pipeline.extraction._meaning import FieldMeaning


def xml_values(plan: Plan, fields: dict[str, FieldMeaning], einvoice: EInvoice | None) -> dict[str, XmlValue]:
    """The fields that the embedded XML has a value for, by their meaning: field name -> its XML value."""
    if einvoice is None:
        return {}
    out: dict[str, XmlValue] = {}
    for name, meaning in fields.items():
        kind = meaning.kind
        if name not in plan.decisions and kind not in ("currency", "text"):
            continue
        key = role_key(meaning.role, kind)
        if key is not None and key in einvoice.values:
            out[name] = einvoice.values[key]
    return out


def _typed(kind: str, xml: XmlValue) -> Any:
    if kind == "number" and hasattr(xml.value, "to_integral_value"):
        return int(xml.value)  # type: ignore[arg-type]
    return xml.value


def _printed(xml: XmlValue, page_choice: Candidate | None, candidates: list[Candidate]) -> Candidate | None:
    """The printed candidate showing the XML value: the page's own choice if it agrees, else any such line."""
    if page_choice is not None and same_value(xml, page_choice.value):
        return page_choice
    if xml.role == "currency":
        return None
    return next((c for c in candidates if same_value(xml, c.value)), None)


def _evidence(name: str, kind: str, xml: XmlValue, einvoice: EInvoice, page_choice: Candidate | None,
              printed: Candidate | None) -> FieldEvidence:
    origin = f"from the embedded {einvoice.syntax} invoice XML ({einvoice.attachment}) {xml.quote}"
    if printed is not None:
        return FieldEvidence(
            field=name, kind=kind, raw_value=xml.raw, quote=printed.quote, supported=True, match_score=1.0,
            page=printed.page, bbox=printed.box, normalized=True, quote_origin="document",
            note=f"{origin}; the printed page agrees ({printed.id})", label=xml.element, role=xml.role,
            certainty="verified",
        )
    note = f"{origin}; not printed on the page"
    if page_choice is not None:
        note = (f"{origin}; the printed page disagrees: it shows {page_choice.printed!r} "
                f"({page_choice.id}: {page_choice.quote!r})")
    return FieldEvidence(field=name, kind=kind, raw_value=xml.raw, quote=xml.quote, supported=True,
                         match_score=1.0, normalized=True, quote_origin="attachment", note=note, label=xml.element,
                         role=xml.role, certainty="verified")


def apply_xml(values: dict[str, Any], evidence: dict[str, FieldEvidence], xml_fields: dict[str, XmlValue],
              plan: Plan, candidates: list[Candidate], einvoice: EInvoice, schema: type[BaseModel]) -> None:
    """Set the fields the XML covers to its values, with evidence from the page where it agrees."""
    for name, xml in xml_fields.items():
        info = schema.model_fields[name]
        kind = evidence[name].kind
        decision = plan.decisions.get(name)
        page_choice = decision.chosen.candidate if decision is not None and decision.chosen else None
        if xml.role == "currency" and evidence[name].value is not None:
            page_choice = None  # the currency rule's own line is checked below
        printed = _printed(xml, page_choice, candidates)
        if xml.role == "currency" and evidence[name].quote and values.get(info.alias or name) == xml.value:
            ev = evidence[name]
            ev.note = f"from the embedded {einvoice.syntax} invoice XML {xml.quote}; the printed page agrees"
            ev.certainty, ev.label = "verified", xml.element
            continue
        values[info.alias or name] = _typed(kind, xml)
        evidence[name] = _evidence(name, kind, xml, einvoice, page_choice, printed)


__all__ = ["apply_xml", "xml_values"]
