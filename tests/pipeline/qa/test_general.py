"""Extractive QA rules that come from documents other than filings (the project's own sample report and
invoice): a position column is no figure, a compound written as two words still matches, and a measured
quantity ("1.8 years", "3.9 MW") is a figure."""

from __future__ import annotations

from _llm_fakes import FakeRetriever
from _llm_fakes import hit as make_hit

from pipeline.qa import ask

INVOICE_LINES = """ACME Publishing > Invoice
| Pos. | Description | Qty | Unit price | Amount |
|---|---|---|---|---|
| 1 | Field Guide to Warehouse Energy Audits | 12 | 48,90 EUR | 586,80 EUR |
| 2 | Refrigeration Systems Handbook | 5 | 79,95 EUR | 399,75 EUR |
| 3 | LED Retrofit Pocket Reference | 3 | 12,50 EUR | 37,50 EUR |
"""

REPORT = ("Report > Abstract\nWe evaluate four efficiency measures: LED retrofits pay back in 1.8 years and "
          "variable-speed compressor drives in 3.1 years. Demand peaked at 3.9 MW on 17 July 2025.")


def test_a_measured_sentence_answers_over_a_cell_that_only_shares_words() -> None:
    hits = [make_hit("inv", INVOICE_LINES, 0.9), make_hit("rep", REPORT, 0.8, source="report.pdf")]
    a = ask("What is the payback period of the LED retrofit?", FakeRetriever(hits))
    assert a.found and "1.8 years" in a.text and a.citations[0].source == "report.pdf"
    a = ask("What was the peak demand?", FakeRetriever(hits))
    assert "3.9 MW" in a.text


def test_a_position_column_is_no_figure() -> None:
    a = ask("What quantity of the LED Retrofit Pocket Reference was ordered?", FakeRetriever([
        make_hit("inv", INVOICE_LINES, 0.9)]))
    assert a.found and "(Qty)" in a.text and "Pos." not in a.text
