"""Who and when a document is about: its entity, document type and periods (a :class:`DocProfile`).

Resolved at ingest from the file name, the document metadata and the cover page (the first pages'
text), cheapest and most explicit first:

* entity: the organisation name ("(Exact name of registrant ...)" on an SEC cover page, else a name
  with a corporate suffix in the metadata title/keywords or on the first page), its ticker (a
  "Trading Symbol" next to an exchange on the cover page, else an upper-case file-name token), and
  short names ("Apple Inc." -> "Apple", "AMAZON.COM, INC." -> "Amazon.com", "Amazon");
* document type: 10-K, 10-Q, 8-K, earnings release, invoice, report ... from the file name, then
  the cover page;
* periods: the labels a person gave the file ("2023 Q3", "2022" + 10-K -> "FY2022"), the period-end
  date on the cover page or in the metadata ("for the quarterly period ended July 1, 2023"), and the
  document date (filing date, else creation date).

Period labels from the file name win over ones derived from dates: a collection's own labels
(which may be fiscal, or the n-th filing of a year) are what its users put in their questions.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import PurePath
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from pipeline.document import Document

PROFILE_VERSION = "1"  # bump when profiling changes: stored profiles are then recomputed

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], start=1)}
MONTH_RE = "(" + "|".join(_MONTHS) + r")\.?\s+(\d{1,2}),?\s+((?:19|20)\d\d)"
_SUFFIX_RE = (r"(?i:Inc\.?|Incorporated|Corporation|Corp\.?|Company|Co\.|Ltd\.?|Limited|plc|PLC|N\.V\.|S\.A\.|AG|SE"
              r"|LLC|L\.P\.|Group|Holdings)")
_ORG_RE = re.compile(r"\b((?:[A-Z][\w.&'-]*,?\s+){0,4}?[A-Z][\w.&'-]*),?\s+" + _SUFFIX_RE + r"(?![\w])")
_EXCHANGE_RE = re.compile(r"\b([A-Z]{1,5}(?:\.[A-Z])?)\s+(?:The\s+)?(?:Nasdaq|NASDAQ|New York Stock Exchange|NYSE)\b")
_DOC_TYPES: tuple[tuple[str, str], ...] = (
    (r"10-?K\b|annual report", "10-K"), (r"10-?Q\b|quarterly report", "10-Q"), (r"8-?K\b", "8-K"),
    (r"earnings|results of operations for the", "earnings release"), (r"invoice|rechnung|facture", "invoice"),
    (r"\breport\b", "report"),
)
_NAME_STOP = {"form", "for", "filed", "the", "of", "and", "q1", "q2", "q3", "q4", "fy", "dated", "report", "annual",
              "quarterly", "earnings", "10k", "10q", "8k", "10-k", "10-q", "8-k", "inc", "corp", "draft", "final",
              "invoice", "statement", "results", "release", "press", "presentation", "transcript"}


class DocProfile(BaseModel):
    """What a document is about, resolved once per document at ingest (see the module docstring)."""

    path: str
    entity: str | None = Field(default=None, description="organisation name, e.g. 'Apple Inc.'")
    ticker: str | None = None
    aliases: list[str] = Field(default_factory=list, description="names a question may use (lower case)")
    doc_type: str | None = None
    labels: list[str] = Field(default_factory=list, description="period labels: '2023 Q3', 'FY2022', '2022'")
    period_end: str | None = Field(default=None, description="ISO date the reported period ends")
    doc_date: str | None = Field(default=None, description="filing date, else creation date (ISO)")

    @property
    def entity_key(self) -> str | None:
        """One key per organisation: the ticker, else the first alias."""
        return self.ticker or (self.aliases[0] if self.aliases else None)

    def sort_key(self) -> tuple[str, str, str]:
        """Chronological order of the documents of one entity (latest last)."""
        best_label = max((_label_order(lab) for lab in self.labels), default="")
        return (self.period_end or "", best_label, self.doc_date or "")


def _label_order(label: str) -> str:
    m = re.match(r"(\d{4}) Q(\d)", label)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    m = re.match(r"FY(\d{4})", label) or re.match(r"(\d{4})$", label)
    return f"{m.group(1)}-5" if m else ""


def iso_date(text: str) -> str | None:
    m = re.search(MONTH_RE, text, re.IGNORECASE)
    if m:
        try:
            return date(int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2))).isoformat()
        except ValueError:
            return None
    m = re.search(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b", text)
    if m:
        return m.group(0)
    m = re.search(r"\b(\d{1,2})/(\d{1,2})/((?:19|20)\d\d)\b", text)
    if m:
        try:
            return date(int(m.group(3)), int(m.group(1)), int(m.group(2))).isoformat()
        except ValueError:
            return None
    return None


def _cover_text(document: Document, pages: int = 2, limit: int = 8000) -> list[str]:
    """The texts of the first pages' body elements (the cover page), in reading order."""
    out: list[str] = []
    size = 0
    for el in document.body:
        if el.page > pages or size > limit:
            break
        out.append(" ".join(el.text.split()))
        size += len(out[-1])
    return out


def _registrant(lines: list[str]) -> str | None:
    """The name written above "(Exact name of registrant as specified in its charter)"."""
    for i, line in enumerate(lines):
        low = line.lower()
        pos = low.find("exact name of registrant")
        if pos < 0:
            continue
        before = line[:pos].rstrip(" (_-").strip()
        cand = before.split("  ")[-1] if before else (lines[i - 1] if i else "")
        m = _ORG_RE.search(cand)
        cand = m.group(0) if m else cand
        cand = cand.strip(" _-")
        if 2 <= len(cand) <= 80:
            return cand
    return None


def _org_name(lines: list[str], metadata: dict[str, object]) -> str | None:
    name = _registrant(lines)
    if name:
        return name
    for key in ("title", "keywords", "subject", "author"):
        v = metadata.get(key)
        if isinstance(v, str):
            m = _ORG_RE.search(v)
            if m:
                return m.group(0).strip()
    for line in lines[:60]:
        m = _ORG_RE.search(line)
        if m and "commission" not in m.group(0).lower():
            return m.group(0).strip()
    return None


def short_names(name: str) -> list[str]:
    """Lower-case names a question may use for ``name``: 'AMAZON.COM, INC.' -> ['amazon.com', 'amazon']."""
    base = re.sub(r"[,\s]+" + _SUFFIX_RE + r"\s*$", "", name.strip(), flags=re.IGNORECASE).strip(" ,.")
    out = [base.lower()] if base else []
    if base.lower().endswith(".com"):
        out.append(base[:-4].lower())
    full = " ".join(name.lower().split()).strip(" ,.")
    if full not in out:
        out.append(full)
    return [o for o in dict.fromkeys(out) if len(o) >= 2]


def _file_tokens(path: str) -> list[str]:
    return [t for t in re.split(r"[_\s]+", PurePath(path).stem) if t]


def _file_labels(tokens: list[str], doc_type: str | None) -> list[str]:
    """Period labels in the file name: '2023 Q3' / '2023Q3' / 'Q3 2023' -> '2023 Q3'; a year of a 10-K -> 'FY2022'."""
    stem = " ".join(tokens)
    labels = [f"{y} Q{q}" for y, q in re.findall(r"\b((?:19|20)\d\d)\s*Q([1-4])\b", stem, re.IGNORECASE)]
    labels += [f"{y} Q{q}" for q, y in re.findall(r"\bQ([1-4])\s*((?:19|20)\d\d)\b", stem, re.IGNORECASE)]
    if not labels:
        years = re.findall(r"(?:^|[\s_])(?:FY)?((?:19|20)\d\d)(?=$|[\s_])", stem)
        if years:
            labels = [f"FY{years[0]}" if doc_type == "10-K" else years[0]]
    return list(dict.fromkeys(labels))


def _doc_type(tokens: list[str], lines: list[str], metadata: dict[str, object]) -> str | None:
    for text in (" ".join(tokens), str(metadata.get("keywords") or ""), str(metadata.get("title") or ""),
                 " ".join(lines[:12])):
        for pattern, kind in _DOC_TYPES:
            if re.search(pattern, text, re.IGNORECASE):
                return kind
    return None


def _ticker(tokens: list[str], cover: str, aliases: list[str]) -> str | None:
    m = _EXCHANGE_RE.search(cover)
    if m:
        return m.group(1)
    for t in tokens:
        if re.fullmatch(r"[A-Z]{2,5}", t) and t.lower() not in _NAME_STOP and not any(
            a.startswith(t.lower()) for a in aliases
        ) and (not cover or re.search(rf"\b{t}\b", cover)):
            return t
    return None


def _name_from_file(tokens: list[str]) -> str | None:
    words = [t for t in tokens if re.fullmatch(r"[A-Za-z&]+", t) and t.lower() not in _NAME_STOP]
    words = [w for w in words if not re.fullmatch(r"[A-Z]{2,5}", w) or len(words) == 1]
    return " ".join(words) if words else None


def _periods(lines: list[str], metadata: dict[str, object]) -> tuple[str | None, str | None]:
    """(period-end date, document date) from the cover page and metadata."""
    cover = " ".join(lines[:40])
    period = None
    m = re.search(r"(?:period|quarter|year)\s+end(?:ed|ing)\s+(.{0,40})", cover, re.IGNORECASE)
    if m:
        period = iso_date(m.group(1))
    subject = str(metadata.get("subject") or "")
    if period is None:
        m = re.search(r"period ending\s+(\S+)", subject)
        period = iso_date(m.group(1)) if m else None
    m = re.search(r"filed(?: on)?\s+(\S+)", subject + " " + str(metadata.get("title") or ""))
    doc_date = iso_date(m.group(1)) if m else None
    if doc_date is None:
        created = str(metadata.get("creationDate") or "")
        m = re.match(r"D:((?:19|20)\d\d)(\d\d)(\d\d)", created)
        doc_date = f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else (iso_date(cover) if period is None else None)
    return period, doc_date


def profile_document(document: Document, path: str | None = None) -> DocProfile:
    """Resolve entity, document type and periods of ``document`` (stored at ``path``)."""
    path = path or document.source
    tokens = _file_tokens(path)
    lines = _cover_text(document)
    meta = document.metadata
    cover = " ".join(lines)
    entity = _org_name(lines, meta)
    doc_type = _doc_type(tokens, lines, meta)
    labels = _file_labels(tokens, doc_type)
    # A file name names an organisation only when it looks like a labelled filing ("AMCOR 2023Q2 10Q").
    labelled = bool(labels) or any(re.fullmatch(p, t, re.IGNORECASE) for t in tokens for p, _ in _DOC_TYPES[:4])
    file_name = _name_from_file(tokens) if labelled else None
    aliases = short_names(entity) if entity else []
    if file_name and file_name.lower() not in aliases and not any(file_name.lower() in a for a in aliases):
        aliases.append(file_name.lower())
    ticker = _ticker(tokens if labelled else [], cover, aliases)
    period_end, doc_date = _periods(lines, meta)
    if not labels and period_end:
        y, mth = int(period_end[:4]), int(period_end[5:7])
        labels = [f"FY{y}"] if doc_type == "10-K" else ([f"{y} Q{(mth - 1) // 3 + 1}"] if doc_type == "10-Q" else [])
    return DocProfile(
        path=path, entity=entity or file_name, ticker=ticker, aliases=aliases, doc_type=doc_type,
        labels=labels, period_end=period_end, doc_date=doc_date,
    )


__all__ = ["MONTH_RE", "PROFILE_VERSION", "DocProfile", "iso_date", "profile_document", "short_names"]
