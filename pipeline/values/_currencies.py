"""Currencies: ISO 4217 codes and the symbols and words documents print for them."""

from __future__ import annotations

import re

ISO_CURRENCIES = frozenset(
    "USD EUR GBP JPY CNY INR PLN CHF SEK NOK DKK CAD AUD NZD CZK HUF RON BGN RUB BRL MXN ZAR SGD HKD "
    "KRW TRY ILS AED SAR THB IDR MYR PHP VND TWD ARS CLP COP PEN UAH ISK HRK".split()
)

# Longest first, so "US$" wins over "$" and "zł" over nothing.
_CURRENCY_SYMBOLS: list[tuple[str, str]] = sorted(
    [
        ("US$", "USD"), ("U.S.$", "USD"), ("$", "USD"), ("€", "EUR"), ("£", "GBP"), ("¥", "JPY"),
        ("₹", "INR"), ("Rs.", "INR"), ("Rs", "INR"), ("INR", "INR"), ("zł", "PLN"), ("zl", "PLN"),
        ("Fr.", "CHF"), ("kr", "SEK"), ("₽", "RUB"), ("₩", "KRW"), ("₺", "TRY"), ("₪", "ILS"),
        ("R$", "BRL"), ("C$", "CAD"), ("A$", "AUD"), ("HK$", "HKD"), ("S$", "SGD"), ("Kč", "CZK"),
        ("Ft", "HUF"), ("CHF", "CHF"), ("EURO", "EUR"), ("Euro", "EUR"), ("euros", "EUR"),
        ("dollars", "USD"), ("Dollars", "USD"), ("US Dollars", "USD"), ("rupees", "INR"), ("Rupees", "INR"),
    ],
    key=lambda kv: -len(kv[0]),
)
_SYMBOL_TO_ISO = dict(_CURRENCY_SYMBOLS)
_ISO_RE = re.compile(r"(?<![A-Za-z])(" + "|".join(sorted(ISO_CURRENCIES)) + r")(?![A-Za-z])")
_SYMBOL_RE = re.compile(
    "|".join(
        (r"(?<![A-Za-z])" + re.escape(s) + r"(?![A-Za-z])") if s[0].isalpha() else re.escape(s)
        for s, _ in _CURRENCY_SYMBOLS
    )
)
# The currency token an amount may carry (prefix or suffix); words like "dollars" are left to
# parse_currency, as they rarely touch the number.
_CUR_TOKEN = (
    r"(?:US\$|U\.S\.\$|R\$|C\$|A\$|HK\$|S\$|[$€£¥₹₽₩₺₪]|Rs\.?|zł|Kč|Ft|Fr\.|(?<![A-Za-z])kr(?![A-Za-z])|"
    + "|".join(sorted(ISO_CURRENCIES))
    + r")"
)


# Symbols several countries print for their own currency. Alone, each reads as the first (the most common
# on documents); with the document's country (:func:`pipeline.values.detect_country`) it reads as that
# country's currency, from CLDR's territory data (babel), when it is one of those the symbol stands for.
SHARED_SYMBOLS: dict[str, tuple[str, ...]] = {
    "$": ("USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "ARS", "CLP", "COP", "TWD"),
    "kr": ("SEK", "NOK", "DKK", "ISK"),
    "¥": ("JPY", "CNY"),
    "Fr.": ("CHF",),
    "dollars": ("USD", "CAD", "AUD", "NZD", "SGD", "HKD"),
    "Dollars": ("USD", "CAD", "AUD", "NZD", "SGD", "HKD"),
}


def territory_currency(country: str | None) -> str | None:
    """The legal tender of ``country`` (ISO 3166 alpha-2) today, from CLDR (babel); None if unknown."""
    if not country:
        return None
    from babel.numbers import get_territory_currencies

    try:
        found = get_territory_currencies(country.upper(), tender=True)
    except Exception:  # noqa: BLE001 - an unknown territory: no answer
        return None
    return found[0] if found else None


def resolve_symbol(symbol: str, country: str | None = None) -> str | None:
    """The ISO code ``symbol`` stands for, read with the document's ``country`` when several share it."""
    default = _SYMBOL_TO_ISO.get(symbol)
    shared = SHARED_SYMBOLS.get(symbol)
    if shared and country:
        local = territory_currency(country)
        if local in shared:
            return local
    return default


def parse_currency(text: str, *, country: str | None = None) -> str | None:
    """ISO 4217 code named in ``text`` (an ISO code wins over a symbol), e.g. ``'45,93 €' -> 'EUR'``; a symbol
    several currencies share (``kr``, ``$``, ``¥``) is read with the document's ``country`` when given
    (``'kr 120' , country='NO'`` -> ``'NOK'``)."""
    if not text:
        return None
    upper = text.strip().upper()
    if upper in ISO_CURRENCIES:
        return upper
    m = _ISO_RE.search(text)
    if m:
        return m.group(1)
    m = _SYMBOL_RE.search(text)
    if m:
        return resolve_symbol(m.group(0), country)
    return None


__all__ = ["ISO_CURRENCIES", "SHARED_SYMBOLS", "parse_currency", "resolve_symbol", "territory_currency"]
