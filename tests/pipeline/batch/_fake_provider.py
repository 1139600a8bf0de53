"""A small OpenAI-compatible provider on 127.0.0.1 for the Batch API tests: Files, Batches, chat completions.

As the provider documentation describes them:

* ``POST /v1/files`` (multipart ``file`` + ``purpose=batch``) -> ``{"id", "object": "file", "bytes",
  "created_at", "filename", "purpose"}``; ``GET /v1/files/{id}``; ``GET /v1/files/{id}/content``;
* ``POST /v1/batches`` (``input_file_id``, ``endpoint``, ``completion_window="24h"``, ``metadata``) -> a batch
  object, ``validating``; each ``GET /v1/batches/{id}`` moves it on (``in_progress``, then ``completed`` with
  ``output_file_id``/``error_file_id`` and ``request_counts``) after ``polls`` reads;
* ``POST /v1/chat/completions``: one completion (for ``extract`` and ``run-local`` against the same rules).

Each request line is answered by ``answer(body) -> content str | int`` (an int: that HTTP error status for
the line, which goes to the error file). Every chat body the provider saw is kept in ``chat_bodies``.
"""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[dict[str, Any]], "str | int"]


def chat_response(body: dict[str, Any], content: str) -> dict[str, Any]:
    return {"id": f"chatcmpl-{time.monotonic_ns()}", "object": "chat.completion", "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}


class FakeProvider:
    def __init__(self, answer: Answer, *, polls: int = 1, key: str | None = None) -> None:
        self.answer = answer
        self.polls = polls
        self.key = key
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.reads: dict[str, int] = {}
        self.chat_bodies: list[dict[str, Any]] = []
        self.batch_lines: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, status: int, payload: Any, *, raw: bytes | None = None) -> None:
                data = raw if raw is not None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _authorized(self) -> bool:
                outer.auth.append(self.headers.get("Authorization"))
                if outer.key and self.headers.get("Authorization") != f"Bearer {outer.key}":
                    self._send(401, {"error": {"message": "bad key", "type": "invalid_request_error"}})
                    return False
                return True

            def do_GET(self) -> None:
                if self._authorized():
                    status, payload, raw = outer.get(self.path)
                    self._send(status, payload, raw=raw)

            def do_POST(self) -> None:
                if self._authorized():
                    status, payload = outer.post(self.path, self.headers.get("Content-Type", ""), self._body())
                    self._send(status, payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- routes ---------------------------------------------------------------------------------------
    def post(self, path: str, content_type: str, data: bytes) -> tuple[int, Any]:
        if path == "/v1/files":
            return self._upload(content_type, data)
        if path == "/v1/batches":
            return self._create(json.loads(data))
        if path == "/v1/chat/completions":
            body = json.loads(data)
            with self._lock:
                self.chat_bodies.append(body)
            reply = self.answer(body)
            if isinstance(reply, int):
                return reply, {"error": {"message": "refused", "type": "invalid_request_error"}}
            return 200, chat_response(body, reply)
        return 404, {"error": {"message": f"no route {path}"}}

    def get(self, path: str) -> tuple[int, Any, bytes | None]:
        parts = path.strip("/").split("/")  # v1 files ID [content] | v1 batches ID
        if len(parts) >= 3 and parts[1] == "files" and parts[2] in self.files:
            if len(parts) == 4 and parts[3] == "content":
                return 200, None, self.contents[parts[2]]
            return 200, self.files[parts[2]], None
        if len(parts) == 3 and parts[1] == "batches" and parts[2] in self.batches:
            return 200, self._advance(parts[2]), None
        return 404, {"error": {"message": f"no such object {path}"}}, None

    def _upload(self, content_type: str, data: bytes) -> tuple[int, Any]:
        message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + data,
                                           policy=email.policy.HTTP)
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[str(name)] = (part.get_filename(), part.get_payload(decode=True))
        if "file" not in fields or fields.get("purpose", (None, b""))[1] != b"batch":
            return 400, {"error": {"message": "multipart file and purpose=batch required"}}
        filename, content = fields["file"]
        return 200, self._new_file(filename or "upload.jsonl", content, "batch")

    def _new_file(self, filename: str, content: bytes, purpose: str) -> dict[str, Any]:
        with self._lock:
            fid = f"file-{len(self.files) + 1}"
            self.files[fid] = {"id": fid, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                               "filename": filename, "purpose": purpose}
            self.contents[fid] = content
        return self.files[fid]

    def _create(self, req: dict[str, Any]) -> tuple[int, Any]:
        if req.get("input_file_id") not in self.files or req.get("endpoint") != "/v1/chat/completions" \
                or req.get("completion_window") != "24h":
            return 400, {"error": {"message": f"bad batch request {req}"}}
        bid = f"batch_{len(self.batches) + 1}"
        self.batches[bid] = {"id": bid, "object": "batch", "endpoint": req["endpoint"], "errors": None,
                             "input_file_id": req["input_file_id"], "completion_window": "24h",
                             "status": "validating", "output_file_id": None, "error_file_id": None,
                             "created_at": int(time.time()), "metadata": req.get("metadata"),
                             "request_counts": {"total": 0, "completed": 0, "failed": 0}}
        self.reads[bid] = 0
        return 200, self.batches[bid]

    def _advance(self, bid: str) -> dict[str, Any]:
        batch = self.batches[bid]
        self.reads[bid] += 1
        if batch["status"] in ("validating", "in_progress") and self.reads[bid] > self.polls:
            self._process(batch)
        elif batch["status"] == "validating":
            batch["status"] = "in_progress"
        return batch

    def _process(self, batch: dict[str, Any]) -> None:
        lines = [json.loads(x) for x in self.contents[batch["input_file_id"]].splitlines() if x.strip()]
        out, err = [], []
        for n, line in enumerate(lines):
            assert line["method"] == "POST" and line["url"] == "/v1/chat/completions", line
            self.batch_lines.append(line)
            reply = self.answer(line["body"])
            if isinstance(reply, int):
                err.append({"id": f"batch_req_{n}", "custom_id": line["custom_id"], "response": {
                    "status_code": reply, "request_id": f"req_{n}", "body": {"error": {"message": "refused"}}},
                    "error": None})
            else:
                out.append({"id": f"batch_req_{n}", "custom_id": line["custom_id"], "response": {
                    "status_code": 200, "request_id": f"req_{n}", "body": chat_response(line["body"], reply)},
                    "error": None})
        batch["status"] = "completed"
        batch["request_counts"] = {"total": len(lines), "completed": len(out), "failed": len(err)}
        if out:
            batch["output_file_id"] = self._new_file("output.jsonl", _jsonl(out), "batch_output")["id"]
        if err:
            batch["error_file_id"] = self._new_file("errors.jsonl", _jsonl(err), "batch_output")["id"]


def _jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(x) + "\n" for x in lines).encode()
