"""Not found when the question asks about a thing no retrieved passage names: on-topic unanswerable questions
share most of their words with the documents (the company, the period, "revenue"), but not their subject."""

from __future__ import annotations

from _llm_fakes import FakeRetriever
from _llm_fakes import hit as make_hit

from pipeline.qa import QAOptions, ask
from pipeline.qa._unprinted import question_nouns

STUDY = ("Study > Methods\nThe mean age, height and weight of the footballers included in the study were 24.2 "
         "years, 178 cm and 74 kg. Twenty-two footballers were enrolled. Nitric oxide was measured before and "
         "after the sprint test.")
SALES = ("Apple 10-Q > Net sales\nTotal net sales for the third quarter of 2023 were 81,797 million USD. iPhone "
         "net sales were 39,669 million USD.")
HITS = [make_hit("s", STUDY, 0.9, source="study.pdf").model_copy(update={"metadata": {"cosine": 0.64}}),
        make_hit("a", SALES, 0.8, source="aapl.pdf").model_copy(update={"metadata": {"cosine": 0.60}})]


def test_a_question_about_a_thing_no_passage_names_is_not_found_and_says_which() -> None:
    # Cosines above min_similarity: before this rule both were answered (the nearest sentence or figure). (A
    # how-many question about bones is refused by the counting rule too: a number of bones is printed nowhere.)
    for question, noun in (("What was Apple's revenue from selling cars in the third quarter of 2023?", "cars"),
                           ("What was the mean length of the bones measured in the footballers of the study?", "bones")):
        a = ask(question, FakeRetriever(HITS), options=QAOptions())
        assert not a.found and a.text == "not found", (question, a.text)
        assert noun in a.unprinted and a.see_also
        allowed = ask(question, FakeRetriever(HITS), options=QAOptions(refuse_unprinted=False))
        assert allowed.found, question  # the rule, not another one, refuses it


def test_questions_whose_nouns_are_printed_still_answer() -> None:
    a = ask("What was the mean age of the footballers in the study?", FakeRetriever(HITS), options=QAOptions())
    assert a.found and "24.2" in a.text and a.unprinted == []
    a = ask("What were Apple's total net sales in the third quarter of 2023?", FakeRetriever(HITS), options=QAOptions())
    assert a.found and "81,797" in a.text


def test_only_the_nouns_a_question_asks_about_count() -> None:
    # Verbs and adjectives are how it asks ("revealed", "latest"); "date" and "figure" name the answer's kind.
    nouns = {word for _, word in question_nouns("What date was revealed as the latest figure for the sprint test?") or ()}
    assert nouns == {"sprint", "test"}
    a = ask("What figure was revealed for iPhone net sales in the latest quarter?", FakeRetriever(HITS),
            options=QAOptions())
    assert a.found and "39,669" in a.text and a.unprinted == []


def test_a_british_spelling_finds_the_american_one() -> None:
    text = ("Form > Counsel\nThe following organizations regularly furnish representation at no charge: American "
            "Legion and Disabled American Veterans.")
    h = make_hit("f", text, 0.9, source="form.pdf").model_copy(update={"metadata": {"cosine": 0.6}})
    a = ask("Name an organisation that provides representation at no charge.", FakeRetriever([h]), options=QAOptions())
    assert a.found and "American Legion" in a.text and a.unprinted == []
    a = ask("What colour is the representation at no charge?", FakeRetriever([h]), options=QAOptions())
    assert not a.found and a.unprinted == ["colour"]


def test_a_compound_is_as_abstract_as_its_head() -> None:
    def nouns(q: str) -> set[str]:
        return {word for _, word in question_nouns(q) or ()}

    assert "chain" not in nouns("How did inventory levels reflect on their supply chain efficiency?")
    assert {"shoe", "engineers"} <= nouns("What was the average shoe size of the engineers?")
    assert "sprint" in nouns("What was the mean sprint time in seconds?")
