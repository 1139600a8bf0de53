"""`import pipeline` and `ragline --help` must stay fast: heavy libraries load only when a stage needs them.
Checked by which modules get imported (deterministic), not by timing."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["torch", "faiss", "numpy", "unstructured", "pymupdf", "fitz", "sentence_transformers", "onnxruntime", "openvino",
         "spacy", "httpx", "transformers", "tokenizers", "lxml", "tqdm", "pydantic"]


def _imported_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json; print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    import json

    return set(json.loads(out.strip().splitlines()[-1]))


def test_import_pipeline_is_light() -> None:
    loaded = _imported_after("import pipeline")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_cli_help_is_light() -> None:
    code = "import contextlib, io\nfrom pipeline.cli import build_parser\nwith contextlib.redirect_stdout(io.StringIO()):\n    build_parser().format_help()"
    loaded = _imported_after(code)
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
