#!/usr/bin/env bash
# Create .venv and install ragline with the given extras (default: cpu,local,dev).
# Idempotent: re-running only installs what changed. torch is pinned to the CPU build (constraints.txt).
#
# llama-cpp-python (extra `local`) ships no Linux wheel, so it is built here, for the instruction sets this
# CPU lists (scripts/llama_build_flags.py: AVX-512 where present, never AMX, never -march=native), into
# ~/.cache/ragline/wheels/llama-cpp-python-<version>-<instruction sets>/ ($RAGLINE_WHEEL_DIR), once per
# kind of CPU (~5-10 min on 2 cores). Not pip's wheel cache: that is keyed by the sdist alone, not by
# CMAKE_ARGS, and would hand a wheel built for one CPU to another. What was installed is recorded in
# .venv/ragline-llama-build.json; the embedded server checks it against the CPU before it starts.
# A re-run with the same build installed does nothing; a set $CMAKE_ARGS is used as given (its own key).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-cpu,local,dev}"
PY="${PYTHON:-python3}"
LLAMA_VERSION=0.3.36
LLAMA_RECORD=.venv/ragline-llama-build.json
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/pip install --disable-pip-version-check -q -c constraints.txt)
# torch first, from the local CPU wheel, so nothing later can pull the CUDA build.
.venv/bin/python -c "import torch" 2>/dev/null || "${PIP[@]}" torch==2.13.0

llama_flags() {  # the build's key / cmake args / record, for this CPU or for the user's $CMAKE_ARGS
  .venv/bin/python scripts/llama_build_flags.py "$@" --cmake-args "${CMAKE_ARGS:-}"
}

installed_llama_key() {  # the recorded key of the installed build, empty if none or another version
  .venv/bin/python - "$LLAMA_RECORD" "$LLAMA_VERSION" <<'EOF' 2>/dev/null || true
import importlib.metadata as md, json, sys
record = json.load(open(sys.argv[1]))
if md.version("llama-cpp-python") == sys.argv[2] == record.get("version"):
    print(record["key"])
EOF
}

build_llama_wheel() {  # build_llama_wheel DIR: pip wheel into a temp dir, renamed to DIR when complete
  local dir="$1" tmp
  mkdir -p "$(dirname "$dir")"
  tmp="$(mktemp -d "$dir.tmp.XXXXXX")"
  echo "setup: building llama-cpp-python $LLAMA_VERSION for $(basename "$dir") (once per kind of CPU, ~5-10 min)" >&2
  CMAKE_ARGS="$(llama_flags cmake)" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    .venv/bin/pip wheel --disable-pip-version-check -q --no-cache-dir --no-deps -w "$tmp" \
    "llama-cpp-python==$LLAMA_VERSION"
  llama_flags json > "$tmp/build.json"
  mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"  # another setup finished the same build first
}

install_llama() {
  local key dir wheel record
  key="$(llama_flags key)"
  if [ "$(installed_llama_key)" = "$key" ]; then
    echo "setup: llama-cpp-python $LLAMA_VERSION for $key is installed" >&2
    return
  fi
  dir="${RAGLINE_WHEEL_DIR:-$HOME/.cache/ragline/wheels}/llama-cpp-python-$LLAMA_VERSION-$key"
  wheel="$(ls "$dir"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
  if [ -z "$wheel" ]; then
    build_llama_wheel "$dir"
    wheel="$(ls "$dir"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -n 1)"
  fi
  record="$(llama_flags record --version "$LLAMA_VERSION" --wheel "$wheel")"
  if .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
    # Another build is installed and works: try the new one unpacked before replacing it.
    local try
    try="$(mktemp -d)"
    .venv/bin/python -m zipfile -e "$wheel" "$try"
    PYTHONPATH="$try" .venv/bin/python -c "import llama_cpp; llama_cpp.llama_backend_init()" \
      || { rm -rf "$try"; echo "setup: the llama-cpp-python wheel in $dir does not load; kept the installed one" >&2; return 1; }
    rm -rf "$try"
    "${PIP[@]}" --force-reinstall --no-deps "$wheel"
  else
    "${PIP[@]}" "$wheel[server]"  # a fresh venv: with its dependencies
  fi
  .venv/bin/python -c "import llama_cpp; llama_cpp.llama_backend_init()"
  printf '%s\n' "$record" > "$LLAMA_RECORD"
  echo "setup: installed llama-cpp-python $LLAMA_VERSION for $key from $wheel" >&2
}

case ",$EXTRAS," in
  *,local,* | *,local-1-5b,*) install_llama ;;
esac
"${PIP[@]}" -e ".[${EXTRAS}]"
