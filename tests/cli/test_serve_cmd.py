"""``ragline serve`` in-process: help, and the usage errors it gives before it binds anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main

pytest.importorskip("fastapi")


def test_help_names_the_endpoints_and_the_safe_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "/v1/chat/completions" in out and "127.0.0.1" in out and "--api-key" in out and "--allow-root" in out


@pytest.mark.parametrize("argv, message", [
    (["--index", "{tmp}/none"], "no index there"),
    (["--schema", "invoice"], "use NAME=SPEC"),
    (["--allow-root", "{tmp}/missing"], "not a folder"),
    (["--port", "99999"], "port"),
    (["--schema", "invoice=pipeline.extraction:Nope"], "Nope"),
])
def test_usage_errors_exit_2_without_starting(argv: list[str], message: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["serve", *[a.format(tmp=tmp_path) for a in argv]])
    assert rc == 2
    assert message in capsys.readouterr().err


def test_options_become_the_server_configuration(tmp_path: Path, sample_docs: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.serve as serve

    seen = {}
    monkeypatch.setattr(serve, "run_server", lambda s, c, **kw: seen.update(serve=s, config=c))
    rc = main(["serve", "--schema", "invoice=pipeline.extraction:Invoice", "--api-key", "k", "--port", "0",
               "--state-dir", str(tmp_path / "st"), "--allow-root", str(sample_docs)])
    assert rc == 0
    assert seen["serve"].key() == "k" and seen["serve"].schemas == {"invoice": "pipeline.extraction:Invoice"}
    assert seen["serve"].host == "127.0.0.1"
