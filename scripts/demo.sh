#!/usr/bin/env bash
# The main job on the embedded defaults: no API key, no network.
# Parses the sample documents, builds an index with the bundled all-MiniLM-L6-v2 model, searches it,
# extracts typed invoice fields (with an HTML evidence report) and answers a question with citations
# (with an HTML report of the cited passages). The embedded Qwen2.5-0.5B model (llama-cpp-python server on
# 127.0.0.1) is started only where rules cannot decide. Outputs go to ./out/.
set -euo pipefail
cd "$(dirname "$0")/.."
R=.venv/bin/ragline
mkdir -p out
echo "== 1. parse: sample_docs -> out/markdown/ (one .md per document)"
$R parse sample_docs -o out/markdown
echo "== 2. ingest: sample_docs -> out/index (run it twice: the second run re-embeds nothing)"
$R ingest sample_docs --index out/index
$R ingest sample_docs --index out/index
echo "== 3. search"
$R search "share of electricity used by refrigeration" --index out/index -k 3
echo "== 4. extract typed invoice fields with evidence -> out/invoice.jsonl, out/invoice.html"
$R extract sample_docs/invoice_acme.pdf --schema pipeline.extraction:Invoice -o out/invoice.jsonl --html out/invoice.html
cat out/invoice.jsonl
echo "== 5. ask with citations -> out/answer.html"
$R ask "What is the payback period of the LED retrofit?" --index out/index --html out/answer.html
