"""Extractive QA: the answer is one candidate span of the retrieved text, picked by the model by id.

    spans = rank_spans(question, spans_of_hits(hits))      # rules: cells with labels, sentences; best few
    composed = compose(question, ...)                        # share / comparison / change: two cited cells
    pick = model({"span": enum[S1..Sn, "none"]})             # otherwise: the reply schema only admits offered ids
    answer = compose_text(span)                              # row label + period + figure in its unit, or the sentence

The model never writes answer text: it chooses an id from a JSON-schema enum (the embedded llama.cpp
server enforces it as a grammar; an endpoint that does not is re-asked, and after the last attempt
the loop's typed error is raised, as in the free strategy). The citation is the span's own text in
the chunk, so it verifies by construction (it is still checked like any other). Document text reaches the model only inside escaped ``<source>``
blocks, and an instruction written in a passage can at most make the model pick that passage, whose
text is then quoted as it is. With ``ask_model=False`` the best-ranked span is the answer, with no
model call.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.evidence import SourceText
from pipeline.llm import (
    AskSettings,
    ChatCompletion,
    LLMClient,
    Rejection,
    Usage,
    ask_until_valid,
    parse_json_reply,
)
from pipeline.llm.prompts import QA_PICK_NONE, QA_PICK_SYSTEM, escape_attr, span_block
from pipeline.protocols import SearchHit
from pipeline.qa._answer_fit import answer_fit, type_fits
from pipeline.qa._qa_compute import Composed, compose
from pipeline.qa._span_rank import RankOptions, make_query, score_all, top_spans
from pipeline.qa._span_values import format_figure
from pipeline.qa._spans import Span, spans_of_hits
from pipeline.qa._unprinted import unprinted_nouns

NONE_ID = "none"
_SHOWN_CHARS = 240  # of a long sentence shown to the model (the answer and citation keep it whole)


class PickOutcome(BaseModel):
    """What the extractive strategy settled on, and what it cost."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    offered: list[Span] = Field(default_factory=list, description="spans shown to the model, best-ranked first")
    chosen: Span | None = None
    composed: Composed | None = Field(default=None, description="an answer built from two cited cells (share, "
                                      "comparison, change), settled by rules without a model call")
    usage: Usage = Field(default_factory=Usage)
    model: str = ""
    errors: list[str] = Field(default_factory=list)
    fit: float | None = Field(default=None, description="how much of the question the chosen span covers (0-1)")
    type_fits: bool = Field(default=True, description="the chosen span holds what the question's form asks for")
    unprinted: list[str] = Field(default_factory=list, description="the question's nouns no retrieved passage prints")


def span_ids(spans: list[Span]) -> list[str]:
    return [f"S{i}" for i in range(1, len(spans) + 1)]


def pick_schema(ids: list[str], allow_none: bool = True) -> dict[str, Any]:
    """The reply schema: one offered id, or ``none`` when allowed."""
    return {
        "type": "object",
        "properties": {"span": {"type": "string", "enum": [*ids, NONE_ID] if allow_none else ids}},
        "required": ["span"],
        "additionalProperties": False,
    }


def _about(hit: SearchHit) -> str:
    ctx = hit.metadata.get("context")
    return ctx if isinstance(ctx, str) and ctx else os.path.basename(hit.source) or hit.source


def pick_messages(
    question: str, spans: list[Span], hits: list[SearchHit], allow_none: bool = False
) -> list[dict[str, Any]]:
    """The request: each passage (short), its filing named once when all come from one, then the question.
    Every token counts: the embedded model reads prompts at tens of tokens per second on two cores."""
    abouts = [_about(hits[s.hit]) for s in spans]
    single = len(set(abouts)) == 1
    blocks = [span_block(sid, _short(s), None if single else about)
              for sid, s, about in zip(span_ids(spans), spans, abouts)]
    head = f"Passages from {escape_attr(abouts[0])}:\n" if single and abouts else "Passages:\n"
    user = head + "\n".join(blocks) + f"\n\nQuestion: {question.strip()}"
    system = QA_PICK_SYSTEM + (QA_PICK_NONE if allow_none else "")
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _short(span: Span) -> str:
    text = span.display()
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3].rstrip() + "..."


def _interpreter(allowed: list[str]) -> Any:

    def interpret(completion: ChatCompletion) -> str | Rejection:
        try:
            reply = parse_json_reply(completion.content)
        except ValueError as exc:
            return Rejection(for_model=f"{exc}. Reply with the JSON object only.", for_log=str(exc))
        got = reply.get("span") if isinstance(reply, dict) else None
        got = str(got).strip() if got is not None else ""
        if got in allowed:
            return got
        told = f"span must be one of {json.dumps(allowed)}, not {got!r}"
        return Rejection(for_model=f"{told}. Reply with {{\"span\": <id>}} only.", for_log=told)

    return interpret


def pick_span(
    question: str, hits: list[SearchHit], client: LLMClient | None, rank: RankOptions, *,
    ask_model: bool = True, allow_none: bool = False, max_attempts: int = 2, temperature: float = 0.0,
    min_fit: float = 0.45,
) -> PickOutcome:
    """Rank the spans of ``hits`` and let the model (or, without one, the ranking) choose one.

    Raises the loop's error when no reply names an offered id (or ``none``) after ``max_attempts``."""
    spans = spans_of_hits(hits)
    query = make_query(question, spans)
    scored = score_all(question, spans, hits, rank, query)
    offered = top_spans(scored, rank)
    if not offered:
        return PickOutcome()
    unprinted = unprinted_nouns(question, query, hits)
    composed = compose(question, query, spans, scored, hits, rank)
    if composed is not None:  # a rule settles it: nothing for the model to choose
        fit = min(answer_fit(s, query, hits, question) for s in composed.spans)
        return PickOutcome(offered=offered, chosen=composed.spans[0], composed=composed, fit=fit, unprinted=unprinted)
    if not ask_model or client is None:
        best, fit = offered[0], answer_fit(offered[0], query, hits, question)
        if not type_fits(best, question):
            # A who/when/how-many question is answered by a span that holds a name, a date or a number: the
            # best-ranked one that does and covers no less of the question, or enough of it (``min_fit``): "Version:
            # 1.0" ranks above "May 1, 2002" for "when is the manual dated?" on the word "version" alone.
            typed = [(s, f) for s in offered[1:] if type_fits(s, question)
                     and (f := answer_fit(s, query, hits, question)) >= min(fit, min_fit)]
            if typed:
                best, fit = typed[0]
        return PickOutcome(offered=offered, chosen=best, fit=fit, type_fits=type_fits(best, question),
                           unprinted=unprinted)
    ids = span_ids(offered)
    settings = AskSettings(
        reply_schema=pick_schema(ids, allow_none), schema_name="span_choice", max_attempts=max_attempts,
        max_output_tokens=16, temperature=temperature, failure="no parseable answer", stage="qa",
    )
    allowed = [*ids, NONE_ID] if allow_none else ids
    messages = pick_messages(question, offered, hits, allow_none)
    outcome = ask_until_valid(client, messages, _interpreter(allowed), settings)
    if outcome.value is None:  # the same typed error as the free strategy's (ExtractionError, or the client's)
        assert outcome.error is not None
        raise outcome.error
    chosen = offered[ids.index(outcome.value)] if outcome.value in ids else None
    return PickOutcome(offered=offered, chosen=chosen, usage=outcome.usage, model=outcome.model,
                       errors=[e.message for e in outcome.errors],
                       fit=answer_fit(chosen, query, hits, question) if chosen else None,
                       type_fits=type_fits(chosen, question) if chosen else True, unprinted=unprinted)


def compose_text(span: Span, question: str = "") -> str:
    """The answer: a cell's row label, period and figure in its unit (``Total gross margin (Three Months
    Ended July 1, 2023): 36,413 million``; in the question's unit when it names one); a sentence as printed."""
    if span.kind == "sentence":
        return span.quote
    col = f" ({span.column})" if span.column else ""
    return f"{span.label}{col}: {format_figure(span, question)}"


class SpanCitation(BaseModel):
    """Where a chosen span's quote was verified: the hit and the match score (1.0 = verbatim)."""

    hit: SearchHit
    score: float


def verify_span(span: Span, hits: list[SearchHit], min_score: float) -> SpanCitation | None:
    """Check the span's quote against its own chunk, as every citation is checked."""
    hit = hits[span.hit]
    match = SourceText.of_text(hit.text, page=hit.page_start).find(span.quote, min_score=min_score)
    return SpanCitation(hit=hit, score=match.score) if match is not None else None


__all__ = [
    "NONE_ID",
    "PickOutcome",
    "SpanCitation",
    "compose_text",
    "pick_messages",
    "pick_schema",
    "pick_span",
    "span_ids",
    "verify_span",
]
