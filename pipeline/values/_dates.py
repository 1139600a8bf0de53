"""Dates as documents print them: numeric (05.06.2018, 03/20/2023, 2026-03-14), with month names in 38
languages (CLDR, via babel: ``_month_names.py``), East Asian (2026年3月14日), Roman-numeral months (14.III.2026),
ISO weeks (2026-W11-6); a short value none of those read goes to dateparser."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from pipeline.values._month_names import MONTH_NAMES

# CLDR's month names of 37 languages (scripts/gen_month_names.py) and spellings CLDR does not list.
_MONTHS: dict[str, int] = dict(MONTH_NAMES)
for _alias, _number in (("maerz", 3), ("sept", 9), ("janv", 1), ("fevr", 2), ("fevrier", 2), ("aout", 8),
                        ("decembre", 12), ("jän", 1), ("dez", 12), ("okt", 10), ("mrt", 3), ("juil", 7)):
    _MONTHS.setdefault(_alias, _number)

# Any word of letters where a month may stand, looked up in the table afterwards: one dictionary lookup per
# candidate instead of an alternation of 600 names tried at every position (5x faster over a filing).
_MON = r"(?P<mon>[^\W\d_]{3,})\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|\.)?"
_YEAR = r"(?P<year>\d{4}|'?\d{2})"

_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10, "xi": 11,
          "xii": 12}

_DATE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # East Asian: 2026年3月14日 (Chinese, Japanese), 2026년 3월 14일 (Korean).
    ("cjk", re.compile(r"(?P<year>\d{4})\s*[年년]\s*(?P<a>\d{1,2})\s*[月월]\s*(?P<b>\d{1,2})\s*[日일]")),
    # ISO week dates: 2026-W11-6 (Saturday of week 11), 2026-W11 (its Monday; ambiguous as a day).
    ("week", re.compile(r"(?<!\d)(?P<year>\d{4})-?W(?P<week>\d{2})(?:-?(?P<wd>[1-7]))?(?![\dA-Za-z])")),
    # Roman-numeral months (Central and Eastern Europe): 14.III.2026, 14 III 2026.
    ("roman", re.compile(r"(?<![\w.])(?P<day>[0-3]?\d)[.\s/-]\s*(?P<rom>XII|XI|IX|X|VIII|VII|VI|IV|V|III|II|I)"
                         r"[.\s/-]\s*(?P<year>\d{4})(?!\d)")),  # upper case only: Polish "i" is "and"
    ("ymd", re.compile(r"(?<!\d)(?P<year>\d{4})(?P<s>[-/.])(?P<a>\d{1,2})(?P=s)(?P<b>\d{1,2})(?!\d)")),
    ("num", re.compile(r"(?<!\d)(?P<a>\d{1,2})(?P<s>[-/.])(?P<b>\d{1,2})(?P=s)(?P<year>\d{4}|\d{2})(?![\d])")),
    ("dmy", re.compile(r"(?<![\w])" + _DAY + r"[\s\-/]*(?:of\s+|de\s+|del\s+)?" + _MON
                       + r"[\s,\-/]*(?:de\s+|del\s+)?" + _YEAR + r"(?!\d)", re.I)),
    ("mdy", re.compile(r"(?<![\w])" + _MON + r"\s*" + _DAY + r"\s*,?\s*" + _YEAR + r"(?!\d)", re.I)),
]


_NUMERIC = dict(_DATE_PATTERNS)["num"]


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
    for m in _NUMERIC.finditer(text):
        a, b = int(m.group("a")), int(m.group("b"))
        if a > 12 >= b:
            first += 1
        elif b > 12 >= a:
            second += 1
    if first == second:
        return None
    return first > second


def _week_date(m: re.Match[str]) -> date | None:
    try:
        return date.fromisocalendar(int(m.group("year")), int(m.group("week")), int(m.group("wd") or 1))
    except ValueError:
        return None


def find_dates(
    text: str, *, dayfirst: bool | None = None, decimal_separator: str | None = None, library: bool = False
) -> list[DateMatch]:
    """Every date in ``text``, in order of position.

    Numeric ``a?b?y``: a part over 12 settles the order; otherwise ``dayfirst`` decides; with no hint,
    dotted (``05.06.2018``) and dashed dates read day first (European), slashed ones day first when
    the document writes decimals with a comma and month first otherwise (``03/20/2023`` US style).
    ``library``: ``text`` is one value as printed (a model's answer, a form field), so when no pattern reads it
    dateparser is asked; never for running text, where it would read dates into amounts and is slow.
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
            if kind in ("ymd", "cjk"):
                value = _safe_date(int(m.group("year")), int(m.group("a")), int(m.group("b")))
            elif kind == "week":
                value, ambiguous = _week_date(m), m.group("wd") is None
            elif kind == "roman":
                value = _safe_date(int(m.group("year")), _ROMAN[m.group("rom").lower()], int(m.group("day")))
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
                mon = _MONTHS.get(m.group("mon").casefold().rstrip("."))  # CLDR's keys are casefolded
                value = _safe_date(_year(m.group("year")), mon, int(m.group("day"))) if mon else None
            if value is None:
                continue
            found.append(DateMatch(value, m.start(), m.end(), m.group(0).strip(), ambiguous))
            taken.append((m.start(), m.end()))
    if library and not found and _worth_a_library(text):
        found = _library_date(text, dayfirst)
    found.sort(key=lambda d: d.start)
    return found


def _worth_a_library(text: str) -> bool:
    """A short string (one value as printed, not a page) with a digit and a letter our patterns did not read:
    a spelling in a language or calendar form they do not know."""
    return len(text) <= 40 and any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


def _library_date(text: str, dayfirst: bool | None) -> list[DateMatch]:
    """The date dateparser reads in ``text`` (day, month and year all required), as one match."""
    try:
        import dateparser
    except ImportError:  # an optional reader: without it such strings stay unread, as before
        return []
    order = "DMY" if dayfirst is not False else "MDY"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dateparser's own deprecation warnings are not the caller's
        parsed = dateparser.parse(text, settings={"DATE_ORDER": order, "REQUIRE_PARTS": ["day", "month", "year"],
                                                  "PREFER_LOCALE_DATE_ORDER": False})
    if parsed is None:
        return []
    return [DateMatch(parsed.date(), 0, len(text), text.strip(), dayfirst is None)]


def parse_date(
    text: str, *, dayfirst: bool | None = None, decimal_separator: str | None = None
) -> date | None:
    """The first date in ``text`` (``'7. Mai 2014'``, ``'August 3 , 2014'``, ``'28/11/2022'``...)."""
    found = find_dates(text, dayfirst=dayfirst, decimal_separator=decimal_separator, library=True)
    return found[0].value if found else None


__all__ = ["DateMatch", "detect_dayfirst", "find_dates", "parse_date"]
