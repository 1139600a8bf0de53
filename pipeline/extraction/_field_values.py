"""One field's value: typed from what the model says is printed, and recognised where it is printed.

The model gives a value *as printed* and a quote; the typed value is computed here with the
document's own conventions (:class:`~._normalize.LocaleHints`), so ``05.06.2018`` is the 5th of June
in a German invoice whatever the model thought, and the sign and digits of an amount come from the
quote. :func:`prints_value` answers the reverse question (does this line of the document print that
value?), and :func:`label_words` says how a field's name is printed as a label.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from pipeline.values import (
    LocaleHints,
    find_amounts,
    find_dates,
    normalize_text,
    parse_currency,
    parse_percentage,
)

_SAME_AMOUNT = Decimal("0.005")
_PERCENT_RE = re.compile(r"[-+]?\d[\d.,]*\s*%")

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


class FieldOutcome(BaseModel):
    """The typed value read for one field, and whether the model's value and quote agree on it."""

    value: Any = None
    normalized: bool = False
    consistent: bool | None = None
    note: str | None = None


def as_text(v: Any) -> str:
    """A reply value as text (JSON for structures, "" for null)."""
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def dense(s: str) -> str:
    """``s`` normalised with whitespace and markdown punctuation removed, for containment checks."""
    return re.sub(r"[\s|`*_#>]+", "", normalize_text(s))


def _norm_amount(raw: Any, text: str, q: str, hints: LocaleHints) -> FieldOutcome:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        from_value = [Decimal(str(raw))]
    else:
        from_value = [a.value for a in find_amounts(text, decimal_separator=hints.decimal_separator, country=hints.country)]
    in_quote = find_amounts(q, decimal_separator=hints.decimal_separator, country=hints.country)
    for v in from_value:
        for qa in in_quote:
            if abs(abs(v) - abs(qa.value)) < _SAME_AMOUNT:
                # Sign and exact digits come from the document, e.g. "(1,577)" -> -1577.
                return FieldOutcome(value=qa.value, normalized=True, consistent=True)
    if len(from_value) > 1 and len(in_quote) == 1:
        # A value holding several numbers ("1.153,79 EUR VAT 7% 80,77 EUR") is no answer; a quote
        # holding exactly one is.
        return FieldOutcome(value=in_quote[0].value, normalized=True, consistent=True,
                            note="value held several numbers; taken from the quote")
    if from_value:
        return FieldOutcome(
            value=from_value[0], normalized=True, consistent=False if q else None,
            note="value not found in its quote" if q else None,
        )
    if in_quote:
        with_cur = [a for a in in_quote if a.currency]
        pick = with_cur[0] if len(with_cur) == 1 else in_quote[-1]
        return FieldOutcome(value=pick.value, normalized=True, consistent=True, note="value taken from the quote")
    # Unreadable: the field becomes null (flagged) rather than failing the whole document.
    return FieldOutcome(value=None, consistent=False, note=f"no number in value {text!r} or its quote")


def _norm_date(text: str, q: str, hints: LocaleHints, with_time: bool) -> FieldOutcome:
    from_value = find_dates(text, dayfirst=hints.dayfirst, decimal_separator=hints.decimal_separator,
                            library=True) if text else []  # the model's value as printed: one value
    in_quote = find_dates(q, dayfirst=hints.dayfirst, decimal_separator=hints.decimal_separator)
    chosen: dt.date | None = None
    consistent: bool | None = None
    if from_value:
        v = from_value[0]
        same = [d for d in in_quote if d.value == v.value or dense(d.raw) == dense(v.raw)]
        if same:
            chosen, consistent = same[0].value, True
        elif len(in_quote) == 1 and dense(in_quote[0].raw) in dense(text):
            chosen, consistent = in_quote[0].value, True
        else:
            chosen, consistent = v.value, (False if q else None)
    elif in_quote:
        chosen, consistent = in_quote[0].value, True
    if chosen is None:
        return FieldOutcome(value=None, consistent=False, note=f"no date in value {text!r} or its quote")
    value: Any = dt.datetime.combine(chosen, dt.time()) if with_time else chosen
    return FieldOutcome(value=value, normalized=True, consistent=consistent,
                        note=None if consistent is not False else "value not found in its quote")


def _norm_percentage(text: str, q: str, hints: LocaleHints) -> FieldOutcome:
    v = parse_percentage(text, decimal_separator=hints.decimal_separator)
    qv = parse_percentage(q, decimal_separator=hints.decimal_separator)
    if v is None and text:
        nums = find_amounts(text, decimal_separator=hints.decimal_separator)
        v = nums[0].value if nums else None
    if v is not None:
        ok = (qv == v) if q else None
        return FieldOutcome(value=v, normalized=True, consistent=ok,
                            note="value not found in its quote" if ok is False else None)
    if qv is not None:
        return FieldOutcome(value=qv, normalized=True, consistent=True, note="value taken from the quote")
    return FieldOutcome(value=None, consistent=False, note=f"no percentage in value {text!r} or its quote")


def _norm_currency(text: str, q: str, hints: LocaleHints) -> FieldOutcome:
    code = parse_currency(text, country=hints.country)  # "kr" on a Danish invoice is DKK
    if code:
        agrees = (not q) or parse_currency(q, country=hints.country) == code or dense(text) in dense(q)
        return FieldOutcome(value=code, normalized=code != text.strip(), consistent=agrees or None)
    code = parse_currency(q, country=hints.country) if q else None
    if code:
        return FieldOutcome(value=code, normalized=True, consistent=True,
                            note="value is not a currency; taken from the quote")
    if hints.currency:
        # The model answered something that is no currency (often words of the instructions):
        # use the currency the document's amounts are printed in, flagged.
        return FieldOutcome(value=hints.currency, normalized=True, consistent=False,
                            note=f"value {text!r} is not a currency; inferred from the document's amounts")
    return FieldOutcome(value=text.strip() or None, consistent=dense(text) in dense(q) if q else None)


def normalize_field(kind: str, raw: Any, quote: str | None, hints: LocaleHints) -> FieldOutcome:
    """Typed value of one field from the printed value and its quote, and whether the two agree."""
    q = quote or ""
    text = as_text(raw)
    if kind in ("amount", "number"):
        return _norm_amount(raw, text, q, hints)
    if kind in ("date", "datetime"):
        return _norm_date(text, q, hints, with_time=kind == "datetime")
    if kind == "percentage":
        return _norm_percentage(text, q, hints)
    if kind == "currency":
        return _norm_currency(text, q, hints)
    if kind == "text":
        clean = re.sub(r"\s+", " ", text).strip()
        return FieldOutcome(value=clean if raw is not None else None,
                            consistent=(dense(clean) in dense(q)) if q else None)
    return FieldOutcome(value=raw, consistent=None)


def label_words(field: str) -> str:
    """The words of a field's name and how documents print them as labels (``amount_tax`` -> ... VAT MwSt)."""
    words = field.replace("_", " ").split()
    return " ".join(words + [syn for w in words for syn in _LABEL_SYNONYMS.get(w.casefold(), ())])


def hint_kind(kind: str) -> str:
    """The kind whose generic label words apply (a number is labelled like an amount, a datetime like a date)."""
    return {"number": "amount", "datetime": "date"}.get(kind, kind)


def _prints_number(kind: str, value: Any, line: str, hints: LocaleHints) -> bool:
    try:
        target = abs(Decimal(str(value)))
    except ArithmeticError:
        return False
    if kind == "percentage":
        found = [parse_percentage(m.group(0), decimal_separator=hints.decimal_separator)
                 for m in _PERCENT_RE.finditer(line)]
        return any(p is not None and abs(abs(p) - target) < _SAME_AMOUNT for p in found)
    return any(abs(abs(a.value) - target) < _SAME_AMOUNT
               for a in find_amounts(line, decimal_separator=hints.decimal_separator))


def prints_value(kind: str, value: Any, raw: Any, line: str, hints: LocaleHints) -> bool:
    """Whether ``line`` prints ``value`` (compared as typed values, so 1.234,56 matches 1234.56)."""
    if value is None or not line.strip():
        return False
    if kind in ("amount", "number", "percentage"):
        return _prints_number(kind, value, line, hints)
    if kind in ("date", "datetime"):
        day = value.date() if isinstance(value, dt.datetime) else value
        return any(d.value == day for d in find_dates(line, dayfirst=hints.dayfirst,
                                                        decimal_separator=hints.decimal_separator))
    if kind == "currency":
        return parse_currency(line, country=hints.country) == value or (len(str(value)) >= 3 and str(value).casefold() in line.casefold())
    text = dense(as_text(raw if kind == "text" else value))
    return len(text) >= 2 and text in dense(line)


def clip_line(line: str, printed: str, limit: int) -> str:
    """``line`` cut to ``limit`` characters around ``printed`` (whole words)."""
    if len(line) <= limit:
        return line
    pos = line.find(printed) if printed else -1
    start = max(0, max(pos, 0) - limit // 2)
    cut = line[start : start + limit]
    if start > 0 and " " in cut:
        cut = cut[cut.index(" ") + 1 :]
    if start + limit < len(line) and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut


__all__ = [
    "FieldOutcome",
    "as_text",
    "clip_line",
    "dense",
    "hint_kind",
    "label_words",
    "normalize_field",
    "prints_value",
]
