"""What a search is restricted to: sources, pages, documents; the store turns it into SQL."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SearchFilter:
    """Restriction of a search to some sources and/or pages (the store turns it into SQL)."""

    source_glob: str | None = None
    page_ranges: tuple[tuple[int, int], ...] = ()
    documents: tuple[str, ...] = ()  # document paths (what query linking resolved); empty: any

    @property
    def active(self) -> bool:
        return bool(self.source_glob or self.page_ranges or self.documents)


__all__ = ["SearchFilter"]
