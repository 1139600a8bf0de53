"""pipeline.batch: the resumable output and its journal, run keys, the CSV, the batch runner (no LLM)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from pipeline.batch import (
    BatchExtraction,
    JournalError,
    OutputLockedError,
    ResumableOutput,
    WorkItem,
    extraction_run_key,
    work_items,
    write_csv,
)
from pipeline.batch._csv import columns, flatten
from pipeline.extraction import ExtractionOptions, ExtractionRecord
from pipeline.llm import LLMSettings


def _item(name: str, content: str = "c") -> WorkItem:
    return WorkItem(path=name, doc_id=f"/abs/{name}", content_hash=f"h-{content}")


def _line(name: str, status: str = "success", **data: Any) -> dict[str, Any]:
    return {"source": name, "status": status, "data": data or None, "evidence": {}, "errors": [],
            "usage": {"prompt_tokens": 10, "completion_tokens": 2}, "attempts": 1, "seconds": 0.5, "model": "m"}


def _record(name: str, status: str = "success", **data: Any) -> ExtractionRecord:
    return ExtractionRecord.model_validate(_line(name, status, **data))


def _write_run(path: Path, names: list[str], key: str = "k1") -> None:
    with ResumableOutput(path) as out:
        plan = out.plan([_item(n) for n in names], key)
        for item in plan.todo:
            assert out.write(item, _record(item.path, invoice=item.path))


def _sources(path: Path) -> list[str]:
    return [json.loads(line)["source"] for line in path.read_text().splitlines()]


def test_a_clean_rerun_skips_everything(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    _write_run(out, ["a", "b"])
    text = out.read_text()
    with ResumableOutput(out) as o:
        plan = o.plan([_item("a"), _item("b"), _item("c")], "k1")
        assert [i.path for i in plan.todo] == ["c"] and len(plan.skipped) == 2 and plan.dropped_lines == 0
    assert out.read_text() == text  # not rewritten


def test_crash_states_are_reconciled(tmp_path: Path) -> None:
    """A row whose line never got written, a torn last line, a line with no row: all dropped, the documents redone."""
    out = tmp_path / "out.jsonl"
    _write_run(out, ["a", "b", "c"])
    lines = out.read_text().splitlines(keepends=True)
    # b's row is committed but its line was lost; c's line is torn (SIGKILL during the write); a stray line.
    out.write_text(lines[0] + '{"source": "stray", "status": "success"}\n' + lines[2][:25])
    with ResumableOutput(out) as o:
        plan = o.plan([_item("a"), _item("b"), _item("c")], "k1")
        assert sorted(i.path for i in plan.todo) == ["b", "c"] and [e.source for e in plan.skipped] == ["a"]
        assert plan.dropped_lines == 2 and plan.redone == 0  # the stray and the torn line
        assert out.read_text() == lines[0]
        for item in plan.todo:
            o.write(item, _record(item.path))
    assert sorted(_sources(out)) == ["a", "b", "c"]


def test_changed_file_key_and_failures_are_redone(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with ResumableOutput(out) as o:
        o.plan([_item("a"), _item("b"), _item("c"), _item("d")], "k1")
        o.write(_item("a"), _record("a"))
        o.write(_item("b"), _record("b", status="failure"))
        transient = ExtractionRecord.model_validate({**_line("c", status="failure"), "errors": [
            {"error": "LLMConnectionError", "reason": "llm_connection", "message": "refused"}]})
        o.write(_item("c"), transient)
        o.write(_item("d"), _record("d"))
    with ResumableOutput(out) as o:  # c (LLM unreachable) is redone unasked, b (a real failure) is not
        plan = o.plan([_item("a"), _item("b"), _item("c"), _item("d", content="new")], "k1")
        assert sorted(i.path for i in plan.todo) == ["c", "d"] and plan.redone == 2
    assert sorted(_sources(out)) == ["a", "b"]  # their old lines went with their rows
    with ResumableOutput(out) as o:
        assert [i.path for i in o.plan([_item("a"), _item("b")], "k1", retry_failed=True).todo] == ["b"]
    with ResumableOutput(out) as o:
        assert [i.path for i in o.plan([_item("a")], "k2").todo] == ["a"]  # another run key
    with ResumableOutput(out, force=True) as o:
        assert o.plan([], "k2").dropped_lines == 0 and out.read_text() == ""


def test_an_output_without_journal_starts_over(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"source": "old"}\n')
    with ResumableOutput(out) as o:
        plan = o.plan([_item("a")], "k")
        assert plan.dropped_lines == 1 and plan.started_over and out.read_text() == ""


def test_one_run_at_a_time(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with ResumableOutput(out), pytest.raises(OutputLockedError, match="another run"):
        ResumableOutput(out)
    ResumableOutput(out).close()  # released on close
    (tmp_path / "bad.jsonl.journal").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalError, match="not a ragline journal"):
        ResumableOutput(tmp_path / "bad.jsonl")


def test_closed_output_takes_no_more_records(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with ResumableOutput(out) as o:
        o.plan([_item("a")], "k")
        o.close_writes()
        assert o.write(_item("a"), _record("a")) is False
    assert out.read_text() == ""


class Inv(BaseModel):
    number: str | None = None
    total: float | None = None


class Inv2(BaseModel):
    number: str | None = None


def test_run_key_changes_with_schema_options_and_model() -> None:
    base = extraction_run_key(Inv, ExtractionOptions(), LLMSettings(), "fp")[0]
    assert base == extraction_run_key(Inv, ExtractionOptions(), LLMSettings(), "fp")[0]
    variants = [
        extraction_run_key(Inv2, ExtractionOptions(), LLMSettings(), "fp"),
        extraction_run_key(Inv, ExtractionOptions(strategy="free"), LLMSettings(), "fp"),
        extraction_run_key(Inv, ExtractionOptions(max_attempts=1), LLMSettings(), "fp"),
        extraction_run_key(Inv, ExtractionOptions(), LLMSettings(embedded={"model": "qwen2.5-1.5b"}), "fp"),
        extraction_run_key(Inv, ExtractionOptions(), LLMSettings(base_url="http://x/v1", model="m"), "fp"),
        extraction_run_key(Inv, ExtractionOptions(), LLMSettings(), "other parse options"),
    ]
    assert len({base, *(k for k, _ in variants)}) == 1 + len(variants)
    # Speed settings are not part of it: threads, timeout, concurrency.
    fast = LLMSettings(embedded={"threads": 7}, timeout=5, max_concurrency=3)
    assert extraction_run_key(Inv, ExtractionOptions(), fast, "fp")[0] == base
    secret = LLMSettings(base_url="http://host.example/v1?token=abc", api_key="sk-SECRET")
    assert "SECRET" not in json.dumps(extraction_run_key(Inv, ExtractionOptions(), secret, "fp")[1])
    assert "token=abc" not in json.dumps(extraction_run_key(Inv, ExtractionOptions(), secret, "fp")[1])


def test_work_items_hash_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("same")
    b.write_text("same")
    ia, ib = work_items([a, b])
    assert ia.content_hash == ib.content_hash != "" and ia.doc_id != ib.doc_id


def test_csv_flattens_fields_and_defuses_formulas(tmp_path: Path) -> None:
    records = [ExtractionRecord.model_validate(r) for r in [
        {**_line("a.pdf"), "data": {"number": "=HYPERLINK(\"http://x\")", "total": -5.0,
                                    "party": {"name": "ACME", "vat": None}, "lines": [1, 2], "status": "open"}},
        {**_line("b.pdf", status="failure"), "data": None,
         "errors": [{"error": "EmptyDocumentError", "reason": "empty", "message": "file is empty"}]},
    ]]
    assert flatten({"a": {"b": 1}, "c": [1]}) == {"a.b": 1, "c": "[1]"}
    header = columns(records, ["number", "total", "party", "lines", "status", "missing"])
    assert header[:2] == ["source", "status"] and header[-1] == "model"
    assert header[2:9] == ["number", "total", "party.name", "party.vat", "lines", "data.status", "missing"]
    path = tmp_path / "o.csv"
    assert write_csv(path, lambda: iter(records), ["number", "total"]) == 2
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert rows[0]["number"] == "'=HYPERLINK(\"http://x\")" and rows[0]["total"] == "-5.0"
    assert rows[0]["data.status"] == "open" and rows[0]["prompt_tokens"] == "10"
    assert rows[1]["errors"] == "empty: file is empty" and rows[1]["number"] == ""


class _Extractor:
    """Stands in for StructuredExtractor: a record per document, or an exception."""

    def __init__(self, fail_with: BaseException | None = None) -> None:
        self.fail_with = fail_with

    def run(self, document: Any, raise_on_failure: bool = True) -> Any:
        if self.fail_with is not None:
            raise self.fail_with
        record = _line(document.source)

        class _Result:
            def to_record(self) -> dict[str, Any]:
                return record

        return _Result()


def test_batch_runner_records_errors_and_stops_on_bugs(tmp_path: Path) -> None:
    from pipeline.exceptions import LLMResponseError

    docs = []
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("Invoice 1")
        docs.append(tmp_path / name)
    (tmp_path / "empty.txt").write_bytes(b"")
    items = work_items([*docs, tmp_path / "empty.txt"])
    out = tmp_path / "out.jsonl"
    seen: list[str] = []
    with ResumableOutput(out) as o:
        o.plan(items, "k")
        BatchExtraction(_Extractor(), None, o, workers=2, on_record=lambda i, r: seen.append(r.status.value)).run(items)
    assert sorted(seen) == ["failure", "success", "success"]
    with ResumableOutput(tmp_path / "o2.jsonl") as o:
        o.plan(items, "k")
        BatchExtraction(_Extractor(LLMResponseError("bad", stage="llm")), None, o).run(items[:1])
    (rec,) = [json.loads(x) for x in (tmp_path / "o2.jsonl").read_text().splitlines()]
    assert rec["status"] == "failure" and rec["errors"][0]["reason"] == "llm_response"
    with ResumableOutput(tmp_path / "o3.jsonl") as o:
        o.plan(items, "k")
        with pytest.raises(ZeroDivisionError):
            BatchExtraction(_Extractor(ZeroDivisionError()), None, o).run(items[:2])
