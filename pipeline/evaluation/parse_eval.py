"""Fidelity of the parse stage against ground truth in ../shared/eval (``ragline eval parse``).

* docling PDF set: token F1 and word-4-gram F1 of ``Document.to_markdown()`` against docling's markdown,
  heading recall, and the share of ground-truth text items found on the right page.
* article extraction benchmark (human-annotated article bodies): token recall/precision of the HTML
  extractor's body text, and of trafilatura's plain text on the same pages in the same run (the benchmark).
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from pipeline.evaluation.metrics import heading_recall, ngram_prf, token_prf, tokens

if TYPE_CHECKING:
    from pipeline.document import Document


class PdfDocScore(BaseModel):
    name: str
    script: str  # "latin" or "rtl"
    pages: int
    token_f1: float
    ngram4_f1: float
    heading_recall: float
    headings: int
    page_accuracy: float
    page_items: int
    seconds: float
    raw_token_f1: float = 0.0  # baseline: PyMuPDF page.get_text(), same files, same run
    raw_ngram4_f1: float = 0.0
    error: str | None = None


class ArticleBaseline(BaseModel):
    """Another extractor scored on the same pages in the same run (e.g. trafilatura with its defaults)."""

    name: str
    recall: float
    precision: float
    f1: float
    empty: int  # pages with an empty body
    seconds_per_doc: float


class ArticleScore(BaseModel):
    documents: int
    failed: int
    recall: float
    precision: float
    f1: float
    seconds_per_doc: float
    empty: int = 0  # pages parsed without error but with an empty body (TITLE excluded)
    baselines: list[ArticleBaseline] = Field(default_factory=list)


def _page_accuracy(doc: Document, gt_json: Path) -> tuple[float, int]:
    """For each ground-truth text item (>= 30 chars), find the element that holds its first words and
    compare pages."""
    if not gt_json.is_file():
        return 1.0, 0
    data = json.loads(gt_json.read_text())
    elements = [(" ".join(tokens(e.text)), e.page) for e in doc.elements]
    hits = total = 0
    for item in data.get("texts", []):
        if item.get("label") in ("page_header", "page_footer") or not item.get("prov"):
            continue
        probe = " ".join(tokens(item.get("text", ""))[:8])
        if len(probe) < 30:
            continue
        pages = [p for t, p in elements if probe in t]
        if not pages:
            continue
        total += 1
        hits += int(item["prov"][0]["page_no"] in pages)
    return (hits / total if total else 1.0), total


def _raw_text(pdf: Path) -> str:
    import pymupdf

    with pymupdf.open(pdf) as d:
        return "\n".join(page.get_text() for page in d)


def evaluate_docling_pdf(eval_dir: Path, limit: int | None = None) -> list[PdfDocScore]:
    from pipeline.exceptions import RaglineError
    from pipeline.parsing import parse

    src = eval_dir / "docling" / "pdf" / "sources"
    gt = eval_dir / "docling" / "pdf" / "groundtruth"
    out = []
    for pdf in sorted(src.glob("*.pdf"))[:limit]:
        gold_md = (gt / f"{pdf.stem}.md").read_text(encoding="utf-8")
        script = "rtl" if "right_to_left" in pdf.stem else "latin"
        t0 = time.perf_counter()
        try:
            doc = parse(pdf)
        except RaglineError as exc:
            out.append(PdfDocScore(name=pdf.stem, script=script, pages=0, token_f1=0, ngram4_f1=0, heading_recall=0,
                                   headings=0, page_accuracy=0, page_items=0, seconds=0, error=str(exc)))
            continue
        secs = time.perf_counter() - t0
        md = doc.to_markdown()
        hr, _, nh = heading_recall(md, gold_md)
        pa, npi = _page_accuracy(doc, gt / f"{pdf.stem}.json")
        raw = _raw_text(pdf)
        out.append(
            PdfDocScore(
                name=pdf.stem, script=script, pages=doc.pages, token_f1=token_prf(md, gold_md)[2],
                ngram4_f1=ngram_prf(md, gold_md, 4)[2], heading_recall=hr, headings=nh,
                page_accuracy=pa, page_items=npi, seconds=secs,
                raw_token_f1=token_prf(raw, gold_md)[2], raw_ngram4_f1=ngram_prf(raw, gold_md, 4)[2],
            )
        )
    return out


# A Markdown link ``[label](target)``: the target is markup, not body text (the HTML backend keeps links).
_MD_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\([^)\s]*\)")


def strip_markdown_links(text: str) -> str:
    """``[label](url)`` -> ``label``, so that link targets do not count as body words."""
    return _MD_LINK.sub(r"\1", text)


class _Tally:
    """Pooled bag-of-words overlap of one extractor over the article pages."""

    def __init__(self) -> None:
        self.overlap = self.n_pred = self.n_gold = self.empty = 0
        self.seconds = 0.0

    def add(self, text: str, gold: Counter[str]) -> None:
        pred = Counter(tokens(text))
        self.overlap += sum((pred & gold).values())
        self.n_pred += sum(pred.values())
        self.n_gold += sum(gold.values())
        self.empty += int(not pred)

    def prf(self) -> tuple[float, float, float]:
        p = self.overlap / self.n_pred if self.n_pred else 0.0
        r = self.overlap / self.n_gold if self.n_gold else 0.0
        return r, p, (2 * p * r / (p + r) if p + r else 0.0)


def _trafilatura_baselines() -> dict[str, Callable[[bytes], str]]:
    """trafilatura's plain-text extraction, with its defaults and with ``favor_precision``; none when missing."""
    try:
        import trafilatura
    except ImportError:
        return {}
    import logging

    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    version = getattr(trafilatura, "__version__", "?")
    return {
        f"trafilatura {version} (defaults)": lambda html: trafilatura.extract(html) or "",
        f"trafilatura {version} (favor_precision)": lambda html: trafilatura.extract(html, favor_precision=True) or "",
    }


def evaluate_articles(eval_dir: Path, limit: int | None = None, *, baselines: bool = True) -> ArticleScore:
    """ragline's HTML body text (TITLE excluded, link targets dropped) against the human-annotated bodies,
    pooled over the pages; with ``baselines``, trafilatura's plain text on the same pages in the same run."""
    from pipeline.document import ElementKind
    from pipeline.exceptions import RaglineError
    from pipeline.parsing import Parser

    base = eval_dir / "article_extraction_benchmark"
    truth = json.loads((base / "ground-truth.json").read_text(encoding="utf-8"))
    parser = Parser()
    # One-off imports (trafilatura, lxml) are not per-page work; trafilatura's baseline is imported here too.
    parser.parse_bytes(b"<html><body><p>Warm-up page with a sentence.</p></body></html>", source="warm-up.html")
    others = _trafilatura_baselines() if baselines else {}
    ours, theirs = _Tally(), {name: _Tally() for name in others}
    failed = 0
    # Pages of 4 MiB or more were not copied into the corpus: evaluate what is there.
    items = [(sha, gt) for sha, gt in sorted(truth.items()) if (base / "html" / f"{sha}.html.gz").is_file()][:limit]
    for sha, gt in items:
        path = base / "html" / f"{sha}.html.gz"
        html = gzip.decompress(path.read_bytes())
        gold = Counter(tokens(gt.get("articleBody", "")))
        t0 = time.perf_counter()
        try:
            doc = parser.parse_bytes(html, source=str(path))
            text = "\n".join(e.text for e in doc.body if e.kind is not ElementKind.TITLE)
        except RaglineError:
            failed += 1
            text = ""
        ours.seconds += time.perf_counter() - t0
        ours.add(strip_markdown_links(text), gold)
        for name, extract in others.items():
            t0 = time.perf_counter()
            out = extract(html)
            theirs[name].seconds += time.perf_counter() - t0
            theirs[name].add(out, gold)
    n = max(1, len(items))
    r, p, f = ours.prf()
    return ArticleScore(
        documents=len(items), failed=failed, recall=r, precision=p, f1=f, seconds_per_doc=ours.seconds / n,
        empty=ours.empty - failed,
        baselines=[ArticleBaseline(name=name, recall=t.prf()[0], precision=t.prf()[1], f1=t.prf()[2], empty=t.empty,
                                   seconds_per_doc=t.seconds / n) for name, t in theirs.items()],
    )


def format_pdf_table(scores: list[PdfDocScore]) -> str:
    """Per-document scores of the docling PDF set, then the mean per script."""
    lines = [(f"{'document':32} {'script':6} {'pages':>5} {'tokF1':>6} {'4gF1':>6} {'headR':>6} {'pageAcc':>7} {'s':>6}"
              f" | raw get_text: {'tokF1':>6} {'4gF1':>6}")]
    for s in scores:
        lines.append(f"{s.name[:32]:32} {s.script:6} {s.pages:5d} {s.token_f1:6.3f} {s.ngram4_f1:6.3f} "
                     f"{s.heading_recall:6.2f} {s.page_accuracy:7.2f} {s.seconds:6.2f} |               "
                     f"{s.raw_token_f1:6.3f} {s.raw_ngram4_f1:6.3f}" + (f"  ERROR {s.error}" if s.error else ""))
    for script in ("latin", "rtl"):
        group = [s for s in scores if s.script == script and not s.error]
        if not group:
            continue
        n = len(group)
        with_h = [s for s in group if s.headings]
        hr = sum(s.heading_recall * s.headings for s in with_h) / max(1, sum(s.headings for s in with_h))
        lines.append(
            f"{'MEAN ' + script:32} {'':6} {sum(s.pages for s in group):5d} "
            f"{sum(s.token_f1 for s in group) / n:6.3f} {sum(s.ngram4_f1 for s in group) / n:6.3f} "
            f"{hr:6.2f} {sum(s.page_accuracy for s in group) / n:7.2f}        |               "
            f"{sum(s.raw_token_f1 for s in group) / n:6.3f} {sum(s.raw_ngram4_f1 for s in group) / n:6.3f}"
            f"   (heading recall pooled over {sum(s.headings for s in with_h)} headings)"
        )
    return "\n".join(lines)


def format_articles(art: ArticleScore) -> str:
    lines = [f"{'extractor':36} {'docs':>4} {'failed':>6} {'empty':>5} {'recall':>6} {'prec.':>6} {'F1':>6} {'s/doc':>6}",
             (f"{'ragline':36} {art.documents:4d} {art.failed:6d} {art.empty:5d} {art.recall:6.3f} "
              f"{art.precision:6.3f} {art.f1:6.3f} {art.seconds_per_doc:6.3f}")]
    for b in art.baselines:
        lines.append(f"{b.name:36} {art.documents:4d} {'':6} {b.empty:5d} {b.recall:6.3f} {b.precision:6.3f} "
                     f"{b.f1:6.3f} {b.seconds_per_doc:6.3f}")
    return "\n".join(lines)


__all__ = [
    "ArticleBaseline",
    "ArticleScore",
    "PdfDocScore",
    "evaluate_articles",
    "evaluate_docling_pdf",
    "format_articles",
    "format_pdf_table",
    "strip_markdown_links",
]
