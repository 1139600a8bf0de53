"""Query linking: names, tickers and periods in a question -> the documents they point at.

    linker = QueryLinker(profiles)                     # DocProfile per indexed document
    links = linker.link("What was Apple's gross margin in the latest 10-Q?")
    links.documents -> ['/.../2023 Q3 AAPL.pdf'], links.entities -> ['AAPL'], links.latest -> True

Rules (each one generic, none tuned to a question):

* entity: a ticker written in capitals (``AAPL``) or a name/short name of a document's entity
  (``Apple``, ``Apple Inc.``, ``Apple's``), matched on word boundaries;
* explicit periods: ``Q3 2023``, ``2023 Q3``, ``third quarter of 2023``, ``fiscal 2022`` / ``FY2022``
  and a bare year, matched against each document's period labels (then its period-end year); a date
  (``July 1, 2023``) matched against each document's period-end date;
* ``latest`` / ``most recent`` / ``current``: the latest period of that entity in the index,
  unless the question also asks across periods;
* across periods ("over time", "these quarters", "previous quarters", "trend" ...): every document of
  the entity, and the results are spread over those documents (see ``diversify``).

An explicit period that matches no document of the entity is dropped (the entity's documents stay);
``latest`` without an entity resolves nothing. When nothing resolves, ``documents`` is empty and the
search is not changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

from pipeline.profiling import MONTH_RE, DocProfile, iso_date

_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}
_Y = r"((?:19|20)\d\d)"
_QUARTER_PATTERNS = (
    (re.compile(r"\bQ([1-4])\s*(?:of\s+)?(?:FY\s*|fiscal\s+(?:year\s+)?)?'?" + _Y + r"\b", re.IGNORECASE), "qy"),
    (re.compile(r"\b(?:FY\s*|fiscal\s+(?:year\s+)?)?" + _Y + r"\s*Q([1-4])\b", re.IGNORECASE), "yq"),
    (re.compile(r"\b(first|second|third|fourth|1st|2nd|3rd|4th)\s+(?:fiscal\s+)?quarter\s+(?:of\s+)?(?:fiscal\s+(?:year\s+)?)?"
                + _Y + r"\b", re.IGNORECASE), "oy"),
)
_FISCAL_RE = re.compile(r"\b(?:FY\s*'?|fiscal\s+(?:year\s+)?)" + _Y + r"\b", re.IGNORECASE)
_YEAR_RE = re.compile(r"\b" + _Y + r"\b")
_DATE_RE = re.compile(r"\b" + MONTH_RE, re.IGNORECASE)
_LATEST_RE = re.compile(r"\b(latest|most\s+recent|newest|current\s+(?:quarter|period|year|filing|report)"
                        r"|last\s+(?:quarter|10-?[qk]|filing|report|period))\b", re.IGNORECASE)
_MULTI_RE = re.compile(
    r"\b(over\s+time|trends?|trended|across\s+(?:the\s+|these\s+|all\s+)?(?:quarters|periods|filings|reports|years)"
    r"|these\s+(?:quarters|periods|10-?qs|10-?ks|filings|reports|quarterly\s+reports)"
    r"|(?:reported|reporting)\s+(?:quarters|periods|timeframe|period)"
    r"|(?:previous|prior|past|preceding|earlier)\s+(?:quarters|periods|ones|filings|reports|years)"
    r"|quarter[- ]to[- ]quarter|year[- ]over[- ]year|each\s+(?:reported\s+|reporting\s+)?period"
    r"|quarterly\s+reports|period\s+to\s+period|throughout\s+the)\b", re.IGNORECASE)


class QueryLinks(BaseModel):
    """What a question was linked to, and the documents a search is restricted to (empty: unchanged)."""

    entities: list[str] = Field(default_factory=list, description="entity keys (ticker, else short name)")
    periods: list[str] = Field(default_factory=list,
                               description="periods asked for: '2023 Q3', 'FY2022', '2022', a period end '2023-07-01'")
    latest: bool = Field(default=False, description="the question asks for the latest period")
    across_periods: bool = Field(default=False, description="the question compares periods")
    documents: list[str] = Field(default_factory=list, description="paths the search is restricted to")
    diversify: bool = Field(default=False, description="spread the top hits over these documents")

    @property
    def applied(self) -> bool:
        return bool(self.documents)


def question_periods(query: str) -> list[str]:
    """Period labels named in ``query``: quarters ('2023 Q3'), fiscal years ('FY2022'), bare years ('2022')."""
    found: list[str] = []
    spans: list[tuple[int, int]] = []
    for rx, kind in _QUARTER_PATTERNS:
        for m in rx.finditer(query):
            a, b = m.group(1), m.group(2)
            year, q = (b, a) if kind == "qy" else (a, b) if kind == "yq" else (b, str(_ORDINALS[a.lower()]))
            found.append(f"{year} Q{q}")
            spans.append(m.span())
    for m in _FISCAL_RE.finditer(query):
        if not any(s <= m.start() < e for s, e in spans):
            found.append(f"FY{m.group(1)}")
            spans.append(m.span())
    for m in _DATE_RE.finditer(query):  # "July 1, 2023": a period-end date
        iso = iso_date(m.group(0))
        if iso:
            found.append(iso)
            spans.append(m.span())
    for m in _YEAR_RE.finditer(query):
        if not any(s <= m.start() < e for s, e in spans):
            found.append(m.group(1))
    return list(dict.fromkeys(found))


def _matches_period(profile: DocProfile, label: str) -> bool:
    if label in profile.labels:
        return True
    if re.fullmatch(r"\d{4}-\d\d-\d\d", label):
        return label == profile.period_end
    if label.startswith("FY"):
        return label[2:] in profile.labels
    if re.fullmatch(r"\d{4}", label):  # a bare year: a label of that year, else the period-end year
        if any(lab.startswith(label) or lab == f"FY{label}" for lab in profile.labels):
            return True
        return not profile.labels and (profile.period_end or profile.doc_date or "").startswith(label)
    return False


class QueryLinker:
    """Links a question to documents through their :class:`~pipeline.profiling.DocProfile` s."""

    def __init__(self, profiles: Iterable[DocProfile]) -> None:
        self.profiles = list(profiles)
        self._alias_res: list[tuple[re.Pattern[str], DocProfile]] = []
        for p in self.profiles:
            names = [a for a in p.aliases if len(a) >= 3 and a != (p.ticker or "").lower()]
            if names:
                alt = "|".join(re.escape(a) for a in sorted(names, key=len, reverse=True))
                self._alias_res.append((re.compile(rf"(?<![\w.]){alt}(?![\w])", re.IGNORECASE), p))
            if p.ticker:
                self._alias_res.append((re.compile(rf"(?<![\w.]){re.escape(p.ticker)}(?![\w])"), p))

    def entities(self, query: str) -> list[DocProfile]:
        return [p for rx, p in self._alias_res if rx.search(query)]

    def link(self, query: str) -> QueryLinks:
        matched = self.entities(query)
        keys = list(dict.fromkeys(p.entity_key for p in matched if p.entity_key))
        entity_docs = [p for p in self.profiles if p.entity_key in keys]
        periods = question_periods(query)
        latest = bool(_LATEST_RE.search(query))
        across = bool(_MULTI_RE.search(query))
        links = QueryLinks(entities=keys, periods=periods, latest=latest, across_periods=across)
        if not entity_docs:
            return links
        chosen = [p for p in entity_docs if any(_matches_period(p, lab) for lab in periods)] if periods else []
        if not chosen and latest and not across:
            chosen = _latest_per_entity(entity_docs)
        if chosen and not across:
            links.documents = sorted({p.path for p in chosen})
        else:
            links.documents = sorted({p.path for p in (chosen or entity_docs)})
            links.diversify = len(links.documents) > 1
        return links


def _latest_per_entity(profiles: Sequence[DocProfile]) -> list[DocProfile]:
    by_key: dict[str | None, list[DocProfile]] = {}
    for p in profiles:
        by_key.setdefault(p.entity_key, []).append(p)
    out = []
    for group in by_key.values():
        top = max(p.sort_key() for p in group)
        out += [p for p in group if p.sort_key() == top]
    return out


def diversify(hits: Sequence[object], key: str = "source") -> list[object]:
    """Round-robin over documents in rank order: each document's best hit first, then the second best..."""
    per_doc: dict[str, list[object]] = {}
    for h in hits:
        per_doc.setdefault(str(getattr(h, key)), []).append(h)
    out: list[object] = []
    level = 0
    while len(out) < len(hits):
        for group in per_doc.values():
            if level < len(group):
                out.append(group[level])
        level += 1
    return out


__all__ = ["QueryLinker", "QueryLinks", "diversify", "question_periods"]
