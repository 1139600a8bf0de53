"""Replacing the embedding model the CLI and the composition layer build, for tests that run through ``main``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def patch_embedder(monkeypatch: pytest.MonkeyPatch, factory: Callable[..., Any]) -> None:
    """Every embedder ragline builds comes from ``factory``: the one ``make_embedder`` builds for an index
    (``embedder_for_index``) and the one the composition layer builds for ``--model``."""
    monkeypatch.setattr("pipeline.embedding._factory.make_embedder", factory)
    monkeypatch.setattr("pipeline.compose.make_embedder", factory)
