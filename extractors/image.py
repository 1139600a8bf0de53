"""Image backend (PNG, JPEG, TIFF, multi-page TIFF): every frame is a page read by OCR (``_ocr``).

A single line clearly taller than the median line becomes a heading. Pillow decodes the image; its decompression-bomb guard and a frame cap keep hostile files small, and very large
frames are scaled down before recognition. Boxes are given in points at the image's resolution (72 dpi when it
declares none).
"""

from __future__ import annotations

import io
from typing import Any

from extractors._ocr import OcrUnavailable, group_paragraphs, ocr_lines
from extractors._structure import assign_heading_paths
from pipeline.document import BBox, Document, Element, ElementKind
from pipeline.exceptions import CorruptDocumentError, DocumentTooLargeError, NeedsOCRError

MAX_FRAMES = 200
MAX_SIDE = 4000  # pixels; larger frames are scaled down for OCR


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
                lines = ocr_lines(frame)
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
    """Every frame as an RGB numpy array (scaled down past MAX_SIDE), and the resolution in dpi."""
    import numpy as np
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data))
        n_frames = getattr(img, "n_frames", 1)
        if n_frames > MAX_FRAMES:
            raise DocumentTooLargeError(f"image has {n_frames} frames, over the limit of {MAX_FRAMES}",
                                        source=source, stage="parse")
        dpi = float((img.info.get("dpi") or (72, 72))[0] or 72)
        frames = []
        for frame in ImageSequence.Iterator(img):
            rgb = frame.convert("RGB")
            if max(rgb.size) > MAX_SIDE:
                factor = MAX_SIDE / max(rgb.size)
                rgb = rgb.resize((int(rgb.width * factor), int(rgb.height * factor)))
                dpi *= factor
            frames.append(np.asarray(rgb))
    except Image.DecompressionBombError as exc:
        raise DocumentTooLargeError(f"image too large to decode safely: {exc}", source=source, stage="parse") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptDocumentError(f"cannot decode image: {exc}", source=source, stage="parse") from exc
    return frames, dpi
