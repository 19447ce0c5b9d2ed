"""Erasure on LangGraph's SQLite checkpoint file (``checkpoints.sqlite``): ``secure_delete`` before deletes,
and a truncated WAL after them, so a deleted thread's text is in no byte of the file or its WAL."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _pragma(checkpointer: Any, sql: str) -> None:
    """Run a PRAGMA on the checkpointer's SQLite connection under the saver's own lock (the connection is shared
    by every thread of the agent: a statement outside the lock breaks another thread's transaction). Savers
    without a SQLite connection (memory, Postgres) are left alone."""
    conn = getattr(checkpointer, "conn", None)
    if not isinstance(conn, sqlite3.Connection):
        return
    lock = getattr(checkpointer, "lock", None) or contextlib.nullcontext()
    with lock, contextlib.suppress(sqlite3.Error):  # e.g. a reader elsewhere: the next checkpoint truncates
        conn.execute(sql)


def secure_delete(checkpointer: Any) -> None:
    """From now on the saver's deletes zero the freed bytes."""
    _pragma(checkpointer, "PRAGMA secure_delete=ON")


def truncate_wal(checkpointer: Any) -> None:
    """Checkpoint and truncate the saver's WAL."""
    _pragma(checkpointer, "PRAGMA wal_checkpoint(TRUNCATE)")


@contextlib.contextmanager
def open_sqlite_saver(path: Path) -> Iterator[Any]:
    """A ``SqliteSaver`` over the checkpoint file ``path`` for the block (closed after it)."""
    from langgraph.checkpoint.sqlite import SqliteSaver  # an optional extra: imported only when used

    conn = sqlite3.connect(str(path), check_same_thread=False)
    try:
        yield SqliteSaver(conn)
    finally:
        conn.close()


__all__ = ["open_sqlite_saver", "secure_delete", "truncate_wal"]
