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

            def do_POST(self) -> None:  # noqa: N802
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
    rc = main(["extract", str(tmp_path / "in"), "--schema", "pipeline.llm:Invoice", "-o", str(out), "--strategy", "free"])
    assert rc == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [Path(r["source"]).name for r in lines] == ["b.pdf", "a.pdf"]  # folders walked recursively, sorted
    rec = lines[0]
    assert set(rec) >= {"source", "status", "data", "evidence", "errors", "usage"}
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
               "--schema", "pipeline.llm:Invoice", "-q"])
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
        rc = main(["extract", str(sample_docs / "invoice_acme.pdf"), "--schema", "pipeline.llm:Invoice",
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
    rc = main(["extract", str(sample_docs / "invoice_acme.pdf"), "--schema", "pipeline.llm:Invoice", "-q"])
    assert rc == 2
    assert "local extra" in capsys.readouterr().err


def test_ask_cli(monkeypatch: pytest.MonkeyPatch, sample_docs: Path, tmp_path: Path,
                 capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.testing import HashingEmbedder

    monkeypatch.setattr("pipeline.embedding.make_embedder", lambda *a, **k: HashingEmbedder())
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
        assert main(["ask", "What is the invoice number?", "--index", str(tmp_path / "ix"), "--json"]) == 0
        a = json.loads(capsys.readouterr().out)
        assert a["found"] and a["grounded"] and a["text"] == "INV-2026-0042"
        (c,) = a["citations"]
        assert c["source"].endswith("acme.pdf") and c["page"] == 1 and c["valid"]
        assert len(a["rejected_citations"]) == 1
        assert main(["ask", "What is the invoice number?", "--index", str(tmp_path / "ix"), "-k", "3"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("INV-2026-0042\n") and 'p.1: "Invoice number: INV-2026-0042"' in out
        # --source: nothing matches, so nothing is retrieved and the LLM is not called.
        n_requests = len(srv.requests)
        assert main(["ask", "What is the invoice number?", "--index", str(tmp_path / "ix"),
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
