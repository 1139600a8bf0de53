"""PATH arguments as users type them: standard input, a quoted glob, and URLs with --fetch (a loopback server:
unit tests never reach the network)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.cli import main


@pytest.fixture
def site(sample_docs: Path) -> Iterator[str]:
    pdf = (sample_docs / "invoice_acme.pdf").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            body, kind = {"/invoice.pdf": (pdf, "application/pdf"), "/app.js": (b"var x;", "application/javascript"),
                          "/big.txt": (b"x" * 3_000_000, "text/plain")}.get(self.path, (b"", ""))
            self.send_response(200 if kind else 404)
            self.send_header("Content-Type", kind or "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_standard_input_is_a_document(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    class Stdin:
        buffer = io.BytesIO(b"Hello from a pipe.\nTotal 12,50 EUR\n")

    monkeypatch.setattr("sys.stdin", Stdin())
    assert main(["parse", "-"]) == 0
    assert "Hello from a pipe." in capsys.readouterr().out


def test_a_quoted_glob_is_expanded(sample_docs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(sample_docs / "*.md")]) == 0
    out = capsys.readouterr().out
    assert "Project notes: ragline sample corpus" in out
    assert main(["parse", str(sample_docs / "nothing-*.pdf")]) == 1
    assert "no file matches this pattern" in capsys.readouterr().err


def test_urls_only_with_fetch_then_checked(site: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", f"{site}/invoice.pdf"]) == 1
    assert "only with --fetch" in capsys.readouterr().err
    assert main(["parse", f"{site}/invoice.pdf", "--fetch"]) == 0
    captured = capsys.readouterr()
    assert "INV-2026-0042" in captured.out and "fetched" in captured.err
    assert main(["parse", f"{site}/app.js", f"{site}/missing.pdf", f"{site}/big.txt", "--fetch",
                 "--max-fetch-mb", "1"]) == 1
    err = capsys.readouterr().err
    assert "application/javascript, not a document" in err and "HTTP 404" in err and "over --max-fetch-mb" in err


def test_extract_reads_a_url(site: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", f"{site}/invoice.pdf", "--fetch", "--schema", "pipeline.extraction:Invoice", "-q"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["data"]["invoice_number"] == "INV-2026-0042"
