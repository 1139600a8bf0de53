"""Typed candidates of a document: every amount, date and identifier, with the labels beside it.

Each candidate carries where it is (page, box, reading order, height on the page), the labels a
reader would use to tell what it is (the text before it in its cell, the row's label to the left,
the column's header above, the text after it), and a quote that has already been found in the
document's text: a candidate whose quote cannot be verified is never collected. Choosing among
candidates (:mod:`._ranking`) therefore returns only values with a verified quote.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from pipeline.document import BBox, Document
from pipeline.evidence import SourceText
from pipeline.extraction._identifiers import find_ibans
from pipeline.extraction._layout import Cell, Layout, document_layout
from pipeline.extraction._parties import party_candidates
from pipeline.extraction._statements import report_facts
from pipeline.values import ISO_CURRENCIES, LocaleHints, find_amounts, find_dates, parse_currency

CandidateKind = Literal["amount", "date", "id", "currency", "party", "fact"]
LabelSource = Literal["own", "row", "column", "after"]

_PCT_RE = re.compile(r"[-+]?\d[\d.,]*\s*%")
_ID_RE = re.compile(r"(?<![\w@.])([A-Za-z0-9][A-Za-z0-9_/\-.]*[A-Za-z0-9]|[0-9]{3,})(?![\w@])")
_SPACED_DIGITS_RE = re.compile(r"(?<![\w.,])\d{1,4}(?: \d{3,4}){1,3}(?![\w.,])")  # "298 114 637", phones
_CODE_RE = re.compile(r"(?<![A-Za-z])(" + "|".join(sorted(ISO_CURRENCIES)) + r")(?![A-Za-z])|[€$£¥₹]")
_CURRENCY_LABEL_RE = re.compile(r"(?i)\b(?:currency|währung|devise|valuta|waluta|moneda|divisa)\b")
_PROSE_WORDS = 6  # a label of more words than this is a sentence, not a label


@dataclass
class Label:
    source: LabelSource
    text: str
    adjacent: bool = True  # row/column: no other value between label and candidate
    derived: bool = False  # taken from a column this amount sums: supports, never vetoes

    @property
    def words(self) -> int:
        return len(re.findall(r"[^\W\d_]{2,}", self.text))

    @property
    def prose(self) -> bool:
        return self.words > _PROSE_WORDS


@dataclass
class Candidate:
    """One typed value printed in the document."""

    id: str
    kind: CandidateKind
    value: Decimal | dt.date | str
    printed: str
    page: int
    box: BBox | None
    quote: str
    order: int  # reading order of its cell
    rel_y: float  # 0 at the top of the page, 1 at the bottom
    rel_order: float = 0.0  # 0 first candidate of its kind in the document, 1 last
    labels: list[Label] = field(default_factory=list)
    currency: str | None = None
    decimals: bool = False
    last_in_cell: bool = True
    sums: str | None = None  # the column whose amounts this one adds up
    side: str | None = None  # a party: "seller" or "buyer" (:mod:`._parties`); a fact: its role (:mod:`._statements`)
    prior: float = 0.0  # a party or a fact: how strongly its convention names it

    def label_text(self) -> str:
        """The labels as the model sees them: ``row / column / own``."""
        parts = [lb.text for lb in self.labels if lb.source != "after" and not lb.prose]
        return " / ".join(dict.fromkeys(p for p in parts if p))[:120]


@dataclass
class _Value:
    kind: CandidateKind
    value: Decimal | dt.date | str
    start: int
    end: int
    currency: str | None = None
    decimals: bool = False


def _values_in(text: str, hints: LocaleHints) -> tuple[list[_Value], list[tuple[int, int]]]:
    """Dates, amounts and identifiers of one cell, in order, and the spans that separate labels from
    values (dates, amounts, percentages, spaced digit groups; not identifiers: "Facture n°562 du" labels
    the date after it)."""
    found: list[_Value] = []
    seps: list[tuple[int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= ts or s >= te for ts, te in seps + [(v.start, v.end) for v in found])

    for iban in find_ibans(text):  # printed in groups of four: one identifier, not four numbers
        found.append(_Value("id", iban.value, iban.start, iban.end))
        seps.append((iban.start, iban.end))
    for d in find_dates(text, dayfirst=hints.dayfirst, decimal_separator=hints.decimal_separator):
        if not free(d.start, d.end):
            continue
        found.append(_Value("date", d.value, d.start, d.end))
        seps.append((d.start, d.end))
    for m in list(_PCT_RE.finditer(text)) + list(_SPACED_DIGITS_RE.finditer(text)):
        if free(m.start(), m.end()):
            seps.append((m.start(), m.end()))
    for m in _ID_RE.finditer(text):
        tok = m.group(1)
        if free(m.start(1), m.end(1)) and _is_identifier(tok, text, m.end(1)):
            found.append(_Value("id", tok, m.start(1), m.end(1)))
    for a in find_amounts(text, decimal_separator=hints.decimal_separator, country=hints.country):
        s = a.start + (len(text[a.start:a.end]) - len(text[a.start:a.end].lstrip()))
        if free(s, a.end):
            decimals = bool(re.search(r"[.,]\d{1,2}(?!\d)", a.raw))
            found.append(_Value("amount", a.value, s, a.end, a.currency, decimals))
            seps.append((s, a.end))
    return sorted(found, key=lambda v: v.start), sorted(seps)


def _is_identifier(tok: str, text: str, end: int) -> bool:
    if not any(ch.isdigit() for ch in tok) or len(tok) < 3:
        return False
    if re.fullmatch(r"[\d.,' ]+", tok) and (re.search(r"[.,]\d{1,2}$", tok) or len(tok.replace(".", "")) < 5):
        return False  # an amount (12.50) or a small number (42, 1.5)
    if re.fullmatch(r"\d+[.,]\d{3}", tok) and len(tok) <= 7:
        return False  # 1,234: a grouped amount
    return text[end:end + 1] != "%"


def _own_label(text: str, seps: list[tuple[int, int]], start: int) -> str:
    """Text between the previous value and the value at ``start``; when it holds no word, the cell's head."""
    prev_end = max((e for s, e in seps if e <= start), default=0)
    between = text[prev_end:start]
    if re.search(r"[^\W\d_]", between):
        return between.strip(" :|")
    return text[:seps[0][0]].strip(" :|") if seps and seps[0][0] < start else ""


class _Collector:
    """Builds the candidates of one document (one instance per document)."""

    def __init__(self, layout: Layout, source: SourceText, hints: LocaleHints) -> None:
        self.layout, self.source, self.hints = layout, source, hints
        self.out: list[Candidate] = []

    def run(self) -> list[Candidate]:
        for order, cell in enumerate(self.layout.cells):
            values, seps = _values_in(cell.text, self.hints)
            for v in values:
                self._add(cell, order, v, seps, values)
            self._labelled_currency(cell, order)
        _line_sums(self.out)
        for kind in ("amount", "date", "id"):
            same = [c for c in self.out if c.kind == kind]
            for i, c in enumerate(same):
                c.rel_order = i / max(1, len(same) - 1)
        return self.out

    def _add(self, cell: Cell, order: int, v: _Value, seps: list[tuple[int, int]], values: list[_Value]) -> None:
        printed = cell.text[v.start:v.end].strip()
        own = _own_label(cell.text, seps, v.start)
        first = not any(e <= v.start for _, e in seps)
        labels = [Label("own", own)] if own else []
        row, row_adj = self.layout.row_label(cell)
        if row is not None:
            labels.append(Label("row", self._head(row), row_adj and first))
        col, col_adj = self.layout.column_label(cell)
        if col is not None:
            labels.append(Label("column", col.text, col_adj))
        after = cell.text[v.end:min([s for s, _ in seps if s >= v.end] + [len(cell.text)])].strip(" :|")
        if re.search(r"[^\W\d_]{2}", after):
            labels.append(Label("after", after))
        quote = self._quote(cell, v, own, row if row_adj and first else None)
        if quote is None:
            return
        currency = v.currency or _code_in(cell.text) or (_code_in(row.text) if row else None)
        page_h = self.layout.page_heights.get(cell.page, 1.0)
        self.out.append(Candidate(
            id=f"c{len(self.out) + 1}", kind=v.kind, value=v.value, printed=printed, page=cell.page,
            box=cell.box_of(v.start, v.end), quote=quote, order=order, rel_y=min(1.0, cell.y0 / page_h),
            labels=labels, currency=currency if v.kind == "amount" else None, decimals=v.decimals,
            last_in_cell=not any(w.kind == v.kind and w.start > v.start for w in values),
        ))

    def _labelled_currency(self, cell: Cell, order: int) -> None:
        """A currency code printed next to a currency label ("Währung: EUR")."""
        code = _code_in(cell.text)
        if code is None or any(ch.isdigit() for ch in cell.text):
            return
        own = cell.text[:_CODE_RE.search(cell.text).start()].strip(" :|")  # type: ignore[union-attr]
        row, _ = self.layout.row_label(cell)
        label = own if _CURRENCY_LABEL_RE.search(own) else (row.text if row and _CURRENCY_LABEL_RE.search(row.text)
                                                           else None)
        quote = self._quote(cell, _Value("currency", code, 0, len(cell.text)), own, row)
        if label is None or quote is None:
            return
        self.out.append(Candidate(
            id=f"c{len(self.out) + 1}", kind="currency", value=code, printed=code, page=cell.page, box=cell.box,
            quote=quote, order=order, rel_y=0.0, labels=[Label("own" if own else "row", label)], currency=code))

    def _head(self, cell: Cell) -> str:
        """A label cell's text before its first value ("Tax 15% on $ 112.90" -> "Tax"), if it has words."""
        _, seps = _values_in(cell.text, self.hints)
        head = cell.text[:seps[0][0]].strip(" :|") if seps else cell.text
        return head if re.search(r"[^\W\d_]{2}", head) else cell.text

    def _quote(self, cell: Cell, v: _Value, own: str, row: Cell | None) -> str | None:
        """The first of (label and value, the cell up to the value, the cell, the value) found in the text."""
        head = cell.text[:v.end].strip()
        tries = [f"{row.text} {head}" if row is not None else "", head if own else "", cell.text, head,
                 cell.text[v.start:v.end]]
        for q in tries:
            q = q.strip()
            if len(q) >= 1 and self.source.find(q, min_score=1.0) is not None:
                return q
        return None


def _code_in(text: str) -> str | None:
    """An ISO currency code or an unambiguous currency sign in ``text`` ("Fr.", "kr" are words too)."""
    m = _CODE_RE.search(text)
    return parse_currency(m.group(0)) if m else None


def _line_sums(cands: list[Candidate]) -> None:
    """An amount equal to the sum of a column's amounts is that column's total: it takes the column's label.

    "Zeilenbetrag ohne MwSt." over the line items labels the "Total EUR 34,73" that sums them.
    """
    columns: dict[str, list[Candidate]] = {}
    for c in cands:
        col = next((lb for lb in c.labels if lb.source == "column"), None)
        if c.kind == "amount" and col is not None and c.decimals and c.value:
            columns.setdefault(col.text, []).append(c)
    for text, members in columns.items():
        if len(members) < 2 or len(members) > 60:
            continue
        total = sum((abs(m.value) for m in members if isinstance(m.value, Decimal)), Decimal(0))
        for c in cands:
            if (c.kind == "amount" and c not in members and isinstance(c.value, Decimal)
                    and abs(abs(c.value) - total) < Decimal("0.011")
                    and not any(lb.text == text for lb in c.labels)):
                c.labels.append(Label("column", text, True, derived=True))
                c.sums = f"sum of the {len(members)} amounts under {text!r}"


def fact_candidates(document: Document, source: SourceText, roles: set[str]) -> list[Candidate]:
    """The facts of a company report for ``roles`` (:mod:`._statements`), as candidates of kind ``fact``."""
    out = []
    for i, f in enumerate(report_facts(document, source, roles)):
        out.append(Candidate(
            id=f"f{i + 1}", kind="fact", value=f.value, printed=f.printed, page=f.page, box=f.box,  # type: ignore[arg-type]
            quote=f.quote, order=i, rel_y=0.0, labels=[Label("row", f.how)], side=f.role, prior=f.prior))
    return out


def collect_candidates(document: Document, source: SourceText, hints: LocaleHints,
                       layout: Layout | None = None) -> list[Candidate]:
    """Every amount, date, identifier and party name of ``document`` whose quote is found in ``source``."""
    layout = layout or document_layout(document)
    out = _Collector(layout, source, hints).run()
    for p in party_candidates(layout, source):
        out.append(Candidate(
            id=f"c{len(out) + 1}", kind="party", value=p.name, printed=p.name, page=p.cell.page, box=p.cell.box,
            quote=p.quote, order=layout.cells.index(p.cell), rel_y=0.0, labels=[Label("row", p.how)],
            side=p.side, prior=p.score))
    return out


__all__ = ["Candidate", "CandidateKind", "Label", "collect_candidates", "fact_candidates"]
