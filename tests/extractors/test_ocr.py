"""OCR (rapidocr, offline): a mixed text-and-scan PDF is read on every page, images are read, and without OCR
the pages are reported, never dropped. Real OCR costs seconds a page here, so the scan is read once."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import make_samples
import pymupdf
import pytest

import pipeline
from pipeline import exceptions as ex
from pipeline.document import ParseStatus
from pipeline.parsing import OcrOptions, ParseOptions, parse_many

NO_OCR = ParseOptions(ocr=OcrOptions(mode="never"))


def _words(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.lower()))


def _recall(reference: str, found: str) -> float:
    ref, hyp = _words(reference), _words(found)
    return sum((ref & hyp).values()) / max(1, sum(ref.values()))


@pytest.fixture(scope="module")
def mixed_result(bad_inputs: dict[str, Path]) -> pipeline.ParseResult:
    [result] = list(parse_many([bad_inputs["mixed_scan.pdf"]]))
    return result


@pytest.mark.slow
def test_mixed_scan_pdf_every_page_read(mixed_result: pipeline.ParseResult) -> None:
    assert mixed_result.status is ParseStatus.SUCCESS and not mixed_result.errors
    doc = mixed_result.document
    assert doc is not None and doc.pages == 2 and doc.ocr_pages == [2] and not doc.unreadable_pages
    page2 = [e for e in doc.elements if e.page == 2]
    assert page2 and all(e.metadata.get("ocr") for e in page2)
    assert not any(e.metadata.get("ocr") for e in doc.elements if e.page == 1)


@pytest.mark.slow
def test_ocr_word_recall_against_the_text_layer(mixed_result: pipeline.ParseResult) -> None:
    reference = pymupdf.open("pdf", make_samples.report_bytes())[1].get_text()
    doc = mixed_result.document
    assert doc is not None
    recall = _recall(reference, " ".join(e.text for e in doc.elements if e.page == 2))
    assert recall >= 0.90, recall


def test_mixed_scan_without_ocr_is_partial(bad_inputs: dict[str, Path]) -> None:
    [result] = list(parse_many([bad_inputs["mixed_scan.pdf"]], NO_OCR))
    assert result.status is ParseStatus.PARTIAL
    assert result.document is not None and result.document.unreadable_pages == [2] and result.document.pages == 2
    [issue] = result.errors
    assert (issue.reason, issue.page, issue.source) == ("needs_ocr", 2, str(bad_inputs["mixed_scan.pdf"]))
    assert "--ocr never" in issue.message


def test_scanned_pdf_without_ocr_needs_ocr(bad_inputs: dict[str, Path]) -> None:
    with pytest.raises(ex.NeedsOCRError, match="needs OCR"):
        pipeline.parse(bad_inputs["scanned.pdf"], NO_OCR)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "tiff"])
def test_images_read_by_ocr(fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"card.{'jpg' if fmt == 'jpeg' else fmt}"
    path.write_bytes(make_samples.text_image_bytes(fmt))
    doc = pipeline.parse(path)
    assert doc.format == "image" and doc.pages == 1 and doc.ocr_pages == [1] and not doc.is_partial
    assert _recall(" ".join(make_samples.IMAGE_TEXT), doc.text) >= 0.9
    assert doc.elements[0].text == make_samples.IMAGE_TEXT[0]  # the larger first line: a heading
    assert doc.elements[0].is_heading and doc.elements[1].heading_path == [make_samples.IMAGE_TEXT[0]]
    assert doc.elements[0].bbox is not None


def test_image_with_ocr_off_needs_ocr(tmp_path: Path) -> None:
    path = tmp_path / "card.png"
    path.write_bytes(make_samples.text_image_bytes("png"))
    with pytest.raises(ex.NeedsOCRError, match="--ocr never") as info:
        pipeline.parse(path, NO_OCR)
    assert info.value.source == str(path)


def test_damaged_image_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(make_samples.text_image_bytes("png")[:200])
    with pytest.raises(ex.CorruptDocumentError, match="cannot decode image"):
        pipeline.parse(path)
