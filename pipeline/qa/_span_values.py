"""The figure of a cell span as a number: its sign, its scale from the table's unit, and how to write it.

Filings print amounts in a table's unit (``(in millions)``, ``$ in thousands``) and negatives in
parentheses; a reader wants ``$36,413 million``, and a question that says "in billions" wants the
figure in billions. Percent cells (``74.0 %``) are rates, never scaled. Nothing here guesses a
unit the table does not print: a cell without one is written as printed.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from pipeline.qa._spans import Span

SCALES: dict[str, Decimal] = {
    "thousands": Decimal(1_000), "millions": Decimal(1_000_000), "billions": Decimal(1_000_000_000),
}
_SCALE_WORD = {"thousands": "thousand", "millions": "million", "billions": "billion"}
_NUMBER_RE = re.compile(r"\d[\d,]*(?:\.\d+)?")
# "in billions", "($ in billions)", "in billions of dollars": the unit a question wants its answer in.
_ASKED_UNIT_RE = re.compile(r"\bin\s+(thousands|millions|billions)\b", re.IGNORECASE)


def is_percent(span: Span) -> bool:
    return "%" in span.value


def number_of(span: Span) -> Decimal | None:
    """The cell's printed figure as a signed number in the table's unit (``(7,709)`` -> -7709)."""
    m = _NUMBER_RE.search(span.value)
    if m is None:
        return None
    try:
        value = Decimal(m.group(0).replace(",", ""))
    except InvalidOperation:
        return None
    negative = "(" in span.value or span.value.strip().startswith(("-", "−"))
    return -value if negative else value


def scale_of(span: Span) -> str:
    """``millions`` for a cell of a table ``(in millions)``; empty for percent cells and unitless tables."""
    if is_percent(span):
        return ""
    word = span.unit.removeprefix("in ").strip()
    return word if word in SCALES else ""


def absolute(span: Span) -> Decimal | None:
    """The figure in units (dollars, shares): printed value times the table's scale."""
    value = number_of(span)
    if value is None:
        return None
    scale = scale_of(span)
    return value * SCALES[scale] if scale else value


def asked_unit(question: str) -> str:
    """The scale the question asks for (``billions`` for "... in billions?"), or empty."""
    m = _ASKED_UNIT_RE.search(question)
    return m.group(1).lower() if m else ""


def _group(value: Decimal, places: int) -> str:
    q = Decimal(1).scaleb(-places)
    return f"{value.quantize(q):,}"


def format_figure(span: Span, question: str = "", dollars: bool | None = None) -> str:
    """The cell's figure for an answer: ``$36,413 million``; ``74.0%``; ``$14.158 billion`` when the
    question asks for billions; as printed (sign kept) when the table names no unit."""
    value = number_of(span)
    if value is None:
        return span.value
    if is_percent(span):
        return f"{span.value.replace(' ', '')}"
    scale = scale_of(span)
    if not scale:
        return span.value
    if dollars is None:
        dollars = span.dollars or "$" in span.value
    want = asked_unit(question)
    if want and want != scale:
        value = value * SCALES[scale] / SCALES[want]
        scale = want
        places = max(0, min(6, -value.normalize().as_tuple().exponent))  # type: ignore[operator]
        text = _group(value, places)
    else:
        text = span.value.replace(" ", "").strip("()$-−")
    sign = "-" if value < 0 else ""
    return f"{sign}{'$' if dollars else ''}{text.lstrip('-')} {_SCALE_WORD[scale]}"


def format_amount(value: Decimal, scale: str, dollars: bool) -> str:
    """A computed amount in ``scale`` (a difference of two cells): ``-$1,234 million``."""
    text = _group(abs(value), 0) if value == value.to_integral_value() else _group(abs(value), 2)
    return f"{'-' if value < 0 else ''}{'$' if dollars else ''}{text}{' ' + _SCALE_WORD[scale] if scale else ''}"


def format_percent(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.1'))}%"


__all__ = ["SCALES", "absolute", "asked_unit", "format_amount", "format_figure", "format_percent", "is_percent",
           "number_of", "scale_of"]
