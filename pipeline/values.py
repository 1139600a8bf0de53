"""Deterministic, locale-aware parsing of typed values (amounts, dates, percentages, currencies).

The LLM is good at *finding* a value and poor at *typing* it: a 0.5B model turns ``1.234,56`` into
``1.23456`` or ``05.06.2018`` into May 6th. So extraction asks the model for the value as printed
plus a verbatim quote, and the typed value is computed here, from text, with rules we can test.

Locale is decided per document, not per number: :func:`detect_decimal_separator` votes over the
unambiguous numbers of the whole text (``12,50`` says comma, ``12.50`` says point), and
:func:`detect_dayfirst` over unambiguous dates (``20/03/2023`` says day first). The per-number
parsers take those hints for the ambiguous cases (``1,234``, ``05/06/2018``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

# --------------------------------------------------------------------------------------------
# text normalisation (shared with evidence matching)
# --------------------------------------------------------------------------------------------

QUOTE_MAP = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
        "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\u00ad": "",
    }
)
_WS_RE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Case-fold, unify quotes/dashes/odd spaces (NFKC) and collapse whitespace, for matching."""
    text = unicodedata.normalize("NFKC", text).translate(QUOTE_MAP)
    return _WS_RE.sub(" ", text).strip().casefold()


# --------------------------------------------------------------------------------------------
# currencies
# --------------------------------------------------------------------------------------------

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
    r"(?:US\$|U\.S\.\$|R\$|C\$|A\$|HK\$|S\$|[$€£¥₹₽₩₺₪]|Rs\.?|zł|Kč|Ft|Fr\.|"
    + "|".join(sorted(ISO_CURRENCIES))
    + r")"
)


def parse_currency(text: str) -> str | None:
    """ISO 4217 code named in ``text`` (an ISO code wins over a symbol), e.g. ``'45,93 €' -> 'EUR'``."""
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
        return _SYMBOL_TO_ISO.get(m.group(0))
    return None


# --------------------------------------------------------------------------------------------
# numbers and amounts
# --------------------------------------------------------------------------------------------

# One number as printed: grouped (1,234,567.89 / 1.234,56 / 1 234,56 / 1'234.50) or plain (1234.5).
_NUM = r"(?:\d{1,3}(?:(?:[.,'’]|[ \u00a0\u202f])\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?|[.,]\d+)"
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

    Rules, in order: both ``.`` and ``,`` present -> the last one is the decimal separator; one kind
    repeated -> thousands; one occurrence followed by exactly three digits (``1,234``) is ambiguous
    -> ``decimal_separator`` decides, default thousands (a leading ``0,`` is always decimal);
    otherwise it is the decimal separator. Spaces and apostrophes group thousands.
    """
    s = num.strip().replace("\u00a0", " ").replace("\u202f", " ").replace("’", "'")
    s = s.replace(" ", "").replace("'", "")
    if not s or not re.fullmatch(r"[\d.,]+", s) or not re.search(r"\d", s):
        return None
    has_c, has_p = "," in s, "." in s
    if has_c and has_p:
        dec = "," if s.rfind(",") > s.rfind(".") else "."
        thou = "." if dec == "," else ","
        if s.count(dec) > 1:
            return None
        s = s.replace(thou, "").replace(dec, ".")
    elif has_c or has_p:
        sep = "," if has_c else "."
        if s.count(sep) > 1:
            parts = s.split(sep)
            if not all(len(p) == 3 for p in parts[1:]):
                return None
            s = s.replace(sep, "")
        else:
            head, tail = s.split(sep)
            ambiguous = len(tail) == 3 and 1 <= len(head) <= 3 and head != "0" and head != ""
            if ambiguous:
                is_decimal = decimal_separator == sep
            else:
                is_decimal = True
            s = head + ("." + tail if is_decimal else tail) if head else "0." + tail
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def find_amounts(text: str, *, decimal_separator: str | None = None) -> list[AmountMatch]:
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
            if not nxt.startswith(("k", "K", "m", "M")):  # 5k, 3M: keep
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
                currency=parse_currency(cur) if cur else None,
                start=start,
                end=m.end(),
                raw=m.group(0).strip(),
            )
        )
    return out


def parse_amount(text: str, *, decimal_separator: str | None = None) -> Decimal | None:
    """The amount in ``text``: the one carrying a currency if exactly one does, else the last one.

    ``'Total TTC : 56,02 €'`` -> 56.02; ``'(1,577)'`` -> -1577; ``'1.234,56'`` -> 1234.56.
    """
    found = find_amounts(text, decimal_separator=decimal_separator)
    if not found:
        return None
    with_cur = [a for a in found if a.currency]
    if len(with_cur) == 1:
        return with_cur[0].value
    return found[-1].value


def parse_percentage(text: str, *, decimal_separator: str | None = None) -> Decimal | None:
    """The number before a ``%`` sign, as printed (``'TVA 20 %'`` -> 20, ``'19,5%'`` -> 19.5)."""
    m = re.search(r"([-−]?)\s*(" + _NUM + r")\s*(?:%|percent\b|per cent\b|Prozent\b)", text)
    if not m:
        return None
    value = parse_number(m.group(2), decimal_separator=decimal_separator)
    if value is None:
        return None
    return -value if m.group(1) else value


# --------------------------------------------------------------------------------------------
# dates
# --------------------------------------------------------------------------------------------

_MONTHS: dict[str, int] = {}
for _num, _names in enumerate(
    [
        "january jan januar janvier janv enero ene gennaio gen januari jänner jän styczeń stycznia sty",
        "february feb februar février févr fevrier fevr febrero febbraio februari luty lutego lut",
        "march mar märz maerz mars marzo maart mrt marca marzec",
        "april apr avril avr abril aprile kwiecień kwietnia kwi",
        "may mai mayo maggio mei maj maja",
        "june jun juni juin junio giugno czerwiec czerwca cze",
        "july jul juli juillet juil julio luglio lipiec lipca lip",
        "august aug août aout agosto augustus sierpień sierpnia sie",
        "september sep sept septembre septiembre settembre wrzesień września wrz",
        "october oct oktober octobre octubre ottobre okt października paź",
        "november nov novembre noviembre listopad listopada lis",
        "december dec dezember décembre decembre diciembre dic dicembre grudzień grudnia gru dez",
    ],
    start=1,
):
    for _n in _names.split():
        _MONTHS.setdefault(_n, _num)

_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MON = r"(?P<mon>" + _MONTH_ALT + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|\.)?"
_YEAR = r"(?P<year>\d{4}|'?\d{2})"

_DATE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ymd", re.compile(r"(?<!\d)(?P<year>\d{4})(?P<s>[-/.])(?P<a>\d{1,2})(?P=s)(?P<b>\d{1,2})(?!\d)")),
    ("num", re.compile(r"(?<!\d)(?P<a>\d{1,2})(?P<s>[-/.])(?P<b>\d{1,2})(?P=s)(?P<year>\d{4}|\d{2})(?![\d])")),
    ("dmy", re.compile(r"(?<![\w])" + _DAY + r"[\s\-/]*(?:of\s+|de\s+)?" + _MON + r"[\s,\-/]*" + _YEAR + r"(?!\d)", re.I)),
    ("mdy", re.compile(r"(?<![\w])" + _MON + r"\s*" + _DAY + r"\s*,?\s*" + _YEAR + r"(?!\d)", re.I)),
]


@dataclass(frozen=True)
class DateMatch:
    value: date
    start: int
    end: int
    raw: str
    ambiguous: bool = False


def _year(y: str) -> int:
    y = y.lstrip("'")
    n = int(y)
    if len(y) == 2:
        n += 2000 if n < 70 else 1900
    return n


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def detect_dayfirst(text: str) -> bool | None:
    """True/False when the numeric dates of ``text`` that can only be read one way agree; else None."""
    first = second = 0
    for m in _DATE_PATTERNS[1][1].finditer(text):
        a, b = int(m.group("a")), int(m.group("b"))
        if a > 12 >= b:
            first += 1
        elif b > 12 >= a:
            second += 1
    if first == second:
        return None
    return first > second


def find_dates(
    text: str, *, dayfirst: bool | None = None, decimal_separator: str | None = None
) -> list[DateMatch]:
    """Every date in ``text``, in order of position.

    Numeric ``a?b?y``: a part over 12 settles the order; otherwise ``dayfirst`` decides; with no hint,
    dotted (``05.06.2018``) and dashed dates read day first (European), slashed ones day first when
    the document writes decimals with a comma and month first otherwise (``03/20/2023`` US style).
    """
    found: list[DateMatch] = []
    taken: list[tuple[int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= ts or s >= te for ts, te in taken)

    for kind, rx in _DATE_PATTERNS:
        for m in rx.finditer(text):
            if not free(m.start(), m.end()):
                continue
            ambiguous = False
            value: date | None
            if kind == "ymd":
                value = _safe_date(int(m.group("year")), int(m.group("a")), int(m.group("b")))
            elif kind == "num":
                a, b, y = int(m.group("a")), int(m.group("b")), _year(m.group("year"))
                sep = m.group("s")
                if a > 12 and b <= 12:
                    df = True
                elif b > 12 and a <= 12:
                    df = False
                else:
                    ambiguous = a != b
                    if dayfirst is not None:
                        df = dayfirst
                    elif sep == "/":
                        df = decimal_separator == ","
                    else:
                        df = True
                value = _safe_date(y, b, a) if df else _safe_date(y, a, b)
            else:
                mon = _MONTHS.get(m.group("mon").lower().rstrip("."))
                value = _safe_date(_year(m.group("year")), mon, int(m.group("day"))) if mon else None
            if value is None:
                continue
            found.append(DateMatch(value, m.start(), m.end(), m.group(0).strip(), ambiguous))
            taken.append((m.start(), m.end()))
    found.sort(key=lambda d: d.start)
    return found


def parse_date(
    text: str, *, dayfirst: bool | None = None, decimal_separator: str | None = None
) -> date | None:
    """The first date in ``text`` (``'7. Mai 2014'``, ``'August 3 , 2014'``, ``'28/11/2022'``...)."""
    found = find_dates(text, dayfirst=dayfirst, decimal_separator=decimal_separator)
    return found[0].value if found else None


# --------------------------------------------------------------------------------------------
# locale of a whole document
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocaleHints:
    """Per-document reading conventions, detected once and applied to every field."""

    decimal_separator: str | None = None
    dayfirst: bool | None = None
    currency: str | None = None

    @classmethod
    def detect(cls, text: str) -> "LocaleHints":
        dec = detect_decimal_separator(text)
        df = detect_dayfirst(text)
        if df is None and dec == ",":
            df = True  # comma-decimal locales (de, fr, pl, nl...) all write the day first
        return cls(decimal_separator=dec, dayfirst=df, currency=detect_currency(text, decimal_separator=dec))


def detect_currency(text: str, *, decimal_separator: str | None = None) -> str | None:
    """The currency most amounts of ``text`` are printed with (``$ 42.00``, ``45,93 €``), else None."""
    counts: dict[str, int] = {}
    for a in find_amounts(text, decimal_separator=decimal_separator):
        if a.currency:
            counts[a.currency] = counts.get(a.currency, 0) + 1
    if not counts:
        return None
    best = max(counts.values())
    winners = [c for c, n in counts.items() if n == best]
    return winners[0] if len(winners) == 1 else None


__all__ = [
    "AmountMatch",
    "DateMatch",
    "ISO_CURRENCIES",
    "LocaleHints",
    "detect_currency",
    "detect_dayfirst",
    "detect_decimal_separator",
    "find_amounts",
    "find_dates",
    "normalize_text",
    "parse_amount",
    "parse_currency",
    "parse_date",
    "parse_number",
    "parse_percentage",
]
