"""The files of an agent's data directory, named once: every module that opens one asks :class:`DataDir`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from memory.layout import MemoryDir


@dataclass(frozen=True)
class DataDir:
    """An agent's data directory (``settings.data_dir``). Paths only: nothing is created or opened here."""

    root: Path

    @property
    def memory(self) -> Path:
        """The memory directory (records, embedded index): see :class:`memory.layout.MemoryDir`."""
        return self.root / "memory"

    @property
    def memory_files(self) -> MemoryDir:
        return MemoryDir(self.memory)

    @property
    def substrate(self) -> Path:
        """One substrate file per user (``<hash>.pt``)."""
        return self.root / "substrate"

    @property
    def checkpoints(self) -> Path:
        """LangGraph's SQLite checkpoints (``persistence.checkpointer = "sqlite"``)."""
        return self.root / "checkpoints.sqlite"

    @property
    def proactive_log(self) -> Path:
        """The agent's own database: the proactive log (:class:`cogarch.store.proactive.ProactiveLog`)."""
        return self.root / "agent.db"

    @property
    def config(self) -> Path:
        """The TOML settings file read by ``Settings.load`` (``cogarch config init`` writes it)."""
        return self.root / "config.toml"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def chat_history(self) -> Path:
        """The chat's line-editor history."""
        return self.root / "chat_history"

    def private_entries(self) -> tuple[Path, ...]:
        """What cogarch creates here and keeps private to its owner (databases with their SQLite companions)."""
        return (
            self.memory,
            self.substrate,
            self.models,
            self.cache,
            self.config,
            self.chat_history,
            self.checkpoints,
            self.proactive_log,
        )


__all__ = ["DataDir"]
