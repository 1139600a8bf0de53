"""Tables without ruling lines: columns aligned by whitespace alone (specification sheets, demographic tables,
variable/description lists), found from the text spans we already extracted.

Without it such a table is read as text, often as a block of labels and then a block of values, so "Weight"
and "2 kg" never share a chunk. PyMuPDF's ``find_tables(strategy="text")`` finds them, but costs 100+ ms a page
and turns prose, lists and tables of contents into tables; this is plain geometry over the page's spans
(well under a millisecond a page) and is strict: missing a table costs little (its text is still read as
lines), inventing one splits a paragraph into cells.

1. Spans on one baseline form a text row; spans of a row less than about a line height apart are one *piece*
   (a cell's text); a wider gap separates cells.
2. A *run* is a stack of consecutive rows whose pieces fall into the same x-ranges (columns): no piece may
   bridge two columns, and no row may stand further than about two lines from the previous one. Rows with one
   piece in a value column are wrapped cells and join the row above.
3. A run is a table only with >= 3 rows of >= 2 cells, and only when it looks like one: a value column of
   mostly numbers or short values, or a column of short labels beside longer values. Lists (enumerators in
   the first column), tables of contents (dot leaders, page numbers in the last column), numbered equations,
   code and the rows of a two-column page of prose are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from extractors._grid_tables import GridTable, Span, _cell_boxes, _mostly_rtl, _row_boxes, _union

Box = tuple[float, float, float, float]

_NUMBER_RE = re.compile(r"^[\s(<>≤≥~±+\-−–$€£%]*\d[\d\s.,:/×x%±\-−–()]*(?:°?[^\W\d_]{1,4})?[%)°.]?$")
_LEADER_RE = re.compile(r"\.{4,}|(?:\. ){3,}|…{2,}|·{3,}|_{4,}")
# List markers: "1.", "5.10.", "(2)", "[3]", "a)", "iv.", bullets. A bare integer is a code or a count, not a marker.
_ENUM_RE = re.compile(r"^(?:\(?\[?(?:(?:\d{1,3}\.)*\d{1,3}|[a-zA-Z]|[ivxlc]{1,5})[.)\]:]|[•·▪‣◦○●■□\-–—*>])$")
_CURRENCY = {"$", "€", "£", "¥"}
_EQ_NUMBER_RE = re.compile(r"^\(\s*\d+(?:\.\d+)*[a-z]?\s*\)$")
_CODE_RE = re.compile(r"[{};]|==|!=|:=|->|=>|<-|\w\(|\)\s*$|^\s*(?:#|//)")
_SENTENCE_END_RE = re.compile(r"[a-z]{3,}[.!?]$")


@dataclass
class _Piece:
    """A cell's text on one row: adjacent spans joined."""

    text: str
    bbox: Box
    spans: list[Span]


def find_text_tables(spans: list[Span], page_width: float) -> list[GridTable]:
    """Whitespace-aligned tables among ``spans`` (the spans of a page outside any ruled table)."""
    rows = [_pieces(r) for r in _baseline_rows(spans)]
    tables: list[GridTable] = []
    i = 0
    while i < len(rows):
        end, cols = _run(rows, i)
        if end - i >= 3:
            table = _table(rows[i:end], cols, rows[:i] + rows[end:], page_width)
            if table is not None:
                tables.append(table)
            # Refused or not, the run is done with: its last rows alone are no more a table than all of it (a
            # table of contents' last three entries), and starting again on every row would cost O(rows²).
            i = end
            continue
        i += 1
    return tables


def _baseline_rows(spans: list[Span]) -> list[list[Span]]:
    """Spans grouped by baseline: a span joins the row whose vertical extent holds its centre. Superscripts
    stay within their line's extent and so stay on it."""
    rows: list[list[Span]] = []
    extents: list[list[float]] = []
    for s in sorted(spans, key=lambda s: ((s.bbox[1] + s.bbox[3]) / 2, s.bbox[0])):
        cy = (s.bbox[1] + s.bbox[3]) / 2
        if rows and extents[-1][0] - 0.5 <= cy <= extents[-1][1] + 0.5:
            rows[-1].append(s)
            extents[-1] = [min(extents[-1][0], s.bbox[1]), max(extents[-1][1], s.bbox[3])]
        else:
            rows.append([s])
            extents.append([s.bbox[1], s.bbox[3]])
    return rows


def _pieces(row: list[Span]) -> list[_Piece]:
    """A row's spans left to right, joined where they are closer than a cell gap. The gap is about one line
    height: word spaces are a quarter of that, justified prose stretches them to half, and a column gutter
    is wider (an exception, a justified line with very wide spaces, is caught by the column test: its wide
    spaces fall at different x on every line)."""
    out: list[_Piece] = []
    for s in sorted(row, key=lambda s: s.bbox[0]):
        text = s.text.strip()
        if not text:
            continue
        h = s.bbox[3] - s.bbox[1]
        # A currency sign printed apart belongs to the figure after it ("$   2,822"), never to the one before.
        after_sign = bool(out) and out[-1].text in _CURRENCY and s.bbox[0] - out[-1].bbox[2] < 4 * h
        if text in _CURRENCY:
            out.append(_Piece(text=text, bbox=s.bbox, spans=[s]))
        elif after_sign or (out and s.bbox[0] - out[-1].bbox[2] < max(4.0, 0.9 * h)):
            p = out[-1]
            glue = "" if s.bbox[0] - p.bbox[2] < 0.08 * h and not s.text[:1].isspace() else " "
            p.text = p.text + glue + text
            p.bbox = _union([p.bbox, s.bbox])
            p.spans.append(s)
        else:
            out.append(_Piece(text=text, bbox=s.bbox, spans=[s]))
    # A sign the PDF put in the same span as the figure before it ("3,405 $"): it is the next figure's.
    for a, b in pairwise(out):
        head, _, sign = a.text.rpartition(" ")
        if sign in _CURRENCY and head and not b.text.startswith(sign):
            a.text, b.text = head, f"{sign} {b.text}"
    return out


def _height(row: list[_Piece]) -> float:
    return max(p.bbox[3] for p in row) - min(p.bbox[1] for p in row)


def _run(rows: list[list[_Piece]], start: int) -> tuple[int, list[list[float]]]:
    """The rows from ``start`` that stack into the same columns, as (end index, column x-ranges). A run starts
    at a row of >= 2 pieces; it ends at a row that bridges two columns, one that puts a new column too close
    to another, or a vertical gap of more than about two lines."""
    if len(rows[start]) < 2:
        return start, []
    cols: list[list[float]] = [[p.bbox[0], p.bbox[2]] for p in rows[start]]
    if not _separated(cols, _height(rows[start])):
        return start, []
    end = start + 1
    while end < len(rows):
        row, prev = rows[end], rows[end - 1]
        h = max(_height(row), _height(prev))
        if min(p.bbox[1] for p in row) - max(p.bbox[3] for p in prev) > 2.2 * h:
            break
        if len(row) == 1 and not _continues(row[0], prev, cols, h):
            break
        trial = [c[:] for c in cols]
        ok = True
        for p in row:
            hit = [c for c in trial if p.bbox[0] < c[1] + 1 and p.bbox[2] > c[0] - 1]
            if len(hit) > 1:
                ok = False  # a piece across two columns: a caption, a heading or a line of prose
                break
            if hit:
                hit[0][0], hit[0][1] = min(hit[0][0], p.bbox[0]), max(hit[0][1], p.bbox[2])
            else:
                trial.append([p.bbox[0], p.bbox[2]])
        trial.sort()
        if not ok or not _separated(trial, h):
            break
        cols = trial
        end += 1
    return end, cols


def _body_columns(rows: list[list[_Piece]], cols: list[list[float]]) -> list[list[float]]:
    """The columns of the run's commonest rows, where they split the run's columns further: header pieces wider
    than their column ("And you are—" over "Single | Qualifying | Married") join neighbouring columns in the
    run, and the body's own gaps take them apart again. Header pieces then go by their centre."""
    counts = [len(r) for r in rows if len(r) >= 2]
    mode = max(set(counts), key=lambda n: (counts.count(n), n))  # the body's rows: the commonest shape
    full = [r for r in rows if len(r) == mode]
    spans = sorted([p.bbox[0], p.bbox[2]] for r in full for p in r)
    h = max(_height(r) for r in full)
    body: list[list[float]] = []
    for a, b in spans:
        if body and a - body[-1][1] < max(4.0, 0.9 * h):
            body[-1][1] = max(body[-1][1], b)
        else:
            body.append([a, b])
    return body if len(body) > len(cols) else cols


def _continues(piece: _Piece, prev: list[_Piece], cols: list[list[float]], h: float) -> bool:
    """A row of one piece belongs to the run only as a wrapped cell: just under the row above and inside one
    column, starting near its left edge. A paragraph below a table starts further left or runs wider."""
    if piece.bbox[1] - max(p.bbox[3] for p in prev) > 0.8 * h:
        return False
    return any(abs(piece.bbox[0] - c[0]) <= 2 * h and piece.bbox[2] <= c[1] + 4 * h
               and (k + 1 == len(cols) or piece.bbox[2] < cols[k + 1][0]) for k, c in enumerate(cols))


def _separated(cols: list[list[float]], h: float) -> bool:
    """Columns stand at least a cell gap apart (see ``_pieces``)."""
    return all(b[0] - a[1] >= max(4.0, 0.9 * h) for a, b in pairwise(cols))


def _table(rows: list[list[_Piece]], cols: list[list[float]], others: list[list[_Piece]],
           page_width: float) -> GridTable | None:
    """The run ``rows`` as a table, or None when it does not look like one. ``others`` are the page's other
    rows (to tell a page's text column from a table column)."""
    cols = _body_columns(rows, cols)
    # Column edges: the middle of each gutter, so a cell's pieces go to the column they stand in.
    edges = [-1e9, *((a[1] + b[0]) / 2 for a, b in pairwise(cols)), 1e9]
    grid: list[list[list[_Piece]]] = []
    for row in rows:
        cells: list[list[_Piece]] = [[] for _ in cols]
        for p in row:
            cx = (p.bbox[0] + p.bbox[2]) / 2
            k = next(k for k in range(len(cols)) if edges[k] <= cx < edges[k + 1])
            cells[k].append(p)
        filled = [k for k, c in enumerate(cells) if c]
        # One piece in a value column just under the row above: that row's cell wrapped.
        if grid and len(filled) == 1 and filled[0] > 0 and grid[-1][filled[0]]:
            above = grid[-1][filled[0]][-1]
            if cells[filled[0]][0].bbox[1] - above.bbox[3] < 0.6 * _height(row):
                grid[-1][filled[0]].extend(cells[filled[0]])
                continue
        grid.append(cells)
    texts = [[_joined([p.text for p in c]) for c in r] for r in grid]
    if not _looks_like_table(texts, grid, cols, others, page_width):
        return None
    span_rows = [[s for c in r for p in c for s in p.spans] for r in grid]
    bbox = _union([s.bbox for r in span_rows for s in r])
    row_boxes = _row_boxes(span_rows, bbox)
    spans_of = [[[s.bbox for p in c for s in p.spans] for c in r] for r in grid]
    rows_out: list[list[str | None]] = [list(r) for r in texts]
    return GridTable(bbox=bbox, rows=rows_out, row_boxes=row_boxes, cell_boxes=_cell_boxes(spans_of, row_boxes),
                     header_rows=_header_rows(texts, span_rows))


def _header_rows(texts: list[list[str]], span_rows: list[list[Span]]) -> int:
    """1 when the first row is a header: it has no row label (column heads over figures), or it is set in
    other fonts than the row below ("Variable | Description" in italics over the variables). Else 0: the first
    row of an abbreviation list is a row like the others, and as a header it would be read as every row's
    column names."""
    if not texts[0][0]:
        return 1
    return int(len(span_rows) > 1 and not {s.font for s in span_rows[0]} & {s.font for s in span_rows[1]})


def _joined(lines: list[str]) -> str:
    """A cell's lines as one text. A word broken at a line end ("dictio-" / "nary") is joined here: table cells
    do not pass through the document-wide hyphen pass that running text gets."""
    out = ""
    for t in lines:
        if out.endswith("-") and len(out) > 1 and out[-2].isalpha() and t[:1].islower():
            out = out[:-1] + t
        else:
            out = f"{out} {t}" if out else t
    return out


def _looks_like_table(texts: list[list[str]], grid: list[list[list[_Piece]]], cols: list[list[float]],
                      others: list[list[_Piece]], page_width: float) -> bool:
    multi = [r for r in texts if sum(1 for c in r if c) >= 2]
    if len(multi) < 3 or len(multi) < 0.6 * len(texts):
        return False
    cells = [c for r in texts for c in r if c]
    if _mostly_rtl(" ".join(cells)):
        return False  # right-to-left forms read label then value from the right: not the order kept here
    if len(multi) == 3 and len(cells) < 0.75 * len(texts) * len(cols):
        return False  # three sparse rows: labels of a chart or a diagram, more often than a table
    if len(multi) == 3 and len(cols) == 2:
        # Three "label  value" lines (an invoice's totals under its item table, a signature block) read well as
        # lines ("Total amount due 1.234,56 EUR"); as a table they sit beside the item table's "Amount" column,
        # and the 0.5B model took a line amount for the invoice total (tests/pipeline/test_real_model.py).
        return False
    spans = [s for r in grid for c in r for p in c for s in p.spans]
    if sum(1 for s in spans if s.mono) > 0.5 * len(spans):
        return False  # code or console output: its lines are read as code, in order
    if any(_prose_column(grid, k, cols, page_width) for k in range(len(cols))):
        return False  # the lines of a text column beside a table or a figure (a two-column page)
    if any(_LEADER_RE.search(c) for c in cells):
        return False  # a table of contents (or a form's fill-in lines): its lines already read well
    if sum(1 for c in cells if _CODE_RE.search(c)) > 0.2 * len(cells):
        return False  # a code listing with aligned comments
    if sum(1 for c in cells if len(c) == 1 and not c.isalnum()) > 0.1 * len(cells):
        return False  # an equation set apart in pieces (operators between the terms)
    first = [r[0] for r in texts if r[0]]
    if sum(1 for c in first if _ENUM_RE.match(c)) >= 0.3 * max(1, len(first)):
        return False  # a numbered or bulleted list, a reference list
    last = [r[-1] for r in texts if r[-1]]
    if sum(1 for c in last if _EQ_NUMBER_RE.match(c)) >= 0.3 * max(1, len(last)):
        return False  # numbered equations
    if _page_numbers(texts):
        return False  # a table of contents without leaders
    if len(cols) == 2 and _counting(first):
        return False  # a numbered list ("10  Evidence of citizenship", "11  ..."): an arrangement of sections
    header = not texts[0][0]  # a header row (no row label) holds no values, and vouches for two rows below it
    body = texts[1:] if header else texts
    if any(_values_column(body, k, 2 if header else 3) for k in range(1, len(cols))):
        return _short_cells(cells)
    return _label_value(texts, grid, cols, others, page_width)


def _is_value(c: str) -> bool:
    """A number (with its unit, sign, range or percentage), or a short value: <= 3 words, <= 24 characters."""
    return bool(_NUMBER_RE.match(c)) or (len(c.split()) <= 3 and len(c) <= 24 and not _SENTENCE_END_RE.search(c))


def _values_column(texts: list[list[str]], k: int, least: int) -> bool:
    """Column ``k`` holds >= ``least`` cells, mostly numbers (>= 60%) and, together, mostly values (>= 80%)."""
    col = [r[k] for r in texts if r[k]]
    if len(col) < least:
        return False
    numbers = sum(1 for c in col if _NUMBER_RE.match(c))
    values = sum(1 for c in col if _is_value(c))
    return numbers >= 0.6 * len(col) and values >= 0.8 * len(col)


def _short_cells(cells: list[str]) -> bool:
    """Table cells are short: prose cut at a gutter is not a table even when a number stands beside it."""
    return sum(len(c.split()) for c in cells) / len(cells) <= 6


def _label_value(texts: list[list[str]], grid: list[list[list[_Piece]]], cols: list[list[float]],
                 others: list[list[_Piece]], page_width: float) -> bool:
    """A column of short labels (the first), each beside a value or a description: a variable/description
    table, a specification sheet. Refused when the value column is one of the page's text columns: a line of
    prose in that column just above or below the run means the "labels" are short lines of the column beside
    (a two-column page), not a table."""
    if len(cols) != 2:
        return False  # three or more columns of words without numbers: more likely a layout than a table
    labels = [r[0] for r in texts if r[0]]
    if len(labels) < 3 or any(not r[0] for r in texts[1:]):
        return False
    short = sum(1 for c in labels if len(c.split()) <= 4 and len(c) <= 32 and not _SENTENCE_END_RE.search(c))
    if short < 0.9 * len(labels):
        return False
    label_w = cols[0][1] - cols[0][0]
    value_w = cols[1][1] - cols[1][0]
    if label_w > 0.6 * value_w or cols[1][0] - cols[0][1] > 0.25 * page_width:
        return False  # a wide label column or a wide gutter: two page columns, not labels and values
    # The value column's x is the page's text column if lines start there outside the run, close above or below.
    top = min(p.bbox[1] for c in grid[0] for p in c)
    bottom = max(p.bbox[3] for c in grid[-1] for p in c)
    h = _height([p for c in grid[0] for p in c])
    x0 = cols[1][0]
    for row in others:
        y0, y1 = min(p.bbox[1] for p in row), max(p.bbox[3] for p in row)
        near = top - 3 * h <= y1 <= top + 0.5 or bottom - 0.5 <= y0 <= bottom + 3 * h
        if near and any(abs(p.bbox[0] - x0) < 2 and p.bbox[2] - p.bbox[0] > 0.25 * page_width for p in row):
            return False
    return True


def _page_numbers(texts: list[list[str]]) -> bool:
    """The last column is page numbers beside titles: integers that never decrease, and no other column holds
    numbers (a table of contents without leaders)."""
    last = [r[-1] for r in texts if r[-1]]
    if len(last) < 3 or not all(c.isdigit() for c in last):
        return False
    nums = [int(c) for c in last]
    if any(b < a for a, b in pairwise(nums)):
        return False
    others = [c for r in texts for c in r[:-1] if c]
    return sum(1 for c in others if _NUMBER_RE.match(c)) < 0.3 * max(1, len(others))


def _counting(first: list[str]) -> bool:
    """Integers counting up by one: the numbers of a list, not a column of codes or values."""
    if len(first) < 3 or not all(c.isdigit() for c in first):
        return False
    nums = [int(c) for c in first]
    return all(b - a == 1 for a, b in pairwise(nums))


def _prose_column(grid: list[list[list[_Piece]]], k: int, cols: list[list[float]], page_width: float) -> bool:
    """Column ``k`` is running text: wide, and most of its lines are several words that fill its width
    (justified or nearly so), as a page column's lines do. A table's text cells are ragged."""
    width = cols[k][1] - cols[k][0]
    if width < 0.25 * page_width:
        return False
    lines = [p for r in grid for p in r[k]]
    if len(lines) < 3:
        return False
    full = sum(1 for p in lines if p.bbox[2] - p.bbox[0] >= 0.85 * width and len(p.text.split()) >= 4)
    return full >= 0.5 * len(lines)
