"""The system of record (:mod:`memory.store.base` is the contract): SQLite in the data directory
(:mod:`memory.store.sqlite`, the default) or a Postgres server (:mod:`memory.store.postgres`); the one-writer
lock of a data directory (:mod:`memory.store.lock`)."""

from pathlib import Path

from memory.config import MemorySettings
from memory.layout import MemoryDir
from memory.store.base import MemoryStore, MemoryWriter
from memory.store.lock import DirectoryLock
from memory.store.postgres import PostgresStore
from memory.store.sqlite import SQLiteStore
from reasoning.errors import ConfigError


def open_store(directory: Path, settings: MemorySettings) -> MemoryStore:
    """The store ``settings.store`` names: ``<directory>/memory.sqlite3``, or the database at
    ``settings.postgres_url`` (migrated on first use).

    Raises:
        ConfigError: ``store="postgres"`` without ``postgres_url``. CorruptStoreError / MemoryBackendError: the
        store cannot be opened.
    """
    if settings.store == "sqlite":
        return SQLiteStore(MemoryDir(directory).records)
    if settings.postgres_url is None:
        raise ConfigError(
            "memory.store is 'postgres' but memory.postgres_url is not set",
            hint="set COGARCH_MEMORY__POSTGRES_URL=postgresql://user:password@host:5432/db",
        )
    return PostgresStore(
        settings.postgres_url.get_secret_value(),
        schema=settings.postgres_schema,
        timeout=settings.postgres_timeout_s,
    )


def needs_directory_lock(settings: MemorySettings, *, embedded_index: bool) -> bool:
    """Whether one process must own the data directory: a SQLite store, or an embedded Chroma index."""
    return settings.store == "sqlite" or embedded_index


__all__ = [
    "DirectoryLock",
    "MemoryStore",
    "MemoryWriter",
    "PostgresStore",
    "SQLiteStore",
    "needs_directory_lock",
    "open_store",
]
