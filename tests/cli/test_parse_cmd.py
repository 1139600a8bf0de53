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


# ---------------------------------------------------------------------------------------------------------------
# Partial documents, OCR, skipped files (issue 12)
# ---------------------------------------------------------------------------------------------------------------


def test_repaired_pdf_is_partial_named_in_summary_exit_1(bad_inputs: dict[str, Path], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["parse", str(bad_inputs["repaired.pdf"]), "-o", str(out)]) == 1
    assert (out / "repaired.pdf.md").read_text().strip()  # what could be read is still written
    errors = [json.loads(x) for x in (out / "_errors.jsonl").read_text().splitlines()]
    assert [(e["reason"], e["page"]) for e in errors] == [("repaired", None), ("repaired", 3)]
    err = capsys.readouterr().err
    assert "1 partial" in err and f"PARTIAL {bad_inputs['repaired.pdf']}: [repaired]" in err


class _FakeOcr:
    """Stands in for rapidocr: one recognized line per call (real OCR is tested in tests/extractors/test_ocr.py)."""

    def __call__(self, image: object, *, use_cls: bool = True) -> object:
        import types

        assert use_cls is False  # ragline runs rapidocr without its per-line direction classifier

        box = [[100.0, 100.0], [900.0, 100.0], [900.0, 130.0], [100.0, 130.0]]
        return types.SimpleNamespace(txts=("Scanned page text recognized",), boxes=[box], scores=(0.98,))


def test_mixed_scan_pdf_every_page_with_ocr_exit_0(bad_inputs: dict[str, Path], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from extractors import _ocr

    monkeypatch.setattr(_ocr, "_ENGINE", _FakeOcr())
    out = tmp_path / "out.md"
    assert main(["parse", str(bad_inputs["mixed_scan.pdf"]), "-o", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    [doc] = report["results"]
    assert (doc["status"], doc["pages"], doc["ocr_pages"], doc["unreadable_pages"]) == ("success", 2, [2], [])
    assert report["ocr_pages"] == 1 and "1 page(s) read by OCR" in captured.err
    assert "Scanned page text recognized" in out.read_text()
    # Without OCR the scan is reported, not dropped: partial, exit 1.
    assert main(["parse", str(bad_inputs["mixed_scan.pdf"]), "--ocr", "never", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "1 partial" in err and "[needs_ocr] page 2 has no text layer" in err


def test_folder_run_names_every_skipped_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import make_samples

    src = tmp_path / "in"
    src.mkdir()
    (src / "memo.docx").write_bytes(make_samples.docx_bytes())
    (src / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    (src / "data.csv").write_text("a,b\n")
    assert main(["parse", str(src), "-o", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "parsed 1 document(s)" in err and "skipped 2 file(s)" in err
    assert f"SKIPPED {src / 'old.doc'}: unsupported file type (.doc)" in err
    assert f"SKIPPED {src / 'data.csv'}: unsupported file type (.csv)" in err
    (src / "memo.docx").unlink()
    assert main(["parse", str(src)]) == 2  # nothing to parse: a usage error that still names what it skipped
    err = capsys.readouterr().err
    assert "no matching documents found (2 file(s) skipped, listed above)" in err and "SKIPPED" in err


def test_office_formats_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import make_samples

    for name, data in (("a.docx", make_samples.docx_bytes()), ("b.xlsx", make_samples.xlsx_bytes())):
        (tmp_path / name).write_bytes(data)
    out = tmp_path / "all.jsonl"
    assert main(["parse", str(tmp_path / "a.docx"), str(tmp_path / "b.xlsx"), "--to", "elements", "-o", str(out)]) == 0
    kinds = {(json.loads(x)["source"].rsplit(".", 1)[1], json.loads(x)["kind"]) for x in out.read_text().splitlines()}
    assert {("docx", "title"), ("docx", "list_item"), ("docx", "table"), ("xlsx", "heading"), ("xlsx", "table")} <= kinds


# ---------------------------------------------------------------------------------------------------------------
# Output faults and records
# ---------------------------------------------------------------------------------------------------------------


def _one_clean_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [x for x in err.strip().splitlines() if x]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("target", ["blocker/out/", "blocker/all.jsonl"])
def test_output_under_a_regular_file(target: str, sample_docs: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "blocker").write_text("a file, not a folder")
    code = main(["parse", str(sample_docs / "notes.md"), "--to", "elements", "-o", str(tmp_path / target), "-q"])
    assert code == 1
    line = _one_clean_line(capsys.readouterr().err)
    assert line.startswith("ragline parse: error: cannot write") and "a file is in the way" in line


def test_full_disk_single_file(sample_docs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    code = main(["parse", str(sample_docs / "notes.md"), str(sample_docs / "readme.txt"), "--to", "elements",
                 "-o", "/dev/full", "-q"])
    assert code == 1
    assert _one_clean_line(capsys.readouterr().err) == "ragline parse: error: cannot write /dev/full: No space left on device"


def test_folder_write_failure_is_recorded_and_the_batch_goes_on(sample_docs: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    (out / "notes.md.md").mkdir(parents=True)  # a folder where the output file should go
    assert main(["parse", str(sample_docs / "notes.md"), str(sample_docs / "readme.txt"), "-o", str(out)]) == 1
    assert (out / "readme.txt.md").is_file()
    [record] = [json.loads(x) for x in (out / "_errors.jsonl").read_text().splitlines()]
    assert (record["reason"], record["stage"], record["source"]) == ("write_failed", "write", str(sample_docs / "notes.md"))
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("write_failed") == 2  # the FAILED line and the count by reason
    assert not list(out.rglob("*.part"))


def test_closed_pipe_ends_quietly(sample_docs: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    for i in range(8):  # more output than a pipe buffers
        shutil.copy(sample_docs / "report_two_column.pdf", tmp_path / f"r{i}.pdf")
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "parse", str(tmp_path), "--to", "elements"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and b"Traceback" not in err and b"Exception ignored" not in err


def test_single_file_output_carries_failure_records(sample_docs: Path, bad_inputs: dict[str, Path], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "all.jsonl"
    paths = [str(bad_inputs["random.pdf"]), str(sample_docs / "notes.md"), "/nonexistent.pdf"]
    assert main(["parse", *paths, "--to", "chunks", "-o", str(out)]) == 1
    records = [json.loads(x) for x in out.read_text().splitlines() if '"status"' in x]
    assert {(r["source"], r["status"], r["errors"][0]["reason"]) for r in records} == {
        (str(bad_inputs["random.pdf"]), "failure", "unsupported_format"), ("/nonexistent.pdf", "failure", "unreadable")}
    err = capsys.readouterr().err
    assert err.count(f"FAILED {bad_inputs['random.pdf']}") == 1  # each failure said once
    md = tmp_path / "all.md"
    assert main(["parse", *paths[:2], "-o", str(md), "-q"]) == 1
    assert f"<!-- ragline: failure {bad_inputs['random.pdf']}: [unsupported_format]" in md.read_text()


def test_parse_json_report(sample_docs: Path, bad_inputs: dict[str, Path], tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(sample_docs / "notes.md"), "--json"]) == 2  # stdout carries the documents
    assert "--json needs -o" in capsys.readouterr().err
    out = tmp_path / "out"
    assert main(["parse", str(sample_docs / "notes.md"), str(bad_inputs["encrypted.pdf"]), "-o", str(out), "--json", "-q"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert captured.err == ""
    assert (report["documents"], report["failed"], report["partial"]) == (1, 1, 0)
    by_status = {r["status"]: r for r in report["results"]}
    written = Path(by_status["success"]["output"])
    assert written.is_file() and written.name == "notes.md.md" and out in written.parents
    assert by_status["failure"]["errors"][0]["reason"] == "encrypted"
