"""scripts/setup.sh's llama-cpp-python step, with a stand-in pip: one build per CPU key into the keyed
wheel directory, installed and recorded; a re-run with the right build installed builds and installs nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Logs every call; `pip wheel ... -w DIR` writes a stand-in wheel whose llama_cpp imports.
FAKE_PIP = r"""#!/bin/sh
echo "pip $* | CMAKE_ARGS=${CMAKE_ARGS:-}" >> "$PIP_LOG"
if [ "$1" = wheel ]; then
  while [ $# -gt 0 ]; do [ "$1" = -w ] && out="$2"; shift; done
  "$REAL_PYTHON" -c "
import sys, zipfile
with zipfile.ZipFile(sys.argv[1] + '/llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl', 'w') as w:
    w.writestr('llama_cpp/__init__.py', 'def llama_backend_init():\n    pass\n')
" "$out"
fi
"""


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A copy of what setup.sh uses, with a .venv whose python is this one and whose pip is the stand-in."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    for name in ("scripts/setup.sh", "scripts/llama_build_flags.py", "constraints.txt"):
        shutil.copy(ROOT / name, repo / name)
    bin_dir = repo / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    # This venv's python (not its base), except that torch counts as installed (its import is slow, not tested).
    (bin_dir / "python").write_text(f'#!/bin/sh\n[ "$1 $2" = "-c import torch" ] && exit 0\nexec {sys.executable} "$@"\n')
    (bin_dir / "python").chmod(0o755)
    (bin_dir / "pip").write_text(FAKE_PIP)
    (bin_dir / "pip").chmod(0o755)
    return repo


def _setup(repo: Path, tmp_path: Path) -> list[str]:
    log = tmp_path / "pip.log"
    log.unlink(missing_ok=True)
    env = {**os.environ, "PIP_LOG": str(log), "REAL_PYTHON": sys.executable,
           "RAGLINE_WHEEL_DIR": str(tmp_path / "wheels")}
    env.pop("CMAKE_ARGS", None)
    done = subprocess.run(["bash", "scripts/setup.sh", "local"], check=False, cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return log.read_text().splitlines() if log.exists() else []


def _this_cpu(*args: str) -> str:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "llama_build_flags.py"), *args],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="setup.sh reads /proc/cpuinfo")
def test_one_build_per_cpu_key_installed_recorded_and_not_repeated(repo: Path, tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")  # ... and tries a new build against the one installed
    key = _this_cpu("key")
    calls = _setup(repo, tmp_path)
    wheel_dir = tmp_path / "wheels" / f"llama-cpp-python-0.3.36-{key}"
    builds = [c for c in calls if c.startswith("pip wheel")]
    assert len(builds) == 1 and "--no-cache-dir" in builds[0] and "--no-deps" in builds[0]
    assert builds[0].endswith("CMAKE_ARGS=" + _this_cpu("cmake"))  # this CPU's options, not pip's cache
    assert "-DGGML_NATIVE=OFF" in builds[0] and "AMX_TILE=ON" not in builds[0]
    wheel = wheel_dir / "llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl"
    assert zipfile.is_zipfile(wheel) and json.loads((wheel_dir / "build.json").read_text())["key"] == key
    assert not list((tmp_path / "wheels").glob("*.tmp.*"))  # the temp build dir was renamed into place
    installs = [c for c in calls if c.startswith("pip install") and str(wheel) in c]
    assert len(installs) == 1 and "--force-reinstall --no-deps" in installs[0]  # llama_cpp already imports here
    record = json.loads((repo / ".venv" / "ragline-llama-build.json").read_text())
    assert record["key"] == key and record["version"] == "0.3.36" and record["wheel"] == wheel.name
    assert calls[-1].startswith("pip install") and "-e .[local]" in calls[-1]

    # Re-run: the recorded build is this CPU's, so nothing is built or installed for llama-cpp-python.
    again = _setup(repo, tmp_path)
    assert len(again) == 1 and "-e .[local]" in again[0]

    # Another venv on the same kind of CPU (no record): the keyed wheel is installed, not rebuilt.
    (repo / ".venv" / "ragline-llama-build.json").unlink()
    third = _setup(repo, tmp_path)
    assert not any(c.startswith("pip wheel") for c in third)
    assert any(str(wheel) in c for c in third)
