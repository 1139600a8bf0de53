"""Whether the span chosen for a question answers it, or only shares a word with it: the basis of "not found".

Two checks, both rules over what the question and the span say:

* **fit**: the share of the question's weight that the span and its place (a cell's row, group and column, a
  sentence, the section, the chunk's headings and document context) cover. Each question word weighs its
  rarity among the retrieved spans; a word that *no* retrieved span contains weighs as much as the rarest
  one: the documents do not speak of it ("capital", "France" over a set of filings), which is the best
  sign that the answer is not there. Words naming the filer ("Apple's") are left out, as in ranking, and so
  are the other names the question spells with capitals ("ACME Technical Publishing", "Data Center") when it
  asks anything besides them: a name says *which* document or line, the rest *what* of it ("How many
  employees does ACME have?" is not answered by a sentence that names ACME).
* **unknown names**: a name the question spells with capitals that no retrieved text prints ("Bitcoin",
  "Antarctica") makes the fit 0: the documents do not speak of it, whatever else the span shares.
* **type**: a who-question needs a name in the span, a when-question a date or a year, a how-much or
  how-many question a number.

An answer needs ``fit >= QAOptions.min_fit`` and the type; otherwise the result is "not found", with the
closest passages as "see also". ``min_fit`` is calibrated on questions with and without an answer
(``bench/calibrate_abstention.py``, figures in docs/retrieval.md).
"""

from __future__ import annotations

import re

from pipeline.protocols import SearchHit
from pipeline.qa._definitions import defined_term
from pipeline.qa._entities import NAME_LABELS, entity_labels
from pipeline.qa._span_query import WORD_RE, Query, terms
from pipeline.qa._spans import Span

# "What is the name of the driver file?" asks a name, not a person's: not a who-question.
_WHO_RE = re.compile(r"^\s*(?:who|whom|whose)\b|\bwho (?:is|was|are|were)\b", re.I)
_WHEN_RE = re.compile(r"^\s*when\b|\b(?:what|which) (?:date|day|year|month)\b|\bon what date\b", re.I)
# How long / far / often, at what rate: a quantity with its unit ("ten years", "5000 Hz", "a 136-page draft").
_MEASURE_Q_RE = re.compile(r"\bhow (?:long|far|large|big|high|tall|heavy|old|often|fast|wide|deep)\b|\bat what "
                           r"(?:\w+ )?(?:rate|speed|frequency)\b|\bwhat (?:size|length|duration|weight|frequency)\b", re.I)
_COUNT_RE = re.compile(r"\bhow (?:much|many)\b|\bwhat (?:percentage|share|"
                       r"proportion|portion|fraction|amount|number|value|rate|price|total)\b"
                       # a statistic is a number: "what was the mean age", "the average duration"
                       r"|\b(?:the|an?)\s+(?:mean|average|median)\s+(?!of\b)\w+", re.I)
# "how many entry types do ...", "how many people took part": the counted noun phrase, up to its verb.
_HOW_MANY_RE = re.compile(r"\bhow many ((?:[\w-]+ ){0,2}?[\w-]+?)(?= (?:do|does|did|are|is|were|was|have|has|had|"
                          r"can|could|may|might|will|would|should|must|took|take|make|made|appear|exist|there)\b|\W*$|\?)",
                          re.I)
_NAME_RE = re.compile(r"\b[A-Z][a-z]+(?:[ -](?:[A-Z]\.|[A-Z][a-z]+|van|von|de|da|di|le|la)){1,3}\b")
# A date as printed, whole: "13rd October 1999", "October 28, 1998", "2026-02-28", "Oct 2002", "1998".
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
# "Which version of Objective Caml does it require?": a release number answers it, not a date or a sentence.
_VERSION_Q_RE = re.compile(r"\b(?:which|what)\s+(?:[\w-]+\s+)?(?:version|release)s?\b", re.I)
_VERSION_RE = re.compile(r"(?<![\d.])\d+(?:\.\d+)+[a-z]?\b|\bv\d+\b|\b(?:version|release)\s+\d+(?![.\d])", re.I)
# "Which country's law governs it?", "In which city ...": a place's name answers it.
_PLACE_Q_RE = re.compile(r"\b(?:which|what)\s+(?:countr(?:y|ies)|cit(?:y|ies)|nations?|provinces?)"
                         r"(?:'s|’s)?\b|\bin what (?:country|city)\b", re.I)
_PLACE_LABELS = frozenset({"GPE", "LOC", "NORP"})
_ADDRESS_RE = re.compile(r"/|\bwww\b|\w\.\w|@")
# "... time in seconds", "... in kilograms": the question names the unit its figure is printed in.
_UNIT_SPELLINGS = {"second": r"s|sec|secs|seconds?", "minute": r"min|mins|minutes?", "hour": r"h|hrs?|hours?",
                   "day": r"days?", "week": r"weeks?", "month": r"months?", "year": r"years?|yrs?",
                   "metre": r"m|metres?|meters?", "meter": r"m|metres?|meters?", "kilometre": r"km|kilometres?",
                   "kilometer": r"km|kilometers?", "kilogram": r"kg|kilograms?", "gram": r"g|grams?",
                   "byte": r"[kKMGT]?B|bytes?", "bit": r"bits?", "percent": r"%|percent|per cent"}
_ASKED_UNIT_RE = re.compile(r"\bin\s+(" + "|".join(f"{u}s" if u != "percent" else u for u in _UNIT_SPELLINGS)
                            + r")\b", re.I)
# A yes/no question is decided by a sentence that states its rule either way: "Naks are always unicast", "They will
# NOT be returned", "is not restricted".
YES_NO_RE = re.compile(r"^\s*(?:is|are|was|were|does|do|did|can|could|will|would|should|shall|has|have|had|may|must)\b",
                        re.IGNORECASE)
POLARITY_RE = re.compile(r"\b(?:not|no|never|always|only|cannot|neither|nor|must|none)\b|n't\b", re.IGNORECASE)
_NUMBERED_PART_RE = re.compile(r"\b(?:fig(?:ure)?|table|section|chapter|page|appendix|step|item|no|eq(?:uation)?|"
                               r"rule|clause|part|article|slide)\.?\s*\d[\d.]*", re.I)
_ARTICLE_RE = re.compile(r"^(?:the|a|an)\s+", re.I)
_CITATION_RE = re.compile(r"\b(?!(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b)([A-Z][a-z]+(?:\s+(?:and|&)\s+[A-Z][a-z]+)?)(?:\s+et\s+al\.?)?,?\s+\(?(?:1[89]|20)\d\d[a-z]?\)")
_WHOLE_DATE_RE = re.compile(r"\b\d{1,2}(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+\d{4}\b|\b" + _MONTH
                            + r"\s+(?:\d{1,2}(?:st|nd|rd|th)?,?\s+)?\d{4}\b|\b\d{4}-\d\d-\d\d\b|\b(?:1[89]|20)\d\d\b",
                            re.I)
_DATE_RE = re.compile(r"\b(?:1[89]|20)\d\d\b|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b")
# A number printed as a word counts too ("thirteen entry types", "for ten years", "Eight participants").
_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
                 r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|"
                 r"dozen|single|twice")
_NUMBER_RE = re.compile(r"\d|\b(?:" + _NUMBER_WORDS + r")\b", re.I)
_UNITS = (r"years?|months?|weeks?|days?|hours?|minutes?|seconds?|ms|[kMG]?Hz|[kKMGT]B|bytes?|bits?|pages?|lines?|"
          r"[mck]?m|kg|mg|g|°C|%|percent|times|[kMG]?W|V|mA")
MEASURE_RE = re.compile(r"(?:\d[\d,.]*|\b(?:" + _NUMBER_WORDS + r"))(?:\s*[-–]\s*\d[\d,.]*)?[\s-]?(?:" + _UNITS
                        + r")(?![A-Za-z])"
                        # how often: "once a month", "three times per year", "every 12 hours", "weekly"
                        r"|\b(?:once|twice|\w+ times)\s+(?:a|an|per|every|each)\s+(?:year|month|week|day|hour)"
                        r"|\bevery\s+(?:\d+|\w+)?\s*(?:years?|months?|weeks?|days?|hours?)\b"
                        r"|\b(?:daily|weekly|monthly|yearly|annually|hourly|quarterly)\b", re.I)
_COUNTED_RE = re.compile(r"(?:\d[\d,.]*|\b(?:" + _NUMBER_WORDS + r"))\b((?:\W+[\w’'-]+){1,3})", re.I)


def answer_type(question: str) -> str:
    """``person``, ``date``, ``version``, ``place`` (a country, a city), ``measure`` (a quantity with its unit),
    ``number`` or ``any`` (what the question's form asks for)."""
    if _WHO_RE.search(question):
        return "person"
    if _VERSION_Q_RE.search(question):
        return "version"
    if _PLACE_Q_RE.search(question):
        return "place"
    if _WHEN_RE.search(question):
        return "date"
    if _MEASURE_Q_RE.search(question) or _ASKED_UNIT_RE.search(question):  # "how long", "the time in seconds"
        return "measure"
    if _COUNT_RE.search(question):
        return "number"
    return "any"


def counts_what_is_asked(text: str, question: str) -> bool:
    """For "how many X": ``text`` prints a number followed within three words by X ("thirteen entry types",
    "up to three copies"), not a number of something else ("chapter 13")."""
    m = _HOW_MANY_RE.search(question)
    if m is None:
        return False
    counted = set(terms(m.group(1)))
    text = _NUMBERED_PART_RE.sub(" ", text)  # "Figure 1 plots the transistor count": a figure's number counts nothing
    return bool(counted) and any(counted & set(terms(g.group(1))) for g in _COUNTED_RE.finditer(text))


_NEAR_WORDS = 2


def value_of_what_is_asked(text: str, question: str) -> bool:
    """For a when / how-long question: ``text`` prints the asked kind of value (a date; a quantity with its unit)
    within two words of a word of the question, its event or subject ("Accepted: April 30, 2009" for "when was
    the article accepted", "its own 136-page draft specification" for "how long is the draft specification"),
    not in a reference list or beside another thing ("devotes almost 20 pages to documenting")."""
    kind = answer_type(question)
    pattern = {"date": _WHOLE_DATE_RE, "measure": MEASURE_RE}.get(kind)
    asked = set(terms(question)) - _TYPE_NOUNS["date"]  # "what date", "which year": the kind, not the event
    values = list(pattern.finditer(text)) if pattern is not None else []
    if not asked or not values:
        return False
    words = [(m.start(), m.end(), t) for m in WORD_RE.finditer(text) if (t := terms(m.group(0)))]
    near = [i for i, (_, _, t) in enumerate(words) if t[0] in asked]
    for v in values:
        at = [i for i, (a, b, _) in enumerate(words) if a < v.end() and b > v.start()] or \
             [sum(1 for a, _, _ in words if a < v.start())]
        if any(abs(i - j) <= _NEAR_WORDS for i in near for j in (at[0], at[-1])):
            return True
    return False


def _span_text(s: Span) -> str:
    return s.value if s.kind == "cell" else s.quote


def type_fits(s: Span, question: str) -> bool:
    kind = answer_type(question)
    text = _span_text(s)
    if kind == "person":
        asked = set(terms(question))
        tagged = entity_labels(text)
        if tagged is not None:  # spaCy's names of people and organisations; else capitalised words
            # an organisation of one capitalised token ("DVIPDFM", "LaTeX") is as often a product as a body
            # and a name is capitalised: the small model also tags lower-case words ("piña colada sorbet")
            # (its leading article aside: "the University of Tuebingen" is a name).
            named = [(label, _ARTICLE_RE.sub("", t)) for label, t in tagged]
            names = [t for label, t in named if (label == "PERSON" or (label in NAME_LABELS and " " in t))
                     and t[:1].isupper()]
        else:
            names = [m.group(0) for m in _NAME_RE.finditer(text)]
        # An author-year citation names a person however the tagger labels it: "(Charniak, 2000)", "Smith et al. 2019".
        names += [m.group(1) for m in _CITATION_RE.finditer(text)]
        return any(not set(terms(n)) <= asked for n in names)
    if kind == "place":  # a country's or a city's name the question does not print ("England", not "law")
        tagged = entity_labels(text)
        if tagged is None:
            return True
        asked = set(terms(question))
        # the small tagger also calls a web address a place ("https://www.latex-project.org/lppl.txt")
        return any(label in _PLACE_LABELS and not _ADDRESS_RE.search(t) and not set(terms(t)) <= asked
                   for label, t in tagged)
    if kind == "version":  # a release number other than the ones the question names ("1.04" asks of "3.07")
        return any(m.group(0) not in question for m in _VERSION_RE.finditer(text))
    if kind == "date":
        return bool(_DATE_RE.search(text) or (s.kind == "cell" and _DATE_RE.search(s.column)))
    if kind == "number":
        # a date is no count: "13rd October 1999" does not answer "how many people attended"
        if not _NUMBER_RE.search(_WHOLE_DATE_RE.sub(" ", text)):
            return False
        # "How many transistors": a sentence answers with a number of transistors, not with "15 years ago" or
        # "Moore's Law ... [36]"; a table cell's figure is a number of its row's thing ("AVX-512: 129").
        return s.kind == "cell" or _HOW_MANY_RE.search(question) is None or counts_what_is_asked(text, question)
    if kind == "measure":
        unit = _ASKED_UNIT_RE.search(question)
        if unit:  # "the mean sprint time in seconds": a figure in seconds, not "repeated 10 times"
            spelled = _UNIT_SPELLINGS[unit.group(1).lower().rstrip("s")]
            if s.kind == "cell":  # a cell's unit is printed in its row or column label: "Age (years) | 18.00"
                return bool(re.search(r"(?<![A-Za-z])(?:" + spelled + r")(?![A-Za-z])", f"{s.label} {s.column}", re.I))
            return bool(re.search(r"\d\s?(?:" + spelled + r")(?![A-Za-z])", text, re.I))
        return bool(MEASURE_RE.search(text))
    return True


def _place_words(s: Span, hit: SearchHit | None) -> set[str]:
    words = set(terms(f"{s.label} {s.column} {s.section}")) if s.kind == "cell" else set(terms(f"{s.label} {s.quote} {s.section}"))
    if hit is not None:
        ctx = hit.metadata.get("context")
        words |= set(terms(" ".join(hit.heading_path) + " " + (ctx if isinstance(ctx, str) else "")))
    return words


# The noun a question names its answer's type by ("what date", "which year", "the name of", "how many times"):
# a span of that type answers it without printing the noun ("February 8, 1988" for "What date is printed?").
_TYPE_NOUNS: dict[str, frozenset[str]] = {
    "date": frozenset({"date", "day", "year", "month", "time", "when"}),
    "person": frozenset({"name"}),  # not "author": "the author of the photographs" is what is asked about
    "number": frozenset({"time", "count", "size", "length", "value"}),
    "measure": frozenset({"long", "time", "size", "length", "duration", "rate", "frequen", "often", "far"}),
    "version": frozenset({"version", "release"}),
}
_DEFINITION_WORDS = frozenset({"define", "defined", "definit", "mean", "meaning", "stand", "refer", "abbrevi",
                               "acronym", "term"})
_INTERROGATIVES = frozenset({"when", "where", "whom", "whose", "who", "what", "which", "why", "how", "whether"})
_NAME_WORD_RE = re.compile(r"(?<!^)(?<![.?!]\s)\b(?:[A-Z][a-z]+|[A-Z]{2,}[a-z]?)\b")


def name_terms(question: str) -> set[str]:
    """Terms of the words the question writes with capitals, its first word aside (names, not what is asked)."""
    words = " ".join(m.group(0) for m in _NAME_WORD_RE.finditer(question.strip()))
    return set(terms(words))


def _unknown_names(question: str, q: Query, hits: list[SearchHit] | None) -> set[str]:
    """Names the question spells with capitals ("Bitcoin", "France", "Antarctica") that no retrieved span, heading
    or document context prints: the question is about something these documents do not speak of."""
    missing = name_terms(question) & set(q.absent)
    if missing and hits:
        seen = set(terms(" ".join(" ".join(h.heading_path) + " " + str(h.metadata.get("context") or "") for h in hits)))
        missing -= seen
    return missing


def answer_fit(s: Span, q: Query, hits: list[SearchHit] | None, question: str = "") -> float:
    """The share of the question the span covers (0-1), a word absent from every retrieved span counting in
    full against it (see the module docstring)."""
    if question and _unknown_names(question, q, hits):
        return 0.0
    # How the question asks ("when", "where") is its answer type, not a word the answer must repeat.
    weights = {t: w for t, w in q.weights.items() if t not in _INTERROGATIVES}
    if question and defined_term(question):  # "define", "mean", "stand for": how a definition is asked
        weights = {t: w for t, w in weights.items() if t not in _DEFINITION_WORDS} or weights
    # A name the documents never print stays: it says the question is about something else ("Jupiter").
    names = (name_terms(question) - set(q.absent)) if question else set()
    if any(t not in names for t in weights):
        weights = {t: w for t, w in weights.items() if t not in names}
    if not weights:
        return 0.0
    heaviest = max([w for w in weights.values() if w > 0] or [1.0])
    for t in q.absent:
        if t in weights:
            weights[t] = heaviest
    hit = hits[s.hit] if hits and s.hit < len(hits) else None
    words = _place_words(s, hit)
    if question and type_fits(s, question):
        words |= _TYPE_NOUNS.get(answer_type(question), frozenset())
    total = sum(weights.values()) or 1.0
    got = sum(w for t, w in weights.items() if words & q.expansions.get(t, {t}))
    return round(got / total, 4)


__all__ = ["MEASURE_RE", "POLARITY_RE", "YES_NO_RE", "answer_fit", "answer_type", "counts_what_is_asked", "type_fits",
           "value_of_what_is_asked"]
