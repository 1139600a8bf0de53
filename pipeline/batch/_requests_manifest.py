"""The state of a Batch API job: ``DIR/manifest.json``, and where each of the job's files lies in DIR.

    DIR/manifest.json          this state: settings, documents, the custom_id of every request, the rounds
    DIR/documents/<hash>.json  each parsed document, so collect reads exactly what prepare read
    DIR/requests.jsonl         round 1: the requests to submit (OpenAI Batch API input lines)
    DIR/requests-<n>.jsonl     round n >= 2: the re-asks and re-sends that round 1 left
    DIR/output-<n>.jsonl       round n's output file (downloaded, or written by run-local)
    DIR/errors-<n>.jsonl       round n's error file, when the provider wrote one

The manifest is rewritten whole (temporary file, fsync, rename) whenever it changes, so a crash leaves
the old state or the new one, never half of each.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from pipeline.document import ErrorRecord
from pipeline.exceptions import RaglineError
from pipeline.llm import BodyForm

MANIFEST_FORMAT = 1
MANIFEST = "manifest.json"
CHAT_ENDPOINT = "/v1/chat/completions"


class BatchStateError(RaglineError):
    """A batch job folder that cannot be used as asked (not prepared, round not submitted, still running)."""

    _reason = "batch_state"


class RequestRef(BaseModel):
    """What one custom_id stands for: the documents it serves, the ask (``choice``/``free``), its fields."""

    sources: list[str]
    part: str
    fields: list[str] = Field(default_factory=list)
    round: int


class DocEntry(BaseModel):
    """One input document of the job."""

    source: str = Field(description="the path as given (the records' source)")
    path: str = Field(description="absolute path: where collect finds the file again")
    doc_id: str
    content_hash: str
    document: str | None = Field(default=None, description="the parsed document's file in DIR")
    errors: list[ErrorRecord] = Field(default_factory=list, description="why it never reaches the model (missing, unparseable)")
    decided: dict[str, Any] = Field(default_factory=dict, description="fields rules settled at prepare time")
    asks: list[str] = Field(default_factory=list, description="its model requests, by ask name")


class RoundEntry(BaseModel):
    """One round of requests: its input file, and what became of it."""

    round: int
    requests: str
    count: int
    input_file_id: str | None = None
    batch_id: str | None = None
    status: str | None = Field(default=None, description="the provider's batch status, or 'completed' after run-local")
    request_counts: dict[str, int] = Field(default_factory=dict)
    output: str | None = None
    errors: str | None = None
    local: bool = False
    collected: bool = False


class Manifest(BaseModel):
    format: int = MANIFEST_FORMAT
    ragline_version: str
    schema_spec: str
    schema_sha: str = Field(description="hash of the schema's JSON schema and code: collect refuses another")
    run_key: str
    run: dict[str, Any] = Field(default_factory=dict, description="what the run key stands for")
    options: dict[str, Any] = Field(description="ExtractionOptions")
    body_form: BodyForm
    endpoint: str = CHAT_ENDPOINT
    max_rounds: int
    documents: list[DocEntry]
    requests: dict[str, RequestRef] = Field(default_factory=dict)
    rounds: list[RoundEntry] = Field(default_factory=list)

    @property
    def current(self) -> RoundEntry:
        return self.rounds[-1]


def requests_name(round_no: int) -> str:
    return "requests.jsonl" if round_no == 1 else f"requests-{round_no}.jsonl"


def load_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BatchStateError(f"{folder} is not a prepared batch job (no {MANIFEST}); run `ragline batch prepare`",
                              stage="batch") from exc
    except (OSError, ValueError) as exc:
        raise BatchStateError(f"cannot read {path}: {exc}", stage="batch") from exc
    if isinstance(data, dict) and data.get("format") != MANIFEST_FORMAT:
        raise BatchStateError(f"{path} has format {data.get('format')!r}; this ragline reads {MANIFEST_FORMAT}",
                              stage="batch")
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise BatchStateError(f"{path} is damaged: {exc.errors()[0]['msg']}", stage="batch") from exc


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (temporary file, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_manifest(folder: Path, manifest: Manifest) -> None:
    write_atomic(folder / MANIFEST, manifest.model_dump_json(indent=1) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The complete JSON lines of ``path`` (a torn last line, or one that is not an object, is left out)."""
    out: list[dict[str, Any]] = []
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return out
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


__all__ = [
    "CHAT_ENDPOINT",
    "BatchStateError",
    "DocEntry",
    "Manifest",
    "RequestRef",
    "RoundEntry",
    "load_manifest",
    "read_jsonl",
    "requests_name",
    "save_manifest",
    "write_atomic",
]
