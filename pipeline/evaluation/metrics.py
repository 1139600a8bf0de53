"""Text-similarity metrics used by the evaluations (pure Python, no heavy imports)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_WORD_RE = re.compile(r"\w+", re.UNICODE)
_MD_HEADING_RE = re.compile(r"^\s*(#{1,6})\s+(.*?)\s*$", re.MULTILINE)


_MD_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")


def tokens(text: str) -> list[str]:
    # Markdown escapes (docling writes "\_" for "_") are syntax, not content.
    text = _MD_ESCAPE_RE.sub(r"\1", unicodedata.normalize("NFKC", text)).lower()
    return _WORD_RE.findall(text)


def _f1(pred: Counter[object], gold: Counter[object]) -> tuple[float, float, float]:
    if not pred and not gold:
        return 1.0, 1.0, 1.0
    overlap = sum((pred & gold).values())
    p = overlap / sum(pred.values()) if pred else 0.0
    r = overlap / sum(gold.values()) if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def token_prf(pred: str, gold: str) -> tuple[float, float, float]:
    """Bag-of-words precision, recall and F1."""
    return _f1(Counter(tokens(pred)), Counter(tokens(gold)))


def ngram_prf(pred: str, gold: str, n: int = 4) -> tuple[float, float, float]:
    """Precision/recall/F1 over word n-grams: sensitive to reading order, unlike bag-of-words."""
    tp, tg = tokens(pred), tokens(gold)
    cp = Counter(tuple(tp[i : i + n]) for i in range(len(tp) - n + 1))
    cg = Counter(tuple(tg[i : i + n]) for i in range(len(tg) - n + 1))
    return _f1(cp, cg)  # type: ignore[arg-type]


def norm_heading(text: str) -> str:
    return " ".join(tokens(text))


def markdown_headings(md: str) -> list[str]:
    return [norm_heading(m.group(2)) for m in _MD_HEADING_RE.finditer(md) if norm_heading(m.group(2))]


def heading_recall(pred_md: str, gold_md: str) -> tuple[float, int, int]:
    """Share of gold headings that appear as a heading in ``pred_md`` (normalised text match;
    a predicted heading that contains the gold one, or the reverse, also counts)."""
    gold = markdown_headings(gold_md)
    if not gold:
        return 1.0, 0, 0
    pred = markdown_headings(pred_md)
    pred_set = set(pred)
    hit = 0
    for g in gold:
        if g in pred_set or any((g in p or p in g) and min(len(p), len(g)) >= 4 for p in pred):
            hit += 1
    return hit / len(gold), hit, len(gold)
