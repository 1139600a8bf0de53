"""Deterministic ranking of candidate spans against a question, so the model sees only the best few.

Signals, all plain rules (no model, no tuning to particular questions):

* **words**: the question's content words (lower-cased, light stemming, a small table of finance
  synonyms such as revenue ~ net sales, R&D ~ research and development) against the span's row
  label (strongest), its column header, the chunk's heading path and, for sentences, the sentence;
  each word weighted by its rarity among the candidate spans (IDF), so words every span shares (the
  company's name) count for nothing;
* **label precision**: how much of the row label the question asks about (``Total gross margin``
  over ``Gross margin > Products`` for "gross margin");
* **period**: a 10-Q table's first value column is the current quarter, and "Three Months" columns
  answer a quarter's question unless the question asks for six or nine months or the year to date;
* **retrieval rank** of the span's chunk, as a prior;
* **figures**: a sentence that prints an amount ranks above one that does not.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from pydantic import BaseModel, Field

from ._spans import Span

_WORD_RE = re.compile(r"[A-Za-z][A-Za-z&]*")
_AMOUNT_RE = re.compile(r"\$\s?\d|\d[\d,]*\.\d|\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?\s*(?:million|billion|%)")
_STOP = frozenset(
    ["a", "an", "and", "any", "are", "as", "at", "be", "been", "by", "can", "company", "company's", "could", "did", "do", "does", "during", "each", "for", "from", "had", "has", "have", "how", "in", "include", "including", "into", "is", "it", "its", "latest", "main", "major", "many", "most", "much", "of", "on", "or", "our", "over", "per", "recent", "reported", "report", "reports", "reporting", "disclose", "disclosed", "disclosure", "details", "provided", "significant", "specifically", "such", "than", "that", "the", "their", "them", "these", "they", "this", "those", "to", "total", "up", "was", "were", "what", "which", "while", "who", "whose", "why", "with", "would", "q", "quarter", "quarterly", "filing", "form", "k", "latest", "current", "key", "chief", "primary", "figure", "figures", "amount", "amounts", "number", "stated", "statement", "state", "about", "what's", "how's"]
)
# Question word -> words a filing uses for it (each side stemmed). Generic financial vocabulary only.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "revenue": ("sales", "net sales"),
    "sales": ("revenue",),
    "earnings": ("income",),
    "profit": ("income", "margin"),
    "buyback": ("repurchase",),
    "buybacks": ("repurchase",),
    "expenditure": ("expense", "expenses"),
    "expenditures": ("expense", "expenses"),
    "spend": ("expense",),
    "spent": ("expense",),
    "r&d": ("research", "development"),
    "opex": ("operating", "expenses"),
    "stock": ("share", "shares"),
    "shares": ("stock",),
    "borrowings": ("debt",),
    "debt": ("notes", "borrowings"),
    "cash": ("cash",),
    "currency": ("foreign", "exchange"),
    "exchange": ("currency", "currencies"),
    "affect": ("impact", "effect"),
    "effects": ("impact",),
    "fx": ("foreign", "exchange", "currency"),
}
# Questions about causes, effects and narrative: a sentence answers them better than a table cell.
_WHY_RE = re.compile(
    r"\b(why|driv\w*|factors?|reasons?|affect\w*|impact\w*|effects?|caus\w*|contribut\w*|explain\w*|"
    r"suggest\w*|focus\w*|priorit\w*|risks?|proceedings?|changes?|announce\w*|details?)\b", re.IGNORECASE)
_SIX_NINE_RE = re.compile(r"\b(six|nine|twelve)[- ]months?\b|\byear[- ]to[- ]date\b|\bfirst half\b|\bytd\b", re.IGNORECASE)


def stem(word: str) -> str:
    w = word.lower().removesuffix("'s").removesuffix("’s")
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    return w[:7]


def terms(text: str) -> list[str]:
    """Stemmed content words of ``text`` (stop words dropped)."""
    return [stem(w) for w in _WORD_RE.findall(text) if w.lower() not in _STOP and len(w) > 1]


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
    period_weight: float = 0.6
    prior_weight: float = 0.6
    figure_bonus: float = 0.8
    min_score: float = Field(default=0.5, description="below this no span is offered: not found")


class _Query(BaseModel):
    weights: dict[str, float]
    expansions: dict[str, set[str]]
    asks_longer_period: bool
    asks_why: bool

    def coverage(self, words: set[str]) -> float:
        total = sum(self.weights.values()) or 1.0
        got = sum(w for t, w in self.weights.items() if words & self.expansions[t])
        return got / total

    def matches(self, word: str) -> bool:
        return any(word in e for e in self.expansions.values())


def _span_words(s: Span) -> tuple[set[str], set[str]]:
    """(main words, context words): a cell's own row label and its group row/column/section; a sentence
    and its section."""
    if s.kind == "cell":
        group, _, own = s.label.rpartition(" > ")
        return set(terms(own)), set(terms(f"{group} {s.column} {s.section}"))
    return set(terms(s.quote)), set(terms(s.section))


def _query(question: str, spans: list[Span]) -> _Query:
    q_terms = list(dict.fromkeys(terms(question)))
    df: Counter[str] = Counter()
    for s in spans:
        main, ctx = _span_words(s)
        df.update(main | ctx)
    n = max(1, len(spans))
    expansions: dict[str, set[str]] = {}
    weights: dict[str, float] = {}
    for t in q_terms:
        syn = {stem(x) for phrase in _SYNONYMS.get(t, ()) for x in phrase.split()}
        syn |= {stem(x) for k, v in _SYNONYMS.items() if stem(k) == t for phrase in v for x in phrase.split()}
        expansions[t] = {t} | syn
        seen = max(df[x] for x in expansions[t])
        weights[t] = math.log(1 + n / (1 + seen)) if seen else 0.0
    return _Query(weights=weights, expansions=expansions, asks_longer_period=bool(_SIX_NINE_RE.search(question)),
                  asks_why=bool(_WHY_RE.search(question)))


def _period(s: Span, q: _Query) -> float:
    col = s.column.lower()
    score = 1.0 if s.column_rank == 0 else 0.0
    if "three months" in col or "quarter" in col:
        score += -0.5 if q.asks_longer_period else 0.5
    elif re.search(r"\b(six|nine|twelve) months\b", col):
        score += 0.5 if q.asks_longer_period else -0.5
    return score


def score_span(s: Span, q: _Query, o: RankOptions) -> float:
    main, ctx = _span_words(s)
    prior = o.prior_weight / math.sqrt(1 + s.hit)
    if s.kind == "cell":
        label_cov = q.coverage(main)
        precision = sum(1 for t in main if q.matches(t)) / len(main) if main else 0.0
        rest = q.coverage(ctx | main) - label_cov
        return (o.label_weight * label_cov + o.precision_weight * precision * (label_cov > 0)
                + o.context_weight * rest + o.period_weight * _period(s, q) + prior)
    cov = q.coverage(main | ctx)
    figure = o.figure_bonus if _AMOUNT_RE.search(s.quote) else 0.0
    why = o.why_bonus if q.asks_why else 0.0
    return o.sentence_weight * cov + (figure + why) * (cov > 0) + prior


def _shares_a_word(s: Span, q: _Query) -> bool:
    main, ctx = _span_words(s)
    return q.coverage(main if s.kind == "sentence" else main | ctx) > 0


def rank_spans(question: str, spans: list[Span], options: RankOptions | None = None) -> list[Span]:
    """The best ``options.top`` spans, best first, each with its score; a mix of cells and sentences."""
    o = options or RankOptions()
    q = _query(question, spans)
    scored = sorted((s.model_copy(update={"score": round(score_span(s, q, o), 4)}) for s in spans),
                    key=lambda s: -s.score)
    # A span that shares no word with the question is never offered, whatever its retrieval rank; the same
    # figure of the same filing (printed in two tables) is offered once, under its best-ranked label.
    seen: set[tuple[int, str]] = set()
    kept: list[Span] = []
    for s in scored:
        key = (s.hit if s.kind == "sentence" else -1, s.value or s.quote)
        if s.score >= o.min_score and key not in seen and _shares_a_word(s, q):
            seen.add(key)
            kept.append(s)
    scored = kept
    cells = [s for s in scored if s.kind == "cell"]
    sentences = [s for s in scored if s.kind == "sentence"]
    keep = cells[: o.min_cells] + sentences[: o.min_sentences]
    for s in scored:
        if len(keep) >= o.top:
            break
        if s not in keep:
            keep.append(s)
    return sorted(keep[: o.top], key=lambda s: -s.score)


__all__ = ["RankOptions", "rank_spans", "score_span", "stem", "terms"]
