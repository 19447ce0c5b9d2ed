"""The system of record (:mod:`memory.store.base` is the contract): SQLite in the data directory
(:mod:`memory.store.sqlite`); the one-writer lock of a data directory (:mod:`memory.store.lock`)."""

from memory.store.base import MemoryStore, MemoryWriter
from memory.store.lock import DirectoryLock
from memory.store.sqlite import SQLiteStore

__all__ = ["DirectoryLock", "MemoryStore", "MemoryWriter", "SQLiteStore"]
