"""Ingest engines: the sequential path (workers=0), the local engine (parse workers) and the Ray engine give
the same index; worker processes never outlive a run, interrupted or killed; unchanged files are skipped
before any parse whichever engine runs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.document import Document
from pipeline.index import Index
from pipeline.ingest import Ingestor
from pipeline.parsing import Parser
from pipeline.testing import HashingEmbedder

SAMPLES = ("article.html", "notes.md", "readme.txt", "invoice_acme.pdf", "report_two_column.pdf")


class LoggingParser(Parser):
    """The real parser, appending ``pid path`` to a log file on every parse (works across processes);
    ``delay`` seconds per parse let a test interrupt or kill a run while workers are busy."""

    def __init__(self, log: Path, delay: float = 0.0) -> None:
        super().__init__()
        self.log = str(log)
        self.delay = delay

    def parse_bytes(self, data: bytes, *, source: str, content_hash: str | None = None) -> Document:
        with open(self.log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {source}\n")
        if self.delay:
            time.sleep(self.delay)
        return super().parse_bytes(data, source=source, content_hash=content_hash)


class CrashingParser(Parser):
    """The real parser, except that it kills its process on any file named ``crash*`` (a segfault in a
    parsing library, or the kernel's OOM killer, looks the same to the pool)."""

    def parse_bytes(self, data: bytes, *, source: str, content_hash: str | None = None) -> Document:
        if Path(source).name.startswith("crash"):
            os._exit(11)
        return super().parse_bytes(data, source=source, content_hash=content_hash)


def parse_log(log: Path) -> list[tuple[int, str]]:
    if not log.is_file():
        return []
    return [(int(pid), src) for pid, src in (line.split(" ", 1) for line in log.read_text().splitlines())]


@pytest.fixture()
def docs(tmp_path: Path, sample_docs: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    for name in SAMPLES:
        shutil.copy(sample_docs / name, d / name)
    (d / "empty.md").write_bytes(b"")  # a failure record, in its place in the order
    for i in range(6):
        (d / f"memo{i}.md").write_text(f"# Memo {i}\n\nThe zq{i}x plant shipped {i} units.\n", encoding="utf-8")
    return d


def index_contents(index: Index) -> dict[str, Any]:
    """Everything a reader sees: documents, chunk rows (ids included), vectors by chunk row id, FAISS size."""
    store = index.store
    assert index.embedder is not None
    ids, vecs = store.vectors_for(index.embedder.model_name, None, index.vectors.dimension)
    rows = store.chunks(store.live_ids().tolist())
    docs = [(d.path, d.doc_id, d.status, d.n_chunks, d.chunking) for d in store.documents_under("/")]
    return {
        "documents": sorted(docs),
        "chunks": sorted((r.id, r.chunk_id, r.source, r.position, r.text, r.page_start, r.heading_path)
                         for r in rows.values()),
        "vectors": dict(zip(ids.tolist(), vecs)),
        "faiss": index.vectors.live_count,
    }


def ingest(tmp_path: Path, docs: Path, name: str, embedder: Any = None, **engine: Any) -> tuple[Any, dict[str, Any]]:
    with Index.open(tmp_path / name, embedder=embedder or HashingEmbedder()) as index:
        report = Ingestor(index, **engine).run([docs])
        return report, index_contents(index)


def assert_same_index(a: dict[str, Any], b: dict[str, Any], atol: float = 0.0) -> None:
    import numpy as np

    assert a["documents"] == b["documents"]
    assert a["chunks"] == b["chunks"]
    assert a["faiss"] == b["faiss"] == len(a["chunks"])
    assert a["vectors"].keys() == b["vectors"].keys()
    for row_id, vec in a["vectors"].items():
        np.testing.assert_allclose(vec, b["vectors"][row_id], atol=atol, rtol=0)


REPORT_FIELDS = ("files", "parsed", "failed", "skipped", "chunks_added", "embedded", "cached", "pages", "errors")


def test_local_engine_builds_the_same_index_as_the_sequential_path(tmp_path: Path, docs: Path) -> None:
    seq_embedder, par_embedder = HashingEmbedder(), HashingEmbedder()
    seq_report, seq = ingest(tmp_path, docs, "seq", seq_embedder, workers=0)
    par_report, par = ingest(tmp_path, docs, "par", par_embedder, workers=2)
    assert seq_report.failed == 1 and seq_report.parsed == len(SAMPLES) + 6
    for field in REPORT_FIELDS:
        assert getattr(par_report, field) == getattr(seq_report, field), field
    assert_same_index(seq, par)
    # The same texts embedded, but the small documents' chunks together: fewer, fuller embedding calls.
    assert par_embedder.texts_embedded == seq_embedder.texts_embedded == seq_report.embedded
    assert seq_embedder.calls == seq_report.parsed and par_embedder.calls < seq_embedder.calls


def test_progress_is_per_file_in_input_order(tmp_path: Path, docs: Path) -> None:
    seen: list[str] = []
    with Index.open(tmp_path / "ix", embedder=HashingEmbedder()) as index:
        Ingestor(index, workers=2).run([docs], progress=lambda n, total, path: seen.append(path))
    from pipeline.parsing import expand_paths

    assert seen == [os.path.abspath(p) for p in expand_paths([docs])]


def test_unchanged_files_are_skipped_before_any_parse_with_workers(tmp_path: Path, docs: Path) -> None:
    log = tmp_path / "parses.log"
    with Index.open(tmp_path / "ix", embedder=HashingEmbedder()) as index:
        ingestor = Ingestor(index, parser=LoggingParser(log), workers=2)
        first = ingestor.run([docs])
        parsed_by = {pid for pid, _ in parse_log(log)}
        assert os.getpid() not in parsed_by  # parsed in the workers...
        assert len(parse_log(log)) == first.parsed + first.failed == len(list(docs.iterdir()))
        (docs / "notes.md").write_text("# Notes\n\nChanged text about zqchangedx.\n", encoding="utf-8")
        second = ingestor.run([docs])
    assert (second.parsed, second.skipped) == (1, first.parsed - 1)
    # ...and only the changed file (and the one that failed, which has no indexed copy) is parsed again.
    again = [src for _, src in parse_log(log)][len(list(docs.iterdir())):]
    assert sorted(again) == sorted([str(docs / "empty.md"), str(docs / "notes.md")])


def test_a_file_that_kills_its_worker_is_recorded_and_the_run_goes_on(tmp_path: Path, docs: Path) -> None:
    (docs / "crash.md").write_text("# Boom\n\nThis file takes its parser down.\n", encoding="utf-8")
    with Index.open(tmp_path / "ix", embedder=HashingEmbedder()) as index:
        report = Ingestor(index, parser=CrashingParser(), workers=2).run([docs])
        stats = index.stats()
    crashed = [e for e in report.errors if e.source == str(docs / "crash.md")]
    assert len(crashed) == 1 and "worker process died" in crashed[0].message
    # Every other file (in flight with it when the pool broke, or after) is indexed as usual.
    assert (report.failed, report.parsed) == (2, len(SAMPLES) + 6)
    assert stats.documents == len(SAMPLES) + 6 and stats.failed_documents == 2


@pytest.mark.slow
def test_workers_do_not_outlive_an_interrupted_run(tmp_path: Path, docs: Path) -> None:
    from _procs import wait_gone

    log = tmp_path / "parses.log"

    def interrupt(n: int, total: int, path: str) -> None:
        if n == 2:
            raise KeyboardInterrupt

    with Index.open(tmp_path / "ix", embedder=HashingEmbedder()) as index:
        with pytest.raises(KeyboardInterrupt):
            Ingestor(index, parser=LoggingParser(log, delay=0.2), workers=2).run([docs], progress=interrupt)
        stats = index.stats()
        assert stats.documents + stats.failed_documents == 2  # what was written before Ctrl-C stays
    workers = {pid for pid, _ in parse_log(log)} - {os.getpid()}
    assert workers and not wait_gone(list(workers), 5.0)


_KILLED_WRITER = """
import sys
sys.path.insert(0, {tests!r})
from pipeline.index._index import Index
from pipeline.ingest._ingestor import Ingestor
from pipeline.testing import HashingEmbedder
from test_ingest_engines import LoggingParser
with Index.open({ix!r}, embedder=HashingEmbedder()) as index:
    Ingestor(index, parser=LoggingParser({log!r}, delay=30), workers=2).run([{docs!r}])
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to tell exited workers")
def test_workers_die_with_a_killed_writer(tmp_path: Path, docs: Path) -> None:
    from _procs import wait_gone

    log = tmp_path / "parses.log"
    script = textwrap.dedent(_KILLED_WRITER).format(
        tests=str(Path(__file__).parent), ix=str(tmp_path / "ix"), log=str(log), docs=str(docs)
    )
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(parse_log(log)) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        workers = {pid for pid, _ in parse_log(log)}
        assert len(workers) == 2, "both workers should be parsing (30 s each) by now"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert not wait_gone(list(workers), 10.0), "parse workers outlived the killed writer"
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
def test_ray_is_not_imported_by_the_local_engine(tmp_path: Path, docs: Path) -> None:
    code = textwrap.dedent(f"""
        import sys
        from pipeline.index._index import Index
        from pipeline.ingest._ingestor import Ingestor
        from pipeline.testing import HashingEmbedder
        with Index.open({str(tmp_path / 'ix')!r}, embedder=HashingEmbedder()) as index:
            Ingestor(index, workers=1).run([{str(docs)!r}])
        print("ray" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.slow
def test_a_script_without_a_main_guard_can_ingest_with_workers(tmp_path: Path, docs: Path) -> None:
    """Workers do not re-run the caller's script (which would ingest again inside each worker)."""
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(f"""
        from pipeline.index._index import Index
        from pipeline.ingest._ingestor import Ingestor
        from pipeline.testing import HashingEmbedder
        with Index.open({str(tmp_path / 'ix')!r}, embedder=HashingEmbedder()) as index:
            report = Ingestor(index, workers=2).run([{str(docs)!r}])
        print("parsed", report.parsed)
    """), encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines() == [f"parsed {len(SAMPLES) + 6}"]


def test_bad_engine_options_are_configuration_errors(tmp_path: Path) -> None:
    from pipeline.exceptions import ConfigurationError

    with Index.open(tmp_path / "ix", embedder=HashingEmbedder()) as index:
        with pytest.raises(ConfigurationError, match="engine"):
            Ingestor(index, engine="spark")  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="workers"):
            Ingestor(index, workers=-1)


def test_ray_workers_rebuild_the_embedder_from_its_spec(tmp_path: Path) -> None:
    """What the Ray engine ships to its embed actors: not the loaded model, the spec make_embedder made."""
    import pickle

    from pipeline.embedding import Devices, EmbedderSpec, OnnxEmbedder, make_embedder
    from pipeline.ingest.engines.ray import build_embedder, portable_embedder

    onnx = make_embedder("onnx", cache_dir=tmp_path, batch_size=7, devices=Devices(cuda=False))
    onnx.embed = lambda texts: None  # type: ignore[method-assign,assignment,return-value]  # a local function
    shipped = portable_embedder(onnx, threads=2)
    assert isinstance(shipped, EmbedderSpec) and shipped.backend == "onnx"
    copy = build_embedder(pickle.loads(pickle.dumps(shipped)))
    assert type(copy) is OnnxEmbedder and copy is not onnx
    assert (copy.model_name, copy.model_dir) == (onnx.model_name, onnx.model_dir)
    assert (copy.cache_dir, copy.batch_size, copy.threads) == (onnx.cache_dir, 7, 2)
    onnx.precision = "int8-weights"  # what warm_up resolved "auto" to: the workers must run the same graph
    assert build_embedder(portable_embedder(onnx)).requested_precision == "int8-weights"  # type: ignore[attr-defined]
    # On a GPU worker the backend and precision asked for ("auto") are the worker's to resolve.
    assert portable_embedder(onnx, gpu=True).precision == "auto"  # type: ignore[union-attr]
    fake = HashingEmbedder()
    assert build_embedder(portable_embedder(fake)) is fake  # a light double that pickles travels as it is


def test_the_ray_engine_refuses_an_embedder_its_workers_cannot_get(tmp_path: Path, docs: Path) -> None:
    """No spec and no pickle: a ConfigurationError when the engine is made, before Ray starts."""
    import threading

    from pipeline.chunking import Chunker
    from pipeline.exceptions import ConfigurationError
    from pipeline.ingest.engines.ray import RayEngine

    class Locked(HashingEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self._lock = threading.Lock()

    with pytest.raises(ConfigurationError, match="make_embedder, or make it picklable") as err:
        RayEngine(Parser(), Chunker(), Locked())
    assert err.value.stage == "embed"
    with Index.open(tmp_path / "ix", embedder=Locked()) as index:
        with pytest.raises(ConfigurationError, match="Locked"):
            Ingestor(index, engine="ray").run([docs])
        assert index.stats().documents == 0


@pytest.mark.slow
def test_ray_engine_builds_the_same_index_with_the_real_model(
    tmp_path: Path, docs: Path, ragline_cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ray = pytest.importorskip("ray", reason="the ray engine needs ray[data] (pip install 'ragline[ray]')")
    from pipeline.embedding import make_embedder

    embedder = make_embedder("onnx", cache_dir=ragline_cache_dir)
    seq_report, seq = ingest(tmp_path, docs, "seq", embedder, workers=0)
    _, par = ingest(tmp_path, docs, "par", embedder, workers=1)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")

    def embedded_by_the_writer(texts: list[str]) -> Any:
        raise AssertionError(f"the writer embedded {len(texts)} text(s) that Ray workers should have")

    monkeypatch.setattr(embedder, "embed", embedded_by_the_writer)  # Ray workers rebuild their own model
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        ray_report, on_ray = ingest(tmp_path, docs, "ray", embedder, engine="ray")
    finally:
        ray.shutdown()
    for field in REPORT_FIELDS:
        assert getattr(ray_report, field) == getattr(seq_report, field), field
    assert_same_index(seq, par)  # same process, same model: identical
    assert_same_index(seq, on_ray, atol=1e-5)  # the model rebuilt on a Ray worker
