"""Tables as retrievable facts: row units with flattened headers, linked to their table chunk and carrying
their row's box; a row hit returns the table with the row (and its box) marked; an index chunked without rows
says how to add them."""

from __future__ import annotations

import logging
from pathlib import Path

import pymupdf
import pytest
from _pdfs import ruled_table_pdf

import pipeline
from pipeline.chunking import ROW_KIND, ChunkingOptions, chunk, column_headers, row_facts
from pipeline.compose import Pipeline
from pipeline.document import BBox, Document, Element, ElementKind, TableData
from pipeline.parsing import ParseOptions, PdfOptions, TableMode
from pipeline.retrieval import cited_row
from pipeline.testing import HashingEmbedder

STATEMENT = TableData(
    header_rows=2,
    rows=[
        ["", "", "Three Months Ended", "", "", "Nine Months Ended", ""],
        ["", "July 1, 2023", "", "June 25, 2022", "July 1, 2023", "", "June 25, 2022"],
        ["Net sales:", "", "", "", "", "", ""],
        ["Products", "60,584", "", "63,355", "230,901", "", "245,241"],
        ["Services", "21,213", "", "19,604", "62,886", "", "58,941"],
        ["Total net sales", "81,797", "", "82,959", "293,787", "", "304,182"],
        ["Gross margin", "36,413", "", "35,885", "128,721", "", "127,005"],
    ],
)


# Row i printed at y 100 + 40 i .. 140 + 40 i of the table's box (20, 100, 580, 400) below.
ROW_BOXES = [(20.0, 100.0 + 40 * i, 580.0, 140.0 + 40 * i) for i in range(len(STATEMENT.rows))]


def statement_doc(name: str = "acme.pdf", table: TableData = STATEMENT) -> Document:
    els = [
        Element(kind=ElementKind.HEADING, text="Statements of Operations", level=1, page=3),
        Element(kind=ElementKind.TABLE, text=table.to_markdown(), table=table, page=3,
                bbox=BBox(x0=20, y0=100, x1=580, y1=400), heading_path=["Statements of Operations"]),
        Element(kind=ElementKind.HEADING, text="Risk Factors", level=1, page=9),
        Element(kind=ElementKind.PARAGRAPH, text="Competition is intense and margins may fall.", page=9,
                heading_path=["Risk Factors"]),
    ]
    return Document(source=f"/docs/{name}", content_hash=f"h-{name}", format="pdf", pages=9, elements=els)


def test_headers_are_flattened_and_spanning_headers_reach_their_columns() -> None:
    assert column_headers(STATEMENT)[1] == "Three Months Ended July 1, 2023"
    assert column_headers(STATEMENT)[3] == "Three Months Ended June 25, 2022"
    assert column_headers(STATEMENT)[6] == "Nine Months Ended June 25, 2022"


def test_row_facts_carry_label_group_and_column_headers() -> None:
    facts = dict(row_facts(STATEMENT, "Statements of Operations"))
    assert facts[3].startswith("Statements of Operations | Net sales: Products | Three Months Ended July 1, 2023: 60,584")
    assert "Total net sales | Three Months Ended July 1, 2023: 81,797" in facts[5]
    assert facts[6].startswith("Statements of Operations | Gross margin |")  # a total closes the group
    assert 2 not in facts  # a group label without values is no fact


def test_row_units_are_linked_to_their_table_chunk_and_off_by_default() -> None:
    doc = statement_doc()
    assert not [c for c in chunk(doc) if ROW_KIND in c.element_kinds]
    assert "table_rows" not in ChunkingOptions().model_dump_json(exclude={"table_rows"})
    chunks = chunk(doc, ChunkingOptions(table_rows=True))
    table = next(c for c in chunks if c.element_kinds == ["table"])
    rows = [c for c in chunks if c.element_kinds == [ROW_KIND]]
    assert len(rows) == 4
    for r in rows:
        assert r.metadata["parent_chunk"] == table.id and r.metadata["row_line"] in table.text
        assert r.page_start == 3 and r.metadata["bbox"]["y1"] == 400
        assert r.text.startswith("Statements of Operations\n")
    assert ChunkingOptions(table_rows=True).fingerprint() != ChunkingOptions().fingerprint()


def test_a_row_unit_carries_its_row_box_else_its_table_box() -> None:
    boxed = STATEMENT.model_copy(update={"row_boxes": ROW_BOXES})
    rows = [c for c in chunk(statement_doc(table=boxed), ChunkingOptions(table_rows=True)) if c.element_kinds == [ROW_KIND]]
    assert [r.metadata["row"] for r in rows] == [3, 4, 5, 6]
    for r in rows:
        x0, y0, x1, y1 = ROW_BOXES[r.metadata["row"]]
        assert r.metadata["bbox"] == {"x0": x0, "y0": y0, "x1": x1, "y1": y1}
    # a parse without row boxes (HTML, or stored before they existed): the table's box, as before
    plain = [c for c in chunk(statement_doc(), ChunkingOptions(table_rows=True)) if c.element_kinds == [ROW_KIND]]
    assert {tuple(c.metadata["bbox"].values()) for c in plain} == {(20, 100, 580, 400)}


def test_a_row_unit_carries_its_cells_boxes_and_its_mark_too(tmp_path: Path) -> None:
    """``metadata["cells"]``: one box per column (None for an empty cell) where the parse measured cell boxes;
    no key where it did not, so such row units carry what they carried before."""
    cells = [[(20.0 + 80 * j, 100.0 + 40 * i, 90.0 + 80 * j, 140.0 + 40 * i) if c else None for j, c in enumerate(r)]
             for i, r in enumerate(STATEMENT.rows)]
    boxed = STATEMENT.model_copy(update={"row_boxes": ROW_BOXES, "cell_boxes": cells})
    rows = [c for c in chunk(statement_doc(table=boxed), ChunkingOptions(table_rows=True)) if c.element_kinds == [ROW_KIND]]
    services = next(r for r in rows if r.metadata["row"] == 4)
    assert services.metadata["cells"][1] == {"x0": 100.0, "y0": 260.0, "x1": 170.0, "y1": 300.0}
    assert services.metadata["cells"][2] is None and len(services.metadata["cells"]) == STATEMENT.n_cols
    plain = [c for c in chunk(statement_doc(), ChunkingOptions(table_rows=True)) if c.element_kinds == [ROW_KIND]]
    assert not any("cells" in c.metadata for c in plain)
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder(), chunking=ChunkingOptions(table_rows=True)) as index:
        index.add_documents([statement_doc(table=boxed)])
        top = index.search("Services 21,213 19,604 62,886", k=1, mode="bm25")[0]
    mark = next(r for r in top.metadata["rows"] if r["row"] == 4)
    assert mark["cells"] == services.metadata["cells"] and "cells" not in top.metadata


def _statement_pdf(path: Path) -> Path:
    """A ruled table on page 1: a header row and four rows of figures, each row 20 pt high from y = 90."""
    return ruled_table_pdf(path, [("", "2024", "2023"), ("Products", "60,584", "63,355"), ("Services", "21,213", "19,604"),
                                  ("Total net sales", "81,797", "82,959"), ("Gross margin", "36,413", "35,885")])


@pytest.mark.parametrize("mode", ["auto", "pymupdf"])
def test_a_row_hit_on_a_pdf_marks_the_rows_box(tmp_path: Path, mode: str) -> None:
    path = _statement_pdf(tmp_path / "statement.pdf")
    document = pipeline.parse(path, options=ParseOptions(pdf=PdfOptions(tables=TableMode(mode))))
    table = next(e for e in document.elements if e.kind is ElementKind.TABLE)
    assert table.bbox is not None
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder(), chunking=ChunkingOptions(table_rows=True)) as index:
        index.add_documents([document])
        top = index.search("Services 2024 21,213", k=2, mode="bm25")[0]
    assert top.metadata.get("via_row") and "| Services | 21,213 | 19,604 |" in top.text
    row = top.metadata["rows"][0]
    assert row["row"] == 2 and row["page"] == 1 and row["text"].startswith("Statements of Operations")
    words = [w for w in pymupdf.open(path)[0].get_text("words") if w[4] in ("Services", "21,213", "19,604")]
    box = row["bbox"]
    # boxes are stored to 0.01 pt, as element bboxes
    assert len(words) == 3 and all(box["x0"] - 0.01 <= w[0] and w[2] <= box["x1"] + 0.01 and box["y0"] - 0.01 <= w[1]
                                   and w[3] <= box["y1"] + 0.01 for w in words)
    assert 110 <= box["y0"] and box["y1"] <= 150 < table.bbox.y1  # the row, not the whole table
    # a citation of the row's cells finds the marked row (and so its box); a quote from elsewhere does not
    assert cited_row(top, "| Services | 21,213 |") == row and cited_row(top, "services 21,213 19,604") == row
    assert all(cited_row(top, r["line"]) == r for r in top.metadata["rows"])
    assert cited_row(top, "Competition is intense") is None and cited_row(top, "  ") is None


def test_an_answer_cites_the_row_with_its_box(tmp_path: Path) -> None:
    from pipeline.qa import QAOptions, QuestionAnswerer

    path = _statement_pdf(tmp_path / "statement.pdf")
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder(), chunking=ChunkingOptions(table_rows=True)) as index:
        index.add([path])
        answer = QuestionAnswerer(index.retriever, None, QAOptions(k=3, min_fit=0.0, min_similarity_floor=-1.0)).run(
            "What were Services sales in 2024?")  # HashingEmbedder: cosines far below the bundled model's floor
    assert answer.found and answer.grounded and "21,213" in answer.text
    cited = answer.citations[0]
    assert cited.row == 2 and cited.page == 1 and cited.bbox is not None
    assert 110 <= cited.bbox.y0 and cited.bbox.y1 <= 150  # the Services row, not the whole table
    # a quote that is no marked row keeps the chunk-level citation
    from pipeline.qa._qa import Citation, at_row

    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder(), chunking=ChunkingOptions(table_rows=True)) as index:
        row_hit = index.search("Services 2024 21,213", k=1, mode="bm25")[0]
    plain = Citation(source=cited.source, chunk_id=cited.chunk_id, quote="Competition is intense")
    assert row_hit.metadata.get("via_row") and at_row(plain, row_hit).row is None


def test_a_row_hit_returns_its_table_with_the_row_marked(tmp_path: Path) -> None:
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder(), chunking=ChunkingOptions(table_rows=True)) as index:
        index.add_documents([statement_doc()])
        for mode in ("dense", "bm25", "hybrid"):
            hits = index.search("Services net sales nine months ended July 1, 2023", k=3, mode=mode)
            top = hits[0]
            assert "table" in top.metadata["element_kinds"] and top.metadata.get("via_row"), mode
            assert "| Services | 21,213 |" in top.text  # the whole table comes back
            assert any("Net sales: Services" in r["text"] and r["page"] == 3 for r in top.metadata["rows"])
            assert all(h.metadata.get("unit") != ROW_KIND for h in hits)  # never a bare row
            assert len({h.chunk_id for h in hits}) == len(hits)


def test_an_index_chunked_without_rows_says_how_to_add_them(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder()) as index:
        index.add_documents([statement_doc()])
    rows = ChunkingOptions(table_rows=True)
    with caplog.at_level(logging.WARNING), Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder(), chunking=rows) as index:
        assert index.search("gross margin", k=2)
        assert any("ragline ingest" in r.getMessage() and "re-chunked" in r.getMessage() for r in caplog.records)
        report = index.add_documents([statement_doc()])
        assert report.embedded == 4 and report.cached == 2  # only the row units are new
        assert index.search("Gross margin nine months", k=1)[0].metadata.get("via_row")
