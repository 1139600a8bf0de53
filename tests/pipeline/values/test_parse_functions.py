"""Locale-aware parsing of amounts, dates, percentages and currencies (pipeline/values.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipeline.values import (
    LocaleHints,
    detect_dayfirst,
    detect_decimal_separator,
    find_amounts,
    find_dates,
    normalize_text,
    parse_amount,
    parse_currency,
    parse_date,
    parse_number,
    parse_percentage,
)

D = Decimal


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1,234.56", D("1234.56")),
        ("1.234,56", D("1234.56")),
        ("1 234,56", D("1234.56")),
        ("1\u00a0234,56", D("1234.56")),
        ("1\u202f234.56", D("1234.56")),
        ("1'234.50", D("1234.50")),
        ("1’234.50", D("1234.50")),
        ("12,5", D("12.5")),
        ("12.50", D("12.50")),
        ("1,234,567", D("1234567")),
        ("1.234.567", D("1234567")),
        ("1.234.567,89", D("1234567.89")),
        ("1,234,567.89", D("1234567.89")),
        ("0,125", D("0.125")),
        ("0.125", D("0.125")),
        ("1234", D("1234")),
        (".5", D("0.5")),
        ("1,234", D("1234")),  # ambiguous, no hint: thousands
        ("1.234", D("1234")),
    ],
)
def test_parse_number(text: str, expected: Decimal) -> None:
    assert parse_number(text) == expected


def test_parse_number_ambiguous_uses_hint() -> None:
    assert parse_number("1,234", decimal_separator=",") == D("1.234")
    assert parse_number("1.234", decimal_separator=".") == D("1.234")
    assert parse_number("1,234", decimal_separator=".") == D("1234")
    assert parse_number("1.234", decimal_separator=",") == D("1234")
    # Unambiguous forms ignore the hint.
    assert parse_number("1.234,56", decimal_separator=".") == D("1234.56")
    assert parse_number("12,50", decimal_separator=".") == D("12.50")


@pytest.mark.parametrize("bad", ["", "abc", "1,2,3", "1.23.4", "1,234.5,6"])
def test_parse_number_rejects_malformed(bad: str) -> None:
    assert parse_number(bad) is None


def test_a_run_of_digits_longer_than_any_amount_is_read_or_refused_without_an_error() -> None:
    # A filing prints 40-digit identifiers (CUSIPs, XBRL ids run together); babel's strict check overflows on them.
    assert parse_number("1" * 40 + ".5") in (None, D("1" * 40 + ".5"))
    assert parse_number("1,234," + "5" * 40) is None


@pytest.mark.parametrize(
    "text, value, currency",
    [
        ("$4.11", D("4.11"), "USD"),
        ("$ 279.84", D("279.84"), "USD"),
        ("45,93 €", D("45.93"), "EUR"),
        ("€1.234,56", D("1234.56"), "EUR"),
        ("EUR 1.234,56", D("1234.56"), "EUR"),
        ("1 234,56 EUR", D("1234.56"), "EUR"),
        ("£12", D("12"), "GBP"),
        ("₹ 1,939.00", D("1939.00"), "INR"),
        ("Rs. 319.00", D("319.00"), "INR"),
        ("316,83 zł", D("316.83"), "PLN"),
        ("CHF 1'234.50", D("1234.50"), "CHF"),
        ("US$ 10", D("10"), "USD"),
        ("(1,577)", D("-1577"), None),
        ("($1,577.25)", D("-1577.25"), "USD"),
        ("-12.00", D("-12.00"), None),
        ("−12,00", D("-12.00"), None),
        ("12.00-", D("-12.00"), None),
        ("$-40.00", D("-40.00"), "USD"),
        ("Rs -40.00", D("-40.00"), "INR"),
    ],
)
def test_find_amounts_sign_and_currency(text: str, value: Decimal, currency: str | None) -> None:
    found = find_amounts(text)
    assert len(found) == 1, found
    assert found[0].value == value and found[0].currency == currency


def test_find_amounts_skips_percentages() -> None:
    assert [a.value for a in find_amounts("Subtotal 1.153,79 EUR VAT 7% 80,77 EUR")] == [D("1153.79"), D("80.77")]
    assert [a.value for a in find_amounts("TVA 20 % : 9,34 €")] == [D("9.34")]


def test_find_amounts_skips_identifiers_and_keeps_order() -> None:
    found = find_amounts("Invoice INV2023 total 12.50 and VAT 2.10; ref A4B")
    assert [a.value for a in found] == [D("12.50"), D("2.10")]


def test_find_amounts_span_points_at_the_text() -> None:
    text = "Total TTC :\n56,02 €"
    (a,) = find_amounts(text)
    assert text[a.start : a.end] == "56,02 €" and a.raw == "56,02 €"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Total TTC : 56,02 €", D("56.02")),
        ("Tax 15% on $ 112.90 $ 16.94", D("16.94")),  # last one when several carry a currency
        ("Total 2 items: $ 30.00", D("30.00")),  # the one with a currency
        ("Grand Total 319.00", D("319.00")),
        ("nothing here", None),
    ],
)
def test_parse_amount_picks_the_amount(text: str, expected: Decimal | None) -> None:
    assert parse_amount(text) == expected


def test_detect_decimal_separator() -> None:
    assert detect_decimal_separator("Total HT : 46,68 € TVA 9,34 € Total 56,02 €") == ","
    assert detect_decimal_separator("Subtotal $ 262.90 Tax $ 16.94 Total $ 279.84 1,234.56") == "."
    assert detect_decimal_separator("Summe 1.234,56 EUR und 12.50") is None  # one vote each: no evidence
    assert detect_decimal_separator("Summe 1.234,56 EUR, 3,10 EUR und 12.50") == ","
    assert detect_decimal_separator("no numbers") is None
    assert detect_decimal_separator("1,234 and 5.678") is None  # only ambiguous forms


def test_detect_dayfirst() -> None:
    assert detect_dayfirst("Date 28/11/2022, due 06/12/2022") is True
    assert detect_dayfirst("Invoice Date: 03/20/2023 Due Date: 04/04/2023") is False
    assert detect_dayfirst("05/06/2018") is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2021-01-01", date(2021, 1, 1)),
        ("2014/05/07", date(2014, 5, 7)),
        ("05.06.2018", date(2018, 6, 5)),  # dotted: day first
        ("5.6.18", date(2018, 6, 5)),
        ("28/11/2022", date(2022, 11, 28)),
        ("03/20/2023", date(2023, 3, 20)),
        ("15-10-2015", date(2015, 10, 15)),
        ("August 3 , 2014", date(2014, 8, 3)),
        ("Aug. 3, 2014", date(2014, 8, 3)),
        ("Jan 1, 2022", date(2022, 1, 1)),
        ("March 20th, 2023", date(2023, 3, 20)),
        ("3rd of May 2019", date(2019, 5, 3)),
        ("20-Mar-2023", date(2023, 3, 20)),
        ("20 Mar 23", date(2023, 3, 20)),
        ("7. Mai 2014", date(2014, 5, 7)),
        ("1. März 2020", date(2020, 3, 1)),
        ("2 juillet 2015", date(2015, 7, 2)),
        ("le 1er février 2021", date(2021, 2, 1)),
        ("12 grudnia 2020", date(2020, 12, 12)),
        ("31 december 2019", date(2019, 12, 31)),
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text) == expected


def test_parse_date_ambiguous_slash_uses_hints() -> None:
    assert parse_date("05/06/2018") == date(2018, 5, 6)  # no hint: US month first
    assert parse_date("05/06/2018", dayfirst=True) == date(2018, 6, 5)
    assert parse_date("05/06/2018", decimal_separator=",") == date(2018, 6, 5)  # comma-decimal locale
    assert parse_date("05.06.2018", dayfirst=False) == date(2018, 5, 6)
    assert find_dates("05/06/2018")[0].ambiguous
    assert not find_dates("28/11/2022")[0].ambiguous


def test_parse_date_rejects_impossible_dates() -> None:
    assert parse_date("31/02/2020") is None
    assert parse_date("2020-13-01") is None
    assert parse_date("version 1.2.3") is None


def test_find_dates_range() -> None:
    found = find_dates("01.05.14-31.05.14")
    assert [d.value for d in found] == [date(2014, 5, 1), date(2014, 5, 31)]


@pytest.mark.parametrize(
    "text, expected",
    [("TVA 20 % :", D("20")), ("19,5%", D("19.5")), ("Tax: 0.2%", D("0.2")), ("-3 %", D("-3")),
     ("14.50 percent", D("14.50")), ("no pct", None)],
)
def test_parse_percentage(text: str, expected: Decimal | None) -> None:
    assert parse_percentage(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [("EUR", "EUR"), ("eur", "EUR"), ("€", "EUR"), ("45,93 €", "EUR"), ("$", "USD"), ("US$", "USD"),
     ("All charges and prices are in US Dollars", "USD"), ("Rs.", "INR"), ("₹", "INR"), ("zł", "PLN"),
     ("316,83 PLN", "PLN"), ("£", "GBP"), ("CHF", "CHF"), ("nothing", None), ("", None)],
)
def test_parse_currency(text: str, expected: str | None) -> None:
    assert parse_currency(text) == expected


def test_locale_hints_detect() -> None:
    de = LocaleHints.detect("Rechnungsdatum 05.06.2018 Summe 1.234,56 EUR MwSt 19,00 %")
    assert de.decimal_separator == "," and de.dayfirst is True
    us = LocaleHints.detect("Invoice Date: 03/20/2023 Total $ 279.84")
    assert us.decimal_separator == "." and us.dayfirst is False


def test_normalize_text() -> None:
    assert normalize_text("  Total\u00a0 DUE:\n  “$4.11” – now ") == 'total due: "$4.11" - now'


def test_detect_currency() -> None:
    from pipeline.values import detect_currency

    assert detect_currency("Subtotal $ 262.90 Tax $ 16.94 Total $ 279.84") == "USD"
    assert detect_currency("Total HT : 46,68 € TVA 9,34 € (payable in USD 56.02)") == "EUR"
    assert detect_currency("EUR 10 and USD 12") is None  # a tie says nothing
    assert detect_currency("no amounts") is None
    assert LocaleHints.detect("Total 1.234,56 EUR, VAT 80,77 EUR").currency == "EUR"
