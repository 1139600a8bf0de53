"""The provider Batch API mode (pipeline.batch._requests*, _provider*) against a fake provider on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _batch_rules import SELLER, Bill, bill_answer, bill_docs
from _fake_provider import FakeProvider, chat_response

from pipeline.batch import (
    BatchProvider,
    BatchStateError,
    collect_job,
    load_manifest,
    prepare_job,
    refresh_round,
    run_local_round,
    submit_round,
    work_items,
)
from pipeline.exceptions import LLMConnectionError, LLMResponseError
from pipeline.extraction import ExtractionOptions, StructuredExtractor
from pipeline.llm import AsyncLLMClient, LLMSettings, LocalLLMServer, RetryPolicy, open_llm
from pipeline.parsing import ParseOptions, parse

RULES_SPEC = f"{Path(__file__).with_name('_batch_rules.py')}:Bill"
KEY = "sk-batch-SECRET-123456789"


@pytest.fixture()
def provider() -> Iterator[FakeProvider]:
    prov = FakeProvider(bill_answer, polls=0, key=KEY)
    yield prov
    prov.close()


def _settings(prov: FakeProvider, model: str = "m") -> LLMSettings:
    return LLMSettings(base_url=prov.url, model=model, api_key=KEY)


def _options(settings: LLMSettings, **kw: Any) -> ExtractionOptions:
    return ExtractionOptions(max_validation_reasks=settings.validation_reasks(), **kw)


def _prepare(job: Path, files: list[Path], settings: LLMSettings, options: ExtractionOptions,
             max_rounds: int = 5) -> None:
    prepare_job(job, work_items(files), schema_spec=RULES_SPEC, schema=Bill, options=options, settings=settings,
                parse_options=ParseOptions(), max_rounds=max_rounds)


def _round(job: Path, settings: LLMSettings) -> Any:
    """Submit the current round, let the provider finish it, download and collect."""
    manifest = load_manifest(job)
    with BatchProvider.from_settings(settings, command="submit") as p:
        submit_round(job, manifest, p)
        batch = refresh_round(job, manifest, p, download=True)
    assert batch is not None and batch.status == "completed"
    return collect_job(job, manifest, Bill)


def _canon(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True)


def _without_seconds(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "seconds"}


@pytest.mark.parametrize("strategy", ["free", "candidates"])
def test_batch_sends_the_live_requests_and_gets_the_live_records(
        provider: FakeProvider, sample_docs: Path, tmp_path: Path, strategy: str) -> None:
    """Every body of the batch rounds (re-ask included) is a body `extract` sends, and the records agree.

    free: the seller's first reply breaks the schema's validator and is re-asked (round 2 of the batch).
    candidates: a choice among candidate ids and a free request for the seller (whose validator is checked
    on the whole record, so the invalid seller is set to null there, live and in the batch alike)."""
    files = sorted(bill_docs(sample_docs, tmp_path / "docs").iterdir())
    settings = _settings(provider)
    options = _options(settings, strategy=strategy)
    with open_llm(settings) as client:
        extractor = StructuredExtractor(Bill, client, options)
        live = {f.name: extractor.run(parse(f), raise_on_failure=False).to_record() for f in files}
    live_bodies = list(provider.chat_bodies)

    job = tmp_path / "job"
    _prepare(job, files, settings, options)
    collected = [_round(job, settings)]
    while collected[-1].next_round is not None:
        assert not collected[-1].finished and len(collected) < 3
        collected.append(_round(job, settings))
    batch_bodies = [line["body"] for line in provider.batch_lines]
    assert sorted(map(_canon, batch_bodies)) == sorted(map(_canon, live_bodies))
    batch = {Path(item.path).name: record.to_json() for item, record in collected[-1].finished}
    assert {k: _without_seconds(v) for k, v in batch.items()} == {k: _without_seconds(v) for k, v in live.items()}
    acme, totals = batch["acme.pdf"], batch["two_totals.txt"]
    if strategy == "free":
        assert len(collected) == 2 and len(batch_bodies) == 4
        assert all(b["messages"][-1]["content"].startswith("Your previous reply was invalid: the values do not "
                                                           "validate: seller: Value error, the seller is a company")
                   for b in batch_bodies if len(b["messages"]) == 4)
        assert acme["status"] == "success" and acme["data"]["seller"] == SELLER and acme["attempts"] == 2
        assert acme["evidence"]["seller"]["supported"]
        assert [e["reason"] for e in acme["errors"]] == ["invalid_values"]  # round 1's reply, re-asked in round 2
    else:
        assert len(collected) == 1 and len(batch_bodies) == 3
        assert acme["data"]["amount"] == 1234.56 and acme["data"]["seller"] is None
        assert totals["data"]["amount"] == 95.0  # the first candidate offered, as the fake provider picks


def test_embedded_model_bodies_are_the_embedded_clients(
        sample_docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an endpoint, prepare writes what LocalLLMServer.client() sends: json_object + schema, the schema
    not repeated in the prompt, the model's alias (here the server is the fake provider, not started)."""
    files = sorted(bill_docs(sample_docs, tmp_path / "docs").iterdir())
    settings = LLMSettings(embedded={"model": str(tmp_path / "tiny.gguf")})
    options = _options(settings)
    server = LocalLLMServer(str(tmp_path / "tiny.gguf"))
    monkeypatch.setattr(server, "warm_up", lambda: None)
    provider = FakeProvider(bill_answer)  # no key, as the embedded server
    server.port = int(provider.url.rsplit(":", 1)[1].split("/")[0])
    try:
        with server.client() as client:
            extractor = StructuredExtractor(Bill, client, options)
            for f in files:
                extractor.run(parse(f), raise_on_failure=False)
    finally:
        provider.close()
    _prepare(tmp_path / "job", files, settings, options)
    lines = [json.loads(x) for x in (tmp_path / "job" / "requests.jsonl").read_text().splitlines()]
    assert len(lines) == 3
    assert sorted(_canon(line["body"]) for line in lines) == sorted(map(_canon, provider.chat_bodies))
    assert {(line["body"]["model"], line["body"]["response_format"]["type"]) for line in lines} == {
        ("tiny", "json_object")}


def test_prepare_writes_the_requests_and_what_each_custom_id_is_for(
        provider: FakeProvider, sample_docs: Path, tmp_path: Path) -> None:
    files = sorted(bill_docs(sample_docs, tmp_path / "docs").iterdir())
    settings = _settings(provider)
    _prepare(tmp_path / "job", files, settings, _options(settings))
    manifest = load_manifest(tmp_path / "job")
    lines = [json.loads(x) for x in (tmp_path / "job" / "requests.jsonl").read_text().splitlines()]
    assert {(line["method"], line["url"]) for line in lines} == {("POST", "/v1/chat/completions")}
    by_doc = {Path(d.source).name: d for d in manifest.documents}
    acme, totals = by_doc["acme.pdf"], by_doc["two_totals.txt"]
    # Rules settle the sample invoice's number, date and total: recorded, not sent.
    assert acme.decided == {"invoice_number": "INV-2026-0042", "date": "2026-03-14", "amount": 1234.56}
    assert acme.asks == ["free"] and sorted(totals.asks) == ["choice", "free"]
    refs = {cid: manifest.requests[cid] for cid in (line["custom_id"] for line in lines)}
    assert len(refs) == 3 and all(ref.round == 1 for ref in refs.values())
    for cid, ref in refs.items():
        doc = by_doc[Path(ref.sources[0]).name]
        assert cid.startswith(f"{doc.content_hash[:16]}-{ref.part}-r1-")
    assert {tuple(r.fields) for r in refs.values() if r.part == "choice"} == {("amount",)}
    assert all(line["body"]["model"] == "m" and line["body"]["response_format"]["type"] == "json_schema"
               for line in lines)
    # Another model is another run: other custom_ids (a provider's answers for one never serve the other).
    _prepare(tmp_path / "job2", files, _settings(provider, "m2"), _options(settings))
    other = {json.loads(x)["custom_id"] for x in (tmp_path / "job2" / "requests.jsonl").read_text().splitlines()}
    assert not other & set(refs)
    with pytest.raises(BatchStateError, match="already holds"):
        _prepare(tmp_path / "job", files, settings, _options(settings))


def test_lines_the_provider_did_not_answer_are_sent_again_then_fail(sample_docs: Path, tmp_path: Path) -> None:
    """HTTP 500 lines go to the error file and into the next round; after --max-rounds they are failures.
    A 400 line fails at once (as in the live client, a refused request is not sent again)."""
    docs = bill_docs(sample_docs, tmp_path / "docs")
    prov = FakeProvider(lambda body: 400 if "two_totals" in body["messages"][-1]["content"] else 500, polls=0)
    try:
        settings = LLMSettings(base_url=prov.url, model="m")
        _prepare(tmp_path / "job", sorted(docs.iterdir()), settings, _options(settings, strategy="free"),
                 max_rounds=2)
        first = _round(tmp_path / "job", settings)
        assert first.next_round == 2 and first.requests == 1
        failed = {Path(i.path).name: r.to_json() for i, r in first.finished}
        assert failed["two_totals.txt"]["status"] == "failure"
        assert failed["two_totals.txt"]["errors"][0]["reason"] == "llm_response"
        round1 = [line["body"] for line in prov.batch_lines]
        second = _round(tmp_path / "job", settings)
        assert [line["body"] for line in prov.batch_lines[len(round1):]] == [
            b for b in round1 if "acme" in b["messages"][-1]["content"]]  # the same request, sent again
        acme = next(r.to_json() for i, r in second.finished if i.path.endswith("acme.pdf"))
        assert acme["status"] == "failure" and acme["errors"][-1]["reason"] == "llm_connection"
        assert "2 batch round(s)" in acme["errors"][-1]["message"] and "HTTP 500" in acme["errors"][-1]["message"]
        assert second.next_round is None
    finally:
        prov.close()


def test_a_document_changed_since_prepare_is_a_failure(provider: FakeProvider, sample_docs: Path,
                                                        tmp_path: Path) -> None:
    docs = bill_docs(sample_docs, tmp_path / "docs")
    settings = _settings(provider)
    _prepare(tmp_path / "job", sorted(docs.iterdir()), settings, _options(settings))
    (docs / "two_totals.txt").write_text("something else", encoding="utf-8")
    result = _round(tmp_path / "job", settings)
    changed = next(r.to_json() for i, r in result.finished if i.path.endswith("two_totals.txt"))
    assert changed["status"] == "failure" and changed["errors"][0]["reason"] == "document_changed"


def test_run_local_answers_in_the_provider_format_and_resumes(
        provider: FakeProvider, sample_docs: Path, tmp_path: Path) -> None:
    files = sorted(bill_docs(sample_docs, tmp_path / "docs").iterdir())
    settings = _settings(provider)
    job = tmp_path / "job"
    _prepare(job, files, settings, _options(settings, strategy="free"))

    def make_client() -> AsyncLLMClient:
        return AsyncLLMClient(provider.url, model="m", api_key=KEY, max_concurrency=2)

    manifest = load_manifest(job)
    assert run_local_round(job, manifest, make_client) == (2, 0, 0)
    lines = [json.loads(x) for x in (job / "output-1.jsonl").read_text().splitlines()]
    assert {line["response"]["status_code"] for line in lines} == {200} and all(line["error"] is None for line in lines)
    assert {line["custom_id"] for line in lines} == set(manifest.requests)
    assert lines[0]["response"]["body"]["choices"][0]["message"]["content"]
    assert run_local_round(job, load_manifest(job), make_client) == (0, 0, 2)  # nothing sent again
    assert len(provider.chat_bodies) == 2
    first = collect_job(job, load_manifest(job), Bill)
    assert first.next_round == 2 and first.finished == []  # the sellers' re-asks, as with the provider
    assert run_local_round(job, load_manifest(job), make_client) == (2, 0, 0)
    second = collect_job(job, load_manifest(job), Bill)
    assert second.next_round is None
    assert [r.values()["seller"] for _, r in second.finished] == [SELLER, SELLER]
    with pytest.raises(BatchStateError, match="collected already"):
        run_local_round(job, load_manifest(job), make_client)


def test_an_output_file_from_vllm_run_batch_is_collected(sample_docs: Path, tmp_path: Path) -> None:
    """`vllm run-batch -i DIR/requests.jsonl -o DIR/output-1.jsonl` (no provider): collect reads that file."""
    files = sorted(bill_docs(sample_docs, tmp_path / "docs").iterdir())
    settings = LLMSettings(base_url="http://127.0.0.1:9/v1", model="m")
    job = tmp_path / "job"
    _prepare(job, files, settings, _options(settings))
    with (job / "output-1.jsonl").open("w") as out:
        for n, line in enumerate(json.loads(x) for x in (job / "requests.jsonl").read_text().splitlines()):
            out.write(json.dumps({"id": f"vllm-{n}", "custom_id": line["custom_id"], "response": {
                "status_code": 200, "request_id": f"vllm-batch-{n}", "body": chat_response(line["body"], bill_answer(
                    line["body"]))}, "error": None}) + "\n")
    result = collect_job(job, load_manifest(job), Bill)
    assert result.next_round is None and len(result.finished) == 2
    assert load_manifest(job).rounds[0].output == "output-1.jsonl"


def test_provider_errors_are_wrapped_with_what_failed(provider: FakeProvider, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text("{}\n")
    wrong_key = BatchProvider(provider.url, api_key="sk-wrong-KEY-000000000", retry=RetryPolicy(max_retries=0))
    with wrong_key as p, pytest.raises(LLMResponseError, match="cannot upload the batch input file.*HTTP 401") as info:
        p.upload(path)
    assert info.value.status_code == 401 and "sk-wrong" not in str(info.value)
    with BatchProvider(provider.url, api_key=KEY, retry=RetryPolicy(max_retries=0)) as p, \
            pytest.raises(LLMResponseError, match="cannot read the batch.*HTTP 404"):
        p.get("batch_nope")
    closed = FakeProvider(bill_answer)
    closed.close()
    with BatchProvider(closed.url, retry=RetryPolicy(max_retries=1, initial_delay=0)) as p, \
            pytest.raises(LLMConnectionError, match="cannot create the batch: .* unreachable after 2 attempt"):
        p.create("file-1")
