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


def test_output_faults_are_one_line_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli._errors import OutputError

    assert run_command(_failing(OutputError("cannot write /x: No space left on device"))) == 1
    assert run_command(_failing(PermissionError(13, "Permission denied", "/root/out.jsonl"))) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines() == ["ragline probe: error: cannot write /x: No space left on device",
                                "ragline probe: error: Permission denied: /root/out.jsonl"]


def test_closed_pipe_is_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_command(_failing(BrokenPipeError())) == 0
    assert capsys.readouterr().err == ""


def test_every_command_has_verbose_and_quiet() -> None:
    from pipeline.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():  # type: ignore[union-attr]
        options = {s for a in command._actions for s in a.option_strings}
        assert {"-v", "-q"} <= options, name


def test_verbose_shows_progress_messages(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    def func(args: argparse.Namespace) -> int:
        logging.getLogger("pipeline.llm").info("starting local LLM: probe")
        return 0

    assert run_command(argparse.Namespace(command="probe", func=func, verbose=1, quiet=False)) == 0
    assert "ragline: starting local LLM: probe" in capsys.readouterr().err
    assert run_command(argparse.Namespace(command="probe", func=func, verbose=0, quiet=False)) == 0
    assert "starting local LLM" not in capsys.readouterr().err
    assert logging.getLogger("pipeline").handlers == []  # the handler lives for one command only


def test_extract_into_a_bad_path_is_one_line(sample_docs: object, tmp_path: object,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    from pipeline.cli import main

    blocker = Path(str(tmp_path)) / "blocker"
    blocker.write_text("x")
    code = main(["extract", str(Path(str(sample_docs)) / "notes.md"), "--schema", "pipeline.extraction:Invoice",
                 "-o", str(blocker / "out.jsonl"), "--llm-url", "http://127.0.0.1:9/v1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip() == (
        f"ragline extract: error: cannot write {blocker / 'out.jsonl'}: a file is in the way of its folder {blocker}")
