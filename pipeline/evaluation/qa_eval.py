"""``ragline eval qa``: answer accuracy with citations on a sample of the docugami 10-Q questions.

The sample: single-document, single-chunk questions (all gold documents in the set) whose reviewed
answer contains a key figure (its first amount that is not a year or a day); of those 50, every
(50/n)-th, so that the sample covers all five companies. An answer is correct
when that figure appears among the amounts of the generated answer (also as ``23.198 billion`` for
``23,198 million``). Citations are verified against the retrieved chunks by ``ask``; reported here
is how many answers have at least one, and how many citations point into a gold document.
The index is the retrieval eval's (built on first use, then reused).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .parse_eval import default_eval_dir

# --------------------------------------------------------------------------------------------

QNA = Path("docugami_sec10q/derived/qna_with_gold_docs.csv")
DOCS = Path("docugami_sec10q/sec-10-q/data/v1/docs")


class QAItem(BaseModel):
    question: str
    answer: str
    gold_docs: list[str]
    figure: Decimal


class QAOutcome(BaseModel):
    question: str
    figure: str
    answer: str
    found: bool
    grounded: bool
    correct: bool
    figure_in_context: bool
    figure_cited: bool
    citations: int
    citations_in_gold_doc: int
    rejected_citations: int
    seconds: float


class QAEval(BaseModel):
    model: str
    k: int
    mode: str = ""
    questions: int
    accuracy: float
    found_rate: float
    grounded_rate: float
    citation_gold_doc_precision: float
    figure_cited_rate: float
    figure_in_context_rate: float
    seconds_per_question: float
    items: list[QAOutcome]


def key_figure(answer: str) -> Decimal | None:
    """First amount of a reviewed answer that is not a year or a day of month (e.g. 36,413 in '$36,413 million')."""
    from pipeline.llm import find_amounts

    for a in find_amounts(answer, decimal_separator="."):
        v = abs(a.value)
        if v == v.to_integral_value() and (1900 <= v <= 2100 or v <= 31):
            continue
        return v
    return None


def load_qa_items(eval_dir: Path) -> list[QAItem]:
    items = []
    with open(eval_dir / QNA, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("all_gold_docs_in_subset", "").strip().lower() != "true":
                continue
            if not row["Question Type"].startswith("Single-Doc Single-Chunk"):
                continue
            fig = key_figure(row["Answer"])
            if fig is None:
                continue
            gold = [g.strip() for g in row["gold_docs"].split(";") if g.strip()]
            items.append(QAItem(question=row["Question"], answer=row["Answer"], gold_docs=gold, figure=fig))
    return items


def _figure_in(text: str, fig: Decimal) -> bool:
    from pipeline.llm import find_amounts

    vals = {abs(a.value) for a in find_amounts(text, decimal_separator=".")}
    # "$23.198 billion" for 23,198 million: compare on significant digits too.
    digits = re.sub(r"\D", "", format(fig.normalize(), "f")).strip("0")
    return fig in vals or any(re.sub(r"\D", "", format(v.normalize(), "f")).strip("0") == digits for v in vals)


def evaluate_qa(eval_dir: Path, index_dir: Path, client: Any, *, n: int = 10, k: int = 5, mode: str | None = None,
                backend: str = "auto", cache_dir: str | None = None, log: Any = None) -> QAEval:
    from pipeline.index import Index
    from pipeline.llm import QAOptions, QuestionAnswerer
    from pipeline.llm._qa import pack_context

    pool = load_qa_items(eval_dir)
    # Every (len/n)-th question: the set is ordered by company, so the first n would all be Apple's.
    items = pool[:: max(1, len(pool) // n)][:n] if n > 0 else []
    outcomes: list[QAOutcome] = []
    with Index.open(index_dir, backend=backend, cache_dir=cache_dir) as index:
        report = index.add([eval_dir / DOCS], include=["*.pdf"], prune=True, progress=log is not None)
        if report.failed and log:
            log(f"  {report.failed} documents failed to index")
        options = QAOptions(k=k) if mode is None else QAOptions(k=k, mode=mode)
        qa = QuestionAnswerer(index, client, options)
        for it in items:
            t0 = time.perf_counter()
            ans = qa.run(it.question)
            secs = time.perf_counter() - t0
            # Retrieval ceiling: was the figure in the text the model was given at all?
            given = pack_context(index.search(it.question, k=k, mode=qa.options.mode),
                                 int(qa.options.max_context_tokens * qa.options.chars_per_token))
            in_context = any(_figure_in(h.text, it.figure) for h in given)
            in_gold = sum(1 for c in ans.citations if os.path.basename(c.source) in it.gold_docs)
            out = QAOutcome(
                question=it.question, figure=str(it.figure), answer=ans.text, found=ans.found,
                grounded=ans.grounded, correct=ans.found and _figure_in(ans.text, it.figure),
                figure_in_context=in_context,
                figure_cited=any(_figure_in(c.quote, it.figure) for c in ans.citations),
                citations=len(ans.citations), citations_in_gold_doc=in_gold,
                rejected_citations=len(ans.rejected_citations), seconds=round(secs, 2),
            )
            outcomes.append(out)
            if log:
                ctx = "ctx+" if in_context else "ctx-"
                log(f"  {'OK ' if out.correct else '-- '} {ctx} {secs:5.1f}s {it.question[:70]!r} -> {ans.text[:60]!r}")
    m = max(1, len(outcomes))
    cits = sum(o.citations for o in outcomes)
    return QAEval(
        model=getattr(client, "model", ""), k=k, mode=qa.options.mode, questions=len(outcomes),
        accuracy=sum(o.correct for o in outcomes) / m, found_rate=sum(o.found for o in outcomes) / m,
        grounded_rate=sum(o.grounded for o in outcomes) / m,
        citation_gold_doc_precision=sum(o.citations_in_gold_doc for o in outcomes) / max(1, cits),
        figure_cited_rate=sum(o.figure_cited for o in outcomes) / m,
        figure_in_context_rate=sum(o.figure_in_context for o in outcomes) / m,
        seconds_per_question=sum(o.seconds for o in outcomes) / m, items=outcomes,
    )



def run_qa(args: argparse.Namespace) -> int:
    from pipeline.cli._llm import llm_client
    from pipeline.exceptions import ConfigurationError, IndexStoreError, LLMError

    eval_dir = Path(args.eval_dir) if args.eval_dir else default_eval_dir()
    if not (eval_dir / QNA).is_file():
        print(f"ragline eval qa: docugami set not found under {eval_dir} (use --eval-dir)", file=sys.stderr)
        return 2
    cache_dir = os.environ.get("RAGLINE_CACHE_DIR") or None
    index_dir = Path(args.index) if args.index else Path(cache_dir or ".ragline-cache") / "eval-retrieval-docugami"
    log = None if args.json else (lambda s: print(s, file=sys.stderr, flush=True))
    try:
        with llm_client(args) as client:
            result = evaluate_qa(eval_dir, index_dir, client, n=args.n, k=args.k, mode=args.mode, backend=args.backend,
                                 cache_dir=cache_dir, log=log)
    except ConfigurationError as exc:
        print(f"ragline eval qa: error: {exc}", file=sys.stderr)
        return 2
    except (LLMError, IndexStoreError) as exc:
        print(f"ragline eval qa: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(result.model_dump_json(indent=2))
        return 0
    print(f"docugami 10-Q QA: {result.questions} questions, model {result.model}, k={result.k} ({result.mode}), "
          f"{result.seconds_per_question:.1f} s/question\n")
    print("| key figure in the retrieved context (ceiling) | answer accuracy (key figure) | found | grounded "
          "(>=1 verified citation) | key figure in a verified citation | citations in a gold doc |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {result.figure_in_context_rate:.2f} | {result.accuracy:.2f} | {result.found_rate:.2f} | "
          f"{result.grounded_rate:.2f} | {result.figure_cited_rate:.2f} | {result.citation_gold_doc_precision:.2f} |")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from pipeline.cli._llm import add_llm_options

    p = sub.add_parser("qa", help="answer accuracy with citations on a sample of docugami 10-Q questions")
    p.add_argument("--eval-dir", help="evaluation corpus (default: $RAGLINE_EVAL_DIR or ../shared/eval)")
    p.add_argument("--index", metavar="DIR",
                   help="index directory (default: the retrieval eval's, $RAGLINE_CACHE_DIR or .ragline-cache)")
    p.add_argument("-n", type=int, default=10, help="questions (default 10)")
    p.add_argument("-k", type=int, default=5, help="chunks retrieved per question (default 5)")
    p.add_argument("--mode", choices=["dense", "bm25", "hybrid"], default=None,
                   help="retrieval mode (default: ask's default)")
    p.add_argument("--backend", choices=["auto", "onnx", "torch"], default="auto", help="embedding backend")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    add_llm_options(p)
    p.set_defaults(func=run_qa)
