"""Facts of a company's financial reports: statement lines, the registrant, the period, the headcount.

Annual and quarterly reports, earnings releases and the 8-Ks that carry them print their figures by
conventions shared across companies, and this module reads those conventions rather than any one filing:

* **Statement lines** (revenue, net income, total assets, diluted and basic EPS) are the rows of the
  document's tables whose label names the line ("Total net sales", "Net income attributable to 3M",
  "Total assets", "Diluted"). A row under a statement title (consolidated statements of income /
  operations / earnings, balance sheet, statement of financial position) weighs more than the same line in
  a discussion table.
* **How the rows are printed**: a heading row with no figures ("Revenues", "ASSETS") whose total is the
  unlabelled row that closes it; rows a parser stacked into one (k labels run together, k figures per
  cell), cut at the capitalised words that start a label; a statement printed without rules, whose lines
  run together in paragraphs under the page's title ("Revenues 12,734 27,742 Costs and expenses: ...");
  per-share lines under a "diluted:" / "basic:" heading row. (A statement whose only drawing is its shaded
  current-year column is rejoined with its labels by the PDF backend, ``extractors/_grid_tables.py``.)
* **The period column**: statements print the current period first, unless their year headers run
  oldest first (2015 2016 2017), then the last column is current. Quarterly statements put the three
  months before the year to date, so the first column is the quarter either way; columns that are the
  quarters of one year ("Q1 | Q2 | Six months") take the latest quarter. A table with its own period
  headers is a statement of its own, not the one above it continued; a table headed only by earlier years
  than the document's latest (a recast 8-K's prior year) weighs less.
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
from dataclasses import dataclass
from decimal import Decimal

from pipeline.document import BBox, Document, Element, ElementKind
from pipeline.evidence import SourceText
from pipeline.extraction._meaning import fold
from pipeline.extraction._report_cover import cover, headcount
from pipeline.extraction._statement_rows import (
    PER_SHARE_RE,
    YEAR_RE,
    Fact,
    cell_tokens,
    figure,
    latest_quarter_cell,
    line_role,
    own_headers,
    period_kind,
    stacked_labels,
    text_rows,
)

FACT_ROLES = frozenset({"revenue", "net_income", "total_assets", "eps_diluted", "eps_basic", "employees",
                        "registrant", "period_end"})
LINE_ROLES = ("revenue", "net_income", "total_assets", "eps_diluted", "eps_basic")
PER_SHARE = frozenset({"eps_diluted", "eps_basic"})

# Statement titles, searched with spaces removed (a PDF's heading may read "Statement of Incom e").
_STATEMENT_TITLE = re.compile(
    r"statements?of(?:consolidated)?(?:income|operations|earnings|financial(?:position|condition)|"
    r"comprehensive(?:income|loss))|balancesheets?|incomestatements?")
# Titles of text about the statements ("Analysis of the consolidated statements of income"), not of one.
_ABOUT_STATEMENTS = re.compile(r"(?i)\banalysis of\b|\bdiscussion\b|\bnotes? to\b|\bsee\b")
# A paragraph that is a statement row: a label, then two or more figures.
_TEXT_ROW = re.compile(r"^([A-Za-z][^$()]{2,120}?)\s+((?:\$?\s*\(?-?\d[\d,]*(?:\.\d+)?\)?(?=\s|$)\s*){2,})")
# Statements of part of the group: guarantor / obligor summaries, the parent company alone, segments.
_NOT_CONSOLIDATED = re.compile(r"(?i)\b(?:obligor|guarantors?|guarantee|issuer and guarantors?|parent company(?: only)?|"
                               r"condensed financial information of (?:the )?registrant|summarized financial information|"
                               r"segment|quarterly (?:financial )?(?:data|results)|unaudited quarterly)\b")
_SCALE_RE = re.compile(r"(?i)(?:\(|\bin\s+|\$\s*in\s+|^\s*)(?:(?:US|U\.S\.)?\$\s*|dollars\s+)?"
                       r"(millions?|thousands?|billions?)\b")
_SCALES = {"thousand": Decimal(1000), "million": Decimal(1000000), "billion": Decimal(1000000000)}


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
    year: int | None = None  # the latest year the headers print
    current_cell: int | None = None  # the cell under the latest quarter's header ("Q1 | Q2 | Six months")
    sections: list[str] = dataclasses.field(default_factory=list)  # open figure-less section rows ("Revenues")
    from_text: bool = False  # rows read from paragraphs (a statement printed without table structure)
    per_share_kind: str | None = None  # under "Earnings per share - diluted:": the rows below are diluted EPS


class _Reader:
    """The facts of one document (one instance per document)."""

    def __init__(self, document: Document, source: SourceText) -> None:
        self.doc, self.source = document, source
        self.by_page: dict[int, list[int]] = {}
        for i, el in enumerate(document.elements):
            self.by_page.setdefault(el.page, []).append(i)
        self.out: list[Fact] = []
        first = "\n".join(el.text for el in document.elements if el.page <= 2)[:6000]
        self.period = period_kind(first, cover=True)  # the period the report is about

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
        text_ctx: _Context | None = None
        prev_table: int | None = None
        for i, el in enumerate(self.doc.elements):
            if el.kind is ElementKind.TABLE and el.table is not None and el.table.rows:
                between = self.doc.elements[prev_table + 1:i] if prev_table is not None else []
                if ctx is not None and ctx.page == el.page and not own_headers(el) and not any(
                        b.kind is ElementKind.HEADING or YEAR_RE.search(b.text) and len(b.text) <= 80
                        or _STATEMENT_TITLE.search(re.sub(r"\s+", "", b.text).casefold()) for b in between):
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
            if ctx is None and el.kind is ElementKind.PARAGRAPH and self._statement_page(el.page, i):
                # A statement printed without rules or cell structure: its lines run together in paragraphs.
                if text_ctx is None or text_ctx.page != el.page:
                    text_ctx = self._text_context(i, el)
                for label, figures in text_rows(el.text):
                    self._row(text_ctx, [label, *figures], el, None)

    def _statement_page(self, page: int, upto: int) -> bool:
        """A statement title stands on ``page`` before element ``upto`` (a title line, not a contents entry)."""
        for j in self.by_page.get(page, [])[:4]:  # a statement page opens with its title
            if j > upto:
                break
            t = self.doc.elements[j].text
            if (len(t) <= 200 and self.doc.elements[j].kind is not ElementKind.TABLE and not re.search(r"\d\s*$", t)
                    and not _ABOUT_STATEMENTS.search(t) and _STATEMENT_TITLE.search(re.sub(r"\s+", "", t).casefold())):
                return True
        return False

    def _text_context(self, index: int, el: Element) -> _Context:
        """What the short lines above a paragraph statement say: title, scale, year and period headers."""
        before = [self.doc.elements[j].text for j in self.by_page.get(el.page, [])
                  if j <= index and self.doc.elements[j].kind is not ElementKind.TABLE]
        short = [t for t in before if len(t) <= 120]
        years = [int(y) for t in short for y in YEAR_RE.findall(t)]
        return self._headed(index, el, short, years, titled=True, period=period_kind("\n".join(short)),
                            from_text=True)

    def _headed(self, index: int, el: Element, context: list[str], years: list[int], **fields: object) -> _Context:
        """The context of a statement whose title, headers and lines above are ``context``, with year headers
        ``years`` in print order: scale, part-of-group, the current column, the per-share heading."""
        text = "\n".join(context)
        scale_m = next((m for t in context if (m := _SCALE_RE.search(t))), None) or _SCALE_RE.search(
            self._page_text(el.page))
        return _Context(
            page=el.page, partial=bool(_NOT_CONSOLIDATED.search(text)),
            scale_word=scale_m.group(1).casefold().rstrip("s") + "s" if scale_m else None,
            oldest_first=len(years) >= 2 and years[0] < years[-1],
            current=years.index(max(years)) if len(years) >= 2 and years[0] < max(years) else 0,
            per_share=bool(PER_SHARE_RE.search(text)), element=index, year=max(years, default=None),
            **fields)  # type: ignore[arg-type]

    def _context(self, index: int, el: Element) -> _Context:
        rows = el.table.rows  # type: ignore[union-attr]
        above = self._above(index)
        top = [" ".join(c or "" for c in r) for r in rows[:max(8, el.table.header_rows)]]  # type: ignore[union-attr]
        context = top + [a.text for a in above] + el.heading_path
        # Year headers: the table's top rows and short lines just above it (not prose that mentions years).
        years = [int(y) for t in [a.text for a in reversed(above[:4]) if len(a.text) <= 80] + top
                 for y in YEAR_RE.findall(t)]
        return self._headed(index, el, context, years,
                            titled=bool(_STATEMENT_TITLE.search(re.sub(r"\s+", "", "".join(context)).casefold())),
                            period=period_kind("\n".join(top + [a.text for a in reversed(above)])),
                            current_cell=latest_quarter_cell(rows[:8]))

    def _row(self, ctx: _Context, cells: list[str], el: Element, r_i: int | None, *,
             whole: list[str] | None = None, inferred: str | None = None) -> None:
        """One statement row. ``whole``: the printed row this one was cut from (its quote); ``inferred``: how
        its label was inferred (an unlabelled total under its section's heading row)."""
        label = next((c for c in cells if c.strip()), "")
        label_at = cells.index(label)
        if inferred is None and figure(label) is not None and ctx.sections:
            # An unlabelled row closes the innermost open section: "Revenues" ... components ... "3,592,216".
            section = ctx.sections.pop()
            named = cells[:label_at] + [f"Total {section}"] + cells[label_at:]
            self._row(ctx, named, el, r_i, whole=cells, inferred=f"the unlabelled total under {section!r}")
            return
        kind = re.search(r"(?i)\b(diluted|basic)\b", label)
        if PER_SHARE_RE.search(label):
            ctx.per_share = True
            if kind or not ctx.per_share_kind:
                ctx.per_share_kind = kind.group(1).casefold() if kind else None
        elif re.search(r"(?i)\bshares\b|\bweighted\b", label):
            ctx.per_share = False  # the share counts follow: "Diluted 482,167" is no EPS
            ctx.per_share_kind = None
        elif kind and fold(label) == kind.group(1).casefold() and not any(
                figure(t) is not None for c in cells[label_at + 1:] for t in cell_tokens(c)):
            ctx.per_share_kind = kind.group(1).casefold()  # a "Diluted" heading row over the per-share lines
        per_cell = [[(t, v) for t in cell_tokens(c) for v in [figure(t)] if v is not None]
                    for c in cells[label_at + 1:]]
        per_cell = [c for c in per_cell if c]
        numbers = [n for c in per_cell for n in c]
        if not per_cell and re.search(r"(?i)\badjusted\b|\bnon[- ]gaap\b", label):
            ctx.adjusted = True  # "(1) Adjusted earnings before ...": the rows below are non-GAAP measures
        if not per_cell and inferred is None and label.strip() and not PER_SHARE_RE.search(label):
            ctx.sections = [*ctx.sections[-5:], " ".join(label.strip(" :").split())]
        elif per_cell and ctx.sections and fold(label) == "total " + fold(ctx.sections[-1]):
            ctx.sections.pop()  # "Total current assets" closes "Current assets"
        found = line_role(label, ctx.per_share)
        k = len(per_cell[0]) if per_cell else 0
        if (found is None and k >= 2 and whole is None and all(len(c) == k for c in per_cell)
                and len(pieces := stacked_labels(label, k)) == k):
            # Rows the parser stacked into one: k labels run together, each cell holding k figures.
            toks = [[t for t in cell_tokens(c) if figure(t) is not None] for c in cells[label_at + 1:]]
            for j, piece in enumerate(pieces):
                self._row(ctx, cells[:label_at] + [piece] + [t[j] if len(t) == k else "" for t in toks], el, r_i,
                          whole=cells)
            return
        if found is None and per_cell and len(per_cell[0]) >= 2:
            # Rows the parser stacked into one ("Sales to customers Cost of products sold | 23,706 7,765 | ..."):
            # a label that begins with a line's name is that line, and its figures are each cell's first.
            words = label.split()
            for n in range(2, len(words)):
                if (hit := line_role(" ".join(words[:n]), ctx.per_share)) is not None:
                    found, label = (hit[0], hit[1] - 0.1), " ".join(words[:n])
                    numbers = [c[0] for c in per_cell]
                    break
        if found is None or not numbers:
            return
        role, weight = found
        if role == "net_income" and ctx.per_share_kind is not None:
            # "Earnings per common share - diluted:" then "Net income attributable to X 3.85": that line's EPS.
            role, weight = f"eps_{ctx.per_share_kind}", weight - 0.1
        # The current period's column: the first of the latest year ("2022 2023 | 2022 2023": the second), or
        # the latest quarter's where the columns are the quarters of one year.
        latest = ctx.current_cell
        in_cell = ([(t, v) for t in cell_tokens(cells[latest]) for v in [figure(t)] if v is not None]
                   if latest is not None and latest < len(cells) and label_at < latest else [])
        printed, value = in_cell[0] if in_cell else numbers[min(ctx.current, len(numbers) - 1)]
        if role in PER_SHARE and not re.search(r"\.\d{2}", printed):
            return  # per-share figures are printed in cents; a whole number under "Diluted" is a share count
        if role not in PER_SHARE and ctx.per_share and re.search(r"\.\d{2}$", printed):
            return  # "Net income attributable to X 3.63" under a per-share heading: a per-share figure
        prior = weight + (0.3 if ctx.titled else 0.0) - (0.4 if ctx.partial else 0.0) - (0.5 if ctx.adjusted else 0.0)
        # Each reading the parser's cells did not give directly costs a little: a row cut out of running text,
        # a label inferred for an unlabelled total, a label cut out of stacked rows.
        stacked = whole is not None and inferred is None
        prior -= 0.05 * sum((ctx.from_text, inferred is not None, stacked))
        if self.period is not None and ctx.period is not None:  # a quarterly report's figures are the quarter's
            prior += 0.15 if ctx.period == self.period else -0.15
        how = f"row {label.strip()!r}" + (f" ({inferred})" if inferred else "") + (" of a statement" if ctx.titled else "")
        how += " printed as text" if ctx.from_text else ""
        if role not in PER_SHARE:
            if ctx.scale_word is None:
                prior -= 0.2
                how += ", no scale printed"
            else:
                value = value * _SCALES[ctx.scale_word.rstrip("s")]
                how += f", in {ctx.scale_word}"
        if in_cell:
            how += ", the latest quarter's column"
        else:
            how += f", column {ctx.current + 1} (the latest year's first)" if ctx.current else ", first column"
        box = el.bbox
        boxes = el.table.row_boxes if el.table is not None else None
        if boxes and r_i is not None and r_i < len(boxes):
            box = BBox(x0=boxes[r_i][0], y0=boxes[r_i][1], x1=boxes[r_i][2], y1=boxes[r_i][3])
        quote = self._quote(*([" ".join(c for c in whole if c.strip())] if whole else []),
                            " ".join(c for c in cells if c.strip()), f"{label} {printed}", printed)
        if quote is not None:
            self.out.append(Fact(role, value, printed.strip(), el.page, box, quote, round(prior, 3), how,
                                 ctx.element, ctx.year))


def report_facts(document: Document, source: SourceText, roles: set[str]) -> list[Fact]:
    """The facts of ``document`` for the report roles asked (a subset of :data:`FACT_ROLES`)."""
    reader = _Reader(document, source)
    if roles & set(LINE_ROLES):
        reader.lines()
        # A report that reprints earlier years' statements (a recast 8-K, selected quarterly data) reports the
        # latest: a line from a table headed only by earlier years weighs less than the same line of the latest.
        latest = {r: max((f.year for f in reader.out if f.role == r and f.year), default=None) for r in LINE_ROLES}
        for f in reader.out:
            if f.year is not None and latest.get(f.role) is not None and f.year < latest[f.role]:
                f.prior = round(f.prior - 0.1, 3)
                f.how += f", a table of {f.year} (the latest printed is {latest[f.role]})"
    if roles & {"registrant", "period_end"}:
        cover(reader)
    if "employees" in roles:
        headcount(reader)
    return [f for f in reader.out if f.role in roles]


def field_scale(description: str) -> Decimal:
    """The unit a field's description asks for: "in millions of USD" -> 1,000,000; otherwise 1."""
    m = re.search(r"(?i)\b(?:in|of)\s+(?:usd\s+|\$\s*|dollars\s+)?(millions|thousands|billions)\b|"
                  r"\((millions|thousands|billions)\)", description)
    return _SCALES[(m.group(1) or m.group(2)).casefold().rstrip("s")] if m else Decimal(1)


__all__ = ["FACT_ROLES", "Fact", "field_scale", "report_facts"]
