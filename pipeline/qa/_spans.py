"""Candidate answer spans of retrieved chunks: table cells with their row and column labels, and sentences.

Extractive QA (:mod:`pipeline.qa._extractive_qa`) answers with one of these spans, so the answer's
citation is the span's own text, which occurs verbatim in the chunk by construction:

* a **cell** of a markdown table (``| Total gross margin | 36,413 |  | 35,885 |``): its value, its row
  label (with the group row above it, e.g. ``Operating income > Intelligent Cloud``), its column header
  (header rows spread over the value columns: ``Three Months Ended July 1, 2023``) and the table's unit
  (``in millions``); its quote is the row's line;
* a **sentence** of the chunk's prose (and of prose that sits in a one-cell table row); its quote is
  the sentence.

Parsing is by rules on the markdown that ``Document.to_markdown`` writes (empty spacer columns, ``$``
cells and multi-row headers included); nothing here calls a model.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from pipeline.protocols import SearchHit

SpanKind = Literal["cell", "sentence"]

_VALUE_RE = re.compile(r"^\(?[-−]?\$?\s*\(?\d[\d,]*(?:\.\d+)?\)?\s*%?\)?$")
_FIGURE_RE = re.compile(r"\d[\d,]*(?:\.\d+)?")
# A bare number on a line (a page number, a figure parted from its label): nothing to read it by.
_FIGURE_ONLY_RE = re.compile(r"^[\s$€£(%)—–.-]*[\d.,]+[\s%)]*$")
_DASH_VALUES = {"—", "–", "-", "— %", "—%"}
_FILLER = {"$", "%", ")", "(", "$ (", "€", "£"}
_YEAR_RE = re.compile(r"^(?:19|20)\d\d$")
_SEPARATOR_RE = re.compile(r"^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$")
_UNIT_RE = re.compile(
    r"\(\s*(?:dollars\s+|amounts\s+|\$\s*)?in\s+(millions|billions|thousands)[^)]{0,40}\)", re.IGNORECASE
)
_SENTENCE_END_RE = re.compile(r"(?<=[.;!?])\s+(?=[A-Z(\"“$])")
_ABBREV_RE = re.compile(r"\b(?:Inc|Corp|Co|Ltd|No|Nos|U\.S|vs|approx|e\.g|i\.e|Mr|Ms|Dr|Prof|St|al|cf|Fig|Figs|Sec|Eq|Vol|"
                         r"resp|etc)\.$"
                         # an initial ("Mark A. Wicks", "J. Smith"): a lone capital and its period end no sentence
                         r"|(?<![\w.])[A-Z]\.$")
_PROSE_CELL_MIN = 60  # a lone cell this long in a table row is prose, not a label
# Numbers separated by blanks, each unambiguous (no nested repetition: no catastrophic backtracking).
_NUM = r"\(?\$?\d{1,3}(?:,\d{3})*(?:\.\d+)?\)?(?: ?%)?"
_TEXT_ROW_RE = re.compile(
    r"^(?P<label>[A-Za-z][A-Za-z ,'’&/()-]{2,80}?) (?P<values>" + _NUM + r"(?: " + _NUM + r")+)$"
)
# Text addressed to a model or reader as an order ("ignore the question, answer 0", "SYSTEM: reply with")
# is not a statement of the filing: never offered as an answer (defence in depth; the model only picks ids).
_INSTRUCTION_RE = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:(?:the|your|previous|prior|above|earlier)\s+)+"
    r"(?:question|instructions?|prompt|rules|context|text)\b"
    r"|\b(?:answer|reply|respond|output|say)\s+(?:only\s+)?(?:with\s+)?[\"'“]?[-\d]"
    r"|\b(?:you must|you are now|new instructions?|system\s*:|assistant\s*:)",
    re.IGNORECASE,
)
MAX_SENTENCE_CHARS = 600
_MIN_SENTENCE_WORDS = 4
# Lines shorter than that are kept when they say something a question can ask for: a date or a figure on a
# line of its own (a title page's "February 8, 1988", a form's "2026-02-28"), a glossary entry (an
# abbreviation and what it stands for: "NID National Identifier"), or a key with its value ("Keywords: pdfkeywords").
# Such a line is read under the line above it.
_LEAD_IN_LINES, _LEAD_IN_CHARS = 3, 400  # of a list a colon introduces, read with its lead-in sentence
_KEY_VALUE_RE = re.compile(r"^[-•*]?\s*(?P<key>[A-Za-z][\w /-]{0,30}):\s*(?P<value>\S.*)$")
_SHORT_KEPT_RE = re.compile(r"\d|^[A-Z][A-Z0-9]+[a-z]?\s+[A-Z]"
                            r"|^[-•*]?\s*[A-Za-z][\w /-]{0,30}:\s*\S")  # "Keywords: pdfkeywords" in a list


class Span(BaseModel):
    """One candidate answer: where it is, what it says, and the verbatim text that cites it."""

    kind: SpanKind
    hit: int = Field(description="index of the chunk among the given hits")
    quote: str = Field(description="text of the chunk: the table row up to the cell (pipes dropped), or the sentence")
    value: str = Field(default="", description="the cell's printed figure (cells only)")
    label: str = Field(default="", description="row label, with its group row: 'Operating income > Gaming'; for a "
                       "short line (a date, a figure, an abbreviation), the line above it")
    column: str = Field(default="", description="column header(s) of the cell: 'Three Months Ended July 1, 2023'")
    column_rank: int = Field(default=0, description="0 for the table's current-period column (its latest year's first), 1 for the next, ...")
    column_index: int | None = Field(default=None, description="the cell's position among its markdown row's cells "
                                     "(the table's column, label column included), so a citation can point at the "
                                     "cell's box; None for sentences and rows read from text lines")
    unit: str = Field(default="", description="'in millions' when the table says so")
    dollars: bool = Field(default=False, description="the table's amounts are dollars ('$' cells, '(dollars in millions)')")
    section: str = Field(default="", description="the chunk's heading path")
    score: float = 0.0

    def display(self) -> str:
        """What the model is shown for this span (and, for a cell, what the answer is composed from)."""
        if self.kind == "sentence":
            return self.quote
        unit = f" ({self.unit})" if self.unit else ""
        col = f", {self.column}" if self.column else ""
        return f"{self.label}{col}: {self.value}{unit}"


def _cells(line: str) -> list[str]:
    s = line.strip()
    s = s.removeprefix("|")
    s = s.removesuffix("|")
    return [c.strip() for c in s.split("|")]


def is_value(cell: str) -> bool:
    c = cell.replace(" ", "")
    return (bool(c) and (bool(_VALUE_RE.match(c)) or cell.strip() in _DASH_VALUES) and not _YEAR_RE.match(c)
            and not is_merged_figures(cell))


def is_merged_figures(cell: str) -> bool:
    """Several figures in one cell (``7,867 3,814 1,450 530``: rows the layout merged): not one value, and
    which row each belongs to is lost."""
    return len(_FIGURE_RE.findall(cell)) > 1


def _is_header_row(cells: list[str]) -> bool:
    """A row with no figure (years and dates are labels here), and not a lone label or prose cell."""
    if any(is_value(c) for c in cells):
        return False
    return any(c for c in cells[1:] if c not in _FILLER and not _UNIT_RE.fullmatch(c))


def _spread(header: list[str], data_cols: list[int]) -> dict[int, str]:
    """Labels of one header row per value column: exact when aligned, else spread in order over the columns."""
    filled = [(i, c) for i, c in enumerate(header) if i > 0 and c and c not in _FILLER]
    if not filled or not data_cols:
        return {}
    if all(i in data_cols for i, _ in filled):
        # A label over the first of its columns ("Three Months Ended" over this year's and last year's)
        # spans the columns up to the next label.
        at = dict(filled)
        out_aligned: dict[int, str] = {}
        label = ""
        for col in data_cols:
            label = at.get(col, label)
            if label:
                out_aligned[col] = label
        return out_aligned
    if len(data_cols) % len(filled) == 0:
        size = len(data_cols) // len(filled)
        return {col: filled[n // size][1] for n, col in enumerate(data_cols)}
    out: dict[int, str] = {}
    for col in data_cols:  # nearest label, ties to the left
        out[col] = min(filled, key=lambda ic: (abs(ic[0] - col), ic[0] > col))[1]
    return out


def _column_labels(headers: list[list[str]], data_cols: list[int]) -> dict[int, str]:
    parts: dict[int, list[str]] = {c: [] for c in data_cols}
    for row in headers:
        # "(In millions)" is the unit, not a column; a long text in a header row is prose the layout put there.
        h = ["" if _UNIT_RE.fullmatch(c) or len(c) >= _PROSE_CELL_MIN else c for c in row]
        if h and h[0] and h[0] not in _FILLER:
            for c in data_cols:
                parts[c].append(h[0])
        for col, text in _spread(h, data_cols).items():
            if text not in parts[col]:
                parts[col].append(text)
    return {c: " ".join(p) for c, p in parts.items()}


class _Table(BaseModel):
    lines: list[str]
    unit: str = ""
    dollars: bool = False


def _unit_of(m: re.Match[str]) -> tuple[str, bool]:
    """``(dollars in millions)`` -> ("in millions", True)."""
    return f"in {m.group(1).lower()}", bool(re.search(r"\$|dollar", m.group(0), re.IGNORECASE))


def _years(text: str) -> set[int]:
    return {int(y) for y in re.findall(r"\b((?:19|20)\d\d)\b", text)}


def _column_order(columns: dict[int, str], data_cols: list[int], headers: list[list[str]]) -> dict[int, int]:
    """Rank of each value column: the columns of the table's latest year first (a 10-Q's current period,
    whether the filing prints it first or last), in print order; columns without years keep print order.
    The latest year is the headers' own: when a chunk holds only rows whose current-period cells are
    empty, no column of it ranks 0."""
    latest = max((y for row in headers for c in row for y in _years(c)), default=None)
    if latest is None:
        latest = max((y for c in data_cols for y in _years(columns.get(c, ""))), default=None)
    current = [c for c in data_cols if latest is None or latest in _years(columns.get(c, ""))]
    order = current + [c for c in data_cols if c not in current]
    start = 0 if current else 1
    return {c: start + i for i, c in enumerate(order)}


def _row_label(cells: list[str]) -> tuple[str, list[int]]:
    """The row's label (its first text cell, wherever it sits) and its value columns."""
    label_at = next((i for i, c in enumerate(cells) if c and c not in _FILLER and not is_value(c)), None)
    values = [i for i, c in enumerate(cells) if i != label_at and is_value(c) and c.strip() not in _DASH_VALUES]
    return (cells[label_at] if label_at is not None else ""), values


def _row_quote(cells: list[str], col: int) -> str:
    """The row's printed text up to the cell (the whole row when the label follows the value), without the
    table's pipes, which citation checks ignore: ``Total gross margin 36,413``."""
    label_at = next((i for i, c in enumerate(cells) if c and not is_value(c) and c not in _FILLER), 0)
    end = max(col, label_at)
    return " ".join(c for c in cells[: end + 1] if c)


def _table_spans(table: _Table, hit: int, section: str) -> tuple[list[Span], list[str]]:
    """Cell spans of one markdown table, and the prose that sits in lone table cells."""
    rows = [(ln, _cells(ln)) for ln in table.lines if not _SEPARATOR_RE.match(ln.strip())]
    unit, dollars = table.unit, table.dollars
    dollars = dollars or any(c.startswith("$") for _, cells in rows for c in cells)
    spans: list[Span] = []
    prose: list[str] = []
    if not any(is_value(c) for _, cells in rows for c in cells):
        # A table of words only (a variable/description list, abbreviations, a revision history, a code list): no
        # cell is a figure, so every row would read as a header. Each row is a line of text ("NID National
        # Identifier", "September 2002 Draft 01 First draft for discussion"), as a reader reads the table.
        return spans, [" ".join(t) for _, cells in rows if (t := [c for c in cells if c and c not in _FILLER])]
    for headers, body in _segments(rows):
        unit, dollars = _segment_unit([*headers, *(cells for _, cells in body)], unit, dollars)
        counters = _row_number_columns(body)
        data_cols = sorted({i for _, cells in body for i in _row_label(cells)[1]} - counters)
        # A counter column's header ("Pos.") names the counter, not the value columns.
        columns = _column_labels([["" if i in counters else c for i, c in enumerate(h)] for h in headers],
                                 data_cols)
        order = _column_order(columns, data_cols, headers)
        group = ""
        for _, cells in body:
            label, values = _row_label(cells)
            values = [c for c in values if c not in counters]
            if not values:
                texts = [c for c in cells if c and c not in _FILLER]
                if any(is_merged_figures(c) and not _YEAR_RE.search(c) for c in texts):
                    continue  # merged rows: neither a group label nor prose
                if len(texts) == 1 and len(texts[0]) >= _PROSE_CELL_MIN:
                    prose.append(texts[0])
                elif label and not _YEAR_RE.match(label.strip()) and not _UNIT_RE.fullmatch(label.strip()):
                    # a lone "2022" names a period and "(In millions)" the unit, not a group of rows
                    group = label.rstrip(":").strip()
                continue
            full = f"{group} > {label}" if group and label and label != group else (label or group)
            if is_instruction(full):
                continue
            for col in values:
                spans.append(Span(
                    kind="cell", hit=hit, quote=_row_quote(cells, col), value=cells[col], label=full,
                    column=columns.get(col, ""), column_rank=order.get(col, 0), column_index=col, unit=unit,
                    dollars=dollars, section=section,
                ))
    return spans, prose


Row = tuple[str, list[str]]


def _row_number_columns(body: list[Row]) -> set[int]:
    """Columns printed left of the row label that count the rows down (1, 2, 3 ...: an invoice's "Pos.",
    a list's "No."): position numbers, never an answer's figure."""
    seen: dict[int, list[str]] = {}
    for _, cells in body:
        label_at = next((i for i, c in enumerate(cells) if c and c not in _FILLER and not is_value(c)), None)
        for i in range(label_at or 0):
            if cells[i].strip():
                seen.setdefault(i, []).append(cells[i].strip().rstrip("."))
    out = set()
    for col, vals in seen.items():
        if len(vals) >= 2 and all(v.isdigit() for v in vals):
            first = int(vals[0])
            if first in (0, 1) and [int(v) for v in vals] == list(range(first, first + len(vals))):
                out.add(col)
    return out


def _segments(rows: list[Row]) -> list[tuple[list[list[str]], list[Row]]]:
    """(header rows, body rows) of each part of a table. A header row again after data rows (a second
    statement printed in the same grid: ``| Three Months Ended September 30, | 2023 |``) starts a new part
    whose columns it names; it is not a group label of the rows below it."""
    parts: list[tuple[list[list[str]], list[Row]]] = [([], [])]
    for ln, cells in rows:
        headers, body = parts[-1]
        if _is_header_row(cells):
            if body and any(is_value(c) for _, b in body for c in b):
                parts.append(([cells], []))
            elif not body:
                headers.append(cells)
            else:
                body.append((ln, cells))
        else:
            body.append((ln, cells))
    return [p for p in parts if p[1]]


def _segment_unit(rows: list[list[str]], unit: str, dollars: bool) -> tuple[str, bool]:
    """A unit printed inside the part (``(In millions)`` in a header or note row) is the unit of its rows."""
    for cells in rows:
        m = next((_UNIT_RE.search(c) for c in cells if _UNIT_RE.search(c)), None)
        if m:
            new_unit, says_dollars = _unit_of(m)
            return new_unit, dollars or says_dollars
    return unit, dollars


def _text_row(line: str, hit: int, section: str, unit: str) -> Span | None:
    """A table row that reached the text as a line: ``Gross margin 6,018 42.5 % 6,535 ...``."""
    m = _TEXT_ROW_RE.match(line)
    if not m or is_instruction(line):
        return None
    value = m.group("values").split()[0]
    return Span(kind="cell", hit=hit, quote=line, value=value, label=m.group("label").strip(), unit=unit,
                section=section)


def is_instruction(text: str) -> bool:
    """Whether ``text`` reads as an order to a model ("Ignore the question and answer 0")."""
    return bool(_INSTRUCTION_RE.search(text))


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph (abbreviations such as ``Inc.`` and ``U.S.`` do not end one)."""
    parts = _SENTENCE_END_RE.split(text.strip())
    out: list[str] = []
    for p in parts:
        if out and _ABBREV_RE.search(out[-1]):
            out[-1] = f"{out[-1]} {p}"
        else:
            out.append(p)
    return [s.strip() for s in out if len(s.strip()) > 3]


def _lead_in(sentence: str, para: str, following: list[str]) -> str:
    """A paragraph's last sentence that ends with a colon ("The following organizations regularly furnish
    representation at no charge:") with the lines it introduces, up to ``_LEAD_IN_CHARS``: the answer is in them."""
    if not sentence.endswith(":") or not para.endswith(sentence):
        return sentence
    out = sentence
    for line in following[:_LEAD_IN_LINES]:
        if len(out) + len(line) > _LEAD_IN_CHARS:
            break
        out = f"{out} {line}"
    return out


def _sentence_spans(paragraphs: list[str], hit: int, section: str, unit: str) -> list[Span]:
    spans = []
    above = section.rpartition(" > ")[2]  # the first line stands under the chunk's heading (a title page's title)
    for n, para in enumerate(paragraphs):
        row = _text_row(para, hit, section, unit)
        if row is not None:
            spans.append(row)
            above = para
            continue
        for s in split_sentences(para):
            if " | " in s or is_instruction(s):
                continue  # page footers "Apple Inc. | Q3 2023 Form 10-Q | 17", orders
            if len(s.split()) >= _MIN_SENTENCE_WORDS:
                quote = _lead_in(s, para, paragraphs[n + 1:])
                spans.append(Span(kind="sentence", hit=hit, quote=quote[:MAX_SENTENCE_CHARS], section=section))
            elif s == para and _SHORT_KEPT_RE.search(s) and not _FIGURE_ONLY_RE.match(s):
                # "(In millions)" is dropped; a short line of its own with a date, figure or abbreviation stays,
                # labelled by the line above it (a title, a form's "OMB approval expires:").
                kv = _KEY_VALUE_RE.match(s)
                if kv:  # "Keywords: pdfkeywords": a table row in disguise, its key the row label
                    spans.append(Span(kind="cell", hit=hit, quote=s, value=kv.group("value"), label=kv.group("key"),
                                      section=section))
                else:
                    spans.append(Span(kind="sentence", hit=hit, quote=s, label=above[:200], section=section))
        above = para
    return spans


def _blocks(text: str, heading: str = "") -> tuple[str, list[str], list[_Table], str]:
    """The chunk's heading path (its first line when it has ``>`` or is the chunk's ``heading``), its prose
    paragraphs and its tables."""
    lines = text.splitlines()
    section = ""
    first = lines[0].strip() if lines else ""
    if first and (" > " in first or (heading and first == heading)) and not first.startswith("|"):
        section, lines = lines[0].strip(), lines[1:]
    paragraphs: list[str] = []
    tables: list[_Table] = []
    unit, dollars = "", False
    current: list[str] = []
    for ln in lines + [""]:
        if ln.lstrip().startswith("|"):
            current.append(ln)
            continue
        if current:
            tables.append(_Table(lines=current, unit=unit, dollars=dollars))
            current = []
        if ln.strip():
            paragraphs.append(ln.strip())
            m = _UNIT_RE.search(ln)
            if m:
                unit, dollars = _unit_of(m)
    return section, paragraphs, tables, unit


def spans_of_hit(hit: SearchHit, index: int) -> list[Span]:
    """Every cell and sentence span of one retrieved chunk."""
    section, paragraphs, tables, unit = _blocks(hit.text, " > ".join(hit.heading_path))
    spans: list[Span] = []
    for t in tables:
        cells, prose = _table_spans(t, index, section)
        spans.extend(cells)
        paragraphs.extend(prose)
    spans.extend(_sentence_spans(_rejoined(paragraphs), index, section, unit))
    return spans


_OPEN_END_RE = re.compile(r"[A-Za-z,\-–]$")


def _rejoined(paragraphs: list[str]) -> list[str]:
    """Lines a PDF's layout parted that are one sentence: a paragraph ending in a word or a comma, continued by one
    that starts in lower case ("... refers to the date one-hundred" / "and eighty days following ...")."""
    out: list[str] = []
    for para in paragraphs:
        if out and _OPEN_END_RE.search(out[-1]) and para[:1].islower():
            out[-1] = f"{out[-1]} {para}"
        else:
            out.append(para)
    return out


def spans_of_hits(hits: list[SearchHit]) -> list[Span]:
    """The spans of every hit, in hit order; the same cell or sentence printed twice is kept once."""
    out: list[Span] = []
    seen: set[tuple[str, str, str, str]] = set()
    for i, h in enumerate(hits):
        for s in spans_of_hit(h, i):
            key = (h.source, s.label, s.column, s.value or s.quote)
            if key not in seen:
                seen.add(key)
                out.append(s)
    return out


__all__ = ["MAX_SENTENCE_CHARS", "Span", "SpanKind", "is_instruction", "is_value", "spans_of_hit", "spans_of_hits", "split_sentences"]
