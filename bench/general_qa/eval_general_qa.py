"""ragline on the general-domain QA set of issue 21 ("Answers for any document"): 88 questions written by reading
12 public PDFs of six non-financial kinds (papers, manuals, specs, government reports, a licence and a policy,
slides), 72 with a gold answer and gold pages, 16 without an answer (``bench/general_qa/questions.json``).

For each question it measures

* page hit@5: any of the top 5 ``rag.search(question, k=5)`` hits lies in the gold document and covers a gold page
  (``hit.page_start <= p <= hit.page_end``), with the default reranker and with ``rerank="none"``;
* cited accuracy (answerable questions): ``ans = rag.ask(question)`` is correct when ``ans.found``, the gold answer
  (for yes/no questions its ``evidence`` phrase; or one of ``accept``), normalised, appears in ``ans.text`` or in a
  citation's quote, and a citation lies in the gold document on a gold page;
* refusal (unanswerable questions): ``not ans.found``.

Normalised text: NFKC, case-folded, quotes and dashes unified, whitespace collapsed, matched on word boundaries
(also with words hyphenated at a line end joined again).
A gold answer with digits also matches when its numbers (thousands separators dropped) appear in the same order
in the text and its words of three letters or more appear too ("66 %" matches "66%").

It prints per half (dev = even positions of ``questions``, held-out = odd) and overall.

    bash bench/general_qa/fetch_pdfs.sh /tmp/general_qa_pdfs                       # once (~5 min, 1.1 GB download)
    .venv/bin/python bench/general_qa/eval_general_qa.py --pdfs /tmp/general_qa_pdfs --check-gold   # gold vs page text
    .venv/bin/python bench/general_qa/eval_general_qa.py --pdfs /tmp/general_qa_pdfs --index /tmp/gq_index --json out.json
    .venv/bin/python bench/general_qa/eval_general_qa.py ... --half dev                # only the development half
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "questions.json"

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u00b4": "'", "`": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2010": "-", "\u2011": "-", "\u2012": "-",
                         "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " "})
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def norm(text: str) -> str:
    """Case-folded, NFKC (ligatures split), quotes and dashes unified, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    return " ".join(text.split())


def _numbers(text: str) -> list[str]:
    return [m.replace(",", "") for m in _NUMBER.findall(text)]


def _contains_seq(seq: list[str], sub: list[str]) -> bool:
    return any(seq[i:i + len(sub)] == sub for i in range(len(seq) - len(sub) + 1))


def text_has(gold: str, text: str) -> bool:
    """``gold`` appears in ``text`` once both are normalised (word boundaries), or, for a gold with digits,
    its numbers appear in order in ``text`` and its words of 3+ letters appear too."""
    g, t = norm(gold), norm(text)
    if not g:
        return False
    pattern = r"(?<!\w)" + re.escape(g) + r"(?!\w)"
    # also the text with words hyphenated at a line end joined again ("synchro-\nnization")
    if re.search(pattern, t) or re.search(pattern, re.sub(r"(?<=[^\W\d_])- (?=[^\W\d_])", "", t)):
        return True
    gold_numbers = _numbers(g)
    if not gold_numbers:
        return False
    if not _contains_seq(_numbers(t), gold_numbers):
        return False
    words = [w for w in re.findall(r"[^\W\d_]{3,}", g)]
    return all(re.search(r"(?<!\w)" + re.escape(w) + r"(?!\w)", t) for w in words)


def gold_strings(q: dict[str, Any]) -> list[str]:
    """What an answer must contain: the evidence phrase of a yes/no question, else the answer; plus ``accept``."""
    first = q.get("evidence") or q["answer"]
    return [first, *q.get("accept", [])]


def on_gold_page(source: str, page: int | None, page_end: int | None, q: dict[str, Any]) -> bool:
    if Path(source).name != q["doc"] or page is None:
        return False
    end = page_end if page_end is not None else page
    return any(page <= p <= end for p in q["pages"])


def load(path: Path = QUESTIONS) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    for i, q in enumerate(data["questions"]):
        q["half"] = "dev" if i % 2 == 0 else "heldout"
        q["answerable"] = q["answer"] is not None
    return data


def check_gold(data: dict[str, Any], pdfs: Path) -> int:
    """Every answerable question's gold string is printed on each of its gold pages (per ``text_has``)."""
    import pymupdf

    texts: dict[str, list[str]] = {}
    bad = 0
    for d in data["documents"]:
        with pymupdf.open(pdfs / d["file"]) as doc:
            texts[d["file"]] = [page.get_text() for page in doc]
    for q in data["questions"]:
        if not q["answerable"]:
            continue
        pages = texts[q["doc"]]
        for p in q["pages"]:
            if not any(text_has(s, pages[p - 1]) for s in gold_strings(q)):
                bad += 1
                print(f"NOT ON PAGE {p}: {q['id']} {q['doc']} {gold_strings(q)}")
        others = [i + 1 for i, t in enumerate(pages) if i + 1 not in q["pages"] and text_has(gold_strings(q)[0], t)]
        if others:
            print(f"note {q['id']}: {gold_strings(q)[0]!r} also printed on pages {others} of {q['doc']}")
    n = sum(q["answerable"] for q in data["questions"])
    print(f"gold check: {n - bad} of {n} answerable questions hold their answer on every gold page" if not bad
          else f"gold check: {bad} gold page(s) without the answer")
    return 1 if bad else 0


def evaluate(data: dict[str, Any], pdfs: Path, index_dir: Path, halves: set[str],
             config_file: Path | None = None) -> list[dict[str, Any]]:
    from pipeline.compose import Pipeline
    from pipeline.config import RaglineConfig
    from pipeline.exceptions import RaglineError

    paths = [pdfs / d["file"] for d in data["documents"]]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        sys.exit(f"missing PDFs (run bench/general_qa/fetch_pdfs.sh): {missing}")
    rows = []
    # --config: a ragline.toml whose [qa] / [llm] sections pick the strategy and model ("free" with the 1.5B model)
    config = RaglineConfig.load(config_file) if config_file else None
    with Pipeline.open(index_dir, config=config) as rag, contextlib.ExitStack() as stack:
        # One model for the whole run when the configuration calls one (else ask() starts it for each question).
        uses_model = rag.config.qa.strategy == "free" or rag.config.qa.ask_model
        client = stack.enter_context(rag.llm()) if uses_model else None
        t0 = time.perf_counter()
        report = rag.add(paths)
        print(f"index {index_dir}: {report.files} files, {report.parsed} parsed, {report.skipped} unchanged, "
              f"{report.failed} failed, {report.chunks_added} chunks added ({time.perf_counter() - t0:.1f} s)")
        if report.failed:
            print(f"  failed: {report.errors}")
        for q in data["questions"]:
            if q["half"] not in halves:
                continue
            row: dict[str, Any] = {k: q[k] for k in ("id", "half", "doc", "question", "answer", "pages", "kind")}
            row["answerable"] = q["answerable"]
            for label, rerank in (("default", None), ("none", "none")):
                hits = rag.search(q["question"], k=5, rerank=rerank) if rerank else rag.search(q["question"], k=5)
                row[f"hits_{label}"] = [[Path(h.source).name, h.page_start, h.page_end] for h in hits]
                if q["answerable"]:
                    row[f"hit5_{label}"] = any(on_gold_page(h.source, h.page_start, h.page_end, q) for h in hits)
            t = time.perf_counter()
            try:
                ans = rag.ask(q["question"], client=client)
            except RaglineError as exc:  # a model that never gave a valid reply: counted as not found, and kept
                from pipeline.qa import Answer

                row["error"] = str(exc)
                ans = Answer(question=q["question"], text="not found", found=False)
            row["ask_seconds"] = round(time.perf_counter() - t, 3)
            row["found"] = ans.found
            row["text"] = ans.text
            row["citations"] = [[Path(c.source).name, c.page, c.page_end, c.quote] for c in ans.citations]
            row["fit"], row["similarity"] = ans.fit, ans.similarity
            if q["answerable"]:
                texts = [ans.text, *(c.quote for c in ans.citations)]
                row["text_ok"] = any(text_has(s, t) for s in gold_strings(q) for t in texts)
                row["cited_ok"] = any(on_gold_page(c.source, c.page, c.page_end, q) for c in ans.citations)
                row["correct"] = bool(ans.found and row["text_ok"] and row["cited_ok"])
            else:
                row["refused"] = not ans.found
            rows.append(row)
            mark = ("OK " if row["correct"] else "-- ") if q["answerable"] else ("REF" if row["refused"] else "ANS")
            print(f"{mark} {q['id']} [{q['half']}/{q['kind']}] {q['question'][:70]} -> {ans.text[:70]!r}")
    return rows


def _rate(values: list[bool]) -> str:
    return f"{sum(values) / len(values):.3f} ({sum(values)}/{len(values)})" if values else "n/a"


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sel in (("dev", [r for r in rows if r["half"] == "dev"]),
                      ("held-out", [r for r in rows if r["half"] == "heldout"]), ("overall", rows)):
        if not sel:
            continue
        ans = [r for r in sel if r["answerable"]]
        una = [r for r in sel if not r["answerable"]]
        kinds: dict[str, list[bool]] = defaultdict(list)
        for r in ans:
            kinds[r["kind"]].append(r["correct"])
        out[name] = {
            "answerable": len(ans), "unanswerable": len(una),
            "page_hit@5_default": _rate([r["hit5_default"] for r in ans]),
            "page_hit@5_none": _rate([r["hit5_none"] for r in ans]),
            "cited_accuracy": _rate([r["correct"] for r in ans]),
            "answer_text_found": _rate([r["text_ok"] for r in ans]),
            "gold_page_cited": _rate([r["cited_ok"] for r in ans]),
            "found_rate_answerable": _rate([r["found"] for r in ans]),
            "refusal_rate": _rate([r["refused"] for r in una]),
            "per_kind_accuracy": {k: _rate(v) for k, v in sorted(kinds.items())},
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pdfs", default="/tmp/general_qa_pdfs", help="folder fetch_pdfs.sh wrote (default %(default)s)")
    ap.add_argument("--index", help="index folder, kept and reused (default: a temporary folder)")
    ap.add_argument("--half", choices=("dev", "heldout", "all"), default="all")
    ap.add_argument("--questions", type=Path, default=QUESTIONS, help="question file (default %(default)s; "
                    "questions_v2.json is the second set, held out whole)")
    ap.add_argument("--config", type=Path, help="a ragline.toml for the pipeline (e.g. [qa] strategy = \"free\" and "
                    "[llm.embedded] model = \"qwen2.5-1.5b\"); default: the embedded defaults")
    ap.add_argument("--json", help="write per-question rows and the summary here")
    ap.add_argument("--check-gold", action="store_true", help="only check the gold answers against the page text")
    args = ap.parse_args()
    data = load(args.questions)
    pdfs = Path(args.pdfs)
    if args.check_gold:
        sys.exit(check_gold(data, pdfs))
    halves = {"dev", "heldout"} if args.half == "all" else {args.half}
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(args.index) if args.index else Path(tmp) / "index"
        rows = evaluate(data, pdfs, index_dir, halves, args.config)
    summary = summarise(rows)
    for name, s in summary.items():
        print(f"\n== {name}: {s['answerable']} answerable, {s['unanswerable']} unanswerable")
        for key in ("page_hit@5_default", "page_hit@5_none", "cited_accuracy", "answer_text_found", "gold_page_cited",
                    "found_rate_answerable", "refusal_rate"):
            print(f"  {key:24s} {s[key]}")
        print("  per kind (cited accuracy): " + ", ".join(f"{k} {v}" for k, v in s["per_kind_accuracy"].items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1, ensure_ascii=False),
                                   encoding="utf-8")
        print(f"\nrows written to {args.json}")


if __name__ == "__main__":
    main()
