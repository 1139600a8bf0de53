"""A job's current round at the provider (submit, status, download) or run here (run-local); the manifest
records each step, so every command can be run again after a crash or from another shell."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.batch._provider import BatchInfo, BatchProvider
from pipeline.batch._provider_local import OnAnswer, run_requests
from pipeline.batch._requests_manifest import (
    BatchStateError,
    Manifest,
    RoundEntry,
    save_manifest,
    write_atomic,
)


def _not_yet_run(entry: RoundEntry, action: str) -> None:
    if entry.batch_id:
        raise BatchStateError(f"round {entry.round} was already submitted as {entry.batch_id} "
                              f"({entry.status}); cannot {action} it again", stage="batch")
    if entry.local and entry.output:
        raise BatchStateError(f"round {entry.round} was already run here (run-local); cannot {action} it",
                              stage="batch")


def submit_round(folder: Path, manifest: Manifest, provider: BatchProvider) -> RoundEntry:
    """Upload the current round's requests and create its batch; the ids are recorded at once."""
    entry = manifest.current
    _not_yet_run(entry, "submit")
    if entry.count == 0:
        raise BatchStateError(f"round {entry.round} has no requests (rules settled every field): "
                              "run `ragline batch collect`", stage="batch")
    if entry.input_file_id is None:
        entry.input_file_id = provider.upload(folder / entry.requests)
        save_manifest(folder, manifest)  # an upload that succeeded is not repeated after a crash
    batch = provider.create(entry.input_file_id, metadata={"ragline_round": str(entry.round)})
    _note(entry, batch)
    entry.batch_id = batch.id
    save_manifest(folder, manifest)
    return entry


def _note(entry: RoundEntry, batch: BatchInfo) -> None:
    entry.status = batch.status
    entry.request_counts = dict(batch.request_counts)


def refresh_round(folder: Path, manifest: Manifest, provider: BatchProvider, *, download: bool) -> BatchInfo | None:
    """The current round's batch as the provider reports it; with ``download``, a finished batch's output and
    error files are saved in the folder (``output-<n>.jsonl``, ``errors-<n>.jsonl``). None: not submitted."""
    entry = manifest.current
    if entry.batch_id is None:
        return None
    batch = provider.get(entry.batch_id)
    _note(entry, batch)
    if download and batch.finished and entry.output is None and entry.errors is None:
        # Even a failed or expired batch may hold answers; what it lacks is sent again in the next round.
        entry.errors = _download(folder, provider, batch.error_file_id, f"errors-{entry.round}.jsonl")
        entry.output = _download(folder, provider, batch.output_file_id, f"output-{entry.round}.jsonl")
        if entry.output is None:
            write_atomic(folder / f"output-{entry.round}.jsonl", "")
            entry.output = f"output-{entry.round}.jsonl"
    save_manifest(folder, manifest)
    return batch


def _download(folder: Path, provider: BatchProvider, file_id: str | None, name: str) -> str | None:
    if not file_id:
        return None
    write_atomic(folder / name, provider.content(file_id).decode("utf-8", errors="replace"))
    return name


def run_local_round(folder: Path, manifest: Manifest, make_client: Callable[[], Any],
                    on_answer: OnAnswer | None = None) -> tuple[int, int, int]:
    """Answer the current round's requests here; (succeeded, failed, answered by an earlier run-local)."""
    entry = manifest.current
    if entry.batch_id:
        _not_yet_run(entry, "run-local")
    if entry.collected:
        raise BatchStateError(f"round {entry.round} is collected already; nothing to run", stage="batch")
    output, errors = f"output-{entry.round}.jsonl", f"errors-{entry.round}.jsonl"
    ok, failed, before = run_requests(make_client, folder / entry.requests, folder / output, folder / errors,
                                      on_answer)
    entry.local, entry.output, entry.errors, entry.status = True, output, errors, "completed"
    entry.request_counts = {"total": entry.count, "completed": ok + before, "failed": failed}
    save_manifest(folder, manifest)
    return ok, failed, before


__all__ = ["refresh_round", "run_local_round", "submit_round"]
