"""Batch API requests: the chat requests ``ragline extract`` would send, written as OpenAI Batch API lines,
and the replay that turns a job's output files back into extraction records.

One function decides every request of a job, :meth:`Replay.document`: it prepares the document's
extraction (:meth:`~pipeline.llm.StructuredExtractor.prepare`, the live path's own first half), then
drives each ask's loop (:class:`~pipeline.llm._reask.AskLoop`, the live re-ask loop) through the rounds
answered so far, feeding each round's completion from the output files. What is left open is the next
round's requests. ``prepare`` is that replay with no round answered, ``collect`` with every round
answered, so a re-ask in round 2 carries exactly the messages ``extract`` would have sent on its second
attempt, and every body is written by the client's own :func:`~pipeline.llm._client_core.chat_body`.

A ``custom_id`` is ``<content hash[:16]>-<ask>-r<round>-<digest>``, the digest covering the run key
(schema, prompts, model, options: ``_keys.py``) and the request body; identical documents share it.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline.batch._requests_manifest import CHAT_ENDPOINT, DocEntry
from pipeline.exceptions import LLMConnectionError, LLMResponseError
from pipeline.extraction import ExtractionRecord
from pipeline.llm import AskLoop, BodyForm, chat_body, completion_from_body

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pipeline.document import Document
    from pipeline.extraction import ExtractionOptions
    from pipeline.llm import LLMSettings

OutputLines = dict[str, dict[str, Any]]  # custom_id -> the output (or error) file's line for it


def body_form_for(settings: LLMSettings) -> BodyForm:
    """The body form of the client that ``open_llm(settings)`` gives ``extract``, with the schema form fixed:
    a batch cannot negotiate, so ``auto`` is the form the live client tries first and keeps where accepted
    (``json_schema`` on an endpoint; on the embedded llama.cpp server, ``json_object``, which it falls to)."""
    from pipeline.llm import DEFAULT_ENDPOINT_MODEL, EMBEDDED_STRUCTURED_MODE, ENDPOINT_STRUCTURED_MODE

    if settings.base_url is not None:
        mode = settings.structured_mode or ENDPOINT_STRUCTURED_MODE
        return BodyForm(model=settings.model or DEFAULT_ENDPOINT_MODEL,
                        structured_mode="json_schema" if mode == "auto" else mode, schema_in_prompt=True)
    from pipeline.llm import LocalLLMServer

    mode = settings.structured_mode or EMBEDDED_STRUCTURED_MODE
    alias = LocalLLMServer(settings.embedded.model, cache_dir=settings.embedded.cache_dir).alias
    # As LocalLLMServer.client(): the schema is left out of the prompt only where the grammar enforces it.
    return BodyForm(model=alias, structured_mode="json_object" if mode == "auto" else mode,
                    schema_in_prompt=mode != "json_object")


def custom_id(content_hash: str, run_key: str, ask: str, round_no: int, body: dict[str, Any]) -> str:
    digest = hashlib.sha256(f"{run_key}\0{json.dumps(body, sort_keys=True)}".encode()).hexdigest()[:16]
    return f"{content_hash[:16]}-{ask}-r{round_no}-{digest}"


def request_line(cid: str, body: dict[str, Any]) -> dict[str, Any]:
    """One line of a Batch API input file."""
    return {"custom_id": cid, "method": "POST", "url": CHAT_ENDPOINT, "body": body}


def loop_body(form: BodyForm, loop: AskLoop[Any]) -> dict[str, Any]:
    """The body of the loop's next request, as the live client would write it."""
    s = loop.settings
    return chat_body(form, loop.messages, schema=s.reply_schema, schema_name=s.schema_name,
                     max_tokens=loop.max_tokens, temperature=s.temperature)


@dataclass
class NextRequest:
    ask: str
    fields: tuple[str, ...]
    custom_id: str
    body: dict[str, Any]


@dataclass
class DocumentState:
    """Where one document stands after the rounds answered: its record, or the requests of the next round."""

    entry: DocEntry
    record: ExtractionRecord | None = None
    next_requests: list[NextRequest] = field(default_factory=list)
    decided: dict[str, Any] = field(default_factory=dict)


def _line_error(line: dict[str, Any]) -> str:
    error = line.get("error") or {}
    body = (line.get("response") or {}).get("body") or {}
    inner = body.get("error") if isinstance(body, dict) else None
    for e in (error, inner):
        if isinstance(e, dict) and (e.get("message") or e.get("code")):
            return f"{e.get('code') or ''} {e.get('message') or ''}".strip()
    return "no reason given"


def feed_line(loop: AskLoop[Any], line: dict[str, Any] | None, form: BodyForm) -> str | None:
    """Give ``loop`` the reply in an output line. Returns why the request must be sent again (a missing line,
    a rate limit, a server error, an expired batch) or None when the loop took the line."""
    if line is None:
        return "no line for it in the round's output or error file"
    response = line.get("response") if isinstance(line.get("response"), dict) else None
    status = response.get("status_code") if response else None
    if response is not None and status == 200:
        try:
            completion = completion_from_body(response.get("body"), default_model=form.model,
                                              mode=form.structured_mode)
        except ValueError as exc:
            loop.fail(LLMResponseError(f"malformed completion in the batch output: {exc}", status_code=200,
                                       stage="batch"))
            return None
        loop.feed(completion)
        return None
    if isinstance(status, int) and 400 <= status < 500 and status != 429:
        # As the live client: a request the server refuses is not worth sending again.
        loop.fail(LLMResponseError(f"the provider answered HTTP {status}: {_line_error(line)}", status_code=status,
                                   stage="batch"))
        return None
    return f"HTTP {status}: {_line_error(line)}" if status else _line_error(line)


class Replay:
    """Drives each document's asks through the answered rounds (module docstring)."""

    def __init__(self, schema: type[BaseModel], options: ExtractionOptions, form: BodyForm, run_key: str,
                 answered: list[OutputLines], *, max_rounds: int) -> None:
        from pipeline.extraction import StructuredExtractor

        self.extractor = StructuredExtractor(schema, None, options)
        self.form = form
        self.run_key = run_key
        self.answered = answered
        self.max_rounds = max_rounds

    def document(self, entry: DocEntry, document: Document) -> DocumentState:
        t0 = time.perf_counter()
        pending = self.extractor.prepare(document)
        loops = {a.name: AskLoop(a.messages, a.interpret, a.settings, model=self.form.model) for a in pending.asks}
        problems: dict[str, str] = {}
        for round_no, lines in enumerate(self.answered, start=1):
            for name, loop in loops.items():
                if loop.done:
                    continue
                cid = custom_id(entry.content_hash, self.run_key, name, round_no, loop_body(self.form, loop))
                problem = feed_line(loop, lines.get(cid), self.form)
                if problem is not None:
                    problems[name] = f"round {round_no}: {problem}"
        state = DocumentState(entry=entry, decided=pending.decided)
        next_round = len(self.answered) + 1
        open_asks = [name for name, loop in loops.items() if not loop.done]
        if open_asks and next_round <= self.max_rounds:
            fields = {a.name: a.fields for a in pending.asks}
            for name in open_asks:
                body = loop_body(self.form, loops[name])
                cid = custom_id(entry.content_hash, self.run_key, name, next_round, body)
                state.next_requests.append(NextRequest(name, fields[name], cid, body))
            return state
        for name in open_asks:  # the last round allowed is spent: what was last wrong becomes the error
            loops[name].fail(LLMConnectionError(
                f"no usable reply in {self.max_rounds} batch round(s); last {problems.get(name, 'nothing')}",
                stage="batch"))
        result = pending.finish({name: loop.outcome for name, loop in loops.items()}, self.form.model, False)
        result.seconds = time.perf_counter() - t0
        # documents are parsed by absolute path; the record says the path as it was given
        state.record = ExtractionRecord.from_result(result).renamed(entry.path, entry.source)
        return state


__all__ = ["DocumentState", "NextRequest", "Replay", "body_form_for", "custom_id", "feed_line", "loop_body",
           "request_line"]
