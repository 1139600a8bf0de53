"""What a who / when / which-version question needs of its answer, and the passages a question's own numbers
rule out (pipeline/qa/_answer_fit.py, _span_rank.py, _extractive_qa.py): rules from the general-domain set's
development halves (bench/general_qa)."""

from __future__ import annotations

from _llm_fakes import FakeRetriever
from _llm_fakes import hit as make_hit

from pipeline.qa import ask
from pipeline.qa._answer_fit import type_fits, value_of_what_is_asked
from pipeline.qa._span_rank import question_numbers
from pipeline.qa._spans import Span, spans_of_hit


def _sentence(text: str) -> Span:
    return Span(kind="sentence", hit=0, quote=text)


def test_an_organisation_after_an_article_and_an_author_year_citation_answer_who() -> None:
    whose = "Whose ethics committee approved the study?"
    assert type_fits(_sentence("The study was approved by the ethics committee of the University of Tuebingen."),
                     whose)
    assert type_fits(_sentence("We pass them to an existing statistical parser (Charniak, 2000)."),
                     "Whose statistical parser was used?")
    assert not type_fits(_sentence("The parser was released in May 2003."), "Whose statistical parser was used?")


def test_a_when_question_prefers_the_date_bound_to_what_it_asks() -> None:
    q = "On what date was the nitric oxide article accepted?"
    assert value_of_what_is_asked("Received: February 25, 2009 Accepted: April 30, 2009", q)
    assert not value_of_what_is_asked("Nobel Kitap Oxide Synthase and Nitric Oxide in evleri Limited Sirketi, 1995.", q)
    refs = make_hit("r", "Paper > References\nMoncada S. Nitric Oxide release of the article in evleri Limited "
                         "Sirketi, 1995; 1-20.", 0.9, source="paper.pdf")
    title = make_hit("t", "Paper > Nitric oxide levels of footballers\nReceived: February 25, 2009 Accepted: April 30, "
                          "2009", 0.8, source="paper.pdf")
    a = ask(q, FakeRetriever([refs, title]))
    assert a.found and "April 30, 2009" in a.text, a.text


def test_a_table_of_words_is_read_row_by_row() -> None:
    text = ("Data model > REVISION HISTORY\n| Date | Version | Description |\n|---|---|---|\n"
            "| September 2002 | Draft 01 | First draft for discussion with Nova Scotia |\n"
            "| January 2003 | Draft | Second draft after review of the hydro network model |")
    quotes = [s.quote for s in spans_of_hit(make_hit("t", text, 0.9), 0)]
    assert "September 2002 Draft 01 First draft for discussion with Nova Scotia" in quotes, quotes
    a = ask("When was the first draft discussed with Nova Scotia?", FakeRetriever([make_hit("t", text, 0.9)]))
    assert a.found and "September 2002" in a.text, a.text


def test_a_when_question_takes_the_best_span_that_holds_a_date() -> None:
    text = ("Camlidl > Version 1.04\nVersion: 1.0 Author: NRN Team\nThe Camlidl manual\nMay 1, 2002")
    a = ask("When is the Camlidl manual version 1.04 dated?", FakeRetriever([make_hit("m", text, 0.9)]))
    assert a.found and "May 1, 2002" in a.text, a.text


def test_a_passage_that_does_not_print_the_questions_number_is_no_candidate() -> None:
    assert question_numbers("When was BibTeX version 1.00 released?") == ["1.00"]
    assert question_numbers("How many transistors does the 22-core Xeon have? In 2019?") == []  # a part, a year
    other = make_hit("o", "Hydro Network > Metadata\nVersion: 1.0 Created: 2003-03-07", 0.9, source="model.pdf")
    bibtex = make_hit("b", "BibTeX > Introduction\nThis document will be expanded when BibTeX version 1.00 comes "
                           "out.", 0.8, source="bibtex.pdf")
    a = ask("When was BibTeX version 1.00 released?", FakeRetriever([other, bibtex]))
    assert not a.found, a.text


def test_which_version_is_answered_by_a_release_number_not_a_date() -> None:
    q = "Which version of Objective Caml does Camlidl 1.04 require?"
    assert not type_fits(_sentence("May 1, 2002"), q)
    assert not type_fits(_sentence("Camlidl version 1.04"), q)  # the question's own number
    assert type_fits(_sentence("Camlidl requires Objective Caml 3.07 or later."), q)


def test_how_many_is_answered_by_a_number_of_what_it_counts_or_a_cell() -> None:
    q = "How many transistors does the 22-core Xeon have?"
    assert not type_fits(_sentence("First, we see Moore's Law [36]; the slow-down does not yet appear."), q)
    assert type_fits(_sentence("The 22-core Xeon has 7.2 billion transistors."), q)
    assert type_fits(Span(kind="cell", hit=0, quote="AVX-512 129", value="129", label="AVX-512"),
                     "How many new instructions does AVX-512 add?")
    text = "Board > Instructions\nIf you were discharged more than 15 years ago, you may not apply to the Board."
    a = ask("How many applications does the Board receive each year?", FakeRetriever([make_hit("f", text, 0.9)]))
    assert not a.found, a.text


def test_which_country_is_answered_by_a_place() -> None:
    q = "Which country's law governs the licence?"
    assert not type_fits(_sentence("In no event unless required by applicable law will the holder be liable."), q)
    assert type_fits(_sentence("This licence is governed by the laws of England."), q)
    assert not type_fits(_sentence("The latest version of this license is in https://www.latex-project.org/lppl.txt"), q)


def test_a_question_that_names_its_unit_is_answered_in_that_unit() -> None:
    q = "What was the footballers' mean 20-metre sprint time in seconds?"
    assert not type_fits(_sentence("The 20-meter sprint was repeated for 10 times."), q)
    assert type_fits(_sentence("The mean sprint time was 3.12 s."), q)
    assert type_fits(Span(kind="cell", hit=0, quote="Age (years) 18.00", value="18.00", label="Age (years)"),
                     "What was the age in years of the youngest footballer?")


def test_outside_filings_the_documents_own_name_is_a_word_a_span_shares() -> None:
    slide = make_hit("l", "Thumbnails > Links\n- hyperref (Sebastian Rahtz): ftp://ftp.ctan.org/macros/hyperref/",
                     0.9, source="slides-hyperref.pdf").model_copy(update={"metadata": {"context": "slides-hyperref"}})
    info = make_hit("i", "Document info\n| Key | Value |\n|---|---|\n| Author | pdfauthor |", 0.8,
                    source="slides-hyperref.pdf").model_copy(update={"metadata": {"context": "slides-hyperref"}})
    a = ask("Who is the author of hyperref?", FakeRetriever([info, slide]))
    assert a.found and "Sebastian Rahtz" in a.text, a.text


def test_a_figures_number_counts_nothing() -> None:
    q = "How many transistors does the 22-core Xeon have?"
    assert not type_fits(_sentence("Figure 1 plots the transistor count of Intel x86 CPU implementations."), q)
