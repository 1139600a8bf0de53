"""OpenAI-compatible endpoints, so any OpenAI SDK or tool calls ragline without new code.

* ``POST /v1/chat/completions`` with ``model`` naming an index (``ragline:NAME``, or ``ragline`` when one index
  is served): the last user message is the question, the answer is the assistant message, with its sources
  listed after it. The citations also come as a field of the response, ``citations`` (a list of
  ``{source, page, page_end, quote, chunk_id, valid}``), and ``ragline`` holds ``found`` and ``grounded``.
  ``stream: true`` sends the same answer as server-sent events, the citations in the last chunk.
  With ``response_format`` of type ``json_schema`` and a file attached to the last user message (a content
  part ``{"type": "file", "file": {"filename", "file_data": "data:...;base64,..."}}``), extraction runs with
  that schema on the file: the message content is the extracted JSON and ``ragline`` the whole record.
* ``POST /v1/embeddings`` with the bundled embedding model (``encoding_format`` float or base64).
* ``GET /v1/models``: the indexes (``ragline:NAME``), and the embedding model.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from pipeline.serve._errors import ServeError
from pipeline.serve._guards import schema_model
from pipeline.serve._inputs import data_url_bytes, safe_name
from pipeline.serve._routes import AskRequest, answer_question, extract_upload, state_of

if TYPE_CHECKING:
    from pipeline.qa import Answer
    from pipeline.serve._state import ServerState

router = APIRouter(prefix="/v1")
MODEL_PREFIX = "ragline:"


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens, ...: accepted, not used

    model: str
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = False
    response_format: dict[str, Any] | None = None


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str | None = None
    input: str | list[str]
    encoding_format: Literal["float", "base64"] = "float"


def index_for(state: ServerState, model: str) -> str:
    name = model[len(MODEL_PREFIX):] if model.startswith(MODEL_PREFIX) else model
    if name in ("", "ragline") and len(state.index_names()) == 1:
        return state.index_names()[0]
    if name not in state.serve.indexes:
        known = ", ".join(MODEL_PREFIX + n for n in state.index_names()) or "none"
        raise ServeError(f"model {model!r} names no served index (models: {known})", reason="model_not_found",
                         status=404)
    return name


def _last_user(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The last user message's text and its file parts."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content, []
        parts = content if isinstance(content, list) else []
        text = " ".join(str(p.get("text", "")) for p in parts if isinstance(p, dict) and p.get("type") == "text")
        files = [p["file"] for p in parts if isinstance(p, dict) and p.get("type") == "file"
                 and isinstance(p.get("file"), dict)]
        return text, files
    raise ServeError("no user message to answer", reason="bad_request", status=400)


def _answer_text(answer: Answer) -> str:
    if not answer.found:
        return answer.text
    lines = [answer.text]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for i, c in enumerate(answer.citations, start=1):
            pages = f"p.{c.page}" if c.page == c.page_end else f"p.{c.page}-{c.page_end}"
            lines.append(f"[{i}] {c.source} {pages}: \"{c.quote}\"")
    return "\n".join(lines)


def _citations(answer: Answer) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json", include={"source", "page", "page_end", "quote", "chunk_id", "valid", "bbox"})
            for c in answer.citations]


@router.post("/chat/completions", summary="OpenAI chat completions: a cited answer from an index, or extraction")
async def chat_completions(request: Request, body: ChatRequest) -> Any:
    state = state_of(request)
    question, files = _last_user(body.messages)
    fmt = body.response_format or {}
    created = int(time.time())
    completion_id = "chatcmpl-" + uuid.uuid4().hex[:24]
    if fmt.get("type") == "json_schema" and files:
        content, extension, usage = await _extraction(state, fmt, files[-1])
    else:
        if not question.strip():
            raise ServeError("the last user message has no text", reason="bad_request", status=400)
        ask = AskRequest(index=index_for(state, body.model), question=question)
        answer = await state.work.run(lambda: answer_question(state, ask), timeout=state.serve.request_timeout)
        content = _answer_text(answer)
        extension = {"citations": _citations(answer),
                     "ragline": {"found": answer.found, "grounded": answer.grounded, "answer": answer.text,
                                 "computation": answer.computation}}
        usage = {"prompt_tokens": answer.usage.prompt_tokens, "completion_tokens": answer.usage.completion_tokens}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    if body.stream:
        return StreamingResponse(_stream(completion_id, created, body.model, content, extension, usage),
                                 media_type="text/event-stream")
    return {"id": completion_id, "object": "chat.completion", "created": created, "model": body.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": usage, **extension}


async def _extraction(state: ServerState, fmt: dict[str, Any], file: dict[str, Any]
                      ) -> tuple[str, dict[str, Any], dict[str, int]]:
    spec = fmt.get("json_schema") or {}
    model = schema_model(spec, max_bytes=state.serve.max_schema_bytes, max_depth=state.serve.max_schema_depth)
    name = safe_name(str(file.get("filename") or ""))
    data = data_url_bytes(str(file.get("file_data") or ""), state.serve.max_upload_bytes, name)
    record = await state.work.run(lambda: extract_upload(state, model, data, name), timeout=state.serve.request_timeout)
    tokens = {"prompt_tokens": record.usage.prompt_tokens, "completion_tokens": record.usage.completion_tokens}
    # The content is the values that were found (a partial record's too); the record says what is missing.
    return json.dumps(record.values(), ensure_ascii=False), {"ragline": record.to_json()}, tokens


def _stream(completion_id: str, created: int, model: str, content: str, extension: dict[str, Any],
            usage: dict[str, int]) -> Iterator[str]:
    """The answer as ``chat.completion.chunk`` events: the role, the text in pieces, then the finish with the
    citations and usage."""
    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        chunk = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    words = content.split(" ")
    for i in range(0, len(words), 8):
        piece = " ".join(words[i:i + 8])
        yield event({"content": piece if i == 0 else " " + piece})
    yield event({}, "stop", usage=usage, **extension)
    yield "data: [DONE]\n\n"


@router.post("/embeddings", summary="OpenAI embeddings with the bundled model")
async def embeddings(request: Request, body: EmbeddingRequest) -> Any:
    state = state_of(request)
    texts = [body.input] if isinstance(body.input, str) else list(body.input)
    if not texts or len(texts) > 2048 or not all(isinstance(t, str) for t in texts):
        raise ServeError("input must be a string or a list of 1-2048 strings", reason="bad_request", status=400)

    def work() -> Any:
        embedder = state.embedder
        return embedder.model_name, embedder.embed(texts)

    model_name, vectors = await state.work.run(work, timeout=state.serve.request_timeout)
    data = []
    for i, row in enumerate(vectors):
        vec: Any = (base64.b64encode(row.astype("<f4").tobytes()).decode() if body.encoding_format == "base64"
                    else [float(x) for x in row])
        data.append({"object": "embedding", "index": i, "embedding": vec})
    tokens = sum(len(t.split()) for t in texts)  # whitespace words: the tokenizer's count is not exposed
    return {"object": "list", "data": data, "model": model_name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


@router.get("/models", summary="OpenAI models: the served indexes and the embedding model")
async def models(request: Request) -> Any:
    state = state_of(request)
    created = int(state.started)
    data = [{"id": MODEL_PREFIX + n, "object": "model", "created": created, "owned_by": "ragline"}
            for n in state.index_names()]
    embedder = state.embedder_if_loaded()
    if embedder is not None:
        data.append({"id": embedder.model_name, "object": "model", "created": created, "owned_by": "ragline"})
    return {"object": "list", "data": data}


__all__ = ["MODEL_PREFIX", "router"]
