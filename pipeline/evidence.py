"""Finding a model's verbatim quote in the source text, and where it sits (page, bbox).

Matching is done on a normalised form (case-folded, quotes/dashes/spaces unified, whitespace
collapsed) so that a quote copied across a PDF line break still matches; then with all spaces
removed (PDF text often splits ``August 3 , 2014`` or ``# BLR_...``); then fuzzily, scoring the
best window found by rapidfuzz (Indel similarity, difflib's ratio computed in C). Each normalised character
keeps the index of the element it came from, which gives the page and box of the match.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pipeline.document import BBox, Document, Element, ElementKind
from pipeline.values import QUOTE_MAP

_IGNORED = set("|`*_#>")  # markdown punctuation a model may drop or add around table cells
_DIGITS_RE = re.compile(r"\d+")


def render_element(el: Element) -> str:
    """The text of an element as shown to the model (tables as markdown, so cells stay apart)."""
    if el.kind is ElementKind.TABLE and el.table is not None:
        return el.table.to_markdown()
    return el.text


def _norm_chars(text: str, *, keep_spaces: bool) -> tuple[str, list[int]]:
    """Normalised text and, for each output char, the index of the input char it came from."""
    out: list[str] = []
    src: list[int] = []
    prev_space = True
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).translate(QUOTE_MAP).casefold():
            if c.isspace() or c in _IGNORED:
                if keep_spaces and not prev_space:
                    out.append(" ")
                    src.append(i)
                prev_space = True
                continue
            out.append(c)
            src.append(i)
            prev_space = False
    while out and out[-1] == " ":
        out.pop()
        src.pop()
    return "".join(out), src


@dataclass(frozen=True)
class QuoteMatch:
    score: float  # 1.0 exact (after normalisation), else the Indel similarity of the best window
    start: int  # offsets into SourceText.text
    end: int
    page: int | None
    bbox: BBox | None
    element_indices: tuple[int, ...]

    @property
    def exact(self) -> bool:
        return self.score >= 0.999


class SourceText:
    """Searchable text of a list of elements (a whole Document, or the part given to a model)."""

    def __init__(self, elements: list[Element], separator: str = "\n") -> None:
        self.elements = elements
        parts: list[str] = []
        owner: list[int] = []
        for idx, el in enumerate(elements):
            t = render_element(el)
            if parts:
                parts.append(separator)
                owner.extend([-1] * len(separator))
            parts.append(t)
            owner.extend([idx] * len(t))
        self.text = "".join(parts)
        self._owner = owner
        self._spaced, self._spaced_src = _norm_chars(self.text, keep_spaces=True)
        self._dense, self._dense_src = _norm_chars(self.text, keep_spaces=False)

    @classmethod
    def of_document(cls, doc: Document) -> "SourceText":
        # Furniture included: invoice numbers and dates often live in running headers.
        return cls([e for e in doc.elements if e.text.strip() or e.table is not None])

    @classmethod
    def of_text(cls, text: str, page: int = 1) -> "SourceText":
        return cls([Element(kind=ElementKind.PARAGRAPH, text=text, page=page)])

    def contains_normalized(self, fragment: str) -> bool:
        """Whether ``fragment`` occurs, ignoring case, whitespace and markdown punctuation."""
        dense, _ = _norm_chars(fragment, keep_spaces=False)
        return bool(dense) and dense in self._dense

    def find(self, quote: str, *, min_score: float = 0.85) -> QuoteMatch | None:
        """Best location of ``quote``; None when nothing scores at least ``min_score``."""
        q_spaced, _ = _norm_chars(quote, keep_spaces=True)
        if not q_spaced:
            return None
        pos = self._spaced.find(q_spaced)
        if pos >= 0:
            return self._match(1.0, self._spaced_src[pos], self._spaced_src[pos + len(q_spaced) - 1] + 1)
        q_dense, _ = _norm_chars(quote, keep_spaces=False)
        pos = self._dense.find(q_dense)
        if pos >= 0:
            return self._match(1.0, self._dense_src[pos], self._dense_src[pos + len(q_dense) - 1] + 1)
        if min_score >= 1.0:  # only an exact match scores 1.0, and both exact searches found none
            return None
        return self._fuzzy(q_dense, min_score)

    def _fuzzy(self, q: str, min_score: float) -> QuoteMatch | None:
        from rapidfuzz import fuzz

        doc = self._dense
        if not doc or len(q) < 4:
            return None
        # rapidfuzz (C) finds the window of the document most like the quote (Indel similarity, the measure
        # difflib's ratio computes); a little below the threshold still qualifies, as the widened windows
        # tried next may score higher.
        found = fuzz.partial_ratio_alignment(q, doc, score_cutoff=max(0.0, min_score * 100 - 10))
        if found is None:
            return None
        start0, end0 = found.dest_start, found.dest_end
        best = (fuzz.ratio(doc[start0:end0], q) / 100, start0, end0)
        slack = max(2, len(q) // 8)
        step = max(1, slack // 4)
        for ds in range(-slack, slack + 1, step):
            for de in range(-slack, slack + 1, step):
                s = max(0, start0 + ds)
                e = min(len(doc), end0 + de)
                if e - s < 1:
                    continue
                r = fuzz.ratio(doc[s:e], q) / 100
                if r > best[0]:
                    best = (r, s, e)
        score, s, e = best
        if score < min_score:
            return None
        # A near-miss on letters is a copying slip; a near-miss on digits is a different value
        # ("Total 1.153,79" is not "Total 1.234,56"): every number of the quote must be in the span.
        window = doc[max(0, s - 2) : e + 2]
        if any(run not in window for run in _DIGITS_RE.findall(q)):
            return None
        return self._match(round(score, 4), self._dense_src[s], self._dense_src[e - 1] + 1)

    def _match(self, score: float, start: int, end: int) -> QuoteMatch:
        idxs = sorted({self._owner[i] for i in range(start, min(end, len(self._owner))) if self._owner[i] >= 0})
        page: int | None = None
        bbox: BBox | None = None
        if idxs:
            first = self.elements[idxs[0]]
            page = first.page
            boxes = [self.elements[i].bbox for i in idxs if self.elements[i].page == page]
            boxes_nn = [b for b in boxes if b is not None]
            if boxes_nn:
                bbox = BBox(
                    x0=min(b.x0 for b in boxes_nn),
                    y0=min(b.y0 for b in boxes_nn),
                    x1=max(b.x1 for b in boxes_nn),
                    y1=max(b.y1 for b in boxes_nn),
                )
        return QuoteMatch(score, start, end, page, bbox, tuple(idxs))


__all__ = ["QuoteMatch", "SourceText", "render_element"]
