"""``ragline batch run-local``: a round's requests run here, against an endpoint or the embedded model,
answered in the provider's output format so that ``collect`` reads them as it reads a provider's files.

Requests go through :meth:`~pipeline.llm.AsyncLLMClient.post_chat_body` (the chat client's retries and
concurrency limit, the body sent as written). Each answer is appended and flushed as soon as it arrives:
a run that is stopped keeps what it finished, and running it again sends only the requests whose
custom_id has no line in the output file yet. Failed requests go to the error file (rewritten per run),
as a provider puts them in its ``error_file_id``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from pipeline.batch._requests_manifest import read_jsonl
from pipeline.exceptions import LLMError

OnAnswer = Callable[[str, bool], None]  # (custom_id, succeeded)


def output_line(custom_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A successful request, as the Batch API writes it to the output file."""
    return {"id": f"batch_req_{uuid.uuid4().hex}", "custom_id": custom_id,
            "response": {"status_code": 200, "request_id": str(body.get("id") or uuid.uuid4().hex), "body": body},
            "error": None}


def error_line(custom_id: str, exc: LLMError) -> dict[str, Any]:
    """A failed request, as the Batch API writes it to the error file: the HTTP answer when there was one."""
    status = getattr(exc, "status_code", None)
    response = ({"status_code": status, "request_id": "", "body": {"error": {"message": exc.message}}}
                if status else None)
    return {"id": f"batch_req_{uuid.uuid4().hex}", "custom_id": custom_id, "response": response,
            "error": {"code": exc.reason, "message": exc.message}}


def _write(stream: IO[str], line: dict[str, Any]) -> None:
    stream.write(json.dumps(line, ensure_ascii=False) + "\n")
    stream.flush()


async def _run(make_client: Callable[[], Any], requests: list[dict[str, Any]], out: IO[str], err: IO[str],
               on_answer: OnAnswer | None) -> tuple[int, int]:
    counts = [0, 0]
    client = make_client()  # in the loop that will close it

    async def one(line: dict[str, Any]) -> None:
        cid = str(line["custom_id"])
        try:
            body = await client.post_chat_body(line["body"])
        except LLMError as exc:
            _write(err, error_line(cid, exc))
            counts[1] += 1
            ok = False
        else:
            _write(out, output_line(cid, body))
            counts[0] += 1
            ok = True
        if on_answer is not None:
            on_answer(cid, ok)

    # The client's semaphore keeps max_concurrency requests in flight; the rest wait their turn.
    try:
        await asyncio.gather(*(one(line) for line in requests))
    finally:
        await client.aclose()
    return counts[0], counts[1]


def run_requests(make_client: Callable[[], Any], requests_path: Path, output_path: Path, errors_path: Path,
                 on_answer: OnAnswer | None = None) -> tuple[int, int, int]:
    """Answer the requests of ``requests_path`` not yet answered in ``output_path``:
    (succeeded, failed, already answered before). ``make_client()`` gives an :class:`~pipeline.llm.AsyncLLMClient`."""
    done = {str(x.get("custom_id")) for x in read_jsonl(output_path)}
    todo = [x for x in read_jsonl(requests_path) if str(x.get("custom_id")) not in done]
    _drop_torn_tail(output_path)
    with output_path.open("a", encoding="utf-8") as out, errors_path.open("w", encoding="utf-8") as err:
        ok, failed = asyncio.run(_run(make_client, todo, out, err, on_answer))
    return ok, failed, len(done)


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line without its newline (a run killed while writing it), so appending starts clean."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


__all__ = ["error_line", "output_line", "run_requests"]
