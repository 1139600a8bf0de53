"""The reading conventions of a whole document: decimal separator, day-first dates, currency, country."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.values._dates import detect_dayfirst
from pipeline.values._numbers import detect_decimal_separator, find_amounts


@dataclass(frozen=True)
class LocaleHints:
    """Per-document reading conventions, detected once and applied to every field."""

    decimal_separator: str | None = None
    dayfirst: bool | None = None
    currency: str | None = None
    country: str | None = None  # ISO 3166 alpha-2, when the document says where it is from

    @classmethod
    def detect(cls, text: str) -> "LocaleHints":
        dec = detect_decimal_separator(text)
        df = detect_dayfirst(text)
        if df is None and dec == ",":
            df = True  # comma-decimal locales (de, fr, pl, nl...) all write the day first
        country = detect_country(text)
        return cls(decimal_separator=dec, dayfirst=df, country=country,
                   currency=detect_currency(text, decimal_separator=dec, country=country))


def detect_currency(text: str, *, decimal_separator: str | None = None, country: str | None = None) -> str | None:
    """The currency most amounts of ``text`` are printed with (``$ 42.00``, ``45,93 €``), else None."""
    counts: dict[str, int] = {}
    for a in find_amounts(text, decimal_separator=decimal_separator, country=country):
        if a.currency:
            counts[a.currency] = counts.get(a.currency, 0) + 1
    if not counts:
        return None
    best = max(counts.values())
    winners = [c for c, n in counts.items() if n == best]
    return winners[0] if len(winners) == 1 else None


# Where a document is from, by the identifiers it prints: IBANs and EU VAT ids lead with the country's code,
# Norwegian organisation numbers end in MVA, phone numbers carry the calling code, addresses the domain.
_IBAN_RE = re.compile(r"\b(?P<cc>[A-Z]{2})\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")
_VAT_RE = re.compile(r"\b(?P<cc>AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK)"
                     r" ?U?\d{8,12}(?:B\d{2})?\b")
_MVA_RE = re.compile(r"\b\d{3} ?\d{3} ?\d{3} ?MVA\b")
_PHONE_RE = re.compile(r"(?:\+|\b00)(?P<code>354|352|353|358|\d{2})[ \-/(]")
_CALLING = {"1": None, "7": None, "20": "EG", "27": "ZA", "30": "GR", "31": "NL", "32": "BE", "33": "FR",
            "34": "ES", "36": "HU", "39": "IT", "40": "RO", "41": "CH", "43": "AT", "44": "GB", "45": "DK",
            "46": "SE", "47": "NO", "48": "PL", "49": "DE", "52": "MX", "55": "BR", "61": "AU", "64": "NZ",
            "65": "SG", "81": "JP", "82": "KR", "86": "CN", "91": "IN", "354": "IS", "352": "LU", "353": "IE",
            "358": "FI"}
_TLD_RE = re.compile(r"[\w-]\.(?P<tld>no|dk|se|is|ch|de|at|fr|it|es|nl|be|pl|cz|fi|au|nz|ca|uk|jp|cn|in|sg|hk|br"
                     r"|mx)\b", re.I)
_VAT_COUNTRY = {"EL": "GR"}
_TLD_COUNTRY = {"uk": "GB"}


def detect_country(text: str) -> str | None:
    """The country most of ``text``'s identifiers point to (IBAN, VAT id, calling code, domain), or None.
    An IBAN or VAT id counts three votes; a calling code or a domain one."""
    votes: dict[str, int] = {}

    def vote(country: str | None, weight: int) -> None:
        if country:
            votes[country] = votes.get(country, 0) + weight

    for m in _IBAN_RE.finditer(text):
        vote(m.group("cc"), 3)
    for m in _VAT_RE.finditer(text):
        vote(_VAT_COUNTRY.get(m.group("cc"), m.group("cc")), 3)
    for _ in _MVA_RE.finditer(text):
        vote("NO", 3)
    for m in _PHONE_RE.finditer(text):
        vote(_CALLING.get(m.group("code")), 1)
    for m in _TLD_RE.finditer(text):
        tld = m.group("tld").lower()
        vote(_TLD_COUNTRY.get(tld, tld.upper()), 1)
    if not votes:
        return None
    best = max(votes.values())
    winners = [c for c, n in votes.items() if n == best]
    return winners[0] if len(winners) == 1 else None


__all__ = ["LocaleHints", "detect_country", "detect_currency"]
