"""Answer accuracy with citations on a sample of the docugami 10-Q questions (``ragline eval qa``).

The sample: single-document, single-chunk questions (all gold documents in the set) whose reviewed
answer contains a key figure (its first amount that is not a year or a day); of those 50, every
(50/n)-th, so that the sample covers all five companies. An answer is correct
when that figure appears among the amounts of the generated answer, as printed or at another scale of
thousands (``23.198 billion`` for ``23,198 million``, never 134 for 13,400), or, where the reviewed
answer rounds (``$14.2 billion``), as an amount with its own scale word that rounds to it at the
printed precision (``14,158 million``). Citations are verified against the retrieved chunks by ``ask``; reported here
is how many answers have at least one, and how many citations point into a gold document.
The index is the retrieval eval's (built on first use, then reused).

    from pipeline.llm import LLMSettings
    report = run_qa_eval(LLMSettings.from_env(), default_eval_dir(), index_dir, n=10)
    print(format_qa_report(report))
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from pipeline.evaluation.corpus import DOCUGAMI_DOCS
from pipeline.evaluation.docugami import QAItem, figure_in, key_figure, load_qa_items

if TYPE_CHECKING:
    from pipeline.llm import LLMClient, LLMSettings
    from pipeline.protocols import Retriever
    from pipeline.qa import Answer, QAOptions, QuestionAnswerer

Log = Callable[[str], None]


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
    strategy: str = ""
    questions: int
    accuracy: float
    found_rate: float
    grounded_rate: float
    citation_gold_doc_precision: float
    figure_cited_rate: float
    figure_in_context_rate: float
    seconds_per_question: float
    items: list[QAOutcome]


def sample_questions(eval_dir: Path, n: int | None) -> list[QAItem]:
    """Every (len/n)-th question: the set is ordered by company, so the first n would all be Apple's.
    ``n=None``: all of them (50)."""
    pool = load_qa_items(eval_dir)
    if n is None:
        return pool
    return pool[:: max(1, len(pool) // n)][:n] if n > 0 else []


_SCALE_AFTER_RE = re.compile(r"\s*\(?\s*(?:in\s+)?(thousand|million|billion)s?\b", re.IGNORECASE)
_SCALE = {"thousand": Decimal(10) ** 3, "million": Decimal(10) ** 6, "billion": Decimal(10) ** 9}


def _scaled_amounts(text: str) -> list[tuple[Decimal, Decimal, int]]:
    """(value, scale, decimals printed) of each amount of ``text`` followed by a scale word."""
    from pipeline.values import find_amounts

    out = []
    for a in find_amounts(text, decimal_separator="."):
        m = _SCALE_AFTER_RE.match(text, a.end)
        if m:
            digits = a.raw.rsplit(".", 1)
            decimals = len(re.sub(r"\D", "", digits[1])) if len(digits) == 2 else 0
            out.append((abs(a.value), _SCALE[m.group(1).lower()], decimals))
    return out


def rounded_figure_in(text: str, item: QAItem) -> bool:
    """The gold answer's figure as printed at its scale and precision (``$14.2 billion``) equals an amount
    of ``text`` with its own scale (``14,158 million``) rounded to that precision. The reviewed answers
    often round what the filing prints; this match needs a scale word on both sides."""
    gold = [(v, sc, d) for v, sc, d in _scaled_amounts(item.answer) if v == item.figure]
    if not gold:
        return False
    value, scale, decimals = gold[0]
    step = scale * Decimal(10) ** -decimals
    target = value * scale
    return any((v * sc / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step == target
               for v, sc, _ in _scaled_amounts(text))


def scaled_figure_in(text: str, fig: Decimal) -> bool:
    """``fig`` among the amounts of ``text``, as printed or at another scale of thousands (``23.198`` billion
    for ``23,198`` million). :func:`figure_in` compares digits with zeros stripped, so it also takes 134
    for 13,400 and 24 for 2.4: a figure ten or a hundred times off is not the same figure."""
    from pipeline.values import find_amounts

    vals = {abs(a.value) for a in find_amounts(text, decimal_separator=".")}
    return any(v == fig * Decimal(1000) ** k for v in vals for k in range(-3, 4))


def answer_has_figure(text: str, item: QAItem) -> bool:
    """The scorer: the key figure among the answer's amounts at a scale of thousands
    (:func:`scaled_figure_in`), or the same amount at another scale rounded as the gold answer prints it
    (:func:`rounded_figure_in`)."""
    return scaled_figure_in(text, item.figure) or rounded_figure_in(text, item)


def _score(item: QAItem, answer: Answer, retriever: Retriever, qa: QuestionAnswerer, seconds: float) -> QAOutcome:
    # Retrieval ceiling: was the figure in the text the model was given at all? The answer names the
    # chunks it was given; the same search brings their text back.
    given_ids = set(answer.context_chunk_ids)
    given = [h for h in retriever.search(item.question, k=qa.options.retrieval_k, mode=qa.options.mode)
             if h.chunk_id in given_ids]
    return QAOutcome(
        question=item.question, figure=str(item.figure), answer=answer.text, found=answer.found,
        grounded=answer.grounded, correct=answer.found and answer_has_figure(answer.text, item),
        figure_in_context=any(scaled_figure_in(h.text, item.figure) for h in given),
        figure_cited=any(scaled_figure_in(c.quote, item.figure) for c in answer.citations),
        citations=len(answer.citations),
        citations_in_gold_doc=sum(1 for c in answer.citations if os.path.basename(c.source) in item.gold_docs),
        rejected_citations=len(answer.rejected_citations), seconds=round(seconds, 2),
    )


def _summary(outcomes: list[QAOutcome], model: str, options: QAOptions) -> QAEval:
    m = max(1, len(outcomes))
    cits = sum(o.citations for o in outcomes)
    strategy: str = options.strategy
    if strategy == "extractive":
        strategy += " (model picks)" if options.ask_model else " (ranking picks, no model)"
    return QAEval(
        model=model, k=options.retrieval_k, mode=options.mode, strategy=strategy, questions=len(outcomes),
        accuracy=sum(o.correct for o in outcomes) / m, found_rate=sum(o.found for o in outcomes) / m,
        grounded_rate=sum(o.grounded for o in outcomes) / m,
        citation_gold_doc_precision=sum(o.citations_in_gold_doc for o in outcomes) / max(1, cits),
        figure_cited_rate=sum(o.figure_cited for o in outcomes) / m,
        figure_in_context_rate=sum(o.figure_in_context for o in outcomes) / m,
        seconds_per_question=sum(o.seconds for o in outcomes) / m, items=outcomes,
    )


def evaluate_qa(eval_dir: Path, index_dir: Path, client: LLMClient | None, *, n: int | None = 10,
                options: QAOptions | None = None, backend: str = "auto", cache_dir: str | None = None,
                log: Log | None = None) -> QAEval:
    """Ask ``n`` sampled questions (None: all) over the docugami index (updated first) with ``client``
    (None: extractive with ``ask_model=False``, no model)."""
    from pipeline.compose import Pipeline
    from pipeline.qa import QAOptions, QuestionAnswerer

    items = sample_questions(eval_dir, n)
    outcomes: list[QAOutcome] = []
    with Pipeline.open(index_dir, backend=backend, cache_dir=cache_dir) as rag:
        report = rag.add([eval_dir / DOCUGAMI_DOCS], include=["*.pdf"], prune=True, progress=log is not None)
        if report.failed and log:
            log(f"  {report.failed} documents failed to index")
        index = rag.retriever
        qa = QuestionAnswerer(index, client, options or QAOptions())
        for it in items:
            t0 = time.perf_counter()
            answer = qa.run(it.question)
            secs = time.perf_counter() - t0
            out = _score(it, answer, index, qa, secs)
            outcomes.append(out)
            if log:
                ctx = "ctx+" if out.figure_in_context else "ctx-"
                log(f"  {'OK ' if out.correct else '-- '} {ctx} {secs:5.1f}s {it.question[:70]!r} "
                    f"-> {answer.text[:60]!r}")
    return _summary(outcomes, client.model if client is not None else "none", qa.options)


def run_qa_eval(settings: LLMSettings, eval_dir: Path, index_dir: Path, *, n: int | None = 10,
                options: QAOptions | None = None, backend: str = "auto", cache_dir: str | None = None,
                log: Log | None = None) -> QAEval:
    """:func:`evaluate_qa` on the LLM of ``settings`` (an embedded server lives as long as the run;
    none is started when the options ask no model)."""
    from pipeline.llm import open_llm
    from pipeline.qa import QAOptions

    opts = options or QAOptions()
    if opts.strategy == "extractive" and not opts.ask_model:
        return evaluate_qa(eval_dir, index_dir, None, n=n, options=opts, backend=backend,
                           cache_dir=cache_dir, log=log)
    with open_llm(settings) as client:
        return evaluate_qa(eval_dir, index_dir, client, n=n, options=opts, backend=backend,
                           cache_dir=cache_dir, log=log)


def format_qa_report(result: QAEval) -> str:
    """The text report of ``ragline eval qa``: a header line and a one-row markdown table."""
    head = (f"docugami 10-Q QA: {result.questions} questions, strategy {result.strategy}, model {result.model}, "
            f"k={result.k} ({result.mode}), {result.seconds_per_question:.1f} s/question\n")
    columns = ("| key figure in the retrieved context (ceiling) | answer accuracy (key figure) | found | grounded "
               "(>=1 verified citation) | key figure in a verified citation | citations in a gold doc |")
    row = (f"| {result.figure_in_context_rate:.2f} | {result.accuracy:.2f} | {result.found_rate:.2f} | "
           f"{result.grounded_rate:.2f} | {result.figure_cited_rate:.2f} | {result.citation_gold_doc_precision:.2f} |")
    return f"{head}\n{columns}\n|---:|---:|---:|---:|---:|---:|\n{row}"


__all__ = [
    "QAEval",
    "QAItem",
    "QAOutcome",
    "answer_has_figure",
    "evaluate_qa",
    "figure_in",
    "format_qa_report",
    "key_figure",
    "load_qa_items",
    "rounded_figure_in",
    "run_qa_eval",
    "sample_questions",
    "scaled_figure_in",
]
