"""Definition questions: the term asked about, and the spans that define it (pipeline/qa/_definitions.py)."""

from __future__ import annotations

from _llm_fakes import FakeRetriever
from _llm_fakes import hit as make_hit

from pipeline.qa import ask
from pipeline.qa._definitions import defined_term, definition_strength


def test_the_term_of_a_definition_question() -> None:
    assert defined_term("What is an SGX enclave?") == "SGX enclave"
    assert defined_term("What does the abbreviation NID mean in the data model?") == "NID"
    assert defined_term("How does the LPPL define a Base Interpreter?") == "Base Interpreter"
    assert defined_term("What is an M-wave, as described in the paper?") == "M-wave"
    # a value of something, not a definition
    assert defined_term("What is the name of the ConTeXt driver file?") is None
    assert defined_term("How many entry types are there?") is None


def test_the_ways_a_definition_is_printed() -> None:
    assert definition_strength("SGX enclave", "An enclave is an isolated region of virtual address space.") == 1.0
    assert definition_strength("TBI", "The acronyms are Post Traumatic Stress Disorder (PTSD), Traumatic Brain "
                                      "Injury (TBI), and Don't Ask Don't Tell (DADT).") == 1.0
    assert definition_strength("NID", "NID National Identifier") == 1.0
    assert definition_strength("M-wave", "The M-wave represents the synchronous muscle response.") == 1.0
    assert definition_strength("M-wave", "Stimulation was stopped when the M-wave vanished.") == 0.3
    assert definition_strength("SGX enclave", "SGX supports secure multiplexing of many distrusting parties.") == 0.0


def test_a_definition_question_is_answered_by_the_defining_sentence() -> None:
    text = ("Paper > Background\nMany enclaves may run concurrently on one SGX machine, limited by resources. "
            "An enclave is an isolated region of virtual address space, protected from access by other software. "
            "SGX enclaves were first shipped in 2015.")
    a = ask("What is an SGX enclave?", FakeRetriever([make_hit("p", text, 0.9, source="paper.pdf")]))
    assert a.found and a.text.startswith("An enclave is an isolated region"), a.text


def test_a_number_written_as_a_word_answers_how_many() -> None:
    text = ("Manual > Styles\nThe standard styles format entries of several kinds. "
            "The standard style's thirteen entry types do reasonably well at formatting most entries.")
    a = ask("How many entry types do the standard styles have?", FakeRetriever([make_hit("m", text, 0.9)]))
    assert a.found and "thirteen" in a.text, a.text


def test_a_quoted_term_is_defined_and_a_numbered_clause_is_not_an_expansion() -> None:
    assert definition_strength("Application Day", "In this Act, “Application Day” means one-hundred and eighty "
                                                  "days following the commencement of this Act.") == 1.0
    assert definition_strength("Application Day", "Application Day (2) A public authority shall treat citizens.") < 1.0


def test_a_definition_parted_by_the_pages_line_breaks_is_read_whole() -> None:
    text = ("1 General Definitions\n(1) In this Act, the following definitions apply:\n\n(b) the term ‘Application "
            "Day’ refers to the date one-hundred\n\nand eighty days following the commencement of this Act\n")
    a = ask("How does the Act define Application Day?", FakeRetriever([make_hit("b", text, 0.9, source="bill.pdf")]))
    assert a.found and "eighty days following the commencement" in a.text, (a.text, a.fit)
    assert a.citations and a.citations[0].valid


def test_an_article_inside_the_term_is_any_article_and_an_object_is_no_head_noun() -> None:
    term = defined_term("In the R language definition, what does forcing a promise mean?")
    assert term == "forcing a promise"
    assert definition_strength(term, "The process of filling the value slot of a promise is called forcing the "
                                     "promise.") == 1.0
    # "promise" is the object of "forcing", not its head noun: a sentence about promises defines no forcing
    assert definition_strength(term, "A promise is forced when its value is needed.") < 1.0
    assert definition_strength("SGX enclave", "An enclave is an isolated region.") == 1.0  # a compound keeps its head
