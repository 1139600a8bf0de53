"""Answers composed from two cited table cells, for questions one printed figure does not answer.

* ``share`` ("what percentage of total revenue did Services contribute"): the part's cell over the
  whole's cell (a ``Total ...`` row) of the same filing and column: ``25.9%``;
* ``compare`` ("how did operating expenses compare to revenue"): the best cell for each side, same
  filing and column, side by side;
* ``change`` ("how much did net sales increase"): one row's current-period cell against its prior-period
  cell in the same table: the difference and the percent change.

The arithmetic is exact (Decimal) on the printed figures in the table's unit; both cells are cited,
and the answer record says how the figure was computed. When no pair fits (no ``Total`` row in the
same column, units that differ, a part larger than its whole), nothing is composed and the single
best span answers as before.
"""

from __future__ import annotations

import re
from decimal import Decimal

from pydantic import BaseModel, Field

from pipeline.protocols import SearchHit
from pipeline.qa._span_query import Query, compared_parts, terms
from pipeline.qa._span_rank import RankOptions, score_all
from pipeline.qa._span_values import (
    format_amount,
    format_figure,
    format_percent,
    is_percent,
    number_of,
    scale_of,
)
from pipeline.qa._spans import Span

_TOTAL_WORDS = frozenset({"total", "consolidated"})
_SIDE_COVERAGE = 0.75  # of a comparison side's weighted words that a row label must name


class Composed(BaseModel):
    """An answer built from several cells: its text, the cells it cites (in order) and the computation."""

    text: str
    spans: list[Span] = Field(min_length=1)
    computation: str | None = Field(default=None, description="'21,213 / 81,797 = 25.9%' when a figure was computed")


def _source(s: Span, hits: list[SearchHit]) -> str:
    return hits[s.hit].source if s.hit < len(hits) else ""


def _same_place(a: Span, b: Span, hits: list[SearchHit]) -> bool:
    """Same filing, same column (by its header text, or both the current period), same unit."""
    same_column = a.column == b.column if a.column and b.column else a.column_rank == b.column_rank == 0
    return _source(a, hits) == _source(b, hits) and same_column and scale_of(a) == scale_of(b)


def _is_total(s: Span) -> bool:
    own = s.label.rpartition(" > ")[2].lower()
    return any(w in _TOTAL_WORDS for w in own.replace(":", " ").split())


def _figure_cells(spans: list[Span]) -> list[Span]:
    return [s for s in spans if s.kind == "cell" and not is_percent(s) and number_of(s) is not None]


def _named(s: Span, question: str) -> str:
    """How an answer names a cell: its row label, and its column when it has one."""
    col = f" ({s.column})" if s.column else ""
    return f"{s.label}{col}: {format_figure(s, question)}"


def compose_share(question: str, ranked: list[Span], hits: list[SearchHit]) -> Composed | None:
    """Part over whole: the best non-total cell, and the best ``Total`` cell of the same place."""
    cells = _figure_cells(ranked)
    parts = [s for s in cells if not _is_total(s)]
    for part in parts[:3]:
        value = number_of(part)
        wholes = [w for w in cells if _is_total(w) and _same_place(part, w, hits) and w.hit == part.hit]
        wholes += [w for w in cells if _is_total(w) and _same_place(part, w, hits) and w not in wholes]
        for whole in wholes:
            total = number_of(whole)
            # A part as large as its whole is the whole printed under another label (Revenue / Total revenue):
            # 100% says nothing the question asked.
            if value is None or total is None or total == 0 or abs(value) >= abs(total):
                continue
            pct = Decimal(100) * value / total
            calc = f"{part.value} / {whole.value} = {format_percent(pct)}"
            text = (f"{format_percent(pct)}: {part.label} {format_figure(part, question)} of "
                    f"{whole.label} {format_figure(whole, question)}"
                    f"{f' ({part.column})' if part.column else ''} (computed: {calc})")
            return Composed(text=text, spans=[part, whole], computation=calc)
    return None


def _names_all(s: Span, q: Query) -> bool:
    """The row label itself names (nearly) everything one side of the comparison asks for."""
    return q.coverage(set(terms(s.label.rpartition(" > ")[2]))) >= _SIDE_COVERAGE


def compose_compare(question: str, q: Query, spans: list[Span], hits: list[SearchHit],
                    options: RankOptions) -> Composed | None:
    """Each side of "A compared to B" answered by its own best cell, both of the same filing and column."""
    left, right = compared_parts(question)
    if not terms(left) or not terms(right):
        return None
    qa, qb = q.restricted(left), q.restricted(right)
    a_ranked = [s for s in _figure_cells(score_all(left, spans, hits, options, qa)) if _names_all(s, qa)]
    b_ranked = [s for s in _figure_cells(score_all(right, spans, hits, options, qb)) if _names_all(s, qb)]
    for a in a_ranked[:3]:
        b = next((b for b in b_ranked if b.label != a.label and _same_place(a, b, hits)), None)
        if b is not None:
            return Composed(text=f"{_named(a, question)}; {_named(b, question)}", spans=[a, b])
    return None


def _period_kind(column: str) -> str:
    """A column's period without its dates: "Three Months Ended September 28, 2024" -> "three months ended september"."""
    return " ".join(re.sub(r"[\d,]+", " ", column).lower().split())


def _year(column: str) -> int:
    return max((int(y) for y in re.findall(r"\b(?:19|20)\d\d\b", column)), default=0)


def compose_change(question: str, ranked: list[Span], hits: list[SearchHit]) -> Composed | None:
    """The best cell's row: its figure against the same row's figure for the same kind of period one
    year earlier (three months against three months), as a difference and a percent change."""
    cells = _figure_cells(ranked[:1])
    if not cells or not _year(cells[0].column):
        return None
    now = cells[0]
    rows = [s for s in _figure_cells(ranked) if s.hit == now.hit and s.label == now.label
            and _period_kind(s.column) == _period_kind(now.column) and 0 < _year(s.column) < _year(now.column)
            and scale_of(s) == scale_of(now)]
    before = max(rows, key=lambda s: _year(s.column), default=None)
    a, b = number_of(now), number_of(before) if before else None
    if before is None or a is None or b is None:
        return None
    diff = a - b
    pct = f", {format_percent(Decimal(100) * diff / abs(b))}" if b else ""
    calc = f"{now.value} - {before.value} = {format_amount(diff, '', False)}{pct}"
    text = (f"{now.label}: {format_figure(now, question)} ({now.column}) against "
            f"{format_figure(before, question)} ({before.column}), a change of "
            f"{format_amount(diff, scale_of(now), now.dollars)}{pct} (computed: {calc})")
    return Composed(text=text, spans=[now, before], computation=calc)


def compose(question: str, q: Query, spans: list[Span], ranked: list[Span], hits: list[SearchHit],
            options: RankOptions) -> Composed | None:
    """A composed answer for compare questions, and for share and change questions whose best-ranked span
    is a table cell (a sentence that already states the share or the change answers as printed); None
    otherwise, or when no pair of cells fits."""
    if not ranked:
        return None
    if q.kind == "compare":
        return compose_compare(question, q, spans, hits, options)
    if ranked[0].kind != "cell":
        return None
    if q.kind == "share":
        return compose_share(question, ranked, hits)
    if q.kind == "change":
        return compose_change(question, ranked, hits)
    return None


__all__ = ["Composed", "compose", "compose_change", "compose_compare", "compose_share"]
