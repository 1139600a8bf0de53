"""LangChain and LlamaIndex adapters: chunks and hits convert with their metadata and back, and a small ragline
index serves both frameworks' retrievers (hashing embedder: no model is loaded)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pipeline
from pipeline.adapters import chunk_metadata
from pipeline.testing import HashingEmbedder

QUERY = "refrigeration share of the electricity"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, sample_docs: Path) -> Iterator[Any]:
    docs = tmp_path_factory.mktemp("docs")
    for name in ("report_two_column.pdf", "notes.md"):
        shutil.copy(sample_docs / name, docs / name)
    with pipeline.Pipeline.open(tmp_path_factory.mktemp("ix"), embedder=HashingEmbedder()) as ix:
        report = ix.add(docs)
        assert report.failed == 0 and report.chunks_added > 10
        yield ix


@pytest.fixture(scope="module")
def report_doc(sample_docs: Path) -> Any:
    return pipeline.parse(sample_docs / "report_two_column.pdf")


def test_adapters_package_is_light() -> None:
    code = ("import pipeline.adapters, sys; print(sorted(m for m in ('langchain_core', 'llama_index', 'pymupdf')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_metadata_of_a_chunk(report_doc: Any) -> None:
    chunk = next(c for c in pipeline.chunk(report_doc) if c.page_start == 2 and "Consumption" in " ".join(c.heading_path))
    meta = chunk_metadata(chunk, report_doc)
    assert meta["source"] == report_doc.source and meta["file_name"] == "report_two_column.pdf"
    assert meta["pages"] == [2] and meta["heading_path"] == chunk.heading_path
    assert meta["heading"] == " > ".join(chunk.heading_path) and meta["chunk_id"] == chunk.id
    assert meta["boxes"] and all(b["page"] == 2 for b in meta["boxes"])
    bbox = meta["bbox"]
    assert bbox["page"] == 2 and all(bbox["x0"] <= b["x0"] and b["y1"] <= bbox["y1"] for b in meta["boxes"])
    assert "bbox" not in chunk_metadata(chunk)  # no document: no boxes


class TestLangChain:
    lc = pytest.importorskip("pipeline.adapters.langchain", reason="langchain-core is not installed")

    def test_chunks_round_trip(self, report_doc: Any) -> None:
        from langchain_core.documents import Document as LCDocument

        chunks = pipeline.chunk(report_doc)
        docs = self.lc.chunks_to_documents(chunks, document=report_doc)
        assert all(isinstance(d, LCDocument) for d in docs)
        assert [d.id for d in docs] == [c.id for c in chunks]
        assert [d.page_content for d in docs] == [c.text for c in chunks]
        assert all(d.metadata["bbox"] for d in docs)
        assert [self.lc.document_to_chunk(d) for d in docs] == chunks

    def test_retriever_round_trips_the_index(self, index: Any) -> None:
        from langchain_core.retrievers import BaseRetriever

        for mode in ("dense", "bm25", "hybrid"):
            retriever = self.lc.RaglineRetriever(index=index, k=4, mode=mode)
            assert isinstance(retriever, BaseRetriever)
            docs = retriever.invoke(QUERY)
            hits = index.search(QUERY, k=4, mode=mode)
            assert docs and [self.lc.document_to_hit(d) for d in docs] == hits
            assert [d.metadata["score"] for d in docs] == [h.score for h in hits]

    def test_retriever_filters_and_boxes(self, index: Any) -> None:
        retriever = self.lc.RaglineRetriever(index=index, k=3, source_glob="*.pdf", pages=2, boxes=True)
        docs = retriever.invoke(QUERY)
        assert docs and all(d.metadata["file_name"] == "report_two_column.pdf" for d in docs)
        assert all(2 in d.metadata["pages"] for d in docs)
        assert all(d.metadata["bbox"] and d.metadata["bbox"]["page"] in d.metadata["pages"] for d in docs)


class TestLlamaIndex:
    li = pytest.importorskip("pipeline.adapters.llamaindex", reason="llama-index-core is not installed")

    def test_chunks_round_trip(self, report_doc: Any) -> None:
        from llama_index.core.schema import MetadataMode, NodeRelationship, TextNode

        chunks = pipeline.chunk(report_doc)
        nodes = self.li.chunks_to_nodes(chunks, document=report_doc)
        assert all(isinstance(n, TextNode) for n in nodes)
        assert [n.node_id for n in nodes] == [c.id for c in chunks]
        assert [self.li.node_to_chunk(n) for n in nodes] == chunks
        node = nodes[3]
        assert node.relationships[NodeRelationship.SOURCE].node_id == report_doc.content_hash
        embedded = node.get_content(metadata_mode=MetadataMode.EMBED)
        assert "file_name: report_two_column.pdf" in embedded and node.text in embedded
        assert "bbox" not in embedded and "chunk_id" not in embedded  # location stays out of the embedding

    def test_retriever_round_trips_the_index(self, index: Any) -> None:
        from llama_index.core.retrievers import BaseRetriever

        for mode in ("dense", "bm25", "hybrid"):
            retriever = self.li.RaglineLlamaRetriever(index, k=4, mode=mode)
            assert isinstance(retriever, BaseRetriever)
            nodes = retriever.retrieve(QUERY)
            hits = index.search(QUERY, k=4, mode=mode)
            assert nodes and [self.li.node_to_hit(n) for n in nodes] == hits

    def test_retriever_filters_and_boxes(self, index: Any) -> None:
        nodes = self.li.RaglineLlamaRetriever(index, k=3, source_glob="*.pdf", boxes=True).retrieve(QUERY)
        assert nodes and all(n.node.metadata["file_name"] == "report_two_column.pdf" for n in nodes)
        assert all(n.node.metadata["boxes"] for n in nodes)
        md = self.li.RaglineLlamaRetriever(index, k=3, source_glob="*.md", boxes=True).retrieve(QUERY)
        assert md and all(n.node.metadata["boxes"] == [] and n.node.metadata["bbox"] is None for n in md)
