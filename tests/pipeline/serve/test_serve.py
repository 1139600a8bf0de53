"""``ragline serve`` on the loopback address: OpenAI's own client for chat completions (plain and streaming),
embeddings and models; httpx for the rest; bad input, auth, limits and path confinement.

The server runs in this process (uvicorn on a thread) over an index of the sample documents built with the
hashing embedder, so no model is loaded; the extraction answers without a model (its rules settle)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")
openai = pytest.importorskip("openai")

from pipeline.compose import Pipeline  # noqa: E402
from pipeline.config import IngestConfig, RaglineConfig  # noqa: E402
from pipeline.serve import ServeConfig, create_app  # noqa: E402
from pipeline.testing import HashingEmbedder  # noqa: E402
from tests._live_server import LiveServer  # noqa: E402

QUESTION = "How much electricity did the park consume in the measurement year?"
INVOICE_SCHEMA = {"title": "Bill", "type": "object", "properties": {
    "invoice_number": {"type": "string", "description": "the invoice's own number"},
    "date": {"type": "string", "format": "date", "description": "the date the invoice was issued"},
    "amount": {"type": "number", "description": "the total amount to pay, taxes included"},
    "amount_untaxed": {"type": "number", "description": "the total before taxes"},
    "amount_tax": {"type": "number", "description": "the total tax amount"}}}


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory, sample_docs: Path) -> Path:
    directory = tmp_path_factory.mktemp("serve") / "sample"
    config = RaglineConfig(ingest=IngestConfig(workers=0))
    with Pipeline.open(directory, config=config, embedder=HashingEmbedder()) as rag:
        report = rag.add([sample_docs])
    assert report.failed == 0 and report.parsed >= 4
    return directory


def _app(sample_index: Path, tmp_path: Path, **serve: Any) -> Any:
    embedder = serve.pop("embedder", None) or HashingEmbedder()
    config = ServeConfig(indexes={"sample": sample_index}, state_dir=tmp_path / "state", **serve)
    return create_app(config, RaglineConfig(ingest=IngestConfig(workers=0)), embedder=embedder)


@pytest.fixture(scope="module")
def server(sample_index: Path, tmp_path_factory: pytest.TempPathFactory, sample_docs: Path) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("serve-state")
    with LiveServer(_app(sample_index, tmp, allowed_roots=[sample_docs])) as live:
        yield live


def test_chat_completions_with_the_openai_client_answer_with_citations(server: LiveServer) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    resp = client.chat.completions.create(model="ragline:sample", messages=[{"role": "user", "content": QUESTION}])
    content = resp.choices[0].message.content or ""
    extra = resp.model_extra or {}
    assert extra["ragline"]["found"] is True, content
    assert "18.4" in content and "Sources:" in content
    assert extra["citations"] and extra["citations"][0]["source"].endswith("report_two_column.pdf")
    assert extra["citations"][0]["page"] >= 1


def test_streamed_chat_completion_is_the_same_answer_with_citations_at_the_end(server: LiveServer) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    plain = client.chat.completions.create(model="ragline:sample", messages=[{"role": "user", "content": QUESTION}])
    stream = client.chat.completions.create(model="ragline:sample", stream=True,
                                            messages=[{"role": "user", "content": QUESTION}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (chunks[-1].model_extra or {})["citations"] == (plain.model_extra or {})["citations"]


def test_embeddings_and_models_with_the_openai_client(server: LiveServer) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    resp = client.embeddings.create(model="test/hashing", input=["energy use", "invoice total"])  # base64 on the wire
    expected = HashingEmbedder().embed(["energy use", "invoice total"])
    assert [d.index for d in resp.data] == [0, 1]
    assert resp.data[0].embedding == pytest.approx(expected[0].tolist(), abs=1e-6)
    floats = client.embeddings.create(model="test/hashing", input="energy use", encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(expected[0].tolist(), abs=1e-6)
    ids = [m.id for m in client.models.list()]
    assert "ragline:sample" in ids and "test/hashing" in ids


def test_unknown_index_model_is_a_typed_404(server: LiveServer) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="ragline:nope", messages=[{"role": "user", "content": "x"}])
    assert "names no served index" in str(err.value)


def test_search_and_ask_over_http(server: LiveServer) -> None:
    r = httpx.post(server.url + "/v1/search", json={"index": "sample", "query": "refrigeration share", "k": 3})
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert 1 <= len(hits) <= 3 and hits[0]["rank"] == 1 and hits[0]["page_start"] >= 1
    r = httpx.post(server.url + "/v1/ask", json={"index": "sample", "question": QUESTION})
    assert r.status_code == 200 and r.json()["found"] is True and r.json()["citations"]


def test_parse_upload_and_a_bad_file_gets_a_typed_error_and_the_server_keeps_serving(
        server: LiveServer, sample_docs: Path) -> None:
    pdf = (sample_docs / "invoice_acme.pdf").read_bytes()
    r = httpx.post(server.url + "/v1/parse", files={"file": ("invoice.pdf", pdf)}, data={"output": "markdown"})
    assert r.status_code == 200 and "INV-2026-0042" in r.text
    r = httpx.post(server.url + "/v1/parse", files={"file": ("junk.pdf", b"%PDF-1.7\n\x00\x01garbage" * 50)})
    assert r.status_code in (415, 422)
    error = r.json()["error"]
    assert error["reason"] in ("corrupt", "unsupported_format") and error["source"] == "junk.pdf"
    r = httpx.post(server.url + "/v1/parse", files={"file": ("empty.txt", b"")})
    assert r.status_code == 422 and r.json()["error"]["reason"] == "empty"
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    r = httpx.post(server.url + "/v1/parse", files={"file": ("notes.md", (sample_docs / "notes.md").read_bytes())},
                   data={"output": "chunks"})
    assert r.status_code == 200 and r.json()["chunks"]


def test_extract_upload_with_a_json_schema_returns_the_record_with_evidence(server: LiveServer,
                                                                            sample_docs: Path) -> None:
    pdf = (sample_docs / "invoice_acme.pdf").read_bytes()
    r = httpx.post(server.url + "/v1/extract", files={"file": ("invoice_acme.pdf", pdf)},
                   data={"schema": json.dumps(INVOICE_SCHEMA)}, timeout=60)
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["source"] == "invoice_acme.pdf"
    assert record["data"]["invoice_number"] == "INV-2026-0042" and record["data"]["amount"] == 1234.56
    # Read from the PDF's words (the upload is a file while it is extracted), as `ragline extract` reads them.
    assert record["data"]["amount_untaxed"] == 1153.79 and record["data"]["amount_tax"] == 80.77
    assert record["evidence"]["invoice_number"]["page"] == 1


def test_chat_completion_with_a_file_and_a_json_schema_extracts(server: LiveServer, sample_docs: Path) -> None:
    import base64

    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    data = base64.b64encode((sample_docs / "invoice_acme.pdf").read_bytes()).decode()
    resp = client.chat.completions.create(
        model="ragline", response_format={"type": "json_schema", "json_schema": {"name": "Bill",
                                                                                 "schema": INVOICE_SCHEMA}},
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "Extract the invoice."},
            {"type": "file", "file": {"filename": "invoice_acme.pdf",
                                      "file_data": f"data:application/pdf;base64,{data}"}}]}])
    fields = json.loads(resp.choices[0].message.content or "{}")
    assert fields["invoice_number"] == "INV-2026-0042"
    assert (resp.model_extra or {})["ragline"]["evidence"]["invoice_number"]["quote"]


def test_server_side_paths_are_confined_to_the_allowed_roots(server: LiveServer, sample_docs: Path,
                                                             tmp_path: Path) -> None:
    ok = httpx.post(server.url + "/v1/parse", data={"path": str(sample_docs / "readme.txt"), "output": "markdown"})
    assert ok.status_code == 200 and "Northgate" in ok.text
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    link = sample_docs.parent / "serve-escape-link.txt"
    for path in (str(outside), str(sample_docs / ".." / "pyproject.toml")):
        r = httpx.post(server.url + "/v1/parse", data={"path": path})
        assert r.status_code == 403 and r.json()["error"]["reason"] == "forbidden_path", path
    escape = tmp_path / "inside"
    escape.mkdir()
    (escape / "link.txt").symlink_to(outside)
    with LiveServer(create_app(ServeConfig(allowed_roots=[escape], state_dir=tmp_path / "s"),
                               embedder=HashingEmbedder())) as other:
        r = httpx.post(other.url + "/v1/parse", data={"path": str(escape / "link.txt")})
        assert r.status_code == 403  # a symlink out of the root is outside it
    assert not link.exists()


def test_limits_answer_typed_errors(sample_index: Path, tmp_path: Path) -> None:
    app = _app(sample_index, tmp_path, max_upload_bytes=1000, max_schema_depth=2)
    with LiveServer(app) as live:
        r = httpx.post(live.url + "/v1/parse", files={"file": ("big.txt", b"x" * 5000)})
        assert r.status_code == 413 and r.json()["error"]["reason"] == "too_large"
        deep = {"type": "object", "properties": {"a": {"type": "object", "properties": {
            "b": {"type": "object", "properties": {"c": {"type": "string"}}}}}}}
        r = httpx.post(live.url + "/v1/extract", files={"file": ("a.txt", b"hello")},
                       data={"schema": json.dumps(deep)})
        assert r.status_code == 413 and "deeper" in r.json()["error"]["message"]
        r = httpx.post(live.url + "/v1/search", json={"index": "sample"})
        assert r.status_code == 422 and r.json()["error"]["reason"] == "bad_request"
        r = httpx.post(live.url + "/v1/search", json={"index": "missing", "query": "x"})
        assert r.status_code == 404 and r.json()["error"]["reason"] == "not_found"


def test_a_full_queue_answers_429_with_retry_after(sample_index: Path, tmp_path: Path) -> None:
    app = _app(sample_index, tmp_path, workers=1, queue_size=0, embedder=HashingEmbedder(delay=0.5))
    with LiveServer(app) as live:
        import concurrent.futures as cf

        def one(_: int) -> httpx.Response:
            return httpx.post(live.url + "/v1/search", json={"index": "sample", "query": "energy", "k": 1},
                              timeout=30)

        with cf.ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(one, range(4)))
        codes = sorted(r.status_code for r in responses)
        assert 200 in codes and 429 in codes, codes
        busy = next(r for r in responses if r.status_code == 429)
        assert busy.headers["retry-after"] == "1" and busy.json()["error"]["reason"] == "busy"
        assert "ragline_rejected_total" in httpx.get(live.url + "/metrics").text


def test_api_key_is_required_and_never_logged(sample_index: Path, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    from pydantic import SecretStr

    key = "s3cret-key-0123456789"
    caplog.set_level(logging.DEBUG)
    with LiveServer(_app(sample_index, tmp_path, api_key=SecretStr(key))) as live:
        assert httpx.get(live.url + "/v1/models").status_code == 401
        assert httpx.get(live.url + "/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
        r = httpx.get(live.url + "/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200
        assert httpx.get(live.url + "/healthz").status_code == 200  # probes need no key
        client = openai.OpenAI(base_url=live.url + "/v1", api_key=key)
        assert client.chat.completions.create(model="ragline:sample",
                                              messages=[{"role": "user", "content": QUESTION}]).choices
    assert key not in caplog.text
    assert key not in repr(ServeConfig(api_key=SecretStr(key)))


def test_metrics_count_requests_per_endpoint(server: LiveServer) -> None:
    httpx.post(server.url + "/v1/search", json={"index": "sample", "query": "energy"})
    text = httpx.get(server.url + "/metrics").text
    assert 'ragline_requests_total{endpoint="/v1/search",status="200"}' in text
    assert 'ragline_request_seconds_count{endpoint="/v1/search"}' in text and "ragline_queue_depth" in text


def test_ingest_job_and_document_removal(sample_index: Path, tmp_path: Path, sample_docs: Path) -> None:
    import shutil

    directory = tmp_path / "copy"
    shutil.copytree(sample_index, directory)
    app = create_app(ServeConfig(indexes={"copy": directory}, allowed_roots=[tmp_path], state_dir=tmp_path / "st"),
                     RaglineConfig(ingest=IngestConfig(workers=0)), embedder=HashingEmbedder())
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "a.txt").write_text("The turbine hall holds four compressors.\n")
    (folder / "b.txt").write_text("Cold store B keeps goods at minus twenty degrees.\n")
    with LiveServer(app) as live:
        r = httpx.post(live.url + "/v1/jobs", json={"kind": "ingest", "index": "copy", "paths": [str(folder)]})
        assert r.status_code == 202
        job_id = r.json()["id"]
        job = _wait_job(live.url, job_id)
        assert job["state"] == "done" and job["result"]["parsed"] == 2 and job["done"] == job["total"] == 2
        hits = httpx.post(live.url + "/v1/search", json={"index": "copy", "query": "turbine compressors"}).json()
        assert any(h["source"].endswith("a.txt") for h in hits["hits"])
        r = httpx.request("DELETE", live.url + "/v1/indexes/copy/documents",
                          params={"source": str(folder / "a.txt")})
        assert r.json() == {"removed": 1}
        r = httpx.post(live.url + "/v1/jobs", json={"kind": "ingest", "index": "copy", "paths": ["/etc"]})
        assert r.status_code == 403
        up = httpx.post(live.url + "/v1/indexes/copy/documents", files={"file": ("c.txt", b"Dock doors: 42.\n")})
        assert up.status_code == 200 and up.json()["parsed"] == 1


def _wait_job(url: str, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/v1/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")
