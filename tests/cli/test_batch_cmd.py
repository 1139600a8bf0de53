"""`ragline batch prepare|submit|status|collect|run-local`, in-process, against a fake provider on 127.0.0.1."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline" / "batch"))
from _batch_rules import SELLER, bill_answer, bill_docs, schema_file
from _fake_provider import FakeProvider

from pipeline.cli import main

KEY = "sk-cli-batch-SECRET-24680"


@pytest.fixture()
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    prov = FakeProvider(bill_answer, polls=1, key=KEY)
    monkeypatch.setenv("RAGLINE_LLM_BASE_URL", prov.url)
    monkeypatch.setenv("RAGLINE_LLM_MODEL", "fake-model")
    monkeypatch.setenv("RAGLINE_LLM_API_KEY", KEY)
    yield prov
    prov.close()


def test_round_trip_with_a_reasked_line(provider: FakeProvider, sample_docs: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """prepare -> submit -> status -> collect (round 2: the re-ask) -> submit -> collect: the records."""
    docs = bill_docs(sample_docs, tmp_path / "docs")
    job, out = tmp_path / "job", tmp_path / "out.jsonl"
    spec = schema_file(tmp_path)
    assert main(["batch", "prepare", str(docs), "--schema", spec, "-o", str(job), "--strategy", "free"]) == 0
    err = capsys.readouterr().err
    assert "2 document(s); 2 request(s)" in err and f"ragline batch submit {job}" in err

    assert main(["batch", "submit", str(job)]) == 0
    assert capsys.readouterr().out.startswith("round 1: batch batch_1 validating (2 request(s)")
    assert main(["batch", "status", str(job)]) == 0
    assert capsys.readouterr().out == "round 1: 2 request(s), batch batch_1 in_progress: 0/0 completed, 0 failed\n"
    assert main(["batch", "submit", str(job)]) == 1  # a round is paid for once
    assert "already submitted as batch_1" in capsys.readouterr().err

    assert main(["batch", "collect", str(job), "-o", str(out)]) == 1  # a round is left to run
    err = capsys.readouterr().err
    assert "round 2: 2 request(s) for 2 document(s)" in err and "requests-2.jsonl" in err
    reasks = [json.loads(x) for x in (job / "requests-2.jsonl").read_text().splitlines()]
    assert all("seller: Value error, the seller is a company name" in r["body"]["messages"][-1]["content"]
               for r in reasks)
    assert all(r["custom_id"].split("-")[2] == "r2" for r in reasks)
    assert main(["batch", "collect", str(job), "-o", str(out)]) == 1
    assert "round 2 has no output yet" in capsys.readouterr().err

    assert main(["batch", "submit", str(job), "-q"]) == 0
    assert main(["batch", "status", str(job)]) == 0
    assert "round 1: 2 request(s), batch batch_1 completed: 2/2 completed, 0 failed, collected\n" \
        "round 2: 2 request(s), batch batch_2 in_progress" in capsys.readouterr().out
    assert main(["batch", "collect", str(job), "-o", str(out)]) == 0
    assert "2 document(s) (success 2)" in capsys.readouterr().err
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert set(records[0]) == {"source", "status", "data", "evidence", "errors", "usage", "attempts", "seconds",
                               "model"}
    assert sorted(Path(r["source"]).name for r in records) == ["acme.pdf", "two_totals.txt"]
    assert all(r["data"]["seller"] == SELLER and r["attempts"] == 2 and r["status"] == "success" for r in records)
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert [row["seller"] for row in rows] == [SELLER, SELLER]
    # Collecting again changes nothing: the output's journal knows both documents.
    assert main(["batch", "collect", str(job), "-o", str(out), "-q"]) == 0
    assert len(out.read_text().splitlines()) == 2
    # The key went as a bearer token on every call and was printed nowhere.
    assert set(provider.auth) == {f"Bearer {KEY}"}
    assert "SECRET" not in capsys.readouterr().err + (job / "manifest.json").read_text()


def test_invalid_after_the_last_round_is_a_failure_record(monkeypatch: pytest.MonkeyPatch, sample_docs: Path,
                                                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prov = FakeProvider(lambda body: "I refuse.", polls=0)
    monkeypatch.setenv("RAGLINE_LLM_BASE_URL", prov.url)
    job, out = tmp_path / "job", tmp_path / "out.jsonl"
    try:
        assert main(["batch", "prepare", str(sample_docs / "invoice_acme.pdf"), "--schema", "pipeline.extraction:Invoice",
                     "-o", str(job), "--strategy", "free", "--max-attempts", "2", "-q"]) == 0
        for _ in range(2):
            assert main(["batch", "submit", str(job), "-q"]) == 0
            rc = main(["batch", "collect", str(job), "-o", str(out), "-q", "--no-csv"])
    finally:
        prov.close()
    assert rc == 1 and not (tmp_path / "out.csv").exists()
    record = json.loads(out.read_text())
    assert record["status"] == "failure" and record["attempts"] == 2 and record["data"] is None
    assert [e["reason"] for e in record["errors"]] == ["invalid_reply", "invalid_reply"]
    assert len(prov.batch_lines) == 2


def test_usage_and_state_errors_are_one_line(monkeypatch: pytest.MonkeyPatch, sample_docs: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("RAGLINE_LLM_BASE_URL", raising=False)
    assert main(["batch", "collect", str(tmp_path), "-o", str(tmp_path / "o.jsonl")]) == 1
    assert capsys.readouterr().err.strip().endswith("run `ragline batch prepare` [stage batch]")
    job = tmp_path / "job"
    assert main(["batch", "prepare", str(sample_docs / "invoice_acme.pdf"), "--schema", "pipeline.extraction:Invoice",
                 "-o", str(job), "--local-model", str(tmp_path / "m.gguf"), "-q"]) == 0
    form = json.loads((job / "manifest.json").read_text())["body_form"]  # as LocalLLMServer.client() sends
    assert form == {"model": "m", "structured_mode": "json_object", "schema_in_prompt": False, "temperature": 0.0,
                    "max_tokens": 1024, "seed": None}
    assert main(["batch", "submit", str(job)]) == 2  # the embedded model has no Batch API
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--llm-url" in err and "Traceback" not in err
    assert main(["batch", "prepare", str(tmp_path / "nothing"), "--schema", "pipeline.llm:Nope", "-o",
                 str(tmp_path / "j2")]) == 2
    assert main(["batch", "prepare", str(sample_docs / "readme.txt"), "--schema", "pipeline.extraction:Invoice", "-o",
                 str(job)]) == 1
    assert "already holds a batch job" in capsys.readouterr().err
    assert main(["batch"]) == 2


def test_run_local_on_the_sample_documents_with_the_embedded_server(
        monkeypatch: pytest.MonkeyPatch, sample_docs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole flow offline: the default (embedded) model, here the stand-in llama_cpp.server of
    tests/_fake_llama.py started through ragline's own launcher, answers every request of sample_docs/."""
    import os

    from _fake_llama import fake_llama_path

    fake = str(fake_llama_path(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (fake, os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setenv("FAKE_LLAMA_LOG", str(tmp_path / "asked.log"))
    # Every field null: a valid reply to a free request (and to a choice), whatever the document.
    monkeypatch.setenv("FAKE_LLAMA_REPLY", json.dumps(dict.fromkeys(
        ("invoice_number", "date", "amount", "amount_untaxed", "amount_tax", "currency"))))
    monkeypatch.delenv("RAGLINE_LLM_BASE_URL", raising=False)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"not a model")
    job, out = tmp_path / "job", tmp_path / "out.jsonl"
    local = ["--local-model", str(gguf), "--llm-threads", "1"]
    assert main(["batch", "prepare", str(sample_docs), "--schema", "pipeline.extraction:Invoice", "-o", str(job),
                 "--strategy", "free", *local]) == 0
    requests = (job / "requests.jsonl").read_text().splitlines()
    assert main(["batch", "run-local", str(job), *local, "-q"]) == 0
    assert capsys.readouterr().out.startswith(f"round 1: {len(requests)} answered, 0 failed")
    assert len((tmp_path / "asked.log").read_text().splitlines()) == len(requests)
    assert main(["batch", "collect", str(job), "-o", str(out)]) == 0
    records = [json.loads(x) for x in out.read_text().splitlines()]
    names = sorted(Path(r["source"]).name for r in records)
    assert names == ["article.html", "article_latin1.html", "invoice_acme.pdf", "notes.md", "readme.txt",
                     "report_two_column.pdf"]
    assert all(r["model"] == "m" and r["attempts"] == 1 for r in records)
    assert main(["batch", "status", str(job)]) == 0
    assert capsys.readouterr().out.startswith(f"round 1: {len(requests)} request(s), run here: completed")


@pytest.mark.slow
def test_run_local_with_the_real_embedded_model(monkeypatch: pytest.MonkeyPatch, sample_docs: Path,
                                                tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The real llama.cpp server (default model) answers the batch of one sample invoice; collect reads it.
    One field, so the request is short."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("the `local` extra (llama-cpp-python[server]) is not installed")
    monkeypatch.delenv("RAGLINE_LLM_BASE_URL", raising=False)
    schema = tmp_path / "number.json"
    schema.write_text(json.dumps({"title": "InvoiceNumber", "properties": {
        "invoice_number": {"type": "string", "description": "the invoice number"}}}), encoding="utf-8")
    job, out = tmp_path / "job", tmp_path / "out.jsonl"
    assert main(["batch", "prepare", str(sample_docs / "invoice_acme.pdf"), "--schema", str(schema), "-o", str(job),
                 "--strategy", "free", "-q"]) == 0
    assert len((job / "requests.jsonl").read_text().splitlines()) == 1
    assert main(["batch", "run-local", str(job), "-q"]) == 0
    assert capsys.readouterr().out.startswith("round 1: 1 answered, 0 failed")
    line = json.loads((job / "output-1.jsonl").read_text())
    assert line["response"]["status_code"] == 200 and line["response"]["body"]["choices"]
    assert main(["batch", "collect", str(job), "-o", str(out), "-q"]) == 0
    record = json.loads(out.read_text())
    assert record["status"] == "success" and record["data"] == {"invoice_number": "INV-2026-0042"}
    assert record["evidence"]["invoice_number"]["supported"] and record["usage"]["requests"] == 1
