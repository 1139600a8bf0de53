"""A server SIGKILLed in the middle of an ingest job and of an extract job: at the restart both jobs resume and
finish with every document exactly once, and no embedded LLM server outlives the killed one.

The server is a real process (uvicorn) with the hashing embedder (slowed, so the kill lands mid-job) and the
stand-in llama server of ``tests/_fake_llama.py``, started the way the real embedded model is."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")

SERVER = """
import json, sys
from pathlib import Path
from pipeline.config import IngestConfig, RaglineConfig
from pipeline.extraction import ExtractionOptions
from pipeline.llm import LLMSettings
from pipeline.serve import ServeConfig, run_server
from pipeline.testing import HashingEmbedder

a = json.loads(sys.argv[1])
serve = ServeConfig(indexes={"ix": Path(a["index"])}, allowed_roots=[Path(a["root"])], state_dir=Path(a["state"]),
                    port=a["port"], schemas={"invoice": "pipeline.extraction:Invoice"})
config = RaglineConfig(ingest=IngestConfig(workers=0), extraction=ExtractionOptions(strategy="free"),
                       llm=LLMSettings(embedded={"model": a["gguf"], "cache_dir": a["cache"]}))
run_server(serve, config, embedder=HashingEmbedder(delay=0.25), log_level="warning")
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(script: Path, args: dict[str, Any], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen([sys.executable, str(script), json.dumps(args)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{args['port']}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not start")


def _job(url: str, job_id: str) -> dict[str, Any]:
    return httpx.get(f"{url}/v1/jobs/{job_id}", timeout=10).json()  # type: ignore[no-any-return]


def _wait(url: str, job_id: str, until: Any, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(url, job_id)
        if until(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id}: {_job(url, job_id)}")


@pytest.mark.slow
def test_sigkill_during_jobs_then_restart_finishes_each_document_once(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from _fake_llama import fake_llama_path
    from _procs import pids_with, wait_gone

    from pipeline.compose import Pipeline
    from pipeline.config import IngestConfig, RaglineConfig
    from pipeline.testing import HashingEmbedder

    root = tmp_path / "data"
    docs, invoices = root / "docs", root / "invoices"
    docs.mkdir(parents=True)
    invoices.mkdir()
    for i in range(12):
        (docs / f"note{i:02d}.txt").write_text(f"Note {i}: cold store {i} holds {100 + i} pallets.\n")
    for i in range(6):
        (invoices / f"inv{i}.txt").write_text(f"ACME GmbH\nInvoice number: INV-2026-{i:04d}\n"
                                              f"Invoice date: 14.03.2026\nTotal amount due {100 + i},00 EUR\n")
    index = tmp_path / "ix"
    with Pipeline.open(index, config=RaglineConfig(ingest=IngestConfig(workers=0)), embedder=HashingEmbedder()) as rag:
        rag.add([docs / "note00.txt"])
    gguf = tmp_path / "stand-in-model.gguf"
    gguf.write_bytes(b"not a model")
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    reply = {"invoice_number": "INV-2026-0000", "date": "2026-03-14", "amount": 100.0}
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGLINE_")}
    env.update({"PYTHONPATH": os.pathsep.join([str(fake_llama_path(tmp_path)), str(Path.cwd())]),
                "FAKE_LLAMA_DELAY": "0.5", "FAKE_LLAMA_REPLY": json.dumps(reply)})
    args = {"index": str(index), "root": str(root), "state": str(tmp_path / "state"), "port": _port(),
            "gguf": str(gguf), "cache": str(tmp_path / "cache")}

    proc, url = _start(script, args, env)
    try:
        ingest = httpx.post(url + "/v1/jobs", json={"kind": "ingest", "index": "ix", "paths": [str(docs)]}).json()
        extract = httpx.post(url + "/v1/jobs", json={"kind": "extract", "schema_name": "invoice",
                                                     "paths": [str(invoices)]}).json()
        _wait(url, ingest["id"], lambda j: j["done"] >= 4)
        proc.send_signal(signal.SIGKILL)  # mid-ingest; the extract job is still queued
        proc.wait(10)

        args["port"] = _port()
        proc, url = _start(script, args, env)
        _wait(url, ingest["id"], lambda j: j["state"] == "done")
        job = _wait(url, extract["id"], lambda j: j["state"] == "running" and j["done"] >= 2)
        servers = [pid for pid in pids_with(str(gguf)) if pid != proc.pid]  # its argv names the model too
        assert len(servers) == 1, "the extract job runs against the embedded (stand-in) server"
        proc.send_signal(signal.SIGKILL)  # mid-extract
        proc.wait(10)
        assert wait_gone(servers) == [], "the embedded server outlived the SIGKILLed server"
        records = tmp_path / "state" / "jobs" / extract["id"] / "records.jsonl"
        done_before = len([ln for ln in records.read_text().split("\n")[:-1] if ln])
        assert 2 <= done_before < 6, job

        args["port"] = _port()
        proc, url = _start(script, args, env)
        final = _wait(url, extract["id"], lambda j: j["state"] in ("done", "failed"))
        assert final["state"] == "done", final
        assert final["result"]["skipped"] == done_before  # nothing finished was redone
        lines = httpx.get(f"{url}/v1/jobs/{extract['id']}/results").text.splitlines()
        sources = sorted(json.loads(line)["source"] for line in lines)
        assert sources == sorted(str(p) for p in invoices.iterdir())  # every document exactly once
        stats = httpx.get(url + "/v1/indexes").json()["indexes"][0]
        assert stats["documents"] == 12  # note00 indexed before, the other 11 by the job: each once
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert wait_gone(pids_with(str(gguf))) == []
