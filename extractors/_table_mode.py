"""The closed set of PDF table-finding modes, spelled once (stdlib only, so the CLI can list them in
``--help`` without loading pydantic or PyMuPDF)."""

from __future__ import annotations

from enum import Enum


class TableMode(str, Enum):
    """How PDF tables are found."""

    AUTO = "auto"  # ragline's grid finder on pages with rules or shading, whitespace-aligned tables elsewhere (~1-3 ms a page)
    PYMUPDF = "pymupdf"  # PyMuPDF's find_tables on those pages (0.3-1.5 s a page)
    ALWAYS = "always"  # find_tables on every page
    NEVER = "never"


__all__ = ["TableMode"]
