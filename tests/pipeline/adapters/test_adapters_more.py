"""The adapters as each library's users expect them: LangChain's ``search_kwargs``, the metadata keys each
library's own loaders set, a document loader and a reader, and async retrieval that awaits a ragline server
(RemoteIndex) instead of a thread."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pipeline
from pipeline.testing import HashingEmbedder

QUERY = "refrigeration share of the electricity"
lc = pytest.importorskip("pipeline.adapters.langchain", reason="langchain-core is not installed")
li = pytest.importorskip("pipeline.adapters.llamaindex", reason="llama-index-core is not installed")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, sample_docs: Path) -> Path:
    docs = tmp_path_factory.mktemp("docs")
    for name in ("report_two_column.pdf", "notes.md"):
        shutil.copy(sample_docs / name, docs / name)
    directory = tmp_path_factory.mktemp("ix") / "ix"
    with pipeline.Pipeline.open(directory, embedder=HashingEmbedder()) as ix:
        assert ix.add(docs).failed == 0
    return directory


@pytest.fixture(scope="module")
def index(index_dir: Path) -> Iterator[Any]:
    with pipeline.Pipeline.open(index_dir, embedder=HashingEmbedder(), create=False) as ix:
        yield ix


def test_search_kwargs_are_applied_and_unknown_ones_refused(index: Any) -> None:
    retriever = lc.RaglineRetriever(index=index, search_kwargs={"k": 2, "source_glob": "*.md"})
    docs = retriever.invoke(QUERY)
    assert len(docs) == 2 and all(d.metadata["file_name"] == "notes.md" for d in docs)
    with pytest.raises(ValueError, match="unknown search_kwargs"):
        lc.RaglineRetriever(index=index, search_kwargs={"top_k": 2})


def test_metadata_has_each_librarys_own_keys(index: Any) -> None:
    from llama_index.core.schema import MetadataMode

    doc = lc.RaglineRetriever(index=index, k=1, source_glob="*.pdf").invoke(QUERY)[0]
    assert doc.metadata["page"] == doc.metadata["page_start"] - 1  # LangChain's PDF loaders count from 0
    assert doc.metadata["page_label"] == str(doc.metadata["page_start"])
    assert doc.metadata["file_path"] == doc.metadata["source"]
    node = li.RaglineLlamaRetriever(index, k=1, source_glob="*.pdf").retrieve(QUERY)[0].node
    shown = node.get_content(metadata_mode=MetadataMode.LLM)
    heading = node.metadata["heading"]
    assert heading and shown.count(heading) == 1  # once, from the text; not again from the metadata
    assert "page_label:" in shown and "file_path" not in shown


def test_langchain_loader_and_llamaindex_reader(sample_docs: Path) -> None:
    from langchain_core.documents import Document as LCDocument
    from llama_index.core.schema import Document as LlamaDocument
    from llama_index.core.schema import TextNode

    chunks = lc.RaglineLoader(sample_docs / "report_two_column.pdf").load()
    assert chunks and all(isinstance(d, LCDocument) and d.metadata["bbox"] for d in chunks)
    docs = lc.RaglineLoader([sample_docs], export="markdown").load()
    assert {d.metadata["file_name"] for d in docs} >= {"report_two_column.pdf", "invoice_acme.pdf", "notes.md"}
    documents = li.RaglineReader().load_data(sample_docs / "invoice_acme.pdf", extra_info={"team": "ap"})
    assert isinstance(documents[0], LlamaDocument) and "INV-2026-0042" in documents[0].text
    assert documents[0].metadata["team"] == "ap"
    nodes = li.RaglineReader(export="nodes").load_data([sample_docs / "report_two_column.pdf"])
    assert nodes and all(isinstance(n, TextNode) for n in nodes) and nodes[0].metadata["page_label"] == "1"


def test_a_loader_names_an_unreadable_file(tmp_path: Path) -> None:
    from pipeline.exceptions import InputError

    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7 truncated")
    with pytest.raises(InputError) as err:
        lc.RaglineLoader(bad).load()
    assert err.value.source == str(bad)
    assert lc.RaglineLoader(bad, skip_errors=True).load() == []


def test_async_retrieval_awaits_a_ragline_server(index_dir: Path, tmp_path: Path, index: Any) -> None:
    pytest.importorskip("fastapi")
    from pipeline.adapters import RemoteIndex
    from pipeline.serve import ServeConfig, create_app
    from tests._live_server import LiveServer

    app = create_app(ServeConfig(indexes={"ix": index_dir}, state_dir=tmp_path / "state"), embedder=HashingEmbedder())
    with LiveServer(app) as live:
        remote = RemoteIndex(live.url, "ix")
        assert remote.search(QUERY, k=3) == index.search(QUERY, k=3)

        async def both() -> tuple[list[Any], list[Any]]:
            docs = await lc.RaglineRetriever(index=remote, k=3).ainvoke(QUERY)
            nodes = await li.RaglineLlamaRetriever(remote, k=3).aretrieve(QUERY)
            return docs, nodes

        docs, nodes = asyncio.run(both())
        local = index.search(QUERY, k=3)
        assert [lc.document_to_hit(d) for d in docs] == local
        assert [li.node_to_hit(n) for n in nodes] == local
    # A local index is searched on a worker thread: the event loop is not blocked.
    docs = asyncio.run(lc.RaglineRetriever(index=index, k=2).ainvoke(QUERY))
    assert [lc.document_to_hit(d) for d in docs] == index.search(QUERY, k=2)
