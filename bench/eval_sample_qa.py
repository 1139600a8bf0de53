"""Extractive QA on the project's own sample documents: the questions ``sample_docs/make_samples.py`` writes
with their answers (the report's facts), asked over an index of ``sample_docs/``. These documents are no
SEC filings, so the span rules were not written on them: a check of the rules outside the docugami set.

    .venv/bin/python bench/eval_sample_qa.py                     # builds a temporary index of sample_docs/
    .venv/bin/python bench/eval_sample_qa.py --index out/index   # the demo's index
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sample_questions() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("make_samples", REPO / "sample_docs" / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return next(v for v in vars(module).values()
                if isinstance(v, dict) and "What is the payback period of the LED retrofit?" in v)


def main() -> None:
    from pipeline.compose import Pipeline
    from pipeline.qa import QAOptions, QuestionAnswerer
    from pipeline.retrieval import IndexRetriever

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", help="an index of sample_docs/ (default: build one in a temporary folder)")
    ap.add_argument("--rerank", default="features")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = args.index or str(Path(tmp) / "index")
        with Pipeline.open(index_dir, create=args.index is None) as rag:
            if args.index is None:
                rag.add([REPO / "sample_docs"])
            qa = QuestionAnswerer(IndexRetriever(rag.index, reranker=rag.reranker(args.rerank)), None, QAOptions())
            questions = sample_questions()
            right = 0
            for q, gold in questions.items():
                answer = qa.run(q)
                ok = gold.lower() in answer.text.lower()
                right += ok
                print(f"{'OK ' if ok else '-- '} {q} -> {answer.text[:100]}")
    print(f"{right} of {len(questions)} answers hold the expected text (rerank {args.rerank})")


if __name__ == "__main__":
    main()
