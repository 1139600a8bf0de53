"""Deterministic ranking of candidate spans against a question, so the model sees only the best few.

Signals, all plain rules (no model, no tuning to particular questions; the question's words, kind and
period come from :mod:`pipeline.qa._span_query`):

* **words**: the question's content words (lower-cased, light stemming, a small table of finance
  synonyms such as revenue ~ net sales, R&D ~ research and development, operating cash flow ~ cash
  from operating activities) against the span's row label (strongest), its column header, the chunk's
  heading path and, for sentences, the sentence; each word weighted by its rarity among the candidate
  spans (IDF); the filer's own name ("Apple's", "did Amazon") is left out: it says which filing, not
  which line;
* **label precision**: how much of the row label the question asks about (``Total gross margin``
  over ``Gross margin > Products`` for "gross margin"); a row under a group the question does not
  name (``North America > Operating expenses``) ranks below the consolidated row;
* **period**: the filing's current period (the year of "for the period ending ..." in the index's
  document context, else the latest year its columns print) answers; a column of only earlier years
  is a comparative; "Three Months" columns answer a quarter's question unless six or nine months or
  the year to date are asked (a row printed only for the year to date, as cash flows are, is not held
  back); a sentence about an earlier year than the filing's ranks lower;
* **kind of question**: a question that asks a figure prefers a matching table cell, an amount to a
  rate (``74.0 %`` when no percentage is asked), and a sentence that states a level to one that only
  states a change ("increased $3.9 billion or 21%"); why/what-drove questions prefer sentences;
* **retrieval rank** of the span's chunk, as a prior;
* **fit**: a span is offered only when it shares a question word of its own (row, group, column or
  sentence; the filing's name alone is no fit): otherwise the answer is "not found".
"""

from __future__ import annotations

import itertools
import math
import re

from pydantic import BaseModel, Field

from pipeline.protocols import SearchHit
from pipeline.qa._answer_fit import (
    POLARITY_RE,
    YES_NO_RE,
    answer_type,
    counts_what_is_asked,
    type_fits,
    value_of_what_is_asked,
)
from pipeline.qa._definitions import defined_term, definition_strength
from pipeline.qa._span_query import Query, build_query, stem, terms
from pipeline.qa._spans import Span

_AMOUNT_RE = re.compile(r"\$\s?\d|\d[\d,]*\.\d|\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?\s*(?:million|billion|%)")
_MONEY_RE = re.compile(r"\$\s?\d|\d\s*(?:million|billion)\b", re.IGNORECASE)
# "increased $3.9 billion or 21%", "57% lower ... offset by 7% growth": words of a change, not of a level.
_CHANGE_WORDS_RE = re.compile(r"\b(?:increas|decreas|grew|growth|grow|declin|lower|higher|rose|fell)\w*\b", re.IGNORECASE)
_BIG_NUMBER_RE = re.compile(r"\d{1,3}(?:,\d{3})+")
# A measured quantity: a number with its unit of time, power, energy, mass, length, area or currency
# ("1.8 years", "3.9 MW", "402 MWh", "EUR 0.19"): a figure as much as "$3.9 billion" is.
_MEASURE_RE = re.compile(
    r"\d(?:[\d,]*\d)?(?:\.\d+)?\s?(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|[kMGT]?Wh?p?|[kMG]?t|kg|km|m²|m2|"
    r"[kMG]?Hz|[kMG]?bits|[kKMGT]B|bytes|pages?|ms|mm|cm|mA|mV|V|°C|"
    r"EUR|USD|GBP|CHF|€|£)(?![A-Za-z])|(?:EUR|USD|GBP|CHF|€|£)\s?\d")
_PAIR_WORD_RE = re.compile(r"[A-Za-z]{3,}")
_PERIOD_COL_RE = re.compile(r"\b(?:months?|quarter|year|ended|fiscal|q[1-4]|fy|january|february|march|april|may|"
                            r"june|july|august|september|october|november|december)\b", re.IGNORECASE)
_LEVEL_RE = re.compile(r"\b(?:was|were|of|totaled|totalled|remaining|remained|had|is|are)\s+(?:approximately\s+)?\$\s?\d",
                       re.IGNORECASE)
_LONGER_COL_RE = re.compile(r"\b(six|nine|twelve) months\b|\bfirst (half|nine months)\b", re.IGNORECASE)
_QUARTER_COL_RE = re.compile(r"\bthree months\b|\bquarter\b", re.IGNORECASE)
_YEAR_RE = re.compile(r"\b((?:19|20)\d\d)\b")
_UNIT_TEXT_RE = re.compile(r"\([^)]*\b(?:millions|billions|thousands)\b[^)]*\)|\b(?:19|20)\d\d\b", re.IGNORECASE)
_PERIOD_END_RE = re.compile(r"period ending ((?:19|20)\d\d)-\d\d-\d\d")


class RankOptions(BaseModel):
    """Weights of the ranking signals and how many spans the model is shown."""

    top: int = Field(default=5, ge=1, description="spans shown to the model")
    min_sentences: int = Field(default=2, ge=0, description="sentences kept among the top when there are any")
    min_cells: int = Field(default=2, ge=0, description="table cells kept among the top when there are any")
    label_weight: float = 3.0
    precision_weight: float = 1.0
    context_weight: float = 1.0
    sentence_weight: float = 2.5
    why_bonus: float = Field(default=0.8, description="added to sentences for why/how/what-changed questions")
    cell_bonus: float = Field(default=0.6, description="added to matching amount cells for questions that ask a figure")
    segment_penalty: float = Field(default=0.4, description="taken from a row under a group the question does "
                                   "not name (North America > Operating expenses, when no segment is asked)")
    percent_penalty: float = Field(default=0.8, description="taken from percent cells when no rate is asked")
    change_penalty: float = Field(default=0.8, description="taken from sentences that state only a change when a level is asked")
    period_weight: float = 0.6
    prior_weight: float = 0.6
    figure_bonus: float = 0.8
    document_weight: float = Field(default=0.4, description="times the span's document's share of the retrieval "
                                   "(reciprocal ranks of its chunks, the best document 1.0): the passage of a "
                                   "sister document that shares the words ranks below the asked document's")
    definition_bonus: float = Field(default=2.0, description="times how well a sentence defines the term a "
                                    "definition question asks about (1 defines, 0.3 mentions)")
    count_bonus: float = Field(default=0.8, description="added to sentences that print a number of what a how-many "
                               "question counts ('thirteen entry types')")
    polarity_bonus: float = Field(default=0.5, description="added, for a yes/no question, to sentences that state "
                                  "a rule either way ('not', 'never', 'always', 'only', 'must', 'cannot')")
    type_bonus: float = Field(default=0.8, description="added to spans that hold what a who/when/how-many question "
                              "asks for (a name, a date, a number)")
    min_score: float = Field(default=0.5, description="below this no span is offered: not found")


# How a financial report names its periods: the finance profile (current period, comparatives) switches itself on
# for a document whose retrieved text says this, and stays off for a paper or a manual, whose years are history.
_FILING_RE = re.compile(r"\b(?:form\s+10-[kq]|form\s+8-k|(?:three|six|nine|twelve)\s+months\s+ended|fiscal\s+(?:year|quarter)"
                        r"|(?:quarter|year|period)\s+ended|consolidated\s+(?:statements?|balance\s+sheets?))\b",
                        re.IGNORECASE)


def filing_sources(hits: list[SearchHit]) -> set[str]:
    """Sources whose retrieved chunks read as a financial report (see ``_FILING_RE``), or whose document context
    names a filing period ("for the period ending 2023-09-30")."""
    out: set[str] = set()
    for h in hits:
        ctx = h.metadata.get("context")
        if h.source not in out and ((isinstance(ctx, str) and _PERIOD_END_RE.search(ctx)) or _FILING_RE.search(h.text)):
            out.add(h.source)
    return out


class Periods(BaseModel):
    """The year of each hit's filing period: from the index's document context ("for the period ending
    2023-09-30") when it has one, else the latest year its tables print in a column, else in its text. Only
    for documents of the finance profile (:func:`filing_sources`): a paper's years are not periods."""

    latest: dict[int, int] = Field(default_factory=dict, description="hit index -> year of its current period")

    @classmethod
    def of(cls, spans: list[Span], hits: list[SearchHit] | None) -> Periods:
        hits = hits or []
        in_columns: dict[str, int] = {}
        in_text: dict[str, int] = {}
        for s in spans:
            if s.hit >= len(hits):
                continue
            src = hits[s.hit].source
            into = in_columns if s.kind == "cell" else in_text
            for y in _YEAR_RE.findall(s.column if s.kind == "cell" else s.quote):
                into[src] = max(into.get(src, 0), int(y))
        latest: dict[int, int] = {}
        filings = filing_sources(hits)
        for i, h in enumerate(hits):
            if h.source not in filings:
                continue
            ctx = h.metadata.get("context")
            m = _PERIOD_END_RE.search(ctx) if isinstance(ctx, str) else None
            year = int(m.group(1)) if m else in_columns.get(h.source) or in_text.get(h.source)
            if year:
                latest[i] = year
        return cls(latest=latest)


def _span_words(s: Span) -> tuple[set[str], set[str]]:
    """(main words, context words): a cell's own row label and its group row/column/section; a sentence
    and its section."""
    if s.kind == "cell":
        group, _, own = s.label.rpartition(" > ")
        return set(terms(own)) | _compounds(own), set(terms(f"{group} {s.column} {s.section}"))
    return set(terms(s.quote)) | _compounds(s.quote), set(terms(f"{s.label} {s.section}"))


def _compounds(text: str) -> set[str]:
    """Adjacent words written together ("pay back" -> payback, "cash flow" -> cashflow, "work force"): a
    question may spell a compound as one word where the document spells it as two."""
    words = [w.lower() for w in _PAIR_WORD_RE.findall(text)]
    return {stem(a + b) for a, b in itertools.pairwise(words)}


def make_query(question: str, spans: list[Span]) -> Query:
    return build_query(question, (a | b for a, b in map(_span_words, spans)))


def _cell_period(s: Span, q: Query, latest: int | None, row_has_quarter: bool) -> float:
    """The filing's current period answers (its latest-year column; a column of only earlier years is a
    comparative, whatever its print position), a quarter's column unless six or nine months are asked.
    A row printed only for the year to date (a 10-Q's cash flow statement) is not held back by that."""
    col = s.column.lower()
    years = [int(y) for y in _YEAR_RE.findall(col)]
    prior = bool(latest and years and max(years) < latest)
    # The first column is the current period unless the table names its columns as something else than
    # periods (a line-item table's "Qty" or "Amount": being first says nothing there).
    current = s.column_rank == 0 and bool(years or _PERIOD_COL_RE.search(col) or not col.strip())
    score = -2.0 if prior else 1.0 if current else 0.0
    if "three months" in col or "quarter" in col:
        score += -0.5 if q.asks_longer_period else 0.5
    elif _LONGER_COL_RE.search(col) and row_has_quarter:
        score += 0.5 if q.asks_longer_period else -0.5
    return score


def _sentence_period(s: Span, q: Query, latest: int | None) -> float:
    """A sentence about an earlier year than the filing's current period, or about six or nine months
    when a quarter is asked, answers the question less well (a 10-Q compares periods in one breath)."""
    score = 0.0
    years = [int(y) for y in _YEAR_RE.findall(s.quote)]
    if latest and years:
        score += 0.5 if max(years) >= latest else -0.5
    if _LONGER_COL_RE.search(s.quote) and not re.search(r"\bquarter|three months", s.quote, re.IGNORECASE):
        score += 0.5 if q.asks_longer_period else -0.5
    if q.period_phrase and q.period_phrase in " ".join(s.quote.lower().split()):
        score += 0.5  # "during the second quarter of 2023" for a question about the second quarter
    return score


def score_span(s: Span, q: Query, o: RankOptions, latest: int | None = None, row_has_quarter: bool = True,
               retrieval_rank: int | None = None, label_repeats: bool = True) -> float:
    """``retrieval_rank``: 0-based rank of the span's chunk for the prior (default: its position in the hits).
    ``label_repeats``: the row's own label appears in its table under another group (or none) too."""
    main, ctx = _span_words(s)
    prior = o.prior_weight / math.sqrt(1 + (s.hit if retrieval_rank is None else retrieval_rank))
    wants_figure = q.kind != "narrative"
    if s.kind == "cell":
        label_cov = q.coverage(main)
        precision = sum(1 for t in main if q.matches(t)) / len(main) if main else 0.0
        rest = q.coverage(ctx | main) - label_cov
        score = (o.label_weight * label_cov + o.precision_weight * precision * (label_cov > 0)
                 + o.context_weight * rest + o.period_weight * _cell_period(s, q, latest, row_has_quarter) + prior)
        if wants_figure and label_cov > 0:
            score += o.cell_bonus
        group = set(terms(_UNIT_TEXT_RE.sub("", s.label.rpartition(" > ")[0])))
        # "North America > Net sales" beside "AWS > Net sales": a segment's row, below the consolidated one.
        # A heading over the only such row ("Operating expenses > Research and development") is no segment.
        if group and label_repeats and not any(q.matches(t) for t in group):
            score -= o.segment_penalty
        if "%" in s.value and not q.asks_percent:
            score -= o.percent_penalty
        return score
    cov = q.coverage(main | ctx)
    if s.label:  # the line a short line stands under says where it is, less than the line's own words
        own = q.coverage(main | set(terms(s.section)))
        cov = own + 0.5 * (cov - own)
    # A question that asks no rate is answered by an amount; a sentence that prints only rates is not one.
    has_figure = _AMOUNT_RE.search(s.quote) if q.asks_percent else (
        _MONEY_RE.search(s.quote) or _BIG_NUMBER_RE.search(s.quote) or _MEASURE_RE.search(s.quote))
    figure = o.figure_bonus if has_figure else 0.0
    why = o.why_bonus if q.asks_why else 0.0
    score = o.sentence_weight * cov + (figure + why) * (cov > 0) + prior + o.period_weight * _sentence_period(s, q, latest)
    if q.kind == "amount" and _CHANGE_WORDS_RE.search(s.quote) and not _LEVEL_RE.search(s.quote):
        score -= o.change_penalty
    return score


def _identity(s: Span, hits: list[SearchHit] | None) -> set[str]:
    """Words that name the filing rather than say anything (its company, its form): the heading path's
    root and the index's document context."""
    ctx = ""
    if hits and s.hit < len(hits):
        c = hits[s.hit].metadata.get("context")
        ctx = c if isinstance(c, str) else ""
    return set(terms(f"{s.section.split(' > ')[0]} {ctx}"))


def _fits(s: Span, q: Query, hits: list[SearchHit] | None, filings: set[str] | None = None) -> bool:
    """The span shares a question word of its own: in a cell's row, group or column, in a sentence's text;
    a filing's name alone (every span of it has that) is no fit. Outside filings (``filings``: the sources
    read as financial reports) the document's name is its subject and counts: "hyperref (Sebastian Rahtz)" in
    the hyperref talk answers "who is the author of hyperref"."""
    in_filing = filings is None or (hits is not None and s.hit < len(hits) and hits[s.hit].source in filings)
    identity = _identity(s, hits) if in_filing else set()
    if s.kind == "cell":
        group = s.label.rpartition(" > ")[0]
        words = set(terms(f"{s.label} {group} {s.column}"))
        words -= identity
    else:
        # A short line's label (the line it stands under, a title page's title) counts even when it is the
        # document's own name: "February 8, 1988" under "BIBTEXing" is the date of that document.
        words = (set(terms(s.quote)) - identity) | set(terms(s.label))
        if s.label:  # a short line is read under its heading too ("May 1, 2002" under "Version 1.04")
            words |= set(terms(s.section.rpartition(" > ")[2]))
    return q.coverage(words) > 0


def first_stage_rank(hit: SearchHit, position: int) -> int:
    """0-based rank of ``hit`` in the first retrieval stage (dense/BM25/fusion), before any reranker.

    The retrieval prior of a span uses it rather than the reranked position: the reranker is fitted to
    put a whole answering *chunk* first, and as a prior for *spans* its order measured worse on the 50
    docugami key-figure questions (k = 60: accuracy 0.42 against 0.46 with the first stage's order;
    0.40 against 0.48 on the half the span rules were not developed on)."""
    r = hit.metadata.get("first_stage_rank")
    return r - 1 if isinstance(r, int) and r >= 1 else position


def document_shares(hits: list[SearchHit], ranks: list[int]) -> dict[str, float]:
    """Each retrieved document's weight in the retrieval: the sum of its chunks' reciprocal first-stage ranks,
    the best document's being 1.0. A question is most often about the document retrieval puts first."""
    total: dict[str, float] = {}
    for h, r in zip(hits, ranks):
        total[h.source] = total.get(h.source, 0.0) + 1.0 / (1 + r)
    best = max(total.values(), default=0.0) or 1.0
    return {src: v / best for src, v in total.items()}


# A number the question names a thing by ("version 1.00", "RFC 1301", "section 1201", "code 6"): not a year, which a
# table prints in its header as often as in its rows.
_IDENTIFIER_RE = re.compile(r"(?<![\w.])(?<![A-Za-z]-)\d+(?:\.\d+)*(?![\w.]*\d)(?!-[A-Za-z])")
_PLAIN_YEAR_RE = re.compile(r"(?:1[89]|20)\d\d")


def question_numbers(question: str) -> list[str]:
    """The numbers ``question`` names things by, years aside."""
    return [m.group(0) for m in _IDENTIFIER_RE.finditer(question) if not _PLAIN_YEAR_RE.fullmatch(m.group(0))]


def prints_numbers(hit: SearchHit, numbers: list[str]) -> bool:
    """``hit`` (its text, headings or document context) prints every number of ``numbers`` as a whole number."""
    where = f"{hit.text} {' '.join(hit.heading_path)} {hit.metadata.get('context') or ''}"
    return all(re.search(r"(?<![\d.])" + re.escape(n) + r"(?!\.?\d)", where) for n in numbers)


def score_all(question: str, spans: list[Span], hits: list[SearchHit] | None = None,
              options: RankOptions | None = None, query: Query | None = None) -> list[Span]:
    """Every span that shares a word with the question, scored, best first (ties keep retrieval order)."""
    o = options or RankOptions()
    q = query or make_query(question, spans)
    periods = Periods.of(spans, hits)
    quarterly = {(s.hit, s.label) for s in spans if s.kind == "cell" and _QUARTER_COL_RE.search(s.column)}
    groups: dict[tuple[int, str], set[str]] = {}
    for s in spans:
        if s.kind == "cell":
            group, _, own = s.label.rpartition(" > ")
            groups.setdefault((s.hit, own), set()).add(group)
    ranks = [first_stage_rank(h, i) for i, h in enumerate(hits or [])]
    typed = answer_type(question) != "any"
    documents = document_shares(hits or [], ranks)
    term = defined_term(question)
    counting = "how many" in question.lower()
    valued = answer_type(question) in ("date", "measure")
    yes_no = bool(YES_NO_RE.match(question))
    # A passage that does not print the question's "version 1.00" or "section 1201" is about another version or
    # section, whatever words it shares: its spans are not candidates.
    filings = filing_sources(hits or [])
    numbers = question_numbers(question)
    numbered = {i for i, h in enumerate(hits or []) if prints_numbers(h, numbers)} if numbers else None
    scored = []
    for s in spans:
        if numbered is not None and hits and s.hit not in numbered:
            continue
        rank = ranks[s.hit] if s.hit < len(ranks) else None
        repeats = s.kind == "cell" and len(groups.get((s.hit, s.label.rpartition(" > ")[2]), ())) > 1
        sc = score_span(s, q, o, periods.latest.get(s.hit), (s.hit, s.label) in quarterly, rank, repeats)
        if typed and type_fits(s, question):
            sc += o.type_bonus
        if counting and s.kind == "sentence" and counts_what_is_asked(s.quote, question):
            sc += o.count_bonus
        if valued and s.kind == "sentence" and value_of_what_is_asked(s.quote, question):
            sc += o.count_bonus  # the same evidence for when / how long: a date or quantity bound to what is asked
        if yes_no and s.kind == "sentence" and POLARITY_RE.search(s.quote):
            sc += o.polarity_bonus
        if term and s.kind == "sentence":
            sc += o.definition_bonus * definition_strength(term, s.quote)
        if s.hit < len(hits or []):
            sc += o.document_weight * documents.get((hits or [])[s.hit].source, 0.0)
        sc = round(sc, 4)
        if sc >= o.min_score and _fits(s, q, hits, filings):
            scored.append(s.model_copy(update={"score": sc}))
    return sorted(scored, key=lambda s: -s.score)


def rank_spans(question: str, spans: list[Span], options: RankOptions | None = None,
               hits: list[SearchHit] | None = None) -> list[Span]:
    """The best ``options.top`` spans, best first, each with its score; a mix of cells and sentences.
    ``hits`` (the chunks the spans come from) lets spans be judged against their filing's period."""
    o = options or RankOptions()
    return top_spans(score_all(question, spans, hits, o), o)


def top_spans(scored: list[Span], options: RankOptions) -> list[Span]:
    """The best ``options.top`` of spans scored by :func:`score_all`: at least ``min_cells`` cells and
    ``min_sentences`` sentences where there are any; the same figure of the same filing (printed in two
    tables) once, under its best-ranked label."""
    o = options
    seen: set[tuple[int, str]] = set()
    unique: list[Span] = []
    for s in scored:
        key = (s.hit if s.kind == "sentence" else -1, s.value or s.quote)
        if key not in seen:
            seen.add(key)
            unique.append(s)
    cells = [s for s in unique if s.kind == "cell"]
    sentences = [s for s in unique if s.kind == "sentence"]
    keep = cells[: o.min_cells] + sentences[: o.min_sentences]
    for s in unique:
        if len(keep) >= o.top:
            break
        if s not in keep:
            keep.append(s)
    return sorted(keep[: o.top], key=lambda s: -s.score)


__all__ = ["Periods", "RankOptions", "make_query", "rank_spans", "score_all", "score_span", "stem", "terms", "top_spans"]
