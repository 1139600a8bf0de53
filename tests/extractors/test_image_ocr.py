"""Image files read as well as the PDF route reads the same page: the image backend brings every frame to an
upright 8-bit RGB page on a light ground (EXIF orientation, transparent grounds, wide greyscale) and reads a
tilted page again turned straight. The fast tests check that preparation on images made here; the slow ones OCR a
page of ``report_two_column.pdf`` written as image files in the forms that used to read badly."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import make_samples
import numpy as np
import pymupdf
import pytest
from PIL import Image

import pipeline
from extractors import image as image_backend
from extractors._ocr import OcrLine


def _words(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.lower()))


def _recall(reference: str, found: str) -> float:
    ref, hyp = _words(reference), _words(found)
    return sum((ref & hyp).values()) / max(1, sum(ref.values()))


def _page_png(dpi: int, *, alpha: bool = False, gray: bool = False) -> tuple[Image.Image, str]:
    """Page 1 of the two-column report rendered at ``dpi`` (with a transparent ground when ``alpha``), and its
    text layer."""
    with pymupdf.open("pdf", make_samples.report_bytes()) as doc:
        page = doc[0]
        cs = pymupdf.csGRAY if gray else pymupdf.csRGB
        pix = page.get_pixmap(dpi=dpi, colorspace=cs, alpha=alpha)
        mode = ("LA" if alpha else "L") if gray else ("RGBA" if alpha else "RGB")
        return Image.frombytes(mode, (pix.w, pix.h), pix.samples), page.get_text()


def _frame(img: Image.Image, fmt: str = "PNG", **save: object) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **save)
    frames, _ = image_backend._frames(buf.getvalue(), "test")
    return frames[0]


# ---- preparation, no OCR -------------------------------------------------------------------------------------


def test_transparent_ground_is_laid_on_white() -> None:
    """Dropping the alpha of a page drawn on nothing left black text on black: the page read as empty."""
    img = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    img.paste((0, 0, 0, 255), (5, 5, 15, 15))
    arr = np.asarray(_frame(img))
    assert arr.shape == (20, 40, 3) and arr.dtype == np.uint8
    assert (arr[0, 0] == 255).all() and (arr[10, 10] == 0).all()


def test_light_text_on_a_transparent_ground_is_laid_on_black() -> None:
    img = Image.new("LA", (40, 20), (0, 0))
    img.paste((255, 255), (5, 5, 15, 15))
    arr = np.asarray(_frame(img))
    assert (arr[0, 0] == 0).all() and (arr[10, 10] == 255).all()


def test_dark_text_beside_a_light_picture_stays_on_white() -> None:
    """Most of what a page draws can be light (pictures, tinted boxes) while its text is dark."""
    img = Image.new("RGBA", (100, 50), (0, 0, 0, 0))
    img.paste((220, 220, 200, 255), (0, 0, 80, 50))  # a light picture, most of the drawn pixels
    img.paste((0, 0, 0, 255), (85, 5, 95, 15))  # a dark glyph
    arr = np.asarray(_frame(img))
    assert (arr[5, 97] == 255).all() and (arr[10, 90] == 0).all()


def test_palette_with_a_transparent_colour() -> None:
    img = Image.new("P", (40, 20), 0)
    img.putpalette([0, 0, 0, 20, 20, 20] + [0] * 762)
    img.paste(1, (5, 5, 15, 15))
    arr = np.asarray(_frame(img, transparency=0))
    assert (arr[0, 0] == 255).all() and (arr[10, 10] == 20).all()


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    """Pillow's own I;16 -> RGB clips every value above 255 to white: mid-grey text on a white page vanished."""
    arr16 = np.full((20, 40), 65535, dtype=np.uint16)
    arr16[5:15, 5:15] = 65535 // 4
    arr = np.asarray(_frame(Image.fromarray(arr16)))
    assert (arr[0, 0] == 255).all() and 55 <= arr[10, 10, 0] <= 72


@pytest.mark.parametrize(("orientation", "turn"), [(6, 90), (8, -90), (3, 180)])
def test_exif_orientation_is_applied(orientation: int, turn: int) -> None:
    """Phones and scanners store the pixels turned and say so in EXIF; the page must be read upright."""
    upright = Image.new("RGB", (60, 20), "white")
    upright.paste((0, 0, 0), (0, 0, 10, 10))  # a mark at the top left
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = upright.rotate(turn, expand=True)
    arr = np.asarray(_frame(stored, "JPEG", quality=95, exif=exif))
    assert arr.shape[:2] == (20, 60)
    assert arr[:10, :10].mean() < 60 and arr[10:, 10:].mean() > 200


def _line(angle: float, *, x0: float = 100, width: float = 800, height: float = 30) -> OcrLine:
    rise = width * abs(np.tan(np.radians(angle)))
    return OcrLine("some words of a line", x0, 100, x0 + width, 100 + height + rise, 0.9, angle)


def test_skew_from_the_long_lines() -> None:
    lines = [_line(-3.0), _line(-2.8), _line(-3.1), _line(0.0, width=60)]  # a short word does not count
    assert image_backend._skew(lines) == pytest.approx(-3.0)
    assert image_backend._skew([_line(0.1), _line(-0.2), _line(0.0)]) == 0.0  # upright
    assert image_backend._skew([_line(-3.0), _line(2.5), _line(0.5)]) == 0.0  # no agreement
    assert image_backend._skew([_line(-3.0)]) == 0.0  # too few lines to tell


# ---- real OCR ---------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_transparent_page_png_reads_like_the_pdf(tmp_path: Path) -> None:
    """A page exported with a transparent ground (RGBA PNG, 100 dpi): word recall 0.0 before, as the PDF route."""
    img, reference = _page_png(100, alpha=True)
    path = tmp_path / "page.png"
    img.save(path, dpi=(100, 100))
    doc = pipeline.parse(path)
    assert _recall(reference, doc.text) >= 0.95


@pytest.mark.slow
def test_sideways_tilted_greyscale_photo_reads_like_the_pdf(tmp_path: Path) -> None:
    """A greyscale JPEG at 100 dpi, turned 3 degrees, stored sideways with EXIF orientation 6 (as a phone
    writes it): word recall about 0.1 before (read sideways), and its lines now come back level."""
    img, reference = _page_png(100, gray=True)
    tilted = img.rotate(3, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "photo.jpg"
    tilted.rotate(90, expand=True).save(path, quality=80, dpi=(100, 100), exif=exif)
    doc = pipeline.parse(path)
    assert _recall(reference, doc.text) >= 0.95
    assert doc.elements and all(e.bbox is not None and e.bbox.x1 > e.bbox.x0 for e in doc.elements)
    # read straight: a paragraph's lines join one block, as on an upright page (tilted, lines overlap oddly)
    assert max(len(e.text) for e in doc.elements) > 200
