"""XLSX backend on openpyxl (read-only, streaming): one page per worksheet, its name as a heading and its used
range as a table (empty rows and columns dropped, the first row as header). Cells give their stored values:
the result of a formula as the spreadsheet program last computed it.

openpyxl parses through defusedxml (a ragline dependency), and the archive is checked first (``_office_zip``).
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from extractors._office_zip import ZipLimits, checked_zip
from extractors._structure import assign_heading_paths
from pipeline.document import Document, Element, ElementKind, TableData
from pipeline.exceptions import CorruptDocumentError, DocumentTooLargeError

DEFAULT_MAX_CELLS = 2_000_000


class XlsxExtractor:
    """XLSX -> Document. openpyxl is imported on first ``extract``."""

    format = "xlsx"

    def __init__(self, *, limits: ZipLimits | None = None, max_cells: int = DEFAULT_MAX_CELLS) -> None:
        self.limits = limits or ZipLimits()
        self.max_cells = max_cells

    def extract(self, data: bytes, *, source: str, content_hash: str) -> Document:
        checked_zip(data, source, self.limits, "xlsx")
        import openpyxl

        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises KeyError, InvalidFileException, defusedxml errors ...
            raise CorruptDocumentError(f"cannot open XLSX: {type(exc).__name__}: {exc}", source=source, stage="parse") from exc
        elements: list[Element] = []
        empty: list[str] = []
        cells = 0
        try:
            for number, ws in enumerate(wb.worksheets, start=1):
                rows = _used_rows(ws)
                cells += sum(len(r) for r in rows)
                if cells > self.max_cells:
                    raise DocumentTooLargeError(
                        f"XLSX has more than {self.max_cells:,} non-empty cells (sheet {ws.title!r})",
                        source=source, page=number, stage="parse",
                    )
                if not rows:
                    empty.append(ws.title)
                    continue
                meta = {"sheet": ws.title, **({"hidden": True} if ws.sheet_state != "visible" else {})}
                elements.append(Element(kind=ElementKind.HEADING, text=ws.title, level=1, page=number, metadata=meta))
                table = TableData(rows=rows, header_rows=1)
                elements.append(Element(kind=ElementKind.TABLE, text=table.to_markdown(), table=table, page=number,
                                        metadata={"sheet": ws.title}))
            n_sheets = len(wb.worksheets)
        finally:
            wb.close()
        assign_heading_paths(elements)
        metadata: dict[str, Any] = {"sheets": n_sheets}
        if empty:
            metadata["empty_sheets"] = empty
        return Document(source=source, content_hash=content_hash, format="xlsx", pages=n_sheets, elements=elements,
                        metadata=metadata)


def _used_rows(ws: Any) -> list[list[str | None]]:
    """The sheet's values as text, without rows or columns that are empty throughout."""
    rows = []
    for raw in ws.iter_rows(values_only=True):
        row = [_cell_text(v) for v in raw]
        if any(row):
            rows.append(row)
    if not rows:
        return []
    width = max(len(r) for r in rows)
    rows = [r + [None] * (width - len(r)) for r in rows]
    keep = [j for j in range(width) if any(r[j] for r in rows)]
    return [[r[j] for j in keep] for r in rows]


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    text = " ".join(str(value).split())
    return text or None
