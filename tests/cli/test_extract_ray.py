"""``ragline extract --engine ray`` on a local Ray writes the same records as the local engine, through the same
journal (a rerun skips everything), with the embedded (stand-in) model started once by the driver."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline.cli import main

REPLY = {
    "invoice_number": {"value": "INV-2026-0003", "quote": "Invoice number: INV-2026-0003"},
    "date": {"value": "14.03.2026", "quote": "Invoice date: 14.03.2026"},
    "amount": {"value": "103,00 EUR", "quote": "Total amount due 103,00 EUR"},
}
_VARYING = ("seconds", "usage")  # timings and token counts of a run, not its results


def _records(path: Path) -> dict[str, dict]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        out[record["source"]] = {k: v for k, v in record.items() if k not in _VARYING}
    return out


@pytest.mark.slow
def test_ray_engine_writes_the_records_of_the_local_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ray = pytest.importorskip("ray", reason="--engine ray needs ray (pip install 'ragline[ray]')")
    from _fake_llama import fake_llama_path
    from _procs import pids_with

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(5):
        (folder / f"inv{i}.txt").write_text(f"ACME GmbH\nInvoice number: INV-2026-{i:04d}\n"
                                            f"Invoice date: 14.03.2026\nTotal amount due {100 + i},00 EUR\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    gguf = tmp_path / "stand-in-model.gguf"
    gguf.write_bytes(b"not a model")
    for k in [k for k in os.environ if k.startswith("RAGLINE_LLM_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("PYTHONPATH", str(fake_llama_path(tmp_path)))
    monkeypatch.setenv("FAKE_LLAMA_REPLY", json.dumps(REPLY))
    common = ["--schema", "pipeline.extraction:Invoice", "--strategy", "free", "--local-model", str(gguf),
              "--model-cache", str(tmp_path / "cache"), "-q", "--no-csv"]

    assert main(["extract", str(folder), "-o", str(tmp_path / "local.jsonl"), *common]) == 1  # broken.pdf fails
    try:
        rc = main(["extract", str(folder), "-o", str(tmp_path / "ray.jsonl"), "--engine", "ray", *common])
        assert rc == 1
        local, on_ray = _records(tmp_path / "local.jsonl"), _records(tmp_path / "ray.jsonl")
        assert sorted(on_ray) == sorted(local) and len(local) == 6
        for source in local:
            assert on_ray[source] == local[source], source
        assert on_ray[str(folder / "broken.pdf")]["status"] == "failure"
        # The same journal: a rerun on Ray redoes nothing and starts no model.
        before = (tmp_path / "ray.jsonl").read_text()
        assert main(["extract", str(folder), "-o", str(tmp_path / "ray.jsonl"), "--engine", "ray", *common]) == 1
        assert (tmp_path / "ray.jsonl").read_text() == before
    finally:
        if ray.is_initialized():
            ray.shutdown()
    assert pids_with(str(gguf)) == []
