"""Which int8 recipe keeps all-MiniLM-L6-v2's vectors while staying ~2x the fused fp32 graph (issue 10)?

Reference: the fused fp32 graph (``ensure_artifact(cache, model, "fp32")``). Each candidate graph embeds
the same real texts (a seeded sample of chunks from a docugami index docstore, as the index embeds them,
plus docugami questions as queries) and is compared to the reference: cosine per text (min / mean / 1st
percentile), and the query -> chunk top-5 neighbour overlap. Speed is candidate vs fp32, timed
interleaved on the same texts with ``OnnxEmbedder``'s own batching, in the same run.

Stages (``--stage``):

* ``options``: full dynamic int8 as today and quantizer settings (per-channel, reduce_range, symmetric
  weights / activations, u8 weights, MatMul-only, EmbedLayerNormalization kept fp32, FFN outputs fp32);
* ``sweep``: per-node sensitivity, everything quantized except ONE node, for each quantizable node;
* ``greedy``: exclude the nodes the sweep ranked worst, one more at a time, until cosine min >= --target;
* ``static``: ``quantize_static`` QDQ calibrated on chunks disjoint from the test sample (on the fused
  graph it quantizes only the weights: the fused ops' outputs carry no type, so no activation Q/DQ);
* ``smooth``: SmoothQuant-style per-channel migration (exact in fp32), then dynamic int8;
* ``nbits``: MatMuls as 8-bit MatMulNBits (activations quantized per token and block at run time),
  Attention fp32, dynamic QAttention, or (``--nbits-only REGEX``) only some MatMuls as MatMulNBits and
  the rest dynamic int8;
* ``speed``: interleaved speed of the graphs named by ``--graphs`` (or every graph built so far);
* ``retrieval``: build a docugami index with each graph in ``--graphs`` (an existing ``<work>/idx-<name>``
  is reused) and run the doc / figure recall eval (hybrid + features rerank); ``fp32`` is the reference.

Outcome on 2026-12-02 (the report of this round has the table): nothing reached cosine >= 0.995 at
>= 1.7x; the closest-to-fp32 recipe (all MatMuls MatMulNBits, cosine 0.9994) ran at 1.2x, and even it
moved one figure question from rank 5 to 6.

Example (2-core machine: keep it niced, one heavy process at a time)::

    nice -n 10 .venv/bin/python bench/explore_int8.py --stage options
    nice -n 10 .venv/bin/python bench/explore_int8.py --stage sweep --sweep-chunks 160
    nice -n 10 .venv/bin/python bench/explore_int8.py --stage greedy
    nice -n 10 .venv/bin/python bench/explore_int8.py --stage nbits --blocks 128 32
    nice -n 10 .venv/bin/python bench/explore_int8.py --stage speed --graphs int8 nbits8-b128-fp32
    nice -n 10 .venv/bin/python bench/explore_int8.py --stage retrieval --graphs nbits8-b128-fp32

Results go to ``<work>/results.jsonl`` (one line per candidate) and stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # eval_rerank, for the retrieval stage

from _int8_graphs import (
    GraphEmbedder,
    build_dynamic,
    build_nbits,
    build_smooth,
    build_static,
    fp32_graph,
    quantizable_nodes,
)

from pipeline.evaluation.corpus import cache_dir, default_docugami_index_dir

FFN_OUT = r"layer\.\d+/output/dense/MatMul"  # the FFN output projection (not layer.N/attention/output/dense)
# The index `ragline eval retrieval` builds (under $RAGLINE_CACHE_DIR, else .ragline-cache).
DEFAULT_DOCSTORE = default_docugami_index_dir(cache_dir()) / "index.sqlite"


# -- texts ------------------------------------------------------------------------------------------
def load_texts(args: argparse.Namespace) -> tuple[list[str], list[str], list[str]]:
    """(test chunks, queries, calibration chunks disjoint from the test chunks), fixed by --seed."""
    copy = args.work / "docstore.sqlite"
    if not copy.is_file():  # never open the shared index itself: sqlite may want to write beside it
        shutil.copyfile(args.docstore, copy)
    con = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT id, context, text FROM chunks ORDER BY id").fetchall()
    finally:
        con.close()
    texts = [f"{ctx}\n{text}" if ctx else text for _, ctx, text in rows]  # Chunk.embedding_text
    rng = random.Random(args.seed)
    picked = rng.sample(range(len(texts)), args.n_chunks + args.n_calib)
    chunks = [texts[i] for i in picked[: args.n_chunks]]
    calib = [texts[i] for i in picked[args.n_chunks :]]
    from pipeline.evaluation.corpus import default_eval_dir
    from pipeline.evaluation.docugami import load_questions

    questions = sorted({q.question for q in load_questions(Path(default_eval_dir()))})
    queries = random.Random(args.seed).sample(questions, min(args.n_queries, len(questions)))
    return chunks, queries, calib


# -- measuring --------------------------------------------------------------------------------------
def embedder(args: argparse.Namespace, graph: Path, label: str) -> GraphEmbedder:
    emb = GraphEmbedder(graph, label, cache_dir=args.cache, threads=args.threads)
    emb.warm_up()
    return emb


def reference(args: argparse.Namespace, chunks: list[str], queries: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """fp32 vectors of the chunks and queries (cached in the work folder, keyed by the sample)."""
    key = f"{args.seed}-{args.n_chunks}-{args.n_queries}" + (f"-{args.n_calib}" if args.n_calib != 200 else "")
    cached = args.work / f"ref-{key}.npz"
    if cached.is_file():
        data = np.load(cached)
        return data["chunks"], data["queries"]
    emb = embedder(args, fp32_graph(args), "fp32")
    c, q = emb.embed(chunks), emb.embed(queries)
    np.savez(cached, chunks=c, queries=q)
    return c, q


def drift(ref_c: np.ndarray, ref_q: np.ndarray, got_c: np.ndarray, got_q: np.ndarray) -> dict[str, float]:
    """Cosine to fp32 over chunks+queries, and query -> chunk top-5 overlap / top-1 agreement."""
    cos = np.concatenate([(ref_c * got_c).sum(axis=1), (ref_q * got_q).sum(axis=1)])
    k = min(5, len(ref_c))
    top_ref = np.argsort(-(ref_q @ ref_c.T), axis=1)[:, :k]
    top_got = np.argsort(-(got_q @ got_c.T), axis=1)[:, :k]
    overlap = np.mean([len(set(a) & set(b)) / k for a, b in zip(top_ref, top_got)])
    return {
        "cos_min": float(cos.min()), "cos_mean": float(cos.mean()), "cos_p1": float(np.percentile(cos, 1)),
        "top5_overlap": float(overlap), "top1_same": float(np.mean(top_ref[:, 0] == top_got[:, 0])),
    }


def measure_drift(args: argparse.Namespace, graph: Path, chunks: list[str], queries: list[str],
                  ref: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    emb = embedder(args, graph, graph.stem)
    return drift(ref[0][: len(chunks)], ref[1][: len(queries)], emb.embed(chunks), emb.embed(queries))


def interleaved_speed(args: argparse.Namespace, graphs: dict[str, Path], texts: list[str]) -> dict[str, float]:
    """texts/s of each graph relative to fp32, timed round-robin on the same texts (order rotates)."""
    embs = {"fp32": embedder(args, fp32_graph(args), "fp32")}
    embs.update({name: embedder(args, g, name) for name, g in graphs.items()})
    for e in embs.values():
        e.embed(texts[:8])  # first-run allocations out of the timing
    secs: dict[str, list[float]] = {n: [] for n in embs}
    names = list(embs)
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            t0 = time.perf_counter()
            embs[name].embed(texts)
            secs[name].append(time.perf_counter() - t0)
    base = min(secs["fp32"])
    out = {n: round(base / min(s), 3) for n, s in secs.items()}
    out["fp32_texts_per_s"] = round(len(texts) / base, 1)
    return out


def load_avg() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip().split("load average: ")[-1]


def record(args: argparse.Namespace, row: dict[str, Any]) -> None:
    row = {**row, "load": load_avg(), "utc": time.strftime("%H:%M:%S", time.gmtime())}
    with (args.work / "results.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    metrics = " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
    print(metrics, flush=True)


# -- stages -----------------------------------------------------------------------------------------
def option_candidates(nodes: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    from onnxruntime.quantization import QuantType

    emb = [n for n, op in nodes if op == "EmbedLayerNormalization"]
    attn = [n for n, op in nodes if op == "Attention"]
    ffn_out = [n for n, _ in nodes if re.search(FFN_OUT, n)]
    return {
        "int8": {},
        "int8-noemb": {"nodes_to_exclude": emb},
        "int8-matmul-only": {"op_types_to_quantize": ["MatMul"]},
        "int8-noemb-noattn": {"nodes_to_exclude": emb + attn},
        "int8-noemb-tensor": {"nodes_to_exclude": emb, "per_channel": False},
        "int8-noemb-reduce": {"nodes_to_exclude": emb, "reduce_range": True},
        "int8-noemb-u8w": {"nodes_to_exclude": emb, "weight_type": QuantType.QUInt8},
        "int8-noemb-asym": {"nodes_to_exclude": emb, "extra_options": {"WeightSymmetric": False}},
        "int8-noemb-actsym": {"nodes_to_exclude": emb, "extra_options": {"ActivationSymmetric": True}},
        # The FFN output projection reads GELU's long-tailed output: the sweep's most sensitive nodes.
        "int8-noemb-noffnout": {"nodes_to_exclude": emb + ffn_out},
        "int8-noemb-noffnout012": {"nodes_to_exclude": emb + [n for n in ffn_out if re.search(r"layer\.[012]/", n)]},
    }


def stage_options(args: argparse.Namespace, texts: tuple[list[str], list[str], list[str]], ref: Any) -> None:
    chunks, queries, _ = texts
    nodes = quantizable_nodes(fp32_graph(args))
    wanted = set(args.only or [])
    for name, opts in option_candidates(nodes).items():
        if wanted and name not in wanted:
            continue
        try:
            graph = build_dynamic(args, name, **opts)
            record(args, {"stage": "options", "candidate": name, **measure_drift(args, graph, chunks, queries, ref)})
        except Exception as exc:  # noqa: BLE001 -- an option the quantizer or runtime rejects is a result too
            record(args, {"stage": "options", "candidate": name, "error": f"{type(exc).__name__}: {exc}"[:300]})


def stage_sweep(args: argparse.Namespace, texts: tuple[list[str], list[str], list[str]], ref: Any) -> None:
    chunks, queries, _ = texts
    chunks = chunks[: args.sweep_chunks]
    for node, op in quantizable_nodes(fp32_graph(args)):
        graph = build_dynamic(args, f"sweep-{_safe(node)}", nodes_to_exclude=[node])
        row = measure_drift(args, graph, chunks, queries, ref)
        record(args, {"stage": "sweep", "candidate": f"all-but {node}", "node": node, "op": op,
                      "n_chunks": len(chunks), **row})
        graph.unlink()  # 23 MB each; the sweep keeps only its numbers


def sweep_ranking(args: argparse.Namespace) -> list[str]:
    """Nodes whose exclusion helps most first (mean drift 1 - cos_mean, then cos_min), from the sweep."""
    rows = [json.loads(line) for line in (args.work / "results.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r.get("stage") == "sweep"]
    best = {r["node"]: r for r in rows}
    return sorted(best, key=lambda n: (-best[n]["cos_mean"], -best[n]["cos_min"]))


def stage_greedy(args: argparse.Namespace, texts: tuple[list[str], list[str], list[str]], ref: Any) -> None:
    chunks, queries, _ = texts
    ranking = sweep_ranking(args)
    base = [n for n, op in quantizable_nodes(fp32_graph(args)) if op == "EmbedLayerNormalization"]
    ranking = [n for n in ranking if n not in base]
    for k in args.greedy_steps:
        excluded = base + ranking[:k]
        graph = build_dynamic(args, f"greedy-{k}", nodes_to_exclude=excluded)
        row = measure_drift(args, graph, chunks, queries, ref)
        record(args, {"stage": "greedy", "candidate": f"greedy-{k}", "excluded": excluded, **row})
        if row["cos_min"] >= args.target:
            break


def stage_static(args: argparse.Namespace, texts: tuple[list[str], list[str], list[str]], ref: Any) -> None:
    chunks, queries, calib = texts
    for method in args.calib_methods:
        name = f"static-{method.lower()}"
        try:
            graph = build_static(args, name, calib, method, per_channel=True)
            record(args, {"stage": "static", "candidate": name, **measure_drift(args, graph, chunks, queries, ref)})
        except Exception as exc:  # noqa: BLE001 -- a failed calibration is a result too
            record(args, {"stage": "static", "candidate": name, "error": f"{type(exc).__name__}: {exc}"[:300]})


def stage_smooth(args: argparse.Namespace, texts: tuple[list[str], list[str], list[str]], ref: Any) -> None:
    chunks, queries, calib = texts
    for alpha in args.alphas:
        name = f"smooth-{alpha:g}"
        graph = build_smooth(args, name, calib[: args.smooth_calib], alpha)
        exact = measure_drift(args, args.work / "graphs" / f"{name}-fp32.onnx", chunks[:40], queries[:20], ref)
        row = measure_drift(args, graph, chunks, queries, ref)
        record(args, {"stage": "smooth", "candidate": name, "smoothed_fp32_cos_min": exact["cos_min"], **row})


def stage_nbits(args: argparse.Namespace, texts: tuple[list[str], list[str], list[str]], ref: Any) -> None:
    chunks, queries, _ = texts
    keep = tuple(args.keep or ())
    for block in args.blocks:
        for attention in args.attention:
            for accuracy in args.accuracy_levels:
                name = f"nbits8-b{block}-{attention}" + (f"-acc{accuracy}" if accuracy != 4 else "")
                name += "".join(f"-keep{_safe(k)}" for k in keep) + (f"-{args.nbits_tag}" if args.nbits_only else "")
                try:
                    graph = build_nbits(args, name, block, attention, accuracy, keep,
                                        args.nbits_only)
                    record(args, {"stage": "nbits", "candidate": name,
                                  **measure_drift(args, graph, chunks, queries, ref)})
                except Exception as exc:  # noqa: BLE001 -- a kernel the runtime lacks is a result too
                    record(args, {"stage": "nbits", "candidate": name,
                                  "error": f"{type(exc).__name__}: {exc}"[:300]})


def stage_retrieval(args: argparse.Namespace, _texts: Any, _ref: Any) -> None:
    """Docugami retrieval eval (hybrid + features rerank, as `ragline eval retrieval`) on an index built with
    each graph in --graphs ("fp32" is the reference graph)."""
    from eval_rerank import doc_scores, figure_scores

    from pipeline.evaluation.corpus import default_eval_dir
    from pipeline.index import Index
    from pipeline.ingest import Ingestor
    from pipeline.retrieval import IndexRetriever, make_reranker

    ev = Path(default_eval_dir())
    docs = ev / "docugami_sec10q" / "sec-10-q" / "data" / "v1" / "docs"
    for name in args.graphs:
        graph = fp32_graph(args) if name == "fp32" else args.work / "graphs" / f"{name}.onnx"
        emb = GraphEmbedder(graph, name, cache_dir=args.cache, threads=args.threads)
        t0 = time.perf_counter()
        with Index.open(args.work / f"idx-{name}", embedder=emb) as ix:
            added = Ingestor(ix).run([docs], include=["*.pdf"]).chunks_added
            ingest_s = time.perf_counter() - t0
            retriever = IndexRetriever(ix, reranker=make_reranker("features", ix.embedder))
            doc, _ = doc_scores(retriever, ev, "hybrid")
            fig = figure_scores(retriever, ev, "hybrid")
        record(args, {"stage": "retrieval", "candidate": name, "ingest_s": round(ingest_s, 1), "chunks": added,
                      "doc_recall5": round(doc["All"]["recall"], 3), "doc_mrr": round(doc["All"]["mrr"], 3),
                      "fig_r1": fig["all"][1], "fig_r5": fig["all"][5], "odd_r5": fig["odd"][5],
                      "even_r5": fig["even"][5], "fig_ranks": fig["ranks"]})


def stage_speed(args: argparse.Namespace, texts: tuple[list[str], list[str], list[str]], _ref: Any) -> None:
    names = args.graphs or sorted(p.stem for p in (args.work / "graphs").glob("*.onnx"))
    graphs = {n: args.work / "graphs" / f"{n}.onnx" for n in names}
    sample = texts[0][: args.speed_chunks]
    load_before = load_avg()
    ratios = interleaved_speed(args, graphs, sample)
    for n in names:
        record(args, {"stage": "speed", "candidate": n, "vs_fp32": ratios[n], "texts": len(sample),
                      "rounds": args.rounds, "fp32_texts_per_s": ratios["fp32_texts_per_s"],
                      "load_before": load_before})


def _safe(node: str) -> str:
    return node.strip("/").replace("/", "_").replace(".", "_") or "unnamed"


STAGES = {"options": stage_options, "sweep": stage_sweep, "greedy": stage_greedy, "static": stage_static, "smooth": stage_smooth, "nbits": stage_nbits,
          "retrieval": stage_retrieval,
          "speed": stage_speed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=sorted(STAGES), required=True)
    ap.add_argument("--docstore", type=Path, default=DEFAULT_DOCSTORE, help="an index.sqlite (read only)")
    ap.add_argument("--cache", type=Path, default=Path(cache_dir() or ".ragline-cache"), help="ragline cache dir (fp32 graph)")
    ap.add_argument("--work", type=Path, default=Path(".ragline-bench/int8"), help="candidate graphs and results")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--n-chunks", type=int, default=400)
    ap.add_argument("--n-queries", type=int, default=100)
    ap.add_argument("--n-calib", type=int, default=200, help="calibration chunks, disjoint from the test ones")
    ap.add_argument("--sweep-chunks", type=int, default=160, help="chunks per sweep candidate (queries: all)")
    ap.add_argument("--greedy-steps", type=int, nargs="+", default=[1, 2, 3, 4, 6, 8, 12])
    ap.add_argument("--target", type=float, default=0.995, help="greedy stops at this cosine min")
    ap.add_argument("--calib-methods", nargs="+", default=["MinMax", "Percentile", "Entropy"])
    ap.add_argument("--only", nargs="+", help="options stage: only these candidates")
    ap.add_argument("--graphs", nargs="+", help="speed stage: candidate names (graphs in <work>/graphs)")
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.5], help="smooth stage: migration strengths")
    ap.add_argument("--smooth-calib", type=int, default=64, help="smooth stage: calibration chunks")
    ap.add_argument("--blocks", type=int, nargs="+", default=[128], help="nbits stage: K block sizes")
    ap.add_argument("--attention", nargs="+", default=["fp32", "qattention"], help="nbits stage: Attention as")
    ap.add_argument("--accuracy-levels", type=int, nargs="+", default=[4], help="nbits stage: 4 = int8 compute")
    ap.add_argument("--nbits-only", help=f"nbits stage: convert only MatMuls matching this regex (FFN out: {FFN_OUT})")
    ap.add_argument("--nbits-tag", default="ffnout", help="nbits stage: name suffix for --nbits-only")
    ap.add_argument("--keep", nargs="+", help="nbits stage: MatMuls whose name holds one of these stay fp32")
    ap.add_argument("--speed-chunks", type=int, default=160)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.work.mkdir(parents=True, exist_ok=True)
    texts = load_texts(args)
    ref = reference(args, texts[0], texts[1])
    STAGES[args.stage](args, texts, ref)


if __name__ == "__main__":
    main()
