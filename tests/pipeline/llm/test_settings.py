"""LLMSettings: one default per value, the environment read in one place, one way to a client (open_llm)."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

import pipeline.llm._open as open_module
from pipeline.exceptions import ConfigurationError
from pipeline.llm import (
    DEFAULT_LOCAL_MODEL,
    DEFAULT_TIMEOUT,
    AsyncLLMClient,
    EmbeddedModelSettings,
    LLMClient,
    LLMSettings,
    LocalLLMServer,
    open_llm,
)

KEY = "sk-settings-SECRET-0123456789"
ENV = {"RAGLINE_LLM_BASE_URL": "http://llm.test/v1", "RAGLINE_LLM_API_KEY": KEY, "RAGLINE_LLM_MODEL": "gpt-x"}


def test_defaults_are_declared_once() -> None:
    s = LLMSettings()
    assert s.uses_embedded_model and s.timeout == DEFAULT_TIMEOUT == 300.0
    assert s.embedded == EmbeddedModelSettings(model=DEFAULT_LOCAL_MODEL, threads=None, n_ctx=4096, cache_dir=None)
    # The clients and the embedded server take the same timeout default as the settings.
    for fn in (LLMClient.__init__, AsyncLLMClient.__init__, LocalLLMServer.client):
        assert inspect.signature(fn).parameters["timeout"].default == DEFAULT_TIMEOUT
    assert inspect.signature(LocalLLMServer.__init__).parameters["n_ctx"].default == s.embedded.n_ctx
    assert inspect.signature(LocalLLMServer.__init__).parameters["model"].default == s.embedded.model


def test_from_env_reads_the_three_variables_and_overrides_win() -> None:
    s = LLMSettings.from_env(ENV)
    assert (s.base_url, s.model) == ("http://llm.test/v1", "gpt-x") and not s.uses_embedded_model
    assert s.api_key is not None and s.api_key.get_secret_value() == KEY
    o = LLMSettings.from_env(ENV, base_url="http://other/v1", model=None, timeout=12)
    assert (o.base_url, o.model, o.timeout) == ("http://other/v1", "gpt-x", 12)
    assert LLMSettings.from_env({"RAGLINE_LLM_BASE_URL": ""}).uses_embedded_model  # exported but empty
    assert LLMSettings.from_env({}).uses_embedded_model


def test_from_env_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert LLMSettings.from_env().base_url == "http://llm.test/v1"


def test_api_key_never_shown() -> None:
    s = LLMSettings.from_env(ENV)
    for text in (repr(s), str(s), s.model_dump_json(), str(s.model_dump())):
        assert KEY not in text


def test_invalid_values_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        LLMSettings.from_env({}, timeout=0)
    with pytest.raises(ConfigurationError, match="structured_mode"):
        LLMSettings.from_env({}, structured_mode="xml")
    with pytest.raises(ConfigurationError, match="n_ctx"):
        LLMSettings.from_env({}, embedded={"n_ctx": 0})


def test_validation_reask_policy_depends_on_the_model() -> None:
    assert LLMSettings().validation_reasks() == 0  # embedded 0.5B: re-asks never helped (docs/llm.md)
    assert LLMSettings(base_url="http://x/v1").validation_reasks() == 2
    assert LLMSettings().validation_reasks(1) == 1 and LLMSettings(base_url="http://x/v1").validation_reasks(0) == 0


def test_open_llm_endpoint() -> None:
    settings = LLMSettings.from_env(ENV, timeout=42, max_concurrency=2)
    with open_llm(settings) as client:
        assert isinstance(client, LLMClient)
        assert (client.base_url, client.model, client.timeout, client.max_concurrency) == (
            "http://llm.test/v1", "gpt-x", 42, 2)
        assert client.structured_mode == "auto" and client._headers["Authorization"] == f"Bearer {KEY}"
    assert client._http.is_closed
    with open_llm(LLMSettings(base_url="http://llm.test/v1")) as client:
        assert client.model == "default" and client.max_concurrency == 4 and "Authorization" not in client._headers


class _NoProcessServer(LocalLLMServer):
    """A LocalLLMServer that pretends to run (no llama.cpp), recording what it was built with."""

    started: list[_NoProcessServer] = []

    def warm_up(self) -> None:  # idempotent, like the real one
        if self.port is None:
            self.port = 9
            self.started.append(self)

    def stop(self, timeout: float = 10.0) -> None:
        self.port = None


@pytest.fixture()
def no_process_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_NoProcessServer]]:
    _NoProcessServer.started = []
    monkeypatch.setattr(open_module, "LocalLLMServer", _NoProcessServer)
    yield _NoProcessServer


def test_open_llm_embedded_server_lives_as_long_as_the_block(
    no_process_server: type[_NoProcessServer], tmp_path: Path
) -> None:
    settings = LLMSettings(embedded=EmbeddedModelSettings(model="qwen2.5-1.5b", threads=3, n_ctx=2048,
                                                          cache_dir=tmp_path))
    with open_llm(settings) as client:
        (server,) = no_process_server.started
        assert (server.model, server.n_threads, server.n_ctx, server.cache_dir) == ("qwen2.5-1.5b", 3, 2048, tmp_path)
        assert client.base_url == "http://127.0.0.1:9/v1" and client.model == "qwen2.5-1.5b"
        # The embedded defaults: json_object without the schema in the prompt, one request, one retry.
        assert (client.structured_mode, client.schema_in_prompt, client.max_concurrency) == ("json_object", False, 1)
        assert client.retry.max_retries == 1 and client.timeout == DEFAULT_TIMEOUT
    assert server.port is None and client._http.is_closed
    with open_llm(LLMSettings(structured_mode="auto", max_concurrency=2)) as client:
        assert (client.structured_mode, client.schema_in_prompt, client.max_concurrency) == ("auto", True, 2)


def _cli_settings(argv: list[str]) -> LLMSettings:
    from pipeline.cli._llm import add_llm_options, llm_settings

    parser = argparse.ArgumentParser()
    add_llm_options(parser)
    return llm_settings(parser.parse_args(argv))


def test_cli_options_map_onto_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    assert _cli_settings([]) == LLMSettings()  # no option given: exactly the settings' defaults
    s = _cli_settings(["--llm-url", "http://u/v1", "--llm-model", "m", "--structured-mode", "prompt",
                       "--llm-timeout", "7", "--concurrency", "3", "--local-model", "x.gguf", "--llm-threads", "2",
                       "--n-ctx", "1024", "--model-cache", "/tmp/mc"])
    assert s == LLMSettings(base_url="http://u/v1", model="m", structured_mode="prompt", timeout=7,
                            max_concurrency=3, embedded=EmbeddedModelSettings(model="x.gguf", threads=2, n_ctx=1024,
                                                                              cache_dir=Path("/tmp/mc")))
    monkeypatch.setenv("RAGLINE_LLM_BASE_URL", "http://env/v1")
    assert _cli_settings([]).base_url == "http://env/v1"
    assert _cli_settings(["--llm-url", "http://flag/v1"]).base_url == "http://flag/v1"
    assert _cli_settings(["--concurrency", "0"]).max_concurrency is None  # 0 meant "the default", still does
    with pytest.raises(ConfigurationError):
        _cli_settings(["--llm-timeout", "-1"])


def test_cli_help_quotes_the_settings_defaults() -> None:
    from pipeline.cli._llm import add_llm_options

    parser = argparse.ArgumentParser()
    add_llm_options(parser)
    helps = {a.dest: a.help or "" for a in parser._actions}
    defaults = LLMSettings()
    assert f"(default {defaults.timeout:g})" in helps["llm_timeout"]
    assert f"(default {defaults.embedded.n_ctx})" in helps["n_ctx"]
    assert f"{defaults.embedded.model} (default)" in helps["local_model"]


def test_cli_says_when_the_embedded_model_loads(
    no_process_server: type[_NoProcessServer], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    from pipeline.cli._llm import open_cli_llm

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    with open_cli_llm(LLMSettings(), command="extract") as client:
        assert client.base_url == "http://127.0.0.1:9/v1"
    err = capsys.readouterr().err
    assert "ragline extract: loading the embedded LLM qwen2.5-0.5b (2 thread(s), n_ctx 4096) ..." in err
    assert "ragline extract: LLM ready in" in err and no_process_server.started[-1].n_threads == 2
    with open_cli_llm(LLMSettings(base_url="http://llm.test/v1"), command="extract"):
        pass
    with open_cli_llm(LLMSettings(), command="extract", quiet=True):
        pass
    assert capsys.readouterr().err == ""  # nothing for an endpoint, nothing when quiet
    monkeypatch.setattr(os, "getloadavg", lambda: (9.5, 7.0, 5.0))  # other processes keep the cores busy
    with open_cli_llm(LLMSettings(), command="ask"):
        pass
    err = capsys.readouterr().err
    assert "(1 thread(s): other processes keep ~9.5 of 2 cores busy" in err
    assert no_process_server.started[-1].n_threads == 1  # what was said is what the server got
    with open_cli_llm(LLMSettings(embedded=EmbeddedModelSettings(threads=2)), command="ask"):
        pass
    assert "(2 thread(s), as set," in capsys.readouterr().err
