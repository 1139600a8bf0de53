"""Filing facts over the 29 financebench filings: ``bench/schemas/filing_schemas.py:FilingFacts`` against the
gold values read by hand from the filings' own pages (``bench/filings/gold.json``, page and quote per value).

A value is right when it matches the gold: names case-folded, one containing the other; dates equal; amounts
within 0.5% (the schema asks for dollars, the statements print millions or thousands); EPS within 0.005;
employees within 1%. A value returned where the gold is null, or different from it, is *wrong*; a null where
the gold has one is *missing*. Halves: even positions of the sorted file list = dev, odd = held-out.

    .venv/bin/python bench/eval_filings.py                 # all 29, embedded model
    .venv/bin/python bench/eval_filings.py --limit 4 --misses
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.schemas.filing_schemas import FilingFacts  # noqa: E402

PDFS = REPO.parent / "shared" / "eval" / "financebench" / "pdfs"
GOLD = REPO / "bench" / "filings"  # gold_*.json: one object per filing, read by hand (merged here)
AMOUNTS = ("total_revenue", "net_income", "total_assets")


def gold_value(field: str, entry: Any) -> Any:
    if entry is None:
        return None
    if field in AMOUNTS:
        return entry.get("usd")
    return entry.get("value")


def same(field: str, gold: Any, pred: Any) -> bool:
    if gold is None or pred is None:
        return gold is None and pred is None
    if field == "company_name":
        g, p = " ".join(str(gold).casefold().split()), " ".join(str(pred).casefold().split())
        return g in p or p in g
    if field == "fiscal_period_end":
        return str(gold)[:10] == str(pred)[:10]
    try:
        g, p = float(gold), float(pred)
    except (TypeError, ValueError):
        return False
    if field in AMOUNTS:
        return abs(g - p) <= 0.005 * abs(g)
    if field == "diluted_eps":
        return abs(g - p) < 0.0051
    return abs(g - p) <= 0.01 * abs(g)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--misses", action="store_true")
    args = ap.parse_args()

    from pipeline.extraction import ExtractionOptions, StructuredExtractor
    from pipeline.llm import LLMSettings, open_llm
    from pipeline.parsing import parse

    gold: dict[str, Any] = {}
    for part in sorted(GOLD.glob("gold*.json")):  # a filing read twice keeps its first reading
        for name, entry in json.loads(part.read_text(encoding="utf-8")).items():
            gold.setdefault(name, entry)
    every = sorted(PDFS.glob("*.pdf"))
    # Halves by position in the whole sorted list, so a filing keeps its half whatever is read so far.
    half_of = {p.name: "dev" if i % 2 == 0 else "held-out" for i, p in enumerate(every)}
    files = [p for p in every if p.name in gold][:args.limit]
    print(f"{len(files)} of {len(every)} filings have gold values", file=sys.stderr)
    tallies: dict[str, dict[str, int]] = {}
    seconds: list[float] = []
    misses: list[str] = []
    # The model is opened at its first call only (the embedded one unless RAGLINE_LLM_URL says otherwise).
    extractor = StructuredExtractor(FilingFacts, None, ExtractionOptions(),
                                    opener=lambda: open_llm(LLMSettings.from_env()))
    for path in files:
        half = half_of[path.name]
        t0 = time.perf_counter()
        res = extractor.run(parse(path), raise_on_failure=False)
        seconds.append(time.perf_counter() - t0)
        values = res.values()
        t = tallies.setdefault(half, {"right": 0, "n": 0, "wrong": 0, "missing": 0})
        for field in FilingFacts.model_fields:
            g, p = gold_value(field, (gold[path.name] or {}).get(field)), values.get(field)
            ok = same(field, g, p)
            t["n"] += g is not None or p is not None
            t["right"] += ok and g is not None
            t["wrong"] += (not ok) and p is not None
            t["missing"] += (not ok) and p is None
            if not ok:
                misses.append(f"{path.name} {field}: {p!r} (gold {g!r})")
        print(f"  {path.name}: {seconds[-1]:.1f}s {res.status.value}", file=sys.stderr, flush=True)
    print("| half | values compared | right | accuracy | wrong | missing |")
    print("|---|---:|---:|---:|---:|---:|")
    for half, t in sorted(tallies.items()):
        print(f"| {half} | {t['n']} | {t['right']} | {t['right'] / max(1, t['n']):.2f} | {t['wrong']} | "
              f"{t['missing']} |")
    print(f"{len(files)} filings, {statistics.mean(seconds):.1f} s/filing (parse + extraction, embedded model "
          f"started only if a field needs it), "
          f"max {max(seconds):.1f} s")
    if args.misses:
        print("\n".join(misses))


if __name__ == "__main__":
    main()
