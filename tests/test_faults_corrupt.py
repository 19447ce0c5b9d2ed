"""Damaged stores are detected at open: one ``CorruptStoreError`` naming the file and saying what to do, never a
raw traceback (library and CLI). A missing embedded vector index is rebuilt from SQLite at open."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memory import Memory
from memory.embedders.base import HashEmbedder
from reasoning.errors import CorruptStoreError


def garbage(path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def small_memory(directory: Path, n: int = 40) -> list[str]:
    with Memory.open(directory, embedder=HashEmbedder(64)) as m:
        return m.remember_many([f"note {i} about the garden" for i in range(n)], namespace="bob")


def checkpoint_wal(db: Path) -> None:
    """Fold the WAL into the main file (so damaging the main file damages the data)."""
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


@pytest.mark.parametrize("damage", [garbage, truncate], ids=["garbage", "truncated"])
def test_damaged_memory_database_is_named_at_open(tmp_path: Path, damage: Callable[[Path], None]) -> None:
    small_memory(tmp_path, n=400)
    db = tmp_path / "memory.sqlite3"
    checkpoint_wal(db)
    damage(db)
    with pytest.raises(CorruptStoreError) as info:
        Memory.open(tmp_path, embedder=HashEmbedder(64))
    assert str(db) in info.value.message
    assert info.value.hint
    # the lock was released: after moving the file aside the directory opens again
    db.rename(tmp_path / "moved.sqlite3")
    Memory.open(tmp_path, embedder=HashEmbedder(64)).close()


@pytest.mark.parametrize("damage", [garbage, truncate], ids=["garbage", "truncated"])
def test_damaged_chroma_store_is_named_at_open(tmp_path: Path, damage: Callable[[Path], None]) -> None:
    small_memory(tmp_path)
    damage(tmp_path / "chroma" / "chroma.sqlite3")
    with pytest.raises(CorruptStoreError) as info:
        Memory.open(tmp_path, embedder=HashEmbedder(64))
    assert str(tmp_path / "chroma") in info.value.message
    assert "cogarch doctor --repair" in (info.value.hint or "")


def test_missing_chroma_directory_is_rebuilt_from_sqlite(tmp_path: Path) -> None:
    ids = small_memory(tmp_path)
    shutil.rmtree(tmp_path / "chroma")
    with Memory.open(tmp_path, embedder=HashEmbedder(64)) as m:
        assert m.index.ids("bob") == set(ids)
        assert m.recall("note 7 about the garden", namespace="bob", k=1)[0].id == ids[7]


def test_damaged_substrate_file_is_named(tmp_path: Path) -> None:
    from cogarch.settings import SubstrateSettings
    from cogarch.substrates import SubstratePool, user_file

    tmp_path.joinpath("substrate").mkdir()
    path = user_file(tmp_path / "substrate", "bob")
    for content in (b"", b"not a torch file" * 100):
        path.write_bytes(content)
        with pytest.raises(CorruptStoreError) as info:
            SubstratePool(SubstrateSettings(neurons=1000), tmp_path / "substrate").get("bob")
        assert str(path) in info.value.message
        assert "cogarch doctor --repair" in (info.value.hint or "")


@pytest.mark.parametrize("name", ["checkpoints.sqlite", "agent.db"])
def test_damaged_checkpoints_or_proactive_log_are_named_at_agent_open(data_dir: Path, name: str) -> None:
    from cogarch.agent import Agent
    from reasoning.engines.scripted import ScriptedLLM

    garbage(data_dir / name)
    with pytest.raises(CorruptStoreError) as info:
        Agent.open(
            data_dir,
            llm=ScriptedLLM(lambda m, o: "ok"),
            embedder=HashEmbedder(64),
            substrate={"enabled": False},
        )
    assert str(data_dir / name) in info.value.message
    assert "cogarch doctor --repair" in (info.value.hint or "")


def test_cli_reports_a_damaged_store_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import app

    memory_dir = tmp_path / "memory"
    small_memory(memory_dir)
    checkpoint_wal(memory_dir / "memory.sqlite3")
    garbage(memory_dir / "memory.sqlite3")
    monkeypatch.setenv("COGARCH_EMBEDDING__MODEL", "hash")
    monkeypatch.setenv("COGARCH_EMBEDDING__DIM", "64")
    result = CliRunner().invoke(app, ["memory", "stats", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    flat = result.output.replace("\n", "")  # rich wraps long lines
    assert "memory.sqlite3" in flat and "hint:" in flat
