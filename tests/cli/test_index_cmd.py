"""`ragline index stats|list|remove` over a small index (hashing embedder)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.testing import HashingEmbedder
from tests._embedders import patch_embedder


@pytest.fixture()
def index_dir(tmp_path: Path, sample_docs: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    patch_embedder(monkeypatch, lambda *a, **k: HashingEmbedder())
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("notes.md", "readme.txt", "report_two_column.pdf"):
        shutil.copy(sample_docs / name, docs / name)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7\n garbage")
    assert main(["ingest", str(docs), "--index", str(tmp_path / "ix"), "-q"]) == 1  # broken.pdf fails
    return tmp_path / "ix"


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_stats(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "stats", "--index", str(index_dir), "--json"]) == 0
    stats = _json(capsys)
    assert isinstance(stats, dict)
    assert stats["documents"] == 3 and stats["failed_documents"] == 1
    assert stats["chunks"] == stats["vectors"] > 0 and stats["embedding_model"] == "test/hashing"
    assert stats["chunking_options"]["max_tokens"] == 256 and stats["bytes_on_disk"] > 0
    assert main(["index", "stats", "--index", str(index_dir)]) == 0
    out = capsys.readouterr().out
    assert "3 indexed, 1 failed" in out and "test/hashing" in out and "max_tokens 256" in out


def test_list(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "list", "--index", str(index_dir), "--json"]) == 0
    rows = _json(capsys)
    assert isinstance(rows, list)
    assert [Path(r["path"]).name for r in rows] == ["broken.pdf", "notes.md", "readme.txt", "report_two_column.pdf"]
    assert {Path(r["path"]).name: r["status"] for r in rows}["broken.pdf"] == "failed"
    assert all(r["chunks"] > 0 for r in rows if r["status"] == "indexed")
    assert main(["index", "list", "--index", str(index_dir)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 4 and "4 document(s)" in captured.err and "1 failed" in captured.err
    assert main(["index", "list", "--index", str(index_dir), "--failed", "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.out.split()[0] == "failed" and len(captured.out.splitlines()) == 1 and not captured.err
    assert main(["index", "list", "--index", str(index_dir), "--match", "*.md"]) == 0
    assert [Path(line.split()[-1]).name for line in capsys.readouterr().out.splitlines()] == ["notes.md"]


def test_remove(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = index_dir.parent / "docs"
    main(["index", "stats", "--index", str(index_dir), "--json"])
    before = _json(capsys)
    assert main(["index", "remove", "*.md", "--index", str(index_dir), "--dry-run", "--json"]) == 0
    dry = _json(capsys)
    assert isinstance(dry, dict) and dry["dry_run"] and [Path(p).name for p in dry["documents"]] == ["notes.md"]
    assert main(["index", "remove", "*.md", str(docs / "readme.txt"), "--index", str(index_dir), "--compact"]) == 0
    captured = capsys.readouterr()
    assert "removed 2 document(s)" in captured.err and "notes.md" in captured.out and "readme.txt" in captured.out
    main(["index", "stats", "--index", str(index_dir), "--json"])
    after = _json(capsys)
    assert isinstance(before, dict) and isinstance(after, dict)
    assert after["documents"] == before["documents"] - 2
    assert after["chunks"] == after["vectors"] < before["chunks"]
    assert after["cached_embeddings"] == after["chunks"]  # --compact dropped the removed chunks' vectors
    # a target that matches nothing: the others are removed, exit 1
    assert main(["index", "remove", "nothing-*.pdf", "broken.pdf", "--index", str(index_dir)]) == 1
    assert "no document matches 'nothing-*.pdf'" in capsys.readouterr().err
    main(["index", "list", "--index", str(index_dir), "--json"])
    rows = _json(capsys)
    assert isinstance(rows, list) and [Path(r["path"]).name for r in rows] == ["report_two_column.pdf"]


def test_usage_errors(index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "stats", "--index", str(tmp_path / "missing")]) == 2
    assert "no index" in capsys.readouterr().err and not (tmp_path / "missing").exists()
    with pytest.raises(SystemExit) as exc:
        main(["index", "--index", str(index_dir)])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["index", "remove", "--index", str(index_dir)])  # no target
    assert main(["index", "remove", " ", "--index", str(index_dir)]) == 2


def test_help_lists_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "index" in capsys.readouterr().out
