"""A cited cell's box is the cell's (issue 21): an extractive answer read from one table cell cites that cell's box
on the PDF page (``TableData.cell_boxes``, carried by the row unit and its mark), inside its row's box; quotes that
are no cell keep the row's box."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest
from _pdfs import ruled_table_pdf

import pipeline
from pipeline.chunking import ChunkingOptions
from pipeline.compose import Pipeline
from pipeline.document import BBox, ElementKind
from pipeline.parsing import ParseOptions, PdfOptions, TableMode
from pipeline.protocols import SearchHit
from pipeline.qa import QAOptions, QuestionAnswerer
from pipeline.qa._qa import Citation, at_row
from pipeline.qa._spans import spans_of_hit
from pipeline.testing import HashingEmbedder

STATEMENT = [("", "2024", "2023"), ("Products", "60,584", "63,355"), ("Services", "21,213", "19,604"),
             ("Total net sales", "81,797", "82,959"), ("Gross margin", "36,413", "35,885")]
# Columns that are no periods: the answer's column is the one the question names, not the current period's.
SALES = [("Product", "Units", "Revenue"), ("Widgets", "1,200", "36,000"), ("Gadgets", "800", "52,400"),
         ("Gizmos", "450", "13,950")]


def _table_pdf(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    return ruled_table_pdf(path, rows)


@pytest.mark.parametrize("mode", ["auto", "pymupdf"])
@pytest.mark.parametrize(("rows", "question", "value", "column"), [
    (STATEMENT, "What were Services sales in 2024?", "21,213", 1),
    (SALES, "How many Units of Gadgets were sold?", "800", 1),
    (SALES, "What was the Revenue of Gadgets?", "52,400", 2),
])
def test_a_cited_cell_has_the_cells_box(tmp_path: Path, mode: str, rows: list[tuple[str, str, str]], question: str,
                                        value: str, column: int) -> None:
    path = _table_pdf(tmp_path / "statement.pdf", rows)
    document = pipeline.parse(path, options=ParseOptions(pdf=PdfOptions(tables=TableMode(mode))))
    table = next(e.table for e in document.elements if e.kind is ElementKind.TABLE and e.table is not None)
    assert table.cell_boxes is not None and table.row_boxes is not None
    cell_box, row_box = table.cell_boxes[2][column], BBox.of(table.row_boxes[2])
    assert cell_box is not None
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder(), chunking=ChunkingOptions(table_rows=True)) as index:
        index.add_documents([document])
        # HashingEmbedder: its cosines sit far below the bundled model's off-topic floor
        options = QAOptions(k=3, min_fit=0.0, min_similarity_floor=-1.0)
        answer = QuestionAnswerer(index.retriever, None, options).run(question)
        row_hit = index.search(f"{rows[2][0]} {value}", k=1, mode="bm25")[0]
    assert answer.found and answer.grounded and value in answer.text
    cited = answer.citations[0]
    assert cited.row == 2 and cited.page == 1 and cited.bbox is not None
    box = cited.bbox
    assert box == BBox.of(cell_box)
    assert row_box.x0 <= box.x0 and box.x1 <= row_box.x1 and row_box.y0 <= box.y0 and box.y1 <= row_box.y1
    assert box.x1 - box.x0 < row_box.x1 - row_box.x0
    word = next(w for w in pymupdf.open(path)[0].get_text("words") if w[4] == value)
    assert box.x0 - 0.01 <= word[0] and word[2] <= box.x1 + 0.01  # the figure itself, not its neighbours
    # a quote of the row that is no cell answer (a sentence, an LLM's quote) keeps the row's box
    plain = at_row(Citation(source=cited.source, chunk_id=cited.chunk_id, quote=cited.quote), row_hit)
    assert row_hit.metadata.get("via_row") and plain.row == 2 and plain.bbox == row_box


def test_a_cell_span_knows_its_column_in_the_markdown_row() -> None:
    """Spacer columns, ``$`` cells and the label column count: the index is into the row's markdown cells, which
    are the table's columns (``TableData.to_markdown``)."""
    text = ("|  | 2024 |  | 2023 |\n|---|---|---|---|\n| Services | $ | 21,213 | 19,604 |\n"
            "| 1 | Gross margin | 36,413 | 35,885 |")
    hit = SearchHit(chunk_id="c", doc_id="d", source="s.pdf", text=text, score=1.0, page_start=1, page_end=1)
    spans = {s.value: s for s in spans_of_hit(hit, 0) if s.kind == "cell"}
    assert spans["21,213"].column_index == 2 and spans["19,604"].column_index == 3
    assert spans["36,413"].column_index == 2 and spans["35,885"].column_index == 3
