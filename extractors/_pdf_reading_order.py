"""Reading order of a PDF page's blocks: column-aware (a gutter-based XY-cut), rows where there are no
columns."""

from __future__ import annotations

from extractors._pdf_layout import Block


def order_blocks(blocks: list[Block]) -> list[Block]:
    """Column-aware reading order (a gutter-based XY-cut).

    Find a vertical gutter that separates narrow multi-line blocks into left and right columns; blocks
    that cross the gutter (titles, full-width figures, tables) split the region into bands; each band is
    read left column first, then right, recursively (three columns are two nested splits). Regions with
    no gutter are read in rows, top to bottom, left to right within a row.
    """
    if len(blocks) <= 1:
        return list(blocks)
    gutter = _find_gutter(blocks)
    if gutter is None:
        return _rows(blocks)
    g0, g1 = gutter
    spanners = sorted((b for b in blocks if b.bbox[0] < g1 and b.bbox[2] > g0), key=lambda b: b.bbox[1])
    rest = [b for b in blocks if not (b.bbox[0] < g1 and b.bbox[2] > g0)]
    out: list[Block] = []
    top = float("-inf")
    for sp in spanners + [None]:
        bottom = sp.bbox[1] if sp is not None else float("inf")
        band = [b for b in rest if top <= (b.bbox[1] + b.bbox[3]) / 2 < bottom]
        left = [b for b in band if b.bbox[2] <= g0 + 0.5]
        right = [b for b in band if b.bbox[0] >= g1 - 0.5]
        if left and right:
            out += order_blocks(left) + order_blocks(right)
        else:
            out += _rows(band)
        if sp is not None:
            out.append(sp)
            top = (sp.bbox[1] + sp.bbox[3]) / 2
    return out


def _rows(blocks: list[Block]) -> list[Block]:
    ordered = sorted(blocks, key=lambda b: (b.bbox[1], b.bbox[0]))
    rows: list[list[Block]] = []
    for b in ordered:
        if rows:
            r = rows[-1]
            ry0, ry1 = min(x.bbox[1] for x in r), max(x.bbox[3] for x in r)
            h = min(b.bbox[3] - b.bbox[1], ry1 - ry0) or 1
            overlap = min(ry1, b.bbox[3]) - max(ry0, b.bbox[1])
            if overlap > 0.5 * h and all(b.bbox[0] >= x.bbox[2] - 1 or b.bbox[2] <= x.bbox[0] + 1 for x in r):
                r.append(b)
                continue
        rows.append([b])
    return [b for r in rows for b in sorted(r, key=lambda x: x.bbox[0])]


def _find_gutter(blocks: list[Block]) -> tuple[float, float] | None:
    x0 = min(b.bbox[0] for b in blocks)
    x1 = max(b.bbox[2] for b in blocks)
    y0 = min(b.bbox[1] for b in blocks)
    y1 = max(b.bbox[3] for b in blocks)
    width, height = x1 - x0, y1 - y0
    if width <= 0 or height <= 0:
        return None
    # Small single-line blocks (page numbers, short centred labels) may sit in the gutter; they must not
    # hide it. Furniture is never part of the reading order decision.
    narrow = [
        b for b in blocks
        if b.width < 0.6 * width and b.table is None and not b.furniture and (len(b.lines) > 1 or b.width >= 0.15 * width)
    ]
    if len(narrow) < 2:
        return None
    # Gaps between all narrow blocks; failing those, between the multi-line ones alone: a centred one-line
    # caption or table row across the gutter must not hide it either (it becomes a band's spanner).
    best = _best_gutter(blocks, narrow, _gaps(narrow), x0, width, height)
    if best is None:
        best = _best_gutter(blocks, narrow, _gaps([b for b in narrow if len(b.lines) > 1]), x0, width, height)
    return best


def _best_gutter(blocks: list[Block], narrow: list[Block], gaps: list[tuple[float, float]], x0: float,
                 width: float, height: float) -> tuple[float, float] | None:
    """The widest of ``gaps`` with prose columns on both sides (see ``_find_gutter``)."""
    x1 = x0 + width
    best = None
    for g0, g1 in gaps:
        mid = (g0 + g1) / 2
        if not (x0 + 0.2 * width < mid < x1 - 0.2 * width):
            continue
        left = [b for b in narrow if b.bbox[2] <= g0 + 0.5]
        right = [b for b in narrow if b.bbox[0] >= g1 - 0.5]
        # Columns hold prose: several lines on each side, a real share of the height. This keeps
        # label/value pairs of forms and invoices (single-line blocks) in row order.
        lines_l = sum(len(b.lines) for b in left)
        lines_r = sum(len(b.lines) for b in right)
        h_l = sum(b.bbox[3] - b.bbox[1] for b in left)
        h_r = sum(b.bbox[3] - b.bbox[1] for b in right)
        if lines_l < 4 or lines_r < 4:
            continue
        if _median([b.width for b in left]) < 0.25 * width or _median([b.width for b in right]) < 0.25 * width:
            continue
        if min(h_l, h_r) < 0.15 * height:
            continue
        # Blocks crossing the gutter must not dominate: that would be a single-column region.
        crossing = [b for b in blocks if b.bbox[0] < g0 and b.bbox[2] > g1]
        if sum(len(b.lines) for b in crossing) > lines_l + lines_r:
            continue
        if best is None or (g1 - g0) > (best[1] - best[0]):
            best = (g0, g1)
    return best


def _gaps(blocks: list[Block]) -> list[tuple[float, float]]:
    """The x-ranges (wider than 6 pt) that none of ``blocks`` covers, between the leftmost and rightmost."""
    if not blocks:
        return []
    intervals = sorted((b.bbox[0], b.bbox[2]) for b in blocks)
    gaps: list[tuple[float, float]] = []
    cur_end = intervals[0][1]
    for s, e in intervals[1:]:
        if s > cur_end + 6:
            gaps.append((cur_end, s))
        cur_end = max(cur_end, e)
    return gaps


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else 0.0
