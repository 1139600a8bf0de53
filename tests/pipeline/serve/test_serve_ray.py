"""The server's extract jobs on a Ray cluster when one is configured (``[ingest] engine = "ray"``): the same
records as the local extraction, written to the job's output."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi")


@pytest.mark.slow
def test_extract_job_on_ray_gives_the_local_record(tmp_path: Path, sample_docs: Path) -> None:
    ray = pytest.importorskip("ray")
    from pipeline.config import IngestConfig, RaglineConfig
    from pipeline.extraction import Invoice, StructuredExtractor
    from pipeline.llm import LLMSettings
    from pipeline.parsing import Parser
    from pipeline.serve import ServeConfig, create_app
    from pipeline.testing import HashingEmbedder
    from tests._live_server import LiveServer

    pdf = sample_docs / "invoice_acme.pdf"
    with StructuredExtractor(Invoice, None) as extractor:  # its rules settle every field: no model call
        local = extractor.run(Parser().run(pdf), raise_on_failure=False).to_record()
    # An endpoint nobody listens on: a model call would fail the record, so equal records mean none was made.
    config = RaglineConfig(ingest=IngestConfig(engine="ray"), llm=LLMSettings(base_url="http://127.0.0.1:9/v1"))
    serve = ServeConfig(allowed_roots=[sample_docs], state_dir=tmp_path / "state",
                        schemas={"invoice": "pipeline.extraction:Invoice"})
    try:
        with LiveServer(create_app(serve, config, embedder=HashingEmbedder())) as live:
            job = httpx.post(live.url + "/v1/jobs", json={"kind": "extract", "schema_name": "invoice",
                                                          "paths": [str(pdf)]}).json()
            deadline = time.monotonic() + 120
            while (state := httpx.get(f"{live.url}/v1/jobs/{job['id']}").json())["state"] in ("queued", "running"):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert state["state"] == "done", state
            lines = httpx.get(f"{live.url}/v1/jobs/{job['id']}/results").text.splitlines()
    finally:
        if ray.is_initialized():
            ray.shutdown()
    (record,) = [json.loads(line) for line in lines]
    for key in ("source", "status", "data", "evidence", "errors"):
        assert record[key] == local[key], key
