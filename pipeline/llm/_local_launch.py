"""Starting the embedded server so that it never outlives ragline, however ragline dies.

``atexit`` and ``with`` blocks stop the server when Python exits normally or on an exception; a SIGKILL,
an OOM kill or a crash of the interpreter runs neither, and before this module the llama.cpp server was
left running as an orphan (one busy core and 2 GB). Two guards, both set up when the child starts:

* **Linux: the kernel.** The child asks for ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` in a ``preexec_fn``
  (via ctypes, between fork and exec): it is killed the moment its parent dies. The signal fires when
  the parent *thread* that forked it exits, not the process, so it is only used when the server is
  started from the main thread; a server started from a worker thread (``default_local_server()`` from
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
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO

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


def start_guarded(python: str, args: list[str], *, log_file: IO[bytes], module: str = SERVER_MODULE) -> GuardedProcess:
    """Start ``python -m module args`` (through :data:`LAUNCHER`) so that it dies with this process.

    Its own session (a Ctrl-C in the terminal reaches ragline, which stops the child), stdin closed,
    stdout and stderr to ``log_file``."""
    env = dict(os.environ)
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


__all__ = ["LAUNCHER", "GuardedProcess", "start_guarded"]
