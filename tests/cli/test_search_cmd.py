"""`ragline search`: JSON hit fields, text output, filters and exit codes (hashing embedder)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.cli.search_cmd import parse_pages
from pipeline.testing import HashingEmbedder
from tests._embedders import patch_embedder


@pytest.fixture()
def index_dir(tmp_path: Path, sample_docs: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    patch_embedder(monkeypatch, lambda *a, **k: HashingEmbedder())
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("notes.md", "readme.txt"):
        shutil.copy(sample_docs / name, docs / name)
    assert main(["ingest", str(docs), "--index", str(tmp_path / "ix"), "-q"]) == 0
    return tmp_path / "ix"


def test_json_hits_have_the_documented_fields(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for mode in ("dense", "bm25", "hybrid"):
        assert main(["search", "invoice number", "--index", str(index_dir), "-k", "2", "--mode", mode, "--json"]) == 0
        hits = json.loads(capsys.readouterr().out)
        assert 1 <= len(hits) <= 2
        for h in hits:
            assert {"chunk_id", "source", "page_start", "page_end", "heading_path", "score", "text"} <= set(h)
            assert h["metadata"]["mode"] == mode
        assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))


def test_text_output_and_filters(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "invoice", "--index", str(index_dir), "--source", "readme.txt", "--mode", "bm25"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. [") and "readme.txt" in out and "notes.md" not in out
    assert main(["search", "invoice", "--index", str(index_dir), "--pages", "2-3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_usage_errors(index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "x", "--index", str(tmp_path / "missing")]) == 2
    assert "no index" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()
    assert main(["search", "x", "--index", str(index_dir), "-k", "0"]) == 2
    assert main(["search", "x", "--index", str(index_dir), "--pages", "3-1"]) == 2
    with pytest.raises(SystemExit):
        main(["search", "x", "--index", str(index_dir), "--mode", "sparse"])


def test_parse_pages() -> None:
    assert parse_pages("3") == [3]
    assert parse_pages("1-3, 7") == [1, 2, 3, 7]
    for bad in ("", "a", "0", "4-2", "1,,2"):
        with pytest.raises(ValueError):
            parse_pages(bad)


def test_an_empty_query_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import main

    assert main(["search", "  ", "--index", str(tmp_path)]) == 2
    assert "the query is empty" in capsys.readouterr().err


def test_config_file_then_environment_then_flags(index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    toml = tmp_path / "ragline.toml"
    toml.write_text('[search]\nk = 1\nmode = "bm25"\nrerank = "none"\n', encoding="utf-8")

    def hits(*args: str) -> list[dict]:
        assert main(["search", "invoice", "--index", str(index_dir), "--json", *args]) == 0
        return json.loads(capsys.readouterr().out)

    assert len(hits()) > 1  # no configuration: k 5
    got = hits("--config", str(toml))
    assert len(got) == 1 and got[0]["metadata"]["mode"] == "bm25"  # the file's [search]
    monkeypatch.setenv("RAGLINE_CONFIG", str(toml))
    assert len(hits()) == 1  # $RAGLINE_CONFIG names the file
    monkeypatch.setenv("RAGLINE_SEARCH_K", "2")
    assert len(hits()) == 2  # a variable wins over the file
    got = hits("-k", "3", "--mode", "dense")
    assert len(got) == 3 and got[0]["metadata"]["mode"] == "dense"  # a flag wins over both
    toml.write_text("[search]\nk = 0\n", encoding="utf-8")
    monkeypatch.delenv("RAGLINE_SEARCH_K")
    assert main(["search", "invoice", "--index", str(index_dir)]) == 2  # a bad file is a usage error, named
    assert "ragline.toml" in capsys.readouterr().err
