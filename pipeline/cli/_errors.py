"""Exit codes, and the one mapping from error classes to them.

    0  everything done
    1  some documents failed or are partial (a page unread, a repaired file), or the run could not finish
       (index locked, LLM unreachable, output that cannot be written, ...)
    2  usage error: bad options or arguments (argparse's own code for the same)
  130  interrupted (Ctrl-C)
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad arguments found after parsing (an empty index path, -k 0, ...): one line, exit 2."""


class OutputError(Exception):
    """Output that cannot be written (a path under a regular file, a full disk, no permission): one line, exit 1."""

    @classmethod
    def of(cls, exc: OSError, path: object = None) -> OutputError:
        where = path if path is not None else exc.filename
        return cls(f"cannot write {where}: {exc.strerror or exc}")


def exit_code_for(exc: BaseException) -> int:
    from pipeline.exceptions import ConfigurationError

    if isinstance(exc, (UsageError, ConfigurationError)):
        return EXIT_USAGE
    return EXIT_FAILED
