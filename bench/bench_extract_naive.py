"""``ragline extract`` with a user schema against the naive one-call baseline, on the same model in the same run.

The baseline is what a user would write first: parse the document, put its text (cut to the same context
budget) and the schema's JSON into one chat completion constrained to the schema, take the reply. ragline runs
its candidate strategy (rules settle what they can, the model only chooses among candidates). Both use the one
LLM client of the run (the embedded model unless ``RAGLINE_LLM_BASE_URL`` is set), interleaved per document
(ragline, baseline, baseline, ragline, ...) so that load drifts hit both; parsing is counted in both.

    .venv/bin/python bench/bench_extract_naive.py                          # 6 FX + 6 invoice2data, SupplierInvoice
    .venv/bin/python bench/bench_extract_naive.py --schema Rechnung --limit 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.schemas.invoice_schemas import SCHEMAS  # noqa: E402

EVAL = REPO.parent / "shared" / "eval"


def naive(client, schema, path: Path, budget_chars: int) -> float:  # type: ignore[no-untyped-def]
    from pipeline.parsing import parse

    t0 = time.perf_counter()
    doc = parse(path)
    text = "\n".join(e.text for e in doc.elements)[:budget_chars]
    messages = [{"role": "system", "content": "Extract the fields from the document. Reply with JSON only."},
                {"role": "user", "content": f"Schema:\n{json.dumps(schema.model_json_schema())}\n\n"
                                            f"Document:\n{text}"}]
    client.chat(messages, schema=schema.model_json_schema(), schema_name=schema.__name__, max_tokens=384,
                temperature=0.0)
    return time.perf_counter() - t0


def ragline(extractor, path: Path) -> float:  # type: ignore[no-untyped-def]
    from pipeline.parsing import parse

    t0 = time.perf_counter()
    extractor.run(parse(path), raise_on_failure=False)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--schema", default="SupplierInvoice", choices=sorted(SCHEMAS))
    ap.add_argument("--limit", type=int, default=6, help="documents per set (FX, invoice2data)")
    args = ap.parse_args()

    from pipeline.extraction import ExtractionOptions, StructuredExtractor
    from pipeline.llm import LLMSettings, open_llm

    schema = SCHEMAS[args.schema]
    fx = sorted((EVAL / "zugferd" / "FX").glob("*.pdf"))[:args.limit]
    i2d = sorted((EVAL / "invoice2data" / "compare").glob("*.pdf"))[:args.limit]
    options = ExtractionOptions()
    budget = int(options.max_context_tokens * options.chars_per_token)
    with open_llm(LLMSettings.from_env()) as client:
        extractor = StructuredExtractor(schema, client, options)
        extractor.warm_up()
        ratios, ours, theirs = [], [], []
        for i, path in enumerate(fx + i2d):
            if i % 2 == 0:
                a, b = ragline(extractor, path), naive(client, schema, path, budget)
            else:
                b, a = naive(client, schema, path, budget), ragline(extractor, path)
            ours.append(a)
            theirs.append(b)
            ratios.append(a / b)
            print(f"  {path.name}: ragline {a:.2f}s, naive one call {b:.2f}s, ratio {a / b:.2f}", flush=True)
    print(f"{args.schema} on {len(ratios)} invoices, model {client.model}: ragline {statistics.mean(ours):.2f} s/doc, "
          f"naive one-call {statistics.mean(theirs):.2f} s/doc; ratio of totals {sum(ours) / sum(theirs):.2f}x "
          f"(median per document {statistics.median(ratios):.2f}x)")


if __name__ == "__main__":
    main()
