"""What makes a finished document finished: its content hash, and the run key of what it was processed with.

The run key is the SHA-256 of a description of everything that can change an extraction record:

* the schema: its JSON schema, and its source code where Python has it (so a changed validator counts);
* the prompts: the texts of the extraction and choice system prompts, and ragline's version (bumped
  when extraction output changes, which covers the prompt wording built in code);
* the model: the endpoint (its URL hashed, never stored) and model name, or the embedded model's
  pinned SHA-256 (a ``.gguf`` path: path, size and mtime) and context size; not threads, timeouts or
  concurrency, which change speed, not records;
* the extraction options (strategy, attempts, context budget, ...) and the parse options' fingerprint.

A document is redone when its file's content hash or the run key differs from its journal row's.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.batch._output import WorkItem
from pipeline.document import ErrorRecord, file_content_hash

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pipeline.extraction import ExtractionOptions
    from pipeline.llm import LLMSettings


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (the same as ``Document.content_hash``); empty when it cannot be read."""
    try:
        return file_content_hash(path, chunk)
    except OSError:
        return ""


def work_items(files: list[Path], missing: list[ErrorRecord] | None = None) -> list[WorkItem]:
    """A :class:`WorkItem` per file (hashed here, once) and per path that does not exist."""
    items = [WorkItem(path=str(p), doc_id=os.path.realpath(p), content_hash=file_sha256(p)) for p in files]
    for record in missing or []:
        source = record.source or ""
        items.append(WorkItem(path=source, doc_id=os.path.realpath(source) if source else "", content_hash="",
                              error=record))
    return items


def _schema_description(schema: type[BaseModel]) -> dict[str, str]:
    try:
        code = inspect.getsource(schema)
    except (OSError, TypeError):  # built from a JSON schema, or defined where no source is kept
        code = ""
    return {"name": schema.__name__,
            "json_schema": _sha(json.dumps(schema.model_json_schema(), sort_keys=True, default=str)),
            "code": _sha(code) if code else ""}


def _prompts_sha() -> str:
    from pipeline.extraction import CHOICE_SYSTEM
    from pipeline.llm.prompts import EXTRACTION_SYSTEM
    from pipeline.version import __version__

    return _sha(f"{__version__}\0{EXTRACTION_SYSTEM}\0{CHOICE_SYSTEM}")


def model_identity(settings: LLMSettings) -> dict[str, Any]:
    """What identifies the model that writes the records (no secret, no URL in clear)."""
    if settings.base_url is not None:
        return {"endpoint": _sha(settings.base_url.rstrip("/"))[:16], "model": settings.model or "default",
                "structured_mode": settings.structured_mode or "auto"}
    from pipeline.llm import LOCAL_MODELS

    embedded = settings.embedded
    spec = LOCAL_MODELS.get(embedded.model)
    if spec is not None:
        weights = spec.sha256
    else:
        path = Path(embedded.model)
        try:
            st = path.stat()
            weights = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            weights = str(path)
    return {"embedded": embedded.model, "weights": weights, "n_ctx": embedded.n_ctx,
            "structured_mode": settings.structured_mode or "json_object"}


def extraction_run_key(schema: type[BaseModel], options: ExtractionOptions, settings: LLMSettings,
                       parse_fingerprint: str) -> tuple[str, dict[str, Any]]:
    """(run key, its description) for extracting ``schema`` with these options and this model."""
    description = {
        "schema": _schema_description(schema),
        "prompts": _prompts_sha(),
        "model": model_identity(settings),
        "options": options.model_dump(mode="json"),
        "parse": parse_fingerprint,
    }
    return _sha(json.dumps(description, sort_keys=True, default=str)), description


__all__ = ["extraction_run_key", "file_sha256", "model_identity", "work_items"]
