"""What a question asks, read by rules: its content words (with finance synonyms), its kind and its period.

Kinds, from how questions about filings are phrased:

* ``share``: "what percentage / proportion of total revenue did X contribute", "how significant was X
  relative to total revenue": a part over its whole, computed from two cells;
* ``compare``: "how did X compare to Y", "X measure up against Y": two line items side by side;
* ``change``: "how much did X increase", "the change in X compared to last year": one row, two periods;
* ``narrative``: why, drivers, factors, effects, focus, risks, proceedings: a sentence answers best;
* ``amount`` (otherwise): one figure, a table cell where there is one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, Field

QuestionKind = Literal["share", "compare", "change", "narrative", "amount"]

WORD_RE = re.compile(r"[A-Za-z][A-Za-z&]*")  # a word as the question and span terms read it
_STOP = frozenset(
    ["a", "an", "and", "any", "are", "as", "at", "be", "been", "by", "can", "company", "company's", "could", "did", "do", "does", "during", "each", "for", "from", "had", "has", "have", "how", "in", "include", "including", "into", "is", "it", "its", "latest", "main", "major", "many", "most", "much", "of", "on", "or", "our", "over", "per", "recent", "reported", "report", "reports", "reporting", "disclose", "disclosed", "disclosure", "details", "provided", "significant", "specifically", "such", "than", "that", "the", "their", "them", "these", "they", "this", "those", "to", "total", "up", "was", "were", "what", "which", "while", "who", "whose", "why", "with", "would", "q", "quarter", "quarterly", "filing", "form", "k", "latest", "current", "key", "chief", "primary", "figure", "figures", "amount", "amounts", "number", "stated", "statement", "state", "about", "what's", "how's",
     # how questions are phrased, not what they ask about
     "make", "made", "regarding", "concerning", "mention", "mentioned", "reveal", "revealed", "identified",
     "outlined", "undertake", "stack", "measure", "compare", "compared", "against", "relative", "versus",
     # English function words: they say how a question is put, never which passage answers it
     "after", "before", "without", "within", "being", "under", "between", "through", "ever", "also", "there",
     "then", "when", "where", "here", "should", "shall", "may", "might", "must", "will", "only", "very", "some", "other",
     "upon", "via", "if", "so", "we", "you", "your", "he", "she", "his", "her", "him", "me", "my"]
)
# Question word -> words a filing uses for it (each side stemmed). Generic financial vocabulary only.
SYNONYMS: dict[str, tuple[str, ...]] = {
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
    "currency": ("foreign", "exchange"),
    "exchange": ("currency", "currencies"),
    "affect": ("impact", "effect"),
    "effects": ("impact",),
    "fx": ("foreign", "exchange", "currency"),
    "operations": ("operating",),
    # "operating cash flow" is printed as "cash provided by operating activities"
    "flow": ("activities",),
    "flows": ("activities",),
    "acquisition": ("acquire", "acquired"),
    "acquisitions": ("acquire", "acquired"),
    # line-item tables abbreviate their columns
    "quantity": ("qty",),
    "quantities": ("qty",),
    "divestment": ("divest", "divested"),
    "divestments": ("divest", "divested"),
    # A superlative asks a statistics table's extreme column ("the tallest footballer" -> its "Maximum" cell).
    **{w: ("maximum", "max") for w in ("tallest", "highest", "largest", "greatest", "longest", "heaviest", "oldest",
                                        "biggest", "fastest")},
    **{w: ("minimum", "min") for w in ("shortest", "lowest", "smallest", "least", "youngest", "lightest",
                                        "slowest")},
}
_SHARE_RE = re.compile(
    r"\b(?:percentage|percent|proportion|portion|fraction|share)\s+of\s+(?:the\s+|its\s+|\w+'s\s+)?(?:total|overall)\b"
    r"|\b(?:what|which)\s+(?:percentage|percent|proportion|portion|fraction)\b"
    r"|\brelative\s+to\s+(?:the\s+|its\s+)?(?:total|overall)\b|\bas\s+a\s+(?:percentage|share)\s+of\b",
    re.IGNORECASE)
_COMPARE_RE = re.compile(
    r"\b(?:compare[sd]?|comparison)\s+(?:to|with|against)\b|\b(?:measure|stack)(?:s|ed)?\s+up\s+(?:against|to)\b"
    r"|\bversus\b|\bvs\.?\s", re.IGNORECASE)
_CHANGE_RE = re.compile(
    r"\bhow\s+much\s+did\s+.{1,60}?\b(?:increase|decrease|change|grow|decline|rise|fall)\b"
    r"|\b(?:change|increase|decrease|growth|decline)\s+(?:in|of)\b.{1,60}?\b(?:from|compared|versus|since|year[- ]over[- ]year)\b"
    r"|\bcompared\s+(?:to|with)\s+(?:the\s+)?(?:prior|previous|same|last|year[- ]ago)\b",
    re.IGNORECASE)
# Questions about causes, effects and narrative: a sentence answers them better than a table cell.
_WHY_RE = re.compile(
    r"\b(why|driv\w*|factors?|reasons?|affect\w*|impact\w*|effects?|caus\w*|contribut\w*|explain\w*|"
    r"suggest\w*|focus\w*|priorit\w*|risks?|proceedings?|changes?|announce\w*|details?)\b", re.IGNORECASE)
# "How much did X spend on R&D, and what were the priorities?": the figure comes first; the narrative
# clause after it must not turn the question into one a sentence answers.
_HOW_MUCH_RE = re.compile(r"\s*how\s+(?:much|many)\b", re.IGNORECASE)
# "in the first quarter of 2023", "first half": words of the period asked (the period signal's job), not of
# the line that answers; as content words they match a "First Quarter" row of a repurchase table.
_PERIOD_PHRASE_RE = re.compile(r"\b(?:first|second|third|fourth)\s+(?:fiscal\s+)?(?:quarter|half)\b", re.IGNORECASE)
# "..., and what were the priorities?" after a how-much clause: the figure is asked in the first clause.
_SECOND_CLAUSE_RE = re.compile(r",?\s+and\s+(?:what|which|how|why|where|who)\b.*$", re.IGNORECASE | re.DOTALL)
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
    return [stem(w) for w in WORD_RE.findall(text) if w.lower() not in _STOP and len(w) > 1]


def question_kind(question: str) -> QuestionKind:
    if _SHARE_RE.search(question):
        return "share"
    if _CHANGE_RE.search(question):
        return "change"
    if _COMPARE_RE.search(question):
        return "compare"
    if _WHY_RE.search(question) and not _HOW_MUCH_RE.match(question):
        return "narrative"
    return "amount"


def compared_parts(question: str) -> tuple[str, str]:
    """The two things a ``compare`` question sets side by side: the text before and after "compare to"."""
    m = _COMPARE_RE.search(question)
    if m is None:
        return question, ""
    return question[: m.start()], question[m.end():]


# British and American spellings of one word ("organisation" / "organization", "colour", "metre", "defence",
# "analyse"), as stems: a question written in one and a document in the other share the word.
_SPELLINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<=\w{3})is(?=(?:e|ed|a|at|ing)?$)"), "iz"), (re.compile(r"(?<=\w{3})iz(?=(?:e|ed|a|at|ing)?$)"), "is"),
    (re.compile(r"(?<=\w{2})our$"), "or"), (re.compile(r"(?<=\w{2}[^aeiou])or$"), "our"),
    (re.compile(r"(?<=\w{2})tre$"), "ter"), (re.compile(r"(?<=\w{2})ter$"), "tre"),
    (re.compile(r"(?<=\w{2})ence$"), "ense"), (re.compile(r"(?<=\w{2})ense$"), "ence"),
    (re.compile(r"yse$"), "yze"), (re.compile(r"yze$"), "yse"),
)


def spellings(term: str) -> set[str]:
    """``term`` (a stem) and its other English spelling, if it has one."""
    return {term} | {p.sub(r, term) for p, r in _SPELLINGS if p.search(term)}


def expansions_of(term: str) -> set[str]:
    syn = {stem(x) for phrase in SYNONYMS.get(term, ()) for x in phrase.split()}
    syn |= {stem(x) for k, v in SYNONYMS.items() if stem(k) == term for phrase in v for x in phrase.split()}
    return spellings(term) | syn


class Query(BaseModel):
    """A question's weighted words (rarer among the candidates = heavier), its kind and period."""

    weights: dict[str, float]
    expansions: dict[str, set[str]]
    kind: QuestionKind = "amount"
    asks_longer_period: bool = False
    asks_percent: bool = False
    period_phrase: str = Field(default="", description='the period the question names in words ("second quarter")')
    absent: list[str] = Field(default_factory=list, description="question words no candidate span contains")

    @property
    def asks_why(self) -> bool:
        return self.kind == "narrative"

    def coverage(self, words: set[str]) -> float:
        total = sum(self.weights.values()) or 1.0
        got = sum(w for t, w in self.weights.items() if words & self.expansions[t])
        return got / total

    def matches(self, word: str) -> bool:
        return any(word in e for e in self.expansions.values())

    def restricted(self, text: str) -> Query:
        """The same query over the words of ``text`` only (one side of a comparison), same weights."""
        keep = set(terms(text))
        weights = {t: w for t, w in self.weights.items() if t in keep}
        return self.model_copy(update={"weights": weights or self.weights})


# "Apple's ...", "did NVIDIA report", "has Intel disclosed": the company whose filing is asked about
# ("did Services contribute" names a segment: only a reporting verb after the name makes it the filer).
_FILER_RE = re.compile(
    r"\b([A-Z][A-Za-z&.]+)(?:'s|’s)\b"
    r"|\b(?:[Dd]id|[Dd]oes|[Hh]as|[Hh]ave)\s+([A-Z][A-Za-z&.]+)\s+(?:report|disclose|announce|make|undertake|reveal|"
    r"record|state|provide|allocate|spend|invest|mention|file)\w*\b")


def filer_words(question: str) -> set[str]:
    """Words that name the filer ("Apple's", "did Amazon"): they tell which filing (retrieval's job), not
    which line of it answers, and a sentence that names the company is no better an answer for that."""
    return {stem(w) for m in _FILER_RE.finditer(question) for w in m.groups() if w}


def _asked_words(question: str) -> str:
    """The part of the question whose words name the line asked for: without its period phrase, and for a
    how-much question without a narrative clause that follows ("..., and what were the priorities?")."""
    text = _PERIOD_PHRASE_RE.sub(" ", question)
    if _HOW_MUCH_RE.match(text):
        text = _SECOND_CLAUSE_RE.sub("", text)
    return text


def build_query(question: str, documents: Iterable[set[str]]) -> Query:
    """Weights from each question word's rarity among ``documents`` (the candidates' word sets)."""
    filer = filer_words(question)
    asked = terms(_asked_words(question)) or terms(question)
    q_terms = [t for t in dict.fromkeys(asked) if t not in filer] or list(dict.fromkeys(asked))
    df: Counter[str] = Counter()
    n = 0
    for words in documents:
        df.update(words)
        n += 1
    n = max(1, n)
    expansions: dict[str, set[str]] = {}
    weights: dict[str, float] = {}
    absent: list[str] = []
    for t in q_terms:
        expansions[t] = expansions_of(t)
        seen = max(df[x] for x in expansions[t])
        weights[t] = math.log(1 + n / (1 + seen)) if seen else 0.0
        if not seen:
            absent.append(t)
    return Query(weights=weights, expansions=expansions, kind=question_kind(question), absent=absent,
                 asks_longer_period=bool(_SIX_NINE_RE.search(question)),
                 asks_percent=bool(re.search(r"%|\bpercent|\brate\b|\bratio\b", question, re.IGNORECASE)),
                 period_phrase=" ".join(m.group(0).lower().split()) if (m := _PERIOD_PHRASE_RE.search(question)) else "")


__all__ = ["SYNONYMS", "WORD_RE", "Query", "QuestionKind", "build_query", "compared_parts", "expansions_of", "filer_words",
           "question_kind",
           "stem", "terms"]
