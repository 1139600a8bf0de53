"""Fuzzy quote location: rapidfuzz (what ``pipeline.evidence.SourceText`` runs) against the difflib search it
replaced (kept below as the baseline), on quotes with two copying slips each, cut from real documents at random
positions (seeded). Prints seconds, the ratio, and how many quotes each locates at the place they were cut from.

    .venv/bin/python bench/bench_quote_match.py           # sample report, sample invoice, a 10-K (594k chars)
"""

from __future__ import annotations

import difflib
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.evidence import _DIGITS_RE, QuoteMatch, SourceText  # noqa: E402
from pipeline.parsing import Parser  # noqa: E402

DOCS = ["sample_docs/report_two_column.pdf", "sample_docs/invoice_acme.pdf",
        "../shared/eval/financebench/pdfs/3M_2018_10K.pdf"]


class DifflibSourceText(SourceText):
    """The search before rapidfuzz: difflib's longest common run, then windows around it scored by ratio."""

    def _fuzzy(self, q: str, min_score: float) -> QuoteMatch | None:
        doc = self._dense
        if not doc or len(q) < 4:
            return None
        sm = difflib.SequenceMatcher(None, doc, q, autojunk=False)
        a, b, size = sm.find_longest_match(0, len(doc), 0, len(q))
        if size < max(3, len(q) // 5):
            return None
        start0 = max(0, a - b)
        best = (0.0, start0, min(len(doc), start0 + len(q)))
        slack = max(2, len(q) // 8)
        for ds in range(-slack, slack + 1, max(1, slack // 4)):
            for de in range(-slack, slack + 1, max(1, slack // 4)):
                s, e = max(0, start0 + ds), min(len(doc), start0 + len(q) + de)
                if e - s >= 1:
                    r = difflib.SequenceMatcher(None, doc[s:e], q, autojunk=False).ratio()
                    if r > best[0]:
                        best = (r, s, e)
        score, s, e = best
        window = doc[max(0, s - 2): e + 2]
        if score < min_score or any(run not in window for run in _DIGITS_RE.findall(q)):
            return None
        return self._match(round(score, 4), self._dense_src[s], self._dense_src[e - 1] + 1)


def quotes_of(text: str, rng: random.Random, n: int = 30) -> list[tuple[str, str]]:
    out = []
    for _ in range(n):
        i = rng.randrange(0, max(1, len(text) - 80))
        orig = text[i:i + rng.randrange(20, 70)]
        q = list(orig)
        for _ in range(2):  # two copying slips on letters (a slip on a digit is a different value)
            j = rng.randrange(len(q))
            q[j] = "x" if q[j].isalpha() else q[j]
        out.append(("".join(q), orig))
    return out


def main() -> None:
    rng = random.Random(7)
    print(f"{'document':<26} {'chars':>9} {'difflib s':>10} {'rapidfuzz s':>12} {'ratio':>6} {'at origin (difflib / rapidfuzz)':>32}")
    for rel in DOCS:
        path = REPO / rel
        if not path.is_file():
            print(f"{rel}: not found, skipped")
            continue
        doc = Parser().run(path)
        quotes = quotes_of(doc.text, rng)
        row = []
        for cls in (DifflibSourceText, SourceText):
            src = cls(doc.elements)
            t0 = time.perf_counter()
            found = [src.find(q) for q, _ in quotes]
            seconds = time.perf_counter() - t0
            at_origin = sum(1 for m, (_, orig) in zip(found, quotes) if m and (
                orig[:12] in src.text[max(0, m.start - 5):m.end + 5] or src.text[m.start:m.end][:12] in orig))
            row.append((seconds, at_origin))
        (t_old, ok_old), (t_new, ok_new) = row
        print(f"{path.name[:26]:<26} {len(doc.text):>9,} {t_old:>10.2f} {t_new:>12.3f} {t_old / t_new:>5.0f}x "
              f"{ok_old:>14} / {ok_new} of {len(quotes)}")


if __name__ == "__main__":
    main()
