"""Facts of a company's financial reports: statement lines, the registrant, the period, the headcount.

Annual and quarterly reports, earnings releases and the 8-Ks that carry them print their figures by
conventions shared across companies, and this module reads those conventions rather than any one filing:

* **Statement lines** (revenue, net income, total assets, diluted and basic EPS) are the rows of the
  document's tables whose label names the line ("Total net sales", "Net income attributable to 3M",
  "Total assets", "Diluted"). A row under a statement title (consolidated statements of income /
  operations / earnings, balance sheet, statement of financial position) weighs more than the same line in
  a discussion table.
* **The period column**: statements print the current period first, unless their year headers run
  oldest first (2015 2016 2017), then the last column is current. Quarterly statements put the three
  months before the year to date, so the first column is the quarter either way.
* **Scale**: "(in millions, except per share data)", "(Millions)", "$ in thousands" printed with the
  table, above it on its page or in its heading. A figure is converted only by a scale that is printed;
  without one it stays as printed and weighs less. Per-share lines are never scaled.
* **Cover page**: the registrant's name is the line above "(Exact name of registrant as specified in its
  charter)"; the period is the date after "for the fiscal year ended" / "for the quarterly period ended".
  Documents with no cover (earnings releases) fall back to the first "quarter/year ... ended <date>" and
  the company with a legal form most printed on the first pages, with less weight.
* **Headcount**: a sentence putting a number before "employees" (people, associates, team members) or after
  "employees ... approximately", in a section about employees or human capital first.

Each fact has the row or sentence as its quote, verified in the document's text, and a prior: how strongly
its convention names it. Ranking and settling are :mod:`._ranking`'s and :mod:`._choose`'s.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from pipeline.document import BBox, Document, Element, ElementKind
from pipeline.evidence import SourceText
from pipeline.extraction._meaning import fold
from pipeline.values import find_dates

FACT_ROLES = frozenset({"revenue", "net_income", "total_assets", "eps_diluted", "eps_basic", "employees",
                        "registrant", "period_end"})
LINE_ROLES = ("revenue", "net_income", "total_assets", "eps_diluted", "eps_basic")
PER_SHARE = frozenset({"eps_diluted", "eps_basic"})

# Row labels, folded (lower case, punctuation to spaces), with how surely each names the line.
_LINES: dict[str, tuple[tuple[str, float], ...]] = {
    "revenue": (
        (r"^total (?:net )?(?:operating )?(?:revenues?|sales)(?: net)?$", 1.0),
        (r"^total revenues? net of interest expense(?: after provisions for credit losses)?$", 0.95),
        (r"^(?:net )?(?:operating )?(?:revenues?|sales)(?: net)?$", 0.9),
        (r"^(?:net )?sales to customers$", 0.9),
        (r"^(?:total )?net revenues?$", 0.95),
    ),
    "net_income": (
        (r"^net (?:income|earnings|loss|profit)(?: loss| income)? attributable to (?!.*non ?controlling)"
         r"(?!.*redeemable).+$", 1.0),
        (r"^net (?:income|earnings|loss|profit)(?: loss| income)?$", 0.8),
    ),
    "total_assets": ((r"^total assets$", 1.0),),
}
_NOT_A_LINE = re.compile(r"\b(?:shares|weighted|average|comprehensive|before|continuing|discontinued|adjusted|"
                         r"non gaap|pro forma|margin|growth|change|percent|increased?|decreased?|compared)\b")
# Statement titles, searched with spaces removed (a PDF's heading may read "Statement of Incom e").
_STATEMENT_TITLE = re.compile(
    r"statements?of(?:consolidated)?(?:income|operations|earnings|financial(?:position|condition)|"
    r"comprehensive(?:income|loss))|balancesheets?|incomestatements?")
# A paragraph that is a statement row: a label, then two or more figures.
_TEXT_ROW = re.compile(r"^([A-Za-z][^$()]{2,120}?)\s+((?:\$?\s*\(?-?\d[\d,]*(?:\.\d+)?\)?(?=\s|$)\s*){2,})")
# Statements of part of the group: guarantor / obligor summaries, the parent company alone, segments.
_NOT_CONSOLIDATED = re.compile(r"(?i)\b(?:obligor|guarantors?|guarantee|issuer and guarantors?|parent company(?: only)?|"
                               r"condensed financial information of (?:the )?registrant|summarized financial information|"
                               r"segment|quarterly (?:financial )?(?:data|results)|unaudited quarterly)\b")
_SCALE_RE = re.compile(r"(?i)(?:\(|\bin\s+|\$\s*in\s+|^\s*)(?:(?:US|U\.S\.)?\$\s*|dollars\s+)?"
                       r"(millions?|thousands?|billions?)\b")
_SCALES = {"thousand": Decimal(1000), "million": Decimal(1000000), "billion": Decimal(1000000000)}
_YEAR_RE = re.compile(r"(?<!\d)(19[89]\d|20[0-4]\d)(?!\d)")
_PER_SHARE_RE = re.compile(r"(?i)\bper (?:common |ordinary )?share\b|\beps\b")
_NUMBER_RE = re.compile(r"^\(?-?\$?\s*\(?\d[\d,]*(?:\.\d+)?\)?$")
_COVER_NAME = re.compile(r"(?i)\(?\s*exact name of (?:the )?registrant as specified in (?:its )?charter")
_COVER_PERIOD = re.compile(r"(?i)\bfor the (?:fiscal |quarterly )?(?:year|quarter|quarterly period|period)\s+ended\b")
_PERIOD = re.compile(r"(?i)\b(?:quarter|year|months|period|weeks)\s+ended\b")
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


@dataclass
class Fact:
    """One value a report convention names for a role."""

    role: str
    value: Decimal | str | object
    printed: str
    page: int
    box: BBox | None
    quote: str
    prior: float
    how: str
    table: int | None = None  # the statement table it was read from (element index)


@dataclass
class _Context:
    """What a table's title, headers and page say about all of its rows."""

    page: int
    titled: bool  # under a statement title
    partial: bool  # a statement of part of the group (guarantors, parent only, segments)
    scale_word: str | None  # "millions", "thousands", "billions"
    oldest_first: bool  # year headers run oldest first: the current period is the last column
    per_share: bool  # a per-share heading seen above the row ("Diluted" alone is then EPS)
    element: int
    period: str | None = None  # what the first period column covers: "quarter" or "year"
    current: int = 0  # the value column of the current period
    adjusted: bool = False  # under a row announcing adjusted (non-GAAP) measures


def _number(cell: str) -> Decimal | None:
    t = cell.replace("$", "").replace(" ", "").strip()
    if not t or not _NUMBER_RE.match(t.replace("$", "")):
        return None
    neg = t.startswith("(") or t.startswith("-")
    try:
        v = Decimal(t.strip("()-").replace(",", ""))
    except InvalidOperation:
        return None
    return -v if neg else v


def _tokens(cell: str) -> list[str]:
    """The figures of one cell: a merged cell ("4,756 $ 4,822 $") holds two columns."""
    return [t for t in re.split(r"\s+", cell.replace("$", "")) if t and t not in ("(", ")")]


def _line_role(label: str, per_share_context: bool) -> tuple[str, float] | None:
    f = fold(re.sub(r"\(\d\)|\[\d\]|\*", " ", label))
    if not f or _NOT_A_LINE.search(f):
        return None
    for kind in ("diluted", "basic"):  # "Earnings per share attributable to 3M common shareholders — diluted"
        if re.search(rf"\b{kind}\b", f):
            if re.search(r"\bper (?:common |ordinary )?share\b|\beps\b", f):
                return f"eps_{kind}", 1.0
            if re.fullmatch(rf"(?:net (?:income|earnings)(?: loss)? )?{kind}", f) and per_share_context:
                return f"eps_{kind}", 0.9  # "Diluted" alone is a per-share line only under a per-share heading
            return None
    for role, patterns in _LINES.items():
        for rx, weight in patterns:
            if re.match(rx, f):
                return role, weight
    return None


class _Reader:
    """The facts of one document (one instance per document)."""

    def __init__(self, document: Document, source: SourceText) -> None:
        self.doc, self.source = document, source
        self.by_page: dict[int, list[int]] = {}
        for i, el in enumerate(document.elements):
            self.by_page.setdefault(el.page, []).append(i)
        self.out: list[Fact] = []
        first = "\n".join(el.text for el in document.elements if el.page <= 2)[:6000]
        self.period = _period_kind(first, cover=True)  # the period the report is about

    def _quote(self, *tries: str) -> str | None:
        for q in tries:
            q = " ".join(q.split())
            if q and self.source.find(q, min_score=1.0) is not None:
                return q
        return None

    def _above(self, index: int, limit: int = 6) -> list[Element]:
        """Short elements just above element ``index`` on its page, nearest first."""
        el = self.doc.elements[index]
        out = []
        for j in reversed([j for j in self.by_page.get(el.page, []) if j < index][-limit:]):
            other = self.doc.elements[j]
            if other.kind is ElementKind.TABLE:
                break
            if len(other.text) <= 300:
                out.append(other)
        return out

    def _page_text(self, page: int) -> str:
        return "\n".join(self.doc.elements[j].text for j in self.by_page.get(page, [])
                         if self.doc.elements[j].kind is not ElementKind.TABLE)

    # -- statement lines ----------------------------------------------------------------------------

    def lines(self) -> None:
        ctx: _Context | None = None
        prev_table: int | None = None
        for i, el in enumerate(self.doc.elements):
            if el.kind is ElementKind.TABLE and el.table is not None and el.table.rows:
                between = self.doc.elements[prev_table + 1:i] if prev_table is not None else []
                if ctx is not None and ctx.page == el.page and not any(
                        b.kind is ElementKind.HEADING or _YEAR_RE.search(b.text) and len(b.text) <= 80 for b in between):
                    ctx = dataclasses.replace(ctx, element=i)  # the same statement, split by the parser
                else:
                    ctx = self._context(i, el)
                prev_table = i
                for r_i, row in enumerate(el.table.rows):
                    self._row(ctx, [c or "" for c in row], el, r_i)
            elif ctx is not None and el.page == ctx.page and (m := _TEXT_ROW.match(el.text.strip())):
                # A statement row the parser left outside its table (the last line before a page's footer).
                self._row(ctx, [m.group(1), m.group(2)], el, None)
            elif ctx is not None and el.page != ctx.page:
                ctx = None

    def _context(self, index: int, el: Element) -> _Context:
        rows = el.table.rows  # type: ignore[union-attr]
        above = self._above(index)
        top = [" ".join(c or "" for c in r) for r in rows[:max(8, el.table.header_rows)]]  # type: ignore[union-attr]
        context = top + [a.text for a in above] + el.heading_path
        text = "\n".join(context)
        scale_m = next((m for t in context if (m := _SCALE_RE.search(t))), None) or _SCALE_RE.search(
            self._page_text(el.page))
        # Year headers: the table's top rows and short lines just above it (not prose that mentions years).
        years = [int(y) for t in [a.text for a in reversed(above[:4]) if len(a.text) <= 80] + top
                 for y in _YEAR_RE.findall(t)]
        return _Context(
            page=el.page, titled=bool(_STATEMENT_TITLE.search(re.sub(r"\s+", "", text).casefold())), partial=bool(_NOT_CONSOLIDATED.search(text)),
            scale_word=scale_m.group(1).casefold().rstrip("s") + "s" if scale_m else None,
            oldest_first=len(years) >= 2 and years[0] < years[-1],
            current=years.index(max(years)) if len(years) >= 2 and years[0] < max(years) else 0, per_share=bool(_PER_SHARE_RE.search(text)),
            element=index, period=_period_kind("\n".join(top + [a.text for a in reversed(above)])))

    def _row(self, ctx: _Context, cells: list[str], el: Element, r_i: int | None) -> None:
        label = next((c for c in cells if c.strip()), "")
        if _PER_SHARE_RE.search(label):
            ctx.per_share = True
        elif re.search(r"(?i)\bshares\b|\bweighted\b", label):
            ctx.per_share = False  # the share counts follow: "Diluted 482,167" is no EPS
        per_cell = [[(t, v) for t in _tokens(c) for v in [_number(t)] if v is not None]
                    for c in cells[cells.index(label) + 1:]]
        per_cell = [c for c in per_cell if c]
        numbers = [n for c in per_cell for n in c]
        if not per_cell and re.search(r"(?i)\badjusted\b|\bnon[- ]gaap\b", label):
            ctx.adjusted = True  # "(1) Adjusted earnings before ...": the rows below are non-GAAP measures
        found = _line_role(label, ctx.per_share)
        if found is None and per_cell and len(per_cell[0]) >= 2:
            # Rows the parser stacked into one ("Sales to customers Cost of products sold | 23,706 7,765 | ..."):
            # a label that begins with a line's name is that line, and its figures are each cell's first.
            words = label.split()
            for n in range(2, len(words)):
                if (hit := _line_role(" ".join(words[:n]), ctx.per_share)) is not None:
                    found, label = (hit[0], hit[1] - 0.1), " ".join(words[:n])
                    numbers = [c[0] for c in per_cell]
                    break
        if found is None or not numbers:
            return
        role, weight = found
        # The current period's column: the first of the latest year ("2022 2023 | 2022 2023": the second).
        printed, value = numbers[min(ctx.current, len(numbers) - 1)]
        if role in PER_SHARE and not re.search(r"\.\d{2}", printed):
            return  # per-share figures are printed in cents; a whole number under "Diluted" is a share count
        if role not in PER_SHARE and ctx.per_share and re.search(r"\.\d{2}$", printed):
            return  # "Net income attributable to X 3.63" under a per-share heading: a per-share figure
        prior = weight + (0.3 if ctx.titled else 0.0) - (0.4 if ctx.partial else 0.0) - (0.5 if ctx.adjusted else 0.0)
        if self.period is not None and ctx.period is not None:  # a quarterly report's figures are the quarter's
            prior += 0.15 if ctx.period == self.period else -0.15
        how = f"row {label.strip()!r}" + (" of a statement" if ctx.titled else "")
        if role not in PER_SHARE:
            if ctx.scale_word is None:
                prior -= 0.2
                how += ", no scale printed"
            else:
                value = value * _SCALES[ctx.scale_word.rstrip("s")]
                how += f", in {ctx.scale_word}"
        how += f", column {ctx.current + 1} (the latest year's first)" if ctx.current else ", first column"
        box = el.bbox
        boxes = el.table.row_boxes if el.table is not None else None
        if boxes and r_i is not None and r_i < len(boxes):
            box = BBox(x0=boxes[r_i][0], y0=boxes[r_i][1], x1=boxes[r_i][2], y1=boxes[r_i][3])
        quote = self._quote(" ".join(c for c in cells if c.strip()), f"{label} {printed}", printed)
        if quote is not None:
            self.out.append(Fact(role, value, printed.strip(), el.page, box, quote, round(prior, 3), how,
                                 ctx.element))

    # -- cover page ---------------------------------------------------------------------------------

    def cover(self) -> None:
        first = [el for el in self.doc.elements if el.page <= 3 and el.kind is not ElementKind.TABLE]
        lines = [(el, ln.strip()) for el in first for ln in el.text.splitlines() if ln.strip()]
        for k, (el, ln) in enumerate(lines):
            if _COVER_NAME.search(ln):
                before = ln[:_COVER_NAME.search(ln).start()].strip(" ()")  # type: ignore[union-attr]
                name = before or (lines[k - 1][1] if k else "")
                if name and not _COVER_NAME.search(name) and len(name) < 120:
                    q = self._quote(name)
                    if q:
                        self.out.append(Fact("registrant", name, name, el.page, el.bbox, q, 1.0,
                                             "the line above 'exact name of registrant'"))
                break
        for k, (el, ln) in enumerate(lines):  # the cover prints the registrant right after the file number
            if _FILE_NUMBER.search(ln):
                nxt = next((t for _, t in lines[k + 1:k + 4] if not re.search(r"\d{3}", t) and len(t) < 80), None)
                if nxt and not _COVER_NAME.search(nxt) and not _NOT_REGISTRANT.search(nxt) and _LEGAL.search(nxt):
                    q = self._quote(nxt)
                    if q:
                        self.out.append(Fact("registrant", nxt, nxt, el.page, el.bbox, q, 0.9,
                                             "the name after the cover's commission file number"))
                break
        for el, ln in lines:  # a release names its company with its ticker: "Johnson & Johnson (NYSE: JNJ)"
            if el.page > 2 or (m := _TICKER_NAME.search(ln)) is None:
                continue
            name = m.group(1).strip(" ,")
            q = self._quote(name)
            if q and not _NOT_REGISTRANT.search(name):
                self.out.append(Fact("registrant", name, name, el.page, el.bbox, q, 0.8,
                                     "the company named with its ticker"))
            break
        counts = Counter(m.group(0).strip(" ,") for el, ln in lines if el.page <= 2 for m in _LEGAL.finditer(ln)
                         if not _NOT_REGISTRANT.search(m.group(0)))
        for name, n in counts.most_common(2):
            q = self._quote(name)
            if q and len(name.split()) >= 2 and not re.fullmatch(r"(?i)the (?:company|corporation)", name):
                el = next(el for el, ln in lines if name in ln)
                self.out.append(Fact("registrant", name, name, el.page, el.bbox, q, 0.45 + min(0.2, 0.05 * n),
                                     f"a company with a legal form, printed {n}x on the first pages"))
        for rx, prior, how in ((_COVER_PERIOD, 1.0, "the cover's period"), (_PERIOD, 0.75, "the first period ended")):
            hit = next(((el, ln, m) for el, ln in lines for m in [rx.search(ln)] if m), None)
            if hit is None:
                continue
            el, ln, m = hit
            after = ln[m.end():m.end() + 40]
            dates = find_dates(after, dayfirst=False)
            if dates and dates[0].start <= 3:
                q = self._quote(ln[:m.end()] + after[:dates[0].end], after[:dates[0].end])
                if q:
                    self.out.append(Fact("period_end", dates[0].value, dates[0].raw, el.page, el.bbox, q, prior, how))
                    return

    # -- headcount ----------------------------------------------------------------------------------

    def headcount(self) -> None:
        seen = 0
        for el in self.doc.elements:
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
                q = self._quote(sentence, m.group(0))
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
                self.out.append(Fact("employees", value, m.group(1), el.page, el.bbox, q, round(prior, 3),
                                     "a sentence counting employees" + (f" under {section!r}" if in_section else "")))
                seen += 1
                if seen >= 8:
                    return


_QUARTER = re.compile(r"(?i)\b(?:three|3|thirteen|13|twelve weeks|fourteen|14|sixteen|16)[ -](?:months|weeks)\b|"
                      r"\bquarter(?:ly)?\b|\bq[1-4]\b")
_YEAR = re.compile(r"(?i)\b(?:twelve|12|fifty[- ]two|52|fifty[- ]three|53)[ -](?:months|weeks)\b|\bfull[ -]year\b|"
                   r"\b(?:fiscal )?years? ended\b|\bannual report\b|\bfiscal year\b")


def _period_kind(text: str, *, cover: bool = False) -> str | None:
    """"quarter" or "year": whichever the text names first ("Three Months Ended ... Six Months Ended" is the
    quarter; "Fourth Quarter and Full Year" too). A cover that says "quarterly report" or "annual report" says so."""
    if cover:
        if re.search(r"(?i)\bquarterly report\b|\bfor the quarterly period ended\b", text):
            return "quarter"
        if re.search(r"(?i)\bannual report\b|\bfor the fiscal year ended\b", text):
            return "year"
    q, y = _QUARTER.search(text), _YEAR.search(text)
    if q and (not y or q.start() < y.start()):
        return "quarter"
    return "year" if y else None


def report_facts(document: Document, source: SourceText, roles: set[str]) -> list[Fact]:
    """The facts of ``document`` for the report roles asked (a subset of :data:`FACT_ROLES`)."""
    reader = _Reader(document, source)
    if roles & set(LINE_ROLES):
        reader.lines()
    if roles & {"registrant", "period_end"}:
        reader.cover()
    if "employees" in roles:
        reader.headcount()
    return [f for f in reader.out if f.role in roles]


def field_scale(description: str) -> Decimal:
    """The unit a field's description asks for: "in millions of USD" -> 1,000,000; otherwise 1."""
    m = re.search(r"(?i)\b(?:in|of)\s+(?:usd\s+|\$\s*|dollars\s+)?(millions|thousands|billions)\b|"
                  r"\((millions|thousands|billions)\)", description)
    return _SCALES[(m.group(1) or m.group(2)).casefold().rstrip("s")] if m else Decimal(1)


__all__ = ["FACT_ROLES", "Fact", "field_scale", "report_facts"]
