"""Which part of a long document the model is shown.

A document that fits the context budget is shown whole. A longer one is cut into passages, and
the passages that best match the fields' names and descriptions (plain lexical scoring on word
stems) are packed into the budget, in document order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pipeline.document import Element
from pipeline.evidence import render_element

_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)

# Words that label a value of each kind on most documents, whatever the field is called.
KIND_HINT_WORDS: dict[str, list[str]] = {
    "amount": ["total", "amount", "sum", "due", "balance"],
    "date": ["date", "dated", "datum", "fecha"],
    "currency": ["currency", "usd", "eur", "$", "€"],
}


def word_stems(text: str) -> set[str]:
    """The first five letters of every word of ``text`` (case-folded): crude stems, language-agnostic."""
    return {w[:5] for w in _WORD_RE.findall(text.casefold()) if len(w) > 1}


def _passages(elements: list[Element], size: int) -> list[list[int]]:
    """Element indices cut into runs of about ``size`` characters, never across a page break."""
    out: list[list[int]] = []
    cur: list[int] = []
    n = 0
    for i, el in enumerate(elements):
        t = len(render_element(el))
        if cur and (n + t > size or el.page != elements[cur[-1]].page):
            out.append(cur)
            cur, n = [], 0
        cur.append(i)
        n += t + 1
    if cur:
        out.append(cur)
    return out


def _rank_passages(stems: list[set[str]], fields: Mapping[str, tuple[str, str]]) -> list[list[int]]:
    """Per field, the passages sharing stems with it, best first (ties: earlier passage first)."""
    rankings: list[list[int]] = []
    for name, (kind, desc) in fields.items():
        q = word_stems(name.replace("_", " ") + " " + desc + " " + " ".join(KIND_HINT_WORDS.get(kind, [])))
        scored = sorted(((len(q & s), -j) for j, s in enumerate(stems)), reverse=True)
        rankings.append([-neg_j for score, neg_j in scored if score > 0])
    return rankings


def _pick_in_turns(rankings: list[list[int]], sizes: list[int], budget_chars: int) -> tuple[list[int], int]:
    """Passage 0, then each field's next best passage in turn while it fits; the chosen ones and their size."""
    chosen: list[int] = [0]
    used = sizes[0] + 1
    progress = True
    while progress:
        progress = False
        for ranking in rankings:
            while ranking and ranking[0] in chosen:
                ranking.pop(0)
            if not ranking:
                continue
            j = ranking.pop(0)
            if used + sizes[j] + 1 <= budget_chars:
                chosen.append(j)
                used += sizes[j] + 1
                progress = True
    return chosen, used


def _head_within(elements: list[Element], first_passage: list[int], budget_chars: int) -> list[int]:
    """The first elements of the first passage that fit the budget (at least one)."""
    keep: list[int] = []
    used = 0
    for i in first_passage:
        t = len(render_element(elements[i])) + 1
        if used + t > budget_chars and keep:
            break
        keep.append(i)
        used += t
    return keep


def select_context(
    elements: list[Element],
    fields: Mapping[str, tuple[str, str]],
    budget_chars: int,
    passage_chars: int = 900,
) -> list[Element]:
    """Elements to show the model: all if they fit, else the best passages per field, in document order.

    ``fields`` maps name -> (kind, description). Passages are ranked per field by overlap of
    word stems with the field's name, description and generic hints for its kind; fields take
    turns picking their next best passage until the budget is full. The first passage is always
    kept (titles, numbers and dates of documents live at the top).
    """
    total = sum(len(render_element(e)) + 1 for e in elements)
    if total <= budget_chars:
        return elements
    passages = _passages(elements, passage_chars)
    texts = ["\n".join(render_element(elements[i]) for i in p) for p in passages]
    rankings = _rank_passages([word_stems(t) for t in texts], fields)
    chosen, used = _pick_in_turns(rankings, [len(t) for t in texts], budget_chars)
    if used > budget_chars:  # the first passage alone overflows: trim it to its first elements
        keep = _head_within(elements, passages[0], budget_chars)
    else:
        keep = sorted(i for j in sorted(chosen) for i in passages[j])
    return [elements[i] for i in keep]


__all__ = ["KIND_HINT_WORDS", "select_context", "word_stems"]
