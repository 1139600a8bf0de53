"""LLM extraction quality on real invoices (``ragline eval extract``).

The 12 invoices of ``invoice2data/compare`` (11 PDFs, 1 text) against their JSON ground
truth, core fields invoice_number, date, amount, amount_untaxed, amount_tax, currency. Values are
normalised before comparing (ISO dates, amounts within 0.01, ISO currency codes, invoice numbers
without spaces/``#``/case). Accuracy per field is over the documents whose ground truth has the
field; a value extracted where the ground truth has none is counted separately (``extra``).

    from pipeline.llm import LLMSettings
    report = run_extract_eval(LLMSettings.from_env(), default_eval_dir(), limit=3)
    print(format_extract_report(report))
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from pipeline.evaluation.corpus import INVOICES

if TYPE_CHECKING:
    from pipeline.extraction import ExtractionOptions, ExtractionResult
    from pipeline.llm import LLMClient, LLMSettings

Log = Callable[[str], None]
CORE_FIELDS = ("invoice_number", "date", "amount", "amount_untaxed", "amount_tax", "currency")


# --------------------------------------------------------------------------------------------
# extract
# --------------------------------------------------------------------------------------------


def norm_value(field: str, value: Any) -> Any:
    """Comparable form of a ground-truth or extracted value (None when absent)."""
    if value is None or value == "":
        return None
    if field == "invoice_number":
        return re.sub(r"[\s#:]+", "", str(value)).casefold() or None
    if field == "date":
        return str(value)[:10]
    if field == "currency":
        return str(value).strip().upper()
    if field.startswith("amount"):
        try:
            return round(float(value), 2)
        except (TypeError, ValueError):
            return None
    return value


def same(field: str, gold: Any, pred: Any) -> bool:
    g, p = norm_value(field, gold), norm_value(field, pred)
    if g is None or p is None:
        return g is None and p is None
    if field.startswith("amount"):
        return abs(g - p) < 0.011
    return bool(g == p)


class FieldScore(BaseModel):
    field: str
    n: int = Field(description="documents whose ground truth has the field")
    correct: int
    accuracy: float
    supported: int = Field(description="correct values whose quote was verified in the document")
    extra: int = Field(description="values extracted where the ground truth has none")
    wrong: int = Field(default=0, description="wrong values returned where the ground truth has the field")


class DocOutcome(BaseModel):
    name: str
    status: str
    seconds: float
    attempts: int
    fields: dict[str, dict[str, Any]]
    errors: list[str] = Field(default_factory=list)


class ExtractEval(BaseModel):
    model: str
    documents: int
    seconds_per_document: float
    prompt_tokens: int
    completion_tokens: int
    fields: list[FieldScore]
    micro_accuracy: float
    docs: list[DocOutcome]
    # Not in the JSON report (its shape predates it): the text report's "total" time.
    wall_seconds: float = Field(default=0.0, exclude=True, description="evaluation time, LLM start-up excluded")


def _outcome(path: Path, gold: dict[str, Any], res: ExtractionResult, secs: float) -> DocOutcome:
    data = res.data.model_dump(mode="json") if res.data is not None else {}
    fields = {}
    for f in CORE_FIELDS:
        ev = res.evidence.get(f)
        fields[f] = {
            "gold": gold.get(f),
            "pred": data.get(f),
            "correct": same(f, gold.get(f), data.get(f)),
            "supported": ev.supported if ev else None,
            "quote": ev.quote if ev else None,
        }
    return DocOutcome(name=path.name, status=res.status.value, seconds=round(secs, 2), attempts=res.attempts,
                      fields=fields, errors=[e.message for e in res.errors])  # one string per error, as before


def _field_scores(outcomes: list[DocOutcome]) -> list[FieldScore]:
    scores = []
    for f in CORE_FIELDS:
        with_gold = [o.fields[f] for o in outcomes if norm_value(f, o.fields[f]["gold"]) is not None]
        correct = [x for x in with_gold if x["correct"]]
        extra = sum(1 for o in outcomes if norm_value(f, o.fields[f]["gold"]) is None
                    and norm_value(f, o.fields[f]["pred"]) is not None)
        scores.append(FieldScore(
            field=f, n=len(with_gold), correct=len(correct),
            accuracy=len(correct) / len(with_gold) if with_gold else 0.0,
            supported=sum(1 for x in correct if x["supported"]), extra=extra,
            wrong=sum(1 for x in with_gold if not x["correct"] and norm_value(f, x["pred"]) is not None),
        ))
    return scores


def evaluate_extract(eval_dir: Path, client: LLMClient, *, limit: int | None = None, log: Log | None = None,
                     options: ExtractionOptions | None = None) -> ExtractEval:
    """Extract the invoice fields of the first ``limit`` invoices with ``client`` and score them."""
    from pipeline.extraction import ExtractionOptions, Invoice, StructuredExtractor
    from pipeline.llm import Usage
    from pipeline.parsing import parse

    t_start = time.perf_counter()
    folder = eval_dir / INVOICES
    docs = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".pdf", ".txt"))[:limit]
    extractor = StructuredExtractor(Invoice, client, options or ExtractionOptions())
    outcomes: list[DocOutcome] = []
    usage = Usage()
    total_s = 0.0
    for path in docs:
        gold = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))[0]
        t0 = time.perf_counter()
        res = extractor.run(parse(path), raise_on_failure=False)
        secs = time.perf_counter() - t0
        total_s += secs
        usage = usage + res.usage
        outcome = _outcome(path, gold, res, secs)
        outcomes.append(outcome)
        if log:
            with_gold = [v for v in outcome.fields.values() if v["gold"] is not None]
            ok = sum(1 for v in with_gold if v["correct"])
            log(f"  {path.name}: {ok}/{len(with_gold)} fields, {secs:.1f}s, {res.status.value}")
    scores = _field_scores(outcomes)
    n_all = sum(s.n for s in scores)
    return ExtractEval(
        model=client.model, documents=len(outcomes),
        seconds_per_document=total_s / max(1, len(outcomes)),
        prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
        fields=scores, micro_accuracy=sum(s.correct for s in scores) / max(1, n_all), docs=outcomes,
        wall_seconds=time.perf_counter() - t_start,
    )


def run_extract_eval(settings: LLMSettings, eval_dir: Path, *, limit: int | None = None,
                     validation_reasks: int | None = None, log: Log | None = None,
                     strategy: str = "candidates") -> ExtractEval:
    """:func:`evaluate_extract` on the LLM of ``settings``, with its re-ask policy unless
    ``validation_reasks`` is given (an embedded server lives as long as the run)."""
    from pipeline.extraction import ExtractionOptions
    from pipeline.llm import open_llm

    options = ExtractionOptions(max_validation_reasks=settings.validation_reasks(validation_reasks),
                                strategy=strategy)  # type: ignore[arg-type]
    with open_llm(settings) as client:
        return evaluate_extract(eval_dir, client, limit=limit, log=log, options=options)


def format_extract(r: ExtractEval) -> str:
    lines = ["| field | n | correct | accuracy | wrong value returned | correct & quote verified | extra |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for s in r.fields:
        lines.append(f"| {s.field} | {s.n} | {s.correct} | {s.accuracy:.2f} | {s.wrong} | {s.supported} | {s.extra} |")
    lines.append(f"| **all (micro)** | {sum(s.n for s in r.fields)} | {sum(s.correct for s in r.fields)} | "
                 f"{r.micro_accuracy:.2f} | {sum(s.wrong for s in r.fields)} | {sum(s.supported for s in r.fields)} | "
                 f"{sum(s.extra for s in r.fields)} |")
    return "\n".join(lines)


def format_extract_report(r: ExtractEval) -> str:
    """The text report of ``ragline eval extract``: a summary line and the per-field table."""
    return (
        f"invoice2data/compare: {r.documents} documents, model {r.model}, "
        f"{r.seconds_per_document:.1f} s/document (parse + LLM), {r.wall_seconds:.0f}s total; "
        f"tokens {r.prompt_tokens} in / {r.completion_tokens} out\n\n" + format_extract(r)
    )


__all__ = [
    "CORE_FIELDS",
    "DocOutcome",
    "ExtractEval",
    "FieldScore",
    "evaluate_extract",
    "format_extract",
    "format_extract_report",
    "norm_value",
    "run_extract_eval",
    "same",
]
