"""Not found by construction: an answer needs a span that covers enough of the question (a question word no
retrieved text contains counts against it in full) and holds what the question's form asks (a name for who, a
date for when, a number for how much); otherwise "not found", with the closest passages as "see also"."""

from __future__ import annotations

from _llm_fakes import FakeRetriever
from _llm_fakes import hit as make_hit

from pipeline.qa import QAOptions, ask
from pipeline.qa._answer_fit import answer_type, name_terms

REPORT = ("Report > Abstract\nThe park consumed 18.4 GWh of electricity in the measurement year. Refrigeration "
          "used 61% of it. Natural gas is used for space heating in two office annexes. Demand peaked at 3.9 MW "
          "on 17 July 2025.")
INVOICE = ("ACME Publishing > Invoice\nThe invoice was issued by ACME Technical Publishing GmbH to Nordtor "
           "Logistik GmbH on 14 March 2026. Total amount due 1,234.56 EUR.")
HITS = [make_hit("rep", REPORT, 0.9, source="report.pdf"), make_hit("inv", INVOICE, 0.8, source="invoice.pdf")]
OPTIONS = QAOptions()


def test_an_off_topic_question_is_not_found_and_points_at_the_closest_passages() -> None:
    for question in ("What is the capital of France?", "How many moons does Jupiter have?",
                     "What is the recommended dose of ibuprofen for an adult?"):
        a = ask(question, FakeRetriever(HITS), options=OPTIONS)
        assert not a.found and a.text == "not found", (question, a.text, a.fit)
        assert a.see_also and a.see_also[0].source in ("report.pdf", "invoice.pdf")
        assert a.model_dump()["found"] is False  # the JSON says it


def test_a_name_alone_does_not_answer_what_is_asked_of_it() -> None:
    a = ask("How many employees does ACME Technical Publishing have?", FakeRetriever(HITS), options=OPTIONS)
    assert not a.found, a.text


def test_answerable_questions_still_answer_with_their_fit() -> None:
    a = ask("How much electricity did the park consume in the measurement year?", FakeRetriever(HITS), options=OPTIONS)
    assert a.found and "18.4 GWh" in a.text and a.fit is not None and a.fit >= OPTIONS.min_fit
    a = ask("When did demand peak?", FakeRetriever(HITS), options=OPTIONS)
    assert a.found and "17 July 2025" in a.text


def test_the_answer_must_hold_what_the_question_asks_for() -> None:
    assert answer_type("Who issued the invoice?") == "person"
    assert answer_type("When was the invoice issued?") == "date"
    assert answer_type("How many meters serve mixed loads?") == "number"
    assert answer_type("Which measure misses the criterion?") == "any"
    hits = [make_hit("rep", "Report > Heating\nNatural gas is used for space heating in the office annexes.", 0.9)]
    assert not ask("How much natural gas is used for space heating?", FakeRetriever(hits), options=OPTIONS).found


def test_names_are_the_capitalised_words_after_the_first() -> None:
    assert name_terms("How many employees does ACME Technical Publishing have?") >= {"acme", "publish"}  # stems
    assert "how" not in name_terms("How many employees does ACME have?")


def test_the_asked_type_is_evidence_when_few_words_are_shared() -> None:
    # A diagram's caption names its author; the question shares few of its words with it and the chunk's cosine is
    # low (both below their thresholds). A person's name for a who-question lets fit + similarity suffice.
    text = ("Data model > Toponymy\nName: Toponymy Model Author: Michelle Poirier Version: 1.0 Created: 2004-04-13\n"
            "The toponymy package holds the names of hydrographic features and their scales.")
    h = make_hit("d", text, 0.9, source="model.pdf").model_copy(update={"metadata": {"cosine": 0.44}})
    a = ask("Who is the author of the Toponymy model diagram in the appendix of the specification?", FakeRetriever([h]), options=OPTIONS)
    assert a.found and "Michelle Poirier" in a.text, (a.text, a.fit)
    assert a.fit is not None and a.fit < OPTIONS.min_fit and a.fit + 0.44 >= OPTIONS.min_typed_evidence
    strict = OPTIONS.model_copy(update={"min_typed_evidence": 2.0})
    assert not ask("Who is the author of the Toponymy model diagram in the appendix of the specification?", FakeRetriever([h]), options=strict).found


def test_a_statistic_asks_a_number_and_a_sentence_without_one_does_not_answer_it() -> None:
    text = ("Paper > Background\nElectrical stimulation is a means for achieving recovery of function in stroke "
            "patients treated in rehabilitation.")
    h = make_hit("p", text, 0.9, source="paper.pdf").model_copy(update={"metadata": {"cosine": 0.44}})
    assert answer_type("What was the mean age of the stroke patients?") == "number"
    assert answer_type("What does the abbreviation NID mean in the data model?") == "any"
    a = ask("What was the mean age of the stroke patients treated?", FakeRetriever([h]), options=OPTIONS)
    assert not a.found, a.text


def test_a_date_is_no_answer_to_how_many() -> None:
    text = "Talk > Title page\nHyperref and pdfTeX\n13rd October 1999\nThe talk presents the package and its options."
    h = make_hit("t", text, 0.9, source="talk.pdf").model_copy(update={"metadata": {"cosine": 0.51}})
    a = ask("How many people attended the hyperref talk?", FakeRetriever([h]), options=OPTIONS)
    assert not a.found, a.text
