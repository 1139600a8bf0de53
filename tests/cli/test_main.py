"""The CLI's one mapping from error classes to exit codes: one line on stderr, never a traceback."""

from __future__ import annotations

import argparse
from typing import NoReturn

import pytest

from pipeline.cli import run_command
from pipeline.cli._errors import UsageError
from pipeline.exceptions import ConfigurationError, IndexLockedError, LLMConnectionError


def _failing(exc: BaseException) -> argparse.Namespace:
    def func(_: argparse.Namespace) -> NoReturn:
        raise exc

    return argparse.Namespace(command="probe", func=func)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ConfigurationError("bad option"), 2),
        (UsageError("-k must be at least 1"), 2),
        (IndexLockedError("held by pid 7", source="idx"), 1),
        (LLMConnectionError("unreachable"), 1),
        (KeyboardInterrupt(), 130),
    ],
)
def test_error_classes_map_to_exit_codes(exc: BaseException, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_command(_failing(exc)) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_error_line_names_the_command_and_the_source(capsys: pytest.CaptureFixture[str]) -> None:
    run_command(_failing(IndexLockedError("held by pid 7", source="idx", stage="index")))
    assert capsys.readouterr().err.startswith("ragline probe: error: ")
