"""The one ask-until-valid loop shared by extraction and QA (pipeline/llm/_reask.py), with a scripted endpoint."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from _llm_fakes import Script, completion

from pipeline.document import Document, ErrorRecord
from pipeline.exceptions import ExtractionError, LLMConnectionError, LLMError
from pipeline.extraction import ExtractionOptions, ExtractionStatus, Invoice, extract
from pipeline.llm import AskSettings, ChatCompletion, LLMClient, Rejection, RetryPolicy, ask_until_valid
from pipeline.protocols import SearchHit
from pipeline.qa import QAOptions, ask

BASE = [{"role": "system", "content": "sys"}, {"role": "user", "content": "question"}]


def client_for(script: Script) -> LLMClient:
    return LLMClient("http://fake/v1", model="fake", structured_mode="json_object", transport=script.transport(),
                     retry=RetryPolicy(max_retries=0), sleep=lambda d: None)


def settings(**kw: Any) -> AskSettings:
    base: dict[str, Any] = {"reply_schema": {"type": "object"}, "schema_name": "thing", "max_attempts": 3,
                            "max_output_tokens": 100, "temperature": 0.0, "failure": "no valid thing",
                            "source": "doc.pdf", "stage": "test"}
    return AskSettings(**{**base, **kw})


def wants_ok(completion: ChatCompletion) -> str | Rejection:
    """Accepts a reply whose JSON has ok=true; a reply with ok=false breaks a rule (with its values)."""
    try:
        reply = json.loads(completion.content)
    except ValueError:
        return Rejection(for_model="send JSON.", for_log="not JSON")
    if reply.get("ok") is True:
        return "accepted"
    return Rejection(for_model=f"ok must be true: {reply}.", for_log=f"validation: ok={reply.get('ok')}",
                     reason="invalid_values", invalid_values=reply)


def test_reask_appends_the_reply_and_the_reason_then_accepts() -> None:
    s = Script(completion("nope", prompt=7, out=3), completion({"ok": True}, prompt=9, out=2, model="m2"))
    out = ask_until_valid(client_for(s), BASE, wants_ok, settings())
    assert out.value == "accepted" and out.error is None and out.attempts == 2
    assert out.usage.total_tokens == 21 and out.usage.requests == 2 and out.model == "m2"
    first, second = (b["messages"] for b in s.bodies())
    assert second[:2] == first and first[1] == BASE[1]  # the system message carries the schema (json_object mode)
    assert second[2:] == [{"role": "assistant", "content": "nope"},
                          {"role": "user", "content": "Your previous reply was invalid: send JSON."}]
    (err,) = out.errors
    assert err == ErrorRecord(error="ExtractionError", reason="invalid_reply", message="attempt 1: not JSON",
                              source="doc.pdf", stage="test")


def test_truncated_reply_starts_over_with_a_note_and_more_room() -> None:
    s = Script(completion('{"ok": tr', finish_reason="length"), completion({"ok": True}))
    out = ask_until_valid(client_for(s), BASE, wants_ok, settings(truncation_note="be brief."))
    assert out.value == "accepted" and out.errors[0].reason == "truncated"
    first, second = s.bodies()
    assert (first["max_tokens"], second["max_tokens"]) == (100, 150)
    assert second["messages"] == [first["messages"][0], {"role": "user", "content": "question\n\nNote: be brief."}]


def test_without_a_truncation_note_a_cut_off_reply_is_judged_like_any_other() -> None:
    s = Script(completion('{"ok": true}', finish_reason="length"))
    out = ask_until_valid(client_for(s), BASE, wants_ok, settings())
    assert out.value == "accepted" and out.attempts == 1


def test_gives_up_with_one_typed_error_keeping_attempts_and_last_completion() -> None:
    s = Script(completion("a"), completion("b"), completion("c"))
    out = ask_until_valid(client_for(s), BASE, wants_ok, settings())
    assert out.value is None and len(s.requests) == 3
    assert isinstance(out.error, ExtractionError)
    assert out.error.message == "no valid thing after 3 attempts: attempt 3: not JSON"
    assert out.error.last_completion == "c" and out.error.source == "doc.pdf" and out.error.stage == "test"
    assert [a["completion"] for a in out.error.attempts] == ["a", "b", "c"]
    assert [e.message for e in out.errors] == ["attempt 1: not JSON", "attempt 2: not JSON", "attempt 3: not JSON"]


def test_stops_when_a_reply_breaks_the_same_rules_again() -> None:
    s = Script(completion({"ok": False}))
    out = ask_until_valid(client_for(s), BASE, wants_ok, settings(max_attempts=5))
    assert len(s.requests) == 2 and isinstance(out.error, ExtractionError)
    assert [e.reason for e in out.errors] == ["invalid_values", "invalid_values", "repeated_errors"]
    assert out.errors[-1].message == "attempt 2: same validation errors as the previous attempt; stopped"
    assert out.last_invalid_values == {"ok": False}
    # Re-asks for broken rules are limited on their own; other re-asks are not.
    s = Script(completion({"ok": False}), completion({"ok": 0}), completion("x"), completion({"ok": True}))
    out = ask_until_valid(client_for(s), BASE, wants_ok, settings(max_attempts=5, max_validation_reasks=1))
    assert len(s.requests) == 2 and out.value is None and out.last_invalid_values == {"ok": 0}
    s = Script(completion("x"), completion({"ok": False}), completion("y"), completion({"ok": True}))
    out = ask_until_valid(client_for(s), BASE, wants_ok, settings(max_attempts=5, max_validation_reasks=1))
    assert out.value == "accepted" and out.attempts == 4


def test_transport_failure_ends_the_loop_at_once() -> None:
    s = Script(completion("a"), httpx.ConnectError("refused"))
    out = ask_until_valid(client_for(s), BASE, wants_ok, settings())
    assert isinstance(out.error, LLMConnectionError) and out.error.source == "doc.pdf"
    assert out.attempts == 2 and len(s.requests) == 2 and out.usage.requests == 1
    assert out.errors[-1].error == "LLMConnectionError" and out.errors[-1].reason == "llm_connection"
    assert out.errors[-1].source == "doc.pdf"


def test_extraction_errors_are_records_with_source_and_stage() -> None:
    doc = Document(source="/data/empty.txt", content_hash="e" * 64, format="text", pages=1, elements=[])
    s = Script(completion("no"), completion("[1]"))
    res = extract(doc, schema=Invoice, client=client_for(s), raise_on_failure=False,
                  options=ExtractionOptions(strategy="free"))  # the model writes the values
    assert res.status is ExtractionStatus.FAILURE
    assert [(e.reason, e.source, e.stage) for e in res.errors] == [("invalid_reply", "/data/empty.txt", "extract")] * 3
    assert res.errors[1].message == "attempt 2: reply is not a JSON object"
    rec = res.to_record()
    assert list(rec) == ["source", "status", "data", "evidence", "errors", "usage", "attempts", "seconds", "model"]
    assert rec["errors"][0] == {"error": "ExtractionError", "reason": "invalid_reply",
                                "message": res.errors[0].message, "source": "/data/empty.txt", "page": None,
                                "stage": "extract"}
    assert rec["attempts"] == 3 and rec["data"] is None and rec["usage"]["requests"] == 3
    json.dumps(rec)


def test_qa_gives_up_with_the_same_typed_error() -> None:
    class OneHit:
        def search(self, query: str, k: int = 5, mode: str = "hybrid") -> list[SearchHit]:
            return [SearchHit(chunk_id="c", doc_id="d", source="s.pdf", page_start=1, page_end=1, score=1.0,
                              text="Revenue was $5 million.")]

    s = Script(completion("Revenue was $5 million."))
    with pytest.raises(LLMError) as info:
        ask("Revenue?", OneHit(), client=client_for(s), options=QAOptions(strategy="free"))
    err = info.value
    assert isinstance(err, ExtractionError) and err.stage == "qa" and len(err.attempts) == 2
    assert err.message.startswith("no parseable answer after 2 attempts: attempt 2: reply is not valid JSON")
    assert err.last_completion == "Revenue was $5 million."
