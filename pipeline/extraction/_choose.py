"""The candidate strategy's plan for one document: which candidate each typed field takes, and why.

1. Candidates are collected from the whole document (every page), each with its labels and a
   verified quote (:mod:`._candidates`).
2. Every typed field ranks them (:mod:`._ranking`): labels, type, position; then the arithmetic of
   net + tax = total, and a zero tax making the net amount the total.
3. Rules settle what they can: a field whose best candidate is clearly labelled and clearly ahead
   takes it; a field with no labelled candidate is null. The model is asked only for the rest, and
   only to pick one of the few best candidate ids of each such field (a JSON-schema enum), or null
   (:func:`choice_messages`, :func:`choice_schema`, :func:`read_choice`).
4. The currency follows the chosen amount (or the document's amounts), quoted from a line printing it.

Fields with no typed candidates (free text, percentages, structures) are left to the free strategy.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.extraction._candidates import Candidate
from pipeline.extraction._labels import page_role
from pipeline.extraction._meaning import FieldMeaning
from pipeline.extraction._ranking import (
    PARTY_ROLES,
    FieldRanking,
    Ranked,
    apply_arithmetic,
    apply_zero_tax,
    offered,
    rank_field,
    settle,
)
from pipeline.extraction._statements import FACT_ROLES
from pipeline.llm.prompts import DATA_RULES, document_block
from pipeline.values import parse_currency

_ARITHMETIC_ROLES = frozenset({"total", "untaxed", "tax"})
CANDIDATE_KINDS = frozenset({"amount", "number", "date", "datetime"})
_ID_NAME_RE = re.compile(r"(?:number|_no|_nr|_num|_id|^id|reference|_ref|code)$")

CHOICE_SYSTEM = (
    "You match fields to values found in a document.\n"
    + DATA_RULES
    + "\nFor each field you are given candidate values, each with an id, the value, and the label printed "
    "beside it in the document. Pick the candidate whose label and value mean that field; if none does, "
    "pick null. Reply with one JSON object mapping every field to a candidate id or null."
)


class CandidateOptions(BaseModel):
    """Thresholds of the candidate strategy (scores are label fit + type + position + arithmetic)."""

    model_config = ConfigDict(frozen=True)

    top_k: int = Field(default=4, ge=1, description="candidates offered to the model per undecided field")
    min_score: float = Field(default=0.35, description="below this, a candidate is not the field's (null)")
    settle_score: float = Field(default=0.8, description="a best candidate at least this good ...")
    margin: float = Field(default=0.3, description="... and this far ahead of the next value is taken by rule")
    window: float = Field(default=0.8, description="candidates offered are within this of the best score")
    fact_settle_score: float = Field(default=0.7, description="a report fact this sure ...")
    fact_margin: float = Field(default=0.1, description="... and this far ahead of the next value is taken by rule")
    ask_model: bool = Field(default=True, description="False: undecided fields take their best candidate")


@dataclass
class Decision:
    """What one field gets: a ranked candidate (or None), how it was decided, what was offered."""

    field: str
    kind: str
    chosen: Ranked | None = None
    how: str = ""
    offered: list[Ranked] = dataclasses.field(default_factory=list)
    ranked: list[Ranked] = dataclasses.field(default_factory=list)  # every candidate's score, best first
    role: str | None = None
    by_rule: bool = False  # settled by rule (a label of the field's role, clearly ahead), not by the model

    def runner_up(self) -> Ranked | None:
        """The best candidate that was not chosen."""
        chosen = self.chosen.candidate.id if self.chosen else None
        return next((r for r in self.ranked if r.candidate.id != chosen), None)


@dataclass
class Plan:
    """The candidate strategy's state for one document."""

    decisions: dict[str, Decision]
    undecided: dict[str, list[Ranked]]  # field -> candidates to offer the model
    currency_fields: list[str]
    free_fields: list[str]
    arithmetic: str | None = None


def uses_candidates(meaning: FieldMeaning) -> bool:
    """Whether a field is chosen among typed candidates (amounts, dates, identifiers)."""
    if meaning.kind in CANDIDATE_KINDS or meaning.role in FACT_ROLES:
        return True
    return meaning.kind == "text" and (page_role(meaning.role, meaning.kind) is not None or meaning.role in PARTY_ROLES
                                       or bool(_ID_NAME_RE.search(meaning.name.casefold())))


def make_plan(fields: dict[str, FieldMeaning], candidates: list[Candidate], opts: CandidateOptions) -> Plan:
    """Rank every candidate field and settle what rules can."""
    rankings: dict[str, FieldRanking] = {}
    currency, free = [], []
    for name, meaning in fields.items():
        if meaning.kind == "currency":
            currency.append(name)
        elif uses_candidates(meaning):
            rankings[name] = rank_field(meaning, candidates)
        else:
            free.append(name)
    # The document's arithmetic holds whichever of its figures the schema asks for: a schema with a total and
    # a tax but no net still has its total and tax checked against the printed net (ranked here, not kept).
    money = {r.role for r in rankings.values()} & _ARITHMETIC_ROLES
    aux = {f"\0{role}": rank_field(FieldMeaning(name=f"\0{role}", kind="amount", description="", words=role,
                                                  role=role, how="for the arithmetic"), candidates)
           for role in sorted(_ARITHMETIC_ROLES - money)} if money else {}
    arithmetic = apply_arithmetic({**rankings, **aux})
    apply_zero_tax({**rankings, **aux})
    decisions: dict[str, Decision] = {}
    undecided: dict[str, list[Ranked]] = {}
    for name, ranking in rankings.items():
        if ranking.role in FACT_ROLES:  # a report convention's prior: the next value rarely comes close
            settle(ranking, min_score=opts.min_score, settle_score=opts.fact_settle_score, margin=opts.fact_margin)
        else:
            settle(ranking, min_score=opts.min_score, settle_score=opts.settle_score, margin=opts.margin)
        d = Decision(field=name, kind=ranking.kind, ranked=list(ranking.ranked), role=ranking.role)
        if ranking.settled is not None:
            d.chosen, d.how, d.by_rule = ranking.settled, ranking.rule or "settled by rule", True
        elif not ranking.ranked:
            d.how = ranking.rule or "no candidate"
        else:
            d.offered = offered(ranking, top_k=opts.top_k, min_score=opts.min_score, window=opts.window)
            if opts.ask_model:
                undecided[name] = d.offered
            else:
                d.chosen, d.how = d.offered[0], "best-ranked candidate (model not asked)"
        decisions[name] = d
    return Plan(decisions, undecided, currency, free, arithmetic)


# -- asking the model ---------------------------------------------------------------------------


def choice_schema(undecided: dict[str, list[Ranked]]) -> dict[str, Any]:
    """``{field: enum[ids..., null]}``: the model can only name a candidate it was offered, or null."""
    props = {name: {"enum": [r.candidate.id for r in offers] + [None]} for name, offers in undecided.items()}
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def _show(c: Candidate) -> str:
    label = c.label_text() or "(no label)"
    return f"{c.id}: {c.printed} | label: {label}"


def choice_messages(undecided: dict[str, list[Ranked]], descriptions: dict[str, str], source: str) -> list[dict[str, Any]]:
    """The request: a fixed system prompt (cached by the server across documents), then the offers."""
    fields = "\n".join(f"- {n}: {descriptions.get(n) or n.replace('_', ' ')}" for n in undecided)
    listing = "\n\n".join(
        f"{n} candidates:\n" + "\n".join(_show(r.candidate) for r in offers) for n, offers in undecided.items()
    )
    user = (
        f"Fields:\n{fields}\n\n{document_block(listing, source)}\n\n"
        "Reply with {\"field\": \"candidate id or null\"} for every field."
    )
    return [{"role": "system", "content": CHOICE_SYSTEM}, {"role": "user", "content": user}]


def read_choice(reply: Any, undecided: dict[str, list[Ranked]]) -> dict[str, Ranked | None] | str:
    """The model's pick per field, or the reason the reply is unusable."""
    if not isinstance(reply, dict):
        return "the reply must be a JSON object keyed by field name"
    picks: dict[str, Ranked | None] = {}
    problems = []
    for name, offers in undecided.items():
        value = reply.get(name)
        if value in (None, "", "null"):
            picks[name] = None
            continue
        match = next((r for r in offers if r.candidate.id == str(value).strip()), None)
        if match is None:
            problems.append(f"{name}: {value!r} is not one of {[r.candidate.id for r in offers]} or null")
        picks[name] = match
    return "; ".join(problems) if problems else picks


# -- currency -----------------------------------------------------------------------------------


def choose_currency(decisions: dict[str, Decision], candidates: list[Candidate],
                    document_currency: str | None) -> tuple[str, Candidate, str] | None:
    """The currency of the chosen amounts (else of the document's amounts), with a candidate quoting it."""
    chosen = [d.chosen.candidate for d in decisions.values()
              if d.chosen is not None and d.chosen.candidate.kind == "amount"]
    for c in chosen:
        code = c.currency
        if code and parse_currency(c.quote) == code:
            return code, c, f"the currency printed with the chosen amount {c.printed!r}"
        if code:
            quoting = next((x for x in candidates if x.currency == code and parse_currency(x.quote) == code), None)
            if quoting is not None:
                return code, quoting, f"the currency of the chosen amount {c.printed!r}"
    labelled = next((x for x in candidates if x.kind == "currency"), None)
    if labelled is not None:
        return str(labelled.value), labelled, f"the currency printed next to {labelled.labels[0].text!r}"
    if document_currency:
        quoting = next((x for x in candidates if x.currency == document_currency
                        and parse_currency(x.quote) == document_currency), None)
        if quoting is not None:
            return document_currency, quoting, "the currency most amounts of the document are printed in"
    return None


__all__ = [
    "CHOICE_SYSTEM",
    "CandidateOptions",
    "Decision",
    "Plan",
    "choice_messages",
    "choice_schema",
    "choose_currency",
    "make_plan",
    "read_choice",
    "uses_candidates",
]
