"""The docugami SEC 10-Q questions: loaders for the retrieval and QA evaluations, and key-figure matching.

``qna_with_gold_docs.csv`` lists each question with its reviewed answer and gold filings; only the
questions whose gold filings are all in the 17-file subset are used.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel

from pipeline.evaluation.corpus import DOCUGAMI_QNA


class Question(BaseModel):
    question: str
    qtype: str
    chunk_type: str
    gold: list[str]


class QAItem(BaseModel):
    question: str
    answer: str
    gold_docs: list[str]
    figure: Decimal


def _rows(eval_dir: Path) -> Iterator[dict[str, str]]:
    with open(eval_dir / DOCUGAMI_QNA, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("all_gold_docs_in_subset", "").strip().lower() == "true":
                yield row


def _gold_docs(row: dict[str, str]) -> list[str]:
    return [g.strip() for g in row["gold_docs"].split(";") if g.strip()]


def load_questions(eval_dir: Path) -> list[Question]:
    """Every question whose gold filings are in the set (170), typed by question kind."""
    return [
        Question(question=row["Question"], qtype=row["Question Type"].replace(" RAG", "").strip(),
                 chunk_type=row["Source Chunk Type"], gold=_gold_docs(row))
        for row in _rows(eval_dir)
    ]


def key_figure(answer: str) -> Decimal | None:
    """First amount of a reviewed answer that is not a year or a day of month (e.g. 36,413 in '$36,413 million')."""
    # No public name: pipeline.llm keeps its locale parsing private, so this is the one private import here.
    from pipeline.values import find_amounts

    for a in find_amounts(answer, decimal_separator="."):
        v = abs(a.value)
        if v == v.to_integral_value() and (1900 <= v <= 2100 or v <= 31):
            continue
        return v
    return None


def load_qa_items(eval_dir: Path) -> list[QAItem]:
    """Single-document, single-chunk questions whose reviewed answer holds a key figure (50)."""
    items = []
    for row in _rows(eval_dir):
        if not row["Question Type"].startswith("Single-Doc Single-Chunk"):
            continue
        fig = key_figure(row["Answer"])
        if fig is None:
            continue
        items.append(QAItem(question=row["Question"], answer=row["Answer"], gold_docs=_gold_docs(row), figure=fig))
    return items


def figure_in(text: str, fig: Decimal) -> bool:
    """True when ``fig`` is among the amounts of ``text`` (also as ``23.198 billion`` for ``23,198 million``)."""
    from pipeline.values import find_amounts

    vals = {abs(a.value) for a in find_amounts(text, decimal_separator=".")}
    # "$23.198 billion" for 23,198 million: compare on significant digits too.
    digits = re.sub(r"\D", "", format(fig.normalize(), "f")).strip("0")
    return fig in vals or any(re.sub(r"\D", "", format(v.normalize(), "f")).strip("0") == digits for v in vals)


__all__ = ["QAItem", "Question", "figure_in", "key_figure", "load_qa_items", "load_questions"]
