"""The system of record: SQLite (WAL) holding records, vectors, graph edges, validity, the outbox and the audit
log (:mod:`memory.store.sqlite`), and the one-writer lock (:mod:`memory.store.lock`)."""

from memory.store.lock import DirectoryLock
from memory.store.sqlite import SQLiteStore

__all__ = ["DirectoryLock", "SQLiteStore"]
