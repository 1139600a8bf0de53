"""The house's rules, checked on the source with ``ast`` (nothing is imported). Every import counts: at module
level, inside functions, and under ``if TYPE_CHECKING``.

* **No import cycle** between any two modules of ``pipeline`` and ``extractors``.
* **Rooms in layers**: a room (a stage subpackage such as ``pipeline.index``, a top-level module such as
  ``pipeline.document``, the ``extractors`` backends) imports only rooms of lower layers (``LAYERS``), so
  storage never imports ingest or retrieval and only the entry points import the CLI.
* **Public faces**: a module never imports a private name (``_name``) or a private module (``pkg._mod``) of
  another room; inside its own room it may.
* **Size**: no module over ``MAX_LINES`` lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "extractors")
MAX_LINES = 450

# Bottom to top: a room may import rooms of its own layer's predecessors only (and itself).
LAYERS: list[set[str]] = [
    {"pipeline.version", "pipeline.exceptions"},
    {"pipeline.document", "pipeline.values"},
    {"pipeline.evidence", "pipeline.profiling", "pipeline.embedding", "pipeline.llm", "pipeline.testing"},
    {"pipeline.chunking"},
    {"pipeline.protocols"},
    {"extractors"},
    {"pipeline.parsing"},
    {"pipeline.index"},
    {"pipeline.ingest", "pipeline.retrieval", "pipeline.extraction"},
    {"pipeline.qa", "pipeline.batch"},
    {"pipeline.report"},
    {"pipeline.config"},
    {"pipeline.compose"},
    {"pipeline.adapters", "pipeline.evaluation", "pipeline.serve"},
    {"pipeline.cli"},
    {"pipeline", "pipeline.__main__"},
]


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path, module: str) -> Iterator[tuple[int, str]]:
    """(line, absolute dotted name) of every import in ``path``, relative ones resolved; ``from X import y``
    gives ``X.y`` (a submodule or a name of ``X``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _target(name: str) -> str | None:
    """The module an imported dotted name lives in (the longest known prefix), None outside the project."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def room(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "pipeline":
        return parts[0]
    if len(parts) >= 2 and (ROOT / "pipeline" / parts[1]).is_dir():
        return f"pipeline.{parts[1]}"
    return module


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for _, name in _imports(path, module):
            target = _target(name)
            if target is not None and target != module:
                graph[module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_resolves_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pipeline" / "evaluation"
    pkg.mkdir(parents=True)
    mod = pkg / "x.py"
    mod.write_text("from ..cli import _llm\nfrom .. import cli\nimport pipeline.cli._common\nfrom . import metrics\n"
                   "def f():\n    from ..index import Index\n")
    names = [n for _, n in _imports(mod, "pipeline.evaluation.x")]
    assert {"pipeline.cli._llm", "pipeline.cli", "pipeline.cli._common", "pipeline.evaluation.metrics",
            "pipeline.index.Index"} <= set(names)


def test_no_import_cycle_at_all() -> None:
    cycles = _cycles(_graph())
    assert not cycles, "import cycles (function-level and type-only imports count):\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


def test_every_room_has_a_layer() -> None:
    layered = set().union(*LAYERS)
    missing = sorted({room(m) for m in MODULES} - layered)
    assert not missing, f"rooms without a layer in LAYERS: {missing}"


def test_rooms_import_only_lower_layers() -> None:
    level = {r: i for i, layer in enumerate(LAYERS) for r in layer}
    offenders = []
    for module, path in MODULES.items():
        mine = room(module)
        for line, name in _imports(path, module):
            target = _target(name)
            if target is None or room(target) == mine:
                continue
            theirs = room(target)
            if level[theirs] >= level[mine]:
                offenders.append(f"{path.relative_to(ROOT)}:{line} ({mine}) imports {name} ({theirs})")
    assert not offenders, "\n".join(offenders)


def test_storage_imports_neither_ingest_nor_retrieval() -> None:
    graph = _graph()
    for module in (m for m in MODULES if room(m) == "pipeline.index"):
        assert not {room(t) for t in graph[module]} & {"pipeline.ingest", "pipeline.retrieval"}, module


def test_no_private_name_is_imported_across_rooms() -> None:
    offenders = []
    for module, path in MODULES.items():
        for line, name in _imports(path, module):
            target = _target(name)
            if target is None or room(target) == room(module):
                continue
            private = [p for p in name.split(".")[1:] if p.startswith("_") and not p.startswith("__")]
            if private:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_too_big(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[module].relative_to(ROOT)} has {lines} lines (ceiling {MAX_LINES})"
