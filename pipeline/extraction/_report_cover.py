"""Facts of a report outside its statements: the registrant and the period from the cover page, the headcount
from the sentences that count employees (see :mod:`._statements` for the conventions)."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from typing import Protocol

from pipeline.document import Document, ElementKind
from pipeline.extraction._statement_rows import PERIOD_RE, Fact
from pipeline.values import find_dates


class ReportReader(Protocol):
    """What the cover and headcount readers need of the statement reader: the document, the verified-quote
    check and the list the facts go to."""

    doc: Document
    out: list[Fact]

    def _quote(self, *tries: str) -> str | None: ...


_COVER_NAME = re.compile(r"(?i)\(?\s*exact name of (?:the )?registrant as specified in (?:its )?charter")
_COVER_PERIOD = re.compile(r"(?i)\bfor the (?:fiscal |quarterly )?(?:year|quarter|quarterly period|period)\s+ended\b")
_LEGAL = re.compile(r"(?:[A-Z0-9][\w.&'-]*[ ,]+){0,4}?(?:Inc\.?|INC\.?|Incorporated|INCORPORATED|Corporation|"
                    r"CORPORATION|Company|COMPANY|Corp\.|CORP\.|plc|PLC|N\.V\.|Ltd\.|LTD\.|Limited|LIMITED|S\.A\.|"
                    r"AG|SE)(?![\w])")
# Names on a cover that are not the registrant: the exchanges its securities trade on, the regulator.
_NOT_REGISTRANT = re.compile(r"(?i)\b(?:exchange|nasdaq|commission|trust company|transfer agent|documents|filer|"
                             r"growth company|reporting company|incorporated by)\b")
_TICKER_NAME = re.compile(r"(?:^|[–—]\s*|-\s+|\.\s+|\)\s+)([A-Z][\w.&,' ]{1,60}?)\s*\((?:NYSE|NASDAQ|Nasdaq|"
                          r"NYSE American|ASX|LSE|TSX)\s*:\s*[A-Z.]{1,6}\b")
_FILE_NUMBER = re.compile(r"(?i)\bcommission file (?:number|no)\b")
_HEADCOUNT = re.compile(
    r"(?i)(?:approximately|about|over|more than|nearly|roughly|had|employ(?:ed|s)?|of|total of)\s+"
    r"(\d{1,3}(?:,\d{3})+|\d{3,})\s+(?:(?:full|part)[- ]time\s+(?:and\s+(?:full|part)[- ]time\s+)?|"
    r"(?:global\s+|total\s+)?)(?:employees|people|associates|team members|colleagues|workers)\b")
_HEADCOUNT_AFTER = re.compile(
    r"(?i)\b(?:employees|workforce|headcount)\b[^.\d]{0,60}?\b(?:was|were|of|totaled|approximately|about)\s+"
    r"(?:approximately\s+|about\s+)?(\d{1,3}(?:,\d{3})+)")
# "As of December 31, 2022, we employed ..." states the whole; "the Rigid Packaging segment employed ..." a part.
_HEADCOUNT_WHOLE = re.compile(r"(?i)\b(?:as of|at the end of|at (?:january|february|march|april|may|june|july|"
                              r"august|september|october|november|december)|in total|total of|worldwide|globally)\b")
_HEADCOUNT_PART = re.compile(r"(?i)\b(?:segment|division|of whom|of which|\d+ ?%|percent|outside|located in|constitut\w*|"
                             r"in the (?:u\.s\.|united states)|union|represented by)\b")
_PEOPLE_WORDS = re.compile(r"(?i)employ|workforce|headcount|associates|team members|colleagues")
_PEOPLE_SECTION = re.compile(r"(?i)\b(?:employees|human capital|people|workforce|our team|associates)\b")


# -- cover page ---------------------------------------------------------------------------------

def cover(reader: ReportReader) -> None:
    """The registrant and the period, from the cover page (or a release's first lines)."""
    first = [el for el in reader.doc.elements if el.page <= 3 and el.kind is not ElementKind.TABLE]
    lines = [(el, ln.strip()) for el in first for ln in el.text.splitlines() if ln.strip()]
    for k, (el, ln) in enumerate(lines):
        if _COVER_NAME.search(ln):
            before = ln[:_COVER_NAME.search(ln).start()].strip(" ()")  # type: ignore[union-attr]
            name = before or (lines[k - 1][1] if k else "")
            if name and not _COVER_NAME.search(name) and len(name) < 120:
                q = reader._quote(name)
                if q:
                    reader.out.append(Fact("registrant", name, name, el.page, el.bbox, q, 1.0,
                                         "the line above 'exact name of registrant'"))
            break
    for k, (el, ln) in enumerate(lines):  # the cover prints the registrant right after the file number
        if _FILE_NUMBER.search(ln):
            nxt = next((t for _, t in lines[k + 1:k + 4] if not re.search(r"\d{3}", t) and len(t) < 80), None)
            if nxt and not _COVER_NAME.search(nxt) and not _NOT_REGISTRANT.search(nxt) and _LEGAL.search(nxt):
                q = reader._quote(nxt)
                if q:
                    reader.out.append(Fact("registrant", nxt, nxt, el.page, el.bbox, q, 0.9,
                                         "the name after the cover's commission file number"))
            break
    for el, ln in lines:  # a release names its company with its ticker: "Johnson & Johnson (NYSE: JNJ)"
        if el.page > 2 or (m := _TICKER_NAME.search(ln)) is None:
            continue
        name = m.group(1).strip(" ,")
        q = reader._quote(name)
        if q and not _NOT_REGISTRANT.search(name):
            reader.out.append(Fact("registrant", name, name, el.page, el.bbox, q, 0.8,
                                 "the company named with its ticker"))
        break
    counts = Counter(m.group(0).strip(" ,") for el, ln in lines if el.page <= 2 for m in _LEGAL.finditer(ln)
                     if not _NOT_REGISTRANT.search(m.group(0)))
    for name, n in counts.most_common(2):
        q = reader._quote(name)
        if q and len(name.split()) >= 2 and not re.fullmatch(r"(?i)the (?:company|corporation)", name):
            el = next(el for el, ln in lines if name in ln)
            reader.out.append(Fact("registrant", name, name, el.page, el.bbox, q, 0.45 + min(0.2, 0.05 * n),
                                 f"a company with a legal form, printed {n}x on the first pages"))
    for rx, prior, how in ((_COVER_PERIOD, 1.0, "the cover's period"), (PERIOD_RE, 0.75, "the first period ended")):
        hit = next(((el, ln, m) for el, ln in lines for m in [rx.search(ln)] if m), None)
        if hit is None:
            continue
        el, ln, m = hit
        after = ln[m.end():m.end() + 40]
        dates = find_dates(after, dayfirst=False)
        if dates and dates[0].start <= 3:
            q = reader._quote(ln[:m.end()] + after[:dates[0].end], after[:dates[0].end])
            if q:
                reader.out.append(Fact("period_end", dates[0].value, dates[0].raw, el.page, el.bbox, q, prior, how))
                return

# -- headcount ----------------------------------------------------------------------------------

def headcount(reader: ReportReader) -> None:
    """Sentences counting employees."""
    seen = 0
    for el in reader.doc.elements:
        if el.kind is ElementKind.TABLE or not _PEOPLE_WORDS.search(el.text):
            continue
        section = " ".join(el.heading_path[-3:])
        in_section = bool(_PEOPLE_SECTION.search(section))
        counted: set[int] = set()  # sentences (by start) that already gave a count
        for m in sorted([*_HEADCOUNT.finditer(el.text), *_HEADCOUNT_AFTER.finditer(el.text)],
                        key=lambda m: m.start()):
            value = Decimal(m.group(1).replace(",", ""))
            if value < 10:
                continue
            start = max(0, el.text.rfind(".", 0, m.start()) + 1)
            sentence = el.text[start:m.end()].strip()
            q = reader._quote(sentence, m.group(0))
            if q is None:
                continue
            prior = 0.7 + (0.2 if in_section else 0.0) - min(0.15, 0.05 * seen)
            stop = el.text.find(".", m.end())
            whole_sentence = el.text[start:stop if stop >= 0 else len(el.text)]
            if _HEADCOUNT_WHOLE.search(whole_sentence):
                prior += 0.1
            # A breakdown after the count ("..., of whom 52,000 were full-time") is of the count: not a part.
            after = re.split(r"(?i)\b(?:of whom|of which|including|with)\b", el.text[m.end():stop if stop >= 0 else None])[0]
            if _HEADCOUNT_PART.search(el.text[start:m.start()] + " " + after) or start in counted:
                prior -= 0.3  # a part of the workforce, or a breakdown after the sentence's total
            counted.add(start)
            reader.out.append(Fact("employees", value, m.group(1), el.page, el.bbox, q, round(prior, 3),
                                 "a sentence counting employees" + (f" under {section!r}" if in_section else "")))
            seen += 1
            if seen >= 8:
                return


__all__ = ["ReportReader", "cover", "headcount"]
