"""How one line of a financial statement reads: the line its label names, its figures, the labels of rows a
parser stacked into one, lines run together as text, and the period headers over the columns. Pure functions
over strings; :mod:`._statements` walks a document with them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from pipeline.document import BBox, Element
from pipeline.extraction._meaning import fold

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
YEAR_RE = re.compile(r"(?<!\d)(19[89]\d|20[0-4]\d)(?!\d)")
PER_SHARE_RE = re.compile(r"(?i)\bper (?:common |ordinary )?share\b|\beps\b")
_NUMBER_RE = re.compile(r"^\(?-?\$?\s*\(?\d[\d,]*(?:\.\d+)?\)?$")
# "fifty-two-week period (\u201cfiscal year\u201d) ended January 28": a parenthesised alias may stand before "ended".
PERIOD_RE = re.compile(r"(?i)\b(?:quarter|year|months|period|weeks)(?:\s*\([^()]{1,40}\))?\s+ended\b")


def figure(cell: str) -> Decimal | None:
    """A cell's figure ("(1,234)" is -1234), or None for anything else."""
    t = cell.replace("$", "").replace(" ", "").strip()
    if not t or not _NUMBER_RE.match(t.replace("$", "")):
        return None
    neg = t.startswith("(") or t.startswith("-")
    try:
        v = Decimal(t.strip("()-").replace(",", ""))
    except InvalidOperation:
        return None
    return -v if neg else v


def cell_tokens(cell: str) -> list[str]:
    """The figures of one cell: a merged cell ("4,756 $ 4,822 $") holds two columns."""
    return [t for t in re.split(r"\s+", cell.replace("$", "")) if t and t not in ("(", ")")]


def line_role(label: str, per_share_context: bool) -> tuple[str, float] | None:
    """The statement line ``label`` names and how surely (role, weight), or None."""
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


_NAME_TAIL = re.compile(r"^(?:Inc\.?|Corp\.?|Corporation|Company|plc|PLC|Ltd\.?|LLC|N\.V\.|S\.A\.|AG|SE)$")
_CONNECTOR = frozenset({"to", "of", "and", "the", "for", "from", "in", "on", "by", "&", "-", "–", "—", "per", "a", "an"})


def stacked_labels(label: str, k: int) -> list[str]:
    """``label`` cut into the labels of the rows stacked into it: a new label starts at a capitalised word
    that does not follow a connecting word ("... attributable to Amcor | Diluted earnings ..."); [] unless that
    gives exactly ``k`` labels."""
    words = label.split()
    pieces: list[list[str]] = []
    for w_i, w in enumerate(words):
        prev = words[w_i - 1].casefold().strip(",") if w_i else ""
        starts = w[:1].isupper() and prev not in _CONNECTOR and not _NAME_TAIL.match(w)
        if starts or not pieces:
            pieces.append([w])
        else:
            pieces[-1].append(w)
    return [" ".join(p) for p in pieces] if len(pieces) == k else []


_FIGURE = re.compile(r"^\(?-?\d[\d,]*(?:\.\d+)?\)?%?$")


def text_rows(text: str) -> list[tuple[str, list[str]]]:
    """(label, figures) runs of a paragraph that holds statement lines run together ("Revenues 12,734 27,742
    Costs and expenses: Cost of sales 3,237 8,648"). A label ending in a colon is a row of its own (a
    section or per-share heading); a run with fewer than two figures is not a statement line."""
    out: list[tuple[str, list[str]]] = []
    label: list[str] = []
    figures: list[str] = []
    for tok in text.replace("$", " ").split():
        if _FIGURE.match(tok):
            figures.append(tok)
            continue
        if figures:
            if label and len(figures) >= 2:
                out.append((" ".join(label), figures))
            label, figures = [], []
        label.append(tok)
        if tok.endswith(":"):
            out.append((" ".join(label), []))
            label = []
    if label and len(figures) >= 2:
        out.append((" ".join(label), figures))
    return out


def own_headers(el: Element) -> bool:
    """A table that opens with its own period headers ("52 Weeks Ended", "2023 2022") is a statement of its
    own, not the rest of the table before it."""
    rows = el.table.rows if el.table is not None else []
    head = [" ".join(c or "" for c in r) for r in rows[:max(1, el.table.header_rows if el.table else 1)]]
    return any(PERIOD_RE.search(t) or len(YEAR_RE.findall(t)) >= 2 for t in head)


_QUARTER_HEADER = re.compile(r"(?i)^(?:q([1-4])|([1-4])q|(first|second|third|fourth) quarter)$")
_ORDINAL = {"first": 1, "second": 2, "third": 3, "fourth": 4}


def latest_quarter_cell(rows: list[list[str | None]]) -> int | None:
    """The cell of the latest quarter in a header row naming two or more different quarters of one year
    ("Q1 | Q2 | Six months": Q2's); None where the header names no such quarters."""
    for row in rows:
        quarters: dict[int, int] = {}
        for k, cell in enumerate(row):
            if (m := _QUARTER_HEADER.match(" ".join((cell or "").split()))) is not None:
                n = int(m.group(1) or m.group(2) or _ORDINAL[m.group(3).casefold()])
                quarters.setdefault(n, k)
        if len(quarters) >= 2:
            return quarters[max(quarters)]
    return None


_QUARTER = re.compile(r"(?i)\b(?:three|3|thirteen|13|twelve weeks|fourteen|14|sixteen|16)[ -](?:months|weeks)\b|"
                      r"\bquarter(?:ly)?\b|\bq[1-4]\b")
_YEAR = re.compile(r"(?i)\b(?:twelve|12|fifty[- ]two|52|fifty[- ]three|53)[ -](?:months|weeks)\b|\bfull[ -]year\b|"
                   r"\b(?:fiscal )?years? ended\b|\bannual report\b|\bfiscal year\b")


def period_kind(text: str, *, cover: bool = False) -> str | None:
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
    year: int | None = None  # the latest year its table's headers print


__all__ = [
    "Fact",
    "PERIOD_RE",
    "PER_SHARE_RE",
    "YEAR_RE",
    "cell_tokens",
    "figure",
    "latest_quarter_cell",
    "line_role",
    "own_headers",
    "period_kind",
    "stacked_labels",
    "text_rows",
]
