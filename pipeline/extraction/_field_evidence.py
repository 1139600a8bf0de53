"""One field of a reply: its typed value, and whether the document supports it (:class:`FieldEvidence`).

The model's quote is looked up in the source (normalised / fuzzy) and located to a page and box.
When the model gave none, or one that is not in the source, the document's own line printing the
value becomes the quote, supported only if that line also carries a label of the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from pipeline.document import BBox, Element
from pipeline.evidence import SourceText, render_element
from pipeline.extraction._context import KIND_HINT_WORDS, word_stems
from pipeline.extraction._field_values import (
    FieldOutcome,
    as_text,
    clip_line,
    dense,
    hint_kind,
    label_words,
    normalize_field,
    prints_value,
)
from pipeline.extraction._reply_schema import MAX_QUOTE
from pipeline.values import LocaleHints, parse_currency

_NO_ANSWER = ("", "null", "None", "N/A", "n/a")


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
    quote_origin: Literal["model", "document", "attachment"] | None = Field(
        default=None,
        description="model: the model's own quote, verified; document: the line of the document where the "
        "value is printed (a candidate's line, or the model gave no usable quote); attachment: the element of "
        "an invoice XML embedded in the PDF (Factur-X, ZUGFeRD, XRechnung, UBL) that the value comes from",
    )
    model_quote: str | None = Field(
        default=None, description="the model's quote when it was not found in the document (replaced by the line)"
    )
    note: str | None = None
    label: str | None = Field(
        default=None, description="the printed label (or XML element) that ties the value to this field")
    role: str | None = Field(
        default=None, description="what the field was read as (total, tax, doc_number, seller, ...: docs/llm.md)")
    certainty: Literal["verified", "uncertain", "conflict"] | None = Field(
        default=None,
        description="verified: settled by its label and position (or the e-invoice XML); uncertain: chosen by the "
        "model, matched by the field's own words only, or read by OCR; conflict: the same printed value was "
        "taken by a field of another meaning. None when the field has no value",
    )
    runner_up: str | None = Field(default=None, description="the next-best candidate: value and label")
    ocr: bool = Field(default=False, description="the value is on a page read by OCR (as good as the OCR)")


@dataclass(frozen=True)
class EvidenceSources:
    """What evidence is looked up in: the whole document, the part shown to the model, its conventions."""

    full: SourceText
    shown: SourceText
    hints: LocaleHints
    min_quote_score: float


def unpack_entry(entry: Any) -> tuple[Any, str | None] | None:
    """``(value, quote)`` of one field's reply entry, cleaned; None when the entry has the wrong shape.

    A bare value (a model ignoring the ``{"value", "quote"}`` wrapper) is accepted, without a quote.
    """
    if isinstance(entry, dict) and ("value" in entry or "quote" in entry):
        raw, quote = entry.get("value"), entry.get("quote")
    elif entry is None or not isinstance(entry, dict):
        raw, quote = entry, None
    else:
        return None
    if isinstance(quote, str) and not quote.strip():
        quote = None
    if quote is not None and not isinstance(quote, str):
        quote = as_text(quote)
    if raw in _NO_ANSWER:
        raw = None
    return raw, quote


def read_field(name: str, kind: str, raw: Any, quote: str | None, sources: EvidenceSources) -> tuple[Any, FieldEvidence]:
    """The typed value of one field of the reply, and its evidence."""
    ev = FieldEvidence(field=name, kind=kind, raw_value=raw, quote=quote)
    if raw is None:
        return None, ev
    out = normalize_field(kind, raw, quote, sources.hints)
    ev.normalized = out.normalized
    ev.note = out.note
    if out.value is None:
        ev.supported = False  # answered, but nothing usable could be read from it
        return None, ev
    _check_support(ev, out, raw, sources)
    if out.note and ev.note != out.note:
        # Keep what normalisation said along with what the evidence check said.
        ev.note = f"{out.note}; {ev.note}" if ev.note else out.note
    return out.value, ev


def _check_support(ev: FieldEvidence, out: FieldOutcome, raw: Any, sources: EvidenceSources) -> None:
    full, shown = sources.full, sources.shown
    m = (
        (full.find(ev.quote, min_score=1.0) or shown.find(ev.quote, min_score=sources.min_quote_score))
        if ev.quote
        else None
    )
    if m is None:
        # Small models often write no quote, or paraphrase one. The value itself may still be
        # printed: then the evidence is the document's own line that holds it.
        why = "no quote from the model" if not ev.quote else "quote not found in the document"
        _recover_from_document(ev, out, raw, why, sources)
        return
    ev.quote_origin = "model"
    ev.match_score, ev.page, ev.bbox = m.score, m.page, m.bbox
    if out.consistent is False:
        ev.supported = False
        return
    ev.supported = True
    if out.consistent is None and ev.kind in ("text", "currency", "json"):
        ev.supported = dense(as_text(raw)) in dense(ev.quote or "") or full.contains_normalized(as_text(raw))
        if not ev.supported:
            ev.note = "value not found in its quote or the document"


def _line_printing_value(
    ev: FieldEvidence, out: FieldOutcome, raw: Any, sources: EvidenceSources
) -> tuple[bool, str] | None:
    """The document's line printing the value, and whether it carries a label of the field.

    Labelled lines first, then lines shown to the model, then the earliest.
    """
    label = word_stems(label_words(ev.field) + " " + " ".join(KIND_HINT_WORDS.get(hint_kind(ev.kind), [])))
    shown_ids = {id(e) for e in sources.shown.elements}
    best: tuple[tuple[int, int, int], str, Element] | None = None
    for order, el in enumerate(sources.full.elements):
        for line in render_element(el).splitlines():
            if not prints_value(ev.kind, out.value, raw, line, sources.hints):
                continue
            labelled = bool(label & word_stems(line))
            key = (int(labelled), int(id(el) in shown_ids), -order)
            if best is None or key > best[0]:
                best = (key, line, el)
    if best is None:
        return None
    (has_label, _, _), line, _el = best
    return bool(has_label), line


def _recover_from_document(ev: FieldEvidence, out: FieldOutcome, raw: Any, why: str, sources: EvidenceSources) -> None:
    """Evidence from the document when the model's quote is missing or wrong: the line printing the value.

    Supported only when that line also carries a label of the field (its name's words or the
    generic words for its kind: "total", "date", ...): a total printed next to "Subtotal" or a
    date next to "Due" is not evidence for the field. Lines shown to the model are preferred.
    """
    ev.supported = False
    ev.match_score = 0.0
    found = _line_printing_value(ev, out, raw, sources)
    if found is None:
        ev.note = f"{why}, and the value is not printed in the document"
        return
    has_label, line = found
    quote = clip_line(line.strip(" |"), as_text(raw), MAX_QUOTE)
    m = sources.full.find(quote, min_score=1.0)
    if m is None:  # cannot happen for a line of the document; stay unsupported if it does
        ev.note = f"{why}, and the line printing the value could not be located"
        return
    ev.model_quote, ev.quote, ev.quote_origin = ev.quote, quote, "document"
    ev.page, ev.bbox, ev.match_score = m.page, m.bbox, m.score
    if ev.kind == "currency" and parse_currency(as_text(raw)) != out.value:
        # The currency was inferred by ragline, not read by the model: a line printing it proves nothing.
        ev.note = f"{why}; {out.note or 'currency inferred'}; printed on page {m.page}"
    elif has_label:
        ev.supported = True
        ev.note = f"{why}; quote is the document's line printing the value, next to a label of the field"
    else:
        ev.note = f"{why}; the value is printed on page {m.page}, but not next to a label of the field"


__all__ = ["EvidenceSources", "FieldEvidence", "read_field", "unpack_entry"]
