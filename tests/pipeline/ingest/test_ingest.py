"""The ingest stage with injected fakes (parser, chunker, embedder), and the chunk tokenizer following the
index's embedding model."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from pipeline.chunking import Chunk, Chunker, ChunkingOptions
from pipeline.compose import Pipeline
from pipeline.document import Document, Element, ElementKind, ErrorRecord
from pipeline.embedding import DEFAULT_TOKENIZER, get_token_counter
from pipeline.exceptions import (
    ConfigurationError,
    EmbeddingModelMismatchError,
    FileAccessError,
    IndexStoreError,
)
from pipeline.index import Index, chunking_for
from pipeline.ingest import Ingestor, IngestReport
from pipeline.protocols import DocumentChunker, DocumentParser
from pipeline.testing import HashingEmbedder


class _Options:
    def fingerprint(self) -> str:
        return "fake-parser-v1"


class CountingParser:
    """A parser that needs no extractor: each paragraph of the file is an element. Counts reads and parses."""

    def __init__(self) -> None:
        self.options = _Options()
        self.reads: list[str] = []
        self.parses: list[tuple[str, str | None]] = []

    def read(self, path: str | os.PathLike[str]) -> bytes:
        self.reads.append(os.path.abspath(path))
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise FileAccessError("cannot read file", source=str(path), stage="read") from exc

    def parse_bytes(self, data: bytes, *, source: str, content_hash: str | None = None) -> Document:
        self.parses.append((source, content_hash))
        paras = [p.strip() for p in data.decode().split("\n\n") if p.strip()]
        return Document(
            source=source, content_hash=content_hash or hashlib.sha256(data).hexdigest(), format="text", pages=1,
            elements=[Element(kind=ElementKind.PARAGRAPH, text=p, page=1) for p in paras],
        )


class CountingChunker:
    def __init__(self, options: ChunkingOptions) -> None:
        self._inner = Chunker(options)
        self.documents: list[str] = []

    @property
    def options(self) -> ChunkingOptions:
        return self._inner.options

    def run(self, document: Document) -> list[Chunk]:
        self.documents.append(document.source)
        return self._inner.run(document)


def write_docs(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"note{i}.txt"
        p.write_text(f"Note {i} is about zqnote{i}x.\n\nA second paragraph on warehouses {i}.\n", encoding="utf-8")
        paths.append(p)
    return paths


def test_fakes_satisfy_the_protocols() -> None:
    assert isinstance(CountingParser(), DocumentParser)
    assert isinstance(CountingChunker(ChunkingOptions()), DocumentChunker)


def test_unchanged_reingest_reads_each_file_once_and_parses_chunks_embeds_nothing(tmp_path: Path) -> None:
    paths = write_docs(tmp_path / "docs", 3)
    emb = HashingEmbedder()
    with Pipeline.open(tmp_path / "ix", embedder=emb) as index:
        parser, chunker = CountingParser(), CountingChunker(index.index.chunking or ChunkingOptions())
        ingestor = Ingestor(index.index, parser=parser, chunker=chunker, embedder=emb)
        first = ingestor.run([tmp_path / "docs"])
        assert (first.parsed, first.skipped, first.failed) == (3, 0, 0)
        assert first.embedded == first.chunks_added > 0
        # Each file's bytes are read once, hashed once, and that hash goes to the parser.
        assert sorted(parser.reads) == sorted(str(p) for p in paths)
        for source, content_hash in parser.parses:
            assert content_hash == hashlib.sha256(Path(source).read_bytes()).hexdigest()
        calls = emb.calls

        second = ingestor.run([tmp_path / "docs"])
        assert (second.parsed, second.skipped, second.embedded, second.chunks_added) == (0, 3, 0, 0)
        assert len(parser.reads) == 6  # read once more to see that nothing changed...
        assert len(parser.parses) == 3 and len(chunker.documents) == 3  # ...but neither parsed nor chunked
        assert emb.calls == calls  # nor embedded
        # The stage wrote into the index: search sees it.
        assert index.search("zqnote1x", k=1, mode="bm25")[0].source == str(paths[1])


def test_index_add_is_the_same_stage(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", 2)
    parser = CountingParser()
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder(), parser=parser) as index:
        assert isinstance(index.add([tmp_path / "docs"]), IngestReport)
        assert len(parser.parses) == 2
        assert index.add([tmp_path / "docs"]).skipped == 2 and len(parser.parses) == 2


def test_failures_are_error_records_keyed_by_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder()) as index:
        report = Ingestor(index.index, parser=CountingParser()).run(["missing.txt"])
    assert report.failed == 1 and not report.ok
    (err,) = report.errors
    assert isinstance(err, ErrorRecord)
    assert err.source == str(tmp_path / "missing.txt")
    assert (err.error, err.reason, err.stage) == ("FileAccessError", "unreadable", "read")
    # The keys `ragline ingest --json` has always printed are all there.
    assert {"error", "reason", "message", "source"} <= set(report.model_dump(mode="json")["errors"][0])


def test_progress_callback_sees_every_file(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", 3)
    seen: list[tuple[int, int, str]] = []
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder()) as index:
        Ingestor(index.index, parser=CountingParser()).run([tmp_path / "docs"], progress=lambda *a: seen.append(a))
    assert [(n, total) for n, total, _ in seen] == [(1, 3), (2, 3), (3, 3)]
    assert all(Path(p).name.startswith("note") for _, _, p in seen)


def test_injected_parts_must_agree_with_the_index(tmp_path: Path) -> None:
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder()) as index:
        with pytest.raises(ConfigurationError, match="chunking options"):
            Ingestor(index.index, chunker=CountingChunker(ChunkingOptions(max_tokens=32))).warm_up()
        with pytest.raises(EmbeddingModelMismatchError):
            Ingestor(index.index, embedder=HashingEmbedder(model_name="other/model")).warm_up()
        # FAISS and SQLite change together only under the write lock.
        with pytest.raises(IndexStoreError, match="writing"):
            index.index.drop_document(1)


def test_stored_chunking_reads_the_index_options(tmp_path: Path) -> None:
    assert Index.stored_chunking(tmp_path / "nope") is None
    small = ChunkingOptions(max_tokens=48)
    write_docs(tmp_path / "docs", 1)
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder(), chunking=small) as index:
        index.add([tmp_path / "docs"])
    assert Index.stored_chunking(tmp_path / "ix") == small


# ------------------------------------------------------------------------------------------------
# the chunk tokenizer is the embedding model's
# ------------------------------------------------------------------------------------------------


def word_level_model(directory: Path) -> Path:
    """A model directory whose tokenizer.json counts one token per whitespace-separated word (the default
    model's word pieces count several for a rare word)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    directory.mkdir(parents=True)
    tok.save(str(directory / "tokenizer.json"))
    return directory


class ModelDirEmbedder(HashingEmbedder):
    """A hashing embedder that says which model directory (and tokenizer) it stands for."""

    def __init__(self, model_dir: Path, model_name: str) -> None:
        super().__init__(model_name=model_name)
        self.model_dir = model_dir


def test_chunk_budgets_are_counted_with_the_embedding_models_tokenizer(tmp_path: Path) -> None:
    model_dir = word_level_model(tmp_path / "word-model")
    words = " ".join(f"Zyxqwv{i}plorkt" for i in range(150))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "rare.md").write_text(f"# Rare words\n\n{words}\n", encoding="utf-8")
    own, default = get_token_counter(str(model_dir)), get_token_counter()
    assert own.count(words) == 150 < default.count(words)  # the two tokenizers disagree on this text

    emb = ModelDirEmbedder(model_dir, model_name="word-model")
    with Pipeline.open(tmp_path / "ix", embedder=emb, chunking=ChunkingOptions(max_tokens=64)) as index:
        assert index.index.chunking is not None and index.index.chunking.tokenizer == str(model_dir.resolve())
        index.add([docs])
        hits = index.search("rare words", k=50, mode="bm25")  # every chunk starts with its heading
    assert hits
    for hit in hits:
        assert hit.metadata["n_tokens"] == own.count(hit.text) <= 64
    # Budgets are filled in the model's tokens: counted in the default model's, no chunk would be this long.
    assert max(own.count(h.text) for h in hits) > 40
    assert sum(own.count(h.text) for h in hits) >= 150


def test_default_model_keeps_the_default_tokenizer_name() -> None:
    from pipeline.embedding import DEFAULT_MODEL

    options = ChunkingOptions()
    default = ModelDirEmbedder(Path("/nonexistent"), model_name=DEFAULT_MODEL)
    assert chunking_for(default, options) == options  # existing indexes keep their chunking fingerprint
    assert options.tokenizer == DEFAULT_TOKENIZER
    # A test double without a model directory leaves the options alone.
    assert chunking_for(HashingEmbedder(), ChunkingOptions(max_tokens=99)) == ChunkingOptions(max_tokens=99)
