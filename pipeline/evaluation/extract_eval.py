"""``ragline eval extract``: LLM extraction quality on real invoices.

The 12 invoices of ``invoice2data/compare`` (11 PDFs, 1 text) against their JSON ground
truth, core fields invoice_number, date, amount, amount_untaxed, amount_tax, currency. Values are
normalised before comparing (ISO dates, amounts within 0.01, ISO currency codes, invoice numbers
without spaces/``#``/case). Accuracy per field is over the documents whose ground truth has the
field; a value extracted where the ground truth has none is counted separately (``extra``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .parse_eval import default_eval_dir

INVOICES = Path("invoice2data/compare")
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


def evaluate_extract(eval_dir: Path, client: Any, *, limit: int | None = None, log: Any = None,
                     options: Any = None) -> ExtractEval:
    from pipeline.llm import ExtractionOptions, Invoice, StructuredExtractor, Usage
    from pipeline.parsing import parse

    folder = eval_dir / INVOICES
    docs = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".pdf", ".txt"))[:limit]
    extractor = StructuredExtractor(Invoice, client, options or ExtractionOptions())
    outcomes: list[DocOutcome] = []
    usage = Usage()
    total_s = 0.0
    for path in docs:
        gold = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))[0]
        t0 = time.perf_counter()
        doc = parse(path)
        res = extractor.run(doc, raise_on_failure=False)
        secs = time.perf_counter() - t0
        total_s += secs
        usage = usage + res.usage
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
        outcomes.append(DocOutcome(name=path.name, status=res.status.value, seconds=round(secs, 2),
                                   attempts=res.attempts, fields=fields, errors=res.errors))
        if log:
            ok = sum(1 for f in CORE_FIELDS if fields[f]["gold"] is not None and fields[f]["correct"])
            n = sum(1 for f in CORE_FIELDS if fields[f]["gold"] is not None)
            log(f"  {path.name}: {ok}/{n} fields, {secs:.1f}s, {res.status.value}")
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
    n_all = sum(s.n for s in scores)
    return ExtractEval(
        model=getattr(client, "model", ""), documents=len(outcomes),
        seconds_per_document=total_s / max(1, len(outcomes)),
        prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
        fields=scores, micro_accuracy=sum(s.correct for s in scores) / max(1, n_all), docs=outcomes,
    )


def format_extract(r: ExtractEval) -> str:
    lines = ["| field | n | correct | accuracy | wrong value returned | correct & quote verified | extra |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for s in r.fields:
        lines.append(f"| {s.field} | {s.n} | {s.correct} | {s.accuracy:.2f} | {s.wrong} | {s.supported} | {s.extra} |")
    lines.append(f"| **all (micro)** | {sum(s.n for s in r.fields)} | {sum(s.correct for s in r.fields)} | "
                 f"{r.micro_accuracy:.2f} | {sum(s.wrong for s in r.fields)} | {sum(s.supported for s in r.fields)} | "
                 f"{sum(s.extra for s in r.fields)} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def run_extract(args: argparse.Namespace) -> int:
    from pipeline.cli._llm import llm_client, validation_reasks
    from pipeline.exceptions import ConfigurationError, LLMError

    eval_dir = Path(args.eval_dir) if args.eval_dir else default_eval_dir()
    if not (eval_dir / INVOICES).is_dir():
        print(f"ragline eval extract: {INVOICES} not found under {eval_dir} (use --eval-dir)", file=sys.stderr)
        return 2
    log = None if args.json else (lambda s: print(s, file=sys.stderr, flush=True))
    try:
        with llm_client(args) as client:
            t0 = time.perf_counter()
            from pipeline.llm import ExtractionOptions

            result = evaluate_extract(eval_dir, client, limit=args.limit, log=log,
                                      options=ExtractionOptions(max_validation_reasks=validation_reasks(args)))
            wall = time.perf_counter() - t0
    except ConfigurationError as exc:
        print(f"ragline eval extract: error: {exc}", file=sys.stderr)
        return 2
    except LLMError as exc:
        print(f"ragline eval extract: LLM error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(result.model_dump_json(indent=2))
        return 0
    print(f"invoice2data/compare: {result.documents} documents, model {result.model}, "
          f"{result.seconds_per_document:.1f} s/document (parse + LLM), {wall:.0f}s total; "
          f"tokens {result.prompt_tokens} in / {result.completion_tokens} out\n")
    print(format_extract(result))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from pipeline.cli._llm import VALIDATION_REASKS_HELP, add_llm_options

    p = sub.add_parser("extract", help="field accuracy of LLM extraction on invoice2data (core invoice fields)")
    p.add_argument("--eval-dir", help="evaluation corpus (default: $RAGLINE_EVAL_DIR or ../shared/eval)")
    p.add_argument("--limit", type=int, help="only the first N invoices")
    p.add_argument("--validation-reasks", type=int, default=None, metavar="N", help=VALIDATION_REASKS_HELP)
    p.add_argument("--json", action="store_true", help="print results (per document too) as JSON")
    add_llm_options(p)
    p.set_defaults(func=run_extract)
