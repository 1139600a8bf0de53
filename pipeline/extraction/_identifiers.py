"""Identifiers whose form is a standard, so that a value can be checked, not only its label.

* IBAN (ISO 13616): country code, two check digits, up to 30 letters and digits, often printed in groups of
  four ("DE12 1234 5678 9012 3456 78"); valid when the mod-97 check holds.
* VAT identification numbers of the EU/EEA, UK and CH (two-letter country prefix then 8 to 12 letters and
  digits, "DE123456789", "FR12345678901", "CHE-123.456.789"), GSTIN (India, 15 characters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?)(?![A-Za-z0-9])")
_VAT_RE = re.compile(r"^(?:(?:AT|BE|BG|CY|CZ|DE|DK|EE|EL|GR|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|"
                     r"GB|XI|NO|CH|CHE)[0-9A-Z]{8,12}|\d{2}[A-Z]{5}\d{4}[A-Z]\d[A-Z0-9]{2})$")


@dataclass(frozen=True)
class IbanMatch:
    value: str  # without spaces
    start: int
    end: int
    valid: bool  # the check digits hold (test and sample invoices often print made-up ones)


def valid_iban(text: str) -> bool:
    """Whether ``text`` (spaces allowed) is an IBAN whose mod-97 check holds."""
    compact = text.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def find_ibans(text: str) -> list[IbanMatch]:
    """The IBAN-shaped strings of ``text`` with their spans; when a shorter prefix is a valid IBAN, that one
    ("DE.. 78 1234" took the next number)."""
    out = []
    for m in _IBAN_RE.finditer(text):
        raw = m.group(1)
        if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", raw.replace(" ", "")):
            continue
        trimmed = raw
        while not valid_iban(trimmed) and " " in trimmed:
            trimmed = trimmed.rsplit(" ", 1)[0]
        if valid_iban(trimmed):
            raw = trimmed
        out.append(IbanMatch(raw.replace(" ", ""), m.start(1), m.start(1) + len(raw), valid_iban(raw)))
    return out


def iban_shaped(text: str) -> bool:
    """Country code, two check digits and 11 to 30 letters and digits (spaces allowed)."""
    return bool(re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", text.replace(" ", "").upper()))


def looks_like_vat_id(text: str) -> bool:
    """Whether ``text`` has the form of a VAT identification number (country prefix and digits)."""
    compact = re.sub(r"[\s.\-]", "", text).upper()
    return bool(_VAT_RE.match(compact)) and any(ch.isdigit() for ch in compact)


__all__ = ["IbanMatch", "find_ibans", "iban_shaped", "looks_like_vat_id", "valid_iban"]
