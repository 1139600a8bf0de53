"""``ragline parse``'s outputs: where documents go (stdout, one file, one file per document in a folder), the
records of what went wrong, and the run's report (the summary on stderr, ``--json`` on stdout).

A document is written even when partial; every failed or partial document also gets a record: a JSON line
``{"source", "status", "errors"}`` (or an HTML comment in Markdown) in single-file output, and its
:class:`~pipeline.document.ErrorRecord` s in ``_errors.jsonl`` beside folder output. A write that fails for one
document in a folder is recorded (stage ``write``) and the batch goes on; single-file output that cannot be
written ends the run with one line (:class:`OutputError`). A closed pipe is left to ``run_command`` (quiet).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, Field

from pipeline.cli._errors import OutputError
from pipeline.document import ErrorRecord
from pipeline.parsing import SkippedFile

FORMATS = {"markdown": ".md", "elements": ".jsonl", "chunks": ".jsonl"}


class DocOutcome(BaseModel):
    """One input's line in the report."""

    source: str
    status: str = Field(description="success | partial | failure")
    pages: int = 0
    ocr_pages: list[int] = Field(default_factory=list)
    unreadable_pages: list[int] = Field(default_factory=list)
    output: str | None = None
    errors: list[ErrorRecord] = Field(default_factory=list)
    seconds: float = 0.0


class ParseReport(BaseModel):
    """What ``ragline parse`` did (``--json`` prints it)."""

    documents: int = Field(default=0, description="documents parsed and written, partial ones included")
    pages: int = 0
    ocr_pages: int = Field(default=0, description="pages read by OCR")
    partial: int = 0
    failed: int = 0
    skipped_existing: int = 0
    skipped_files: list[SkippedFile] = Field(default_factory=list)
    seconds: float = 0.0
    results: list[DocOutcome] = Field(default_factory=list)

    def add(self, outcome: DocOutcome) -> None:
        self.results.append(outcome)
        if outcome.status == "failure":
            self.failed += 1
            return
        self.documents += 1
        self.pages += outcome.pages
        self.ocr_pages += len(outcome.ocr_pages)
        self.partial += outcome.status == "partial"

    def problems(self) -> list[ErrorRecord]:
        """Every record of a failed or partial document, in input order (``_errors.jsonl``)."""
        return [e for r in self.results if r.status != "success" for e in r.errors]

    def summary(self) -> str:
        head = f"parsed {self.documents} document(s), {self.pages} page(s) in {self.seconds:.1f}s"
        parts = [f"{self.ocr_pages} page(s) read by OCR" if self.ocr_pages else "",
                 f"skipped {self.skipped_existing} already done" if self.skipped_existing else "",
                 f"{self.partial} partial" if self.partial else "", f"{self.failed} failed" if self.failed else "",
                 f"skipped {len(self.skipped_files)} file(s)" if self.skipped_files else ""]
        lines = ["; ".join([head, *(p for p in parts if p)])]
        by_reason: dict[str, int] = {}
        for r in self.results:
            if r.status == "success":
                continue
            for e in r.errors:
                by_reason[e.reason] = by_reason.get(e.reason, 0) + 1
            shown = "; ".join(f"[{e.reason}] {e.message}" for e in r.errors[:3])
            more = f"; and {len(r.errors) - 3} more" if len(r.errors) > 3 else ""
            lines.append(f"  {'FAILED' if r.status == 'failure' else 'PARTIAL'} {r.source}: {shown}{more}")
        lines += skipped_lines(self.skipped_files)
        if by_reason:
            lines.append("  problems by reason: " + ", ".join(f"{k}={v}" for k, v in sorted(by_reason.items())))
        return "\n".join(lines)


def skipped_lines(skipped: list[SkippedFile]) -> list[str]:
    return [f"  SKIPPED {s.path}: {s.reason}" for s in skipped]


def status_record(outcome: DocOutcome, kind: str) -> str:
    """The line a failed or partial document leaves in single-file output."""
    if kind == "markdown":
        reasons = "; ".join(f"[{e.reason}] {e.message}" for e in outcome.errors).replace("--", "- -")
        return f"<!-- ragline: {outcome.status} {outcome.source}: {reasons} -->\n"
    record = {"source": outcome.source, "status": outcome.status,
              "errors": [e.model_dump(mode="json") for e in outcome.errors]}
    return json.dumps(record, ensure_ascii=False) + "\n"


class StreamSink:
    """Everything into one stream: stdout or a single file."""

    def __init__(self, out: IO[str], kind: str, *, name: str, source_headers: bool) -> None:
        self.out, self.kind, self.name, self.source_headers = out, kind, name, source_headers

    def document(self, outcome: DocOutcome, lines: list[str]) -> None:
        head = f"<!-- source: {outcome.source} -->\n" if self.kind == "markdown" and self.source_headers else ""
        tail = status_record(outcome, self.kind) if outcome.status == "partial" else ""
        self._write(head + "".join(lines) + tail)
        outcome.output = self.name

    def failure(self, outcome: DocOutcome) -> None:
        if self.kind != "markdown" or self.source_headers:
            self._write(status_record(outcome, self.kind))

    def finish(self, report: ParseReport) -> None:
        if self.name != "<stdout>":
            try:
                self.out.close()
            except BrokenPipeError:
                raise
            except OSError as exc:
                raise OutputError.of(exc, self.name) from exc

    def _write(self, text: str) -> None:
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:  # the one output is broken (full disk, ...): nothing else can be written
            raise OutputError.of(exc, self.name) from exc


class FolderSink:
    """One file per document under a folder, and ``_errors.jsonl`` for the problems."""

    def __init__(self, out_dir: Path, kind: str, root: Path | None) -> None:
        self.out_dir, self.kind, self.root = out_dir, kind, root

    def target(self, source: Path) -> Path:
        """Output file for ``source``: its path relative to the common input folder, plus the extension,
        so files with the same name in different sub-folders do not overwrite each other."""
        rel = Path(source.name)
        if self.root is not None:
            try:
                rel = source.resolve().relative_to(self.root)
            except ValueError:
                pass
        name = rel.name.removesuffix(".gz")
        return self.out_dir / rel.parent / (name + FORMATS[self.kind])

    def document(self, outcome: DocOutcome, lines: list[str]) -> None:
        target = self.target(Path(outcome.source))
        try:
            _write_atomic(target, lines)
        except OSError as exc:  # this document is lost; the next may still be written
            record = ErrorRecord(error="OutputError", reason="write_failed", source=outcome.source, stage="write",
                                 message=f"cannot write {target}: {exc.strerror or exc}")
            outcome.status, outcome.errors = "failure", [*outcome.errors, record]
            return
        outcome.output = str(target)

    def failure(self, outcome: DocOutcome) -> None:
        pass

    def finish(self, report: ParseReport) -> None:
        """``_errors.jsonl``: this run's problems, or no file when there were none."""
        err_file = self.out_dir / "_errors.jsonl"
        problems = report.problems()
        try:
            if problems:
                err_file.write_text("".join(f.model_dump_json() + "\n" for f in problems), encoding="utf-8")
            elif err_file.exists():
                err_file.unlink()
        except OSError as exc:
            raise OutputError.of(exc, err_file) from exc


def _write_atomic(target: Path, lines: list[str]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    try:
        tmp.write_text("".join(lines), encoding="utf-8")
        tmp.replace(target)  # atomic: a killed run never leaves half a file behind
    finally:
        if tmp.exists():
            tmp.unlink()


def open_sink(output: str | None, kind: str, root: Path | None, many: bool) -> Any:
    """The sink for ``-o``: stdout, a single file (``.md``/``.jsonl``/any suffix), or a folder."""
    import sys

    from pipeline.cli._common import open_output

    if output is None:
        return StreamSink(sys.stdout, kind, name="<stdout>", source_headers=many)
    path = Path(output)
    if path.is_dir() or (not path.suffix and not path.exists()):
        try:
            path.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise OutputError(f"cannot write into folder {path}: a file is in the way") from exc
        except OSError as exc:
            raise OutputError.of(exc, path) from exc
        return FolderSink(path, kind, root)
    return StreamSink(open_output(path), kind, name=str(path), source_headers=many)
