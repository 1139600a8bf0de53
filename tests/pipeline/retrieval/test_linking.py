"""Documents that know who and when: profiles at ingest, question linking, search restricted by it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pipeline.compose import Pipeline
from pipeline.document import Document, Element, ElementKind
from pipeline.profiling import profile_document
from pipeline.retrieval import QueryLinker, diversify, question_periods
from pipeline.testing import HashingEmbedder

FILINGS = {  # file name -> (registrant, ticker, period end on the cover)
    "2023 Q2 ACME.pdf": ("Acme Widgets Inc.", "ACME", "July 1, 2023"),
    "2023 Q3 ACME.pdf": ("Acme Widgets Inc.", "ACME", "September 30, 2023"),
    "2023 Q3 BOLT.pdf": ("Bolt Motors Corporation", "BOLT", "September 30, 2023"),
}


def filing(name: str, folder: str = "/filings") -> Document:
    registrant, ticker, period = FILINGS[name]
    cover = [
        ("heading", "FORM 10-Q"),
        ("paragraph", f"For the quarterly period ended {period}"),
        ("paragraph", registrant),
        ("paragraph", "(Exact name of registrant as specified in its charter)"),
        ("paragraph", f"Common Stock, $0.01 par value {ticker} The Nasdaq Stock Market LLC"),
    ]
    body = [
        ("heading", "Results of Operations"),
        ("paragraph", f"Net sales were 1,{len(name)}00 million for the quarter ended {period}, driven by widgets."),
        ("paragraph", "Gross margin improved on lower freight costs and a favourable product mix."),
    ]
    els = [Element(kind=ElementKind(k), text=t, page=1 if i < len(cover) else 2) for i, (k, t) in enumerate(cover + body)]
    return Document(source=f"{folder}/{name}", content_hash=f"h-{name}", format="pdf", pages=2, elements=els)


def test_a_filing_is_profiled_from_its_cover_page_and_file_name() -> None:
    p = profile_document(filing("2023 Q2 ACME.pdf"))
    assert p.entity == "Acme Widgets Inc." and p.ticker == "ACME"
    assert "acme widgets" in p.aliases
    assert p.doc_type == "10-Q" and p.labels == ["2023 Q2"] and p.period_end == "2023-07-01"


def test_a_file_name_that_is_not_a_labelled_filing_names_no_entity() -> None:
    doc = Document(source="/x/invoice_12.pdf", content_hash="h", format="pdf", pages=1,
                   elements=[Element(kind=ElementKind.PARAGRAPH, text="Invoice number 12, total 40.00", page=1)])
    p = profile_document(doc)
    assert p.entity is None and p.ticker is None and p.aliases == []
    assert QueryLinker([p]).link("invoice number total").documents == []


@pytest.mark.parametrize(
    ("question", "periods"),
    [("Revenue in Q3 2023?", ["2023 Q3"]), ("in 2023 Q1", ["2023 Q1"]), ("the third quarter of 2022", ["2022 Q3"]),
     ("fiscal 2022 results", ["FY2022"]), ("FY2021 and 2020", ["FY2021", "2020"]), ("the 10-Q", []),
     ("three months ended July 1, 2023", ["2023-07-01"])],
)
def test_periods_in_a_question(question: str, periods: list[str]) -> None:
    assert question_periods(question) == periods


def linker() -> QueryLinker:
    return QueryLinker(profile_document(filing(n)) for n in FILINGS)


def test_a_ticker_and_a_period_resolve_to_one_filing() -> None:
    links = linker().link("What were ACME's net sales in Q2 2023?")
    assert links.entities == ["ACME"] and links.periods == ["2023 Q2"]
    assert links.documents == ["/filings/2023 Q2 ACME.pdf"] and not links.diversify


def test_a_name_and_the_latest_quarter_resolve_to_the_entitys_latest_filing() -> None:
    links = linker().link("What was Acme Widgets' gross margin in the most recent quarter?")
    assert links.latest and links.documents == ["/filings/2023 Q3 ACME.pdf"]
    assert linker().link("How did bolt motors do?").documents == ["/filings/2023 Q3 BOLT.pdf"]
    assert linker().link("ACME net sales, quarter ended July 1, 2023").documents == ["/filings/2023 Q2 ACME.pdf"]


def test_a_question_across_periods_gets_every_filing_of_the_entity_spread_out() -> None:
    links = linker().link("How have ACME's net sales changed over time?")
    assert links.across_periods and links.diversify
    assert links.documents == ["/filings/2023 Q2 ACME.pdf", "/filings/2023 Q3 ACME.pdf"]


def test_when_nothing_resolves_nothing_changes() -> None:
    assert linker().link("What drove gross margin in Q3 2023?").documents == []  # a period, but no entity
    assert linker().link("Is ACMEX a ticker? No, and acme alone is no name.").documents == []
    assert linker().link("what about acme widgets?").entities == ["ACME"]  # names match in any case
    assert linker().link("Which company sells widgets?").documents == []


def test_diversify_round_robins_over_documents() -> None:
    class H:
        def __init__(self, source: str) -> None:
            self.source = source

    hits = [H("a"), H("a"), H("a"), H("b"), H("c"), H("b")]
    assert [h.source for h in diversify(hits)] == ["a", "b", "c", "a", "b", "a"]  # type: ignore[attr-defined]


def test_search_is_restricted_to_the_linked_filings_and_says_so(tmp_path: Path) -> None:
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder()) as index:
        index.add_documents([filing(n) for n in FILINGS])
        hits = index.search("BOLT net sales Q3 2023", k=5, mode="hybrid")
        assert hits and {h.source for h in hits} == {"/filings/2023 Q3 BOLT.pdf"}
        assert hits[0].metadata["links"]["entities"] == ["BOLT"]
        plain = index.search("net sales widgets", k=5, mode="hybrid")  # no entity: all filings, no note
        assert len({h.source for h in plain}) > 1 and "links" not in plain[0].metadata
        index.retriever.linking = False
        assert len({h.source for h in index.search("BOLT net sales Q3 2023", k=5)}) > 1


def test_an_index_built_before_profiles_is_profiled_once_with_a_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder()) as index:
        index.add_documents([filing(n) for n in FILINGS])
        with index.index.store.transaction() as c:  # what an index written by the previous version looks like
            c.execute("DROP TABLE doc_profiles")
    with caplog.at_level(logging.WARNING), Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder()) as index:
        hits = index.search("ACME net sales in Q2 2023", k=3)
        assert {h.source for h in hits} == {"/filings/2023 Q2 ACME.pdf"}
        assert any("no entity/period profile" in r.getMessage() and "no re-embedding" in r.getMessage()
                   for r in caplog.records)
        caplog.clear()
        index.retriever._linker = None
        index.search("ACME net sales in Q2 2023", k=3)
        assert not caplog.records  # stored: the migration runs once


def test_an_ingest_backfills_only_the_missing_profiles(tmp_path: Path) -> None:
    from pipeline.index import backfill_profiles, load_profiles

    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder()) as index:
        index.add_documents([filing(n) for n in FILINGS])
        store = index.index.store
        assert backfill_profiles(store) == 0  # every document has its profile
        with store.transaction() as c:  # two documents lost theirs (an older profiler's, say)
            c.execute("DELETE FROM doc_profiles WHERE doc IN (SELECT doc FROM doc_profiles LIMIT 2)")
        assert backfill_profiles(store, batch=1) == 2
        assert backfill_profiles(store) == 0
        assert len(load_profiles(store)) == len(FILINGS)
