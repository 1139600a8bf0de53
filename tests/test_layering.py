"""Import layering, checked on the source with ``ast`` (nothing is imported):

* only ``pipeline/cli/`` (and ``pipeline/__main__.py``, the entry point) may import ``pipeline.cli``: the
  library, the evaluation harness and the extractors never depend on the command line;
* ``pipeline/evaluation`` uses other modules through their public names: it imports no private helper
  (``_name``) of another module, and nothing from a private module (``pipeline.values``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "extractors")
ENTRY_POINT = ROOT / "pipeline" / "__main__.py"


def _modules() -> Iterator[tuple[Path, str]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield path, ".".join(parts)


def _imports(path: Path, module: str, *, names_only: bool = False) -> Iterator[tuple[int, str]]:
    """(line, absolute dotted name) of every module and name imported by ``path``; relative imports resolved.

    ``from X import y`` gives ``X`` and ``X.y``; with ``names_only``, only ``X.y``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if not names_only:
                yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _is_cli(name: str) -> bool:
    return name == "pipeline.cli" or name.startswith("pipeline.cli.")


def test_resolves_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pipeline" / "evaluation"
    pkg.mkdir(parents=True)
    mod = pkg / "x.py"
    mod.write_text("from ..cli import _llm\nfrom .. import cli\nimport pipeline.cli._common\nfrom . import metrics\n")
    names = [n for _, n in _imports(mod, "pipeline.evaluation.x")]
    assert "pipeline.cli._llm" in names and "pipeline.cli" in names and "pipeline.cli._common" in names
    assert "pipeline.evaluation.metrics" in names


def test_only_the_cli_imports_the_cli() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path, module in _modules()
        if not _is_cli(module) and path != ENTRY_POINT
        for line, name in _imports(path, module)
        if _is_cli(name)
    ]
    assert not offenders, "\n".join(offenders)


def test_evaluation_uses_public_names_of_other_modules() -> None:
    offenders = []
    for path, module in _modules():
        if not module.startswith("pipeline.evaluation"):
            continue
        for line, name in _imports(path, module, names_only=True):
            if not name.startswith("pipeline.") or name.startswith("pipeline.evaluation"):
                continue
            parts = name.split(".")
            if parts[-1].startswith("_"):
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports the private {name}")
            elif any(part.startswith("_") for part in parts[1:-1]):
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {name} from a private module")
    assert not offenders, "\n".join(offenders)
