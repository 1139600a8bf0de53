"""Starting the embedded server so that it never outlives ragline, however ragline dies.

``atexit`` and ``with`` blocks stop the server when Python exits normally or on an exception; a SIGKILL,
an OOM kill or a crash of the interpreter runs neither, and before this module the llama.cpp server was
left running as an orphan (one busy core and 2 GB). Two guards, both set up when the child starts:

* **Linux: the kernel.** The child asks for ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` in a ``preexec_fn``
  (via ctypes, between fork and exec): it is killed the moment its parent dies. The signal fires when
  the parent *thread* that forked it exits, not the process, so it is only used when the server is
  started from the main thread; a server started from a worker thread (a stage warmed up in
  a thread pool) relies on the pipe below. A parent that died between fork and prctl is caught by
  comparing ``getppid()`` with the pid before the fork.
* **Everywhere on POSIX: a pipe.** The parent keeps the write end of a pipe (close-on-exec, so no
  other child inherits it through exec) and the child gets the read end. The server runs under a
  small launcher (``python -c LAUNCHER``, :data:`LAUNCHER`) that starts a daemon thread blocked on
  reading it, then runs ``llama_cpp.server`` with ``runpy`` exactly as ``python -m`` would (same argv).
  When the parent process dies, for any reason, the kernel closes its end, the read returns EOF and
  the thread ends the server with ``os._exit``. Needs no ragline import in the child, so it works with
  any ``python`` that has llama-cpp-python.

On other platforms neither guard is available and the server is stopped by ``stop()``/atexit only.

**The build fits this CPU.** ``scripts/setup.sh`` builds llama-cpp-python for the instruction sets the
installing CPU lists (AVX-512 where present: prompt reading 1.2-1.5x faster) and records them in
``<venv>/ragline-llama-build.json`` (:data:`BUILD_RECORD_NAME`). A venv copied to, or a home directory
shared with, a CPU without them would die with SIGILL on the first matrix product. :func:`check_build_fits`
compares the record with ``/proc/cpuinfo`` before the server starts, and :func:`illegal_instruction_error`
turns a server that died of SIGILL anyway into a :class:`~pipeline.exceptions.ConfigurationError` that says
how to rebuild, instead of a bare crash or a connection error.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.exceptions import ConfigurationError

WATCH_FD_ENV = "RAGLINE_PARENT_WATCH_FD"
MODULE_ENV = "RAGLINE_SERVER_MODULE"
SERVER_MODULE = "llama_cpp.server"
PARENT_GONE_EXIT = 70  # what the server exits with when it notices its parent is gone

# Run in the child as `python -c LAUNCHER ARGS...`: sys.argv becomes ['-c', ARGS...] and runpy's
# alter_sys puts the module's path in argv[0], so the server's argparse sees what `-m` would give it.
LAUNCHER = (
    "# ragline: embedded LLM server, ended when its parent process dies\n"
    "import os, runpy, threading\n"
    "def _watch(fd):\n"
    "    try:\n"
    "        while os.read(fd, 64):\n"
    "            pass\n"
    "    except OSError:\n"
    "        pass\n"
    f"    os._exit({PARENT_GONE_EXIT})\n"
    f"_fd = os.environ.pop({WATCH_FD_ENV!r}, '')\n"
    "if _fd:\n"
    "    threading.Thread(target=_watch, args=(int(_fd),), daemon=True, name='ragline-parent-watch').start()\n"
    f"runpy.run_module(os.environ.pop({MODULE_ENV!r}, {SERVER_MODULE!r}), run_name='__main__', alter_sys=True)\n"
)

_PR_SET_PDEATHSIG = 1


def _death_signal_preexec() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel SIGKILL the child when this thread dies (Linux, main thread only)."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork: the child only calls it
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(PARENT_GONE_EXIT)

    return preexec


class GuardedProcess:
    """A child process started under both guards; :meth:`release` closes the parent's end of the pipe."""

    def __init__(self, proc: subprocess.Popen[bytes], watch_fd: int | None) -> None:
        self.proc = proc
        self._watch_fd = watch_fd

    def release(self) -> None:
        """Close the pipe's write end (the child ends itself if it still runs). Idempotent."""
        fd, self._watch_fd = self._watch_fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


def start_guarded(
    python: str,
    args: list[str],
    *,
    log_file: IO[bytes],
    module: str = SERVER_MODULE,
    extra_env: Mapping[str, str] | None = None,
) -> GuardedProcess:
    """Start ``python -m module args`` (through :data:`LAUNCHER`) so that it dies with this process.

    Its own session (a Ctrl-C in the terminal reaches ragline, which stops the child), stdin closed,
    stdout and stderr to ``log_file``; ``extra_env`` is added to this process's environment."""
    env = {**os.environ, **(extra_env or {})}
    env[MODULE_ENV] = module
    posix = os.name == "posix"
    read_fd = write_fd = None
    if posix:
        read_fd, write_fd = os.pipe()  # both close-on-exec; the child gets the read end through pass_fds
        env[WATCH_FD_ENV] = str(read_fd)
    try:
        proc = subprocess.Popen(
            [python, "-c", LAUNCHER, *args],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            pass_fds=(read_fd,) if read_fd is not None else (),
            # Safe with threads here: the function only calls prctl, resolved before the fork.
            preexec_fn=_death_signal_preexec() if posix else None,  # noqa: PLW1509
            start_new_session=True,
        )
    except BaseException:
        if write_fd is not None:
            os.close(write_fd)
        raise
    finally:
        if read_fd is not None:
            os.close(read_fd)
    return GuardedProcess(proc, write_fd)


BUILD_RECORD_NAME = "ragline-llama-build.json"
REBUILD_HINT = (
    "rebuild llama-cpp-python for this CPU: bash scripts/setup.sh (it builds into "
    "~/.cache/ragline/wheels/llama-cpp-python-<version>-<this CPU's instruction sets>/ and reinstalls)"
)


class LlamaBuild(BaseModel):
    """What ``scripts/setup.sh`` records about the llama-cpp-python build it installed into a venv."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    key: str
    version: str = ""
    cmake_args: str = ""
    requires_cpu_flags: tuple[str, ...] = ()
    wheel: str = ""


def build_record_path(python: str) -> Path:
    """Where setup.sh records the build for the venv of ``python`` (``<venv>/bin/python`` -> ``<venv>``).

    Not resolved: a venv's python is a symlink to the system one, whose prefix is not the venv."""
    if os.path.abspath(python) == os.path.abspath(sys.executable):
        return Path(sys.prefix) / BUILD_RECORD_NAME
    return Path(python).absolute().parent.parent / BUILD_RECORD_NAME


def read_build_record(path: Path) -> LlamaBuild | None:
    """The recorded build, or None when there is none (installed some other way) or it is unreadable."""
    try:
        return LlamaBuild.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError, ValidationError):
        return None


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str] | None:
    """This CPU's instruction-set flags (the first ``flags``/``Features`` line), None where unknown."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() in ("flags", "Features"):
            return set(value.split())
    return None


def check_build_fits(python: str, cpuinfo: Path = Path("/proc/cpuinfo")) -> LlamaBuild | None:
    """Raise :class:`ConfigurationError` when the recorded build needs instructions this CPU lacks.

    Returns the record (None if there is none, or the CPU's flags cannot be read: nothing to check)."""
    build = read_build_record(build_record_path(python))
    flags = cpu_flags(cpuinfo)
    if build is None or flags is None:
        return build
    missing = sorted(set(build.requires_cpu_flags) - flags)
    if missing:
        raise ConfigurationError(
            f"the installed llama-cpp-python was built for {build.key}, but this CPU lacks "
            f"{', '.join(missing)} (it would die with 'Illegal instruction'); {REBUILD_HINT}",
            stage="llm",
        )
    return build


def died_of_illegal_instruction(returncode: int | None) -> bool:
    """True when a child process was killed by SIGILL (Popen reports -SIGILL)."""
    return returncode is not None and returncode == -int(signal.SIGILL)


def illegal_instruction_error(python: str, log_path: Path) -> ConfigurationError:
    """The error for a server that died of SIGILL: its build uses instructions this CPU cannot run."""
    build = read_build_record(build_record_path(python))
    built_for = f"was built for {build.key}" if build else "was built for another CPU (no build record)"
    return ConfigurationError(
        f"the local LLM server died with 'Illegal instruction' (SIGILL): llama-cpp-python {built_for} "
        f"and this CPU cannot run it; {REBUILD_HINT}. Server log: {log_path}",
        stage="llm",
    )


__all__ = [
    "BUILD_RECORD_NAME",
    "LAUNCHER",
    "GuardedProcess",
    "LlamaBuild",
    "build_record_path",
    "check_build_fits",
    "cpu_flags",
    "died_of_illegal_instruction",
    "illegal_instruction_error",
    "read_build_record",
    "start_guarded",
]
