"""Typed values as documents print them: locale-aware amounts, dates, percentages and currencies.

The public face of the parsers the LLM stage uses to type and verify values (``pipeline.llm._normalize``);
the evaluation uses them to match key figures, and users can check their own values the same way::

    from pipeline.values import parse_amount, find_amounts
    parse_amount("1.234,56 €")            # 1234.56
"""

from __future__ import annotations

from .llm._normalize import (
    LocaleHints,
    find_amounts,
    find_dates,
    normalize_text,
    parse_amount,
    parse_currency,
    parse_date,
    parse_number,
    parse_percentage,
)

__all__ = [
    "LocaleHints",
    "find_amounts",
    "find_dates",
    "normalize_text",
    "parse_amount",
    "parse_currency",
    "parse_date",
    "parse_number",
    "parse_percentage",
]
