from __future__ import annotations

from pathlib import Path

import pytest

import pipeline
from pipeline.chunking import ChunkingOptions, chunk
from pipeline.document import Document, Element, ElementKind, TableData
from pipeline.embedding import get_token_counter


def _doc(elements: list[Element]) -> Document:
    from extractors._structure import assign_heading_paths

    assign_heading_paths(elements)
    return Document(source="mem", content_hash="h" * 64, format="text", pages=3, elements=elements)


def test_chunks_respect_budget_and_sections(sample_docs: Path) -> None:
    doc = pipeline.parse(sample_docs / "report_two_column.pdf")
    opts = ChunkingOptions(max_tokens=128)
    chunks = chunk(doc, opts)
    counter = get_token_counter()
    assert chunks
    for c in chunks:
        assert counter.count(c.text) <= 128 or "table" in c.element_kinds
        assert c.doc_id == doc.id and c.source == doc.source
        assert 1 <= c.page_start <= c.page_end <= 3
    # A chunk never mixes two sections: every chunk's text starts with its own heading path.
    for c in chunks:
        if c.heading_path:
            assert c.text.startswith(" > ".join(c.heading_path))
    assert len({c.id for c in chunks}) == len(chunks)


def test_chunk_ids_stable_and_option_dependent(sample_docs: Path) -> None:
    doc = pipeline.parse(sample_docs / "notes.md")
    a = chunk(doc, ChunkingOptions(max_tokens=64))
    b = chunk(doc, ChunkingOptions(max_tokens=64))
    c = chunk(doc, ChunkingOptions(max_tokens=65))
    assert [x.id for x in a] == [x.id for x in b]
    assert set(x.id for x in a).isdisjoint(x.id for x in c)


def test_long_paragraph_split_at_sentences() -> None:
    sentences = [f"Sentence number {i} talks about warehouse energy and refrigeration loads." for i in range(60)]
    doc = _doc([Element(kind=ElementKind.HEADING, text="Intro", level=1, page=1),
                Element(kind=ElementKind.PARAGRAPH, text=" ".join(sentences), page=1)])
    chunks = chunk(doc, ChunkingOptions(max_tokens=64))
    assert len(chunks) > 5
    counter = get_token_counter()
    for c in chunks:
        assert counter.count(c.text) <= 64
        assert c.text.startswith("Intro\n")
        assert c.text.rstrip().endswith(".")  # split at sentence ends


def test_overlap_repeats_tail() -> None:
    paras = [Element(kind=ElementKind.PARAGRAPH, text=f"Paragraph {i} " + "word " * 20, page=1) for i in range(8)]
    doc = _doc([Element(kind=ElementKind.HEADING, text="S", level=1, page=1), *paras])
    plain = chunk(doc, ChunkingOptions(max_tokens=80, overlap_tokens=0))
    lapped = chunk(doc, ChunkingOptions(max_tokens=80, overlap_tokens=30))
    assert len(lapped) >= len(plain)
    assert any(prev.text.split("\n\n")[-1] in nxt.text for prev, nxt in zip(lapped, lapped[1:]))


def test_big_table_split_by_rows_with_header() -> None:
    rows: list[list[str | None]] = [["Year", "Revenue", "Profit"]] + [[str(1900 + i), f"{i * 1000:,}", f"{i * 10:,}"] for i in range(120)]
    table = TableData(rows=rows)
    doc = _doc([Element(kind=ElementKind.HEADING, text="Figures", level=1, page=2),
                Element(kind=ElementKind.TABLE, text=table.to_markdown(), table=table, page=2)])
    chunks = chunk(doc, ChunkingOptions(max_tokens=128))
    assert len(chunks) > 2
    for c in chunks:
        assert "| Year | Revenue | Profit |" in c.text
        assert c.element_kinds == ["table"]
    all_text = "\n".join(c.text for c in chunks)
    for i in range(120):
        assert f"| {1900 + i} |" in all_text


def test_small_table_kept_whole() -> None:
    table = TableData(rows=[["a", "b"], ["1", "2"], ["3", "4"]])
    doc = _doc([Element(kind=ElementKind.PARAGRAPH, text="Before.", page=1),
                Element(kind=ElementKind.TABLE, text=table.to_markdown(), table=table, page=1)])
    chunks = chunk(doc)
    assert len(chunks) == 1 and table.to_markdown() in chunks[0].text


@pytest.mark.parametrize("max_tokens", [8, 0])
def test_invalid_options(max_tokens: int) -> None:
    with pytest.raises(ValueError):
        ChunkingOptions(max_tokens=max_tokens)
