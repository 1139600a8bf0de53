"""Parsing stage: path -> Document, one backend per format, chosen by content.

``parse`` raises typed errors (fail-fast); ``parse_many`` records them per source and goes on
(record-and-continue), yielding a :class:`ParseResult` for every input.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from extractors import TableMode, default_include
from pipeline.document import Document, ErrorRecord, ParseResult, ParseStatus
from pipeline.document import content_hash as hash_of
from pipeline.exceptions import ConfigurationError, FileAccessError, InputError, RaglineError


class _Options(BaseModel):
    """Frozen options whose bad values raise :class:`ConfigurationError` naming what is allowed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'options'}: {e['msg']}" for e in exc.errors(include_url=False)
            )
            raise ConfigurationError(f"invalid {type(self).__name__}: {problems}", stage="parse") from None


class PdfOptions(_Options):
    password: str | None = Field(default=None, description="password for encrypted PDFs", repr=False)
    max_pages: int | None = Field(default=None, ge=1, description="refuse PDFs with more pages")
    tables: TableMode = Field(default=TableMode.AUTO, description="how tables are found (TableMode)")
    keep_furniture: bool = Field(default=False, description="keep running headers/footers/page numbers as elements")


class HtmlOptions(_Options):
    main_content_only: bool = Field(default=True, description="drop navigation and boilerplate")


class OfficeOptions(_Options):
    """Caps on DOCX/PPTX/XLSX archives (zip bombs): what the zip may expand to, and how many members it may hold."""

    max_uncompressed_bytes: int = Field(default=256 * 1024 * 1024, ge=1, description="refuse larger expansions")
    max_members: int = Field(default=10_000, ge=1, description="refuse archives with more members")


class OcrMode(str, Enum):
    AUTO = "auto"  # pages without a usable text layer, and images
    ALWAYS = "always"  # every PDF page, replacing its text layer
    NEVER = "never"  # such pages are reported unreadable (the document is partial)


class OcrOptions(_Options):
    mode: OcrMode = Field(default=OcrMode.AUTO, description="when to run OCR (OcrMode: auto, always, never)")
    dpi: int = Field(default=150, ge=50, le=600, description="resolution PDF pages are rendered at for OCR")


# Flat keyword names accepted for convenience (ParseOptions(tables="never")), by the group that owns them.
_FLAT_KEYS = {"password": "pdf", "max_pages": "pdf", "tables": "pdf", "keep_furniture": "pdf", "main_content_only": "html"}


class ParseOptions(_Options):
    """Everything that changes how a file becomes a :class:`Document`, one group per format.

    ``ParseOptions(pdf=PdfOptions(tables="never"))`` or, flat, ``ParseOptions(tables="never")``."""

    max_bytes: int | None = Field(default=None, ge=1, description="refuse files larger than this")
    pdf: PdfOptions = Field(default_factory=PdfOptions)
    html: HtmlOptions = Field(default_factory=HtmlOptions)
    office: OfficeOptions = Field(default_factory=OfficeOptions)
    ocr: OcrOptions = Field(default_factory=OcrOptions)

    @model_validator(mode="before")
    @classmethod
    def _group_flat_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not any(k in _FLAT_KEYS for k in data):
            return data
        data = dict(data)
        groups: dict[str, dict[str, Any]] = {"pdf": {}, "html": {}}
        for key in [k for k in data if k in _FLAT_KEYS]:
            groups[_FLAT_KEYS[key]][key] = data.pop(key)
        for name, flat in groups.items():
            if flat:
                base = data.get(name) or {}
                base = base.model_dump() if isinstance(base, BaseModel) else dict(base)
                data[name] = {**base, **flat}
        return data

    def fingerprint(self) -> str:
        """Cache key of the parse output. The password does not change the output, so it stays out (and out
        of logs). Computed over the flat form the options had before they were grouped, so indexes built
        then are not re-parsed for nothing."""
        flat = {
            "max_pages": self.pdf.max_pages,
            "max_bytes": self.max_bytes,
            "tables": self.pdf.tables.value,
            "keep_furniture": self.pdf.keep_furniture,
            "main_content_only": self.html.main_content_only,
        }
        # Groups added later count only when they differ from their defaults: the default fingerprint stays.
        for name in ("office", "ocr"):
            group = getattr(self, name)
            if group != type(group)():
                flat[name] = group.model_dump(mode="json")
        return hashlib.sha256(json.dumps(flat, separators=(",", ":")).encode()).hexdigest()[:16]


class Parser:
    """Pipeline stage: path -> Document."""

    def __init__(self, options: ParseOptions | None = None) -> None:
        self.options = options or ParseOptions()

    def read(self, path: str | os.PathLike[str]) -> bytes:
        p = Path(path)
        source = str(path)
        try:
            if not p.is_file():
                raise FileAccessError("not a file or does not exist", source=source, stage="read")
            size = p.stat().st_size
            if self.options.max_bytes is not None and size > self.options.max_bytes:
                from pipeline.exceptions import DocumentTooLargeError

                raise DocumentTooLargeError(
                    f"file is {size} bytes, over the limit of {self.options.max_bytes}", source=source, stage="read"
                )
            return p.read_bytes()
        except OSError as exc:
            raise FileAccessError(f"cannot read file: {exc.strerror or exc}", source=source, stage="read") from exc

    def run(self, path: str | os.PathLike[str]) -> Document:
        return self.parse_bytes(self.read(path), source=str(path))

    def parse_bytes(self, data: bytes, *, source: str, content_hash: str | None = None) -> Document:
        """Parse ``data`` read from ``source``; ``content_hash``: its sha256 when the caller already has it."""
        from extractors import detect_format, get_extractor, maybe_decompress

        content_hash = content_hash or hash_of(data)
        payload = maybe_decompress(data, source)
        fmt = detect_format(payload, source.removesuffix(".gz"))
        extractor = get_extractor(fmt, self.options)
        try:
            doc = extractor.extract(payload, source=source, content_hash=content_hash)
        except RaglineError:
            raise
        except Exception as exc:  # a backend bug or library error: wrap with context, never crash a batch
            from pipeline.exceptions import CorruptDocumentError

            raise CorruptDocumentError(f"{fmt} extraction failed: {type(exc).__name__}: {exc}", source=source, stage="parse") from exc
        if not any(e.text.strip() for e in doc.elements):
            from pipeline.exceptions import EmptyDocumentError

            raise EmptyDocumentError(f"no text content found in {fmt} document", source=source, stage="parse")
        return doc


def parse(path: str | os.PathLike[str], options: ParseOptions | None = None) -> Document:
    """Parse one file into a :class:`Document`; raises a :class:`~pipeline.exceptions.InputError` subclass."""
    return Parser(options).run(path)


def parse_many(
    paths: Iterable[str | os.PathLike[str]],
    options: ParseOptions | None = None,
    *,
    workers: int = 1,
) -> Iterator[ParseResult]:
    """Parse every path, recording failures instead of raising. Yields results in input order.

    ``workers > 1`` parses in that many processes (parsing is CPU-bound; PyMuPDF holds the GIL)."""
    if workers <= 1:
        parser = Parser(options)
        for path in paths:
            yield _parse_one(parser, path)
        return
    import concurrent.futures as cf
    import functools

    with cf.ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(functools.partial(_parse_in_worker, options), paths, chunksize=1)


def _parse_in_worker(options: ParseOptions | None, path: str | os.PathLike[str]) -> ParseResult:
    return _parse_one(Parser(options), path)


def _parse_one(parser: Parser, path: str | os.PathLike[str]) -> ParseResult:
    t0 = time.perf_counter()
    try:
        doc = parser.run(path)
    except InputError as exc:
        return ParseResult(
            source=str(path), status=ParseStatus.FAILURE, errors=[ErrorRecord.from_exception(exc)],
            seconds=time.perf_counter() - t0,
        )
    status = ParseStatus.PARTIAL if doc.is_partial else ParseStatus.SUCCESS
    return ParseResult(
        source=str(path), status=status, document=doc, errors=list(doc.issues), seconds=time.perf_counter() - t0
    )


class SkippedFile(BaseModel):
    """A file in a walked folder that was not parsed, and why."""

    path: str
    reason: str


class PathScan(BaseModel):
    """What :func:`scan_paths` found: the files to parse, and every file it passed over with the reason.

    ``roots`` are the paths as given, so a caller that walked once (to say "nothing matched" before opening an
    index) can hand the scan on instead of having the folders walked again."""

    roots: list[Path] = Field(default_factory=list)
    files: list[Path] = Field(default_factory=list)
    skipped: list[SkippedFile] = Field(default_factory=list)


def expand_paths(
    paths: Iterable[str | os.PathLike[str]],
    include: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
) -> list[Path]:
    """Files named directly are kept as given; folders are walked recursively and filtered by globs
    (matched against the file name and the path relative to the folder). Sorted, de-duplicated."""
    return scan_paths(paths, include, exclude).files


def scan_paths(
    paths: Iterable[str | os.PathLike[str]],
    include: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
) -> PathScan:
    """:func:`expand_paths`, also naming every file of a walked folder that is left out and why (an
    unsupported type, not matched by ``include``, matched by ``exclude``, or inside a hidden folder)."""
    inc = tuple(include) if include else default_include()
    exc = tuple(exclude)
    paths = [Path(p) for p in paths]
    scan = PathScan(roots=paths)
    seen: set[Path] = set()

    def why_not(rel: str, name: str) -> str | None:
        glob = next((g for g in exc if fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(name, g)), None)
        if glob is not None:
            return f"excluded by --exclude {glob!r}"
        if any(fnmatch.fnmatch(name.lower(), g.lower()) or fnmatch.fnmatch(rel, g) for g in inc):
            return None
        if include:
            return "not matched by --include " + " ".join(repr(g) for g in inc)
        kind = Path(name).suffix.lower() or "no extension"
        return f"unsupported file type ({kind}); --include '{Path(name).suffix and '*' + Path(name).suffix or name}' tries it anyway"

    for p in paths:
        if p.is_dir():
            _walk(p, why_not, scan, seen)
        elif p.resolve() not in seen and not any(fnmatch.fnmatch(p.name, g) for g in exc):
            seen.add(p.resolve())
            scan.files.append(p)
    return scan


def _walk(top: Path, why_not: Any, scan: PathScan, seen: set[Path]) -> None:
    for root, dirs, files in os.walk(top):
        for d in sorted(d for d in dirs if d.startswith(".")):
            scan.skipped.append(SkippedFile(path=str(Path(root) / d), reason="hidden folder (not walked)"))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            fp = Path(root) / f
            reason = why_not(str(fp.relative_to(top)), f)
            if reason is not None:
                scan.skipped.append(SkippedFile(path=str(fp), reason=reason))
            elif fp.resolve() not in seen:
                seen.add(fp.resolve())
                scan.files.append(fp)
