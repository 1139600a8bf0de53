"""The extraction records as a CSV table: one row per document, one column per (flattened) field.

Columns: ``source``, ``status``, the schema's fields (nested objects flattened to ``a.b``, lists as JSON
text; a field named like a fixed column becomes ``data.<name>``), then ``errors``, ``attempts``,
``seconds``, ``prompt_tokens``, ``completion_tokens``, ``model``. The CSV is derived from the JSONL, which
stays the record of the run: it is written whole at the end of a run (also an interrupted one), to a
temporary file renamed into place, so it always matches the JSONL it was made from.

Text that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or CR) gets
a leading ``'``: extracted values come from documents, which are untrusted. Numbers are left alone.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from pipeline.extraction import ExtractionRecord

LEAD_COLUMNS = ("source", "status")
TAIL_COLUMNS = ("errors", "attempts", "seconds", "prompt_tokens", "completion_tokens", "model")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [1, 2]}`` -> ``{"a.b": 1, "c": "[1, 2]"}``."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, (list, dict)):
        return {prefix: json.dumps(value, ensure_ascii=False)}
    return {prefix: value}


def _data_columns(record: ExtractionRecord) -> dict[str, Any]:
    flat = flatten(record.values())  # a partial record keeps its row and its values
    fixed = set(LEAD_COLUMNS) | set(TAIL_COLUMNS)
    return {(f"data.{k}" if k in fixed else k): v for k, v in flat.items() if k}


def row(record: ExtractionRecord) -> dict[str, Any]:
    """The CSV row of one extraction record."""
    out: dict[str, Any] = {"source": record.source, "status": record.status.value}
    out.update(_data_columns(record))
    out.update({
        "errors": "; ".join(f"{e.reason}: {e.message}" for e in record.errors),
        "attempts": record.attempts,
        "seconds": round(record.seconds, 3),
        "prompt_tokens": record.usage.prompt_tokens,
        "completion_tokens": record.usage.completion_tokens,
        "model": record.model,
    })
    return out


def _safe(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def columns(records: Iterable[ExtractionRecord], field_order: list[str]) -> list[str]:
    """The header: fixed columns around the data columns, in schema order, then as first seen."""
    seen: dict[str, None] = {}
    for record in records:
        for key in _data_columns(record):
            seen.setdefault(key, None)
    rank = {name: i for i, name in enumerate(field_order)}

    def order(key: str) -> int:
        top = key[5:] if key.startswith("data.") and key[5:] in rank else key.split(".")[0]
        return rank.get(top, len(rank))

    data = sorted(seen, key=order)  # stable: first-seen order within a field
    covered = {k.split(".")[0] for k in data} | {k[5:] for k in data if k.startswith("data.")}
    fixed = LEAD_COLUMNS + TAIL_COLUMNS
    data += [f"data.{f}" if f in fixed else f for f in field_order if f not in covered]
    return [*LEAD_COLUMNS, *data, *TAIL_COLUMNS]


def write_csv(path: Path, records: Callable[[], Iterator[ExtractionRecord]], field_order: list[str]) -> int:
    """Write the CSV of ``records()`` (called twice: header, then rows) to ``path`` atomically; rows written."""
    header = columns(records(), field_order)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        for record in records():
            writer.writerow({k: _safe(v) for k, v in row(record).items()})
            n += 1
    os.replace(tmp, path)
    return n


__all__ = ["columns", "flatten", "row", "write_csv"]
