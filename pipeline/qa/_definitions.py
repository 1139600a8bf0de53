"""Definition questions ("What is an SGX enclave?", "What does TBI mean?", "How does the licence define a Base
Interpreter?") and the spans that define their term.

A definition is printed in a few ways across documents of every kind, and these are what a span is checked for:
the term at the start followed by what it is (a glossary line "NID National Identifier", "An enclave is ...",
"Base Interpreter: a program ..."), the term then a defining verb ("X means", "X refers to", "X is a"), an
abbreviation in parentheses after its expansion ("Traumatic Brain Injury (TBI)"), and a term introduced by "i.e.",
"called" or "known as". A span that only mentions the term is weaker evidence; one that does not is no definition.
"""

from __future__ import annotations

import re
from functools import lru_cache

_ARTICLE = r"(?:(?:a|an|the)\s+)?"
_QUESTIONS = [
    re.compile(r"^\s*what\s+(?:is|are)\s+meant\s+by\s+" + _ARTICLE + r"(?P<t>.+?)\s*(?:\?|$)", re.I),
    re.compile(r"\bwhat\s+(?:does|do)\s+(?:the\s+(?:abbreviation|acronym|term|word|expression|code)\s+)?(?P<t>.+?)\s+"
               r"(?:mean|stand\s+for|refer\s+to|denote)\b", re.I),
    re.compile(r"\bhow\s+(?:does|do|is|are)\s+.+?\s+defin(?:e|ed)\s+" + _ARTICLE + r"(?P<t>.+?)\s*(?:\?|$)", re.I),
    re.compile(r"\b(?:define|definition\s+of)\s+" + _ARTICLE + r"(?P<t>.+?)\s*(?:\?|$)", re.I),
    re.compile(r"^\s*what\s+(?:is|are)\s+" + _ARTICLE + r"(?P<t>[^?,]+?)\s*(?:,|\?|$|\s+(?:in|according\s+to|as\s+"
               r"(?:described|defined|used)|under|for|within)\s)", re.I),
]
# "What is the name of ...", "What is the maximum ...": a question about a value of something, not a definition.
_NOT_A_TERM = re.compile(r"\bof\b|^(?:name|number|date|year|amount|price|cost|size|value|total|maximum|minimum|"
                         r"default|purpose|role|difference|reason|result|status|current|main|first|last)\b", re.I)


@lru_cache(maxsize=1024)
def defined_term(question: str) -> str | None:
    """The term a definition question asks about ("SGX enclave", "TBI"), else None."""
    for pattern in _QUESTIONS:
        m = pattern.search(question)
        if m:
            term = " ".join(m.group("t").strip(" '\"‘’“”").split())
            if term and len(term.split()) <= 5 and not _NOT_A_TERM.search(term):
                return term
            return None
    return None


_ARTICLES = frozenset({"a", "an", "the"})
_ANY_ARTICLE = r"(?:a|an|the)"
_PREPOSITIONS = frozenset({"of", "in", "on", "for", "to", "with", "by", "from", "at"})


@lru_cache(maxsize=1024)
def _patterns(term: str) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    words = term.split()
    # An article inside the term is any article: "forcing a promise" is defined as "... is called forcing the promise".
    spelled = r"\s+".join(_ANY_ARTICLE if w.lower() in _ARTICLES else re.escape(w) for w in words)
    # "SGX enclave" is defined as "An enclave is ...": the full term, or its last word (the head noun) when the term
    # is a compound of nouns; "forcing a promise" is not defined by "A promise is ..." (its last word is an object).
    compound = not any(w.lower() in _ARTICLES or w.lower() in _PREPOSITIONS for w in words)
    names = [spelled] + ([re.escape(words[-1])] if compound and len(words) > 1 and len(words[-1]) > 3 else [])
    t = "(?:" + "|".join(names) + ")"
    defining = re.compile(
        # the term may stand in quotes ("“Application Day” means"); a "(" opens an expansion, not "(2)"
        r"^\W*" + _ARTICLE + t + r"\b[\"”’']?\s*(?:[:—–=]|\s-\s|is\b|are\b|means\b|refers\b|denotes\b|stands\b"
        r"|represents\b|describes\b|\((?=[A-Za-z])|,\s*(?:a|an|the)\b"
        r"|(?=\s+(?-i:[A-Z])))"
        r"|\b" + t + r"[\"”’']?\s+(?:is|are)\s+(?:an?|the|defined|used)\b|\b" + t
        + r"[\"”’']?\s+(?:means|refers\s+to|denotes|stands\s+for)\b"
        r"|\(\s*" + t + r"\s*\)|\b(?:i\.e\.,?|called|known\s+as|termed)\s+(?:the\s+)?" + t + r"\b",
        re.I)
    glossary = re.compile(r"^\W*" + re.escape(term) + r"\s+[A-Z]")  # "NID National Identifier", case kept
    mention = re.compile(r"\b" + t + r"\b", re.I)
    return defining, glossary, mention


def definition_strength(term: str, text: str) -> float:
    """1.0 when ``text`` defines ``term`` (see the module docstring), 0.3 when it only mentions it, else 0."""
    defining, glossary, mention = _patterns(term)
    if glossary.search(text) or defining.search(text):
        return 1.0
    return 0.3 if mention.search(text) else 0.0


__all__ = ["defined_term", "definition_strength"]
