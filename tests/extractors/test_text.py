from __future__ import annotations

from pathlib import Path

import pipeline
from pipeline.document import ElementKind


def test_markdown_structure(sample_docs: Path) -> None:
    doc = pipeline.parse(sample_docs / "notes.md")
    kinds = [e.kind for e in doc.elements]
    assert kinds[0] is ElementKind.HEADING
    assert ElementKind.LIST_ITEM in kinds and ElementKind.TABLE in kinds
    assert doc.format == "markdown"


def test_plain_text(sample_docs: Path) -> None:
    doc = pipeline.parse(sample_docs / "readme.txt")
    assert doc.format == "text" and len(doc.elements) >= 2
    assert all(e.page == 1 for e in doc.elements)


def test_markdown_roundtrip(tmp_path: Path) -> None:
    p = tmp_path / "a.md"
    p.write_text("# A\n\nPara one\ncontinues.\n\n## B\n\n- x\n- y\n\n| h1 | h2 |\n|---|---|\n| 1 | 2 |\n\n```\ncode()\n```\n")
    doc = pipeline.parse(p)
    assert doc.to_markdown() == "# A\n\nPara one continues.\n\n## B\n\n- x\n\n- y\n\n| h1 | h2 |\n|---|---|\n| 1 | 2 |\n\n```\ncode()\n```\n"
    assert doc.elements[-1].heading_path == ["A", "B"]
