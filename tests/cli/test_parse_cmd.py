"""The CLI in-process: exit codes, outputs and the summary."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.cli import main


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "parse" in out and "eval" in out


def test_parse_markdown_stdout(sample_docs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(sample_docs / "notes.md")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# ")


def test_parse_chunks_jsonl(sample_docs: Path, tmp_path: Path) -> None:
    out = tmp_path / "chunks.jsonl"
    assert main(["parse", str(sample_docs / "report_two_column.pdf"), "--to", "chunks", "-o", str(out), "--max-tokens", "128", "-q"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and {"id", "doc_id", "source", "text", "page_start", "page_end", "heading_path", "element_kinds"} <= set(rows[0])


def test_parse_folder_partial_failure(sample_docs: Path, bad_inputs: dict[str, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(sample_docs / "notes.md", src / "notes.md")
    shutil.copy(sample_docs / "readme.txt", src / "sub" / "readme.txt")
    shutil.copy(bad_inputs["random.pdf"], src / "random.pdf")
    shutil.copy(bad_inputs["encrypted.pdf"], src / "sub" / "encrypted.pdf")
    out = tmp_path / "out"
    code = main(["parse", str(src), "--to", "elements", "-o", str(out)])
    assert code == 1
    assert (out / "notes.md.jsonl").is_file() and (out / "sub" / "readme.txt.jsonl").is_file()
    errors = [json.loads(x) for x in (out / "_errors.jsonl").read_text().splitlines()]
    assert sorted(e["reason"] for e in errors) == ["encrypted", "unsupported_format"]
    err = capsys.readouterr().err
    assert "parsed 2 document(s)" in err and "2 failed" in err and "encrypted" in err
    # Resume: nothing left to redo for the documents already written.
    code = main(["parse", str(src), "--to", "elements", "-o", str(out), "--skip-existing"])
    assert code == 1
    assert "skipped 2 already done" in capsys.readouterr().err


def test_parse_include_exclude(sample_docs: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    assert main(["parse", str(sample_docs), "--include", "*.md", "--to", "elements", "-o", str(out), "-q"]) == 0
    sources = {json.loads(line)["source"] for line in out.read_text().splitlines()}
    assert sources == {str(sample_docs / "notes.md")}


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["parse", "--to", "nonsense", "x"])
    assert info.value.code == 2
    (tmp_path / "empty").mkdir()
    assert main(["parse", str(tmp_path / "empty")]) == 2


def test_missing_path_is_reported(sample_docs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(sample_docs / "notes.md"), "/nonexistent.pdf"]) == 1
    assert "no such file" in capsys.readouterr().err


def test_parallel_workers_same_output(sample_docs: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert main(["parse", str(sample_docs), "--include", "*.pdf", "--include", "*.md", "--to", "chunks", "-o", str(a), "-q"]) == 0
    assert main(["parse", str(sample_docs), "--include", "*.pdf", "--include", "*.md", "--to", "chunks", "-o", str(b), "-q", "-j", "2"]) == 0
    assert a.read_text() == b.read_text() and a.read_text()
