#!/usr/bin/env bash
# Create .venv and install ragline with the given extras (default: cpu,local,dev).
# Idempotent: re-running only installs what changed. torch is pinned to the CPU build (constraints.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-cpu,local,dev}"
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/pip install --disable-pip-version-check -q -c constraints.txt)
# torch first, from the local CPU wheel, so nothing later can pull the CUDA build.
.venv/bin/python -c "import torch" 2>/dev/null || "${PIP[@]}" torch==2.13.0
# llama-cpp-python ships no Linux wheel: build a portable binary (no -march=native; ~5 min once,
# then pip's wheel cache makes reinstalls fast).
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
"${PIP[@]}" -e ".[${EXTRAS}]"
