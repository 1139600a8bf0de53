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
    .venv/bin/python bench/bench_ocr.py --images        # image files through the image backend, 3 pages
    .venv/bin/python bench/bench_ocr.py --images --limit 8 --forms png100,skew3

``--images``: each page is also written as image files, the way users hand them in (PNG at 100, 150, 200 and
300 dpi with the dpi in the file, a greyscale JPEG at 150 dpi, a 150 dpi page turned by 3 degrees on a white
ground; ``--forms`` adds an RGBA PNG with a transparent ground, a palette PNG, a PNG without dpi and a JPEG
whose EXIF says "turn 90 degrees" ), each file is parsed as a user would (``pipeline.parse``: detection, the
image backend) and scored against the text layer with the same recall, next to the PDF route (the page rendered
at ``--dpi`` and read by ``_ocr``, as above) measured in the same run. By default the first 3 pages (OCR is
seconds a page on 2 cores, and every form is another OCR); ``--limit 8`` for all.

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


# name -> (dpi, what is done to the rendered page); the first six are measured by default
IMAGE_FORMS = {
    "png100": (100, "png"),
    "png150": (150, "png"),
    "png200": (200, "png"),
    "png300": (300, "png"),
    "jpeg-grey150": (150, "jpeg-grey"),
    "skew3": (150, "skew3"),
    "rgba150": (150, "rgba"),
    "palette150": (150, "palette"),
    "png150-nodpi": (150, "nodpi"),
    "exif-rot90": (150, "exif-rot90"),
}
DEFAULT_FORMS = ("png100", "png150", "png200", "png300", "jpeg-grey150", "skew3")


def write_image_form(path: Path, page_no: int, form: str, folder: Path) -> Path:
    """The page rendered and written as an image file in ``form`` (see IMAGE_FORMS); returns the file."""
    import pymupdf
    from PIL import Image

    dpi, kind = IMAGE_FORMS[form]
    with pymupdf.open(path) as doc:
        page = doc[page_no - 1]
        if kind == "rgba":  # transparent ground: the page's own content only, as screenshots and exports give
            pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csRGB, alpha=True)
            img = Image.frombytes("RGBA", (pix.w, pix.h), pix.samples)
        else:
            gray = kind == "jpeg-grey"
            pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY if gray else pymupdf.csRGB, alpha=False)
            img = Image.frombytes("L" if gray else "RGB", (pix.w, pix.h), pix.samples)
    out = folder / f"{form}.png"
    if kind == "jpeg-grey":
        out = out.with_suffix(".jpg")
        img.save(out, quality=75, dpi=(dpi, dpi))
    elif kind == "skew3":  # a page fed a little crooked: 3 degrees anticlockwise, white where the page was not
        img.rotate(3, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white").save(out, dpi=(dpi, dpi))
    elif kind == "palette":
        img.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(out, dpi=(dpi, dpi))
    elif kind == "nodpi":
        img.save(out)
    elif kind == "exif-rot90":  # pixels stored turned, EXIF orientation 6 says how to show them upright
        out = out.with_suffix(".jpg")
        exif = Image.Exif()
        exif[0x0112] = 6
        img.rotate(90, expand=True).save(out, quality=90, dpi=(dpi, dpi), exif=exif)
    else:
        img.save(out, dpi=(dpi, dpi))
    return out


def bench_image_file(file: Path, layer: str) -> dict[str, float | int | str]:
    """``file`` parsed as a user would (format detection, the image backend), scored against ``layer``."""
    from PIL import Image

    import pipeline

    with Image.open(file) as im:
        pixels = f"{im.width}x{im.height}"
    from pipeline.exceptions import InputError

    t0, c0 = time.perf_counter(), time.process_time()
    try:
        text, error = "\n\n".join(e.text for e in pipeline.parse(file).elements), ""
    except InputError as exc:  # e.g. "no text content found": a form the backend cannot read scores 0
        text, error = "", f"{type(exc).__name__}: {exc}"
    ocr_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    recall, precision, words = word_scores(text, layer)
    return {"pixels": pixels, "words": words, "recall": recall, "precision": precision, "ocr_s": ocr_s,
            "cpu_s": cpu_s, "error": error}


Rows = dict[str, list[dict[str, float | int | str]]]


def run_images(pages: list[tuple[str, str, int]], forms: list[str], dpi: int, *, quiet: bool) -> Rows:
    """Per page: the PDF route at ``dpi`` and every image form; rows keyed by form (``pdf`` the baseline)."""
    import tempfile

    import pymupdf

    base = eval_dir()
    rows: Rows = {"pdf": [], **{f: [] for f in forms}}
    with tempfile.TemporaryDirectory(prefix="bench_ocr_images_") as tmp:
        for label, rel, page_no in pages:
            name = f"{label} p{page_no}"
            with pymupdf.open(base / rel) as doc:
                layer = doc[page_no - 1].get_text()
            rows["pdf"].append({"page": name, **bench_page(base / rel, page_no, dpi)})
            for form in forms:
                folder = Path(tmp) / f"{len(rows['pdf'])}"
                folder.mkdir(exist_ok=True)
                file = write_image_form(base / rel, page_no, form, folder)
                rows[form].append({"page": name, **bench_image_file(file, layer)})
            if not quiet:
                print(f"  {name}: " + ", ".join(f"{k} {v[-1]['recall']:.3f}" for k, v in rows.items()), file=sys.stderr)
    return rows


def print_image_table(rows: Rows, dpi: int, engine_s: float) -> None:
    pages = [r["page"] for r in rows["pdf"]]
    print(f"Word recall per page and form: PDF route at {dpi} dpi (pdf) and image files through the image backend "
          f"(engine start {engine_s:.1f} s, once); {len(pages)} page(s)")
    forms = list(rows)
    print("| " + f"{'page':44}" + " | " + " | ".join(f"{f:>12}" for f in forms) + " |")
    print("|" + "-" * 46 + "|" + "|".join("-" * 13 + ":" for _ in forms) + "|")
    for i, page in enumerate(pages):
        print(f"| {page!s:44} | " + " | ".join(f"{float(rows[f][i]['recall']):12.3f}" for f in forms) + " |")
    words = sum(int(r["words"]) for r in rows["pdf"])

    def pooled(form: str, key: str) -> float:
        if key == "precision":  # pooled over the OCR's words: overlap / OCR words, from each row's figures
            overlap = sum(float(r["recall"]) * int(r["words"]) for r in rows[form])
            ocr_words = sum(float(r["recall"]) * int(r["words"]) / max(1e-9, float(r["precision"]))
                            for r in rows[form] if float(r["precision"]) > 0)
            return overlap / ocr_words if ocr_words else 0.0
        return sum(float(r[key]) * int(r["words"]) for r in rows[form]) / max(1, words)

    for key, title in (("recall", "recall pooled over words"), ("precision", "precision pooled")):
        print(f"| {'all pages: ' + title:44} | " + " | ".join(f"{pooled(f, key):12.3f}" for f in forms) + " |")
    print(f"| {'lowest page recall':44} | "
          + " | ".join(f"{min(float(r['recall']) for r in rows[f]):12.3f}" for f in forms) + " |")
    print(f"| {'mean s/page (parse incl. decode)':44} | "
          + " | ".join(f"{sum(float(r['ocr_s']) for r in rows[f]) / len(rows[f]):12.1f}" for f in forms) + " |")
    print(f"| {'image px (first page)':44} | " + " | ".join(f"{rows[f][0]['pixels']!s:>12}" for f in forms) + " |")


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
    ap.add_argument("--images", action="store_true",
                    help="also write each page as image files and parse them through the image backend "
                         "(default: first 3 pages)")
    ap.add_argument("--forms", default=",".join(DEFAULT_FORMS),
                    help=f"image forms for --images, comma-separated, of: {', '.join(IMAGE_FORMS)}")
    args = ap.parse_args(argv)
    base = eval_dir()
    missing = [f for _, f, _ in PAGES if not (base / f).is_file()]
    if missing:
        print(f"bench_ocr: not found under {base}: {', '.join(missing)} (set RAGLINE_EVAL_DIR)", file=sys.stderr)
        return 2
    engine_s = start_engine()
    if args.cls:
        enable_direction_classifier()
    if args.images:
        forms = [f.strip() for f in args.forms.split(",") if f.strip()]
        unknown = [f for f in forms if f not in IMAGE_FORMS]
        if unknown:
            print(f"bench_ocr: unknown form(s) {', '.join(unknown)}; known: {', '.join(IMAGE_FORMS)}", file=sys.stderr)
            return 2
        image_rows = run_images(PAGES[: args.limit or 3], forms, args.dpi, quiet=args.json)
        if args.json:
            print(json.dumps({"dpi": args.dpi, "use_cls": args.cls, "engine_start_s": engine_s, "forms": image_rows},
                             indent=2))
        else:
            print_image_table(image_rows, args.dpi, engine_s)
        return 0
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
