"""Numbers and amounts as documents print them: grouping (1,234.56 / 1.234,56 / 1 234,56 / 1'234.50 /
1,23,456.00), signs (``(1,577)``, ``12.00-``), currency tokens, scale words."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel.numbers import NumberFormatError, parse_decimal

from pipeline.values._currencies import _CUR_TOKEN, parse_currency

# One number as printed: grouped (1,234,567.89 / 1.234,56 / 1 234,56 / 1'234.50) or plain (1234.5).
# Indian grouping first (lakh and crore: 1,23,45,678.90), which the three-digit groups would cut short.
_NUM = (r"(?:\d{1,2}(?:,\d{2})+,\d{3}(?:\.\d+)?(?![,\d])|\d{1,3}(?:(?:[.,'’]|[ \u00a0\u202f])\d{3})+(?:[.,]\d+)?"
        r"|\d+(?:[.,]\d+)?|[.,]\d+)")
_AMOUNT_RE = re.compile(
    r"(?P<open>\()?[ \t]*"
    r"(?P<sign>[-−+])?[ \t]*"
    r"(?P<cur1>" + _CUR_TOKEN + r")?[ \t]*"
    r"(?P<sign2>[-−])?[ \t]*"
    r"(?P<num>" + _NUM + r")(?![\d])"
    # A suffix currency must not be the prefix of the next amount ("$ 112.90 $ 16.94").
    r"(?:[ \t]*(?P<cur2>" + _CUR_TOKEN + r")(?![ \t]*[-−(]?[ \t]*\d))?"
    r"(?P<trail>-(?![\d]))?"
    r"[ \t]*(?P<close>\))?"
)


@dataclass(frozen=True)
class AmountMatch:
    value: Decimal
    currency: str | None
    start: int
    end: int
    raw: str


def detect_decimal_separator(text: str) -> str | None:
    """``','`` or ``'.'`` by majority vote over unambiguous numbers in ``text``; None if no evidence.

    Unambiguous: exactly two decimals (``12,50``), or both separators present (``1.234,56``).
    """
    comma = point = 0
    for m in re.finditer(r"(?<![\w.,])\d[\d.,]*\d(?![\w]|[.,]\d)", text):
        tok = m.group(0)
        if "," in tok and "." in tok:
            if tok.rfind(",") > tok.rfind("."):
                comma += 1
            else:
                point += 1
            continue
        for sep in ",.":
            if tok.count(sep) == 1 and len(tok.split(sep)[1]) in (1, 2):
                if sep == ",":
                    comma += 1
                else:
                    point += 1
    if comma == point:
        return None
    return "," if comma > point else "."


def parse_number(num: str, *, decimal_separator: str | None = None) -> Decimal | None:
    """Parse one printed number (no sign, no currency) into a Decimal.

    Which separator is the decimal one is ragline's call, from the string and the document's vote: both ``.``
    and ``,`` present -> the last one; one kind repeated -> thousands; one occurrence followed by exactly three
    digits (``1,234``) is ambiguous -> ``decimal_separator`` decides, default thousands (a leading ``0,`` is
    always decimal); otherwise it is the decimal separator. Spaces and apostrophes group thousands. The digits
    are then parsed by babel (CLDR number rules, strict grouping), written with ``en_US``'s separators and read
    as ``en_US`` (1,234.56) or ``en_IN`` (1,23,456.00); a grouping babel rejects is None.
    """
    s = num.strip().replace("\u00a0", " ").replace("\u202f", " ").replace("’", "'")
    s = s.replace(" ", "").replace("'", "")
    if not s or not re.fullmatch(r"[\d.,]+", s) or not re.search(r"\d", s):
        return None
    has_c, has_p = "," in s, "." in s
    if has_c and has_p:
        dec: str | None = "," if s.rfind(",") > s.rfind(".") else "."
    elif has_c or has_p:
        sep = "," if has_c else "."
        if s.count(sep) > 1:
            dec = None  # "1.234.567": grouping only
        else:
            head, tail = s.split(sep)
            ambiguous = len(tail) == 3 and 1 <= len(head) <= 3 and head != "0" and head != ""
            dec = (sep if decimal_separator == sep else None) if ambiguous else sep
            if not head:
                s = "0" + s  # ".5"
    else:
        dec = None
    # Written as en_US writes it ("," groups, "." is decimal) for babel: the grouping separator is the other
    # one, or with no decimal part the one printed.
    group = ("." if dec == "," else ",") if dec else ("," if has_c else ".")
    canonical = s.replace(group, "\0")
    if dec:
        canonical = canonical.replace(dec, ".")
    canonical = canonical.replace("\0", ",")
    parts = canonical.split(".")[0].split(",")
    indian = len(parts) > 2 and len(parts[-1]) == 3 and all(len(p) == 2 for p in parts[1:-1])
    return _cldr_decimal(canonical, "en_IN" if indian else "en_US")


@functools.lru_cache(maxsize=65536)
def _cldr_decimal(text: str, locale: str) -> Decimal | None:
    """babel's strict parse (about 40 us a call; a document repeats its figures, hence the cache)."""
    try:
        return parse_decimal(text, locale=locale, strict=True)
    except (NumberFormatError, InvalidOperation, ValueError):  # a 40-digit run: babel's strict check overflows
        return None


def find_amounts(text: str, *, decimal_separator: str | None = None, country: str | None = None
                 ) -> list[AmountMatch]:
    """Every number in ``text`` with its sign and currency, in order.

    Negative: ``(1,577)``, ``-12.00``, ``12.00-``, ``−5``. Currency: a symbol or ISO code before or
    after the number (``$ 42.00``, ``45,93 €``, ``EUR 1.234,56``).
    """
    out: list[AmountMatch] = []
    for m in _AMOUNT_RE.finditer(text):
        # A number glued to letters is an identifier (INV2023, A4), not an amount.
        if m.start("num") > 0 and text[m.start("num") - 1].isalpha() and not m.group("cur1"):
            continue
        if m.end("num") < len(text) and text[m.end("num")].isalpha() and not m.group("cur2"):
            nxt = text[m.end("num") : m.end("num") + 2]
            if not nxt.startswith(("k", "K", "m", "M", "bn")):  # 5k, 3M, 3.4bn: keep ("Item 1B" is a heading)
                continue
        if re.match(r"[ \t]*%", text[m.end("num") :]):
            continue  # "7%" is a rate, not an amount
        value = parse_number(m.group("num"), decimal_separator=decimal_separator)
        if value is None:
            continue
        negative = bool(
            (m.group("open") and m.group("close"))
            or (m.group("sign") in ("-", "−"))
            or m.group("sign2")
            or m.group("trail")
        )
        cur = m.group("cur1") or m.group("cur2")
        start = m.start() if (m.group("open") and m.group("close")) else m.start("num")
        if m.group("sign") or m.group("cur1"):
            start = m.start("sign") if m.group("sign") else m.start("cur1")
        out.append(
            AmountMatch(
                value=-value if negative else value,
                currency=parse_currency(cur, country=country) if cur else None,
                start=start,
                end=m.end(),
                raw=m.group(0).strip(),
            )
        )
    return out


def parse_amount(text: str, *, decimal_separator: str | None = None, country: str | None = None) -> Decimal | None:
    """The amount in ``text``: the one carrying a currency if exactly one does, else the last one.

    ``'Total TTC : 56,02 €'`` -> 56.02; ``'(1,577)'`` -> -1577; ``'1.234,56'`` -> 1234.56.
    """
    found = find_amounts(text, decimal_separator=decimal_separator, country=country)
    if not found:
        return None
    with_cur = [a for a in found if a.currency]
    best = with_cur[0] if len(with_cur) == 1 else found[-1]
    return best.value * scale_after(text, best.end)


# A scale word right after an amount ("$1.2 million", "2,5 Mio. EUR", "£3.4bn", "12 lakh"): the amount is in
# those units. Only :func:`parse_amount` (one value as printed) applies it; :func:`find_amounts` reports the
# figures as printed, since a table's own scale line ("in millions") is the reader's to apply.
_SCALES = {
    "thousand": 10**3, "thousands": 10**3, "k": 10**3, "tsd": 10**3, "tausend": 10**3, "mille": 10**3,
    "million": 10**6, "millions": 10**6, "mn": 10**6, "m": 10**6, "mm": 10**6, "mio": 10**6, "millionen": 10**6,
    "millón": 10**6, "millones": 10**6, "milioni": 10**6, "miljoen": 10**6, "miljoner": 10**6, "milion": 10**6,
    "billion": 10**9, "billions": 10**9, "bn": 10**9, "b": 10**9, "mrd": 10**9, "milliarde": 10**9,
    "milliarden": 10**9, "milliard": 10**9, "milliards": 10**9, "mld": 10**9, "miliardi": 10**9,
    "trillion": 10**12, "tn": 10**12,
    "lakh": 10**5, "lakhs": 10**5, "lac": 10**5, "lacs": 10**5, "crore": 10**7, "crores": 10**7, "cr": 10**7,
}
_SCALE_RE = re.compile(r"(?P<gap>[ \t\u00a0]*)(?:" + _CUR_TOKEN + r"[ \t]*)?(?P<word>[A-Za-zóÓ]+)\.?(?![A-Za-z])")


def scale_after(text: str, end: int) -> int:
    """The multiplier a scale word right after position ``end`` gives (1 when there is none). One- and two-letter
    abbreviations (``5k``, ``£3.4bn``, ``$2M``) count only glued to the number: ``5 m`` may be metres."""
    while end > 0 and text[end - 1] in " \t\u00a0":  # an amount's match may end after the spaces that follow it
        end -= 1
    m = _SCALE_RE.match(text, end)
    if not m:
        return 1
    word = m.group("word").lower()
    if word not in _SCALES or (len(word) <= 2 and m.group("gap")):
        return 1
    return _SCALES[word]


def parse_percentage(text: str, *, decimal_separator: str | None = None) -> Decimal | None:
    """The number before a ``%`` sign, as printed (``'TVA 20 %'`` -> 20, ``'19,5%'`` -> 19.5)."""
    m = re.search(r"([-−]?)\s*(" + _NUM + r")\s*(?:%|percent\b|per cent\b|Prozent\b)", text)
    if not m:
        return None
    value = parse_number(m.group(2), decimal_separator=decimal_separator)
    if value is None:
        return None
    return -value if m.group(1) else value


__all__ = ["AmountMatch", "detect_decimal_separator", "find_amounts", "parse_amount", "parse_number",
           "parse_percentage", "scale_after"]
