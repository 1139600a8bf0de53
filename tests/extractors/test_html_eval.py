"""``ragline eval parse --set articles`` scores the HTML backend and trafilatura on the same pages in one run;
Markdown link targets are markup, not body words."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from pipeline.evaluation.parse_eval import evaluate_articles, format_articles, strip_markdown_links

BODY = "The harbour pilot replaces delivery vans with forty electric cargo bikes from March onwards. " * 4


def test_strip_markdown_links() -> None:
    assert strip_markdown_links("see [the \\[draft\\] plan](https://x.example/a%20b) now") == "see the \\[draft\\] plan now"
    assert strip_markdown_links("[a](u) and [b](v)") == "a and b"


def test_articles_scored_with_trafilatura_beside(tmp_path: Path) -> None:
    base = tmp_path / "article_extraction_benchmark"
    (base / "html").mkdir(parents=True)
    page = (f"<html><head><title>Cargo bikes</title></head><body><nav><a href='/'>Home</a> <a href='/news'>News</a>"
            f"</nav><article><h1>Cargo bikes</h1><p>{BODY} More on <a href='https://x.example/bikes'>the bikes</a>."
            "</p></article><footer>Copyright 2026</footer></body></html>")
    (base / "html" / "abc.html.gz").write_bytes(gzip.compress(page.encode()))
    truth = {"abc": {"articleBody": BODY + " More on the bikes.", "url": "https://x.example/cargo"},
             "missing": {"articleBody": "not in the corpus", "url": "https://x.example/m"}}
    (base / "ground-truth.json").write_text(json.dumps(truth))
    art = evaluate_articles(tmp_path)
    assert art.documents == 1 and art.failed == 0 and art.empty == 0
    assert art.recall == 1.0 and art.precision == 1.0  # the link target is not counted as body text
    assert [b.name.split(" (")[1] for b in art.baselines] == ["defaults)", "favor_precision)"]
    assert all(b.name.startswith("trafilatura ") and b.recall > 0.9 for b in art.baselines)
    assert "trafilatura" in format_articles(art)
    assert evaluate_articles(tmp_path, baselines=False).baselines == []
