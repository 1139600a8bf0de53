"""The wheel a user installs holds the whole package: every subpackage, the typing marker and an entry
point that works. Built with `pip wheel` and imported from the unpacked wheel, not from the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _build_wheel(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    # --no-build-isolation: setuptools from this environment, so the build needs no registry.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-q", "-w", str(out)],
        check=True, capture_output=True, text=True, cwd=out,
    )
    wheels = list(out.glob("ragline-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.mark.slow
def test_wheel_holds_every_subpackage_and_imports_from_itself(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "dist")
    from pipeline.version import __version__

    assert f"ragline-{__version__}-" in wheel.name
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "site")
    for module in ("pipeline/cli/__init__.py", "pipeline/llm/__init__.py", "pipeline/evaluation/__init__.py",
                   "pipeline/py.typed", "extractors/pdf.py", "extractors/py.typed"):
        assert module in names, module
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "ragline = pipeline.cli:main" in (tmp_path / "site" / entry_points).read_text()

    site = tmp_path / "site"
    probe = (
        "import pipeline.cli, pipeline.llm, pipeline.evaluation, extractors, sys\n"
        "for m in (pipeline.cli, pipeline.llm, pipeline.evaluation, extractors):\n"
        "    print(m.__file__)\n"
        "sys.exit(pipeline.cli.main(['--version']))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    files = run.stdout.splitlines()[:4]
    assert all(Path(f).resolve().is_relative_to(site.resolve()) for f in files), files
    assert f"ragline {__version__}" in run.stdout
