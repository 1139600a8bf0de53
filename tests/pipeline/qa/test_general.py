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


# Rules from the general-domain set's development half (bench/general_qa): a title page, a form, slides, a
# glossary, a paper's ethics statement.

TITLE_PAGE = "BIBTEXing\nFebruary 8, 1988\nThis guide also serves as sample input to help implementors."
SLIDE = ("What is DVIPDFMx?\n- A DVI driver program generating PDF from DVI\n"
         "The original DVIPDFM was written by Mark A. Wicks (version 0.13.2c).\n"
         "- Title III of the Copyright Act expands the exemption for programs.")
GLOSSARY = "Data model > ABBREVIATIONS\nLRM Linear Reference Method\nNID National Identifier\nNRCan Natural Resources Canada"


def _slide_hit() -> list:
    h = make_hit("s", SLIDE, 0.9, source="slides.pdf")
    return [h.model_copy(update={"heading_path": ["What is DVIPDFMx?"]})]


def test_an_initial_does_not_end_a_sentence() -> None:
    from pipeline.qa._spans import split_sentences

    assert split_sentences("DVIPDFM was written by Mark A. Wicks. It converts DVI.") == [
        "DVIPDFM was written by Mark A. Wicks.", "It converts DVI."]


def test_a_short_line_with_a_date_is_a_span_read_under_the_line_above() -> None:
    a = ask("What date is printed on the BibTeXing document?", FakeRetriever([make_hit("t", TITLE_PAGE, 0.9)]))
    assert a.found and a.text == "February 8, 1988", (a.text, a.fit)


def test_a_glossary_line_answers_what_an_abbreviation_means() -> None:
    a = ask("What does the abbreviation NID mean in the data model?", FakeRetriever([make_hit("g", GLOSSARY, 0.9)]))
    assert a.found and a.text == "NID National Identifier", a.text


def test_a_who_question_is_answered_by_a_persons_name_not_by_capitalised_words() -> None:
    from pipeline.qa._answer_fit import type_fits
    from pipeline.qa._spans import Span

    def sentence(text: str) -> Span:
        return Span(kind="sentence", hit=0, quote=text)

    question = "Who wrote the original DVIPDFM program?"
    assert type_fits(sentence("DVIPDFM was written by Mark A. Wicks (version 0.13.2c)."), question)
    assert not type_fits(sentence("Title III expands the exemption in section 117 of the Copyright Act."), question)
    a = ask(question, FakeRetriever(_slide_hit()))
    assert a.found and "Mark A. Wicks" in a.text, a.text


def test_a_one_level_heading_is_the_spans_section() -> None:
    from pipeline.qa._spans import spans_of_hit

    spans = spans_of_hit(_slide_hit()[0], 0)
    assert {s.section for s in spans} == {"What is DVIPDFMx?"}
    assert all(s.quote != "What is DVIPDFMx?" for s in spans)


def test_a_name_no_retrieved_text_prints_means_not_found() -> None:
    a = ask("What is the current price of Bitcoin?", FakeRetriever([make_hit(
        "p", "Pricing > Licences\nThe current price of a site licence is 1,200 EUR a year.", 0.9)]))
    assert not a.found, (a.text, a.fit)
    a = ask("What is the current price of a site licence?", FakeRetriever([make_hit(
        "p", "Pricing > Licences\nThe current price of a site licence is 1,200 EUR a year.", 0.9)]))
    assert a.found and "1,200 EUR" in a.text


def test_a_lead_in_sentence_is_read_with_the_list_it_introduces() -> None:
    text = ("Instructions > Section 5\nThe military services do not pay the cost of representation.\n"
            "The following organizations regularly furnish representation at no charge:\n"
            "American Legion, Disabled American Veterans, and state or regional Veterans Offices.")
    a = ask("Name an organisation that regularly provides representation at no charge.",
            FakeRetriever([make_hit("f", text, 0.9, source="form.pdf")]))
    assert a.found and "American Legion" in a.text and a.citations[0].valid, a.text


def test_function_words_are_no_content_words() -> None:
    from pipeline.qa._span_query import terms

    assert terms("After how long without being reachable does a work become unmaintained under the LPPL?") == [
        "long", "reachab", "work", "become", "unmaint", "lppl"]


def test_a_title_pages_date_stands_under_the_documents_title() -> None:
    h = make_hit("t", TITLE_PAGE, 0.9).model_copy(update={"heading_path": ["BIBTEXing"]})
    a = ask("What date is printed on the BibTeXing document?", FakeRetriever([h]))
    assert a.found and a.text == "February 8, 1988", (a.text, a.fit)


def test_the_document_retrieval_puts_first_answers_over_a_sister_document() -> None:
    manual = [make_hit(f"m{i}", f"Gauge manual > Setup {i}\nThe gauge must be calibrated before first use, step {i}.",
                       0.9 - i / 100, page=i + 1, source="manual.pdf") for i in range(3)]
    manual.append(make_hit("m9", "Gauge manual > Care\nThe gauge is calibrated every 12 months by the service team.",
                           0.5, page=9, source="manual.pdf"))
    sheet = make_hit("d", "Gauge datasheet > Service\nThe gauge is calibrated every 24 months by the service team.",
                     0.6, source="datasheet.pdf")
    a = ask("How often is the gauge calibrated by the service team?", FakeRetriever([*manual[:3], sheet, manual[3]]))
    assert a.found and "12 months" in a.text and a.citations[0].source == "manual.pdf", a.text


def test_how_long_is_answered_by_a_quantity_with_its_unit_not_by_a_section_number() -> None:
    text = ("Summary > Title V\nTitle V of the DMCA adds a new chapter 13 on vessel hulls to Title 17. "
            "Once a hull design is registered, protection continues for ten years from the date protection begins.")
    from pipeline.qa._answer_fit import answer_type, type_fits
    from pipeline.qa._spans import Span

    question = "For how long is a registered vessel hull design protected?"
    assert answer_type(question) == "measure"
    assert not type_fits(Span(kind="sentence", hit=0, quote="Title V adds a new chapter 13 to Title 17."), question)
    a = ask(question, FakeRetriever([make_hit("g", text, 0.9)]))
    assert a.found and "ten years" in a.text, a.text
    text = "Keyring > Updates\nThe keyring is kept by its maintainers. Updates are processed at least once a month."
    a = ask("How often are updates to the keyring processed?", FakeRetriever([make_hit("k", text, 0.9)]))
    assert a.found and "once a month" in a.text, a.text


def test_how_many_prefers_a_number_of_what_it_counts() -> None:
    text = ("Summary > Libraries\nSection 404 amends section 108 for nonprofit libraries in two ways. As amended, "
            "section 108 permits up to three copies, which may be digital.")
    a = ask("How many copies may nonprofit libraries make under section 108?", FakeRetriever([make_hit("g", text, 0.9)]))
    assert a.found and "three copies" in a.text, a.text


def test_the_finance_period_profile_is_on_for_a_filing_and_off_for_a_paper() -> None:
    from pipeline.qa._span_rank import Periods, filing_sources
    from pipeline.qa._spans import spans_of_hit

    paper = make_hit("p", "Paper > History\nThe 2014 roll-out was delayed. In 2017 Intel settled on a new model.",
                     0.9, source="paper.pdf")
    filing = make_hit("f", "ACME > Results\nFor the three months ended July 1, 2023, net sales were $81.8 billion, "
                      "against $83.0 billion in 2022.", 0.8, source="10q.pdf")
    hits = [paper, filing]
    assert filing_sources(hits) == {"10q.pdf"}
    spans = [s for i, h in enumerate(hits) for s in spans_of_hit(h, i)]
    assert Periods.of(spans, hits).latest == {1: 2023}


def test_a_key_value_line_of_a_list_is_a_cell() -> None:
    text = ("General Document Information\nApplication: search engines.\nhyperref options: Title: pdftitle\n"
            "Subject: pdfsubject\nAuthor: pdfauthor\nKeywords: pdfkeywords\nCreator: pdfcreator")
    h = make_hit("s", text, 0.9, source="slides.pdf").model_copy(update={"heading_path": ["General Document Information"]})
    a = ask("Which hyperref option sets the Keywords entry of the document information?", FakeRetriever([h]))
    assert a.found and "pdfkeywords" in a.text and a.citations[0].valid, a.text


def test_a_yes_no_question_prefers_the_sentence_that_states_the_rule() -> None:
    text = ("MTP > Nak packets\nA nak message lists what a consumer is missing from a producer. "
            "Naks of any form are always unicast to the producer.")
    a = ask("Are MTP nak packets ever multicast?", FakeRetriever([make_hit("r", text, 0.9, source="rfc.pdf")]))
    assert a.found and "always unicast" in a.text, a.text


def test_a_title_pages_date_is_read_under_its_heading_below_an_author_line() -> None:
    h = make_hit("t", "Version 1.04\nXavier Leroy INRIA Rocquencourt\nMay 1, 2002", 0.9, source="manual.pdf")
    h = h.model_copy(update={"heading_path": ["Version 1.04"]})
    a = ask("When is the manual version 1.04 dated?", FakeRetriever([h]))
    assert a.found and a.text == "May 1, 2002", (a.text, a.fit)
