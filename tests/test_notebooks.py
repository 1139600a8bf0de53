"""The notebooks in notebooks/: committed without outputs, written against the public API, and executed end to
end on the sample documents (offline: the kernel refuses non-loopback connections) with their page images
checked for the highlights they are there to show.

Set ``RAGLINE_NOTEBOOK_ARTIFACTS=DIR`` to keep the executed notebooks and their images in DIR.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
PUBLIC = {"pipeline", "pipeline.llm", "pipeline.report", "pipeline.extraction", "pipeline.qa", "pipeline.compose", "pipeline.adapters", "pipeline.adapters.langchain",
          "pipeline.adapters.llamaindex", "pipeline.protocols", "pipeline.retrieval"}

# First cell of every executed copy: the same guard as tests/conftest.py, inside the kernel.
NO_NETWORK = """
import os, socket
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
_connect = socket.socket.connect
def _guarded(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6):
        if not (host.startswith("127.") or host in ("localhost", "::1")):
            raise OSError(f"network access blocked in notebook tests: {address!r}")
    return _connect(self, address)
socket.socket.connect = _guarded
"""

# Per notebook: the least number of images it shows, and the colour its highlights are drawn in.
EXPECTED_IMAGES = {
    "01_explore_documents": (3, (21, 101, 192)),  # paragraph boxes (KIND_COLORS["paragraph"])
    "02_search_and_ask": (1, (224, 168, 0)),  # a verified citation's box (SUPPORTED_COLOR)
    "03_extract_fields": (4, (224, 168, 0)),  # supported values' boxes, plus the accuracy plot
}


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _code(nb: dict[str, Any]) -> list[str]:
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb["cells"] if c["cell_type"] == "code"]


def test_the_three_notebooks_exist() -> None:
    assert set(EXPECTED_IMAGES) <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = _read(path)
    dirty = [i for i, c in enumerate(nb["cells"])
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"
    assert "widgets" not in nb.get("metadata", {})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_uses_the_public_api(path: Path) -> None:
    for source in _code(_read(path)):
        assert not re.search(r"\bpipeline(\.\w+)*\._\w", source), f"{path.name} uses a private name:\n{source}"
        for node in ast.walk(ast.parse(source)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                if name.split(".")[0] in ("pipeline", "extractors"):
                    assert name in PUBLIC, f"{path.name} imports {name}"


def _artifacts(tmp_path: Path) -> Path:
    out = Path(os.environ.get("RAGLINE_NOTEBOOK_ARTIFACTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _images(nb: Any) -> list[bytes]:
    return [base64.b64decode(o["data"]["image/png"]) for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if "image/png" in o.get("data", {})]


def _pixels_of(png: bytes, color: tuple[int, int, int], tol: int = 10) -> int:
    import numpy as np
    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int((np.abs(a - np.array(color)) <= tol).all(axis=2).sum())


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path: Path, tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat", reason="the notebooks extra is not installed")
    nbclient = pytest.importorskip("nbclient", reason="the notebooks extra is not installed")
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(NO_NETWORK, id="no-network"))
    client = nbclient.NotebookClient(nb, timeout=1500, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, when a cell fails
    out = _artifacts(tmp_path)
    nbformat.write(nb, out / f"{path.stem}.executed.ipynb")
    images = _images(nb)
    for i, png in enumerate(images, start=1):
        (out / f"{path.stem}.{i}.png").write_bytes(png)
    if path.stem not in EXPECTED_IMAGES:
        return
    least, color = EXPECTED_IMAGES[path.stem]
    assert len(images) >= least, f"{path.name} showed {len(images)} image(s)"
    highlighted = [i for i, png in enumerate(images, start=1) if _pixels_of(png, color) > 150]
    assert highlighted, f"{path.name}: no image shows a highlight in {color}"
