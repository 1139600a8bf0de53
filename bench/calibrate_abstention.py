"""Calibrate ``QAOptions.min_fit``, the share of a question the answering span must cover (else "not found"),
on questions with an answer and questions without one, each set split in a development and a held-out half.

Answerable: the 50 docugami key-figure questions (``ragline eval qa --all``'s, scored the same way: the key
figure among the answer's amounts) and the sample documents' own questions (``sample_docs/make_samples.py``,
scored by the expected answer appearing in the answer). Unanswerable: ``bench/qa/unanswerable.json``, written
before any threshold was chosen. Halves by position in each list: even = development, odd = held out.

Every question is answered once with the thresholds off (the chosen span's fit and the best question-chunk cosine
are recorded); each pair (min_fit, min_similarity) is then applied to those answers: not found when both are
below. Printed: the grid's best pairs on the development half (mean of answerable accuracy and unanswerable
refusal), the held-out half at each, and both halves at the defaults of ``QAOptions``.

    .venv/bin/python bench/calibrate_abstention.py            # the docugami index of `ragline eval qa` (built if missing)
    .venv/bin/python bench/calibrate_abstention.py --json out/abstention.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

GRID = [round(0.05 * i, 2) for i in range(0, 16)]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00b2", "2")).casefold()


def _ask_all(rag: Any, questions: list[str]) -> list[tuple[Any, bool]]:
    """Each question answered with the thresholds off (the grid is applied to these), with whether ``ask`` at the
    defaults, every rule of the shipped decision included, finds an answer."""
    return [(rag.ask(q, min_fit=0.0, min_fit_alone=0.0, min_typed_evidence=2.0), rag.ask(q).found) for q in questions]


def _row(kind: str, corpus: str, question: str, asked: tuple[Any, bool], correct: bool | None,
         position: int) -> dict[str, Any]:
    answer, shipped = asked
    return {"kind": kind, "corpus": corpus, "question": question, "answer": answer.text, "found": answer.found,
            "fit": answer.fit, "similarity": answer.similarity, "correct": correct,
            "shipped_found": shipped, "half": "dev" if position % 2 == 0 else "held-out"}


def collect(index_dir: Path, eval_dir: Path) -> list[dict[str, Any]]:
    from eval_sample_qa import sample_questions

    from pipeline.compose import Pipeline
    from pipeline.evaluation.corpus import DOCUGAMI_DOCS
    from pipeline.evaluation.qa_eval import answer_has_figure
    from pipeline.evaluation.qa_eval import sample_questions as docugami_items

    unanswerable = json.loads((REPO / "bench" / "qa" / "unanswerable.json").read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = []
    with Pipeline.open(index_dir) as rag:
        rag.add([eval_dir / DOCUGAMI_DOCS], include=["*.pdf"], prune=True)
        items = docugami_items(eval_dir, None)
        for i, (it, asked) in enumerate(zip(items, _ask_all(rag, [it.question for it in items]))):
            ans = asked[0]
            rows.append(_row("answerable", "docugami", it.question, asked, ans.found and answer_has_figure(ans.text, it), i))
        for i, (q, asked) in enumerate(zip(unanswerable["docugami"], _ask_all(rag, unanswerable["docugami"]))):
            rows.append(_row("unanswerable", "docugami", q, asked, None, i))
    with tempfile.TemporaryDirectory() as tmp, Pipeline.open(Path(tmp) / "ix") as rag:
        rag.add([REPO / "sample_docs"])
        expected = sample_questions()
        qs = list(expected)
        for i, (q, asked) in enumerate(zip(qs, _ask_all(rag, qs))):
            ok = asked[0].found and _norm(expected[q]) in _norm(asked[0].text)
            rows.append(_row("answerable", "sample", q, asked, ok, i))
        for i, (q, asked) in enumerate(zip(unanswerable["sample"], _ask_all(rag, unanswerable["sample"]))):
            rows.append(_row("unanswerable", "sample", q, asked, None, i))
    return rows


def _kept(r: dict[str, Any], fit: float, similarity: float) -> bool:
    weak = (r["fit"] or 0.0) < fit and (r["similarity"] if r["similarity"] is not None else -1.0) < similarity
    return bool(r["found"]) and not weak


def at(rows: list[dict[str, Any]], fit: float, similarity: float, half: str | None,
       corpus: str | None = None) -> dict[str, float]:
    sel = [r for r in rows if (half is None or r["half"] == half) and (corpus is None or r["corpus"] == corpus)]
    ans = [r for r in sel if r["kind"] == "answerable"]
    una = [r for r in sel if r["kind"] == "unanswerable"]
    acc = sum(1 for r in ans if r["correct"] and _kept(r, fit, similarity)) / max(1, len(ans))
    refused = sum(1 for r in una if not _kept(r, fit, similarity)) / max(1, len(una))
    return {"accuracy": acc, "refused": refused, "answerable": len(ans), "unanswerable": len(una)}


def main() -> None:
    from pipeline.evaluation.corpus import cache_dir, default_docugami_index_dir, default_eval_dir
    from pipeline.qa import QAOptions

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, help="the docugami index (default: the one `ragline eval qa` uses)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = collect(args.index or default_docugami_index_dir(cache_dir()), default_eval_dir())
    pairs = [(f, c) for f in GRID for c in GRID]

    def dev_score(p: tuple[float, float]) -> float:
        d = at(rows, p[0], p[1], "dev")
        return round((d["accuracy"] + d["refused"]) / 2, 4)

    print("best pairs on the development half:  min_fit min_similarity | dev acc refused | held-out acc refused")
    for f, c in sorted(pairs, key=lambda p: (-dev_score(p), p))[:8]:
        d, h = at(rows, f, c, "dev"), at(rows, f, c, "held-out")
        print(f"  {f:4.2f} {c:4.2f} | {d['accuracy']:.2f} {d['refused']:.2f} | {h['accuracy']:.2f} {h['refused']:.2f}")
    o = QAOptions()
    print(f"\nthresholds off and at the defaults (min_fit {o.min_fit}, min_similarity {o.min_similarity}):")
    for corpus in ("docugami", "sample"):
        for half in ("dev", "held-out", None):
            off, on = at(rows, 0.0, -1.0, half, corpus), at(rows, o.min_fit, o.min_similarity, half, corpus)
            print(f"  {corpus:<8} {half or 'all':<8} answerable {on['answerable']:>2}: accuracy {off['accuracy']:.2f} -> "
                  f"{on['accuracy']:.2f}; unanswerable {on['unanswerable']:>2}: refused {off['refused']:.2f} -> "
                  f"{on['refused']:.2f}")
    print("\nas shipped (ask() at the defaults, every rule of the decision: unknown names, typed evidence, ...):")
    for corpus in ("docugami", "sample"):
        for half in ("dev", "held-out", None):
            sel = [r for r in rows if r["corpus"] == corpus and (half is None or r["half"] == half)]
            ans = [r for r in sel if r["kind"] == "answerable"]
            una = [r for r in sel if r["kind"] == "unanswerable"]
            acc = sum(1 for r in ans if r["correct"] and r["shipped_found"]) / max(1, len(ans))
            ref = sum(1 for r in una if not r["shipped_found"]) / max(1, len(una))
            print(f"  {corpus:<8} {half or 'all':<8} answerable {len(ans):>2}: accuracy {acc:.2f}; "
                  f"unanswerable {len(una):>2}: refused {ref:.2f}")
    for r in rows:
        if r["kind"] == "unanswerable" and _kept(r, o.min_fit, o.min_similarity):
            print(f"  answered, should not be: {r['question']!r} -> {r['answer'][:60]!r}")
        if r["kind"] == "answerable" and r["correct"] and not _kept(r, o.min_fit, o.min_similarity):
            print(f"  right answer refused: {r['question']!r}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": rows}, indent=2))


if __name__ == "__main__":
    main()
