"""OCR with rapidocr (PP-OCR detection + recognition models inside its wheel, on ONNX Runtime; offline).

One engine per process, built on first use (about a second); a page rendered at 150 dpi takes seconds on two
cores. Lines come back in pixel boxes and are turned into paragraphs: lines close below one another and
overlapping horizontally join one block, in reading order (top to bottom, then left to right).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

_ENGINE: Any = None
_LOCK = threading.Lock()


class OcrUnavailable(RuntimeError):
    """rapidocr (or onnxruntime under it) is not installed or cannot start."""


@dataclass
class OcrLine:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    angle: float = 0.0  # lean of the line's top edge in degrees, as ``PIL.Image.rotate`` takes it to set it level

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def _engine() -> Any:
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            try:
                from rapidocr import RapidOCR
            except ImportError as exc:  # pragma: no cover - depends on the installation
                raise OcrUnavailable("rapidocr is not installed (pip install rapidocr)") from exc
            # rapidocr logs every call at INFO through its own handler; keep it to warnings.
            logging.getLogger("RapidOCR").setLevel(logging.WARNING)
            try:
                _ENGINE = RapidOCR(params={"Global.log_level": "warning"})
            except Exception as exc:  # a broken model install must not crash a batch
                raise OcrUnavailable(f"the OCR engine could not start: {type(exc).__name__}: {exc}") from exc
        return _ENGINE


# rapidocr's per-line 0/180-degree direction classifier, off: on real pages rendered upright it turned some
# upright lines over and they came back as garbage (bench/bench_ocr.py: lowest page word recall 0.898 with it,
# >= 0.99 on all 8 pages without it, at the same speed). A page scanned upside down needs a page-level check.
USE_DIRECTION_CLASSIFIER = False


def ocr_lines(rgb: Any, min_score: float = 0.5, use_cls: bool | None = None) -> list[OcrLine]:
    """Text lines of an RGB (or gray) numpy image, in pixel coordinates."""
    out = _engine()(rgb, use_cls=USE_DIRECTION_CLASSIFIER if use_cls is None else use_cls)
    if out is None or getattr(out, "txts", None) is None:
        return []
    lines = []
    for text, box, score in zip(out.txts, out.boxes, out.scores):
        if not text.strip() or float(score) < min_score:
            continue
        xs = [float(p[0]) for p in box]
        ys = [float(p[1]) for p in box]
        lines.append(OcrLine(text.strip(), min(xs), min(ys), max(xs), max(ys), float(score), _lean(box)))
    return lines


def _lean(box: Any) -> float:
    """Degrees the quad's top edge (its first two corners: top-left, top-right) rises to the right; 0 for an
    upright box. Pixel y grows downwards, so a line rising to the right (a page turned anticlockwise) is
    negative, which is the angle ``PIL.Image.rotate`` turns it level by."""
    import math

    try:
        (x0, y0), (x1, y1) = (float(box[0][0]), float(box[0][1])), (float(box[1][0]), float(box[1][1]))
    except (IndexError, TypeError, ValueError):
        return 0.0
    if x1 - x0 <= 0:
        return 0.0
    return math.degrees(math.atan2(y1 - y0, x1 - x0))


def group_paragraphs(lines: list[OcrLine]) -> list[list[OcrLine]]:
    """Lines into blocks: a line joins the block whose last line ends just above it, overlaps it horizontally and
    has about its height (a heading stays apart from its text); blocks are returned top to bottom, then left to
    right."""
    blocks: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.y0, ln.x0)):
        height = max(1.0, line.y1 - line.y0)
        for block in blocks:
            last = block[-1]
            gap = line.y0 - last.y1
            overlap = min(line.x1, last.x1) - max(line.x0, last.x0)
            similar = abs(height - (last.y1 - last.y0)) <= 0.2 * max(height, last.y1 - last.y0)
            close = -0.5 * height <= gap <= 0.8 * height
            if similar and close and overlap > 0.3 * min(line.x1 - line.x0, last.x1 - last.x0):
                block.append(line)
                break
        else:
            blocks.append([line])
    return sorted(blocks, key=lambda b: (round(b[0].y0 / 20), b[0].x0))


def pixmap_to_array(pix: Any) -> Any:
    """A PyMuPDF pixmap as an (h, w, channels) uint8 numpy array, without alpha."""
    import numpy as np

    arr = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.h, pix.w, pix.n)
    return arr[:, :, :3] if pix.n == 4 else arr
