"""Evidence you can see: self-contained HTML reports and page images with the evidence boxed.

    from pipeline.report._report import write_extraction_report, write_answer_report
    write_extraction_report(results, "report.html")        # ExtractionResults or `ragline extract` records
    write_answer_report(answer, index, "answer.html")       # an Answer, and where its sources are

Each report is one HTML file (CSS inline, page images as data URIs): every document's pages with each
field's (or citation's) box highlighted and its value beside it; values the document does not support and
citations that could not be verified are drawn dashed in red and marked in the table. Sources without pages
(HTML, Markdown, Office) show the quotes instead.

For notebooks, :func:`render_page` draws :class:`Highlight` boxes on a page and returns PNG bytes;
:func:`element_highlights`, :func:`chunk_highlights`, :func:`evidence_highlights` and
:func:`citation_highlights` say where the boxes are. PyMuPDF and Pillow load when a page is rendered.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.document import BBox
from pipeline.report._html import Box, document, esc, highlights_of, marked, sheet
from pipeline.report._pages import (
    Highlight,
    chunk_elements,
    chunk_highlights,
    element_for_quote,
    element_highlights,
    open_paged,
    quote_boxes,
    render_page,
    table_row_boxes,
)
from pipeline.report._parses import Parses

if TYPE_CHECKING:
    from pipeline.extraction import ExtractionRecord, ExtractionResult
    from pipeline.qa import Answer, Citation

Resolver = Callable[[str], Path | None]
SourcesArg = Any  # an Index, a mapping source -> path, an iterable of paths, or None (see _resolver)


@dataclass(frozen=True)
class FieldView:
    """One field of one extraction, as the report shows it."""

    name: str
    value: Any
    supported: bool | None
    page: int | None
    bbox: BBox | None
    quote: str | None
    origin: str | None
    note: str | None
    certainty: str | None = None
    runner_up: str | None = None

    @property
    def state(self) -> str:
        """``ok`` verified for this field, ``unsure`` printed but not tied to the field by its label (chosen by
        the model, or OCR), ``conflict`` taken by two fields, ``bad`` a value without support, ``absent``."""
        if self.value is None and self.supported is not True:
            return "absent"
        if not self.supported:
            return "bad"
        return {"uncertain": "unsure", "conflict": "conflict"}.get(self.certainty or "", "ok")

    @property
    def label(self) -> str:
        suffix = {"bad": "  (unsupported)", "unsure": "  (uncertain)", "conflict": "  (conflict)"}
        return f"{self.name} = {self.value}" + suffix.get(self.state, "")


def _record(result: Any) -> ExtractionRecord:
    """The typed record of ``result``: an ``ExtractionRecord`` as it is, an ``ExtractionResult`` converted, a JSON
    record (a line of ``ragline extract`` output) read back as the extract command reads it."""
    from pipeline.extraction import ExtractionRecord

    if isinstance(result, ExtractionRecord):
        return result
    if isinstance(result, Mapping):
        record = dict(result)
        # A record written by hand (field_views({"data": ..., "evidence": ...})) may leave out what the drawing
        # does not need: the source, the status, a field's kind.
        record.setdefault("source", "")
        record.setdefault("status", "success" if record.get("data") is not None else "failure")
        if isinstance(record.get("evidence"), Mapping):
            record["evidence"] = {name: {"kind": "unknown", **ev} if isinstance(ev, Mapping) else ev
                                  for name, ev in record["evidence"].items()}
        return ExtractionRecord.model_validate(record)
    return ExtractionRecord.from_result(result)


def field_views(result: ExtractionResult[Any] | ExtractionRecord | Mapping[str, Any]) -> list[FieldView]:
    """The fields of an extraction (an ``ExtractionResult``, its record, or the record's JSON), in schema order."""
    record = _record(result)
    data = record.values()
    out: list[FieldView] = []
    for name in list(data) + [n for n in record.evidence if n not in data]:
        ev = record.evidence.get(name)
        if ev is None:
            out.append(FieldView(name=name, value=data.get(name)))
            continue
        out.append(FieldView(
            name=name, value=data.get(name, ev.value), supported=ev.supported, page=ev.page, bbox=ev.bbox,
            quote=ev.quote, origin=ev.quote_origin, note=ev.note, certainty=ev.certainty, runner_up=ev.runner_up,
        ))
    return out


def evidence_highlights(result: ExtractionResult[Any] | Mapping[str, Any]) -> list[Highlight]:
    """A box per field with a location, labelled ``field = value``; unsupported ones dashed red."""
    return highlights_of(_field_boxes(field_views(result), None))


def _field_boxes(fields: list[FieldView], doc: Any) -> list[Box]:
    """Boxes of the fields: their bbox, or where their quote is printed on their page (with ``doc`` open)."""
    boxes: list[Box] = []
    for f in fields:
        if f.state == "absent":
            continue
        rects = [f.bbox] if f.bbox else (quote_boxes(doc, f.page, f.quote) if doc and f.page and f.quote else [])
        for r in rects[:1]:
            tone = f.state if f.state in ("unsure", "conflict") else ""
            boxes.append(Box(f.page or 1, r, f.label, bad=f.state == "bad", key=f.name, tone=tone))
    return boxes


# -- the extraction report ---------------------------------------------------------------------------------


def extraction_report_html(results: Iterable[Any], *, title: str = "ragline extraction evidence",
                           max_pages: int = 20) -> str:
    """The HTML of :func:`write_extraction_report`."""
    records = [_record(r) for r in ([results] if _is_single(results) else results)]
    sections = [_extraction_section(i, rec, max_pages) for i, rec in enumerate(records, start=1)]
    counts = _status_counts(records)
    contents = _contents(records) if len(records) > 1 else ""
    return document(title, f"{len(records)} document(s): {counts}", contents + "\n".join(sections))


_STATES = (("ok", "supported"), ("bad", "unsupported"), ("unsure", "uncertain"), ("conflict", "conflict"),
           ("absent", "absent"))


def _summary(fields: list[FieldView]) -> dict[str, int]:
    counts = {state: 0 for state, _ in _STATES}
    for f in fields:
        counts[f.state if f.state in counts else "ok"] += 1
    return counts


def _contents(records: list[ExtractionRecord]) -> str:
    """A table of contents with each document's status and field counts, and filters: documents with a
    problem (failed, an unsupported, uncertain or conflicting value) only; problem fields only."""
    rows = []
    for n, rec in enumerate(records, start=1):
        source, status = rec.source, rec.status.value
        c = _summary(field_views(rec))
        cells = "".join(f'<td class="num">{c[state] or ""}</td>' for state, _ in _STATES)
        rows.append(f'<tr data-doc="{n}"><td><a href="#doc-{n}">{esc(Path(source).name)}</a></td>'
                    f'<td><span class="badge {esc(status)}">{esc(status)}</span></td>{cells}</tr>')
    heads = "".join(f"<th>{label}</th>" for _, label in _STATES)
    filters = ('<p class="filters"><label><input type="checkbox" id="only-problems"> only documents with a '
               'problem</label> <label><input type="checkbox" id="only-problem-fields"> only unsupported, '
               "uncertain or conflicting fields</label></p>")
    script = ("<script>(function(){var d=document.getElementById('only-problems'),"
              "f=document.getElementById('only-problem-fields');function apply(){"
              "document.querySelectorAll('section.doc').forEach(function(s){"
              "s.style.display=(d.checked&&s.dataset.problems==='0')?'none':'';});"
              "document.querySelectorAll('tr[data-doc]').forEach(function(r){var s=document.getElementById("
              "'doc-'+r.dataset.doc);r.style.display=(d.checked&&s&&s.dataset.problems==='0')?'none':'';});"
              "document.querySelectorAll('table.fields tr[data-field]').forEach(function(r){"
              "r.style.display=(f.checked&&(r.classList.contains('ok')||r.classList.contains('absent')))"
              "?'none':'';});}d.onchange=apply;f.onchange=apply;})();</script>")
    return (f'<nav class="contents"><h2>Documents</h2>{filters}<table class="fields"><tr><th>document</th>'
            f"<th>status</th>{heads}</tr>{''.join(rows)}</table></nav>{script}")


def write_extraction_report(results: Iterable[Any], path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Write one self-contained HTML file showing every field of every result on its page.

    ``results``: ``ExtractionResult`` objects or ``ragline extract`` JSON records (dicts), or one of them.
    Keyword arguments go to :func:`extraction_report_html` (``title``, ``max_pages`` per document)."""
    return _write(Path(path), extraction_report_html(results, **kwargs))


def _is_single(results: Any) -> bool:
    return isinstance(results, Mapping) or hasattr(results, "to_record")


def _status_counts(records: list[ExtractionRecord]) -> str:
    counts: dict[str, int] = {}
    for r in records:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def _extraction_section(n: int, record: ExtractionRecord, max_pages: int) -> str:
    source, status = record.source, record.status.value
    fields = field_views(record)
    c = _summary(fields)
    problems = c["bad"] + c["unsure"] + c["conflict"] + (1 if status == "failure" else 0)
    summary = ", ".join(f"{c[state]} {label}" for state, label in _STATES if c[state])
    head = (f'<section class="doc" id="doc-{n}" data-source="{esc(source)}" data-status="{esc(status)}" '
            f'data-problems="{problems}"><h2>{esc(Path(source).name)}'
            f'<span class="badge {esc(status)}">{esc(status)}</span></h2><p class="path">{esc(source)}</p>'
            f'<p class="note">{esc(summary or "no fields")}</p>')
    errors = "".join(f"<li>{esc(e.error)}: {esc(e.message)}</li>" for e in record.errors)
    body = f'<ul class="errors">{errors}</ul>' if errors else ""
    doc = open_paged(source) if source and Path(source).is_file() else None
    try:
        boxes = _field_boxes(fields, doc)
        located = {b.key for b in boxes}
        body += _fields_table(fields, located)
        body += _pages(doc, boxes, max_pages) if doc is not None else _quotes_only(fields, source)
    finally:
        if doc is not None:
            doc.close()
    return head + body + "</section>"


def _fields_table(fields: list[FieldView], located: set[str]) -> str:
    rows = []
    for i, f in enumerate(fields, start=1):
        if f.state == "absent":
            mark = "&mdash; absent"
        elif f.state == "bad":
            mark = "&#10007; unsupported"
        elif f.state == "unsure":
            mark = "? uncertain (printed, not tied to the field by its label)"
        elif f.state == "conflict":
            mark = "&#9888; conflict (the same value taken by another field)"
        else:
            mark = "&#10003; supported" + ("" if f.name in located else " (no box on a page)")
        where = f"p.{f.page}" if f.page else (f.origin or "")
        note = f'<div class="note">{esc(f.note)}</div>' if f.note else ""
        if f.runner_up and f.state != "absent":
            note += f'<div class="note">runner-up: {esc(f.runner_up)}</div>'

        rows.append(f'<tr class="{f.state}{"" if f.name in located else " nobox"}" data-field="{esc(f.name)}">'
                    f'<td class="num">{i}</td><td>{esc(f.name)}</td><td class="value">{esc(f.value)}</td>'
                    f'<td class="mark">{mark}</td><td>{esc(where)}</td>'
                    f'<td class="quote">{esc(f.quote)}{note}</td></tr>')
    return ('<table class="fields"><tr><th>#</th><th>field</th><th>value</th><th>evidence</th><th>where</th>'
            "<th>quote</th></tr>" + "".join(rows) + "</table>")


def _pages(doc: Any, boxes: list[Box], max_pages: int) -> str:
    """Every page up to ``max_pages``, and every page with a box, each with its boxes."""
    wanted = sorted(set(range(1, min(doc.page_count, max_pages) + 1)) | {b.page for b in boxes})
    sheets = [sheet(doc, p, [b for b in boxes if b.page == p]) for p in wanted if 1 <= p <= doc.page_count]
    more = doc.page_count - len(sheets)
    note = f'<p class="note">{more} more page(s) without evidence not shown.</p>' if more > 0 else ""
    return '<div class="pages">' + "".join(sheets) + "</div>" + note


def _quotes_only(fields: list[FieldView], source: str) -> str:
    why = "source file not found" if not Path(source).is_file() else "no page images for this format"
    quotes = "".join(f'<blockquote data-field="{esc(f.name)}"><b>{esc(f.name)}</b>: '
                     f'{marked(f.quote or "", str(f.value) if f.value is not None else "", f.state == "bad")}'
                     "</blockquote>" for f in fields if f.quote)
    return f'<p class="note">{esc(why)}; the quotes:</p>{quotes}'


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- the answer report -------------------------------------------------------------------------------------


def _resolver(sources: SourcesArg) -> Resolver:
    """Where a citation's source file is: an ``Index`` or a ``Pipeline`` (documents are stored by absolute path), a mapping
    ``source -> path``, paths (matched by full path or file name), or None (the source as a path)."""
    if isinstance(sources, Mapping):
        table = {str(k): Path(v) for k, v in sources.items()}
        return lambda s: table.get(s) or table.get(Path(s).name) or _existing(s)
    indexed = hasattr(sources, "store") or hasattr(getattr(sources, "index", None), "store")  # Index, Pipeline
    if sources is None or indexed or isinstance(sources, (str, os.PathLike)):
        extra = [] if sources is None or indexed else [Path(sources)]
    else:
        extra = [Path(p) for p in sources]
    by_name = {p.name: p for p in extra}
    by_path = {str(p.resolve()): p for p in extra}

    def resolve(source: str) -> Path | None:
        return by_path.get(str(Path(source).resolve())) or by_name.get(Path(source).name) or _existing(source)

    return resolve


def _existing(source: str) -> Path | None:
    return Path(source) if source and Path(source).is_file() else None


def citation_highlights(citation: Citation, source: str | os.PathLike[str] | None = None, *,
                        label: str = "", sources: SourcesArg = None) -> list[Highlight]:
    """Boxes of where ``citation.quote`` is printed in its source (``source`` overrides the path).

    ``sources``: as for :func:`write_answer_report`; an ``Index`` or ``Pipeline`` also gives the stored parse
    (for a quote text search cannot find on the page) instead of parsing the file again."""
    path = Path(source) if source else (_resolver(sources)(citation.source) or Path(citation.source))
    doc = open_paged(path)
    if doc is None:
        return []
    try:
        return highlights_of(_citation_boxes(citation, doc, path, label or citation.quote, Parses(sources)))
    finally:
        doc.close()


def _citation_boxes(c: Citation, doc: Any, path: Path, label: str, parses: Parses, key: str = "") -> list[Box]:
    """The quote on the cited pages; else the element holding it (in the file's parse: the index's, or the
    file parsed once per report; for a table, the rows holding it); else nothing."""
    first = c.page or 1
    if c.bbox is not None and c.row is not None:  # the table row the citation points at (a row-unit hit)
        return [Box(first, c.bbox, label, bad=not c.valid, key=key)]
    pages = list(range(first, (c.page_end or first) + 1))
    for p in pages:
        rects = quote_boxes(doc, p, c.quote)
        if rects:
            more = f"[{key}]" if key else ""  # the quote's other pieces (lines, table cells) get the number
            return [Box(p, r, label if i == 0 else more, bad=not c.valid, key=key) for i, r in enumerate(rects)]
    parsed = parses(c.source, path)
    el = element_for_quote(parsed, c.quote, pages) if parsed is not None else None
    if el is None or el.bbox is None:
        return []
    # A quote from a table: the rows holding it (PDF tables carry row boxes), not the whole table.
    rects = table_row_boxes(el, c.quote) or [el.bbox]
    more = f"[{key}]" if key else ""
    return [Box(el.page, r, label if i == 0 else more, bad=not c.valid, key=key) for i, r in enumerate(rects)]


def answer_report_html(answer: Answer, sources: SourcesArg = None, *,
                       title: str = "ragline answer evidence") -> str:
    """The HTML of :func:`write_answer_report`."""
    resolve = _resolver(sources)
    cited = [(c, True) for c in answer.citations] + [(c, False) for c in answer.rejected_citations]
    numbered = [(i, c, listed) for i, (c, listed) in enumerate(cited, start=1)]
    badges = ('<span class="badge found">answer found</span>' if answer.found
              else '<span class="badge not-found">not found</span>')
    badges += ('<span class="badge grounded">grounded</span>' if answer.grounded
               else '<span class="badge ungrounded">no verified citation</span>')
    head = (f'<section class="answer"><h2>{esc(answer.question)}</h2>{badges}'
            f'<div class="answer-text">{esc(answer.text)}</div>'
            f'<p class="note">{esc(_how_answered(answer))}, {answer.seconds:.1f} s</p>'
            + _citation_table(numbered) + "</section>")
    groups: dict[str, list[tuple[int, Citation]]] = {}
    for i, c, _ in numbered:
        groups.setdefault(c.source, []).append((i, c))
    parses = Parses(sources)  # each file's parse at most once per report (the index's when it has it)
    sections = [_source_section(src, items, resolve(src), parses) for src, items in groups.items()]
    return document(title, f"{len(answer.citations)} verified citation(s), {len(answer.rejected_citations)} rejected",
                    head + "\n".join(sections))


def _how_answered(answer: Answer) -> str:
    if answer.model:
        return f"model {answer.model}"
    return "chosen among the retrieved spans by ragline's rules (no model call)"


def write_answer_report(answer: Answer, sources: SourcesArg, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Write one self-contained HTML file: the question, the answer and every citation highlighted on its page.

    ``sources`` says where the cited files are: the ``Index`` (or ``Pipeline``) the answer came from, a mapping
    ``source -> path``, a list of paths (matched by path or file name), or None (each citation's source is its
    path). A quote not found on its page by text search is boxed on the element holding it: from the index's
    stored parse, else from parsing the file (once per report)."""
    return _write(Path(path), answer_report_html(answer, sources, **kwargs))


def _citation_table(numbered: list[tuple[int, Citation, bool]]) -> str:
    if not numbered:
        return '<p class="note">No citations.</p>'
    rows = []
    for i, c, listed in numbered:
        ok = listed and c.valid
        mark = "&#10003; verified" if ok else "&#10007; not verified (unsupported)"
        pages = f"p.{c.page}" if c.page_end in (None, c.page) else f"p.{c.page}-{c.page_end}"
        rows.append(f'<tr class="{"ok" if ok else "bad"}" data-citation="{i}"><td class="num">[{i}]</td>'
                    f'<td>{esc(Path(c.source).name)}</td><td>{esc(pages if c.page else "")}</td>'
                    f'<td class="mark">{mark}</td><td class="quote">{esc(c.quote)}</td></tr>')
    return ('<table class="fields"><tr><th>#</th><th>source</th><th>page</th><th>check</th><th>quote</th></tr>'
            + "".join(rows) + "</table>")


def _source_section(source: str, items: list[tuple[int, Citation]], path: Path | None, parses: Parses) -> str:
    head = (f'<section class="doc" data-source="{esc(source)}"><h2>{esc(Path(source).name)}</h2>'
            f'<p class="path">{esc(source)}</p>')
    doc = open_paged(path) if path is not None else None
    if doc is None:
        why = "source file not found" if path is None else "no page images for this format"
        quotes = "".join(f'<blockquote data-citation="{i}">[{i}] {marked(c.quote, c.quote, not c.valid)}</blockquote>'
                         for i, c in items)
        return head + f'<p class="note">{esc(why)}; the quotes:</p>{quotes}</section>'
    assert path is not None
    try:
        boxes = [b for i, c in items
                 for b in _citation_boxes(c, doc, path, f"[{i}] {_short(c.quote)}", parses, str(i))]
        pages = sorted({b.page for b in boxes} | {c.page for _, c in items if c.page})
        missing = [i for i, _ in items if str(i) not in {b.key for b in boxes}]
        note = (f'<p class="note">not located on the page: {", ".join(f"[{i}]" for i in missing)}</p>'
                if missing else "")
        sheets = "".join(sheet(doc, p, [b for b in boxes if b.page == p]) for p in pages if 1 <= p <= doc.page_count)
        return head + note + f'<div class="pages">{sheets}</div></section>'
    finally:
        doc.close()


def _short(text: str, n: int = 34) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


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
