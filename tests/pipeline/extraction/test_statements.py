"""Facts of company reports (``extraction/_statements.py``): statement lines by their row labels, the period
column, the printed scale, the cover's registrant and period, the headcount sentence; and a user's filing
schema answered by rule, without the model."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, Field
from test_user_schemas import rules_only

from pipeline.document import Document, Element, ElementKind, TableData
from pipeline.evidence import SourceText
from pipeline.extraction import ExtractionStatus, extract
from pipeline.extraction._statements import field_scale, report_facts

ROLES = {"revenue", "net_income", "total_assets", "eps_diluted", "employees", "registrant", "period_end"}


def text(t: str, page: int = 1, kind: ElementKind = ElementKind.PARAGRAPH, path: list[str] | None = None) -> Element:
    return Element(kind=kind, text=t, page=page, heading_path=path or [])


def table(rows: list[list[str]], page: int, header_rows: int = 1) -> Element:
    md = "\n".join(" | ".join(r) for r in rows)
    return Element(kind=ElementKind.TABLE, text=md, page=page, table=TableData(rows=rows, header_rows=header_rows))


def doc(*elements: Element) -> Document:
    return Document(source="/nowhere/10k.pdf", content_hash="f" * 64, format="pdf",
                    pages=max(e.page for e in elements), elements=list(elements))


COVER = (
    text("UNITED STATES SECURITIES AND EXCHANGE COMMISSION"),
    text("FORM 10-K"),
    text("ANNUAL REPORT PURSUANT TO SECTION 13 OR 15(d) For the fiscal year ended January 28, 2023"),
    text("Commission File Number 1-9595"),
    text("NORTHWIND TRADERS, INC.\n(Exact name of registrant as specified in its charter)"),
    text("Name of each exchange on which registered: New York Stock Exchange, Inc."),
)
PEOPLE = (
    text("As of January 28, 2023, we employed approximately 71,000 people, of whom 52,000 were full-time.",
         page=2, path=["Item 1. Business", "Human Capital"]),
    text("The Retail segment employed approximately 60,000 employees.", page=2, path=["Item 1. Business", "Human Capital"]),
)
STATEMENTS = (
    text("CONSOLIDATED STATEMENTS OF EARNINGS", page=3, kind=ElementKind.HEADING),
    text("($ in millions, except per share amounts)", page=3),
    text("Fiscal Years Ended January 28, 2023 January 29, 2022", page=3),
    table([["", "2023", "2022"],
           ["Revenue", "46,298", "51,761"],
           ["Cost of sales", "(36,386)", "(40,121)"],
           ["Net earnings including noncontrolling interests", "1,430", "2,462"],
           ["Net earnings attributable to Northwind Traders", "1,419", "2,454"],
           ["Earnings per share", "", ""],
           ["Basic", "6.32", "9.94"],
           ["Diluted", "6.29", "9.84"],
           ["Weighted-average common shares outstanding", "", ""],
           ["Diluted", "225.7", "249.3"]], page=3),
    text("CONSOLIDATED BALANCE SHEETS", page=4, kind=ElementKind.HEADING),
    text("($ in millions)", page=4),
    table([["", "January 28, 2023", "January 29, 2022"], ["Total current assets", "10,000", "11,000"],
           ["Total assets", "15,803", "17,504"]], page=4),
    text("Condensed financial information of the guarantor subsidiaries ($ in millions)", page=5),
    table([["", "2023", "2022"], ["Total assets", "19,900", "20,100"]], page=5),
    text("Segment results ($ in millions)", page=6),
    table([["", "2023", "2022"], ["Revenue", "41,000", "45,000"]], page=6),
)


def facts(document: Document) -> dict[str, list[tuple[object, float]]]:
    out: dict[str, list[tuple[object, float]]] = {}
    for f in report_facts(document, SourceText.of_document(document), ROLES):
        out.setdefault(f.role, []).append((f.value, f.prior))
    return {role: sorted(v, key=lambda x: -x[1]) for role, v in out.items()}


def test_statement_lines_are_read_from_their_rows_in_the_printed_scale() -> None:
    found = facts(doc(*COVER, *PEOPLE, *STATEMENTS))
    assert found["revenue"][0][0] == Decimal("46298000000")  # the statement's, not the segment table's
    assert found["net_income"][0][0] == Decimal("1419000000")  # attributable to the company, not incl. NCI
    assert found["total_assets"][0][0] == Decimal("15803000000")  # not the guarantor summary's
    assert [v for v, _ in found["eps_diluted"]] == [Decimal("6.29")]  # not the diluted share count
    assert found["registrant"][0][0] == "NORTHWIND TRADERS, INC."
    assert found["period_end"][0][0] == dt.date(2023, 1, 28)
    assert found["employees"][0][0] == Decimal("71000")  # the whole, before the breakdown and the segment


def test_years_printed_oldest_first_make_the_last_column_current() -> None:
    d = doc(text("CONSOLIDATED STATEMENTS OF OPERATIONS (in millions)"),
            text("Year Ended December 31, 2015 2016 2017"),
            table([["Total net sales", "107,006", "135,987", "177,866"]], page=1, header_rows=0))
    assert facts(d)["revenue"][0][0] == Decimal("177866000000")


def test_a_figure_without_a_printed_scale_is_not_converted_and_weighs_less() -> None:
    d = doc(text("CONSOLIDATED BALANCE SHEETS"), table([["", "2023", "2022"], ["Total assets", "5,370", "4,764"]], page=1))
    (value, prior), = facts(d)["total_assets"]
    assert value == Decimal("5370") and prior < 1.3


def test_a_quarterly_report_takes_the_quarter_not_the_year_to_date() -> None:
    d = doc(text("FORM 10-Q QUARTERLY REPORT For the quarterly period ended July 29, 2023"),
            text("Condensed Consolidated Statements of Earnings ($ in millions)", page=2),
            table([["", "Three Months Ended", "", "Six Months Ended", ""], ["", "2023", "2022", "2023", "2022"],
                   ["Revenue", "9,583", "10,329", "19,050", "20,976"]], page=2, header_rows=2),
            text("Twelve months ended July 29, 2023 ($ in millions)", page=3),
            table([["", "2023"], ["Revenue", "44,000"]], page=3))
    assert facts(d)["revenue"][0][0] == Decimal("9583000000")


def test_a_description_in_millions_keeps_the_printed_unit() -> None:
    assert field_scale("total revenue, in millions of USD") == Decimal(1000000)
    assert field_scale("net income (thousands)") == Decimal(1000)
    assert field_scale("total revenue in USD") == Decimal(1)


class FilingSummary(BaseModel):
    """A user's filing schema (names and descriptions of their own)."""

    registrant: str | None = None
    period_ended: dt.date | None = Field(default=None, description="fiscal year end")
    sales: float | None = Field(default=None, description="net sales / revenue, in millions of USD")
    profit: float | None = Field(default=None, description="net earnings attributable to the company, USD")
    assets_total: float | None = Field(default=None, description="total assets, USD")
    eps_diluted: float | None = None
    headcount: int | None = None


def test_a_user_filing_schema_is_answered_by_rule_with_evidence() -> None:
    res = extract(doc(*COVER, *PEOPLE, *STATEMENTS), schema=FilingSummary, client=rules_only())
    assert res.status is ExtractionStatus.SUCCESS
    assert res.data is not None
    assert res.data.model_dump(mode="json") == {
        "registrant": "NORTHWIND TRADERS, INC.", "period_ended": "2023-01-28", "sales": 46298.0,
        "profit": 1419000000.0, "assets_total": 15803000000.0, "eps_diluted": 6.29, "headcount": 71000}
    ev = res.evidence
    assert ev["sales"].page == 3 and "46,298" in (ev["sales"].quote or "")
    assert ev["sales"].certainty == "verified" and ev["sales"].role == "revenue"


def test_a_report_with_no_statements_returns_nothing_rather_than_a_guess() -> None:
    d = doc(*COVER, text("Item 8.01 Other Events. The company announced a dividend of $0.92 per share.", page=2))
    res = extract(d, schema=FilingSummary, client=rules_only())
    assert res.data is not None
    assert res.data.sales is None and res.data.profit is None and res.data.eps_diluted is None
    assert res.data.registrant == "NORTHWIND TRADERS, INC."


def test_a_release_names_its_company_with_its_ticker_and_its_quarter_column_by_the_year_headers() -> None:
    d = doc(text("Springfield, Ohio (May 2, 2024) – Acme Widgets (NYSE: ACW) today reported results for its fourth "
                 "quarter."),
            text("Condensed Consolidated Statements of Income", page=2, kind=ElementKind.HEADING),
            text("Three Months Ended June 30, Twelve Months Ended June 30,", page=2),
            text("($ million, except per share amounts) 2023 2024 2023 2024", page=2),
            table([["Net sales", "3,909", "3,673", "14,544", "14,694"]], page=2, header_rows=0),
            text("Income before income taxes 216 252 1,115 1,251", page=2),
            table([["Net income attributable to Acme Widgets", "109", "181", "805", "1,048"]], page=2, header_rows=0))
    found = facts(d)
    assert found["registrant"][0][0] == "Acme Widgets"
    assert found["revenue"][0][0] == Decimal("3673000000")  # the quarter of the latest year, "$ million"
    assert found["net_income"][0][0] == Decimal("181000000")  # the parser split the statement: same columns


# -- layouts of the statements' lines seen across filings (issue 20) ---------------------------------------------


def test_a_second_statement_on_the_page_with_its_own_period_headers_is_not_the_first_continued() -> None:
    # An earnings release prints the quarter's statement and the year's on one page, one under the other.
    d = doc(text("Fourth quarter and fiscal year results: the thirteen-week period ended January 28, 2023"),
            text("Consolidated Statements of Income (In thousands)", page=6),
            table([["", "13 Weeks Ended", ""], ["", "January 28, 2023", "January 29, 2022"],
                   ["Net sales", "3,226,773", "2,729,388"]], page=6, header_rows=2),
            text("Consolidated Statements of Income (In thousands)", page=6),
            table([["", "52 Weeks Ended", ""], ["", "January 28, 2023", "January 29, 2022"],
                   ["Net sales", "10,208,580", "8,630,889"]], page=6, header_rows=2))
    (quarter, q_prior), (year, y_prior) = facts(d)["revenue"]
    assert quarter == Decimal("3226773000") and year == Decimal("10208580000")
    assert q_prior > y_prior  # the year's table read as the quarter's continued tied with it


def test_a_period_alias_in_parentheses_before_ended_still_gives_the_period() -> None:
    d = doc(text('Acme, Inc. (NASDAQ: ACME) announced results for its thirteen-week period ("fourth quarter") '
                 'and fifty-two-week period ("fiscal year") ended January 28, 2023.'))
    assert facts(d)["period_end"][0][0] == dt.date(2023, 1, 28)


def test_per_share_lines_under_a_diluted_heading_row_are_diluted_eps() -> None:
    d = doc(text("Consolidated Statements of Income (MILLIONS, EXCEPT PER SHARE DATA)"),
            table([["", "2021", "2020"], ["Net income attributable to Acme Inc. common shareholders", "21,979", "9,159"],
                   ["Earnings per common share - basic:", "", ""],
                   ["Net income attributable to Acme Inc. common shareholders", "3.92", "1.65"],
                   ["Earnings per common share - diluted:", "", ""],
                   ["Net income attributable to Acme Inc. common shareholders", "3.85", "1.63"],
                   ["Weighted-average shares - diluted", "5,708", "5,632"]], page=1))
    found = facts(d)
    assert found["eps_diluted"][0][0] == Decimal("3.85")
    assert found["net_income"] == [(Decimal("21979000000"), found["net_income"][0][1])]  # EPS is not net income


def test_quarter_columns_of_one_year_take_the_latest_quarter_and_the_latest_year_wins() -> None:
    # A recast 8-K prints each quarter of this year, then last year's.
    d = doc(text("Condensed Consolidated Statement of Earnings (in Millions)"),
            table([["", "", "2023", "", ""], ["", "Q1", "", "Q2", "SIX MONTHS"],
                   ["Net earnings/(loss)", "(68)", "", "5,144", "5,076"]], page=1, header_rows=2),
            text("Condensed Consolidated Statement of Earnings (in Millions)", page=2),
            table([["", "", "2022", "", ""], ["", "Q1", "", "Q2", "SIX MONTHS"],
                   ["Net earnings", "5,149", "", "4,814", "9,963"]], page=2, header_rows=2))
    found = facts(d)["net_income"]
    assert found[0][0] == Decimal("5144000000") and found[1][1] < found[0][1]


def test_an_unlabelled_total_closes_its_section_heading_row() -> None:
    d = doc(text("CONSOLIDATED BALANCE SHEETS (In thousands)"),
            table([["", "December 31, 2022", "December 31, 2021"], ["ASSETS", "", ""], ["Current assets", "", ""],
                   ["Cash and cash equivalents", "5,911,893", "4,703,059"], ["", "8,154,692", "6,416,182"],
                   ["Goodwill", "5,029,312", "3,480,997"], ["", "45,692,206", "40,899,116"]], page=1))
    assert facts(d)["total_assets"][0][0] == Decimal("45692206000")  # "Current assets" took the first total


def test_rows_stacked_into_one_are_cut_into_their_labels() -> None:
    d = doc(text("Condensed Consolidated Statements of Income ($ million, except per share amounts)"),
            table([["", "2023", "2022"],
                   ["Basic earnings per share attributable to Acme Diluted earnings per share attributable to Acme "
                    "Weighted average number of shares outstanding - Basic", "0.124 0.123 1,452", "0.074 0.073 1,487"]],
                  page=1))
    found = facts(d)
    assert [v for v, _ in found["eps_diluted"]] == [Decimal("0.123")]  # the second label's, the second figure


def test_a_statement_printed_as_running_text_is_read_line_by_line() -> None:
    d = doc(text("FORM 10-Q For the quarterly period ended July 2, 2023"),
            text("ACME INC. AND SUBSIDIARY COMPANIES CONDENSED CONSOLIDATED STATEMENTS OF INCOME", page=2),
            text("Three Months Ended Six Months Ended", page=2), text("(MILLIONS, EXCEPT PER SHARE DATA)", page=2),
            text("2023 2022 2023 2022 Revenues 12,734 27,742 31,015 53,402 Costs and expenses: Cost of sales "
                 "3,237 8,648 8,122 18,632 Net income attributable to Acme Inc. common shareholders 2,327 9,906 "
                 "7,870 17,781 Earnings per common share - diluted: Net income attributable to Acme Inc. common "
                 "shareholders 0.41 1.73 1.38 3.10", page=2),
            text("ANALYSIS OF THE CONDENSED CONSOLIDATED STATEMENTS OF INCOME", page=9),
            text("Total revenues 31,015 53,402 (42)", page=9))
    found = facts(d)
    assert found["revenue"] == [(Decimal("12734000000"), found["revenue"][0][1])]  # not the discussion's
    assert found["net_income"][0][0] == Decimal("2327000000")
    assert found["eps_diluted"][0][0] == Decimal("0.41")
