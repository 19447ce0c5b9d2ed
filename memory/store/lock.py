"""One writer process per data directory: an exclusive ``flock`` on ``<dir>/memory.lock``.

The lock is released by the kernel when the process dies (even by SIGKILL), so a crash never leaves a stale
lock behind.
"""

from __future__ import annotations

import fcntl
import os
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


__all__ = ["DirectoryLock"]
