"""Evidence reports (pipeline.report._report): page images with boxes, the extraction and answer HTML reports, checked
structurally and, where a headless Chromium is installed, in a browser screenshot."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from html import escape as html_escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import pipeline
from pipeline.document import BBox
from pipeline.extraction import Invoice
from pipeline.protocols import SearchHit
from pipeline.qa import Answer, Citation
from pipeline.report import (
    Highlight,
    chunk_elements,
    chunk_highlights,
    citation_highlights,
    element_highlights,
    evidence_highlights,
    field_views,
    render_page,
    write_answer_report,
    write_extraction_report,
)

OK_BORDER = (224, 168, 0)  # --ok: a supported value's / verified citation's box
OK_TAG = (255, 213, 79)  # --ok-tag: its label
BAD_BORDER = (208, 0, 0)  # --bad
BAD_TAG = (183, 28, 28)  # --bad-tag


@pytest.fixture(scope="module")
def invoice_result(sample_docs: Path) -> Any:
    """The sample invoice extracted with the default candidate strategy: settled by rules, no model call."""
    result = pipeline.extract(sample_docs / "invoice_acme.pdf", Invoice, client=_NoLLM())
    assert result.status.value == "success" and result.attempts == 0
    return result


class _NoLLM:
    """A client that fails the test if the extraction reaches the model."""

    max_concurrency = 1
    model = "none"

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the sample invoice should need no model call (client.{name})")


class _Tags(HTMLParser):
    """Every start tag with its attributes, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def _tags(html: str, tag: str, cls: str | None = None) -> list[dict[str, str]]:
    p = _Tags()
    p.feed(html)
    return [a for t, a in p.tags if t == tag and (cls is None or cls in a.get("class", "").split())]


def _box(style: str) -> tuple[float, float, float, float]:
    v = {k.strip(): float(x.strip().rstrip("px")) for k, x in (kv.split(":") for kv in style.split(";") if kv)}
    return v["left"], v["top"], v["left"] + v["width"], v["top"] + v["height"]


def _png(data: bytes) -> Any:
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image.convert("RGB")


# -- page images ---------------------------------------------------------------------------------------------


def test_render_page_draws_the_box_where_the_element_is(sample_docs: Path) -> None:
    doc = pipeline.parse(sample_docs / "report_two_column.pdf")
    title = doc.elements[0]
    assert title.bbox is not None
    image = _png(render_page(sample_docs / "report_two_column.pdf", 1, [Highlight(1, title.bbox, "", "#ff00ff")],
                             zoom=1.0))
    plain = _png(render_page(sample_docs / "report_two_column.pdf", 1, zoom=1.0))
    assert image.size == plain.size == (612, 792)
    # The outline lies just outside the box, in the box's colour; the inside is tinted, the rest untouched.
    r, g, b = image.getpixel((int(title.bbox.x0) + 20, int(title.bbox.y0) - 1))
    assert r > 200 and g < 60 and b > 200
    inside = image.getpixel((int((title.bbox.x0 + title.bbox.x1) / 2), int(title.bbox.y1) - 3))
    assert inside != plain.getpixel((int((title.bbox.x0 + title.bbox.x1) / 2), int(title.bbox.y1) - 3))
    assert image.getpixel((5, 5)) == plain.getpixel((5, 5))


def test_render_page_refuses_what_has_no_pages(sample_docs: Path) -> None:
    with pytest.raises(ValueError, match="no page images"):
        render_page(sample_docs / "article.html")
    with pytest.raises(ValueError, match="outside"):
        render_page(sample_docs / "invoice_acme.pdf", 2)


def test_gutter_widens_the_image_for_labels(sample_docs: Path) -> None:
    plain = _png(render_page(sample_docs / "invoice_acme.pdf", 1, zoom=1.0))
    wide = _png(render_page(sample_docs / "invoice_acme.pdf", 1, zoom=1.0, gutter=200))
    assert wide.size == (plain.size[0] + 200, plain.size[1])


def test_element_and_chunk_boxes(sample_docs: Path) -> None:
    doc = pipeline.parse(sample_docs / "report_two_column.pdf")
    on_page_1 = element_highlights(doc, page=1)
    assert on_page_1 and all(h.page == 1 for h in on_page_1)
    assert len(on_page_1) == sum(1 for e in doc.body if e.page == 1 and e.bbox)
    chunks = [c for c in pipeline.chunk(doc) if c.metadata.get("unit") != "table_row"]
    for c in chunks:
        elements = chunk_elements(doc, c)
        assert elements, f"chunk {c.index} maps to no element"
        assert all(c.page_start <= e.page <= c.page_end for e in elements)
    boxes = chunk_highlights(doc, chunks)
    # an element is filled once (with its first chunk); a chunk of elements drawn before is outlined over them
    filled = [h for h in boxes if h.fill]
    assert len({(h.page, h.bbox) for h in filled}) == len(filled)
    assert all(not h.fill and h.dashed for h in boxes if h not in filled)
    assert sorted(h.label for h in boxes if h.label) == sorted(f"c{c.index}" for c in chunks)


# -- the extraction report -----------------------------------------------------------------------------------


def test_extraction_report_structure(invoice_result: Any, tmp_path: Path) -> None:
    path = write_extraction_report([invoice_result], tmp_path / "out" / "report.html")
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    # self-contained: the only image is inline, nothing is fetched
    imgs = _tags(html, "img")
    assert len(imgs) == 1 and imgs[0]["src"].startswith("data:image/png;base64,")
    assert "http://" not in html and "https://" not in html and "<link" not in html and "<script" not in html
    boxes = _tags(html, "div", "hl")
    assert sorted(b["data-key"] for b in boxes) == sorted(invoice_result.evidence)
    assert all("ok" in b["class"] for b in boxes)
    figure = _tags(html, "figure", "sheet")[0]
    width, height = (float(x) for x in _box("left:0;top:0;" + figure["style"])[2:])
    tags = {t["data-key"]: t for t in _tags(html, "div", "tag")}
    for b in boxes:
        x0, y0, x1, y1 = _box(b["style"])
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        ev = invoice_result.evidence[b["data-key"]]
        assert abs(x0 - (ev.bbox.x0 * 1.25 - 2)) < 0.2 and abs(y1 - (ev.bbox.y1 * 1.25 + 2)) < 0.2  # 1.25 px/pt
        tx0, ty0, tx1, ty1 = _box(tags[b["data-key"]]["style"])
        assert tx1 <= width and ty1 <= height  # the tag stays inside the figure (page + gutter)
        assert tx0 <= x1 + 2 and tx1 >= x0 - 2 or ty0 <= y1 + 2 and ty1 >= y0 - 2  # beside or above/below it
    assert "amount = 1234.56</div>" in html and "invoice_number = INV-2026-0042</div>" in html
    rows = _tags(html, "tr")
    assert sum("ok" in r.get("class", "") for r in rows) == len(invoice_result.evidence)


def test_unsupported_values_are_marked(invoice_result: Any, tmp_path: Path) -> None:
    record = json.loads(json.dumps(invoice_result.to_record()))  # as `ragline extract` writes it
    record["data"]["amount_tax"] = 99.0
    record["evidence"]["amount_tax"]["supported"] = False
    record["data"]["currency"] = None
    record["evidence"]["currency"] = {"field": "currency", "value": None, "supported": None}
    html = write_extraction_report(record, tmp_path / "r.html").read_text(encoding="utf-8")
    bad = _tags(html, "div", "bad")
    assert {b["data-key"] for b in bad} == {"amount_tax"}  # the box and its tag
    assert "amount_tax = 99.0  (unsupported)" in html
    row = next(r for r in _tags(html, "tr") if r.get("data-field") == "amount_tax")
    assert row["class"].startswith("bad")
    assert "&#10007; unsupported" in html
    absent = next(r for r in _tags(html, "tr") if r.get("data-field") == "currency")
    assert absent["class"].startswith("absent")
    assert "currency" not in {b["data-key"] for b in _tags(html, "div", "hl")}


def test_records_and_results_give_the_same_fields(invoice_result: Any) -> None:
    as_record = json.loads(json.dumps(invoice_result.to_record()))
    assert field_views(as_record) == field_views(invoice_result)
    assert evidence_highlights(as_record) == evidence_highlights(invoice_result)
    assert {h.label for h in evidence_highlights(invoice_result)} >= {"amount = 1234.56", "date = 2026-03-14"}


def test_sources_without_pages_show_the_quotes(sample_docs: Path, tmp_path: Path) -> None:
    record = {"source": str(sample_docs / "article.html"), "status": "success",
              "data": {"bikes": 40}, "evidence": {"bikes": {"value": 40, "supported": True,
                                                            "quote": "Forty electric cargo bikes"}}}
    missing = {"source": str(tmp_path / "gone.pdf"), "status": "failure", "data": None, "evidence": {},
               "errors": [{"error": "InputNotFoundError", "reason": "not_found", "message": "no such file"}]}
    html = write_extraction_report([record, missing], tmp_path / "r.html").read_text(encoding="utf-8")
    assert not _tags(html, "img")
    assert "no page images for this format" in html and "Forty electric cargo bikes" in html
    assert "source file not found" in html and "InputNotFoundError: no such file" in html
    assert "2 document(s): success 1, failure 1" in html


# -- the answer report ---------------------------------------------------------------------------------------


def _answer(report_pdf: Path) -> Answer:
    good = Citation(source=str(report_pdf), page=2, page_end=2, chunk_id="c1", valid=True, score=1.0,
                    quote="The park consumed 18.4 GWh of electricity in the measurement year")
    bad = Citation(source=str(report_pdf), page=1, page_end=1, chunk_id="c2", valid=False,
                   quote="Energy Use in Cold-Chain and Ambient Warehouses")
    return Answer(question="How much electricity did the park use?", text="18.4 GWh", found=True, grounded=True,
                  citations=[good], rejected_citations=[bad], model="test", seconds=1.0)


def test_citation_highlights_find_the_quote(sample_docs: Path) -> None:
    answer = _answer(sample_docs / "report_two_column.pdf")
    boxes = citation_highlights(answer.citations[0], label="[1]")
    assert boxes and all(h.page == 2 for h in boxes) and boxes[0].label == "[1]"
    doc = pipeline.parse(sample_docs / "report_two_column.pdf")
    para = next(e for e in doc.elements if e.text.startswith("The park consumed 18.4 GWh"))
    assert para.bbox is not None
    assert all(para.bbox.x0 - 1 <= h.bbox.x0 and h.bbox.x1 <= para.bbox.x1 + 1 and
               para.bbox.y0 - 1 <= h.bbox.y0 and h.bbox.y1 <= para.bbox.y1 + 1 for h in boxes)


def test_a_table_citation_is_drawn_on_its_rows(sample_docs: Path) -> None:
    """A quote from a table chunk (markdown cells, so not printed as such on the page) is drawn on the rows
    holding it, from the parser's row boxes, not over the whole table."""
    pdf = sample_docs / "report_two_column.pdf"
    table = next(e for e in pipeline.parse(pdf).elements if e.table is not None and e.page == 2)
    assert table.table is not None and table.table.row_boxes is not None and table.bbox is not None
    rows = [BBox.of(b) for b in table.table.row_boxes]

    def boxes(quote: str) -> list[BBox]:
        cited = Citation(source=str(pdf), page=2, page_end=2, chunk_id="t", valid=True, quote=quote)
        return [h.bbox for h in citation_highlights(cited, label="[1]")]

    assert boxes("| W-07 | Chilled (+2 °C) | 15,800 | 2,370 | 150 |") == [rows[3]]
    assert boxes("| W-08 | Chilled (+4 °C) | 12,400 | 1,674 | 135 |\n| W-11 | Frozen (-24 °C) | 11,600 |") == rows[4:6]
    assert boxes("| Site | Type | Floor area") == [rows[0]]
    assert rows[3] != table.bbox


def test_a_hit_reached_through_table_rows_is_drawn_as_those_rows(sample_docs: Path) -> None:
    doc = pipeline.parse(sample_docs / "report_two_column.pdf")
    table = next(e for e in doc.elements if e.table is not None and e.page == 2)
    assert table.table is not None and table.table.row_boxes is not None and table.bbox is not None
    chunk = next(c for c in pipeline.chunk(doc) if "table" in c.element_kinds)
    hit = SearchHit(chunk_id=chunk.id, doc_id=doc.id, source=doc.source, page_start=chunk.page_start,
                    page_end=chunk.page_end, heading_path=chunk.heading_path, score=1.0, text=chunk.text,
                    metadata={"chunk_index": chunk.index})
    assert table.bbox in [h.bbox for h in chunk_highlights(doc, [hit])]  # a plain hit: its elements
    row = BBox.of(table.table.row_boxes[3])
    marked = hit.model_copy(update={"metadata": {**hit.metadata, "via_row": True, "rows": [
        {"row": 3, "text": "W-07 ...", "page": 2, "bbox": row.model_dump(), "score": 1.0}]}})
    drawn = chunk_highlights(doc, [marked])
    assert [(h.page, h.bbox, h.label) for h in drawn] == [(2, row, f"c{chunk.index}")]
    assert chunk_highlights(doc, [marked], page=1) == []


def test_answer_report_structure(sample_docs: Path, tmp_path: Path) -> None:
    report_pdf = sample_docs / "report_two_column.pdf"
    html = write_answer_report(_answer(report_pdf), [report_pdf], tmp_path / "a.html").read_text(encoding="utf-8")
    assert "How much electricity did the park use?" in html and "18.4 GWh" in html
    assert {f["data-page"] for f in _tags(html, "figure", "sheet")} == {"1", "2"}
    ok = [b for b in _tags(html, "div", "hl") if "ok" in b["class"].split()]
    bad = [b for b in _tags(html, "div", "hl") if "bad" in b["class"].split()]
    assert ok and {b["data-key"] for b in ok} == {"1"} and {b["data-page"] for b in ok} == {"2"}
    assert bad and {b["data-key"] for b in bad} == {"2"} and {b["data-page"] for b in bad} == {"1"}
    assert "not verified (unsupported)" in html and "&#10003; verified" in html


def test_answer_report_sources(sample_docs: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copy(sample_docs / "report_two_column.pdf", moved / "report_two_column.pdf")
    answer = _answer(Path("/nowhere/report_two_column.pdf"))
    assert "source file not found" in write_answer_report(answer, None, tmp_path / "a.html").read_text()
    by_name = write_answer_report(answer, [moved / "report_two_column.pdf"], tmp_path / "b.html").read_text()
    by_map = write_answer_report(answer, {"/nowhere/report_two_column.pdf": moved / "report_two_column.pdf"},
                                 tmp_path / "c.html").read_text()
    for html in (by_name, by_map):
        assert len(_tags(html, "figure", "sheet")) == 2
    html_answer = Answer(question="q?", text="40 bikes", found=True, grounded=True, citations=[
        Citation(source=str(sample_docs / "article.html"), page=1, chunk_id="x", valid=True,
                 quote="Forty electric cargo bikes")])
    html = write_answer_report(html_answer, None, tmp_path / "d.html").read_text()
    assert "<mark>Forty electric cargo bikes</mark>" in html and not _tags(html, "img")


_TABLE_QUOTES = ("| W-07 | Chilled (+2 °C) | 15,800 | 2,370 | 150 |",
                 "| W-08 | Chilled (+4 °C) | 12,400 | 1,674 | 135 |\n| W-11 | Frozen (-24 °C) | 11,600 |",
                 "| Site | Type | Floor area")


def _table_answer(pdf: Path) -> Answer:
    """Several citations of one file whose quotes text search cannot find on the page (markdown cells):
    each is boxed on the rows of the parsed table."""
    cited = [Citation(source=str(pdf), page=2, page_end=2, chunk_id=f"t{i}", valid=True, quote=q)
             for i, q in enumerate(_TABLE_QUOTES)]
    return _answer(pdf).model_copy(update={"citations": [*_answer(pdf).citations, *cited]})


def _drawn(html: str) -> list[tuple[str, str, str]]:
    return [(b["data-key"], b["data-page"], b["style"]) for b in _tags(html, "div", "hl")]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call of ``pipeline.parsing.parse`` (what the report parses a cited file with), by path."""
    import pipeline.parsing

    calls: list[str] = []
    real = pipeline.parsing.parse

    def spy(source: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(str(source))
        return real(source, *args, **kwargs)

    monkeypatch.setattr(pipeline.parsing, "parse", spy)
    return calls


def test_a_file_cited_several_times_is_parsed_once(sample_docs: Path, tmp_path: Path, parses: list[str]) -> None:
    pdf = sample_docs / "report_two_column.pdf"
    html = write_answer_report(_table_answer(pdf), [pdf], tmp_path / "a.html").read_text(encoding="utf-8")
    assert parses == [str(pdf)]  # four citations need the parse, one parse
    drawn = _drawn(html)
    assert {k for k, _, _ in drawn} == {"1", "2", "3", "4", "5"} and "not located on the page" not in html


def test_an_index_gives_the_stored_parse(sample_docs: Path, tmp_path: Path, parses: list[str]) -> None:
    """With the index (or the pipeline) as sources, the report boxes the same rows from the parse the index
    stored and parses nothing."""
    from pipeline.compose import Pipeline
    from pipeline.testing import HashingEmbedder

    pdf = sample_docs / "report_two_column.pdf"
    answer = _table_answer(pdf)
    before = _drawn(write_answer_report(answer, [pdf], tmp_path / "paths.html").read_text(encoding="utf-8"))
    assert parses == [str(pdf)] and {k for k, _, _ in before} == {"1", "2", "3", "4", "5"}
    with Pipeline.open(tmp_path / "ix", embedder=HashingEmbedder()) as pipe:
        assert pipe.add([pdf]).failed == 0
        parses.clear()
        for sources in (pipe.index, pipe):
            html = write_answer_report(answer, sources, tmp_path / "ix.html").read_text(encoding="utf-8")
            assert _drawn(html) == before
        stored = citation_highlights(answer.citations[1], label="[2]", sources=pipe.index)
        assert parses == []
    assert stored and stored == citation_highlights(answer.citations[1], label="[2]")


# -- in a browser ----------------------------------------------------------------------------------------------


def _chromium() -> str | None:
    for name in (os.environ.get("RAGLINE_CHROMIUM"), "chromium-headless-shell", "chromium", "chromium-browser",
                 "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def screenshot(html_path: Path, png_path: Path, size: tuple[int, int] = (1100, 1800)) -> Any:
    """A screenshot of ``html_path`` taken by headless Chromium (skips the test when none is installed).
    With ``RAGLINE_REPORT_ARTIFACTS=DIR`` the page and its screenshot are also kept in DIR."""
    browser = _chromium()
    if browser is None:
        pytest.skip("no headless Chromium (apt-get install chromium-headless-shell)")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
           "--disable-background-networking", f"--user-data-dir={png_path.parent / 'chromium-profile'}",
           f"--window-size={size[0]},{size[1]}", f"--screenshot={png_path}", html_path.resolve().as_uri()]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    keep = os.environ.get("RAGLINE_REPORT_ARTIFACTS")
    if keep and Path(keep).resolve() != png_path.parent.resolve():
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(html_path, Path(keep) / html_path.name)
        shutil.copy(png_path, Path(keep) / png_path.name)
    return _png(png_path.read_bytes())


def color_regions(image: Any, color: tuple[int, int, int], tol: int = 14, min_pixels: int = 30) -> list[tuple[int, ...]]:
    """Bounding boxes (x0, y0, x1, y1, pixels) of the connected regions of ``color`` in ``image``."""
    import numpy as np

    a = np.asarray(image).astype(int)
    mask = (np.abs(a - np.array(color)) <= tol).all(axis=2)
    seen = np.zeros_like(mask)
    out = []
    for y, x in zip(*np.nonzero(mask)):
        if seen[y, x]:
            continue
        stack, pixels = [(y, x)], []
        seen[y, x] = True
        while stack:
            cy, cx = stack.pop()
            pixels.append((cy, cx))
            for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        if len(pixels) >= min_pixels:
            ys, xs = [p[0] for p in pixels], [p[1] for p in pixels]
            out.append((min(xs), min(ys), max(xs), max(ys), len(pixels)))
    return out


def _dark_pixels(image: Any, box: tuple[int, ...]) -> int:
    import numpy as np

    a = np.asarray(image.crop((box[0] + 3, box[1] + 3, box[2] - 2, box[3] - 2))).astype(int)
    return int((a.sum(axis=2) < 450).sum())  # the highlight's fill over white sums to about 670


def check_highlights(image: Any, min_boxes: int) -> list[tuple[int, ...]]:
    """The screenshot shows at least ``min_boxes`` highlight boxes, each over printed text (dark pixels inside),
    each with a label strip next to it."""
    boxes = [b for b in color_regions(image, OK_BORDER) if b[2] - b[0] > 15 and b[3] - b[1] > 10]
    tags = color_regions(image, OK_TAG, min_pixels=100)
    assert len(boxes) >= min_boxes, (boxes, tags)
    for b in boxes:
        assert _dark_pixels(image, b) > 20, f"no text under the highlight {b}"
        assert any(t[0] <= b[2] + 30 and t[2] >= b[0] - 30 and t[1] <= b[3] + 30 and t[3] >= b[1] - 30
                   for t in tags), f"no label beside the highlight {b}"
    return boxes


def test_extraction_report_in_a_browser(invoice_result: Any, tmp_path: Path) -> None:
    record = json.loads(json.dumps(invoice_result.to_record()))
    record["data"]["amount_tax"] = 99.0
    record["evidence"]["amount_tax"]["supported"] = False
    html = write_extraction_report([invoice_result, record], tmp_path / "invoice_report.html")
    image = screenshot(html, tmp_path / "invoice_report.png", size=(1100, 3300))
    # invoice number and date (touching: one region), subtotal, total (+ currency, the same box) highlighted;
    # the tax dashed red
    check_highlights(image, min_boxes=3)
    assert sum(r[4] for r in color_regions(image, BAD_BORDER, min_pixels=3)) > 60
    assert color_regions(image, BAD_TAG, min_pixels=100)


def test_answer_report_in_a_browser(sample_docs: Path, tmp_path: Path) -> None:
    report_pdf = sample_docs / "report_two_column.pdf"
    html = write_answer_report(_answer(report_pdf), [report_pdf], tmp_path / "sample_answer.html")
    image = screenshot(html, tmp_path / "sample_answer.png", size=(1100, 2400))
    check_highlights(image, min_boxes=1)
    assert sum(r[4] for r in color_regions(image, BAD_BORDER, min_pixels=3)) > 60


@pytest.mark.slow
@pytest.mark.eval
def test_docugami_answer_report(eval_dir: Path, tmp_path: Path, ragline_cache_dir: Path) -> None:
    """One docugami 10-Q question asked with the embedded models, its answer report checked in a browser."""
    filing = eval_dir / "docugami_sec10q/sec-10-q/data/v1/docs/2023 Q3 AAPL.pdf"
    embedder = pipeline.make_embedder("auto", cache_dir=ragline_cache_dir)
    with pipeline.Pipeline.open(tmp_path / "ix", embedder=embedder) as index:
        assert index.add([filing]).failed == 0
        with pipeline.open_llm(pipeline.LLMSettings.from_env()) as client:
            answer = pipeline.ask("What was Apple's total net sales for the three months ended July 1, 2023?",
                                  index, client=client, source_glob="*2023 Q3 AAPL*")
        path = write_answer_report(answer, index, tmp_path / "docugami_answer.html")
    html = path.read_text(encoding="utf-8")
    assert html_escape(answer.question) in html and "data:image/png;base64," in html
    located = [b for b in _tags(html, "div", "hl") if "ok" in b["class"].split()]
    assert answer.grounded, answer.model_dump_json(indent=2)
    assert located, "no verified citation was located on its page"
    image = screenshot(path, tmp_path / "docugami_answer.png", size=(1100, 2600))
    check_highlights(image, min_boxes=1)



def test_a_report_of_several_documents_has_contents_and_filters(invoice_result: Any, tmp_path: Path) -> None:
    good = json.loads(json.dumps(invoice_result.to_record()))
    shaky = json.loads(json.dumps(invoice_result.to_record()))
    shaky["source"] = good["source"].replace("invoice_acme", "invoice_copy")
    shaky["status"] = "partial"
    shaky["evidence"]["amount_tax"]["supported"] = False
    html = write_extraction_report([good, shaky], tmp_path / "two.html").read_text(encoding="utf-8")
    links = [a["href"] for a in _tags(html, "a")]
    assert links == ["#doc-1", "#doc-2"]
    sections = _tags(html, "section", "doc")
    assert [s["data-problems"] for s in sections] == ["0", "1"]
    assert 'id="only-problems"' in html and 'id="only-problem-fields"' in html
    assert "5 supported, 1 unsupported" in html  # the per-document summary
    assert "http://" not in html and "https://" not in html  # still self-contained


def test_an_answer_without_a_model_says_how_it_was_chosen(sample_docs: Path, tmp_path: Path) -> None:
    report_pdf = sample_docs / "report_two_column.pdf"
    answer = _answer(report_pdf).model_copy(update={"model": ""})
    html = write_answer_report(answer, [report_pdf], tmp_path / "a.html").read_text(encoding="utf-8")
    assert "model ?" not in html and "no model call" in html
