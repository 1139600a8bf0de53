"""Values as real documents print them: a table of strings from invoices, filings and letters of many countries,
each with what it means. Indian lakh/crore grouping, Swiss apostrophes, French and narrow spaces, scale words,
Roman-numeral and East Asian dates, ISO weeks, month names of many languages (CLDR), and symbols several
currencies share, read with the document's country."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pipeline.values import (
    LocaleHints,
    detect_country,
    find_amounts,
    parse_amount,
    parse_currency,
    parse_date,
    parse_number,
)

D = Decimal

# (printed, decimal separator of the document or None, amount)
AMOUNTS = [
    ("1,23,456.00 INR", None, D("123456.00")),
    ("₹ 12,34,567", None, D("1234567")),
    ("Rs. 1,00,000.50", None, D("100000.50")),
    ("Total: 2,50,00,000 INR", None, D("25000000")),
    ("CHF 1'234.50", None, D("1234.50")),
    ("1’234’567.80 Fr.", None, D("1234567.80")),
    ("1 234,56 €", ",", D("1234.56")),
    ("1\u202f234,56 €", ",", D("1234.56")),
    ("12 345 678,90 EUR", ",", D("12345678.90")),
    ("$1.2 million", None, D("1200000")),
    ("USD 3.5 billion", None, D("3500000000")),
    ("€ 2,5 Mio.", ",", D("2500000")),
    ("1,5 Mrd. EUR", ",", D("1500000000")),
    ("£3.4bn", None, D("3400000000")),
    ("€12.5m", None, D("12500000")),
    ("5k USD", None, D("5000")),
    ("₹3 crore", None, D("30000000")),
    ("2 lakh", None, D("200000")),
    ("(1,577)", None, D("-1577")),
    ("1.234,56", None, D("1234.56")),
    ("-12.00", None, D("-12.00")),
    ("12.00-", None, D("-12.00")),
    ("1,234", ",", D("1.234")),
    ("1,234", None, D("1234")),
    ("¥1,000", None, D("1000")),
    ("EUR 1.234.567,89", None, D("1234567.89")),
    ("1,234.56 USD", None, D("1234.56")),
    ("−5,00 €", ",", D("-5.00")),
    ("10.000", ",", D("10000")),
    ("5 m", None, D("5")),  # metres, not millions: a one-letter scale counts only glued to the number
]

# (printed, country of the document or None, ISO code)
CURRENCIES = [
    ("kr 1.234,00", "NO", "NOK"),
    ("1.234,00 kr", "DK", "DKK"),
    ("1 234,00 kr", "SE", "SEK"),
    ("12 000 kr", "IS", "ISK"),
    ("$ 99.00", "CA", "CAD"),
    ("A total of $1,250.00", "AU", "AUD"),
    ("$ 99.00", None, "USD"),
    ("¥ 5,000", "CN", "CNY"),
    ("¥ 5,000", "JP", "JPY"),
    ("$ 10", "DE", "USD"),  # a German invoice in dollars: the symbol's first reading, not the euro
    ("R$ 10,00", None, "BRL"),
    ("12,50 zł", None, "PLN"),
]

# (printed, day first?, date)
DATES = [
    ("14 Mär. 2026", True, dt.date(2026, 3, 14)),
    ("14. März 2026", True, dt.date(2026, 3, 14)),
    ("2026年3月14日", None, dt.date(2026, 3, 14)),
    ("発行日: 2026年 3月 14日", None, dt.date(2026, 3, 14)),
    ("2026년 3월 14일", None, dt.date(2026, 3, 14)),
    ("14.III.2026", True, dt.date(2026, 3, 14)),
    ("14 III 2026", True, dt.date(2026, 3, 14)),
    ("2026-W11-6", None, dt.date(2026, 3, 14)),
    ("2026-W11", None, dt.date(2026, 3, 9)),
    ("14 févr. 2026", True, dt.date(2026, 2, 14)),
    ("1er mars 2026", True, dt.date(2026, 3, 1)),
    ("14 de marzo de 2026", True, dt.date(2026, 3, 14)),
    ("14 Μαρτίου 2026", True, dt.date(2026, 3, 14)),
    ("14 марта 2026", True, dt.date(2026, 3, 14)),
    ("14. maaliskuuta 2026", True, dt.date(2026, 3, 14)),
    ("14 Nisan 2026", True, dt.date(2026, 4, 14)),
    ("14 października 2026", True, dt.date(2026, 10, 14)),
    ("14. listopadu 2026", True, dt.date(2026, 11, 14)),
    ("14 martie 2026", True, dt.date(2026, 3, 14)),
    ("14. március 2026", True, dt.date(2026, 3, 14)),
    ("March 14th, 2026", None, dt.date(2026, 3, 14)),
    ("14-Mar-2026", None, dt.date(2026, 3, 14)),
    ("2026-03-14", None, dt.date(2026, 3, 14)),
    ("14/03/2026", None, dt.date(2026, 3, 14)),
    ("03/14/2026", None, dt.date(2026, 3, 14)),
    ("Mar. 14, 2026", None, dt.date(2026, 3, 14)),
    ("14 mrt. 2026", True, dt.date(2026, 3, 14)),
    ("14 ottobre 2026", True, dt.date(2026, 10, 14)),
    ("14. Dezember 2026", True, dt.date(2026, 12, 14)),
    ("14 März '26", True, dt.date(2026, 3, 14)),
    ("le 14/03/26", True, dt.date(2026, 3, 14)),
    ("2026.03.14", None, dt.date(2026, 3, 14)),
    ("Sept. 14, 2026", None, dt.date(2026, 9, 14)),
]


@pytest.mark.parametrize("printed, decimal, expected", AMOUNTS, ids=[a[0] for a in AMOUNTS])
def test_amounts(printed: str, decimal: str | None, expected: Decimal) -> None:
    assert parse_amount(printed, decimal_separator=decimal) == expected


@pytest.mark.parametrize("printed, country, expected", CURRENCIES, ids=[f"{c[0]}-{c[1]}" for c in CURRENCIES])
def test_currencies_read_with_the_documents_country(printed: str, country: str | None, expected: str) -> None:
    assert parse_currency(printed, country=country) == expected


@pytest.mark.parametrize("printed, dayfirst, expected", DATES, ids=[d[0] for d in DATES])
def test_dates(printed: str, dayfirst: bool | None, expected: dt.date) -> None:
    assert parse_date(printed, dayfirst=dayfirst) == expected


def test_the_table_is_large_enough() -> None:
    assert len(AMOUNTS) + len(CURRENCIES) + len(DATES) >= 60


def test_indian_grouping_is_one_amount_in_running_text() -> None:
    found = find_amounts("Net payable 1,23,456.00 INR, of which GST 18,832.88")
    assert [a.value for a in found] == [D("123456.00"), D("18832.88")]
    assert parse_number("12,34,567") == D("1234567") and parse_number("1,2,3") is None


@pytest.mark.parametrize("text, country", [
    ("Kontonummer IBAN NO93 8601 1117 947, Org.nr. 123 456 789 MVA", "NO"),
    ("USt-IdNr.: DE123456789 · Tel. +49 30 1234567", "DE"),
    ("ABN 12 345 678 901 · accounts@example.com.au · +61 2 9876 5432", "AU"),
    ("Bankgiro 123-4567 · info@firma.se · +46 8 123 45 67", "SE"),
    ("Thank you for your order.", None),
])
def test_the_documents_country_from_its_identifiers(text: str, country: str | None) -> None:
    assert detect_country(text) == country


def test_locale_hints_resolve_a_shared_symbol_by_the_country() -> None:
    text = "Faktura 2026-0042\nIBAN DK50 0040 0440 1162 43\nTotal kr 1.234,50\nMoms kr 246,90\n"
    hints = LocaleHints.detect(text)
    assert hints.country == "DK" and hints.currency == "DKK" and hints.decimal_separator == ","


def test_the_month_table_matches_babels_data() -> None:
    pytest.importorskip("babel")
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[3] / "scripts" / "gen_month_names.py"
    spec = importlib.util.spec_from_file_location("gen_month_names", script)
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    from pipeline.values._month_names import MONTH_NAMES

    assert gen.month_names() == MONTH_NAMES, "run scripts/gen_month_names.py"
