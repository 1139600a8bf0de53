"""Shared fixtures. Unit tests never reach the network: non-loopback connections fail loudly."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DOCS = ROOT / "sample_docs"
EVAL_DIR = ROOT.parent / "shared" / "eval"
sys.path.insert(0, str(SAMPLE_DOCS))  # make_samples (the generator of bad inputs) is importable

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6):
        if not (host.startswith("127.") or host in ("localhost", "::1")):
            raise OSError(f"network access blocked in tests: {address!r}")
    return _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(scope="session")
def sample_docs() -> Path:
    return SAMPLE_DOCS


@pytest.fixture(scope="session")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import make_samples

    return make_samples.make_bad_inputs(tmp_path_factory.mktemp("bad"))


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    if not EVAL_DIR.is_dir():
        pytest.skip("../shared/eval is not present")
    return EVAL_DIR


@pytest.fixture(scope="session")
def ragline_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache directory per test session, so the fp32 ONNX export of the embedding model (~20 s)
    happens at most once however many slow tests use the real model."""
    return tmp_path_factory.mktemp("ragline-cache")
