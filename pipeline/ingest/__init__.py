"""Ingest: files (or parsed documents) -> chunks -> vectors, written into an :class:`~pipeline.index.Index`
by one writer, fed by an engine (``engines/local``: worker processes; ``engines/ray``: Ray Data).

    from pipeline.ingest import Ingestor
    report = Ingestor(index).run(["docs/"], prune=True)
"""

from __future__ import annotations

from pipeline.ingest._ingestor import EngineName, Ingestor, IngestReport, ProgressCallback

__all__ = ["EngineName", "IngestReport", "Ingestor", "ProgressCallback"]
