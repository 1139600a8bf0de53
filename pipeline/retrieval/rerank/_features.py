"""Second retrieval stage: rerank the top N fused candidates with document features.

No cross-encoder with weights ships on PyPI and nothing may be fetched at run time, so the rerankers
here score what matters in documents, cheaply, from what the first stage already has:

* ``features`` (default): a logistic model over per-candidate features (the first stage's rank, the
  query/chunk cosine, query-term coverage of the text and of the heading path, query bigrams found,
  how much of the chunk is figures, whether it is a table, and both of those when the question asks for
  an amount, the question's years found in the chunk). Its weights are fitted by
  ``bench/fit_rerank.py`` on one split of the docugami questions and shipped in
  :mod:`pipeline.retrieval.rerank._weights`. A hit's ``score`` becomes the model's probability that the chunk
  holds the answer (0..1); the first stage's score moves to ``metadata["first_stage_score"]``.
* ``maxsim``: the same, plus the best cosine between the query and any sentence or table row of the
  candidate (the bundled embedding model at a finer grain than the chunk); costs one embedding batch
  per query.
* ``none``: first-stage order.

    reranker = make_reranker("features")          # pipeline.retrieval.rerank
    IndexRetriever(index).search(query, reranker=reranker)
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from pipeline.protocols import Embedder, SearchHit

if TYPE_CHECKING:
    import numpy as np

RERANKERS = ("none", "features", "maxsim")  # the ones that need no LLM
LLM_RERANKER = "llm"  # features, then an LLM picks among the best few (pipeline.retrieval.rerank._llm)
DEFAULT_RERANKER = "features"
DEFAULT_CANDIDATES = 50

FEATURES = ("first", "cosine", "term_cov", "head_cov", "section", "bigram", "best_row", "numbers", "table",
            "quant_numbers", "quant_table", "years")

_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
_NUMBER = re.compile(r"(?<![\w.])\$?\(?\d{1,3}(?:,\d{3})+(?:\.\d+)?\)?|(?<![\w.])\d+\.\d+%?|(?<![\w.])\d{2,}%")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_QUANT = re.compile(r"\b(how much|how many|what (?:was|were|is|are) (?:the )?(?:total |reported )?"
                    r"(?:amount|revenue|sales|margin|income|expenses?|cash|rate|percentage|proportion|number)"
                    r"|what percentage|what proportion|figures?|amount|totals?|revenue|sales|margin|rate)\b", re.IGNORECASE)
_STOP = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "did", "do", "does", "for", "from", "had", "has", "have", "how", "i", "in", "into", "is", "it", "its", "of", "on", "or", "that", "the", "their", "them", "these", "this", "those", "to", "was", "were", "what", "when", "where", "which", "who", "why", "will", "with", "within", "any", "there", "been", "being", "report", "reported", "reports", "quarter", "quarterly", "latest", "most", "recent", "10", "q", "k", "filing", "company", "s"]
)


@functools.lru_cache(maxsize=65_536)
def _term(w: str) -> str:
    """A word lightly stemmed, or '' for a stop word, a 1-letter word or a number (cached: vocabularies are small)."""
    if w in _STOP or len(w) < 2 or w.isdigit():
        return ""
    for suf in ("ies", "es", "s", "ing", "ed"):
        if len(w) > len(suf) + 3 and w.endswith(suf):
            return w[: -len(suf)] + ("y" if suf == "ies" else "")
    return w


def terms(text: str) -> list[str]:
    """Content words of ``text``: lower case, lightly stemmed, stop words and 1-letter words out."""
    return [t for t in map(_term, _WORD.findall(text.lower())) if t]


class _Chunk(NamedTuple):
    """What the features need of a chunk, independent of the query (cached per text)."""

    terms: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    rows: tuple[frozenset[str], ...]
    numbers: int
    years: frozenset[str]


@functools.lru_cache(maxsize=8192)
def _analyse(text: str) -> _Chunk:
    t_list = terms(text)
    return _Chunk(frozenset(t_list), frozenset(itertools.pairwise(t_list)), tuple(_rows(text)),
                  len(_NUMBER.findall(text)), frozenset(_YEAR.findall(text)))


def _rows(text: str) -> list[frozenset[str]]:
    """Terms of each table row label (first non-empty cell) and of each sentence of ``text``."""
    out = []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            label = next((c for c in cells if c and not _NUMBER.fullmatch(c)), "")
            out.append(frozenset(terms(label)))
        else:
            out += [frozenset(terms(s)) for s in re.split(r"(?<=[.;!?])\s+", line) if s]
    return [r for r in out if r]


def _idf(q_terms: set[str], docs: Sequence[frozenset[str]]) -> dict[str, float]:
    """Inverse frequency of the query terms among the candidates: words every candidate shares (the
    company name, "10-Q") weigh little, the words that tell candidates apart weigh most."""
    n = len(docs)
    return {t: math.log((n + 1) / (1 + sum(1 for d in docs if t in d))) + 0.05 for t in q_terms}


def features(query: str, hits: Sequence[SearchHit]) -> list[dict[str, float]]:
    """The feature vectors of a query's candidates (names in :data:`FEATURES`)."""
    q_list = terms(query)
    q_terms = set(q_list)
    bigrams = set(itertools.pairwise(q_list))
    quant = 1.0 if _QUANT.search(query) else 0.0
    q_years = set(_YEAR.findall(query))
    chunks = [_analyse(h.text) for h in hits]
    idf = _idf(q_terms, [c.terms for c in chunks])
    total = sum(idf.values()) or 1.0
    out = []
    for h, c in zip(hits, chunks):
        numbers = min(1.0, c.numbers / 20.0)
        table = 1.0 if "table" in (h.metadata.get("element_kinds") or []) else 0.0
        best_row = max((sum(idf[t] for t in r & q_terms) / total for r in c.rows), default=0.0)
        out.append({
            "first": 1.0 / math.sqrt(int(h.metadata.get("first_stage_rank") or 1)),
            "cosine": float(h.metadata.get("cosine", h.metadata.get("dense_score", 0.0)) or 0.0),
            "term_cov": sum(idf[t] for t in c.terms & q_terms) / total,
            "head_cov": sum(idf[t] for t in set(terms(" ".join(h.heading_path))) & q_terms) / total,
            "section": _section_match(h.heading_path, q_terms),
            "bigram": len(bigrams & c.bigrams) / max(1, len(bigrams)),
            "best_row": best_row,
            "numbers": numbers,
            "table": table,
            "quant_numbers": quant * numbers,
            "quant_table": quant * table,
            "years": (len(q_years & c.years) / len(q_years)) if q_years else 0.0,
        })
    return out


def _section_match(heading_path: Sequence[str], q_terms: set[str]) -> float:
    """Share of the words of the chunk's own section title (the last heading) that the question uses:
    "Effective Tax Rate" or "Share Repurchases" for a question about them. A title of generic words
    ("FORM 10-Q", a company name) scores low because the question does not repeat them."""
    title = set(terms(heading_path[-1])) if heading_path else set()
    return len(title & q_terms) / len(title) if title else 0.0


def _default_weights() -> dict[str, float]:
    from pipeline.retrieval.rerank._weights import WEIGHTS

    return dict(WEIGHTS)


class FeatureReranker:
    """Logistic model over :func:`features` (see the module docstring); a :class:`~pipeline.protocols.Reranker`."""

    name = "features"

    def __init__(self, weights: Mapping[str, float] | None = None, candidates: int = DEFAULT_CANDIDATES) -> None:
        self.weights = dict(weights) if weights is not None else _default_weights()
        self.candidates = candidates

    def depth(self, k: int) -> int:
        return max(k, self.candidates)

    def extra(self, query: str, hits: Sequence[SearchHit]) -> list[dict[str, float]]:
        """Features beyond :func:`features` (none here; see :class:`MaxSimReranker`)."""
        return [{} for _ in hits]

    def score(self, query: str, hits: Sequence[SearchHit]) -> list[float]:
        """Probability, per candidate, that it holds the answer."""
        extra = self.extra(query, hits)
        out = []
        for base, more in zip(features(query, hits), extra):
            f = {**base, **more}
            z = self.weights.get("bias", 0.0) + sum(w * f.get(name, 0.0) for name, w in self.weights.items())
            out.append(1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))))
        return out

    def rerank(self, query: str, hits: list[SearchHit]) -> list[SearchHit]:
        if not hits:
            return hits
        scores = self.score(query, hits)
        out = []
        for h, s in zip(hits, scores):
            meta = {**h.metadata, "first_stage_score": h.score, "reranker": self.name}
            out.append(h.model_copy(update={"score": s, "metadata": meta}))
        order = sorted(range(len(out)), key=lambda i: (-out[i].score, i))
        return [out[i] for i in order]


_UNIT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])|\n+")


def units(text: str, limit: int = 24) -> list[str]:
    """Sentences and table rows of a chunk (markdown rows are lines), at most ``limit``, longest kept."""
    parts = [" ".join(p.split()) for p in _UNIT_SPLIT.split(text)]
    parts = [p for p in parts if len(p) >= 12 and not set(p) <= set("|-: ")]
    if len(parts) > limit:
        parts = sorted(parts, key=len, reverse=True)[:limit]
    return parts


class MaxSimReranker(FeatureReranker):
    """:class:`FeatureReranker` plus ``maxsim``: the best query cosine over the candidate's sentences
    and table rows, embedded with the index's own model (cached per text in this process)."""

    name = "maxsim"

    def __init__(self, embedder: Embedder, weights: Mapping[str, float] | None = None,
                 candidates: int = DEFAULT_CANDIDATES, cache_size: int = 50_000) -> None:
        super().__init__(weights if weights is not None else _maxsim_weights(), candidates)
        self.embedder = embedder
        self._cache: dict[str, np.ndarray] = {}
        self.cache_size = cache_size

    def extra(self, query: str, hits: Sequence[SearchHit]) -> list[dict[str, float]]:
        import numpy as np

        per_hit = [units(h.text) for h in hits]
        todo = list(dict.fromkeys(u for us in per_hit for u in us if u not in self._cache))
        vecs = self.embedder.embed([query, *todo])
        q = np.asarray(vecs[0], dtype=np.float32)
        if len(self._cache) + len(todo) > self.cache_size:
            self._cache.clear()
        for u, v in zip(todo, vecs[1:]):
            self._cache[u] = np.asarray(v, dtype=np.float32)
        out = []
        for us in per_hit:
            sims = [float(self._cache[u] @ q) for u in us]
            out.append({"maxsim": max(sims, default=0.0)})
        return out


def _maxsim_weights() -> dict[str, float]:
    from pipeline.retrieval.rerank._weights import MAXSIM_WEIGHTS

    return dict(MAXSIM_WEIGHTS)


__all__ = ["DEFAULT_CANDIDATES", "DEFAULT_RERANKER", "FEATURES", "LLM_RERANKER", "RERANKERS", "FeatureReranker",
           "MaxSimReranker", "features", "terms", "units"]
