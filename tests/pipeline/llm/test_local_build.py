"""The embedded server and the llama.cpp build: the recorded instruction sets checked against the CPU
before the start, and a server that dies of SIGILL turned into a ConfigurationError that says how to
rebuild (stand-in servers; no llama.cpp)."""

from __future__ import annotations

import json
import stat
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from pipeline.exceptions import ConfigurationError, LLMConnectionError
from pipeline.llm import LocalLLMServer, _local
from pipeline.llm._local_launch import (
    BUILD_RECORD_NAME,
    build_record_path,
    check_build_fits,
    cpu_flags,
    died_of_illegal_instruction,
)

# A stand-in for `python -m llama_cpp.server`: answers /v1/models; what it does on POST is set per test.
SERVER = """
import json, os, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
mode = os.environ["STAND_IN_MODE"]
if mode == "sigill-at-start":
    os.kill(os.getpid(), signal.SIGILL)
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def _send(self, obj):
        data = json.dumps(obj).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(data))); self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self._send({"data": [{"id": args["--model_alias"]}]})
    def do_POST(self):
        with open(os.environ["STAND_IN_LOG"], "a") as f:
            f.write(self.path + "\\n")
        if mode == "sigill-at-first-completion":
            os.kill(os.getpid(), signal.SIGILL)
        if mode == "no-completions-api":
            self.send_response(404); self.end_headers(); return
        self._send({"choices": [{"text": "ok", "finish_reason": "length"}], "usage": {}})
HTTPServer((args["--host"], int(args["--port"])), H).serve_forever()
"""

EPYC = "processor\t: 0\nflags\t\t: fpu sse4_2 avx f16c fma bmi2 avx2 avx512f avx512cd avx512vl avx512dq avx512bw\n"
HASWELL = "processor\t: 0\nflags\t\t: fpu sse4_2 avx f16c fma bmi2 avx2\n"


def _venv(tmp_path: Path, record: Mapping[str, object] | None = None) -> str:
    """A venv-shaped folder whose bin/python runs the stand-in server; ``record`` as setup.sh writes it."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    script = tmp_path / "stand_in_server.py"
    script.write_text(textwrap.dedent(SERVER))
    python = venv / "bin" / "python"
    python.write_text(f"#!/bin/sh\nshift 2\nexec {sys.executable} {script} \"$@\"\n")  # drops `-c LAUNCHER`
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    if record is not None:
        (venv / BUILD_RECORD_NAME).write_text(json.dumps(record))
    return str(python)


AVX512_BUILD: dict[str, object] = {"key": "x86_64-sse42.avx.f16c.fma.bmi2.avx2.avx512", "version": "0.3.36",
                "requires_cpu_flags": ["avx", "avx2", "avx512bw", "avx512cd", "avx512dq", "avx512f", "avx512vl"]}


@pytest.fixture()
def server_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(_local, "_check_server_deps", lambda: None)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"stand-in")
    monkeypatch.setenv("STAND_IN_LOG", str(tmp_path / "requests.txt"))

    def make(mode: str, python: str) -> LocalLLMServer:
        monkeypatch.setenv("STAND_IN_MODE", mode)
        return LocalLLMServer(gguf, python=python, log_path=tmp_path / "server.log", startup_timeout=30)

    return make


def test_cpu_flags_and_record_path(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(EPYC + "\nprocessor\t: 1\nflags\t\t: other\n")
    assert "avx512bw" in (cpu_flags(info) or set()) and "other" not in (cpu_flags(info) or set())
    assert cpu_flags(tmp_path / "missing") is None
    assert build_record_path(str(tmp_path / "v" / "bin" / "python")) == tmp_path / "v" / BUILD_RECORD_NAME
    assert build_record_path(sys.executable) == Path(sys.prefix) / BUILD_RECORD_NAME
    assert died_of_illegal_instruction(-4) and not died_of_illegal_instruction(1)
    assert not died_of_illegal_instruction(None) and not died_of_illegal_instruction(-9)


def test_a_build_that_fits_the_cpu_passes_and_one_that_does_not_says_how_to_rebuild(tmp_path: Path) -> None:
    python = _venv(tmp_path, AVX512_BUILD)
    fits, lacks = tmp_path / "epyc", tmp_path / "haswell"
    fits.write_text(EPYC)
    lacks.write_text(HASWELL)
    build = check_build_fits(python, fits)
    assert build is not None and build.key == AVX512_BUILD["key"]
    with pytest.raises(ConfigurationError) as ei:
        check_build_fits(python, lacks)
    msg = str(ei.value)
    assert "avx512f" in msg and "x86_64-sse42.avx.f16c.fma.bmi2.avx2.avx512" in msg and "scripts/setup.sh" in msg
    assert check_build_fits(python, tmp_path / "no-cpuinfo") is not None  # flags unknown: nothing to check
    assert check_build_fits(_venv(tmp_path / "plain"), lacks) is None  # installed without setup.sh: no record


def test_server_refuses_to_start_a_build_the_cpu_lacks(server_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    needs_more = {**AVX512_BUILD, "requires_cpu_flags": ["avx2", "no_such_instruction_set"]}
    srv = server_for("serve", _venv(tmp_path, needs_more))
    with pytest.raises(ConfigurationError, match="no_such_instruction_set"):
        srv.warm_up()
    assert not srv.running and not (tmp_path / "server.log").exists()  # checked before anything started


def test_sigill_at_startup_is_a_configuration_error(server_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    recorded = {"key": "x86_64-some-build", "version": "0.3.36", "requires_cpu_flags": []}  # fits any CPU
    srv = server_for("sigill-at-start", _venv(tmp_path, recorded))
    with pytest.raises(ConfigurationError, match="Illegal instruction") as ei:
        srv.warm_up()
    msg = str(ei.value)
    assert "built for x86_64-some-build" in msg and "scripts/setup.sh" in msg and "server.log" in msg
    assert not isinstance(ei.value, LLMConnectionError)
    assert not srv.running


def test_sigill_on_the_first_completion_is_caught_by_the_probe(server_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """llama.cpp runs its wide kernels only on a request: the probe makes that happen during the start."""
    srv = server_for("sigill-at-first-completion", _venv(tmp_path))
    with pytest.raises(ConfigurationError, match=r"Illegal instruction.*no build record"):
        srv.warm_up()
    assert (tmp_path / "requests.txt").read_text().split() == ["/v1/completions"]
    assert not srv.running


def test_the_probe_is_one_completion_and_an_error_reply_is_fine(server_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for mode in ("serve", "no-completions-api"):
        (tmp_path / "requests.txt").unlink(missing_ok=True)
        with server_for(mode, _venv(tmp_path / mode)) as srv:
            assert srv.running and srv.startup_seconds is not None
        assert (tmp_path / "requests.txt").read_text().split() == ["/v1/completions"]
    (tmp_path / "requests.txt").unlink()
    srv = server_for("sigill-at-first-completion", _venv(tmp_path / "off"))
    srv.probe = False
    with srv:  # no probe: nothing is asked at the start, so this server is still up
        assert srv.running and not (tmp_path / "requests.txt").exists()
    assert not srv.running
