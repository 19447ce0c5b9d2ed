"""Shared fixtures. Every test runs with a private data directory and no COGARCH_* variables from outside."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pgstore
import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no busy-waiting threads on shared cores
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

POSTGRES_URL = os.environ.get("COGARCH_TEST_POSTGRES_URL")
"""A Postgres server for the tests (``eval "$(cogarch/serve/ci_services.sh)"``; .ci/run starts one). Read here:
``_clean_env`` removes COGARCH_* variables before each test."""


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


@pytest.fixture(params=["sqlite", "postgres"])
def memory_store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test once per memory store: ``Memory.open`` gets SQLite (as the test asks) or, with a Postgres
    server, a Postgres store in a fresh schema per data directory (also in the test's child processes)."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    if not POSTGRES_URL:
        pytest.skip(
            'no Postgres server: set COGARCH_TEST_POSTGRES_URL (eval "$(cogarch/serve/ci_services.sh)")'
        )
    token = uuid.uuid4().hex[:10]
    real = (
        pgstore.memory.memory.open_store,
        pgstore.cogarch.doctor.open_store,
        pgstore.cogarch.composition.build_shared,
    )
    pgstore.install(POSTGRES_URL, token)
    for key, value in pgstore.environment(POSTGRES_URL, token).items():
        monkeypatch.setenv(key, value)
    try:
        yield "postgres"
    finally:
        (
            pgstore.memory.memory.open_store,
            pgstore.cogarch.doctor.open_store,
            pgstore.cogarch.composition.build_shared,
        ) = real
        pgstore.drop_schemas(POSTGRES_URL, token)
