"""OCR quality and speed on real pages: each page is rendered to an image with PyMuPDF (150 dpi by default), read
by ragline's OCR module (``extractors._ocr``: rapidocr's PP-OCR models on ONNX Runtime, lines grouped into
paragraphs) and compared with the page's own text layer.

Word recall = share of the text layer's words (bag of lowercase words, as ``ragline eval parse`` counts them)
found in the OCR text; word precision = share of the OCR words that are in the text layer. Seconds per page are
the OCR of the rendered image, wall clock and CPU (all threads; on a machine shared with other jobs the CPU
seconds are the steadier figure); rendering is timed apart; the engine is started once before the first page.

    .venv/bin/python bench/bench_ocr.py                 # 8 pages: 6 docling PDFs, a financebench 10-K, an invoice
    .venv/bin/python bench/bench_ocr.py --cls           # with rapidocr's per-line direction classifier (off in ragline)
    .venv/bin/python bench/bench_ocr.py --dpi 200 --json

Pages come from ``$RAGLINE_EVAL_DIR`` (else ``../shared/eval`` next to the repository).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# (label, file under the eval folder, 1-based page)
PAGES = [
    ("docling arXiv, 2 columns + table", "docling/pdf/sources/2305.03393v1-pg9.pdf", 1),
    ("docling AMT handbook", "docling/pdf/sources/amt_handbook_sample.pdf", 1),
    ("docling code and formula", "docling/pdf/sources/code_and_formula.pdf", 1),
    ("docling multi_page", "docling/pdf/sources/multi_page.pdf", 1),
    ("docling picture_classification", "docling/pdf/sources/picture_classification.pdf", 1),
    ("docling IBM Redbook", "docling/pdf/sources/redp5110_sampled.pdf", 6),
    ("financebench 3M 10-K, table", "financebench/pdfs/3M_2018_10K.pdf", 127),
    ("invoice2data AWS invoice", "invoice2data/compare/AmazonWebServices.pdf", 1),
]


def eval_dir() -> Path:
    env = os.environ.get("RAGLINE_EVAL_DIR")
    return Path(env) if env else REPO.parent / "shared" / "eval"


def word_scores(ocr_text: str, layer_text: str) -> tuple[float, float, int]:
    """(recall, precision, words in the text layer) over bags of lowercase words."""
    from pipeline.evaluation.metrics import tokens

    ocr, layer = Counter(tokens(ocr_text)), Counter(tokens(layer_text))
    overlap = sum((ocr & layer).values())
    n_layer, n_ocr = sum(layer.values()), sum(ocr.values())
    return (overlap / n_layer if n_layer else 1.0), (overlap / n_ocr if n_ocr else 0.0), n_layer


def bench_page(path: Path, page_no: int, dpi: int) -> dict[str, float | int | str]:
    import pymupdf

    from extractors._ocr import group_paragraphs, ocr_lines, pixmap_to_array

    with pymupdf.open(path) as doc:
        page = doc[page_no - 1]
        layer = page.get_text()
        t0 = time.perf_counter()
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csRGB, alpha=False)
        image = pixmap_to_array(pix)
        render_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    blocks = group_paragraphs(ocr_lines(image))
    ocr_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    text = "\n\n".join(" ".join(line.text for line in block) for block in blocks)
    recall, precision, words = word_scores(text, layer)
    return {"pixels": f"{pix.w}x{pix.h}", "words": words, "recall": recall, "precision": precision,
            "ocr_s": ocr_s, "cpu_s": cpu_s, "render_s": render_s}


def start_engine() -> float:
    """Start the OCR engine on a small rendered line of text; returns the seconds it took."""
    import pymupdf

    from extractors._ocr import ocr_lines, pixmap_to_array

    t0 = time.perf_counter()
    with pymupdf.open() as doc:
        page = doc.new_page(width=200, height=40)
        page.insert_text((10, 25), "Engine warm-up", fontsize=14)
        ocr_lines(pixmap_to_array(page.get_pixmap(dpi=150, colorspace=pymupdf.csRGB, alpha=False)))
    return time.perf_counter() - t0


def enable_direction_classifier() -> None:
    """Run rapidocr with its per-line 0/180-degree classifier, which ragline leaves off
    (``extractors._ocr.USE_DIRECTION_CLASSIFIER``): to measure what it does on upright rendered pages."""
    from extractors import _ocr

    _ocr.USE_DIRECTION_CLASSIFIER = True


def print_table(rows: list[dict[str, float | int | str]], dpi: int, engine_s: float, *, use_cls: bool) -> None:
    print(f"OCR at {dpi} dpi, direction classifier {'on' if use_cls else 'off'} (engine start {engine_s:.1f} s, once)")
    print(f"| {'page':44} | {'image px':>9} | {'words':>5} | {'recall':>6} | {'precision':>9} | {'s/page':>6} "
          f"| {'CPU s':>5} |")
    print(f"|{'-' * 46}|{'-' * 10}:|{'-' * 6}:|{'-' * 7}:|{'-' * 10}:|{'-' * 7}:|{'-' * 6}:|")
    for r in rows:
        print(f"| {r['page']!s:44} | {r['pixels']!s:>9} | {r['words']:>5} | {r['recall']:6.3f} | {r['precision']:9.3f} "
              f"| {r['ocr_s']:6.1f} | {r['cpu_s']:5.1f} |")
    words = sum(int(r["words"]) for r in rows)
    pooled = sum(float(r["recall"]) * int(r["words"]) for r in rows) / max(1, words)
    mean_s = sum(float(r["ocr_s"]) for r in rows) / max(1, len(rows))
    mean_cpu = sum(float(r["cpu_s"]) for r in rows) / max(1, len(rows))
    print(f"| {'all pages (recall pooled over words; mean s)':44} | {'':>9} | {words:>5} | {pooled:6.3f} | {'':>9} "
          f"| {mean_s:6.1f} | {mean_cpu:5.1f} |")
    print(f"lowest page recall {min(float(r['recall']) for r in rows):.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dpi", type=int, default=150, help="render resolution (ragline's OcrOptions.dpi default: 150)")
    ap.add_argument("--limit", type=int, help="only the first N pages")
    ap.add_argument("--cls", action="store_true", help="rapidocr's text-direction classifier on (ragline: off)")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    args = ap.parse_args(argv)
    base = eval_dir()
    missing = [f for _, f, _ in PAGES if not (base / f).is_file()]
    if missing:
        print(f"bench_ocr: not found under {base}: {', '.join(missing)} (set RAGLINE_EVAL_DIR)", file=sys.stderr)
        return 2
    engine_s = start_engine()
    if args.cls:
        enable_direction_classifier()
    rows = []
    for label, rel, page_no in PAGES[: args.limit]:
        row = {"page": f"{label} p{page_no}", **bench_page(base / rel, page_no, args.dpi)}
        rows.append(row)
        if not args.json:
            print(f"  {row['page']}: recall {row['recall']:.3f}, {row['ocr_s']:.1f} s", file=sys.stderr)
    if args.json:
        print(json.dumps({"dpi": args.dpi, "use_cls": args.cls, "engine_start_s": engine_s, "pages": rows},
                         indent=2))
    else:
        print_table(rows, args.dpi, engine_s, use_cls=args.cls)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
