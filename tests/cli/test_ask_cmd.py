"""`ragline ask` on the extractive default (no LLM is started): the answer, its citation and --html."""

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
    shutil.copy(sample_docs / "report_two_column.pdf", docs / "report.pdf")
    assert main(["ingest", str(docs), "--index", str(tmp_path / "ix"), "-q"]) == 0
    return tmp_path / "ix"


def test_extractive_answer_cites_the_document_and_writes_html(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "answer.html"
    question = "What is the payback period of the LED retrofit?"
    assert main(["ask", question, "--index", str(index_dir), "--json", "--html", str(html)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["found"] and answer["grounded"]
    assert "1.8 years" in answer["text"]
    assert all(c["valid"] and c["source"].endswith("report.pdf") for c in answer["citations"])
    page = html.read_text(encoding="utf-8")
    assert "<img" in page and "1.8 years" in page  # the page image with the cited passage beside it


def test_ask_model_needs_the_extractive_strategy(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "q", "--index", str(index_dir), "--strategy", "free", "--ask-model"]) == 2
    assert "--ask-model needs --strategy extractive" in capsys.readouterr().err


def test_not_found_says_which_noun_no_passage_mentions_and_points_at_the_closest(
    index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    question = "What is the payback period of the LED retrofit for the bicycles?"
    assert main(["ask", question, "--index", str(index_dir)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "not found"
    assert "no retrieved passage mentions: bicycles" in out
    assert "see also: " in out and "report.pdf" in out
