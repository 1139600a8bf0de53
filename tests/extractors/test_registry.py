"""The backend table: built-in formats, and a format added by a plug-in package through the ``ragline.extractors``
entry-point group, with no edit to ``extractors/``."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import extractors
import pipeline
from pipeline.testing import HashingEmbedder

PLUGIN = textwrap.dedent(
    '''
    """A tiny RTF reader: the text between the control words, one paragraph per \\\\par."""
    import re

    from extractors import BackendSpec
    from pipeline.document import Document, Element, ElementKind


    class RtfExtractor:
        format = "rtf"

        def __init__(self, *, keep_empty: bool = False) -> None:
            self.keep_empty = keep_empty

        def extract(self, data: bytes, *, source: str, content_hash: str) -> Document:
            text = data.decode("latin-1")
            paragraphs = [re.sub(r"\\\\[a-z]+-?\\d* ?|[{}]", "", p).strip() for p in text.split("\\\\par")]
            elements = [Element(kind=ElementKind.PARAGRAPH, text=p, page=1) for p in paragraphs if p or self.keep_empty]
            return Document(source=source, format="rtf", content_hash=content_hash, pages=1, elements=elements)


    BACKEND = BackendSpec(
        format="rtf", factory=RtfExtractor, include=("*.rtf",),
        detect=lambda head, source: head.startswith(b"{\\\\rtf"),
    )
    '''
)


@pytest.fixture
def rtf_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed plug-in distribution: its module and its dist-info with the entry point, on sys.path."""
    site = tmp_path / "site"
    (site / "ragline_rtf").mkdir(parents=True)
    (site / "ragline_rtf" / "__init__.py").write_text(PLUGIN)
    info = site / "ragline_rtf-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ragline-rtf\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ragline.extractors]\nrtf = ragline_rtf:BACKEND\n")
    monkeypatch.syspath_prepend(str(site))
    extractors.refresh_backends()
    yield site
    sys.modules.pop("ragline_rtf", None)
    monkeypatch.undo()
    extractors.refresh_backends()


def test_builtin_formats_are_one_table() -> None:
    table = extractors.backends()
    assert {"pdf", "html", "markdown", "text", "docx", "pptx", "xlsx", "image"} <= set(table)
    assert "*.pdf" in extractors.default_include() and "*.tiff" in extractors.default_include()
    with pytest.raises(ValueError, match="no extractor"):
        extractors.get_extractor("rtf")


def test_a_plugin_package_adds_a_format_by_entry_point(rtf_plugin: Path, tmp_path: Path) -> None:
    assert "rtf" in extractors.backends()
    doc_path = tmp_path / "docs" / "letter.rtf"
    doc_path.parent.mkdir()
    doc_path.write_bytes(b"{\\rtf1\\ansi Dear reader,\\par the payback period is 1.8 years.\\par}")
    assert extractors.detect_format(doc_path.read_bytes(), str(doc_path)) == "rtf"
    doc = pipeline.parse(doc_path)
    assert doc.format == "rtf" and [e.text for e in doc.elements] == ["Dear reader,", "the payback period is 1.8 years."]
    # A folder walk picks the new format up by its own include glob, and the rest of the pipeline serves it.
    with pipeline.Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder()) as rag:
        report = rag.add([doc_path.parent])
        assert report.parsed == 1 and report.failed == 0
        assert rag.search("payback period", k=1, rerank="none")[0].source.endswith("letter.rtf")


def test_a_broken_plugin_is_left_out_and_parsing_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    site = tmp_path / "site"
    info = site / "ragline_broken-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ragline-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ragline.extractors]\nbroken = ragline_missing_module:BACKEND\n")
    monkeypatch.syspath_prepend(str(site))
    extractors.refresh_backends()
    try:
        assert "pdf" in extractors.backends() and "broken" not in extractors.backends()
        assert "could not be loaded" in caplog.text
    finally:
        monkeypatch.undo()
        extractors.refresh_backends()
