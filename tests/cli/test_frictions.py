"""What a new user meets in the first hour: typos get suggestions, a --source glob that matches nothing is
said, progress shows without a terminal, a mistyped index path is an error, reprs stay one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.testing import HashingEmbedder
from tests._embedders import patch_embedder


def test_an_unknown_command_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pars", "x.pdf"]) == 2
    assert "did you mean `ragline parse`?" in capsys.readouterr().err


def test_a_schema_name_that_does_not_exist_is_named_with_a_suggestion(capsys: pytest.CaptureFixture[str],
                                                                       sample_docs: Path) -> None:
    rc = main(["extract", str(sample_docs / "readme.txt"), "--schema", "pipeline.extraction:Invoic"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "has no 'Invoic'" in err and "did you mean pipeline.extraction:Invoice?" in err
    assert "not a pydantic model class" not in err


def test_a_source_glob_that_matches_nothing_is_said(tmp_path: Path, sample_docs: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    patch_embedder(monkeypatch, lambda *a, **k: HashingEmbedder())
    index = tmp_path / "ix"
    assert main(["ingest", str(sample_docs), "--index", str(index)]) == 0
    err = capsys.readouterr().err
    assert "ragline ingest: [" in err and "pages so far" in err  # progress lines without a terminal, with pages
    assert main(["search", "invoice total", "--index", str(index), "--source", "invoice_acme"]) == 0
    err = capsys.readouterr().err
    assert "--source 'invoice_acme' matches none of the 6 indexed documents" in err and "'*invoice_acme*'" in err
    assert main(["search", "invoice total", "--index", str(index), "--source", "*invoice_acme*"]) == 0
    assert "matches none" not in capsys.readouterr().err


def test_open_versus_create_and_one_line_reprs(tmp_path: Path, sample_docs: Path) -> None:
    from pipeline.exceptions import IndexStoreError
    from pipeline.index import Index
    from pipeline.parsing import parse

    with pytest.raises(IndexStoreError, match="no index in"):
        Index.open(tmp_path / "typo", create=False, embedder=HashingEmbedder())
    assert not (tmp_path / "typo" / Index.DB_FILE).exists()
    index = Index.create(tmp_path / "new", embedder=HashingEmbedder())
    assert repr(index) == f"Index({str(tmp_path / 'new')!r}, open, model='test/hashing')"
    index.close()
    doc = parse(sample_docs / "invoice_acme.pdf")
    assert repr(doc).startswith("Document(source=") and "\n" not in repr(doc) and len(repr(doc)) < 200
    assert str(doc) == repr(doc)
