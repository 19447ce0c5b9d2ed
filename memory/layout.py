"""The files of a memory directory, named once (``Memory.open(directory)``, the doctor, the server)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MemoryDir:
    """A memory directory: the records database and, unless vectors live in a Chroma server, the embedded index."""

    root: Path

    @property
    def records(self) -> Path:
        """The system of record (SQLite; its ``-wal``/``-shm`` companions sit beside it)."""
        return self.root / "memory.sqlite3"

    @property
    def index(self) -> Path:
        """The embedded Chroma's directory (unused with ``memory.chroma_url``)."""
        return self.root / "chroma"

    @property
    def index_db(self) -> Path:
        """The embedded Chroma's own SQLite file."""
        return self.index / "chroma.sqlite3"


__all__ = ["MemoryDir"]
