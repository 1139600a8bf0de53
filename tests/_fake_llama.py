"""A stand-in for llama-cpp-python's server, started the same way as the real one.

:func:`fake_llama_path` writes a package ``llama_cpp`` whose ``llama_cpp.server`` module is a tiny
OpenAI-compatible server (same argv as the real one); with its folder first on ``PYTHONPATH`` it
shadows the real package, in ragline and in the server child that ragline starts through its launcher.
Environment: ``FAKE_LLAMA_DELAY`` (seconds per completion), ``FAKE_LLAMA_REPLY`` (the completion's
content), ``FAKE_LLAMA_LOG`` (a file that gets the ``source`` of each request's document, one per line).
"""

from __future__ import annotations

from pathlib import Path

_SERVER = r'''
import json, os, re, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
delay = float(os.environ.get("FAKE_LLAMA_DELAY", "0"))
reply = os.environ.get("FAKE_LLAMA_REPLY", "{}")
log = os.environ.get("FAKE_LLAMA_LOG")
print("fake llama_cpp.server", os.getpid(), "threads", args.get("--n_threads"), flush=True)


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def _send(self, obj):
        data = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send({"data": [{"id": args["--model_alias"]}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if "messages" not in body:  # the launcher's warm-up probe (/v1/completions): not a document
            self._send({"model": args["--model_alias"], "choices": [{"text": "ok", "finish_reason": "length"}],
                        "usage": {"prompt_tokens": 70, "completion_tokens": 2, "total_tokens": 72}})
            return
        user = body["messages"][-1]["content"]
        m = re.search(r'<document source="([^"]*)"', user)
        if log:
            with open(log, "a") as f:
                f.write((m.group(1) if m else "?") + "\n")
        time.sleep(delay)
        self._send({"model": args["--model_alias"],
                    "choices": [{"message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}})


HTTPServer((args["--host"], int(args["--port"])), H).serve_forever()
'''


def fake_llama_path(root: Path) -> Path:
    """Write the fake ``llama_cpp`` package under ``root``; the folder to put first on ``PYTHONPATH``."""
    pkg = root / "fake_llama" / "llama_cpp"
    (pkg / "server").mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "server" / "__init__.py").write_text("")
    (pkg / "server" / "__main__.py").write_text(_SERVER)
    return root / "fake_llama"
