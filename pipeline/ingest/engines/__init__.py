"""Ingest engines: they turn parse jobs into prepared documents (parsed, chunked; Ray also embeds) and hand
them back in input order to the one writer, :class:`pipeline.ingest.Ingestor`. ``local`` (the default) and
``ray`` are imported only when they run."""
