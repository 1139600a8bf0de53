"""Fit the ``features`` / ``maxsim`` reranker weights on the EVEN split of the docugami key-figure
questions and write them to ``pipeline/retrieval/rerank/_weights.py`` (the odd split is kept for reporting).

For each training question the first stage (hybrid, query linking on) returns N candidates; a
candidate is positive when it comes from a gold filing and holds the answer's key figure. A linear model
over :data:`pipeline.retrieval.rerank._features.FEATURES` is fitted on them (scikit-learn, only needed here):

* ``--objective pairwise`` (default): logistic regression on the feature differences of every
  (positive, negative) pair of the same question (RankNet with a linear scorer), i.e. it learns to order
  a question's candidates, which is what a reranker does; then a one-feature logistic regression of the
  labels on the fitted score (Platt scaling) turns the score into a probability: the weights are the
  scaled ones plus a bias, so the order is the pairwise model's and ``score`` reads as a probability.
* ``--objective pointwise``: logistic regression on the candidates themselves (the first version).
  With ~1 positive among 50 candidates per question it mostly learns "is this a table full of numbers".

The regularisation C is chosen by 5-fold cross-validation over the training questions (figure recall@5).

    RAGLINE_CACHE_DIR=/tmp/rl-h5 RAGLINE_EVAL_DIR=/work/shared/eval .venv/bin/python bench/fit_rerank.py
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from pipeline.evaluation.corpus import cache_dir, default_docugami_index_dir, default_eval_dir
from pipeline.evaluation.docugami import figure_in, load_qa_items
from pipeline.index import Index
from pipeline.retrieval import IndexRetriever, PassThroughReranker
from pipeline.retrieval.rerank import FEATURES, MaxSimReranker, features

C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
OUT = Path(__file__).resolve().parents[1] / "pipeline" / "_rerank_weights.py"


class _Collect(PassThroughReranker):
    def __init__(self, n: int) -> None:
        self.n = n

    def depth(self, k: int) -> int:
        return max(k, self.n)


def training_rows(index: Index, eval_dir: Path, n: int, mode: str, with_maxsim: bool) -> tuple[list[dict[str, float]], list[int], list[str]]:
    retriever = IndexRetriever(index, reranker=_Collect(n), linking=True)
    maxsim = MaxSimReranker(index.embedder, weights={})  # type: ignore[arg-type]
    xs: list[dict[str, float]] = []
    ys: list[int] = []
    qids: list[str] = []
    for i, it in enumerate(load_qa_items(eval_dir)):
        if i % 2:  # odd questions are held out
            continue
        hits = retriever.search(it.question, k=n, mode=mode)  # type: ignore[arg-type]
        extra = maxsim.extra(it.question, hits) if with_maxsim else [{} for _ in hits]
        for h, base, more in zip(hits, features(it.question, hits), extra):
            xs.append({**base, **more})
            ys.append(int(os.path.basename(h.source) in it.gold_docs and figure_in(h.text, it.figure)))
            qids.append(str(i))
    return xs, ys, qids


def _matrix(xs: list[dict[str, float]], names: tuple[str, ...]) -> Any:
    import numpy as np

    return np.array([[row.get(nm, 0.0) for nm in names] for row in xs])


def fit(xs: list[dict[str, float]], ys: list[int], names: tuple[str, ...], c: float,
        qids: list[str] | None = None) -> dict[str, float]:
    """Pointwise weights, or pairwise ones (Platt-scaled) when ``qids`` groups the candidates by question."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = _matrix(xs, names)
    y = np.array(ys)
    if qids is None:
        model = LogisticRegression(C=c, max_iter=5000).fit(x, y)
        weights = {"bias": round(float(model.intercept_[0]), 4)}
        weights.update({nm: round(float(w), 4) for nm, w in zip(names, model.coef_[0])})
        return weights
    diffs, labels = _pairs(x, y, qids)
    ranker = LogisticRegression(C=c, fit_intercept=False, max_iter=5000).fit(diffs, labels)
    w = ranker.coef_[0]
    platt = LogisticRegression(C=1e6, max_iter=5000).fit((x @ w).reshape(-1, 1), y)
    scale = float(platt.coef_[0][0])
    weights = {"bias": round(float(platt.intercept_[0]), 4)}
    weights.update({nm: round(scale * float(v), 4) for nm, v in zip(names, w)})
    return weights


def _pairs(x: Any, y: Any, qids: list[str]) -> tuple[Any, Any]:
    """Feature differences positive - negative (label 1) and negative - positive (label 0) within each question."""
    import numpy as np

    diffs, labels = [], []
    for q in dict.fromkeys(qids):
        rows = [i for i, qq in enumerate(qids) if qq == q]
        pos = [i for i in rows if y[i]]
        neg = [i for i in rows if not y[i]]
        for p in pos:
            for n in neg:
                diffs += [x[p] - x[n], x[n] - x[p]]
                labels += [1, 0]
    return np.array(diffs), np.array(labels)


def choose_c(xs: list[dict[str, float]], ys: list[int], qids: list[str], names: tuple[str, ...],
             pairwise: bool) -> float:
    """C with the best recall@5 in 5-fold cross-validation over the training questions (grouped by question)."""
    import numpy as np

    groups = sorted(set(qids))
    best = (-1.0, 0.0)
    for c in C_GRID:
        found = 0
        for fold in range(5):
            held = set(groups[fold::5])
            tr = [i for i, q in enumerate(qids) if q not in held]
            w = fit([xs[i] for i in tr], [ys[i] for i in tr], names, c, [qids[i] for i in tr] if pairwise else None)
            for q in held:
                idx = [i for i, qq in enumerate(qids) if qq == q]
                z = _matrix([xs[i] for i in idx], names) @ np.array([w[nm] for nm in names])
                top = np.argsort(-z, kind="stable")[:5]
                found += int(any(ys[idx[j]] for j in top))
        score = found / len(groups)
        print(f"  C={c}: cross-validated figure recall@5 {score:.3f}")
        if score > best[0]:
            best = (score, c)
    return best[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index")
    ap.add_argument("--eval-dir")
    ap.add_argument("--candidates", type=int, default=50)
    ap.add_argument("--objective", choices=["pairwise", "pointwise"], default="pairwise")
    ap.add_argument("--mode", default="hybrid")
    ap.add_argument("-C", type=float, help="inverse L2 regularisation strength (default: chosen by cross-validation)")
    ap.add_argument("--maxsim", action="store_true", help="also fit the maxsim reranker (embeds sentences: slow)")
    ap.add_argument("--dry-run", action="store_true", help="print the weights, do not write them")
    args = ap.parse_args()
    eval_dir = Path(args.eval_dir or default_eval_dir())
    index_dir = Path(args.index or default_docugami_index_dir(cache_dir()))
    with Index.open(index_dir, create=False, cache_dir=cache_dir()) as index:
        xs, ys, qids = training_rows(index, eval_dir, args.candidates, args.mode, args.maxsim)
    print(f"{len(set(qids))} training questions, {len(ys)} candidates, {sum(ys)} positives")
    pairwise = args.objective == "pairwise"
    groups = qids if pairwise else None
    c = args.C or choose_c(xs, ys, qids, FEATURES, pairwise)
    w = fit(xs, ys, FEATURES, c, groups)
    wm = fit(xs, ys, (*FEATURES, "maxsim"), c, groups) if args.maxsim else {**w, "maxsim": 0.0}
    args.C = c
    print("features:", w)
    print("maxsim:", wm)
    if args.dry_run:
        return
    OUT.write_text(
        '"""Weights of the ``features`` and ``maxsim`` rerankers (logistic models over pipeline.retrieval.rerank._features.FEATURES).\n\n'
        f"Written by bench/fit_rerank.py: even split of the docugami key-figure questions ({len(set(qids))} questions, "
        f"{len(ys)} candidates, {sum(ys)} positives), mode {args.mode}, N={args.candidates}, "
        f"{args.objective} objective, C={args.C}.\n"
        '"""\n\n'
        f"WEIGHTS: dict[str, float] = {w!r}\n"
        f"MAXSIM_WEIGHTS: dict[str, float] = {wm!r}\n",
        encoding="utf-8",
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
