"""Extractive QA on small generated filings: period column choice, unit scaling, computed shares, comparisons
and changes (both cells cited, the computation recorded), "not found"; and the QA eval's rounded-figure match."""

from __future__ import annotations

from decimal import Decimal

import httpx
from _llm_fakes import FakeRetriever, Script
from _llm_fakes import hit as make_hit

from pipeline.evaluation.docugami import QAItem, figure_in
from pipeline.evaluation.qa_eval import answer_has_figure, rounded_figure_in, scaled_figure_in
from pipeline.llm import LLMClient, RetryPolicy
from pipeline.protocols import SearchHit
from pipeline.qa import QAOptions, ask
from pipeline.qa._answer_fit import answer_type, type_fits
from pipeline.qa._span_query import filer_words, question_kind
from pipeline.qa._span_rank import RankOptions, make_query, rank_spans, score_all, score_span
from pipeline.qa._span_values import format_figure, number_of
from pipeline.qa._spans import Span, spans_of_hit

CONTEXT = "ACME 2024 Q3 | Form 10-Q filed on 2024-10-30 for the period ending 2024-09-28"

# An income statement with quarter and nine-month columns, the current year printed first.
INCOME = """ACME CORP > Condensed Consolidated Statements of Operations
(In millions)

|  | Three Months Ended |  | Nine Months Ended |  |
|---|---|---|---|---|
|  | September 28, 2024 | September 30, 2023 | September 28, 2024 | September 30, 2023 |
| Net sales: |  |  |  |  |
| Products | 61,250 | 58,000 | 190,400 | 181,200 |
| Services | 21,750 | 19,500 | 64,100 | 57,900 |
| Total net sales | 83,000 | 77,500 | 254,500 | 239,100 |
| Operating expenses | 14,520 | 13,900 | 43,800 | 41,600 |
"""

# The same kind of table with the prior year printed first, in thousands.
PRIOR_FIRST = """ACME CORP > Segment Information
Segment results were as follows (dollars in thousands):

|  | Three Months Ended September 30, |  |
|---|---|---|
|  | 2023 | 2024 |
| Widgets revenue | 1,250 | 1,480 |
"""

PROSE_OLD_AND_NEW = """ACME CORP > Stock Repurchase Activity
In March 2022, the Board authorized a program to repurchase up to $5.0 billion of our common stock.
As of September 28, 2024, we have $2.1 billion remaining under the repurchase program.
"""


def hit(cid: str, text: str, score: float = 1.0, page: int = 1) -> SearchHit:
    return make_hit(cid, text, score, page=page, source="ACME 2024 Q3.pdf").model_copy(
        update={"metadata": {"context": CONTEXT}})


def cells(text: str) -> list[Span]:
    return [s for s in spans_of_hit(hit("t", text), 0) if s.kind == "cell"]


# --- period column choice -------------------------------------------------------------------------------

def test_the_quarter_column_of_the_current_year_answers_a_quarter_question() -> None:
    a = ask("What were ACME's total net sales in the latest quarter?", FakeRetriever([hit("t1", INCOME)]))
    assert a.found and "83,000" in a.text and "Three Months Ended September 28, 2024" in a.text
    a = ask("What were ACME's total net sales for the nine months?", FakeRetriever([hit("t1", INCOME)]))
    assert "254,500" in a.text and "Nine Months Ended September 28, 2024" in a.text


def test_the_current_year_column_wins_wherever_it_is_printed() -> None:
    a = ask("What was widgets revenue in the quarter?", FakeRetriever([hit("t1", PRIOR_FIRST)]))
    assert "1,480" in a.text and "1,250" not in a.text


def test_a_chunk_whose_current_period_cells_are_empty_has_no_current_column() -> None:
    text = ("ACME CORP > Cash Flows\n(in millions)\n\n|  | September 30, |  | September 30, |  |\n|---|---|---|---|---|\n"
            "|  | 2023 | 2024 | 2023 | 2024 |\n| Common stock repurchased | (6,000) |  | (6,000) |  |\n")
    assert {s.column_rank for s in cells(text)} == {1, 2}  # both 2023 cells are comparatives


def test_a_sentence_about_the_filing_period_beats_one_about_an_earlier_year() -> None:
    h = hit("p1", PROSE_OLD_AND_NEW)
    top = rank_spans("What was the extent of ACME's stock repurchase program?", spans_of_hit(h, 0), hits=[h])
    assert "$2.1 billion remaining" in top[0].quote


def test_a_repeated_header_inside_a_table_starts_new_columns_not_a_group() -> None:
    text = ("ACME CORP > Revenue\n| Three Months Ended September 30, Revenue | 2024 |\n|---|---|\n"
            "| United States | 28,812 |\n| Other countries | 27,705 |\n"
            "| Revenue by offering was as follows (In millions), which is long enough to read as prose here |  |\n"
            "| Three Months Ended September 30, | 2024 |\n| Cloud services | 22,308 |\n")
    cloud = next(s for s in cells(text) if s.value == "22,308")
    assert cloud.label == "Cloud services" and cloud.column == "Three Months Ended September 30, 2024"
    assert cloud.unit == "in millions"


def test_the_filer_name_is_not_a_word_to_match_but_a_segment_is() -> None:
    assert filer_words("What was ACME's gross margin?") == {"acme"}
    assert filer_words("Did ACME report any buybacks?") == {"acme"}
    assert filer_words("What percentage of total net sales did Services contribute?") == set()
    assert question_kind("How did operating expenses compare to revenue?") == "compare"
    assert question_kind("How much did net sales increase compared to the prior year?") == "change"
    assert question_kind("What drove the change in net income?") == "narrative"
    assert question_kind("What was the gross margin?") == "amount"


# --- units ---------------------------------------------------------------------------------------------

def test_figures_are_written_in_the_table_unit_or_the_asked_one() -> None:
    total = next(s for s in cells(INCOME) if s.value == "83,000")
    assert total.unit == "in millions" and number_of(total) == Decimal(83000)
    assert format_figure(total) == "83,000 million"
    assert format_figure(total, "What were total net sales, in billions?") == "83 billion"
    widgets = next(s for s in cells(PRIOR_FIRST) if s.value == "1,480")
    assert format_figure(widgets) == "$1,480 thousand"
    assert format_figure(widgets, "widgets revenue in millions?") == "$1.48 million"
    neg = Span(kind="cell", hit=0, quote="Interest expense (490)", value="(490)", label="Interest expense",
               unit="in millions")
    assert number_of(neg) == Decimal(-490) and format_figure(neg) == "-490 million"
    assert format_figure(neg.model_copy(update={"dollars": True})) == "-$490 million"
    rate = Span(kind="cell", hit=0, quote="Gross margin 74.0 %", value="74.0 %", label="Gross margin", unit="in millions")
    assert format_figure(rate) == "74.0%"  # a rate is never scaled


# --- computed answers ----------------------------------------------------------------------------------

def test_a_share_is_computed_from_two_cited_cells() -> None:
    q = "What percentage of ACME's total revenue did the Services segment contribute in the latest quarter?"
    assert question_kind(q) == "share"
    a = ask(q, FakeRetriever([hit("t1", INCOME, page=4)]))
    assert a.found and a.grounded and a.text.startswith("26.2%")  # 21,750 / 83,000
    assert a.computation == "21,750 / 83,000 = 26.2%"
    assert [c.quote for c in a.citations] == ["Services 21,750", "Total net sales 83,000"]
    assert all(c.valid and c.page == 4 for c in a.citations)


def test_a_rule_that_settles_the_answer_asks_no_model() -> None:
    s = Script(httpx.Response(500))
    client = LLMClient("http://fake/v1", model="fake", transport=s.transport(), retry=RetryPolicy(max_retries=0),
                       sleep=lambda d: None)
    a = ask("What percentage of total net sales did Services contribute in the latest quarter?",
            FakeRetriever([hit("t1", INCOME)]), client=client, options=QAOptions(ask_model=True))
    assert s.requests == [] and a.computation == "21,750 / 83,000 = 26.2%" and a.usage.requests == 0


def test_a_comparison_cites_one_cell_per_side_in_the_same_column() -> None:
    q = "How did ACME's operating expenses compare to its total net sales in the latest quarter?"
    a = ask(q, FakeRetriever([hit("t1", INCOME)]))
    assert "14,520" in a.text and "83,000" in a.text and a.computation is None
    assert [c.quote for c in a.citations] == ["Operating expenses 14,520", "Total net sales 83,000"]


def test_a_change_is_computed_against_the_prior_period_of_the_same_row() -> None:
    a = ask("How much did ACME's total net sales increase compared to the prior year quarter?",
            FakeRetriever([hit("t1", INCOME)]))
    assert a.computation == "83,000 - 77,500 = 5,500, 7.1%"
    assert "a change of 5,500 million, 7.1%" in a.text
    assert [c.quote for c in a.citations] == ["Total net sales 83,000", "Total net sales 83,000 77,500"]


def test_no_total_row_means_no_share_is_made_up() -> None:
    text = INCOME.replace("| Total net sales | 83,000 | 77,500 | 254,500 | 239,100 |\n", "")
    a = ask("What percentage of total revenue did Services contribute in the latest quarter?",
            FakeRetriever([hit("t1", text)]))
    assert a.computation is None and len(a.citations) == 1 and "%" not in a.text.split(":")[0]


def test_a_part_as_large_as_its_whole_is_no_share() -> None:
    text = INCOME.replace("| Services |", "| Services (all of it) |").replace("21,750 | 19,500", "83,000 | 77,500")
    a = ask("What percentage of total net sales did Services contribute in the latest quarter?",
            FakeRetriever([hit("t1", text)]))
    assert "100.0%" not in a.text and (a.computation is None or "83,000 / 83,000" not in a.computation)


def test_nothing_that_fits_is_not_found() -> None:
    a = ask("Who is ACME's chief executive's favourite composer?", FakeRetriever([hit("t1", INCOME)]))
    assert not a.found and a.text == "not found" and a.citations == [] and a.computation is None


# --- the QA eval's scorer ------------------------------------------------------------------------------

def test_a_rounded_gold_figure_matches_the_printed_one_at_its_scale() -> None:
    item = QAItem(question="q", answer="Revenue was $14.2 billion in the quarter.", gold_docs=[], figure=Decimal("14.2"))
    assert rounded_figure_in("Total net revenue (Sep 30, 2023): 14,158 million", item)
    assert rounded_figure_in("Total net revenue, Sep 30, 2023: 14,158 (in millions)", item)
    assert not rounded_figure_in("Total net revenue: 14,258 million", item)
    assert not rounded_figure_in("Total net revenue: 14,158", item)  # no scale: no rounding
    assert answer_has_figure("$14.2 billion", item)
    exact = QAItem(question="q", answer="It was $36,413 million.", gold_docs=[], figure=Decimal(36413))
    assert answer_has_figure("36,413 million", exact) and not answer_has_figure("36,414 million", exact)


def test_a_figure_ten_times_off_is_not_the_figure() -> None:
    # figure_in compares digits with zeros stripped: 134 passed for 13,400 (a lease line for a gross margin).
    assert figure_in("| Operating cash flows used for operating leases | 200 |  | 134 |", Decimal(13400))
    assert not scaled_figure_in("| Operating cash flows used for operating leases | 200 |  | 134 |", Decimal(13400))
    assert scaled_figure_in("net cash of $23.198 billion", Decimal(23198))  # a scale of thousands still matches
    assert scaled_figure_in("13,400", Decimal(13400)) and not scaled_figure_in("24", Decimal("2.4"))


def test_year_and_unit_rows_are_not_groups() -> None:
    text = ("ACME CORP > Interest\n|  | Three Months Ended September 28, 2024 |\n|---|---|\n| (In millions) |  |\n"
            "| Interest expense | (490) |\n| 2023 |  |\n| Interest income | 120 |\n")
    assert [s.label for s in cells(text)] == ["Interest expense", "Interest income"]


def test_a_cell_of_merged_figures_is_no_figure() -> None:
    text = ("ACME CORP > Segments\n(In millions)\n\n|  | Three Months Ended September 28, 2024 |\n|---|---|\n"
            "| Widgets Gadgets Gizmos | 7,867 3,814 1,450 |\n| Total net sales | 13,131 |\n")
    assert [(s.label, s.value) for s in cells(text)] == [("Total net sales", "13,131")]
    a = ask("What percentage of total net sales did Gadgets contribute in the quarter?", FakeRetriever([hit("t", text)]))
    assert a.computation is None  # no part to divide: the merged row tells no single figure


# --- what the question asks for ------------------------------------------------------------------------

RND = """ACME CORP > Condensed Consolidated Statements of Operations
(In millions)

|  | Three Months Ended |  |
|---|---|---|
|  | September 28, 2024 | September 30, 2023 |
| Operating expenses |  |  |
| Research and development | 6,844 | 6,210 |
| Sales and marketing | 5,679 | 5,126 |
"""
REPURCHASES = """ACME CORP > Share Repurchases
(In millions)

|  | Shares | Amount |
|---|---|---|
| First Quarter | 17 | 4,600 |
| Second Quarter | 18 | 4,400 |
"""
RND_PROSE = """ACME CORP > Operating Expenses
Research and development expenses increased $2.1 billion or 19% driven by investments in strategic priorities.
"""


def test_a_how_much_question_with_a_narrative_clause_still_asks_a_figure() -> None:
    q = ("How much has ACME invested in research and development in the first quarter of 2024, "
         "and what were the strategic priorities?")
    assert question_kind(q) == "amount"
    hits = [hit("r1", RND_PROSE), hit("r2", REPURCHASES), hit("r3", RND)]
    a = ask(q, FakeRetriever(hits))
    # Not the change sentence (the narrative clause's words), not the "First Quarter" repurchase row
    # (the period's words): the R&D line of the current quarter.
    assert a.found and "6,844" in a.text, a.text


def test_a_sentence_naming_the_asked_quarter_beats_one_that_does_not() -> None:
    text = ("ACME CORP > Net Sales\nNet income changed because other income fell by $0.4 billion over the year.\n"
            "Net income changed because weaker currencies cut net sales by $2.4 billion during the second quarter of 2024.\n")
    h = hit("s1", text)
    top = rank_spans("In the second quarter of 2024, what drove the change in ACME's net income?",
                     spans_of_hit(h, 0), hits=[h])
    assert "$2.4 billion" in top[0].quote


SEGMENTS = """ACME CORP > Segment Information
(In millions)

|  | Three Months Ended September 28, 2024 |
|---|---|
| North America |  |
| Net sales | 87,887 |
| International |  |
| Net sales | 32,137 |
| Consolidated |  |
| Net sales | 143,083 |
"""


def test_a_segment_row_ranks_below_but_a_heading_over_a_single_row_does_not() -> None:
    opts = RankOptions()
    for text, question, value, penalised in (
        (SEGMENTS, "What were ACME's net sales in the quarter?", "87,887", True),  # Net sales under 3 groups
        (RND, "How much did ACME spend on research and development?", "6,844", False),  # a heading over one row
    ):
        h = [hit("t", text)]
        spans = spans_of_hit(h[0], 0)
        ranked = next(s for s in score_all(question, spans, h, opts) if s.value == value)
        q = make_query(question, spans)
        unpenalised = score_span(ranked, q, opts, latest=2024, retrieval_rank=0, label_repeats=False)
        typed = opts.type_bonus if answer_type(question) != "any" and type_fits(ranked, question) else 0.0
        assert ranked.label.count(" > ") == 1
        typed += opts.document_weight  # the one document retrieved has the whole retrieval's share
        assert abs(unpenalised + typed - ranked.score - (opts.segment_penalty if penalised else 0.0)) < 1e-3
