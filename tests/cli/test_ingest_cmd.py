"""`ragline ingest` in-process with the hashing embedder (exit codes, JSON report, incremental runs),
plus one end-to-end run with the real model (slow)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.testing import HashingEmbedder
from tests._embedders import patch_embedder


@pytest.fixture()
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every embedder the CLI builds is the hashing one (no model load)."""
    patch_embedder(monkeypatch, lambda *a, **k: HashingEmbedder())


@pytest.fixture()
def docs(tmp_path: Path, sample_docs: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    for name in ("notes.md", "readme.txt"):
        shutil.copy(sample_docs / name, d / name)
    return d


def ingest_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["ingest", *args, "--json"])
    out = capsys.readouterr().out
    return code, (json.loads(out) if out.strip() else {})


def test_ingest_then_incremental(fake_model: None, docs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ix = str(tmp_path / "ix")
    code, rep = ingest_json(capsys, str(docs), "--index", ix)
    assert code == 0
    assert (rep["parsed"], rep["skipped"], rep["failed"]) == (2, 0, 0)
    assert rep["embedded"] > 0 and rep["index"]["chunks"] == rep["chunks_added"]
    code, rep = ingest_json(capsys, str(docs), "--index", ix)
    assert code == 0 and (rep["parsed"], rep["skipped"], rep["embedded"]) == (0, 2, 0)

    (docs / "readme.txt").unlink()
    code, rep = ingest_json(capsys, str(docs), "--index", ix, "--prune")
    assert code == 0 and rep["removed"] == 1 and rep["index"]["documents"] == 1


def test_each_folder_is_walked_once(fake_model: None, docs: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import pipeline.parsing as parsing

    walked: list[Path] = []
    walk = parsing._walk

    def counting(top: Path, *args: Any) -> None:
        walked.append(top)
        walk(top, *args)

    monkeypatch.setattr(parsing, "_walk", counting)
    code, rep = ingest_json(capsys, str(docs), "--index", str(tmp_path / "ix"), "--prune")
    assert code == 0 and rep["parsed"] == 2
    assert walked == [docs]  # the "nothing matched" check and the ingest share one walk


def test_new_max_tokens_rechunks(fake_model: None, docs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ix = str(tmp_path / "ix")
    assert ingest_json(capsys, str(docs), "--index", ix)[0] == 0
    code, rep = ingest_json(capsys, str(docs), "--index", ix, "--max-tokens", "48")
    assert code == 0 and rep["rechunked"] == 2 and rep["parsed"] == 0
    # Without --max-tokens the index keeps the options it has now.
    code, rep = ingest_json(capsys, str(docs), "--index", ix)
    assert code == 0 and rep["skipped"] == 2 and rep["rechunked"] == 0


def test_summary_on_stderr_and_failures_exit_1(fake_model: None, docs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (docs / "empty.md").write_bytes(b"")
    code = main(["ingest", str(docs), str(tmp_path / "nope.pdf"), "--index", str(tmp_path / "ix")])
    err = capsys.readouterr().err
    assert code == 1
    assert "parsed 2" in err and "failed 2" in err
    assert "(hashing), from cache 0" in err  # what ran the embeddings (e.g. "OpenVINO bf16")
    assert "FAILED" in err and "empty.md" in err and "nope.pdf" in err


def test_usage_errors_exit_2(fake_model: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["ingest", str(empty), "--index", str(tmp_path / "ix")]) == 2
    assert "no matching documents" in capsys.readouterr().err
    assert main(["ingest", str(empty), "--index", str(tmp_path / "ix"), "--max-tokens", "3"]) == 2
    with pytest.raises(SystemExit) as info:
        main(["ingest", str(empty)])  # --index is required
    assert info.value.code == 2


def test_model_mismatch_exit_1(docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    patch_embedder(monkeypatch, lambda *a, **k: HashingEmbedder())
    assert main(["ingest", str(docs), "--index", str(tmp_path / "ix"), "-q"]) == 0
    patch_embedder(monkeypatch, lambda *a, **k: HashingEmbedder(model_name="other"))
    assert main(["ingest", str(docs), "--index", str(tmp_path / "ix"), "--model", str(tmp_path)]) == 1
    assert "built with embedding model test/hashing" in capsys.readouterr().err


@pytest.mark.slow
def test_an_int8_index_records_its_precision_and_queries_in_it(
    docs: Path, tmp_path: Path, ragline_cache_dir: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RAGLINE_CACHE_DIR", str(ragline_cache_dir))
    ix = str(tmp_path / "ix")
    code, rep = ingest_json(capsys, str(docs), "--index", ix, "--backend", "onnx", "--precision", "int8")
    assert code == 0 and rep["parsed"] == 2
    assert rep["index"]["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2+int8"
    # A search with no --precision embeds the query in int8, as the index's vectors were.
    assert main(["search", "What is the invoice number?", "--index", ix, "--json", "-k", "1", "--mode", "dense"]) == 0
    assert "INV-2026-0042" in json.loads(capsys.readouterr().out)[0]["text"]
    # Asking for fp32 vectors against it is refused, not mixed.
    assert main(["search", "invoice number", "--index", ix, "--precision", "fp32"]) == 1
    err = capsys.readouterr().err
    assert "all-MiniLM-L6-v2+int8" in err and "Traceback" not in err


@pytest.mark.slow
def test_end_to_end_with_real_model(
    docs: Path, tmp_path: Path, ragline_cache_dir: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RAGLINE_CACHE_DIR", str(ragline_cache_dir))
    ix = str(tmp_path / "ix")
    code, rep = ingest_json(capsys, str(docs), "--index", ix, "--backend", "onnx")
    assert code == 0 and rep["parsed"] == 2
    assert rep["index"]["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert rep["index"]["dimension"] == 384
    assert main(["search", "What is the invoice number?", "--index", ix, "--json", "-k", "3", "--mode", "dense"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 3
    assert "INV-2026-0042" in hits[0]["text"]


def test_a_repaired_file_is_indexed_as_partial_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import make_samples

    patch_embedder(monkeypatch, lambda *a, **k: HashingEmbedder())
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "cut.pdf").write_bytes(make_samples.repaired_bytes())
    assert main(["ingest", str(docs), "--index", str(tmp_path / "ix")]) == 1
    err = capsys.readouterr().err
    assert "partial 1" in err and "PARTIAL" in err and "cut.pdf" in err and "[repaired]" in err
    assert main(["ingest", str(docs), "--index", str(tmp_path / "ix2"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["partial"] == 1 and report["failed"] == 0
    assert {i["reason"] for i in report["issues"]} == {"repaired"}


def test_engine_options(fake_model: None, docs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, seq = ingest_json(capsys, str(docs), "--index", str(tmp_path / "seq"), "--workers", "0")
    assert code == 0
    code, par = ingest_json(capsys, str(docs), "--index", str(tmp_path / "par"), "--workers", "2")
    assert code == 0
    for key in ("parsed", "chunks_added", "embedded", "pages"):
        assert seq[key] == par[key], key
    assert seq["index"]["chunks"] == par["index"]["chunks"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "-1"], "--workers must be 0 or more"),
        (["--ray-address", "head:6379"], "--ray-address needs --engine ray"),
        (["--engine", "ray", "--workers", "2"], "--workers is for --engine local"),
    ],
)
def test_engine_usage_errors_exit_2(
    fake_model: None, docs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["ingest", str(docs), "--index", str(tmp_path / "ix"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "ix").exists()  # refused before anything was opened


def test_help_explains_the_engines(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["ingest", "--help"])
    out = capsys.readouterr().out
    assert "--engine {local,ray}" in out and "--workers N" in out and "--ray-address ADDR" in out
