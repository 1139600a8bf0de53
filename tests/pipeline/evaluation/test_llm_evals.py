"""Scoring helpers of `ragline eval extract` / `ragline eval qa` (the LLM runs themselves are not unit-tested)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.evaluation.docugami import figure_in, key_figure, load_qa_items
from pipeline.evaluation.extract_eval import ExtractEval, FieldScore, format_extract, norm_value, same


def test_field_comparison_normalises() -> None:
    assert same("invoice_number", "#BLR_WFLD20151000982590", "BLR_WFLD20151000982590")
    assert same("invoice_number", "INV/2023/03/0008", "inv/2023/03/0008 ")
    assert not same("invoice_number", "42183017", "42183018")
    assert same("date", "2014-08-03", "2014-08-03")
    assert same("amount", 4.11, "4.11") and same("amount", 279.84, 279.835)
    assert not same("amount", 279.84, 112.0)
    assert same("currency", "EUR", "eur")
    assert same("amount_tax", None, None) and not same("amount_tax", None, 0.0)
    assert norm_value("amount", "n/a") is None


def test_format_extract_table() -> None:
    r = ExtractEval(model="m", documents=1, seconds_per_document=1.0, prompt_tokens=1, completion_tokens=1,
                    fields=[FieldScore(field="date", n=2, correct=1, accuracy=0.5, supported=1, extra=0, wrong=1)],
                    micro_accuracy=0.5, docs=[])
    assert "| date | 2 | 1 | 0.50 | 1 | 1 | 0 |" in format_extract(r)


def test_key_figure_and_matching() -> None:
    assert key_figure("The gross margin for the three months ended July 1, 2023, was $36,413 million.") == Decimal("36413")
    assert key_figure("No, there were none in 2023.") is None
    assert figure_in("$36,413 million", Decimal("36413"))
    assert figure_in("net cash of $23.198 billion", Decimal("23198"))
    assert not figure_in("$36,414 million", Decimal("36413"))


@pytest.mark.eval
def test_qa_sample_loads(eval_dir: Path) -> None:
    items = load_qa_items(eval_dir)
    assert len(items) >= 20 and all(len(i.gold_docs) == 1 for i in items)
