"""Ask until the reply is valid: the one re-ask loop of extraction and question answering.

instructor-style: a reply the caller rejects (unparseable JSON, wrong shape, values that break the
schema's rules) is sent back with the reason, up to ``max_attempts`` calls in all; after the last
one the loop gives up with one typed error, :class:`~pipeline.exceptions.ExtractionError`, which
keeps every (completion, error) pair and the last completion. Transport failures are not re-asked
(the client has retried them already): the client's :class:`~pipeline.exceptions.LLMError` ends
the loop at once.

Two refinements, both measured on the embedded 0.5B model:

* a reply cut off at the token limit is not shown back to the model (it primes more of the same
  and eats the context): the request starts over with a note and somewhat more room;
* re-asks for values that break the schema's rules are limited, and stop as soon as a reply breaks
  the same rules as the previous one.

The loop returns an :class:`AskOutcome` rather than raising, so that a caller can still salvage
the last reply or report usage; ``outcome.error`` is what it raises when it does not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from pipeline.document import ErrorRecord
from pipeline.exceptions import ExtractionError, LLMError
from pipeline.llm._client import ChatCompletion, LLMClient, Usage

R = TypeVar("R")
Messages = list[dict[str, Any]]
RejectionReason = Literal["invalid_reply", "invalid_values", "truncated"]

_INVALID_PREFIX = "Your previous reply was invalid: "
_TRUNCATED_ROOM = 1.5  # output budget of the fresh request after a reply was cut off


class Rejection(BaseModel):
    """Why a reply cannot be used: what the model is told, what is recorded, what may be salvaged."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    for_model: str = Field(description=f"sent back after {_INVALID_PREFIX!r}")
    for_log: str = Field(description="recorded in the errors and the history of attempts")
    reason: RejectionReason = Field(
        default="invalid_reply",
        description="invalid_values: the reply parsed but broke the schema's rules (limited re-asks)",
    )
    invalid_values: Any = Field(default=None, description="the caller's material to salvage such a reply")


class AskSettings(BaseModel):
    """One loop's request and limits."""

    model_config = ConfigDict(frozen=True)

    reply_schema: dict[str, Any]
    schema_name: str
    max_attempts: int = Field(ge=1, description="LLM calls, re-asks included")
    max_output_tokens: int
    temperature: float
    max_validation_reasks: int | None = Field(default=None, description="None: only max_attempts limits them")
    truncation_note: str | None = Field(
        default=None,
        description="told to the model on a fresh request after a reply cut off at the token limit; None: a "
        "cut-off reply is judged like any other",
    )
    failure: str = Field(description="what was not obtained, for the final error: 'no valid Invoice'")
    source: str | None = None
    stage: str


@dataclass(frozen=True)
class PendingAsk(Generic[R]):
    """One loop not yet run: its name within the document (``choice``, ``free``), the first request's
    messages, how replies are judged, its limits, and the schema fields it is about."""

    name: str
    messages: Messages
    interpret: Callable[[ChatCompletion], R | Rejection]
    settings: AskSettings
    fields: tuple[str, ...] = ()


class AskOutcome(BaseModel, Generic[R]):
    """What the loop got: the accepted value, or the error to raise, and what it cost either way."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    value: R | None = None
    attempts: int = Field(default=0, description="LLM calls made")
    usage: Usage = Field(default_factory=Usage)
    model: str = Field(default="", description="the model the last completion named (else the client's)")
    last_completion: ChatCompletion | None = None
    errors: list[ErrorRecord] = Field(default_factory=list, description="one per rejected reply or failure")
    history: list[dict[str, Any]] = Field(
        default_factory=list, description="{attempt, completion, error} per rejected reply"
    )
    last_invalid_values: Any = Field(default=None, description="of the last reply that broke the schema's rules")
    error: LLMError | None = Field(
        default=None, description="the client's error, or ExtractionError after the last attempt; None on success"
    )

    def add(self, completion: ChatCompletion) -> None:
        self.usage = self.usage + completion.usage
        self.model = completion.model or self.model
        self.last_completion = completion

    def reject(self, attempt: int, completion: ChatCompletion, rejection: Rejection, settings: AskSettings) -> None:
        message = f"attempt {attempt}: {rejection.for_log}"
        self.errors.append(_record(message, rejection.reason, settings))
        self.history.append({"attempt": attempt, "completion": completion.content, "error": rejection.for_log})
        if rejection.invalid_values is not None:
            self.last_invalid_values = rejection.invalid_values

    def count(self, reason: str) -> int:
        return sum(1 for e in self.errors if e.reason == reason)


def _record(message: str, reason: str, settings: AskSettings) -> ErrorRecord:
    return ErrorRecord(error=ExtractionError.__name__, reason=reason, message=message,
                       source=settings.source, stage=settings.stage)


def _judge(
    completion: ChatCompletion, interpret: Callable[[ChatCompletion], R | Rejection], settings: AskSettings
) -> R | Rejection:
    if completion.truncated and settings.truncation_note is not None:
        return Rejection(for_model=settings.truncation_note, for_log="output truncated (finish_reason=length)",
                         reason="truncated")
    return interpret(completion)


def _next_messages(base: Messages, completion: ChatCompletion, rejection: Rejection) -> Messages:
    if rejection.reason == "truncated":
        # Start over rather than show the model its own runaway output.
        return [base[0], {"role": "user", "content": f"{base[1]['content']}\n\nNote: {rejection.for_model}"}]
    return base + [
        {"role": "assistant", "content": completion.content},
        {"role": "user", "content": f"{_INVALID_PREFIX}{rejection.for_model}"},
    ]


def _stops_reasking(outcome: AskOutcome[Any], rejection: Rejection, attempt: int, settings: AskSettings) -> bool:
    """Whether a reply that broke the schema's rules ends the loop (recorded when it repeats the last one)."""
    if rejection.reason != "invalid_values":
        return False
    limit = settings.max_validation_reasks
    if limit is not None and outcome.count("invalid_values") > limit:
        return True
    if len(outcome.history) >= 2 and outcome.history[-2]["error"] == rejection.for_log:
        # The same values broke the same rules after being told: more attempts only cost
        # time (measured: the 0.5B model repeats itself on every re-ask).
        message = f"attempt {attempt}: same validation errors as the previous attempt; stopped"
        outcome.errors.append(_record(message, "repeated_errors", settings))
        return True
    return False


def _give_up(outcome: AskOutcome[Any], settings: AskSettings) -> ExtractionError:
    last = outcome.errors[-1].message if outcome.errors else ""
    return ExtractionError(
        f"{settings.failure} after {len(outcome.history)} attempts: {last}",
        attempts=outcome.history,
        last_completion=outcome.last_completion.content if outcome.last_completion else None,
        source=settings.source,
        stage=settings.stage,
    )


class AskLoop(Generic[R]):
    """The loop of :func:`ask_until_valid` between calls: what to send next, and what the replies so far gave.

    :func:`ask_until_valid` drives it with a client; ``ragline batch`` drives it across batches, feeding
    each round's completion from a Batch API output file, so both re-ask with the same messages and
    stop at the same point."""

    def __init__(self, base: Messages, interpret: Callable[[ChatCompletion], R | Rejection],
                 settings: AskSettings, *, model: str) -> None:
        self.base = base
        self.interpret = interpret
        self.settings = settings
        self.outcome: AskOutcome[R] = AskOutcome(model=model)
        self.messages: Messages = base
        self.max_tokens = settings.max_output_tokens
        self.done = False

    def fail(self, exc: LLMError) -> None:
        """The call failed in transport or on the server: not re-asked (the client has retried it)."""
        self.outcome.attempts += 1
        exc.source = exc.source or self.settings.source
        self.outcome.errors.append(ErrorRecord.from_exception(exc, source=self.settings.source,
                                                              stage=self.settings.stage))
        self.outcome.error = exc
        self.done = True

    def feed(self, completion: ChatCompletion) -> None:
        """Judge the reply to the last request: accept it, or set up the re-ask (or give up)."""
        outcome, settings = self.outcome, self.settings
        outcome.attempts += 1
        attempt = outcome.attempts
        outcome.add(completion)
        verdict = _judge(completion, self.interpret, settings)
        if not isinstance(verdict, Rejection):
            outcome.value = verdict
            self.done = True
            return
        outcome.reject(attempt, completion, verdict, settings)
        if _stops_reasking(outcome, verdict, attempt, settings) or attempt >= settings.max_attempts:
            outcome.error = _give_up(outcome, settings)
            self.done = True
            return
        if verdict.reason == "truncated":
            self.max_tokens = int(settings.max_output_tokens * _TRUNCATED_ROOM)
        self.messages = _next_messages(self.base, completion, verdict)


def ask_until_valid(
    client: LLMClient,
    base: Messages,
    interpret: Callable[[ChatCompletion], R | Rejection],
    settings: AskSettings,
) -> AskOutcome[R]:
    """Call the model with ``base`` until ``interpret`` accepts a reply, or attempts run out.

    ``interpret`` turns a completion into the caller's value, or a :class:`Rejection` that is sent
    back to the model. Never raises for the model's replies: see ``outcome.error``.
    """
    loop = AskLoop(base, interpret, settings, model=client.model)
    while not loop.done:
        try:
            completion = client.chat(loop.messages, schema=settings.reply_schema, schema_name=settings.schema_name,
                                     max_tokens=loop.max_tokens, temperature=settings.temperature)
        except LLMError as exc:
            loop.fail(exc)
            break
        loop.feed(completion)
    return loop.outcome


__all__ = ["AskLoop", "AskOutcome", "AskSettings", "PendingAsk", "Rejection", "ask_until_valid"]
