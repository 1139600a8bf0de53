"""The parse of each cited file, read at most once per report (pipeline.report._report).

A citation whose quote text search cannot find on its page is boxed on the element holding it, which needs
the file's parsed :class:`Document`. When the report's sources are an ``Index`` or a ``Pipeline`` that is the
parse the index stored (made with the options it was built with: OCR, main-content settings, ...); otherwise,
or for a file the index does not hold, the file is parsed with default options, once per path.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.document import Document
    from pipeline.index import Index

log = logging.getLogger(__name__)


def index_of(sources: Any) -> Index | None:
    """The index behind a report's ``sources``: an ``Index``, a ``Pipeline`` (its ``.index``), else None."""
    if isinstance(sources, (str, bytes)) or sources is None:
        return None
    for candidate in (sources, getattr(sources, "index", None)):
        if callable(getattr(candidate, "stored_document", None)):
            return candidate
    return None


class Parses:
    """The parsed documents of one report's cited files, each loaded (or parsed) at most once, when asked."""

    def __init__(self, sources: Any = None) -> None:
        self.index = index_of(sources)
        self._by_path: dict[str, Document | None] = {}

    def __call__(self, source: str, path: Path) -> Document | None:
        """The parse of the file at ``path`` (cited as ``source``), or None when it cannot be had."""
        key = str(Path(path).resolve())
        if key not in self._by_path:
            self._by_path[key] = self._load(source, Path(path))
        return self._by_path[key]

    def _load(self, source: str, path: Path) -> Document | None:
        if self.index is not None:
            for name in dict.fromkeys((source, str(path))):
                try:
                    stored = self.index.stored_document(name)
                except Exception as exc:  # noqa: BLE001 - an unreadable stored parse: parse the file instead
                    log.debug("stored parse of %s unreadable: %s", name, exc)
                    stored = None
                if stored is not None:
                    return stored
        try:
            from pipeline.parsing import parse

            return parse(path)
        except Exception:  # noqa: BLE001 - a report shows what it can; an unparsable file has no boxes
            return None


__all__ = ["Parses", "index_of"]
