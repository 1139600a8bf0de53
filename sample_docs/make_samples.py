"""Generate ragline's own sample documents, and on request the bad-input fixtures for tests.

Run from the repository root::

    .venv/bin/python sample_docs/make_samples.py                    # writes the samples next to this file
    .venv/bin/python sample_docs/make_samples.py --out DIR          # ... or into DIR
    .venv/bin/python sample_docs/make_samples.py --bad-inputs DIR   # also writes the bad inputs into DIR

The samples are deterministic: same PyMuPDF version in, same bytes out (fixed metadata dates, fixed PDF
id, fixed random seeds), so they can be regenerated and diffed. Of the bad inputs only ``encrypted.pdf``
differs between runs (AES uses a random IV).

Samples (committed):

* ``report_two_column.pdf`` -- 3 US-Letter pages: full-width title and abstract, two-column body with
  numbered headings (bold, larger), a word hyphenated across a line break ("docu-" / "mentation"), a
  compound split after its own hyphen ("temperature-" / "controlled"), words written with ligature glyphs
  (U+FB01 "fi", U+FB02 "fl"), a ruled table with a header row on page 2, bullet lists, a running header
  "ragline sample report — confidential", a "Page N of 3" footer and an outline (TOC) matching the
  headings. Facts a QA test can ask about are in ``REPORT_FACTS``;
  strings a parser must recover in ``REPORT_TEXT_CHECKS``; furniture in ``REPORT_FURNITURE``.
* ``invoice_acme.pdf`` -- a one-page A4 invoice with European formats (date ``14.03.2026``, amounts
  ``1.234,56 EUR``); the fields to extract are in ``invoice_acme.expected.json`` (``INVOICE_EXPECTED``).
* ``article.html`` -- a news article wrapped in navigation, cookie banner, sidebar, footer, scripts, styles.
* ``article_latin1.html`` -- a small ISO-8859-1 page (charset declared in a meta tag) with accented words.
* ``notes.md`` and ``readme.txt`` -- Markdown and plain text.

Bad inputs (``make_bad_inputs(dir)``; written by tests into a temporary directory, never committed):
``empty.pdf``, ``truncated.pdf``, ``random.pdf``, ``encrypted.pdf`` (AES-256, user password "secret"),
``scanned.pdf`` (one image, no text layer), ``html_broken_utf8.html``, ``mislabeled.pdf`` (HTML bytes),
``big.pdf`` (2,000 near-empty pages).

Tests load this file by path, since ``sample_docs`` is not a package::

    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "sample_docs" / "make_samples.py")
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import sys
from pathlib import Path

import pymupdf  # PyMuPDF; `import fitz` is the deprecated alias and prints a warning on 1.28

HERE = Path(__file__).resolve().parent

# Fixed so that output bytes do not depend on the clock.
_PDF_DATE = "D:20260301120000+00'00'"
_RUNNING_HEADER = "ragline sample report \u2014 confidential"

# --------------------------------------------------------------------------------------------------
# Report content
# --------------------------------------------------------------------------------------------------

REPORT_TITLE = "Energy Use in Cold-Chain and Ambient Warehouses: Findings from the Northgate Metering Study"
REPORT_SUBTITLE = "Northgate Estates Energy Office \u00b7 Technical Report NLP-TR-2026-03 \u00b7 March 2026"

REPORT_ABSTRACT = (
    "This report summarises twelve months of sub-metered electricity data from 14 warehouses at the "
    "Northgate Logistics Park, covering 212,000 m\u00b2 of floor space between 1 March 2025 and 28 February "
    "2026. The park consumed 18.4 GWh of electricity over the period. Refrigeration dominated demand at 61% "
    "of the total, followed by lighting (14%), heating, ventilation and air conditioning (11%) and battery "
    "charging for forklifts (9%). Energy intensity ranged from 38 kWh/m\u00b2 in ambient storage to "
    "263 kWh/m\u00b2 in frozen-goods stores. We evaluate four efficiency measures: LED retrofits pay back in "
    "1.8 years and variable-speed compressor drives in 3.1 years, while rooftop photovoltaics miss the "
    "five-year payback criterion."
)

# Facts stated in the report body, for QA tests (question -> expected answer substring).
REPORT_FACTS: dict[str, str] = {
    "How much electricity did the park consume in the measurement year?": "18.4 GWh",
    "What share of electricity was used by refrigeration?": "61%",
    "How many sub-meters were installed?": "212",
    "When did demand peak?": "17 July 2025",
    "What was the peak demand?": "3.9 MW",
    "Which site had the highest energy intensity?": "W-11",
    "What is the energy intensity of site W-03?": "38 kWh/m\u00b2",
    "What is the payback period of the LED retrofit?": "1.8 years",
    "What electricity price was used to value savings?": "EUR 0.19 per kWh",
    "Which measure misses the five-year payback criterion?": "photovoltaics",
    "How much would the three recommended measures save per year?": "1,462 MWh",
    "How many cooling degree hours were recorded in the measurement year?": "2,310",
    "How many meters serve mixed loads?": "19",
}

# Strings a parser should recover from the report body: "docu-" / "mentation" is split at a line end
# with a hyphen that must be removed; two words are set with ligature glyphs (normalise U+FB01/U+FB02
# to "fi"/"fl", e.g. with NFKC).
REPORT_TEXT_CHECKS: list[str] = [
    "original written documentation of those audits",
    "significant drift",
    "fluorescent tubes",
]
# The hard case: "temperature-" / "controlled" is split after a real hyphen, which should be kept.
# Without a lexicon this is ambiguous; PyMuPDF's dehyphenation (and pymupdf4llm 0.3.4 and 2.0) yield
# "temperaturecontrolled".
REPORT_HARD_TEXT_CHECKS: list[str] = ["temperature-controlled stores"]
# Page furniture: on every page; a parser should classify these as page header/footer, not body text.
# (The right-hand running header "NLP-TR-2026-03" is left out: the subtitle on page 1 also contains it.)
REPORT_FURNITURE: list[str] = [_RUNNING_HEADER, "Page 1 of 3", "Page 2 of 3", "Page 3 of 3"]

# Words with U+00AD (soft hyphen) may be split at that point when they do not fit a line; the layout
# asserts that "docu\xadmentation" is actually split, so the PDF carries a real "docu-" / "mentation".
# Two words carry ligature code points (U+FB01, U+FB02), as PDFs typeset with ligature fonts do.
_H1 = "h1"
_H2 = "h2"
_P = "p"
_LI = "li"
_REF = "ref"

REPORT_BODY: list[tuple[str, str]] = [
    (_H1, "1 Introduction"),
    (_P, ("Warehouses are often treated as simple sheds, yet the buildings at the Northgate Logistics "
          "Park range from unheated ambient halls to frozen-goods stores held at -24 \u00b0C. Before "
          "this study the park operator, Northgate Estates, received a single monthly electricity bill "
          "per site and could not say which equipment drove consumption. In 2024 the operator's board "
          "approved a budget of EUR 410,000 to install sub-meters, collect one year of data and identify "
          "efficiency measures with a payback period below five years.")),
    (_P, ("The study was run by the park's energy office together with two tenants' facility teams. This "
          "report presents the metered consumption, compares six buildings in detail and ranks four "
          "measures by their payback period. It is written for site managers and for the board, and it "
          "avoids engineering detail where a summary figure serves the purpose.")),
    (_H2, "1.1 Background"),
    (_P, ("The park lies on a 64-hectare former rail yard and opened in three phases between 2009 and "
          "2021. Its 14 buildings are let to nine tenants, four of whom operate temperature-controlled "
          "stores for food retailers. Earlier audits in 2019 relied on spot measurements and "
          "manufacturer data sheets; they estimated refrigeration at roughly half of total demand but "
          "gave no breakdown by site. The original written docu\u00admentation of those audits was "
          "incomplete, and several of the original metering points could no longer be found on the "
          "electrical drawings.")),
    (_P, ("Electricity prices for the park rose from EUR 0.11 per kWh in 2021 to a peak of EUR 0.27 per "
          "kWh in the winter of 2022, before settling at an average of EUR 0.19 per kWh in 2025. Two "
          "tenants asked for itemised energy statements as part of their own carbon reporting, which the "
          "single-meter setup could not provide.")),
    (_H2, "1.2 Scope of this report"),
    (_P, ("This report covers electricity only. Natural gas is used for space heating in two office "
          "annexes and accounts for less than 3% of the park's final energy; it is excluded. Transport "
          "energy, including the diesel used by yard tractors, is also outside the scope. All figures "
          "refer to the measurement year from 1 March 2025 to 28 February 2026 unless stated otherwise.")),
    (_H1, "2 Method"),
    (_H2, "2.1 Sites and metering"),
    (_P, ("A total of 212 sub-meters were installed between November 2024 and February 2025, on average "
          "15 per building. Each meter records active energy at 15-minute intervals and reports over a "
          "private LoRaWAN network to a data logger in the park's control room. The main incoming meters "
          "of the grid operator were used as a reference: the sum of the sub-meters matched them within "
          "1.7% in every month, and no signi\ufb01cant drift was found when the meters were checked "
          "again in January 2026.")),
    (_P, ("Outdoor temperature and humidity were taken from the park's own weather station, which logs "
          "at the same 15-minute interval. Goods movements at the dock doors were taken from the "
          "tenants' warehouse management systems, which record the opening and closing time of every "
          "door.")),
    (_H2, "2.2 Data cleaning"),
    (_P, ("Raw readings were screened for gaps, counter resets and implausible jumps. Gaps shorter than "
          "two hours (0.4% of all intervals) were filled by linear interpolation; longer gaps, mostly "
          "caused by a gateway failure between 9 and 16 August 2025, were filled from the same weekday "
          "of the previous week. End uses were assigned from meter labels and checked on site by two "
          "engineers. Where a single meter served several loads, consumption was split using nameplate "
          "ratings and run-hour logs.")),
    (_H1, "3 Results"),
    (_H2, "3.1 Consumption by end use"),
    (_P, ("The park consumed 18.4 GWh of electricity in the measurement year, equal to an average "
          "intensity of 86.8 kWh per square metre of floor area. Refrigeration used 11.2 GWh (61%), "
          "lighting 2.6 GWh (14%), heating, ventilation and air conditioning 2.0 GWh (11%), battery "
          "charging 1.7 GWh (9%), and other loads such as dock levellers, IT equipment and security 0.9 "
          "GWh (5%).")),
    (_P, ("Demand peaked at 3.9 MW at 14:15 on 17 July 2025, when the outdoor temperature reached 34 "
          "\u00b0C and all frozen stores were receiving goods at the same time. The lowest load, 0.8 MW, "
          "was recorded at 04:00 on 1 January 2026. Monthly consumption ranged from 1.29 GWh in February "
          "2026 to 1.87 GWh in July 2025; the summer months were higher because refrigeration "
          "compressors work harder against warm air.")),
    (_H2, "3.2 Site comparison"),
    (_P, ("Table 1 lists the six sites with the most complete data. Intensity varies by a factor of "
          "seven between building types. The frozen store W-11 had the highest intensity, 263 "
          "kWh/m\u00b2, although it is the newest building in the park: its insulation is good, but its "
          "dock doors were open for an average of 9.5 hours per day. The ambient warehouse W-03 had the "
          "lowest intensity, 38 kWh/m\u00b2, after its old \ufb02uorescent tubes were replaced with LED "
          "fixtures in 2023.")),
    (_P, ("The two chilled stores, W-07 and W-08, sit between these extremes. W-07 holds fresh produce "
          "at +2 \u00b0C and runs its evaporator fans continuously, which explains most of the "
          "difference to W-08.")),
    (_H2, "3.3 Daily load profile"),
    (_P, ("Across the park, 38% of electricity was used between 22:00 and 06:00, when most buildings are "
          "closed to traffic. Battery charging accounts for a third of this night load, because forklift "
          "fleets are charged after the evening shift. Refrigeration load falls by only 12% at night, "
          "since cold stores must hold temperature whether or not goods are moving.")),
    (_H1, "4 Measures and payback"),
    (_P, ("We modelled four measures using the metered data as a baseline. Costs are 2025 contractor "
          "quotes excluding VAT; savings are valued at the park's average 2025 electricity price of EUR "
          "0.19 per kWh. The measures are:")),
    (_LI, ("LED lighting with occupancy sensors in W-05, W-07 and W-08: EUR 137,000 investment, 402 MWh "
           "saved per year, payback 1.8 years.")),
    (_LI, ("Variable-speed drives on the refrigeration compressors of W-11 and W-12: EUR 264,000 "
           "investment, 450 MWh saved per year, payback 3.1 years.")),
    (_LI, ("Rapid-roll doors and dock shelters on 22 frozen-store docks: EUR 318,000 investment, "
           "infiltration load reduced by 23%, 610 MWh saved per year, payback 2.7 years.")),
    (_LI, ("Rooftop photovoltaics, 1.2 MWp on W-07: EUR 960,000 investment, 790 MWh generated per year "
           "of which 96% is used on site, payback 6.7 years.")),
    (_P, ("Rooftop photovoltaics is the only measure that misses the five-year payback criterion. Its "
          "case would improve if the installation were combined with the replacement of the W-07 roof "
          "membrane, which is due in 2028 and would remove about EUR 140,000 of scaffolding and access "
          "costs.")),
    (_H1, "5 Limitations"),
    (_P, ("The measurement year was warmer than the long-term average: the park's weather station "
          "recorded 2,310 cooling degree hours above 18 \u00b0C, against a ten-year mean of 1,870. "
          "Refrigeration consumption in a typical year may therefore be around 4% lower than reported "
          "here. The savings estimate for the dock door measure rests on door-opening logs from only two "
          "tenants, at W-11 and W-12, and assumes that the other frozen stores behave in the same way.")),
    (_P, ("Sub-meter accuracy is class 1 (\u00b11%) for the 178 meters on main distribution boards and "
          "class 2 (\u00b12%) for the 34 meters on smaller sub-boards. The end-use split is more "
          "uncertain than the totals, because 19 meters serve mixed loads; we estimate the uncertainty "
          "of the refrigeration share at \u00b13 percentage points.")),
    (_H1, "6 Next steps"),
    (_P, ("The energy office proposes the following timetable, subject to approval by the board in its "
          "meeting of 22 April 2026:")),
    (_LI, ("Tender the LED and dock door packages in the second quarter of 2026 and install them before "
           "the summer peak of 2027.")),
    (_LI, "Publish monthly energy statements to all nine tenants from May 2026, using the sub-meter data."),
    (_LI, ("Install the compressor drives at W-11 and W-12 during the planned maintenance shutdown in "
           "January 2027.")),
    (_LI, "Repeat the site comparison in spring 2028, after the first full year with the new measures."),
    (_H1, "7 Conclusions"),
    (_P, ("Sub-metering changed the park's picture of its own energy use. Refrigeration is the dominant "
          "load, and the largest savings come from keeping cold air inside frozen stores rather than "
          "from producing it more efficiently. Three of the four measures meet the five-year payback "
          "criterion; together they would save 1,462 MWh per year, or 7.9% of the park's electricity.")),
    (_P, ("We recommend installing them in 2026 and 2027 in the order of their payback periods, and "
          "revisiting rooftop photovoltaics when the W-07 roof membrane is replaced in 2028. The "
          "metering network will stay in place so that savings can be verified against the 2025\u201326 "
          "baseline.")),
    (_H1, "Acknowledgements"),
    (_P, ("We thank the facility teams of the tenants at W-07, W-11 and W-12 for access to their door "
          "logs, and the park's electricians for installing the meters during normal operations without "
          "a single unplanned outage.")),
    (_H1, "References"),
    (_REF, ("[1] Northgate Estates (2019). Energy audit of the Northgate Logistics Park. Internal report "
            "NE-2019-11.")),
    (_REF, ("[2] Northgate Estates (2024). Sub-metering speci\ufb01cation, revision C. Internal document "
            "NE-SPEC-0412.")),
    (_REF, ("[3] Harbour Energy Consultants (2025). Contractor quotes for lighting, drive and door "
            "measures. Letter of 14 October 2025.")),
]

REPORT_TABLE_CAPTION = (
    "Table 1: Floor area, electricity use and energy intensity of the six sites with the most complete "
    "data, 1 March 2025 to 28 February 2026."
)
REPORT_TABLE: list[list[str]] = [
    ["Site", "Type", "Floor area (m\u00b2)", "Electricity (MWh)", "Intensity (kWh/m\u00b2)"],
    ["W-03", "Ambient", "24,500", "931", "38"],
    ["W-05", "Ambient", "18,200", "1,001", "55"],
    ["W-07", "Chilled (+2 \u00b0C)", "15,800", "2,370", "150"],
    ["W-08", "Chilled (+4 \u00b0C)", "12,400", "1,674", "135"],
    ["W-11", "Frozen (-24 \u00b0C)", "11,600", "3,051", "263"],
    ["W-12", "Frozen (-22 \u00b0C)", "9,900", "2,475", "250"],
    ["Total", "", "92,400", "11,502", "124"],
]

# --------------------------------------------------------------------------------------------------
# Minimal layout engine: greedy line breaking with soft-hyphen splits, flowing through column frames.
# --------------------------------------------------------------------------------------------------

_LETTER = pymupdf.paper_rect("letter")  # 612 x 792 pt
_MARGIN_X = 54.0
_BODY_TOP = 66.0
_BODY_BOTTOM = 738.0
_GUTTER = 20.0
_BODY_SIZE = 10.0
_BODY_LEADING = 12.4
_SHY = "\u00ad"


# Plain classes rather than dataclasses: tests load this file with importlib by path, and dataclasses with
# postponed annotations need the module registered in sys.modules first.
class _Fonts:
    def __init__(self) -> None:
        self.body = pymupdf.Font("tiro")
        self.italic = pymupdf.Font("tiit")
        self.bold = pymupdf.Font("tibo")
        self.sans = pymupdf.Font("helv")
        self.sans_bold = pymupdf.Font("hebo")


class _Frame:
    def __init__(self, page: int, x0: float, y0: float, x1: float, y1: float) -> None:
        self.page = page  # 0-based
        self.x0, self.y0, self.x1, self.y1 = x0, y0, x1, y1


class _Flow:
    """Cursor over a sequence of frames; records where headings and hyphen breaks land."""

    def __init__(self, frames: list[_Frame], writers: dict[int, pymupdf.TextWriter]) -> None:
        self.frames = frames
        self.writers = writers
        self.idx = 0
        self.y = frames[0].y0
        self.toc: list[list[object]] = []
        self.hyphen_breaks: list[str] = []

    @property
    def frame(self) -> _Frame:
        return self.frames[self.idx]

    def at_top(self) -> bool:
        return self.y <= self.frame.y0 + 0.01

    def ensure(self, height: float) -> None:
        if self.y + height > self.frame.y1 and not self.at_top():
            self.next_frame()

    def next_frame(self) -> None:
        self.idx += 1
        if self.idx >= len(self.frames):
            raise RuntimeError("report text overflows the 3 pages; shorten REPORT_BODY")
        self.y = self.frame.y0

    def write_line(self, indent: float, text: str, font: pymupdf.Font, size: float, leading: float) -> None:
        self.ensure(leading)  # may move to the next frame, so x is taken from the frame afterwards
        # y is the top of the line box; the baseline sits at about 80% of the font size below it.
        pos = (self.frame.x0 + indent, self.y + size * 0.8)
        self.writers[self.frame.page].append(pos, text, font=font, fontsize=size)
        self.y += leading


_ADVANCE: dict[tuple[str, str], float] = {}


def _width(font: pymupdf.Font, text: str, size: float) -> float:
    """Same as ``font.text_length(text, size)`` (TextWriter does not kern), but with per-glyph caching:
    ``text_length`` costs ~1 ms a call and line breaking calls it thousands of times."""
    total = 0.0
    for ch in text:
        key = (font.name, ch)
        adv = _ADVANCE.get(key)
        if adv is None:
            adv = _ADVANCE[key] = font.text_length(ch, 1.0)
        total += adv
    return total * size


def _split_points(word: str) -> list[tuple[str, str]]:
    """Where a word may be broken: at soft hyphens (a '-' is shown) and after real hyphens.

    Returns (visible head including its '-', raw tail) pairs, longest head first."""
    out = []
    for i, ch in enumerate(word):
        if ch == _SHY:
            out.append((word[:i].replace(_SHY, "") + "-", word[i + 1 :]))
        elif ch == "-" and 0 < i < len(word) - 1 and word[i - 1].isalpha() and word[i + 1].isalpha():
            out.append((word[: i + 1].replace(_SHY, ""), word[i + 1 :]))
    return out[::-1]


def _break_lines(text: str, font: pymupdf.Font, size: float, width: float) -> tuple[list[str], list[str]]:
    """Greedy line breaking; a word may be split at a soft hyphen (shown as '-') or after a real hyphen.

    Returns the lines and the words that were split at a soft hyphen (as "head-|tail")."""
    lines: list[str] = []
    split: list[str] = []
    line = ""
    words = text.split(" ")
    i = 0
    while i < len(words):
        word = words[i]
        visible = word.replace(_SHY, "")
        candidate = f"{line} {visible}" if line else visible
        if _width(font, candidate, size) <= width:
            line = candidate
            i += 1
            continue
        for head, tail in _split_points(word):
            cand = f"{line} {head}" if line else head
            if _width(font, cand, size) <= width:
                lines.append(cand)
                if not word.replace(_SHY, "").startswith(head):  # a soft-hyphen split, not a real hyphen
                    split.append(f"{head}|{tail.replace(_SHY, '')}")
                words[i] = tail
                line = ""
                break
        else:
            if line:
                lines.append(line)
                line = ""
            else:  # a single unsplittable word wider than the column: place it anyway
                lines.append(visible)
                i += 1
    if line:
        lines.append(line)
    return lines, split


def _draw_table(
    page: pymupdf.Page, writer: pymupdf.TextWriter, fonts: _Fonts, rows: list[list[str]], top: float
) -> float:
    """Ruled table across the full text width; returns the y below it."""
    x0, x1 = _MARGIN_X, _LETTER.width - _MARGIN_X
    col_w = [0.12, 0.26, 0.20, 0.21, 0.21]
    xs = [x0]
    for w in col_w:
        xs.append(xs[-1] + w * (x1 - x0))
    row_h = 16.0
    size = 9.0
    # header background first, so text is drawn over it
    page.draw_rect(pymupdf.Rect(x0, top, x1, top + row_h), color=None, fill=(0.85, 0.88, 0.92))
    for r, row in enumerate(rows):
        y = top + r * row_h
        is_header = r == 0
        is_total = r == len(rows) - 1
        font = fonts.bold if (is_header or is_total) else fonts.body
        for c, cell in enumerate(row):
            if not cell:
                continue
            if c >= 2:  # numbers right-aligned
                tx = xs[c + 1] - 5 - _width(font, cell, size)
            else:
                tx = xs[c] + 5
            writer.append((tx, y + row_h - 4.5), cell, font=font, fontsize=size)
    bottom = top + len(rows) * row_h
    shape = page.new_shape()
    for r in range(len(rows) + 1):
        y = top + r * row_h
        shape.draw_line((x0, y), (x1, y))
    for x in xs:
        shape.draw_line((x, top), (x, bottom))
    shape.finish(color=(0, 0, 0), width=0.6)
    shape.commit()
    return bottom


def _furniture(page: pymupdf.Page, fonts: _Fonts, number: int, total: int) -> None:
    tw = pymupdf.TextWriter(page.rect)
    tw.append((_MARGIN_X, 40), _RUNNING_HEADER, font=fonts.sans, fontsize=8)
    label = "NLP-TR-2026-03"
    label_x = _LETTER.width - _MARGIN_X - _width(fonts.sans, label, 8)
    tw.append((label_x, 40), label, font=fonts.sans, fontsize=8)
    footer = f"Page {number} of {total}"
    tw.append(((_LETTER.width - _width(fonts.sans, footer, 8)) / 2, 762), footer, font=fonts.sans, fontsize=8)
    tw.write_text(page, color=(0.35, 0.35, 0.35))
    page.draw_line((_MARGIN_X, 46), (_LETTER.width - _MARGIN_X, 46), color=(0.5, 0.5, 0.5), width=0.5)


def _save_bytes(doc: pymupdf.Document, **kwargs: object) -> bytes:
    doc.set_metadata(
        {
            **{k: v for k, v in doc.metadata.items() if k in ("title", "author", "subject", "keywords")},
            "creator": "ragline sample_docs/make_samples.py",
            "producer": "PyMuPDF",
            "creationDate": _PDF_DATE,
            "modDate": _PDF_DATE,
        }
    )
    # no_new_id keeps the file id stable across runs; garbage/deflate keep the files small.
    return bytes(doc.tobytes(garbage=4, deflate=True, no_new_id=True, **kwargs))


def build_report() -> pymupdf.Document:
    """The two-column report as an open document (not yet saved)."""
    fonts = _Fonts()
    doc = pymupdf.open()
    n_pages = 3
    for _ in range(n_pages):
        doc.new_page(width=_LETTER.width, height=_LETTER.height)
    # load after creating all pages: a Page from new_page() is not safe to keep across later new_page() calls
    pages = [doc[i] for i in range(n_pages)]
    writers = {i: pymupdf.TextWriter(p.rect) for i, p in enumerate(pages)}
    full_w = _LETTER.width - 2 * _MARGIN_X

    # Page 1: full-width title, subtitle and abstract.
    y = _BODY_TOP + 6
    title_lines, _ = _break_lines(REPORT_TITLE, fonts.sans_bold, 17, full_w)
    for line in title_lines:
        writers[0].append((_MARGIN_X, y + 17 * 0.8), line, font=fonts.sans_bold, fontsize=17)
        y += 21
    y += 4
    writers[0].append((_MARGIN_X, y + 8), REPORT_SUBTITLE, font=fonts.sans, fontsize=9.5)
    y += 24
    writers[0].append((_MARGIN_X, y + 9), "Abstract", font=fonts.bold, fontsize=11)
    y += 16
    abs_lines, _ = _break_lines(REPORT_ABSTRACT, fonts.italic, 10, full_w)
    for line in abs_lines:
        writers[0].append((_MARGIN_X, y + 8), line, font=fonts.italic, fontsize=10)
        y += 12.4
    y += 8
    pages[0].draw_line((_MARGIN_X, y), (_LETTER.width - _MARGIN_X, y), color=(0, 0, 0), width=0.6)
    page1_top = y + 12

    # Page 2: full-width table (a float at the top of the page) with its caption.
    table_bottom = _draw_table(pages[1], writers[1], fonts, REPORT_TABLE, _BODY_TOP + 4)
    cy = table_bottom + 6
    cap_lines, _ = _break_lines(REPORT_TABLE_CAPTION, fonts.italic, 9, full_w)
    for line in cap_lines:
        writers[1].append((_MARGIN_X, cy + 8), line, font=fonts.italic, fontsize=9)
        cy += 11
    page2_top = cy + 14

    col_w = (full_w - _GUTTER) / 2
    frames: list[_Frame] = []
    for p, top in ((0, page1_top), (1, page2_top), (2, _BODY_TOP + 6)):
        for c in range(2):
            x0 = _MARGIN_X + c * (col_w + _GUTTER)
            frames.append(_Frame(p, x0, top, x0 + col_w, _BODY_BOTTOM))
    flow = _Flow(frames, writers)

    for kind, text in REPORT_BODY:
        if kind in (_H1, _H2):
            size = 12.0 if kind == _H1 else 10.5
            font = fonts.sans_bold
            if not flow.at_top():
                flow.y += 9 if kind == _H1 else 5
            # keep a heading with at least three lines of what follows
            flow.ensure(size * 1.3 + 3 * _BODY_LEADING)
            flow.toc.append([1 if kind == _H1 else 2, text, flow.frame.page + 1, flow.y])
            flow.write_line(0, text, font, size, size * 1.3 + 2)
        elif kind == _P:
            lines, split = _break_lines(text, fonts.body, _BODY_SIZE, col_w)
            flow.hyphen_breaks += split
            # No single line of a paragraph alone at the bottom or top of a column (orphan / widow).
            fit = int((flow.frame.y1 - flow.y) // _BODY_LEADING)
            if len(lines) > fit and not flow.at_top():
                if fit < 2:
                    flow.next_frame()
                elif len(lines) - fit == 1:
                    fit -= 1
                    for line in lines[:fit]:
                        flow.write_line(0, line, fonts.body, _BODY_SIZE, _BODY_LEADING)
                    lines = lines[fit:]
                    flow.next_frame()
            for line in lines:
                flow.write_line(0, line, fonts.body, _BODY_SIZE, _BODY_LEADING)
            flow.y += 4
        elif kind in (_LI, _REF):
            # list items get a bullet; references ("[1] ...") a hanging indent only
            indent = 11.0
            lines, split = _break_lines(text, fonts.body, _BODY_SIZE, col_w - indent)
            flow.hyphen_breaks += split
            flow.ensure(_BODY_LEADING * min(2, len(lines)))
            if kind == _LI:
                pos = (flow.frame.x0 + 2, flow.y + _BODY_SIZE * 0.8)
                writers[flow.frame.page].append(pos, "\u2022", font=fonts.body, fontsize=_BODY_SIZE)
                for line in lines:
                    flow.write_line(indent, line, fonts.body, _BODY_SIZE, _BODY_LEADING)
            else:
                for j, line in enumerate(lines):
                    flow.write_line(0 if j == 0 else indent, line, fonts.body, _BODY_SIZE, _BODY_LEADING)
            flow.y += 2
        else:  # pragma: no cover - content table is static
            raise ValueError(kind)

    if flow.frame.page != n_pages - 1:
        raise RuntimeError(f"report text ends on page {flow.frame.page + 1}, expected page {n_pages}")
    if not any(b.startswith("docu-|") for b in flow.hyphen_breaks):
        raise RuntimeError(f"'docu-' / 'mentation' was not split across lines; splits: {flow.hyphen_breaks}")

    for i, page in enumerate(pages):
        writers[i].write_text(page)
        _furniture(page, fonts, i + 1, n_pages)

    doc.set_toc([[lvl, title, pno, top] for lvl, title, pno, top in flow.toc])
    doc.set_metadata(
        {
            "title": REPORT_TITLE,
            "author": "Northgate Estates Energy Office",
            "subject": "ragline sample: two-column report",
        }
    )
    doc.subset_fonts()
    return doc


@functools.lru_cache(maxsize=1)
def report_bytes() -> bytes:
    """The saved report; cached because the bad inputs are derived from it."""
    return _save_bytes(build_report())


# --------------------------------------------------------------------------------------------------
# Invoice
# --------------------------------------------------------------------------------------------------

# Printed in European formats: date DD.MM.YYYY, amounts with "." thousands and "," decimals, 7% VAT
# (German reduced rate for printed books). Lines: qty x unit price.
INVOICE_LINES: list[tuple[str, str, int, str, str]] = [
    ("1", "Field Guide to Warehouse Energy Audits (print)", 12, "48,90", "586,80"),
    ("2", "Refrigeration Systems Handbook, 3rd edition", 5, "79,95", "399,75"),
    ("3", "LED Retrofit Pocket Reference", 3, "22,40", "67,20"),
    ("4", "Compressed Air Leak Survey Workbook", 2, "50,02", "100,04"),
]

INVOICE_EXPECTED: dict[str, object] = {
    "invoice_number": "INV-2026-0042",
    "date": "2026-03-14",
    "amount": 1234.56,
    "amount_untaxed": 1153.79,
    "amount_tax": 80.77,
    "currency": "EUR",
    "issuer": "ACME Technical Publishing GmbH",
    "buyer": "Nordtor Logistik GmbH",
    "tax_rate_percent": 7.0,
    "printed": {
        "date": "14.03.2026",
        "amount": "1.234,56 EUR",
        "amount_untaxed": "1.153,79 EUR",
        "amount_tax": "80,77 EUR",
    },
    "distractors": {
        "due_date": "13.04.2026",
        "delivery_date": "12.03.2026",
        "order_reference": "PO-77812",
        "customer_number": "K-10387",
    },
    "lines": [
        {
            "description": d,
            "quantity": q,
            "unit_price": float(u.replace(",", ".")),
            "total": float(t.replace(",", ".")),
        }
        for _, d, q, u, t in INVOICE_LINES
    ],
}


def build_invoice() -> pymupdf.Document:
    fonts = _Fonts()
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)  # A4
    tw = pymupdf.TextWriter(page.rect)
    left, right = 56.0, 539.0

    def text(x: float, y: float, s: str, font: pymupdf.Font = fonts.sans, size: float = 9.5) -> None:
        tw.append((x, y), s, font=font, fontsize=size)

    def rtext(x: float, y: float, s: str, font: pymupdf.Font = fonts.sans, size: float = 9.5) -> None:
        tw.append((x - _width(font, s, size), y), s, font=font, fontsize=size)

    text(left, 70, "ACME", fonts.sans_bold, 26)
    # a clear gap, so text extraction yields "ACME Technical Publishing", not "ACMETechnical"
    text(left + _width(fonts.sans_bold, "ACME", 26) + 8, 70, "Technical Publishing", fonts.sans, 14)
    rtext(right, 62, "INVOICE", fonts.sans_bold, 20)
    page.draw_line((left, 82), (right, 82), color=(0.1, 0.2, 0.5), width=1.5)

    # Seller and buyer address blocks side by side.
    seller = ["ACME Technical Publishing GmbH", "Hafenstra\u00dfe 12", "20457 Hamburg", "Germany",
              "VAT ID: DE 298 114 637"]
    buyer = ["Nordtor Logistik GmbH", "Accounts Payable", "Am Kai 7", "28197 Bremen", "Germany"]
    text(left, 110, "From", fonts.sans_bold, 8.5)
    text(310, 110, "Bill to", fonts.sans_bold, 8.5)
    for i, line in enumerate(seller):
        text(left, 126 + i * 13, line, fonts.sans_bold if i == 0 else fonts.sans)
    for i, line in enumerate(buyer):
        text(310, 126 + i * 13, line, fonts.sans_bold if i == 0 else fonts.sans)

    meta = [
        ("Invoice number:", INVOICE_EXPECTED["invoice_number"]),
        ("Invoice date:", "14.03.2026"),
        ("Delivery date:", "12.03.2026"),
        ("Due date:", "13.04.2026"),
        ("Customer no.:", "K-10387"),
        ("Your order:", "PO-77812"),
    ]
    for i, (k, v) in enumerate(meta):
        text(310, 218 + i * 13, k, fonts.sans_bold)
        text(400, 218 + i * 13, str(v))

    # Line-item table.
    top = 320.0
    cols = [left, 86.0, 330.0, 380.0, 460.0, right]
    heads = ["Pos.", "Description", "Qty", "Unit price", "Amount"]
    row_h = 18.0
    page.draw_rect(pymupdf.Rect(left, top, right, top + row_h), color=None, fill=(0.9, 0.92, 0.96))
    for c, h in enumerate(heads):
        if c >= 2:
            rtext(cols[c + 1] - 5, top + 12.5, h, fonts.sans_bold, 9)
        else:
            text(cols[c] + 5, top + 12.5, h, fonts.sans_bold, 9)
    for r, (pos, desc, qty, unit, total) in enumerate(INVOICE_LINES, start=1):
        y = top + r * row_h + 12.5
        text(cols[0] + 5, y, pos)
        text(cols[1] + 5, y, desc)
        rtext(cols[3] - 5, y, str(qty))
        rtext(cols[4] - 5, y, f"{unit} EUR")
        rtext(cols[5] - 5, y, f"{total} EUR")
    bottom = top + (len(INVOICE_LINES) + 1) * row_h
    shape = page.new_shape()
    for r in range(len(INVOICE_LINES) + 2):
        shape.draw_line((left, top + r * row_h), (right, top + r * row_h))
    shape.finish(color=(0.4, 0.4, 0.4), width=0.5)
    shape.commit()

    # Totals, right-aligned under the table.
    y = bottom + 24
    for label, value, bold in (
        ("Subtotal (net)", "1.153,79 EUR", False),
        ("VAT 7%", "80,77 EUR", False),
        ("Total amount due", "1.234,56 EUR", True),
    ):
        f = fonts.sans_bold if bold else fonts.sans
        text(340, y, label, f, 10)
        rtext(right - 5, y, value, f, 10)
        y += 16
    page.draw_line((340, y - 29), (right, y - 29), color=(0, 0, 0), width=0.6)

    y += 24
    for line in (
        "Payment terms: 30 days net. Please quote the invoice number INV-2026-0042 with your payment.",
        "Books are subject to the reduced VAT rate of 7% (\u00a7 12 Abs. 2 UStG).",
    ):
        text(left, y, line, fonts.sans, 9)
        y += 13

    foot = [
        (
            "ACME Technical Publishing GmbH \u00b7 Managing director: Dr. Helga Brandt \u00b7 "
            "Register court Hamburg HRB 140 552"
        ),
        "Bank: Hanseatic Example Bank \u00b7 IBAN DE89 3704 0044 0532 0130 00 \u00b7 BIC EXAMDEHHXXX",
    ]
    page.draw_line((left, 770), (right, 770), color=(0.6, 0.6, 0.6), width=0.5)
    for i, line in enumerate(foot):
        text(left, 784 + i * 11, line, fonts.sans, 7.5)

    tw.write_text(page)
    doc.set_metadata(
        {
            "title": "Invoice INV-2026-0042",
            "author": "ACME Technical Publishing GmbH",
            "subject": "ragline sample: invoice",
        }
    )
    doc.subset_fonts()
    return doc


def invoice_bytes() -> bytes:
    return _save_bytes(build_invoice())


# --------------------------------------------------------------------------------------------------
# HTML, Markdown, text
# --------------------------------------------------------------------------------------------------

ARTICLE_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Harbour district tests cargo bikes for parcel deliveries | The Riverside Courier</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font-family: Georgia, serif; margin: 0; color: #222; }
  nav ul { list-style: none; display: flex; gap: 1em; }
  .cookie-banner { position: fixed; bottom: 0; background: #333; color: #fff; padding: 1em; }
  aside.related { float: right; width: 30%; font-size: 0.9em; }
  table { border-collapse: collapse; } td, th { border: 1px solid #999; padding: 4px 8px; }
</style>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date()); gtag('config', 'UA-000000-1'); // tracking code: not article text
</script>
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Harbour district tests cargo bikes"}
</script>
</head>
<body>
<div class="cookie-banner" id="cookie-consent">
  <p>We use cookies to improve your experience and to show personalised advertising.
  <button>Accept all</button> <button>Reject non-essential</button> <a href="/privacy">Privacy settings</a></p>
</div>
<header class="site-header">
  <a class="logo" href="/">The Riverside Courier</a>
  <form class="search" action="/search"><input type="search" name="q" placeholder="Search"></form>
</header>
<nav class="main-menu" aria-label="Main">
  <ul>
    <li><a href="/">Home</a></li>
    <li><a href="/news">News</a></li>
    <li><a href="/business">Business</a></li>
    <li><a href="/sport">Sport</a></li>
    <li><a href="/opinion">Opinion</a></li>
    <li><a href="/subscribe">Subscribe</a></li>
  </ul>
</nav>
<main>
<aside class="related">
  <h3>Related articles</h3>
  <ul>
    <li><a href="/news/tram-line-4">Tram line 4 extension delayed until 2028</a></li>
    <li><a href="/news/parking-fees">Council doubles parking fees in the old town</a></li>
    <li><a href="/business/warehouse">New warehouse opens at the Northgate Logistics Park</a></li>
  </ul>
  <div class="ad">Advertisement: Save 20% on your first electric bike service!</div>
</aside>
<article>
  <h1>Harbour district tests cargo bikes for parcel deliveries</h1>
  <p class="byline">By Maren Olsen &middot; Published 2 February 2026</p>
  <p>Forty electric cargo bikes will replace delivery vans on the narrow streets of the harbour district
  from 2 March 2026, in a six-month pilot run by the city council and four parcel companies. The bikes will
  operate from a temporary micro-depot in the former customs shed on Pier 3, where vans drop off parcels
  before 7:00 each morning.</p>
  <p>The council expects the pilot to remove about 1,100 van trips per month from the district and to cut
  delivery emissions by 21%. &ldquo;The streets here were built for handcarts, not for 7.5-tonne trucks,&rdquo;
  said deputy mayor Tomas Berg, who is responsible for transport.</p>
  <h2>How the pilot works</h2>
  <p>Each bike carries up to 180 kg in a closed box of 1.5 cubic metres. Riders are employed by the parcel
  companies and paid the same hourly rate as van drivers. The council pays the rent for the depot, which
  costs EUR 96,000 for the six months.</p>
  <ul>
    <li>40 cargo bikes, each with a range of about 60 km per charge</li>
    <li>4 participating parcel companies</li>
    <li>Deliveries between 7:00 and 19:00, Monday to Saturday</li>
    <li>Evaluation by the university's transport institute, due in October 2026</li>
  </ul>
  <h2>Expected volumes</h2>
  <p>The companies have given the council their planned weekly volumes for the first three months:</p>
  <table>
    <thead>
      <tr><th>Month</th><th>Parcels per week</th><th>Van trips avoided per month</th></tr>
    </thead>
    <tbody>
      <tr><td>March 2026</td><td>6,200</td><td>820</td></tr>
      <tr><td>April 2026</td><td>7,400</td><td>980</td></tr>
      <tr><td>May 2026</td><td>8,500</td><td>1,120</td></tr>
    </tbody>
  </table>
  <p>Shopkeepers on Anchor Street welcomed the plan but asked for loading bays to be kept free for their own
  suppliers. The council said it would review the loading rules after the first two months.</p>
</article>
</main>
<footer class="site-footer">
  <p>&copy; 2026 The Riverside Courier. All rights reserved.</p>
  <ul><li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li><li><a href="/imprint">Imprint</a></li></ul>
</footer>
<script src="/static/js/app.min.js"></script>
<script>document.getElementById('cookie-consent').hidden = localStorage.getItem('consent') === '1';</script>
</body>
</html>
"""

ARTICLE_LATIN1_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">
<title>Caf\u00e9 M\u00fcller reopens in the old town</title>
</head>
<body>
<nav><a href="/">Home</a> | <a href="/food">Food &amp; drink</a></nav>
<article>
<h1>Caf\u00e9 M\u00fcller reopens in the old town</h1>
<p>After eighteen months of renovation, Caf\u00e9 M\u00fcller on Schlo\u00dfstra\u00dfe reopened on Saturday. Owner
J\u00fcrgen M\u00fcller kept the original 1920s counter and added a small terrace with twelve seats.</p>
<p>The menu still lists the caf\u00e9's famous cr\u00e8me br\u00fbl\u00e9e (4,50 EUR) and a new pi\u00f1a colada sorbet.
Regulars from S\u00e3o Paulo to Malm\u00f6 have written to the owner, who calls the fuss \u00abna\u00efve but touching\u00bb.</p>
<h2>Opening hours</h2>
<p>Tuesday to Sunday, 8:00 to 18:00. Closed on Mondays.</p>
</article>
<footer>&copy; 2026 Altstadt-Bote</footer>
</body>
</html>
"""

NOTES_MD = """# Project notes: ragline sample corpus

These notes describe the small documents that ship with ragline for tests, demos and the quickstart.

## Files

- `report_two_column.pdf`: a three-page technical report about warehouse energy use
- `invoice_acme.pdf`: a one-page invoice with European date and number formats
- `article.html`: a news article surrounded by site navigation and boilerplate
- `article_latin1.html`: an ISO-8859-1 encoded page with accented words

## Expected invoice fields

| Field | Value |
|---|---|
| Invoice number | INV-2026-0042 |
| Invoice date | 2026-03-14 |
| Total | 1234.56 EUR |

## Regenerating

Run `python sample_docs/make_samples.py` from the repository root. The script is deterministic, so
regenerated files should be byte-identical unless the PyMuPDF version changed.

### Caveats

1. The report uses base-14 fonts, so it contains no font the machine lacks.
2. The bad-input fixtures are written only into a directory you name, never committed.
"""

README_TXT = """ragline sample documents
========================

This folder holds small documents generated by make_samples.py. They are used by the
unit tests, by the quickstart notebook and as a smoke test for the parsing stage.

The report describes a fictional metering study at the Northgate Logistics Park. It
found that the park used 18.4 GWh of electricity in one year and that refrigeration
accounted for 61% of it.

The invoice was issued by ACME Technical Publishing GmbH to Nordtor Logistik GmbH on
14 March 2026; the amount due is 1,234.56 EUR.

All content is invented. Names, addresses and bank details are fictional.
"""


# --------------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------------


def make_samples(out_dir: Path) -> dict[str, Path]:
    """Write the committed samples into ``out_dir``; returns name -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {
        "report_two_column.pdf": report_bytes(),
        "invoice_acme.pdf": invoice_bytes(),
        "invoice_acme.expected.json": json.dumps(INVOICE_EXPECTED, indent=2, ensure_ascii=False).encode() + b"\n",
        "article.html": ARTICLE_HTML.encode("utf-8"),
        "article_latin1.html": ARTICLE_LATIN1_HTML.encode("iso-8859-1"),
        "notes.md": NOTES_MD.encode("utf-8"),
        "readme.txt": README_TXT.encode("utf-8"),
    }
    paths = {}
    for name, data in files.items():
        path = out_dir / name
        path.write_bytes(data)
        paths[name] = path
    return paths


def _scanned_bytes() -> bytes:
    """One page holding only a raster image of the report's first page: no text layer."""
    src = pymupdf.open("pdf", report_bytes())
    pix = src[0].get_pixmap(dpi=100, colorspace=pymupdf.csGRAY)
    doc = pymupdf.open()
    page = doc.new_page(width=_LETTER.width, height=_LETTER.height)
    page.insert_image(page.rect, stream=pix.tobytes("png"))
    return _save_bytes(doc)


def _big_bytes(n_pages: int = 2000) -> bytes:
    """Many near-empty pages with a one-line text layer each ("Page N").

    Written as raw PDF syntax: PyMuPDF's per-page ``insert_text`` takes ~7 s for 2,000 pages, this ~10 ms."""
    objs: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # page tree, filled in below once the page object numbers are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for i in range(n_pages):
        content = f"BT /F1 10 Tf 72 720 Td (Page {i + 1}) Tj ET".encode()
        objs.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        objs.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % (len(objs),)
        )
        kids.append(b"%d 0 R" % len(objs))
    objs[1] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % n_pages
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (num, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def make_bad_inputs(out_dir: Path | str) -> dict[str, Path]:
    """Write the bad-input fixtures into ``out_dir`` (e.g. pytest's ``tmp_path``); returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    good = report_bytes()
    rng = random.Random(20260314)
    files: dict[str, bytes] = {
        "empty.pdf": b"",
        "truncated.pdf": good[: int(len(good) * 0.6)],
        "random.pdf": rng.randbytes(8192),
        "encrypted.pdf": _save_bytes(
            pymupdf.open("pdf", good),
            encryption=pymupdf.PDF_ENCRYPT_AES_256,  # type: ignore[attr-defined]
            user_pw="secret",
            owner_pw="ragline-owner",
            permissions=pymupdf.PDF_PERM_PRINT | pymupdf.PDF_PERM_COPY,  # type: ignore[attr-defined]
        ),
        "scanned.pdf": _scanned_bytes(),
        "html_broken_utf8.html": (
            b"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Broken bytes</title></head><body>"
            b"<h1>Caf\xc3\xa9 report</h1><p>Valid UTF-8: M\xc3\xbcller, na\xc3\xafve.</p>"
            b"<p>Invalid: lone continuation \x80\x81, overlong \xc0\xaf, bad lead \xff\xfe, "
            b"truncated sequence \xe2\x82 and surrogate \xed\xa0\x80 in the middle of text.</p>"
            b"<p>Latin-1 leaked in: caf\xe9 M\xfcller.</p></body></html>\n"
        ),
        "mislabeled.pdf": ARTICLE_HTML.encode("utf-8"),
        "big.pdf": _big_bytes(),
    }
    paths = {}
    for name, data in files.items():
        path = out / name
        path.write_bytes(data)
        paths[name] = path
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--out", type=Path, default=HERE, help="where to write the samples (default: here)")
    ap.add_argument("--bad-inputs", type=Path, default=None, help="also write the bad-input fixtures here")
    args = ap.parse_args(argv)
    for path in make_samples(args.out).values():
        print(f"{path}  {path.stat().st_size:,} bytes")
    if args.bad_inputs is not None:
        for path in make_bad_inputs(args.bad_inputs).values():
            print(f"{path}  {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
