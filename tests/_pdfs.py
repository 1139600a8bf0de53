"""PDFs the tests draw themselves (no fixture files): a ruled table under a heading."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pymupdf


def ruled_table_pdf(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    """A ruled table of ``rows`` on page 1 under the heading "Statements of Operations", each row 20 pt high from
    y = 90, columns at x = 72, 250, 370 (to 490), and a sentence below it."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 60), "Statements of Operations", fontsize=13)
    xs = [72, 250, 370, 490]
    for i in range(len(rows) + 1):
        page.draw_line((xs[0], 90 + 20 * i), (xs[-1], 90 + 20 * i))
    for x in xs:
        page.draw_line((x, 90), (x, 90 + 20 * len(rows)))
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            page.insert_text((xs[j] + 4, 104 + 20 * i), cell, fontsize=10)
    page.insert_text((72, 220), "Competition is intense and margins may fall.", fontsize=10)
    doc.save(path)
    return path
