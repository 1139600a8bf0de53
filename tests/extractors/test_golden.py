"""Golden markdown for the sample documents. Regenerate after an intended change with
``RAGLINE_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/extractors/test_golden.py`` and review the diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import pipeline

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLES = ["report_two_column.pdf", "invoice_acme.pdf", "article.html", "article_latin1.html", "notes.md"]


@pytest.mark.parametrize("name", SAMPLES)
def test_markdown_matches_golden(sample_docs: Path, name: str) -> None:
    md = pipeline.parse(sample_docs / name).to_markdown()
    golden = DATA / f"{name}.md"
    if os.environ.get("RAGLINE_REGEN_GOLDEN") == "1" or not golden.exists():
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(md, encoding="utf-8")
        if os.environ.get("RAGLINE_REGEN_GOLDEN") != "1":
            pytest.fail(f"golden file {golden.name} was missing and has been written; review and commit it")
    assert md == golden.read_text(encoding="utf-8")
