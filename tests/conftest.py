"""Shared fixtures. Every test runs with a private data directory and no COGARCH_* variables from outside."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no busy-waiting threads on shared cores
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("COGARCH_"):
            monkeypatch.delenv(key)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    yield
    # a command run in-process may export settings for its workers (``cogarch serve`` does): drop them, so no
    # later test (or module-scoped fixture, which runs outside this fixture) inherits them
    for key in [k for k in os.environ if k.startswith("COGARCH_")]:
        del os.environ[key]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "cogarch-data"
    path.mkdir()
    return path
