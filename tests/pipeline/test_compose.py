"""The composition layer: the whole pipeline built from a configuration file (no argparse), per-call settings
that never mutate shared objects, and concurrent searches that agree with sequential ones."""

from __future__ import annotations

import concurrent.futures as cf
from pathlib import Path

import pytest

from pipeline.compose import Pipeline
from pipeline.config import RaglineConfig
from pipeline.exceptions import ConfigurationError
from pipeline.parsing import TableMode
from pipeline.retrieval import FeatureReranker, PassThroughReranker
from pipeline.testing import HashingEmbedder

QUERIES = ["payback period of LED retrofits", "invoice total amount due", "energy intensity of the park",
           "customer number", "variable-speed compressor drives"]

TOML = """
[index]
directory = "{index}"
hnsw_threshold = 1000

[parse]
max_bytes = 50000000

[parse.pdf]
tables = "never"

[chunking]
max_tokens = 128

[ingest]
workers = 0

[search]
k = 3
rerank = "none"

[qa]
strategy = "extractive"

[llm]
base_url = "http://127.0.0.1:9/v1"
timeout = 5
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "ragline.toml"
    path.write_text(TOML.format(index=tmp_path / "ix"))
    return path


def test_the_whole_pipeline_from_a_configuration_file(config_file: Path, sample_docs: Path) -> None:
    config = RaglineConfig.load(config_file, environ={"RAGLINE_SEARCH_K": "4"})
    assert config.search.k == 4 and config.search.rerank == "none"  # the environment wins over the file
    assert config.parse.pdf.tables is TableMode.NEVER and config.chunking is not None
    assert config.llm.base_url == "http://127.0.0.1:9/v1" and config.llm.timeout == 5
    with Pipeline(config, embedder=HashingEmbedder()) as rag:
        assert rag.index.directory == config_file.parent / "ix"
        ingestor = rag.ingestor()
        assert ingestor.parse_options == config.parse and ingestor.workers == 0
        report = rag.add([sample_docs])
        assert report.parsed >= 5 and report.failed == 0
        assert rag.index.chunking is not None and rag.index.chunking.max_tokens == 128
        hits = rag.search("payback period of LED retrofits")
        assert len(hits) == 4 and all("reranker" not in h.metadata for h in hits)  # configured: no rerank
        answer = rag.ask("What is the payback period of the LED retrofit?")
        assert answer.found and "1.8" in answer.text
    # The same file through $RAGLINE_CONFIG.
    loaded = RaglineConfig.load(environ={"RAGLINE_CONFIG": str(config_file)})
    assert loaded.index.hnsw_threshold == 1000 and loaded.search.k == 3


def test_bad_configuration_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[search]\nrerank_depth = 3\n")
    with pytest.raises(ConfigurationError, match="search.rerank_depth"):
        RaglineConfig.load(path, environ={})
    path.write_text("[search\n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        RaglineConfig.load(path, environ={})
    with pytest.raises(ConfigurationError, match="cannot read"):
        RaglineConfig.load(tmp_path / "missing.toml", environ={})


def test_llm_variables_win_over_the_files_llm_section_as_for_every_section(tmp_path: Path) -> None:
    path = tmp_path / "ragline.toml"
    path.write_text('[llm]\nmodel = "from-file"\nbase_url = "http://file:1/v1"\n[search]\nk = 3\n', encoding="utf-8")
    env = {"RAGLINE_LLM_MODEL": "from-env", "RAGLINE_SEARCH_K": "7"}
    config = RaglineConfig.load(path, environ=env)
    assert (config.llm.model, config.llm.base_url, config.search.k) == ("from-env", "http://file:1/v1", 7)
    assert RaglineConfig.load(path, environ=env, llm={"model": "given"}).llm.model == "given"
    assert RaglineConfig.load(path, environ={}).llm.model == "from-file"


def test_per_call_settings_do_not_change_the_shared_retriever(tmp_path: Path, sample_docs: Path) -> None:
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder()) as rag:
        rag.add([sample_docs])
        retriever = rag.retriever
        default = retriever.reranker
        plain = rag.search(QUERIES[0], k=3, rerank="none")
        ranked = rag.search(QUERIES[0], k=3, rerank="features")
        assert retriever.reranker is default and rag.retriever is retriever
        assert all("reranker" not in h.metadata for h in plain)
        assert all(h.metadata.get("reranker") == "features" for h in ranked)
        assert isinstance(rag.reranker("none"), PassThroughReranker)
        assert isinstance(rag.reranker("features"), FeatureReranker)
        assert rag.reranker("features") is rag.reranker("features")  # built once per name


def test_concurrent_searches_with_different_rerank_settings_match_sequential_ones(
    tmp_path: Path, sample_docs: Path
) -> None:
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder()) as rag:
        rag.add([sample_docs])
        jobs = [(q, rerank, linking) for q in QUERIES for rerank in ("none", "features") for linking in (True, False)]

        def run(job: tuple[str, str, bool]) -> list[tuple[str, float]]:
            q, rerank, linking = job
            return [(h.chunk_id, round(h.score, 9)) for h in rag.search(q, k=4, rerank=rerank, linking=linking)]

        sequential = [run(job) for job in jobs]
        with cf.ThreadPoolExecutor(max_workers=8) as pool:
            for _ in range(3):
                concurrent = list(pool.map(run, jobs * 2))
                assert concurrent == sequential * 2
        by_job = dict(zip(jobs, sequential))
        # The settings really differ: reranking changes the scores of every query.
        assert all(by_job[(q, "none", True)] != by_job[(q, "features", True)] for q in QUERIES)
