"""`ragline extract` / `ragline ask` against a scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from tests._embedders import patch_embedder

Reply = Callable[[dict[str, Any]], str]


class FakeOpenAI:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                outer.headers.append(dict(self.headers))
                content = outer.reply(body)
                data = json.dumps({
                    "model": body["model"],
                    "choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


ACME = {
    "invoice_number": {"value": "INV-2026-0042", "quote": "Invoice number: INV-2026-0042"},
    "date": {"value": "14.03.2026", "quote": "Invoice date: 14.03.2026"},
    "amount": {"value": "1.234,56 EUR", "quote": "Total amount due 1.234,56 EUR"},
    "amount_untaxed": {"value": "1.153,79", "quote": "Subtotal (net) 1.153,79 EUR"},
    "amount_tax": {"value": "80,77", "quote": "VAT 7% 80,77 EUR"},
    "currency": {"value": "EUR", "quote": "1.234,56 EUR"},
}


def acme_reply(body: dict[str, Any]) -> str:
    return json.dumps(ACME)


@pytest.fixture()
def fake_llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    srv = FakeOpenAI(acme_reply)
    monkeypatch.setenv("RAGLINE_LLM_BASE_URL", srv.url)
    monkeypatch.setenv("RAGLINE_LLM_MODEL", "fake-model")
    monkeypatch.setenv("RAGLINE_LLM_API_KEY", "sk-cli-SECRET-987654321")
    yield srv
    srv.close()


def test_extract_writes_one_json_line_per_document(
    fake_llm: FakeOpenAI, sample_docs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "in" / "sub"
    docs.mkdir(parents=True)
    shutil.copy(sample_docs / "invoice_acme.pdf", docs / "a.pdf")
    shutil.copy(sample_docs / "invoice_acme.pdf", tmp_path / "in" / "b.pdf")
    out = tmp_path / "out.jsonl"
    rc = main(["extract", str(tmp_path / "in"), "--schema", "pipeline.extraction:Invoice", "-o", str(out), "--strategy", "free"])
    assert rc == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    # Folders walked recursively; lines in the order documents finish (4 requests in flight to an endpoint).
    assert sorted(Path(r["source"]).name for r in lines) == ["a.pdf", "b.pdf"]
    rec = lines[0]
    assert set(rec) == {"source", "status", "data", "evidence", "errors", "usage", "attempts", "seconds", "model"}
    assert rec["status"] == "success"
    assert rec["data"] == {"invoice_number": "INV-2026-0042", "date": "2026-03-14", "amount": 1234.56,
                           "amount_untaxed": 1153.79, "amount_tax": 80.77, "currency": "EUR"}
    assert rec["evidence"]["amount"]["page"] == 1 and rec["evidence"]["amount"]["bbox"] is not None
    assert rec["usage"]["total_tokens"] == 120
    # env config reached the request; the key is sent as a bearer token and printed nowhere
    assert fake_llm.requests[0]["model"] == "fake-model"
    assert fake_llm.headers[0]["Authorization"] == "Bearer sk-cli-SECRET-987654321"
    err = capsys.readouterr().err
    assert "extracted 2 document(s)" in err and "SECRET" not in err


def test_extract_failures_and_exit_codes(
    fake_llm: FakeOpenAI, sample_docs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "empty.pdf"
    bad.write_bytes(b"")
    rc = main(["extract", str(sample_docs / "invoice_acme.pdf"), str(bad), str(tmp_path / "nope.pdf"),
               "--schema", "pipeline.extraction:Invoice", "-q"])
    assert rc == 1
    recs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    by = {Path(r["source"]).name: r for r in recs}
    assert by["invoice_acme.pdf"]["status"] == "success"
    assert by["empty.pdf"]["status"] == "failure" and by["empty.pdf"]["errors"]
    assert by["nope.pdf"]["status"] == "failure"
    # usage errors
    assert main(["extract", str(sample_docs / "invoice_acme.pdf"), "--schema", "no_such_module:X"]) == 2
    assert main(["extract", str(sample_docs / "invoice_acme.pdf"), "--schema", "pipeline.llm"]) == 2
    assert main(["extract", str(sample_docs / "invoice_acme.pdf"), "--schema", "pipeline.llm:LLMClient"]) == 2


def test_extract_model_output_never_valid_is_a_failure(
    monkeypatch: pytest.MonkeyPatch, sample_docs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    srv = FakeOpenAI(lambda body: "I refuse.")
    monkeypatch.setenv("RAGLINE_LLM_BASE_URL", srv.url)
    try:
        rc = main(["extract", str(sample_docs / "invoice_acme.pdf"), "--schema", "pipeline.extraction:Invoice",
                   "--max-attempts", "2", "-q", "--strategy", "free"])
    finally:
        srv.close()
    assert rc == 1
    rec = json.loads(capsys.readouterr().out)
    assert rec["status"] == "failure" and rec["attempts"] == 2 and len(srv.requests) == 2


def test_schema_from_py_file_and_json(fake_llm: FakeOpenAI, sample_docs: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    py = tmp_path / "myschema.py"
    py.write_text(
        "import datetime as dt\nfrom pydantic import BaseModel, Field\n"
        "class Inv(BaseModel):\n    invoice_number: str\n    date: dt.date | None = Field(None, description='issue date')\n",
        encoding="utf-8",
    )
    assert main(["extract", str(sample_docs / "invoice_acme.pdf"), "--schema", f"{py}:Inv", "-q", "--strategy", "free"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["data"] == {"invoice_number": "INV-2026-0042", "date": "2026-03-14"}
    sent = fake_llm.requests[-1]["response_format"]["json_schema"]["schema"]
    assert set(sent["properties"]) == {"invoice_number", "date"}

    js = tmp_path / "fields.json"
    js.write_text(json.dumps({"title": "T", "properties": {
        "amount": {"type": "number", "description": "total"},
        "date": {"type": "string", "format": "date"}}, "required": ["amount"]}), encoding="utf-8")
    assert main(["extract", str(sample_docs / "invoice_acme.pdf"), "--schema", str(js), "-q", "--strategy", "free"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["data"] == {"amount": 1234.56, "date": "2026-03-14"}


def test_missing_local_extra_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, sample_docs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    monkeypatch.delenv("RAGLINE_LLM_BASE_URL", raising=False)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    invoice = str(sample_docs / "invoice_acme.pdf")
    rc = main(["extract", invoice, "--schema", "pipeline.extraction:Invoice", "-q", "--strategy", "free"])
    assert rc == 2  # the model is needed for this run and cannot be started
    assert "local extra" in capsys.readouterr().err
    # The rules settle every field of the sample invoice: no model is loaded, so none is missed.
    assert main(["extract", invoice, "--schema", "pipeline.extraction:Invoice"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["status"] == "success"
    assert "loading the embedded LLM" not in captured.err


def test_ask_cli(monkeypatch: pytest.MonkeyPatch, sample_docs: Path, tmp_path: Path,
                 capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.testing import HashingEmbedder

    patch_embedder(monkeypatch, lambda *a, **k: HashingEmbedder())
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(sample_docs / "invoice_acme.pdf", docs / "acme.pdf")
    assert main(["ingest", str(docs), "--index", str(tmp_path / "ix"), "-q"]) == 0

    def answer(body: dict[str, Any]) -> str:
        user = body["messages"][-1]["content"]
        sid = user[: user.index("INV-2026-0042")].count("<source id=")
        return json.dumps({"found": True, "answer": "INV-2026-0042",
                           "citations": [{"source": sid, "quote": "Invoice number: INV-2026-0042"},
                                         {"source": 1, "quote": "made-up text"}]})

    srv = FakeOpenAI(answer)
    monkeypatch.setenv("RAGLINE_LLM_BASE_URL", srv.url)
    try:
        assert main(["ask", "What is the invoice number?", "--strategy", "free", "--index", str(tmp_path / "ix"),
                     "--json"]) == 0
        a = json.loads(capsys.readouterr().out)
        assert a["found"] and a["grounded"] and a["text"] == "INV-2026-0042"
        (c,) = a["citations"]
        assert c["source"].endswith("acme.pdf") and c["page"] == 1 and c["valid"]
        assert len(a["rejected_citations"]) == 1
        assert main(["ask", "What is the invoice number?", "--strategy", "free", "--index", str(tmp_path / "ix"), "-k", "3"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("INV-2026-0042\n") and 'p.1: "Invoice number: INV-2026-0042"' in out
        # --source: nothing matches, so nothing is retrieved and the LLM is not called.
        n_requests = len(srv.requests)
        assert main(["ask", "What is the invoice number?", "--strategy", "free", "--index", str(tmp_path / "ix"),
                     "--source", "*other*", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["found"] is False and len(srv.requests) == n_requests
    finally:
        srv.close()
    assert main(["ask", "q", "--index", str(tmp_path / "missing")]) == 2


def test_validation_reasks_default_depends_on_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from pipeline.cli._llm import add_llm_options, llm_settings

    parser = argparse.ArgumentParser()
    add_llm_options(parser)
    parser.add_argument("--validation-reasks", type=int, default=None)

    def validation_reasks(argv: list[str]) -> int:
        ns = parser.parse_args(argv)
        return llm_settings(ns).validation_reasks(ns.validation_reasks)

    monkeypatch.delenv("RAGLINE_LLM_BASE_URL", raising=False)
    assert validation_reasks([]) == 0  # embedded 0.5B: re-asks never helped (docs/llm.md)
    monkeypatch.setenv("RAGLINE_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    assert validation_reasks([]) == 2
    assert validation_reasks(["--validation-reasks", "1"]) == 1


# -- batch runs: resume, CSV, cost ----------------------------------------------------------------------

def _invoices(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"inv{i:02d}.txt"
        p.write_text(f"ACME GmbH\nInvoice number: INV-2026-{i:04d}\nInvoice date: 14.03.2026\n"
                     f"Total amount due {100 + i},00 EUR\n", encoding="utf-8")
        paths.append(p)
    return paths


def _complete_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return text.split("\n")[:-1]  # a last line without its newline is torn


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_finishes_every_document_once(tmp_path: Path) -> None:
    """Crash and resume with the embedded server (a stand-in started the same way as the real one):
    SIGKILL `ragline extract` mid-run; no server is left; the rerun appends the rest, redoing nothing finished."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from _fake_llama import fake_llama_path
    from _procs import alive, pids_with, wait_gone

    docs = _invoices(tmp_path / "in", 8)
    out = tmp_path / "out.jsonl"
    gguf = tmp_path / "stand-in-model.gguf"
    gguf.write_bytes(b"not a model")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGLINE_LLM_")}
    env.update({"PYTHONPATH": str(fake_llama_path(tmp_path)), "FAKE_LLAMA_DELAY": "0.4",
                "FAKE_LLAMA_REPLY": json.dumps(ACME), "FAKE_LLAMA_LOG": str(tmp_path / "requests-1.txt")})
    argv = ["extract", str(tmp_path / "in"), "--schema", "pipeline.extraction:Invoice", "-o", str(out),
            "--strategy", "free", "--local-model", str(gguf), "--model-cache", str(tmp_path / "cache")]
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", *argv], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(_complete_lines(out)) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        servers = [pid for pid in pids_with(str(gguf)) if pid != proc.pid]
        assert proc.poll() is None and len(servers) == 1, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
    assert wait_gone(servers) == [], "the embedded server outlived the SIGKILLed ragline"
    before = _complete_lines(out)
    done_before = {json.loads(line)["source"] for line in before}
    assert 3 <= len(before) < len(docs)

    # The rerun, in this process, against a fresh stand-in server that logs what it is asked.
    os.environ.update({k: env[k] for k in ("FAKE_LLAMA_DELAY", "FAKE_LLAMA_REPLY")})
    os.environ["FAKE_LLAMA_LOG"] = str(tmp_path / "requests-2.txt")
    os.environ["PYTHONPATH"] = env["PYTHONPATH"]
    try:
        rc = main([*argv, "-q"])
    finally:
        for k in ("FAKE_LLAMA_DELAY", "FAKE_LLAMA_REPLY", "FAKE_LLAMA_LOG", "PYTHONPATH"):
            os.environ.pop(k, None)
    assert rc == 0
    after = _complete_lines(out)
    sources = [json.loads(line)["source"] for line in after]
    assert sorted(sources) == sorted(str(p) for p in docs)  # every document exactly once
    assert after[: len(before)] == before  # what was finished is kept as it was
    asked_again = set((tmp_path / "requests-2.txt").read_text().split())
    assert asked_again == {p.name for p in docs} - {Path(s).name for s in done_before}  # nothing finished redone
    assert pids_with(str(gguf)) == [] and not any(alive(p) for p in servers)
    rows = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + len(docs) and rows[0].startswith("source,status,invoice_number,date,amount")


def test_resume_retry_failed_force_csv_and_cost(
    fake_llm: FakeOpenAI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = _invoices(tmp_path / "in", 3)
    (tmp_path / "in" / "empty.pdf").write_bytes(b"")
    out = tmp_path / "res" / "out.jsonl"
    argv = ["extract", str(tmp_path / "in"), "--schema", "pipeline.extraction:Invoice", "-o", str(out), "--strategy", "free",
            "--price-in", "2", "--price-out", "10"]
    assert main(argv) == 1  # empty.pdf failed
    err = capsys.readouterr().err
    assert "extracted 4 document(s)" in err and "tokens 300 in / 60 out; cost $0.0012" in err  # 3 x (100 + 20)
    assert "[4/4]" in err  # a progress line per document when stderr is not a terminal
    first = _complete_lines(out)
    assert len(first) == 4 and (tmp_path / "res" / "out.jsonl.journal").is_file()
    csv_rows = (tmp_path / "res" / "out.csv").read_text(encoding="utf-8").splitlines()
    assert len(csv_rows) == 5 and csv_rows[0].split(",")[:4] == ["source", "status", "invoice_number", "date"]

    n = len(fake_llm.requests)
    assert main(argv) == 1  # nothing to do: the failure stays until --retry-failed
    assert len(fake_llm.requests) == n and _complete_lines(out) == first
    assert "4 document(s) already done, skipped" in capsys.readouterr().err
    assert main([*argv, "--retry-failed"]) == 1  # tried again, failed again: still one line for it
    assert "1 to redo" in capsys.readouterr().err
    assert len(_complete_lines(out)) == 4 and len(fake_llm.requests) == n

    docs[0].write_text("Invoice number: INV-CHANGED\nTotal amount due 5,00 EUR\n", encoding="utf-8")
    (tmp_path / "in" / "empty.pdf").write_text("now a text file that reads", encoding="utf-8")  # sniffed as text
    assert main(argv) == 0  # changed files are done again, unasked
    recs = [json.loads(line) for line in _complete_lines(out)]
    assert sorted(Path(r["source"]).name for r in recs) == ["empty.pdf", "inv00.txt", "inv01.txt", "inv02.txt"]
    assert len(fake_llm.requests) == n + 2 and all(r["status"] != "failure" for r in recs)
    err = capsys.readouterr().err
    assert "tokens 200 in / 40 out; cost $0.0008" in err  # this run: 2 calls
    assert "4 document(s) (partial 4); tokens 400 in / 80 out; cost $0.0016" in err  # the records the output holds

    assert main([*argv, "--strategy", "candidates"]) == 0  # another strategy: another run key, all redone
    assert len(_complete_lines(out)) == 4
    assert main([*argv, "--force", "--no-csv", "-q"]) == 0
    assert len(_complete_lines(out)) == 4 and len(fake_llm.requests) == n + 2 + 4


def test_run_option_errors(fake_llm: FakeOpenAI, sample_docs: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    pdf = str(sample_docs / "invoice_acme.pdf")
    assert main(["extract", pdf, "--schema", "pipeline.extraction:Invoice", "--retry-failed"]) == 2
    assert "need -o" in capsys.readouterr().err
    assert main(["extract", pdf, "--schema", "pipeline.extraction:Invoice", "-o", str(tmp_path / "o.jsonl"),
                 "--csv", str(tmp_path / "o.jsonl")]) == 2
    assert main(["extract", pdf, "--schema", "pipeline.extraction:Invoice", "--max-attempts", "0"]) == 2
    assert "max_attempts" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["extract", pdf, "--schema", "pipeline.extraction:Invoice", "-o", str(blocker / "o.jsonl")]) == 1
    assert "cannot write" in capsys.readouterr().err
    assert main(["extract", pdf, "--schema", "pipeline.extraction:Invoice", "-o", str(tmp_path)]) == 1
    assert "it is a folder" in capsys.readouterr().err
    # --csv with stdout output
    assert main(["extract", pdf, "--schema", "pipeline.extraction:Invoice", "--csv", str(tmp_path / "t.csv"), "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "success"
    assert (tmp_path / "t.csv").read_text().count("\n") == 2


@pytest.fixture
def python_sigint_handler() -> Iterator[None]:
    """Python's own SIGINT handler, as a CLI process has it: ``_thread.interrupt_main()`` only reaches that
    handler, and a test run started in the background by a non-interactive shell inherits SIGINT ignored."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("python_sigint_handler")
def test_ctrl_c_keeps_what_is_finished_and_the_rerun_completes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import _thread

    docs = _invoices(tmp_path / "in", 4)
    calls: list[str] = []

    def reply(body: dict[str, Any]) -> str:
        calls.append(body["messages"][-1]["content"])
        if len(calls) == 2:
            _thread.interrupt_main()  # Ctrl-C while the second document is with the LLM
        return json.dumps(ACME)

    srv = FakeOpenAI(reply)
    monkeypatch.setenv("RAGLINE_LLM_BASE_URL", srv.url)
    out = tmp_path / "out.jsonl"
    argv = ["extract", str(tmp_path / "in"), "--schema", "pipeline.extraction:Invoice", "-o", str(out),
            "--strategy", "free", "--concurrency", "1"]
    try:
        assert main(argv) == 130
        err = capsys.readouterr().err
        assert "interrupted" in err and "rerun the same command to resume" in err
        kept = _complete_lines(out)
        assert 1 <= len(kept) <= 2
        assert (tmp_path / "out.csv").read_text().count("\n") == 1 + len(kept)  # the CSV matches what was kept
        # The interrupted run's worker may still be finishing the request it had started (its record is not
        # written): let it end before counting what the rerun asks.
        for t in threading.enumerate():
            if t.name.startswith("ragline-extract-"):
                t.join(10)
        n_first = len(calls)
        assert main([*argv, "-q"]) == 0
    finally:
        srv.close()
    lines = _complete_lines(out)
    assert lines[: len(kept)] == kept and sorted(json.loads(x)["source"] for x in lines) == sorted(map(str, docs))
    assert len(calls) - n_first == len(docs) - len(kept)  # the rerun asks for exactly what was not kept


@pytest.mark.slow
def test_a_dead_endpoint_is_exit_1_and_the_rerun_redoes_the_document(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listening: the fields only the model can read are lost, so the record says so (partial, the
    connection error), the run exits 1, and running it again does the document again instead of skipping it."""
    inv = _invoices(tmp_path / "in", 1)[0]
    schema = tmp_path / "bill.py"
    schema.write_text("from pydantic import BaseModel, Field\n\n"
                      "class Bill(BaseModel):\n"
                      "    invoice_number: str | None = None\n"
                      "    remarks: str | None = Field(None, description='free-text remarks',\n"
                      "                                json_schema_extra={'ragline_role': 'none'})\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    argv = ["extract", str(inv), "--schema", f"{schema}:Bill", "-o", str(out), "--llm-url", "http://127.0.0.1:9/v1"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    rec = json.loads(_complete_lines(out)[0])
    assert rec["status"] == "partial" and rec["data"]["invoice_number"] == "INV-2026-0000"
    assert any(e["reason"] == "llm_connection" for e in rec["errors"])
    assert "model call failed" in rec["evidence"]["remarks"]["note"]
    assert "lost fields because model calls failed" in err
    assert main(argv) == 1  # done again, not "none to do"
    assert "none to do" not in capsys.readouterr().err
    assert len(_complete_lines(out)) == 1
