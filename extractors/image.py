"""Image backend (PNG, JPEG, TIFF, multi-page TIFF): every frame is a page read by OCR (``_ocr``).

A single line clearly taller than the median line becomes a heading. Pillow decodes the image; its decompression-bomb guard and a frame cap keep hostile files small, and very large
frames are scaled down before recognition. Boxes are given in points at the image's resolution (72 dpi when it
declares none).

Before recognition every frame is brought to what the PDF route hands the engine (an upright 8-bit RGB page on
an opaque ground), since image files come in every form:

- turned as its EXIF orientation says (photos from phones and scanners store pixels sideways or upside down and
  a tag saying how to show them);
- any colour mode to 8-bit RGB: a transparent ground (RGBA, LA, palette with transparency) is laid on white, or
  on black when only light text is drawn, instead of dropping the alpha (which leaves the page black: text on black); 16-bit
  and float greyscale are scaled to 8 bits instead of clipped;
- read once; when its long lines all lean the same way (a page fed or photographed crooked), read again
  turned straight, and that reading is kept unless it recognised clearly less text (its boxes are on the
  straightened page, so lines are level and group into paragraphs as on an upright page: the two-column
  report's first page turned 3 degrees gave 29 blocks read as it is, 10 straightened, 11 upright).

Low resolution is not scaled up: the engine already scales every line to its recogniser's height, and a page
scaled up before it read worse (bench/bench_ocr.py's 10-K page at 72 dpi: word recall 0.917 as it is, 0.883,
0.862 and 0.789 scaled 1.5, 2 and 2.5 times); at 100 dpi and above images read as well as the PDF route.
"""

from __future__ import annotations

import io
import math
from typing import Any

from extractors._ocr import OcrLine, OcrUnavailable, group_paragraphs, ocr_lines
from extractors._structure import assign_heading_paths
from pipeline.document import BBox, Document, Element, ElementKind
from pipeline.exceptions import CorruptDocumentError, DocumentTooLargeError, NeedsOCRError

MAX_FRAMES = 200
MAX_SIDE = 4000  # pixels; larger frames are scaled down for OCR
# A frame whose long lines lean the same way by more than this (degrees; up to MAX_SKEW) is read again turned.
MIN_SKEW = 0.4
MAX_SKEW = 20.0
KEEP_STRAIGHT = 0.97  # the straightened reading is kept unless it has less than this share of the first's text


class ImageExtractor:
    """Image -> Document through OCR. Pillow and rapidocr are imported on first ``extract``."""

    format = "image"
    OPTION_NAMES = frozenset({"ocr"})

    def __init__(self, *, ocr: str = "auto") -> None:
        self.ocr = ocr

    def extract(self, data: bytes, *, source: str, content_hash: str) -> Document:
        if self.ocr == "never":
            raise NeedsOCRError("an image file: its text needs OCR, which is off (--ocr never)", source=source, stage="parse")
        frames, dpi = _frames(data, source)
        elements: list[Element] = []
        for number, frame in enumerate(frames, start=1):
            try:
                lines = _read_frame(frame)
            except OcrUnavailable as exc:
                raise NeedsOCRError(f"an image file: its text needs OCR ({exc})", source=source, stage="parse") from exc
            scale = 72.0 / dpi
            heights = sorted(ln.y1 - ln.y0 for ln in lines)
            median = heights[len(heights) // 2] if heights else 0.0
            for group in group_paragraphs(lines):
                text = " ".join(ln.text for ln in group)
                tall = len(group) == 1 and len(lines) > 2 and group[0].y1 - group[0].y0 >= 1.2 * median
                kind = ElementKind.HEADING if tall and len(text) < 120 else ElementKind.PARAGRAPH
                box = BBox(x0=round(min(ln.x0 for ln in group) * scale, 2), y0=round(min(ln.y0 for ln in group) * scale, 2),
                           x1=round(max(ln.x1 for ln in group) * scale, 2), y1=round(max(ln.y1 for ln in group) * scale, 2))
                elements.append(Element(kind=kind, text=text, page=number, bbox=box, metadata={"ocr": True},
                                        level=1 if kind is ElementKind.HEADING else None))
        assign_heading_paths(elements)
        return Document(source=source, content_hash=content_hash, format="image", pages=len(frames),
                        elements=elements, ocr_pages=list(range(1, len(frames) + 1)),
                        metadata={"dpi": dpi})


def _frames(data: bytes, source: str) -> tuple[list[Any], float]:
    """Every frame as an upright 8-bit RGB PIL image (scaled down past MAX_SIDE), and the resolution in dpi."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data))
        n_frames = getattr(img, "n_frames", 1)
        if n_frames > MAX_FRAMES:
            raise DocumentTooLargeError(f"image has {n_frames} frames, over the limit of {MAX_FRAMES}",
                                        source=source, stage="parse")
        dpi = _dpi(img.info.get("dpi"))
        frames = []
        for frame in ImageSequence.Iterator(img):
            rgb = _to_rgb(_upright(frame))
            if max(rgb.size) > MAX_SIDE:
                factor = MAX_SIDE / max(rgb.size)
                rgb = rgb.resize((int(rgb.width * factor), int(rgb.height * factor)), Image.Resampling.LANCZOS)
                dpi *= factor
            frames.append(rgb)
    except Image.DecompressionBombError as exc:
        raise DocumentTooLargeError(f"image too large to decode safely: {exc}", source=source, stage="parse") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptDocumentError(f"cannot decode image: {exc}", source=source, stage="parse") from exc
    return frames, dpi


def _dpi(value: Any) -> float:
    """The horizontal resolution a file declares; 72 when it declares none or nonsense."""
    try:
        dpi = float((value or (72, 72))[0] or 72)
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        return 72.0
    return dpi if 10.0 <= dpi <= 10000.0 else 72.0


def _upright(frame: Any) -> Any:
    """The frame turned as its EXIF orientation tag says (a damaged tag: as stored)."""
    import struct

    from PIL import ImageOps

    try:
        return ImageOps.exif_transpose(frame)
    except (KeyError, IndexError, TypeError, ValueError, SyntaxError, struct.error):  # a malformed EXIF block
        return frame.copy()


def _to_rgb(frame: Any) -> Any:
    """Any Pillow mode as 8-bit RGB: wide greyscale scaled (not clipped), a transparent ground laid on white
    (on black when what is drawn is only light: light text)."""
    import numpy as np
    from PIL import Image

    if frame.mode in ("I", "F") or frame.mode.startswith("I;16"):
        arr = np.asarray(frame).astype(np.float64)
        top = float(arr.max()) if arr.size else 0.0
        if frame.mode == "F" and top <= 1.0:
            arr = arr * 255.0
        elif top > 255.0:
            arr = arr * (255.0 / max(65535.0, top))
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L").convert("RGB")
    if frame.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in frame.info:
        rgba = frame.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"))
        if alpha.min() < 255:
            # white unless nothing dark is drawn at all (light text): a page's pictures and tinted boxes are
            # light too, so the mean of what is drawn says nothing about its text
            drawn = np.asarray(rgba.convert("L"))[alpha > 127]
            light = drawn.size > 0 and float((drawn < 96).mean()) < 0.02 and float((drawn > 160).mean()) > 0.5
            ground = Image.new("RGBA", rgba.size, (0, 0, 0, 255) if light else (255, 255, 255, 255))
            return Image.alpha_composite(ground, rgba).convert("RGB")
        return rgba.convert("RGB")
    return frame.convert("RGB")


def _read_frame(frame: Any) -> list[OcrLine]:
    """The frame's text lines: read as it is, then, when its lines lean, read again turned straight (see the
    module's docstring)."""
    import numpy as np
    from PIL import Image

    lines = ocr_lines(np.asarray(frame))
    angle = _skew(lines)
    if not angle:
        return lines
    ground = frame.getpixel((0, 0))  # fill the corners the turn uncovers with the page's own ground
    straight = frame.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=ground)
    again = ocr_lines(np.asarray(straight))
    # the straight reading groups into paragraphs properly; kept unless it recognised clearly less (a misread tilt)
    return again if _weight(again) >= KEEP_STRAIGHT * _weight(lines) else lines


def _weight(lines: list[OcrLine]) -> float:
    """How much confident text a reading has: characters (spaces apart) weighted by the line's score."""
    return sum(len(ln.text.replace(" ", "")) * ln.score for ln in lines)


def _skew(lines: list[OcrLine]) -> float:
    """The page's tilt in degrees (the median lean of its long lines, the way ``Image.rotate`` takes it to set
    the page straight), or 0.0 when it is upright, unclear or past MAX_SKEW."""
    # a tilted line's box is taller than the line by its width times the slope: long lines by their own height
    angles = sorted(ln.angle for ln in lines
                    if ln.width >= 6 * max(1.0, ln.height - ln.width * abs(math.tan(math.radians(ln.angle)))))
    if len(angles) < 3:
        return 0.0
    median = angles[len(angles) // 2]
    agree = sum(abs(a - median) <= 1.0 for a in angles)
    if agree < 0.6 * len(angles) or not MIN_SKEW <= abs(median) <= MAX_SKEW:
        return 0.0
    return median
