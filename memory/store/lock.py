"""One writer process per data directory: an exclusive ``flock`` on ``<dir>/memory.lock``; and named locks
between the processes of one host (:func:`file_lock`, a blocking ``flock`` on a file of its own).

The locks are released by the kernel when the process dies (even by SIGKILL), so a crash never leaves a stale
lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from reasoning.errors import StoreLockedError


class DirectoryLock:
    """Holds the exclusive lock of a data directory until :meth:`release`."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "memory.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            StoreLockedError: another process holds it (its pid is in the message when known).
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreLockedError(
                f"the memory in {self.path.parent} is already open for writing by process {holder}",
                hint="close the other agent or CLI, use a different --data-dir, or share memory through a Chroma "
                "server with one writer",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None


@contextlib.contextmanager
def file_lock(folder: Path, name: str) -> Iterator[None]:
    """Hold the lock ``name`` (any string) for the block: ``flock`` on ``<folder>/<hash of name>.lock``, waiting
    while another holder (a process, or another open of it in this one) has it."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / (hashlib.sha256(name.encode()).hexdigest()[:24] + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


__all__ = ["DirectoryLock", "file_lock"]
