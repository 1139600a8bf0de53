"""HTML reports: extraction results and answers drawn on the page images, every value boxed where it is printed.

    from pipeline.report import write_extraction_report
    write_extraction_report(results, "out/invoice.html")
"""

from __future__ import annotations

from pipeline.report._report import (
    FieldView,
    Highlight,
    answer_report_html,
    chunk_elements,
    chunk_highlights,
    citation_highlights,
    element_highlights,
    evidence_highlights,
    extraction_report_html,
    field_views,
    render_page,
    write_answer_report,
    write_extraction_report,
)

__all__ = [
    "FieldView",
    "Highlight",
    "answer_report_html",
    "chunk_elements",
    "chunk_highlights",
    "citation_highlights",
    "element_highlights",
    "evidence_highlights",
    "extraction_report_html",
    "field_views",
    "render_page",
    "write_answer_report",
    "write_extraction_report",
]
